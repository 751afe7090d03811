"""Change decomposition between two windows: which slices carry the change, and how.

* Counts: each slice's contribution is ``after - before``; they add up to the total change.
* Rates (SLA breach rate, overturn rate): the change of the overall rate ``R = sum(w_i r_i)``
  (``w_i`` the slice's share of the denominator, ``r_i`` its rate) is split per slice into a
  *mix effect* (the slice's share of cases changed) and a *rate effect* (the slice's own rate
  changed), with the symmetric midpoint (two-factor Shapley) formula::

      rate_i = (r1_i - r0_i) * (w0_i + w1_i) / 2
      mix_i  = (w1_i - w0_i) * ((r0_i + r1_i) / 2 - (R0 + R1) / 2)

  ``sum(mix_i + rate_i) == R1 - R0`` exactly (no residual term): the midpoint weights make the
  interaction vanish, and because ``sum(w1_i - w0_i) == 0`` the centring by the average overall
  rate changes no total while giving each slice's mix effect a meaningful sign (more cases of a
  kind that breaches *more than average* raises the overall rate). A slice present in one
  window only has its rate taken from the other window, so its whole effect is mix.
* Medians (handling time): medians are **not additive**, so any split is an approximation.
  Each slice's raw effect is the change of the overall median when only that slice is swapped
  to its after-distribution (and the mirror image, swapping it back inside the after-window;
  the two are averaged). Raw effects plus a *residual* (interaction) equal the total change;
  the residual is then spread over slices in proportion to their absolute raw effect, so the
  reported ``contribution`` column adds up to the total. The raw effect is further split into
  mix (only the slice's case count changed) and shift (its distribution changed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.errors import MappingError, NotEnoughDataError

__all__ = ["ChangeExplanation", "ChangeSummary", "explain_change"]


@dataclass(frozen=True)
class ChangeSummary:
    """Totals of a decomposition. ``contributions == change`` up to float rounding."""

    metric: str
    before: float  # overall metric in the before window (total, rate or median)
    after: float
    change: float  # after - before
    contributions: float  # sum of the per-slice contributions
    mix_effect: float  # rates and medians: sum of mix effects; counts: 0
    rate_effect: float  # rates: sum of rate effects; medians: sum of shift effects; counts: 0
    residual: float  # medians: interaction not attributable to one slice; else 0
    n_slices: int


@dataclass(frozen=True)
class ChangeExplanation:
    """Per-slice table (largest absolute contribution first) and its summary."""

    table: pd.DataFrame
    summary: ChangeSummary


def _check(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MappingError(f"The {name} table has no column(s) {missing}.")


def _merge(before, after, by, columns):
    """Outer-join per-slice sums of ``columns``; a slice missing in one window counts 0."""
    parts = []
    for name, frame in (("before", before), ("after", after)):
        _check(frame, by + columns, name)
        agg = frame.groupby(by, dropna=False, observed=True, sort=True)[columns].sum()
        parts.append(agg.add_prefix(f"{name}_"))
    merged = parts[0].join(parts[1], how="outer").fillna(0.0).reset_index()
    return merged


def _share(values: pd.Series, total: float) -> pd.Series:
    return values / total if total != 0 else pd.Series(math.nan, index=values.index)


def _finish(table: pd.DataFrame, summary: ChangeSummary) -> ChangeExplanation:
    table["share_of_change"] = _share(table["contribution"], summary.change)
    order = table["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return ChangeExplanation(table.loc[order].reset_index(drop=True), summary)


def explain_change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    by: str | list[str],
    metric: str = "count",
    value: str = "count",
    numerator: str = "numerator",
    denominator: str = "denominator",
) -> ChangeExplanation:
    """Split the change of a metric between two windows into per-slice contributions.

    ``by`` names the slice column(s). ``metric``:

    * ``"count"``: ``before``/``after`` hold a ``value`` column (rows are summed per slice).
      Columns: ``before``, ``after``, ``contribution`` (= after - before), ``share_of_change``.
    * ``"rate"``: ``numerator``/``denominator`` columns (e.g. breaches / cases). Adds
      ``before_rate``, ``after_rate``, ``before_weight``, ``after_weight``, ``mix_effect``,
      ``rate_effect``; ``contribution = mix_effect + rate_effect``, summing exactly to the
      change of the overall rate (midpoint decomposition, see the module docstring).
    * ``"median"``: ``before``/``after`` are per-case rows with a ``value`` column (e.g.
      handling hours). Approximate: medians are not additive; see the module docstring.

    The ``summary`` carries the totals; ``summary.contributions == summary.change``.
    """
    by = [by] if isinstance(by, str) else list(by)
    if not by:
        raise MappingError("Give at least one slice column in 'by'.")
    if metric == "count":
        return _explain_count(before, after, by, value)
    if metric == "rate":
        return _explain_rate(before, after, by, numerator, denominator)
    if metric == "median":
        return _explain_median(before, after, by, value)
    raise MappingError(f"Unknown metric {metric!r}: use 'count', 'rate' or 'median'.")


def _explain_count(before, after, by, value) -> ChangeExplanation:
    table = _merge(before, after, by, [value])
    table = table.rename(columns={f"before_{value}": "before", f"after_{value}": "after"})
    table["contribution"] = table["after"] - table["before"]
    b, a = float(table["before"].sum()), float(table["after"].sum())
    summary = ChangeSummary(
        metric="count",
        before=b,
        after=a,
        change=a - b,
        contributions=math.fsum(table["contribution"]),
        mix_effect=0.0,
        rate_effect=0.0,
        residual=0.0,
        n_slices=len(table),
    )
    return _finish(table, summary)


def rate_table(table: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    """Add midpoint mix/rate effects to a table of ``before_num`` ... ``after_den`` columns."""
    n0, d0 = table["before_num"].to_numpy(float), table["before_den"].to_numpy(float)
    n1, d1 = table["after_num"].to_numpy(float), table["after_den"].to_numpy(float)
    if ((n0 > 0) & (d0 == 0)).any() or ((n1 > 0) & (d1 == 0)).any():
        raise MappingError("A slice has a numerator but no denominator (e.g. breaches, 0 cases).")
    if d0.sum() <= 0 or d1.sum() <= 0:
        raise NotEnoughDataError("A window has no cases (denominator 0): no rate to compare.")
    big_r0, big_r1 = n0.sum() / d0.sum(), n1.sum() / d1.sum()
    safe0, safe1 = np.where(d0 > 0, d0, 1.0), np.where(d1 > 0, d1, 1.0)
    # A slice absent from one window takes its rate from the other: all of its effect is mix.
    r0 = np.where(d0 > 0, n0 / safe0, np.where(d1 > 0, n1 / safe1, 0.0))
    r1 = np.where(d1 > 0, n1 / safe1, r0)
    w0, w1 = d0 / d0.sum(), d1 / d1.sum()
    table["before_rate"] = np.where(d0 > 0, n0 / safe0, np.nan)
    table["after_rate"] = np.where(d1 > 0, n1 / safe1, np.nan)
    table["before_weight"], table["after_weight"] = w0, w1
    table["mix_effect"] = (w1 - w0) * ((r0 + r1) / 2 - (big_r0 + big_r1) / 2)
    table["rate_effect"] = (r1 - r0) * (w0 + w1) / 2
    table["contribution"] = table["mix_effect"] + table["rate_effect"]
    return table, float(big_r0), float(big_r1)


def _explain_rate(before, after, by, numerator, denominator) -> ChangeExplanation:
    table = _merge(before, after, by, [numerator, denominator])
    table = table.rename(
        columns={
            f"before_{numerator}": "before_num",
            f"before_{denominator}": "before_den",
            f"after_{numerator}": "after_num",
            f"after_{denominator}": "after_den",
        }
    )
    if (table[["before_num", "before_den", "after_num", "after_den"]] < 0).any().any():
        raise MappingError("Numerators and denominators must not be negative.")
    table, r0, r1 = rate_table(table)
    summary = ChangeSummary(
        metric="rate",
        before=r0,
        after=r1,
        change=r1 - r0,
        contributions=math.fsum(table["contribution"]),
        mix_effect=math.fsum(table["mix_effect"]),
        rate_effect=math.fsum(table["rate_effect"]),
        residual=0.0,
        n_slices=len(table),
    )
    return _finish(table, summary)


# --------------------------------------------------------------------------------------------
# Medians
# --------------------------------------------------------------------------------------------


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of sorted ``values`` with non-negative ``weights`` (== ``np.median`` for 1s)."""
    keep = weights > 0
    v, w = values[keep], weights[keep]
    if len(v) == 0:
        return math.nan
    cw = np.cumsum(w)
    half = cw[-1] / 2.0
    i = int(np.searchsorted(cw, half * (1 - 1e-12), side="left"))
    if abs(cw[i] - half) <= 1e-9 * cw[-1] and i + 1 < len(v):
        return float((v[i] + v[i + 1]) / 2.0)
    return float(v[i])


