"""Root cause, statistics: the two-sample confirmation of a slice and the strongest movers.

The localization engine takes a baseline as exact; a baseline measured on one earlier window is
as noisy as the window itself. These tests count both windows' noise: for counts
``z = (a - e) / sqrt(a + e / k)`` (``e`` the mean of ``k`` reference windows), for rates a
two-proportion z-test. The slice tested is the winner of a search over many candidates, so its
threshold is a Bonferroni one over them (:func:`search_threshold`). See
:mod:`analytics.rootcause_causes` for how they are used.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from analytics.rootcause_leaves import Leaves, slice_mask

MOVER_SHARE = 0.25  # a strong mover must carry this share of the change to be a candidate


def _z(a, e, a_den, e_den, k, rate: bool) -> np.ndarray:
    """z of each slice's move, counting the baseline's noise (mean of ``k`` windows).

    Arrays in, array out. A rate slice without baseline cases has no rate of its own to
    compare with (its arrival is a mix effect, not a change of rate): z is 0.
    """
    a, e = np.asarray(a, dtype=float), np.asarray(e, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if not rate:
            var = a + e / k
            return np.where(var > 0, (a - e) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
        ad, ed = np.asarray(a_den, dtype=float), np.asarray(e_den, dtype=float)
        ok = (ad > 0) & (ed > 0)
        p1, p0 = a / np.where(ok, ad, 1.0), e / np.where(ok, ed, 1.0)
        pooled = (a + k * e) / np.where(ok, ad + k * ed, 1.0)
        var = pooled * (1 - pooled) * (1 / np.where(ok, ad, 1.0) + 1 / np.where(ok, k * ed, 1.0))
        z = np.where(
            var > 0,
            (p1 - p0) / np.sqrt(np.where(var > 0, var, 1.0)),
            np.where(p1 == p0, 0.0, np.sign(p1 - p0) * np.inf),
        )
        return np.where(ok, z, 0.0)


def _two_sample_z(a, e, a_den, e_den, k, rate: bool) -> float:
    return float(_z([a], [e], [a_den], [e_den], k, rate)[0])


def slice_sums(
    table: pd.DataFrame, mask: np.ndarray, rate: bool
) -> tuple[float, float, float, float]:
    """Actual, expected (and for rates their denominators) summed over the masked leaves."""
    part = table.loc[mask]
    a, e = float(part["actual"].sum()), float(part["expected"].sum())
    if not rate:
        return a, e, 0.0, 0.0
    return a, e, float(part["actual_den"].sum()), float(part["expected_den"].sum())


def confirm_z(leaves: Leaves, slice_: dict[str, object], mask: np.ndarray | None = None) -> float:
    """The two-sample z of a slice (signed: positive when it rose)."""
    mask = slice_mask(leaves.table, slice_) if mask is None else mask
    return _two_sample_z(
        *slice_sums(leaves.table, mask, leaves.is_rate),
        len(leaves.windows.references),
        leaves.is_rate,
    )


def search_threshold(leaves: Leaves, dimensions: list[str], alpha: float) -> float:
    """Two-sided Bonferroni z over the candidate slices of 1-3 dimensions of these leaves."""
    table = leaves.table
    usable = [d for d in dimensions if table[d].nunique() > 1]
    n = 0
    for k in range(1, min(3, len(usable)) + 1):
        for combo in combinations(usable, k):
            n += len(table.groupby(list(combo), observed=True).size())
    return float(stats.norm.isf(alpha / (2 * max(n, 1))))


def strongest_slices(
    leaves: Leaves, dimensions: list[str], tuning: dict, top: int = 10
) -> list[tuple[dict[str, object], float]]:
    """Slices of one or two dimensions that moved most, strongest (largest ``|z|``) first.

    A slice qualifies when ``|z| >= confirm_z``, it also moved that significantly against the
    rest of the scope (its baseline scaled by the rest's own change, so an even move of
    everything does not qualify), it moved by ``min_change`` and it carries ``MOVER_SHARE`` of
    the total change (either sign).
    """
    table = leaves.table
    rate = leaves.is_rate
    k = len(leaves.windows.references)
    cols = ["actual", "expected"] + (["actual_den", "expected_den"] if rate else [])
    sums = table[cols].sum()
    if rate:
        total = sums["actual"] / sums["actual_den"] - sums["expected"] / sums["expected_den"]
    else:
        total = sums["actual"] - sums["expected"]
    out: list[tuple[dict[str, object], float]] = []
    for combo in [c for n in (1, 2) for c in combinations(dimensions, n)]:
        g = table.groupby(list(combo), observed=True)[cols].sum()
        if len(g) < 2:
            continue
        a, e = g["actual"].to_numpy(float), g["expected"].to_numpy(float)
        ad = g["actual_den"].to_numpy(float) if rate else np.zeros(len(g))
        ed = g["expected_den"].to_numpy(float) if rate else np.zeros(len(g))
        with np.errstate(divide="ignore", invalid="ignore"):
            if rate:
                r1, r0 = a / np.where(ad > 0, ad, 1.0), e / np.where(ed > 0, ed, 1.0)
                contribution = ad / sums["actual_den"] * (r1 - r0)
                rel = np.where((ed > 0) & (r0 > 0), r1 / r0 - 1.0, np.inf)
                rest = ((sums["actual"] - a) / (sums["actual_den"] - ad)) / (
                    (sums["expected"] - e) / (sums["expected_den"] - ed)
                )
            else:
                contribution = a - e
                rel = np.where(e > 0, a / e - 1.0, np.inf)
                rest = (sums["actual"] - a) / (sums["expected"] - e)
        rest = np.where(np.isfinite(rest) & (rest > 0), rest, 1.0)
        z = _z(a, e, ad, ed, k, rate)
        z_rest = _z(a, e * rest, ad, ed, k, rate)
        ok = (
            (np.abs(z) >= tuning["confirm_z"])
            & (np.abs(z_rest) >= tuning["confirm_z"])
            & (np.abs(rel) >= tuning["min_change"])
            & (np.abs(contribution) >= MOVER_SHARE * abs(total))
        )
        for i in np.flatnonzero(ok):
            key = g.index[i] if len(combo) > 1 else (g.index[i],)
            out.append((dict(zip(combo, key, strict=True)), float(z[i])))
    out.sort(key=lambda item: -abs(item[1]))
    return out[:top]
