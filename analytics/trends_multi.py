"""Testing many series at once: Benjamini–Hochberg, and the cheap screen of incremental scans.

Split from :mod:`analytics.trends_scan`, which applies both across series at every period.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def benjamini_hochberg(p_values: np.ndarray, fdr: float) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg step-up procedure along axis 0.

    ``p_values`` is 1-D (one family) or 2-D (one family per column, e.g. one per period
    across series). NaN marks hypotheses outside the family (not counted in ``m``).

    Returns ``(rejected, q_values)``: the adjusted p-value of the i-th smallest of ``m``
    p-values is ``min over j >= i of m * p_(j) / j`` (capped at 1), and a hypothesis is
    rejected when its adjusted p-value is at most ``fdr``.
    """
    p = np.asarray(p_values, dtype=float)
    flat = p.ndim == 1
    if flat:
        p = p[:, None]
    missing = np.isnan(p)
    m = (~missing).sum(axis=0)
    order = np.argsort(np.where(missing, np.inf, p), axis=0, kind="stable")
    ranked = np.take_along_axis(np.where(missing, np.inf, p), order, axis=0)
    ranks = np.arange(1, p.shape[0] + 1)[:, None]
    with np.errstate(invalid="ignore"):
        adjusted = ranked * m / ranks
    adjusted = np.minimum.accumulate(adjusted[::-1], axis=0)[::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(adjusted, 1.0), axis=0)
    q[missing] = np.nan
    rejected = np.nan_to_num(q, nan=np.inf) <= fdr
    if flat:
        return rejected[:, 0], q[:, 0]
    return rejected, q


def screen(
    values: np.ndarray, test_from: int, lengths: tuple[int, ...], floor: float, p_max: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Series that could alert in the tested periods, by a cheap and generous test.

    Each window's count against a Poisson with half the series' mean of the 28 days before
    the tests (room for quiet weekdays and holidays); a series passes if any window holding
    ``floor`` cases has ``p <= p_max``. The real test (negative binomial, seasonal baseline)
    is stricter, so a series that fails here could not have alerted (checked against full
    scans in the tests and the benchmark). Returns (kept rows, screened-out rows, level).
    """
    before = values[:, max(0, test_from - 28) : test_from]
    with np.errstate(invalid="ignore"):
        level = np.nan_to_num(np.nanmean(before, axis=1), nan=0.0) if before.size else (
            np.zeros(len(values))
        )  # fmt: skip
    filled = np.nan_to_num(values)
    cum = np.concatenate([np.zeros((len(values), 1)), np.cumsum(filled, axis=1)], axis=1)
    keep = np.zeros(len(values), dtype=bool)
    for w in lengths:
        ends = np.arange(max(test_from, w - 1), values.shape[1])
        counts = cum[:, ends + 1] - cum[:, ends + 1 - w]
        mean = np.maximum(0.5 * level * w, 1e-3)[:, None]
        p = special.gammainc(np.maximum(counts, 1e-9), mean)  # P(X >= count), Poisson
        keep |= ((counts >= floor) & (p <= p_max)).any(axis=1)
    return np.flatnonzero(keep), np.flatnonzero(~keep), level