def _explain_median(before, after, by, value) -> ChangeExplanation:
    for name, frame in (("before", before), ("after", after)):
        _check(frame, by + [value], name)
        if frame[value].isna().all() or len(frame) == 0:
            raise NotEnoughDataError(f"The {name} window has no {value!r} values.")
    b = before[by + [value]].dropna(subset=[value]).assign(_window=0)
    a = after[by + [value]].dropna(subset=[value]).assign(_window=1)
    both = pd.concat([b, a], ignore_index=True).sort_values(value, kind="stable")
    keys = pd.MultiIndex.from_frame(both[by]) if len(by) > 1 else pd.Index(both[by[0]])
    slice_id, slices = pd.factorize(keys, sort=True, use_na_sentinel=False)
    v = both[value].to_numpy(float)
    win = both["_window"].to_numpy()
    base0, base1 = (win == 0).astype(float), (win == 1).astype(float)
    m0, m1 = weighted_median(v, base0), weighted_median(v, base1)

    k = len(slices)
    n0 = np.bincount(slice_id, weights=base0, minlength=k)
    n1 = np.bincount(slice_id, weights=base1, minlength=k)
    effect, mix = np.zeros(k), np.zeros(k)
    for s in range(k):
        in_s = slice_id == s
        swap_in = np.where(in_s, base1, base0)  # before window, slice s from after
        swap_out = np.where(in_s, base0, base1)  # after window, slice s from before
        effect[s] = ((weighted_median(v, swap_in) - m0) + (m1 - weighted_median(v, swap_out))) / 2
        if n0[s] > 0 and n1[s] > 0:
            grow = np.where(in_s, base0 * n1[s] / n0[s], base0)  # before shape, after count
            shrink = np.where(in_s, base1 * n0[s] / n1[s], base1)
            mix[s] = ((weighted_median(v, grow) - m0) + (m1 - weighted_median(v, shrink))) / 2
        else:  # a slice in one window only: its whole effect is volume
            mix[s] = effect[s]
    change = m1 - m0
    residual = change - math.fsum(effect)
    scale = np.abs(effect).sum()
    if scale > 0:
        contribution = effect + residual * np.abs(effect) / scale
    else:  # no slice moves the median alone: spread by after-window volume
        contribution = residual * n1 / n1.sum()

    table = slices.to_frame(index=False, name=by) if len(by) > 1 else pd.DataFrame({by[0]: slices})
    med = lambda w: [  # noqa: E731
        weighted_median(v, np.where(slice_id == s, w, 0.0)) for s in range(k)
    ]
    table["before_n"], table["after_n"] = n0, n1
    table["before_median"], table["after_median"] = med(base0), med(base1)
    table["effect"], table["mix_effect"], table["shift_effect"] = effect, mix, effect - mix
    table["contribution"] = contribution
    summary = ChangeSummary(
        metric="median",
        before=m0,
        after=m1,
        change=change,
        contributions=math.fsum(contribution),
        mix_effect=math.fsum(mix),
        rate_effect=math.fsum(effect - mix),
        residual=residual,
        n_slices=k,
    )
    return _finish(table, summary)
