"""Similar cases within a policy, and how differently they were decided.

"Similar" is, by default, TF-IDF cosine similarity on the case's subject and description
(the user's words, not the agent's notes, which would make cases similar because agents
use the same note templates): the mean of a word-level (1-2 grams) and a character-level
(4-grams within words, robust to typos, inflections and scripts without spaces) cosine.
Each case's ``n_neighbors`` most similar cases *in the same policy* with a similarity of at
least ``min_similarity`` are its similar cases. Precomputed sentence embeddings (cosine) or
cluster labels (same cluster = similar) can be passed instead.

Scale: the caller caps the texts per policy (see :func:`analytics.sop_signals.case_texts`,
2,000 by default, a deterministic sample) because exact nearest neighbours cost O(n^2) per
policy; 2,000 texts take about a second on one core.

Per case, with ``S`` its similar cases: ``disagreement`` = share of ``S`` decided
differently (the pair-wise Gini-Simpson form of inconsistency), and ``entropy`` = Shannon
entropy (bits) of the outcomes of the case and ``S`` together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


@dataclass(frozen=True)
class SimilarityParams:
    """How similar cases are found."""

    #: Texts per policy used for similarity (deterministic sample beyond this).
    max_texts_per_policy: int = 2000
    #: Similar cases kept per case.
    n_neighbors: int = 5
    #: Minimum TF-IDF cosine for two cases to count as similar (near-duplicates and variants).
    min_similarity: float = 0.5
    #: Minimum cosine when precomputed sentence embeddings are used (their scale differs).
    embedding_min_similarity: float = 0.8
    #: Rows per block of the similarity product (bounds memory: block x policy size floats).
    block: int = 1000
    random_state: int = 0


@dataclass(frozen=True)
class Neighbours:
    """Up to k similar cases per case: row indices into the texts frame (-1 = none)."""

    index: np.ndarray  # (n, k) int64
    similarity: np.ndarray  # (n, k) float32

    @property
    def valid(self) -> np.ndarray:
        return self.index >= 0


def tfidf_matrix(texts: list[str]) -> sparse.csr_matrix:
    """Rows L2-normalised so that a dot product is the mean of word and character cosines."""
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
    # Character 4-grams within words: as good as 3-5 grams on our texts, 2-3 times faster.
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(4, 4),
        min_df=2,
        sublinear_tf=True,
        max_features=50_000,
        dtype=np.float32,
    )
    blocks = []
    for vec in (word, char):
        try:
            blocks.append(vec.fit_transform(texts))
        except ValueError:  # empty vocabulary (blank texts, or min_df on very few texts)
            continue
    if not blocks:
        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
    return normalize(sparse.hstack(blocks).tocsr())


def knn(matrix, k: int, min_similarity: float, block: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k nearest neighbours of L2-normalised rows (sparse or dense), self excluded."""
    n = matrix.shape[0]
    k_eff = min(k, n - 1)
    index = np.full((n, k), -1, dtype=np.int64)
    sim = np.zeros((n, k), dtype=np.float32)
    if k_eff <= 0:
        return index, sim
    for start in range(0, n, block):
        stop = min(start + block, n)
        prod = matrix[start:stop] @ matrix.T
        dense = prod.toarray() if sparse.issparse(prod) else np.asarray(prod)
        dense = dense.astype(np.float32, copy=False)
        dense[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        top = np.argpartition(-dense, k_eff - 1, axis=1)[:, :k_eff]
        top_sim = np.take_along_axis(dense, top, axis=1)
        order = np.argsort(-top_sim, axis=1, kind="stable")
        top, top_sim = np.take_along_axis(top, order, 1), np.take_along_axis(top_sim, order, 1)
        keep = top_sim >= min_similarity
        index[start:stop, :k_eff] = np.where(keep, top, -1)
        sim[start:stop, :k_eff] = np.where(keep, top_sim, 0.0)
    return index, sim


def _text(texts: pd.DataFrame) -> list[str]:
    subject = texts["subject"].astype(object).where(texts["subject"].notna(), "")
    body = texts["description"].astype(object).where(texts["description"].notna(), "")
    # Long descriptions add cost, not similarity: the first 1,000 characters decide.
    return [f"{s} . {b}"[:1000] for s, b in zip(subject, body, strict=True)]


def find_neighbours(
    texts: pd.DataFrame,
    *,
    embeddings: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    params: SimilarityParams = SimilarityParams(),
) -> Neighbours:
    """Similar cases within each policy of ``texts`` (columns case_id, policy, subject, description).

    ``embeddings``: a frame indexed by case_id (or with a case_id column) of numeric vector
    columns; cases without a vector get no similar cases. ``clusters``: a frame with
    case_id and cluster; up to ``max(n_neighbors, 10)`` members of the same cluster (random,
    seeded) are a case's similar cases.
    """
    n = len(texts)
    k = max(params.n_neighbors, 10) if clusters is not None else params.n_neighbors
    index = np.full((n, k), -1, dtype=np.int64)
    sim = np.zeros((n, k), dtype=np.float32)
    if n == 0:
        return Neighbours(index, sim)
    case_ids = texts["case_id"].astype(str).to_numpy()
    vectors = None
    if embeddings is not None and clusters is None:
        emb = embeddings.set_index("case_id") if "case_id" in embeddings.columns else embeddings
        emb = emb[~emb.index.duplicated()]
        emb.index = emb.index.astype(str)
        vectors = emb.reindex(case_ids).to_numpy(dtype=np.float32)
    cluster_of = None
    if clusters is not None:
        lab = clusters.drop_duplicates("case_id").assign(case_id=lambda d: d["case_id"].astype(str))
        cluster_of = lab.set_index("case_id")["cluster"].reindex(case_ids).astype(object).to_numpy()
    rng = np.random.default_rng(params.random_state)
    policies = texts["policy"].to_numpy(dtype=object)
    for policy in pd.unique(policies):
        rows = np.flatnonzero(policies == policy)
        if len(rows) < 2:
            continue
        if cluster_of is not None:
            _cluster_neighbours(rows, cluster_of[rows], k, rng, index, sim)
            continue
        if vectors is not None:
            has = ~np.isnan(vectors[rows]).any(axis=1)
            rows = rows[has]
            if len(rows) < 2:
                continue
            matrix = normalize(vectors[rows])
            threshold = params.embedding_min_similarity
        else:
            matrix = tfidf_matrix(_text(texts.iloc[rows]))
            threshold = params.min_similarity
        local_idx, local_sim = knn(matrix, k, threshold, params.block)
        index[rows] = np.where(local_idx >= 0, rows[np.clip(local_idx, 0, None)], -1)
        sim[rows] = local_sim
    return Neighbours(index, sim)


def _cluster_neighbours(rows, labels, k, rng, index, sim) -> None:
    frame = pd.DataFrame({"row": rows, "label": labels}).dropna(subset=["label"])
    for _label, members in frame.groupby("label")["row"]:
        members = members.to_numpy()
        if len(members) < 2:
            continue
        for r in members:
            others = members[members != r]
            pick = others if len(others) <= k else rng.choice(others, size=k, replace=False)
            index[r, : len(pick)] = pick
            sim[r, : len(pick)] = 1.0


def restrict(nb: Neighbours, groups: np.ndarray) -> Neighbours:
    """Keep only similar cases in the same group (e.g. the same pain point or period)."""
    same = nb.valid & (groups[np.clip(nb.index, 0, None)] == groups[:, None])
    return Neighbours(np.where(same, nb.index, -1), np.where(same, nb.similarity, 0.0))


def _entropy_bits(codes: np.ndarray, mask: np.ndarray, n_codes: int) -> np.ndarray:
    """Row-wise Shannon entropy (bits) of the masked integer codes of a (n, m) array."""
    n = codes.shape[0]
    rows = np.repeat(np.arange(n), codes.shape[1])
    flat = mask.ravel()
    counts = np.bincount(rows[flat] * n_codes + codes.ravel()[flat], minlength=n * n_codes)
    counts = counts.reshape(n, n_codes).astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=1)


