"""Pain points in the store: embeddings once per text, fits with stable ids, curation.

The estimator (:class:`analytics.clustering.PainPointClusterer`) knows nothing about the
store; this module persists what it learns:

- ``text_embeddings``: one vector per distinct case text and model, computed once,
  incrementally after imports (:func:`embed_new_texts`); reclustering never re-embeds.
- ``pain_points`` / ``pain_point_assignments``: the current clusters (centroid, threshold,
  names, top terms, representative cases) and one row per case (-1 = unassigned).
- ``pp_fits`` / ``pp_lineage``: every refit, and what happened to each cluster (born, grown,
  split, merged, gone). A refit keeps the ids of clusters that still exist
  (:func:`analytics.clustering.match_clusters` on centroids).
- ``pp_curation``: renames and merges by people; applied on read, so they survive refits.

Other analyses use :func:`assignments` (``case_id, pain_point, name``; -1 = unassigned).
"""

from __future__ import annotations

import json
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.config import get_settings
from analytics.errors import ConflictError, NotEnoughDataError, WorkflowError
from analytics.store import get_meta, set_meta, transaction

Progress = Callable[[str, float], None]
UNASSIGNED = -1
#: Case text that is embedded and clustered: what the user wrote.
TEXT_SQL = "trim(coalesce(subject, '') || '. ' || coalesce(description, ''), '. ')"
#: Largest number of cases a fit runs on; the rest are assigned to the fitted clusters.
MAX_FIT_CASES = 60_000
#: Texts embedded per second before this store has measured its own (all-MiniLM-L6-v2 on
#: 2 CPU cores: ~250/s for short utterances, ~60/s for demo cases of subject + description).
DEFAULT_EMBED_RATE = 60.0
#: Centroid cosine distance under which clusters are joined, per granularity (measured on
#: the demo history and BANKING77: docs/benchmarks/painpoints_demo.md).
GRANULARITY_DISTANCE: dict[str, float | None] = {"broad": 0.4, "specific": None}
#: "broad" for TF-IDF/LSA vectors, whose cosines run higher between unrelated texts: at 0.4
#: one cluster took half of a 6k demo history; 0.3 joins phrasings and keeps the largest
#: cluster where "specific" has it (NMI against the demo topics 0.56 -> 0.58).
LSA_BROAD_DISTANCE = 0.3
#: Cosine similarity above which a new cluster continues an old one (keeps its id).
MATCH_THRESHOLD = 0.8


def _noop(stage: str, fraction: float) -> None:
    pass


def representation_name(embedder) -> str:
    return getattr(embedder, "name", type(embedder).__name__)


def make_embedder(kind: str | None = None):
    """The configured text representation (ESC_TEXT_REPRESENTATION, ESC_EMBEDDING_MODEL)."""
    from analytics.embeddings import make_embedder as _make

    settings = get_settings()
    kind = kind or settings.text_representation
    return _make({"sentence": "sentence", "lsa": "lsa"}.get(kind, "auto"), settings.embedding_model)


def _is_stateless(embedder) -> bool:
    """Sentence models embed each text on its own; LSA depends on the texts it was fitted on."""
    return type(embedder).__name__ == "SentenceEmbedder"


def _model_key(embedder) -> str:
    return representation_name(embedder)


# --- Embeddings -----------------------------------------------------------------------------
def pending_texts(con: duckdb.DuckDBPyConnection, model: str) -> int:
    """How many distinct case texts have no stored embedding for ``model``."""
    return (
        con.cursor()
        .execute(
            f"""SELECT count(*) FROM (SELECT DISTINCT hash({TEXT_SQL}) AS h FROM cases) s
            WHERE NOT EXISTS (SELECT 1 FROM text_embeddings e WHERE e.model = ? AND e.text_hash = s.h)""",
            [model],
        )
        .fetchone()[0]
    )


