"""Emerging terms replayed day by day: what a daily :func:`~analytics.terms.emerging_terms`
run would have reported over a whole history, analysing each text once.

Used by the walk-forward benchmark of the trending-risk scan
(:mod:`analytics.trend_backtest`); the test and its thresholds are those of
:func:`analytics.terms.emerging_terms`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, special
from sklearn.feature_extraction.text import CountVectorizer

from analytics.terms import _analyzer, _display, _kind

BACKTEST_COLUMNS: tuple[str, ...] = (
    "day",
    "term",
    "kind",
    "status",
    "recent_count",
    "baseline_count",
    "ratio",
    "p_value",
    "q_value",
)


def emerging_terms_backtest(
    cases: pd.DataFrame,
    *,
    text_col: str = "text",
    time_col: str = "created_at",
    recent_days: int = 7,
    baseline_days: int = 56,
    min_df: int = 5,
    min_ratio: float = 3.0,
    fdr: float = 0.01,
    ngram_range: tuple[int, int] = (1, 3),
    chunk: int = 4096,
    with_cases: bool = False,
) -> pd.DataFrame:
    """Every (day, term) a daily run of :func:`emerging_terms` would have reported.

    The same test (conditional binomial, BH across the terms tested that day, ``min_ratio``)
    judged at the end of each day on the ``recent_days`` up to it against the
    ``baseline_days`` before, using only the past; texts are analysed once. Days start once
    a full baseline exists. Unlike :func:`emerging_terms`, satellite terms are not dropped
    (callers group terms by the cases they share).

    Returns :data:`BACKTEST_COLUMNS`, one row per emerging (day, term); ``day`` is midnight.
    With ``with_cases``, also ``cases``: positions (rows of ``cases``) of the recent window's
    cases holding the term.
    """
    if cases.empty:
        return pd.DataFrame(columns=list(BACKTEST_COLUMNS))
    day = pd.to_datetime(cases[time_col]).dt.floor("D")
    day0 = day.min()
    d_idx = ((day - day0) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    n_days = int(d_idx.max()) + 1
    analyse, display = _analyzer(ngram_range)
    vec = CountVectorizer(analyzer=analyse, binary=True, min_df=min_df, dtype=np.int32)
    try:
        x = vec.fit_transform(cases[text_col].astype("str").fillna("")).tocsc()
    except ValueError:
        return pd.DataFrame(columns=list(BACKTEST_COLUMNS))
    vocab = vec.get_feature_names_out()
    onehot = sparse.csr_matrix(
        (np.ones(len(d_idx), dtype=np.int32), (d_idx, np.arange(len(d_idx)))),
        shape=(n_days, len(d_idx)),
    )
    daily = (onehot @ x).tocsc()  # days x terms
    docs = np.bincount(d_idx, minlength=n_days).astype(float)
    cum_docs = np.concatenate([[0.0], np.cumsum(docs)])
    days = np.arange(n_days)
    lo_r = days - recent_days + 1
    lo_b = lo_r - baseline_days
    ok_day = lo_b >= 0
    n_recent = cum_docs[days + 1] - cum_docs[np.maximum(lo_r, 0)]
    n_base = cum_docs[np.maximum(lo_r, 0)] - cum_docs[np.maximum(lo_b, 0)]
    rows = []
    for c0 in range(0, len(vocab), chunk):
        block = daily[:, c0 : c0 + chunk].toarray().astype(float)
        cum = np.vstack([np.zeros((1, block.shape[1])), np.cumsum(block, axis=0)])
        k_r = cum[days + 1] - cum[np.maximum(lo_r, 0)]
        k_b = cum[np.maximum(lo_r, 0)] - cum[np.maximum(lo_b, 0)]
        cand_d, cand_t = np.nonzero((k_r >= min_df) & ok_day[:, None] & (n_base[:, None] > 0))
        if len(cand_d):
            rows.append((cand_d, cand_t + c0, k_r[cand_d, cand_t], k_b[cand_d, cand_t]))
    if not rows:
        return pd.DataFrame(columns=list(BACKTEST_COLUMNS))
    d_c, t_c, k_r, k_b = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    p0 = n_recent[d_c] / (n_recent[d_c] + n_base[d_c])
    total = k_r + k_b
    tail = special.betainc(k_r, total - k_r + 1, p0)
    selected = special.betainc(float(min_df), total - min_df + 1, p0)
    p_value = np.minimum(1.0, tail / np.maximum(selected, 1e-300))
    ratio = (k_r / n_recent[d_c]) / ((k_b + 0.5) / np.maximum(n_base[d_c], 1))
    day_ratio = (k_r / recent_days) / ((k_b + 0.5) / baseline_days)
    q_value = _bh_by_group(p_value, d_c)
    hit = (q_value <= fdr) & (ratio >= min_ratio) & (day_ratio >= min_ratio)
    out = pd.DataFrame(
        {
            "day": day0 + pd.to_timedelta(d_c[hit], unit="D"),
            "term": [_display(vocab[j], display) for j in t_c[hit]],
            "kind": [_kind(vocab[j]) for j in t_c[hit]],
            "status": np.where(k_b[hit] == 0, "new", "accelerating"),
            "recent_count": k_r[hit].astype(int),
            "baseline_count": k_b[hit].astype(int),
            "ratio": ratio[hit],
            "p_value": p_value[hit],
            "q_value": q_value[hit],
        }
    )
    if with_cases:
        out["cases"] = [
            rows_j[(d_idx[rows_j] <= d) & (d_idx[rows_j] > d - recent_days)]
            for d, rows_j in (
                (d, x.indices[x.indptr[j] : x.indptr[j + 1]])
                for d, j in zip(d_c[hit], t_c[hit], strict=True)
            )
        ]
    return out.sort_values(["day", "p_value"], ignore_index=True)


def _bh_by_group(p: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values within each group (e.g. per day)."""
    order = np.lexsort((p, group))
    g, ps = group[order], p[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    sizes = np.diff(np.r_[starts, len(g)])
    rank = np.arange(len(g)) - np.repeat(starts, sizes) + 1
    m = np.repeat(sizes, sizes)
    adj = ps * m / rank
    out_sorted = np.empty_like(adj)
    for s, n in zip(starts, sizes, strict=True):  # a loop over days, not over terms
        out_sorted[s : s + n] = np.minimum.accumulate(adj[s : s + n][::-1])[::-1]
    q = np.empty_like(p)
    q[order] = np.minimum(out_sorted, 1.0)
    return q