def case_inconsistency(nb: Neighbours, outcomes: np.ndarray) -> pd.DataFrame:
    """Per case: n_similar, disagreement (share decided differently; NaN if none), entropy (bits)."""
    codes, _uniques = pd.factorize(pd.Series(outcomes, dtype=object))
    valid = nb.valid
    n_similar = valid.sum(axis=1)
    nbr_codes = codes[np.clip(nb.index, 0, None)]
    differ = (nbr_codes != codes[:, None]) & valid
    disagreement = np.where(n_similar > 0, differ.sum(axis=1) / np.maximum(n_similar, 1), np.nan)
    with_self = np.concatenate([codes[:, None], nbr_codes], axis=1)
    mask = np.concatenate([np.ones((len(codes), 1), dtype=bool), valid], axis=1)
    entropy = _entropy_bits(with_self, mask, max(int(codes.max(initial=0)) + 1, 1))
    entropy = np.where(n_similar > 0, entropy, np.nan)
    return pd.DataFrame({"n_similar": n_similar, "disagreement": disagreement, "entropy": entropy})


def differing_pairs(
    nb: Neighbours, texts: pd.DataFrame, keys: np.ndarray, per_key: int = 10
) -> pd.DataFrame:
    """The most similar pairs decided differently, per key, each case used at most once.

    Columns: key, case_a, case_b, similarity, outcome_a, outcome_b.
    """
    cols = ["key", "case_a", "case_b", "similarity", "outcome_a", "outcome_b"]
    outcomes = texts["outcome"].astype(object).to_numpy()
    rows, slots = np.nonzero(nb.valid)
    if len(rows) == 0:
        return pd.DataFrame(columns=cols)
    other = nb.index[rows, slots]
    differ = outcomes[rows] != outcomes[other]
    rows, other, sims = rows[differ], other[differ], nb.similarity[rows[differ], slots[differ]]
    lo, hi = np.minimum(rows, other), np.maximum(rows, other)
    pairs = pd.DataFrame({"a": lo, "b": hi, "similarity": sims, "key": keys[lo]})
    pairs = pairs.drop_duplicates(["a", "b"]).sort_values(
        ["key", "similarity", "a"], ascending=[True, False, True]
    )
    chosen = []
    for key, group in pairs.groupby("key", sort=False):
        used: set[int] = set()
        taken = 0
        for a, b, s in zip(group["a"], group["b"], group["similarity"], strict=True):
            if a in used or b in used:
                continue
            used.update((a, b))
            chosen.append((key, a, b, float(s)))
            taken += 1
            if taken >= per_key:
                break
    if not chosen:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(chosen, columns=["key", "a", "b", "similarity"])
    ids = texts["case_id"].astype(str).to_numpy()
    out["case_a"], out["case_b"] = ids[out["a"]], ids[out["b"]]
    out["outcome_a"], out["outcome_b"] = outcomes[out["a"]], outcomes[out["b"]]
    return out[cols].reset_index(drop=True)