def embed_new_texts(
    con: duckdb.DuckDBPyConnection,
    embedder,
    *,
    batch_size: int = 512,
    progress: Progress | None = None,
    limit: int | None = None,
) -> int:
    """Embed every case text not embedded yet (sentence models only), committing per batch.

    Resumable: an interrupted run keeps what it stored. Returns the number of texts embedded.
    """
    report = progress or _noop
    if not _is_stateless(embedder):
        return 0
    model = _model_key(embedder)
    cur = con.cursor()
    todo = cur.execute(
        f"""SELECT h, any_value(txt) FROM (SELECT hash({TEXT_SQL}) AS h, {TEXT_SQL} AS txt FROM cases) s
            WHERE NOT EXISTS (SELECT 1 FROM text_embeddings e WHERE e.model = ? AND e.text_hash = s.h)
            GROUP BY h ORDER BY h {"LIMIT ?" if limit else ""}""",
        [model, *([limit] if limit else [])],
    ).fetchall()
    total = len(todo)
    t0 = time.perf_counter()
    for start in range(0, total, batch_size):
        chunk = todo[start : start + batch_size]
        vectors = embedder.transform([t for _, t in chunk])
        frame = pd.DataFrame(
            {
                "model": model,
                "text_hash": [h for h, _ in chunk],
                "vector": [v.astype(np.float32) for v in vectors],
            }
        )
        cur.register("_emb", frame)
        cur.execute(
            "INSERT INTO text_embeddings SELECT model, text_hash::UBIGINT, vector::FLOAT[] FROM _emb"
        )
        cur.unregister("_emb")
        report(
            f"Embedding case texts ({min(start + batch_size, total):,} of {total:,})",
            (start + len(chunk)) / max(total, 1),
        )
    if total >= batch_size:  # a rate from a handful of texts would mislead the next estimate
        set_meta(cur, f"embed_rate:{model}", f"{total / (time.perf_counter() - t0):.1f}")
    return total


def embedding_seconds(con: duckdb.DuckDBPyConnection, model: str, n_texts: int) -> float:
    """Expected time to embed ``n_texts`` with ``model``, from this store's last measured rate."""
    rate = float(get_meta(con.cursor(), f"embed_rate:{model}", str(DEFAULT_EMBED_RATE)))
    return n_texts / max(rate, 1e-6)


def _case_texts(con: duckdb.DuckDBPyConnection, sample: int | None, seed: int) -> pd.DataFrame:
    """case_id, text, text_hash of all cases or of a deterministic sample."""
    cur = con.cursor()
    n = cur.execute("SELECT count(*) FROM cases").fetchone()[0]
    sql = f"SELECT case_id, {TEXT_SQL} AS text, hash({TEXT_SQL}) AS text_hash FROM cases"
    params: list = []
    if sample and n > sample:
        # Deterministic sample: by hash of the id and a seed, the same on every run.
        sql += " WHERE hash(case_id || ?) % ? < ?"
        params += [str(seed), 1_000_000, int(1_000_000 * sample / n)]
    return cur.execute(sql + " ORDER BY case_id", params).df()


def _vectors(con: duckdb.DuckDBPyConnection, model: str, hashes: pd.Series) -> np.ndarray:
    cur = con.cursor()
    cur.register(
        "_h", pd.DataFrame({"text_hash": hashes.astype("uint64"), "i": np.arange(len(hashes))})
    )
    rows = cur.execute(
        "SELECT h.i, e.vector FROM _h h JOIN text_embeddings e ON e.text_hash = h.text_hash AND e.model = ?",
        [model],
    ).fetchall()
    cur.unregister("_h")
    if len(rows) < len(hashes):
        raise NotEnoughDataError(
            "Some case texts have no embedding yet; run the embedding step first."
        )
    out = np.zeros((len(hashes), len(rows[0][1])), dtype=np.float32)
    for i, v in rows:
        out[i] = v
    return out


# --- Fitting ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitResult:
    fit_id: int
    representation: str
    n_cases: int
    n_clusters: int
    unassigned: int
    born: int
    gone: int
    kept: int
    seconds: float


def _previous(con: duckdb.DuckDBPyConnection):
    cur = con.cursor()
    rows = cur.execute(
        "SELECT pain_point, centroid FROM pain_points WHERE status = 'active' ORDER BY pain_point"
    ).fetchall()
    centroids = {int(p): np.asarray(c, dtype=np.float32) for p, c in rows}
    model = cur.execute(
        "SELECT representation FROM pp_fits ORDER BY fit_id DESC LIMIT 1"
    ).fetchone()
    return centroids, (model[0] if model else None)


