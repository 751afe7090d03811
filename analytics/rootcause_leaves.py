"""Root cause, data layer: metrics, comparison windows, and the leaves table built in Ibis.

A *leaf* is one combination of the chosen dimensions (region x queue x ...). For the current
window and each reference window (the baseline) the leaves table holds the metric's count or
its numerator and denominator, aggregated in one Ibis ``GROUP BY`` with conditional sums, so
it runs on DuckDB today and on another engine later (no pandas on case rows). The baseline is
the mean of the reference windows: the previous period of equal length, the same days one year
(52 weeks) earlier, or a seasonal baseline (the same weekdays over the previous N weeks).

*Rolling* dimensions (``app_version``): users upgrade all the time, so against any earlier
window the newest version "rises" and older ones "fall" for no reason worth reporting.
:func:`adjust_rolling` replaces the baseline of each leaf by the baseline of its other
dimensions times the current window's version mix (measured outside the causes found), so only
a version that is over-represented *for its time* stands out. Totals are unchanged.

Not streamlit-aware; the public entry points are re-exported by :mod:`analytics.rootcause`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import ibis
import numpy as np
import pandas as pd

from analytics.errors import MappingError, NotEnoughDataError
from analytics.filters import Filters, apply

#: Value standing in for a missing dimension value in leaves, slices and labels.
NONE = "(none)"
#: Default dimensions of a leaf (category and policy are both kept: neither nests in the other).
DEFAULT_DIMENSIONS: tuple[str, ...] = (
    "region",
    "queue",
    "product_surface",
    "app_version",
    "channel",
    "category",
    "policy",
)
#: Dimensions whose mix drifts on its own (new app versions replace old ones).
ROLLING_DIMENSIONS: tuple[str, ...] = ("app_version",)
BASELINES: dict[str, str] = {
    "previous": "Previous period",
    "last_year": "Same period last year",
    "seasonal": "Seasonal (same weekdays, previous weeks)",
    "custom": "A window of your choice",
}
_DATE_DRILLS = ("created_day", "created_week")


@dataclass(frozen=True)
class Metric:
    """A metric that can be explained: a count, a rate (numerator / denominator) or a median."""

    key: str
    label: str
    kind: str  # "count", "rate" or "median"
    unit: str  # "cases", "%" or "h"
    help: str
    numerator: str = ""  # what the numerator counts (rates; medians: the "slow" proxy)
    denominator: str = ""


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("volume", "Cases", "count", "cases", "Cases created in the window."),
        Metric(
            "sla_breach_rate",
            "SLA breach rate",
            "rate",
            "%",
            "Share of cases (with an SLA) past their SLA deadline.",
            "breached cases",
            "cases with an SLA",
        ),
        Metric(
            "overturn_rate",
            "Appeal overturn rate",
            "rate",
            "%",
            "Overturned decisions / decided appeals.",
            "overturned decisions",
            "decided appeals",
        ),
        Metric(
            "reopen_rate",
            "Reopen rate",
            "rate",
            "%",
            "Share of cases reopened at least once.",
            "reopened cases",
            "cases",
        ),
        Metric(
            "resolution_median",
            "Resolution time (median)",
            "median",
            "h",
            "Median hours from creation to resolution (resolved cases).",
            "cases slower than the baseline median",
            "resolved cases",
        ),
    )
}


def get_metric(key: str) -> Metric:
    if key not in METRICS:
        raise MappingError(f"Unknown metric {key!r}: use one of {', '.join(METRICS)}.")
    return METRICS[key]


# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """The current window and the reference window(s) of its baseline; dates are inclusive."""

    current: tuple[date, date]
    references: tuple[tuple[date, date], ...]
    baseline: str

    @property
    def days(self) -> int:
        return (self.current[1] - self.current[0]).days + 1

    @property
    def all(self) -> tuple[tuple[date, date], ...]:
        return (self.current, *self.references)

    def describe_current(self) -> str:
        return span_text(*self.current)

    def describe_baseline(self) -> str:
        """``the previous 14 days (29 May – 11 Jun 2026)`` and the like, for headlines."""
        ref = self.references
        if self.baseline == "previous":
            return f"the previous {self.days} days ({span_text(*ref[0])})"
        if self.baseline == "last_year":
            return f"the same days a year earlier ({span_text(*ref[0])})"
        if self.baseline == "seasonal":
            return (
                f"the same weekdays of the previous {len(ref)} periods "
                f"({span_text(ref[-1][0], ref[0][1])}, averaged)"
            )
        return span_text(*ref[0])


def span_text(start: date, end: date) -> str:
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


def resolve_windows(
    start: date,
    end: date,
    baseline: str = "previous",
    *,
    weeks: int = 4,
    reference: tuple[date, date] | None = None,
) -> Windows:
    """The current window ``[start, end]`` (inclusive) and its baseline's reference windows.

    ``previous``: the equal-length window just before; ``last_year``: the same window 364 days
    earlier (weekdays line up); ``seasonal``: ``weeks`` earlier windows shifted by whole weeks
    (the window length rounded up to whole weeks, so they do not overlap; the same shifts as
    :func:`analytics.drivers.seasonal_expected`); ``custom``: ``reference = (start, end)``.
    """
    if baseline not in BASELINES:
        raise MappingError(f"Unknown baseline {baseline!r}: use one of {', '.join(BASELINES)}.")
    if end < start:
        raise MappingError("The window must end on or after its first day.")
    length = (end - start).days + 1
    if baseline == "custom":
        if reference is None:
            raise MappingError("A custom baseline needs its own window (reference start, end).")
        r0, r1 = reference
        if r1 < r0:
            raise MappingError("The baseline window must end on or after its first day.")
        return Windows((start, end), ((r0, r1),), baseline)
    if baseline == "previous":
        shifts = [length]
    elif baseline == "last_year":
        if length > 364:
            raise MappingError("Compare with last year only for windows shorter than a year.")
        shifts = [364]
    else:
        if not 1 <= weeks <= 12:
            raise MappingError("A seasonal baseline averages 1 to 12 earlier periods.")
        step = 7 * math.ceil(length / 7)
        shifts = [step * k for k in range(1, weeks + 1)]
    refs = tuple((start - timedelta(days=s), end - timedelta(days=s)) for s in shifts)
    return Windows((start, end), refs, baseline)


def _ts(d: date) -> ibis.Expr:
    return ibis.timestamp(datetime.combine(d, time.min))


def in_window(t: ibis.Table, window: tuple[date, date]) -> ibis.Expr:
    return (t.created_at >= _ts(window[0])) & (t.created_at < _ts(window[1] + timedelta(days=1)))


def scoped(t: ibis.Table, f: Filters, start: date, end: date) -> ibis.Table:
    """Cases in the sidebar scope (dimension filters, search, drill-down) between two days.

    The sidebar's own dates do not apply: the windows replace them (a drill to one day or
    week would contradict the windows, so such drills are dropped too).
    """
    f = replace(f, extra=tuple((k, v) for k, v in f.extra if k not in _DATE_DRILLS))
    s = apply(t, f, dates=False)
    return s.filter(in_window(s, (start, end)))


def hours(t: ibis.Table) -> ibis.Expr:
    return (t.resolved_at.epoch_seconds() - t.created_at.epoch_seconds()) / 3600.0


def rate_parts(t: ibis.Table, metric: Metric, threshold: float | None = None):
    """Boolean numerator and denominator expressions of a rate (or of a median's proxy)."""
    if metric.key == "sla_breach_rate":
        return t.sla_breached.fill_null(False), t.sla_breached.notnull()
    if metric.key == "overturn_rate":
        decided = t.appeal_outcome.isin(["overturned", "upheld"]).fill_null(False)
        return decided & t.overturned.fill_null(False), decided
    if metric.key == "reopen_rate":
        return t.reopen_count.fill_null(0) > 0, t.case_id.notnull()
    if metric.kind == "median":
        h = hours(t)
        return (h > threshold).fill_null(False), h.notnull()
    raise MappingError(f"{metric.label} is not a rate.")


def dim_value(t: ibis.Table, dimension: str) -> ibis.Expr:
    return t[dimension].cast("string").fill_null(NONE)


def slice_predicate(t: ibis.Table, slice_: dict[str, object]) -> ibis.Expr:
    """Ibis predicate of a slice ({} matches everything)."""
    pred = ibis.literal(True)
    for dim, value in slice_.items():
        if value == NONE:
            pred = pred & t[dim].isnull()
        else:
            pred = pred & (t[dim].cast("string") == str(value))
    return pred


def slice_mask(frame: pd.DataFrame, slice_: dict[str, object]) -> np.ndarray:
    """Rows of a leaves (or case rows) frame inside a slice."""
    mask = np.ones(len(frame), dtype=bool)
    for dim, value in slice_.items():
        mask &= (frame[dim] == value).to_numpy()
    return mask


# --------------------------------------------------------------------------------------------
# Leaves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaves:
    """One row per combination of ``dimensions`` with the current and the baseline values.

    Columns: the dimensions, ``actual`` and ``expected`` (counts; for rates the numerators),
    ``actual_den``/``expected_den`` (rates and the median's proxy), ``cases`` and
    ``expected_cases``. Expected values are the mean over the reference windows. For the median
    metric the leaves hold its localizable proxy, the share of resolved cases slower than the
    baseline median (``threshold_hours``): the median rises exactly when that share passes 50%.
    ``adjusted`` names the rolling dimensions whose baseline was re-mixed (:func:`adjust_rolling`).
    """

    table: pd.DataFrame
    metric: Metric
    windows: Windows
    dimensions: tuple[str, ...]
    threshold_hours: float | None = None
    adjusted: tuple[str, ...] = ()

    @property
    def is_rate(self) -> bool:
        return self.metric.kind != "count"

    @property
    def engine_columns(self) -> dict[str, str | None]:
        """Keyword arguments naming the columns for :mod:`analytics.drivers` functions."""
        cols: dict[str, str | None] = {"actual": "actual", "expected": "expected"}
        if self.is_rate:
            cols |= {"actual_denominator": "actual_den", "expected_denominator": "expected_den"}
        return cols


def baseline_median(t: ibis.Table, f: Filters, windows: Windows) -> float:
    """Median resolution hours over the reference windows (pooled)."""
    lo, hi = min(r[0] for r in windows.references), max(r[1] for r in windows.references)
    s = scoped(t, f, lo, hi)
    in_ref = any_window(s, windows.references)
    value = s.aggregate(m=hours(s).median(where=in_ref)).execute().iloc[0]["m"]
    if value is None or pd.isna(value):
        raise NotEnoughDataError(
            "No case was resolved in the baseline window(s): no median to compare."
        )
    return float(value)


def any_window(t: ibis.Table, windows) -> ibis.Expr:
    pred = ibis.literal(False)
    for w in windows:
        pred = pred | in_window(t, w)
    return pred


def leaf_aggregates(
    t: ibis.Table,
    f: Filters,
    metric: Metric,
    windows: Windows,
    dimensions: tuple[str, ...],
    threshold: float | None,
) -> ibis.Table:
    """The Ibis expression behind :func:`build_leaves`: one GROUP BY with conditional sums."""
    lo = min(w[0] for w in windows.all)
    hi = max(w[1] for w in windows.all)
    s = scoped(t, f, lo, hi)
    num = den = None
    if metric.kind != "count":
        num, den = rate_parts(s, metric, threshold)
    aggs = {}
    for i, w in enumerate(windows.all):
        inside = in_window(s, w)
        aggs[f"n{i}"] = inside.cast("int64").sum()
        if num is not None:
            aggs[f"num{i}"] = (inside & num).cast("int64").sum()
            aggs[f"den{i}"] = (inside & den).cast("int64").sum()
    return s.group_by(**{d: dim_value(s, d) for d in dimensions}).aggregate(**aggs)


def build_leaves(
    t: ibis.Table,
    f: Filters,
    metric: Metric | str,
    windows: Windows,
    dimensions: tuple[str, ...] | list[str] | None = None,
) -> Leaves:
    """The leaves table of ``metric`` for the current window against its baseline.

    Raises :class:`NotEnoughDataError` when the current window or the baseline holds no cases.
    """
    metric = get_metric(metric) if isinstance(metric, str) else metric
    dimensions = tuple(dimensions or DEFAULT_DIMENSIONS)
    if not dimensions:
        raise MappingError("Choose at least one dimension to explain the change by.")
    unknown = [d for d in dimensions if d not in t.columns]
    if unknown:
        raise MappingError(f"Unknown dimension(s): {', '.join(unknown)}.")
    threshold = baseline_median(t, f, windows) if metric.kind == "median" else None
    raw = leaf_aggregates(t, f, metric, windows, dimensions, threshold).execute()
    k = len(windows.references)
    refs = range(1, k + 1)
    table = raw[list(dimensions)].copy()
    table["cases"] = raw["n0"].astype(float)
    table["expected_cases"] = raw[[f"n{i}" for i in refs]].sum(axis=1).astype(float) / k
    if metric.kind == "count":
        table["actual"], table["expected"] = table["cases"], table["expected_cases"]
    else:
        table["actual"] = raw["num0"].astype(float)
        table["expected"] = raw[[f"num{i}" for i in refs]].sum(axis=1).astype(float) / k
        table["actual_den"] = raw["den0"].astype(float)
        table["expected_den"] = raw[[f"den{i}" for i in refs]].sum(axis=1).astype(float) / k
    # Leaves seen in no window at all (possible when windows leave gaps) carry nothing.
    table = table[(table["cases"] > 0) | (table["expected_cases"] > 0)].reset_index(drop=True)
    if table["cases"].sum() == 0:
        raise NotEnoughDataError(
            f"No cases in {windows.describe_current()} for these filters: nothing to explain."
        )
    if table["expected_cases"].sum() == 0:
        raise NotEnoughDataError(
            f"No cases in the baseline ({windows.describe_baseline()}): choose another baseline."
        )
    if metric.kind != "count" and (
        table["actual_den"].sum() == 0 or table["expected_den"].sum() == 0
    ):
        raise NotEnoughDataError(
            f"No {metric.denominator} in one of the windows: the {metric.label.lower()} "
            "cannot be compared."
        )
    return Leaves(table, metric, windows, dimensions, threshold)


def adjust_rolling(leaves: Leaves, exclude: np.ndarray | None = None) -> Leaves:
    """Re-mix the baseline of rolling dimensions (app versions) to the current window's mix.

    ``expected(d, v) = expected(d) * share(v)`` for each combination ``d`` of the other
    dimensions, where ``share(v)`` is the version's share of the current window's cases in the
    leaves *not* in ``exclude`` (the causes found so far, which would otherwise inflate their
    own version's share). Denominators are re-mixed alike, so each leaf's baseline rate is the
    rate of ``d`` whatever the version. Totals per ``d`` are unchanged.
    """
    rolling = [d for d in leaves.dimensions if d in ROLLING_DIMENSIONS]
    others = [d for d in leaves.dimensions if d not in ROLLING_DIMENSIONS]
    if not rolling or not others:
        return leaves
    table = leaves.table
    keep = np.ones(len(table), dtype=bool) if exclude is None else ~exclude
    if not keep.any() or table.loc[keep, "cases"].sum() == 0:
        keep = np.ones(len(table), dtype=bool)
    expected_cols = [c for c in ("expected", "expected_den", "expected_cases") if c in table]
    actual_cols = [c for c in ("actual", "actual_den", "cases") if c in table]
    share = table.loc[keep].groupby(rolling, observed=True)["cases"].sum()
    share = (share / share.sum()).rename("_share")
    share = share[share > 0].reset_index()
    base = table.groupby(others, observed=True)[expected_cols].sum().reset_index()
    mixed = base.merge(share, how="cross")
    for col in expected_cols:
        mixed[col] = mixed[col] * mixed["_share"]
    mixed = mixed.drop(columns="_share")
    actual = table.groupby(list(leaves.dimensions), observed=True)[actual_cols].sum().reset_index()
    out = actual.merge(mixed, on=list(leaves.dimensions), how="outer")
    out[actual_cols + expected_cols] = out[actual_cols + expected_cols].fillna(0.0)
    out = out[list(leaves.dimensions) + [c for c in table.columns if c not in leaves.dimensions]]
    return replace(leaves, table=out.reset_index(drop=True), adjusted=tuple(rolling))