def entropy_shift_test(
    nb: Neighbours,
    outcomes: np.ndarray,
    after: np.ndarray,
    *,
    n_permutations: int = 999,
    seed: int = 0,
) -> dict:
    """Permutation test: did outcome entropy among similar cases change after a date?

    Similar cases are restricted to the same period (before/after), the statistic is the
    mean per-case entropy before minus after, and the period labels are shuffled
    ``n_permutations`` times (keeping the counts). Returns before, after, n_before, n_after
    (cases with similar cases in their period), p_drop and p_rise (one-sided p-values).
    """
    codes, _ = pd.factorize(pd.Series(outcomes, dtype=object))
    n_codes = max(int(codes.max(initial=0)) + 1, 1)
    base_valid = nb.valid
    idx = np.clip(nb.index, 0, None)
    with_self = np.concatenate([codes[:, None], codes[idx]], axis=1)
    ones = np.ones((len(codes), 1), dtype=bool)

    def stat(labels: np.ndarray) -> tuple[float, float, int, int]:
        valid = base_valid & (labels[idx] == labels[:, None])
        has = valid.any(axis=1)
        ent = _entropy_bits(with_self, np.concatenate([ones, valid], axis=1), n_codes)
        b, a = has & ~labels, has & labels
        hb = float(ent[b].mean()) if b.any() else float("nan")
        ha = float(ent[a].mean()) if a.any() else float("nan")
        return hb, ha, int(b.sum()), int(a.sum())

    after = after.astype(bool)
    hb, ha, n_b, n_a = stat(after)
    out = {
        "before": hb,
        "after": ha,
        "n_before": n_b,
        "n_after": n_a,
        "p_drop": float("nan"),
        "p_rise": float("nan"),
    }
    observed = hb - ha
    if not np.isfinite(observed) or n_permutations <= 0:
        return out
    rng = np.random.default_rng(seed)
    diffs = np.array(
        [np.subtract(*stat(rng.permutation(after))[:2]) for _ in range(n_permutations)]
    )
    diffs = diffs[np.isfinite(diffs)]
    out["p_drop"] = float((np.sum(diffs >= observed - 1e-12) + 1) / (len(diffs) + 1))
    out["p_rise"] = float((np.sum(diffs <= observed + 1e-12) + 1) / (len(diffs) + 1))
    return out