#: One refit at a time per process: two would race for the same fit id and the second
#: would redo the first's work. Readers never wait on it (the write is one short transaction).
_FIT_LOCK = threading.Lock()


def fit(
    con: duckdb.DuckDBPyConnection,
    user: User,
    *,
    embedder=None,
    clusterer=None,
    max_cases: int = MAX_FIT_CASES,
    random_state: int = 0,
    granularity: str | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """(Re)fit the pain points on the store's case texts and assign every case.

    Keeps the ids of clusters that continue earlier ones, records lineage, and never
    re-embeds a stored text. ``granularity``: "broad" or "specific" (default from the
    configuration, see :data:`GRANULARITY_DISTANCE`). Requires the ``refit`` permission;
    raises ConflictError while another refit runs in this process.
    """
    require(user, "refit")
    if not _FIT_LOCK.acquire(blocking=False):
        raise ConflictError(
            "Pain points are being refitted already (someone else started it); "
            "the new ones appear when it finishes."
        )
    try:
        granularity = granularity or get_settings().painpoint_granularity
        if granularity not in GRANULARITY_DISTANCE:
            raise WorkflowError(
                f"Unknown granularity {granularity!r}: use one of {', '.join(GRANULARITY_DISTANCE)}."
            )
        return _fit(con, user, embedder, clusterer, max_cases, random_state, granularity, progress)
    finally:
        _FIT_LOCK.release()


def _fit(
    con, user, embedder, clusterer, max_cases, random_state, granularity, progress
) -> FitResult:
    from analytics.clustering import PainPointClusterer, lineage, match_clusters

    report = progress or _noop
    t0 = time.perf_counter()
    embedder = embedder or make_embedder()
    rep = representation_name(embedder)
    sample = _case_texts(con, max_cases, random_state)
    if len(sample) < 50:
        raise NotEnoughDataError(
            "Pain points need at least 50 cases with text; import more data first."
        )
    if _is_stateless(embedder):
        embed_new_texts(con, embedder, progress=lambda s, f: report(s, 0.05 + 0.5 * f))
        E = _vectors(con, rep, sample["text_hash"])
    else:
        report("Building the TF-IDF/LSA representation", 0.2)
        E = embedder.fit(sample["text"].tolist()).transform(sample["text"].tolist())
    report("Clustering", 0.6)
    model = clusterer or PainPointClusterer(
        random_state=random_state,
        embedder=embedder,
        merge_distance=(
            LSA_BROAD_DISTANCE
            if granularity == "broad" and not _is_stateless(embedder)
            else GRANULARITY_DISTANCE[granularity]
        ),
    )
    model.fit(sample["text"].tolist(), embeddings=E)
    old_centroids, old_rep = _previous(con)
    new_centroids = {i: model.centroids_[i] for i in range(model.n_clusters_)}
    if old_rep == rep and _is_stateless(embedder):
        mapping = match_clusters(old_centroids, new_centroids, MATCH_THRESHOLD)
    else:
        # A refitted LSA (or a new model) has a different vector space: match by the cases
        # the old and the new clusters share instead.
        mapping = _match_by_overlap(con, sample["case_id"], model.labels_)
    next_id = max([*old_centroids, *mapping.values(), -1]) + 1 if old_centroids else 0
    stable: dict[int, int] = {}
    for new_id in range(model.n_clusters_):
        if new_id in mapping:
            stable[new_id] = mapping[new_id]
        else:
            stable[new_id] = next_id
            next_id += 1
    labels = np.array(
        [stable.get(int(lab), UNASSIGNED) if lab >= 0 else UNASSIGNED for lab in model.labels_]
    )
    report("Assigning every case", 0.75)
    all_cases = _case_texts(con, None, random_state)
    assigned = _assign_frame(con, model, embedder, rep, all_cases, stable)
    in_sample = dict(zip(sample["case_id"], labels, strict=True))
    assigned["pain_point"] = [
        int(in_sample.get(c, p))
        for c, p in zip(assigned["case_id"], assigned["pain_point"], strict=True)
    ]
    report("Saving", 0.9)
    cur = con.cursor()
    with transaction(cur):
        old_assign = cur.execute("SELECT case_id, pain_point FROM pain_point_assignments").df()
        fit_id = cur.execute("SELECT coalesce(max(fit_id), 0) + 1 FROM pp_fits").fetchone()[0]
        events = []
        if not old_assign.empty:
            both = old_assign.merge(
                assigned[["case_id", "pain_point"]],
                on="case_id",
                how="outer",
                suffixes=("_old", "_new"),
            ).fillna(UNASSIGNED)
            events = lineage(
                both["pain_point_old"].astype(int).to_numpy(),
                both["pain_point_new"].astype(int).to_numpy(),
            )
        else:
            events = [
                _born(p, int((assigned["pain_point"] == p).sum()))
                for p in sorted(set(stable.values()))
            ]
        now = datetime.now(UTC).replace(tzinfo=None)
        cur.execute(
            "UPDATE pain_points SET status = 'gone', updated_at = ? WHERE status = 'active'", [now]
        )
        sizes = assigned["pain_point"].value_counts().to_dict()
        for new_id, pid in stable.items():
            reps = [str(sample["case_id"].iloc[i]) for i in model.representatives_.get(new_id, [])]
            born = cur.execute(
                "SELECT min(born_fit) FROM pain_points WHERE pain_point = ?", [pid]
            ).fetchone()[0]
            cur.execute("DELETE FROM pain_points WHERE pain_point = ?", [pid])
            cur.execute(
                """INSERT INTO pain_points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)""",
                [
                    pid,
                    fit_id,
                    model.cluster_names_.get(new_id, f"pain point {pid}"),
                    json.dumps([[t, float(w)] for t, w in model.top_terms_.get(new_id, [])][:15]),
                    model.centroids_[new_id].astype(np.float32).tolist(),
                    float(model.thresholds_[new_id]),
                    int(sizes.get(pid, 0)),
                    json.dumps(reps),
                    born or fit_id,
                    now,
                ],
            )
        cur.execute("DELETE FROM pain_point_assignments")
        cur.register("_assigned", assigned[["case_id", "pain_point", "similarity"]])
        cur.execute(
            "INSERT INTO pain_point_assignments SELECT case_id, pain_point, similarity, ? FROM _assigned",
            [fit_id],
        )
        cur.unregister("_assigned")
        for ev in events:
            cur.execute(
                "INSERT INTO pp_lineage VALUES (?, ?, ?, ?, ?, ?)",
                [
                    fit_id,
                    ev.kind,
                    json.dumps(list(ev.old_ids)),
                    json.dumps(list(ev.new_ids)),
                    int(ev.n_items),
                    now,
                ],
            )
        blob = None if _is_stateless(embedder) else pickle.dumps(embedder)
        unassigned = int((assigned["pain_point"] == UNASSIGNED).sum())
        seconds = time.perf_counter() - t0
        cur.execute(
            "INSERT INTO pp_fits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                fit_id,
                now,
                rep,
                len(sample),
                model.n_clusters_,
                unassigned,
                json.dumps(
                    {
                        "max_cases": max_cases,
                        "random_state": random_state,
                        "granularity": granularity,
                    }
                ),
                user.name,
                seconds,
                blob,
            ],
        )
    audit.record(
        con, user, "painpoint_fit", f"fit {fit_id}", f"{model.n_clusters_} clusters, {rep}"
    )
    report("Done", 1.0)
    kinds = [e.kind for e in events]
    return FitResult(
        fit_id,
        rep,
        len(all_cases),
        model.n_clusters_,
        unassigned,
        kinds.count("born"),
        kinds.count("gone"),
        len(mapping),
        seconds,
    )


def _match_by_overlap(
    con: duckdb.DuckDBPyConnection, case_ids: pd.Series, labels: np.ndarray, min_share: float = 0.5
) -> dict[int, int]:
    """Pair new clusters with old pain points that hold most of the same cases (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    old = con.cursor().execute("SELECT case_id, pain_point FROM pain_point_assignments").df()
    if old.empty:
        return {}
    both = pd.DataFrame({"case_id": case_ids.to_numpy(), "new": labels}).merge(old, on="case_id")
    both = both[(both["new"] >= 0) & (both["pain_point"] >= 0)]
    if both.empty:
        return {}
    table = pd.crosstab(both["new"], both["pain_point"])
    rows, cols = linear_sum_assignment(-table.to_numpy())
    new_size, old_size = table.sum(axis=1).to_numpy(), table.sum(axis=0).to_numpy()
    out = {}
    for r, c in zip(rows, cols, strict=True):
        shared = table.iat[r, c]
        if shared >= min_share * new_size[r] and shared >= min_share * old_size[c]:
            out[int(table.index[r])] = int(table.columns[c])
    return out


def _born(pid: int, n: int):
    from analytics.clustering import LineageEvent

    return LineageEvent("born", (), (pid,), n)


def _assign_frame(
    con, model, embedder, rep: str, cases: pd.DataFrame, stable: dict[int, int], chunk: int = 20_000
) -> pd.DataFrame:
    """Nearest fitted cluster (stable id) and similarity for each case, -1 when too far."""
    out_p, out_s = [], []
    centroids = model.centroids_
    for start in range(0, len(cases), chunk):
        part = cases.iloc[start : start + chunk]
        if _is_stateless(embedder):
            E = _vectors(con, rep, part["text_hash"])
        else:
            E = embedder.transform(part["text"].tolist())
        E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
        S = E @ centroids.T
        best = S.argmax(axis=1)
        sims = S[np.arange(len(best)), best]
        ok = sims >= model.thresholds_[best]
        out_p += [stable[int(b)] if o else UNASSIGNED for b, o in zip(best, ok, strict=True)]
        out_s += sims.astype(float).tolist()
    return pd.DataFrame(
        {"case_id": cases["case_id"].to_numpy(), "pain_point": out_p, "similarity": out_s}
    )


def assign_new_cases(con: duckdb.DuckDBPyConnection, *, progress: Progress | None = None) -> int:
    """Assign cases imported since the last fit to the existing pain points (no refit)."""
    cur = con.cursor()
    last = cur.execute(
        "SELECT fit_id, representation, embedder FROM pp_fits ORDER BY fit_id DESC LIMIT 1"
    ).fetchone()
    if last is None:
        return 0
    fit_id, rep, blob = last
    new = cur.execute(
        f"""SELECT case_id, {TEXT_SQL} AS text, hash({TEXT_SQL}) AS text_hash FROM cases
            WHERE case_id NOT IN (SELECT case_id FROM pain_point_assignments)"""
    ).df()
    if new.empty:
        return 0
    embedder = pickle.loads(blob) if blob else make_embedder("sentence")
    if _is_stateless(embedder):
        embed_new_texts(con, embedder, progress=progress)
    rows = cur.execute(
        "SELECT pain_point, centroid, threshold FROM pain_points WHERE status = 'active' ORDER BY pain_point"
    ).fetchall()

    class _Fitted:  # the two attributes _assign_frame reads
        centroids_ = np.array([np.asarray(c, dtype=np.float32) for _, c, _ in rows])
        thresholds_ = np.array([t for _, _, t in rows], dtype=np.float32)

    stable = {i: int(p) for i, (p, _, _) in enumerate(rows)}
    assigned = _assign_frame(con, _Fitted, embedder, rep, new, stable)
    cur.register("_assigned", assigned)
    cur.execute(
        "INSERT INTO pain_point_assignments SELECT case_id, pain_point, similarity, ? FROM _assigned",
        [fit_id],
    )
    cur.unregister("_assigned")
    return len(assigned)


# Reads with curation applied, and curation itself, live in analytics.painpoint_curation;
# they are part of this module's public API.
from analytics.painpoint_curation import (  # noqa: E402
    assignments,
    centroids,
    curation_state,
    fitted,
    lineage_of,
    members,
    merge,
    pain_points,
    rename,
    state_version,
    unmerge,
)

__all__ = [
    "FitResult",
    "assign_new_cases",
    "assignments",
    "centroids",
    "curation_state",
    "embed_new_texts",
    "embedding_seconds",
    "fit",
    "fitted",
    "lineage_of",
    "make_embedder",
    "members",
    "merge",
    "pain_points",
    "pending_texts",
    "rename",
    "state_version",
    "unmerge",
]
