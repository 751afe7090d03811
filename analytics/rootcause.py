"""Root cause: explain what drove a change of a metric between two windows.

"SLA breaches jumped: what drove it?" The answer has four parts, each a function here (no
streamlit; analytical reads in Ibis on ``analytics.engine.cases_table(con)``, scoped by the
shared sidebar :class:`~analytics.filters.Filters`):

* :func:`explain` - the change of a metric (:data:`METRICS`: cases, SLA breach rate, appeal
  overturn rate, reopen rate, median resolution time) in a window against a baseline
  (:func:`resolve_windows`: previous period, same period last year, seasonal, custom):
  leaves in Ibis (:mod:`analytics.rootcause_leaves`), localized root causes with their share
  of the change and mix/rate effects, a waterfall that adds up to the total change
  (:mod:`analytics.rootcause_causes`, built on :mod:`analytics.drivers`), the change onset,
  and a one-sentence :func:`headline`.
* :func:`tree_children` / :func:`next_dimensions` - an interactive decomposition tree.
* :func:`lined_up_events` - recorded events, new app versions, new linked tickets and
  public holidays that line up with the change (:mod:`analytics.rootcause_events`).
* :func:`evidence` and :func:`growing_pain_points` - the cases behind a cause and the pain
  points that grew (:mod:`analytics.rootcause_evidence`).

:func:`to_postmortem` turns an explanation into a plain JSON-serialisable dict for a
post-mortem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date

import duckdb
import ibis
import numpy as np
import pandas as pd

from analytics.drivers import explain_change, rank_next_dimensions
from analytics.filters import Filters
from analytics.metrics import date_bounds
from analytics.rootcause_causes import Cause, find_causes
from analytics.rootcause_events import change_onset
from analytics.rootcause_events import lined_up_events as _lined_up_events
from analytics.rootcause_evidence import Evidence, growing_pain_points
from analytics.rootcause_evidence import evidence as _evidence
from analytics.rootcause_leaves import (
    BASELINES,
    DEFAULT_DIMENSIONS,
    METRICS,
    ROLLING_DIMENSIONS,
    Leaves,
    Metric,
    Windows,
    build_leaves,
    get_metric,
    resolve_windows,
    slice_mask,
)
from analytics.rootcause_report import (
    FLAT,
    headline,
    query_for,
    root_cause_query,
    scope_text,
    to_postmortem,
)
from analytics.rootcause_series import case_rows, daily_series, slice_profiles

__all__ = [
    "BASELINES",
    "DEFAULT_DIMENSIONS",
    "METRICS",
    "Cause",
    "Evidence",
    "Explanation",
    "Leaves",
    "Metric",
    "Windows",
    "build_leaves",
    "evidence",
    "explain",
    "growing_pain_points",
    "headline",
    "lined_up_events",
    "next_dimensions",
    "pain_points",
    "query_for",
    "resolve_windows",
    "root_cause_query",
    "scope_text",
    "to_postmortem",
    "tree_children",
]


@dataclass(frozen=True)
class Explanation:
    """What drove the change of ``metric`` between the baseline and the current window.

    ``before``/``after`` are the metric's values (rates as fractions, medians in hours),
    ``change = after - before``; ``mix_effect``/``rate_effect`` split a rate's change (medians:
    volume and shift, plus ``residual``). ``causes`` are ranked by their part of the change;
    ``waterfall`` goes from the baseline value through each cause and "everything else" to the
    current value (the steps add up to ``change``). ``series`` is the daily metric of the top
    cause's slice (``series_slice``; ``{}`` = the whole scope) around the window, ``onset`` the
    day the change began. ``leaves`` (and for medians ``rows``) feed the decomposition tree.
    ``profiles`` has one row per cause: its cases, SLA breach rate and median resolution hours,
    baseline vs now (:func:`analytics.rootcause_series.slice_profiles`).
    """

    metric: Metric
    windows: Windows
    filters: Filters
    before: float
    after: float
    change: float
    relative_change: float
    mix_effect: float
    rate_effect: float
    residual: float
    causes: list[Cause]
    waterfall: pd.DataFrame
    leaves: Leaves
    rows: pd.DataFrame | None
    onset: date | None
    series: pd.DataFrame
    series_slice: dict[str, object]
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple[str, ...] = field(default=())

    @property
    def top_cause(self) -> Cause | None:
        """The largest cause moving in the direction of the change (None if there is none)."""
        for cause in self.causes:
            if cause.contribution * self.change > 0:
                return cause
        return None

    @property
    def scope(self) -> str:
        return scope_text(self.filters)

    @property
    def headline(self) -> str:
        return headline(self)


def _warnings(t: ibis.Table, windows: Windows, metric: Metric, dimensions=()) -> tuple[str, ...]:
    first, last = date_bounds(t)
    out = []
    if first and min(r[0] for r in windows.references) < first:
        out.append(
            f"The baseline starts before the first case ({first:%d %b %Y}): its values "
            "are understated, so rises look larger than they are."
        )
    if last and windows.current[1] > last:
        out.append(
            f"The window ends after the latest case ({last:%d %b %Y}): its last days are "
            "incomplete."
        )
    if dimensions and all(d in ROLLING_DIMENSIONS for d in dimensions):
        out.append(
            "App version is the only dimension: new versions rise against any earlier "
            "window because users upgrade; add another dimension to compare versions "
            "with the current version mix."
        )
    if metric.kind == "median":
        out.append(
            "Medians do not add up: contributions to the median are approximate (the "
            "interaction is spread over slices); causes are found on the share of cases "
            "slower than the baseline median."
        )
    return tuple(out)


def explain(
    t: ibis.Table,
    f: Filters,
    metric: Metric | str,
    windows: Windows,
    dimensions: tuple[str, ...] | list[str] | None = None,
    max_causes: int = 3,
    **tuning: float,
) -> Explanation:
    """Explain the change of ``metric`` in ``windows.current`` against its baseline.

    ``f`` scopes the cases (its dates are replaced by the windows). ``tuning`` goes to
    :func:`analytics.drivers.localize_root_causes`. Raises ``NotEnoughDataError`` when a
    window holds no cases.
    """
    metric = get_metric(metric) if isinstance(metric, str) else metric
    leaves = build_leaves(t, f, metric, windows, dimensions)
    rows = case_rows(t, f, windows, leaves.dimensions) if metric.kind == "median" else None
    result = find_causes(leaves, rows, max_causes=max_causes, **tuning)
    s = result.summary
    rel = s.change / s.before if s.before else (math.inf if s.change else 0.0)
    expl = Explanation(
        metric=metric,
        windows=windows,
        filters=f,
        before=float(s.before),
        after=float(s.after),
        change=float(s.change),
        relative_change=float(rel),
        mix_effect=float(s.mix_effect),
        rate_effect=float(s.rate_effect),
        residual=float(s.residual),
        causes=result.causes,
        waterfall=result.waterfall,
        leaves=result.leaves,
        rows=rows,
        onset=None,
        series=pd.DataFrame(),
        series_slice={},
        warnings=_warnings(t, windows, metric, leaves.dimensions),
    )
    return _with_onset(t, f, expl)


def _with_onset(t: ibis.Table, f: Filters, expl: Explanation) -> Explanation:
    top = expl.top_cause
    sl = dict(top.slice) if top is not None else {}
    start, end = expl.windows.current
    lead = min(max(expl.windows.days, 7), 28)
    first = start - pd.Timedelta(days=lead).to_pytimedelta()
    series = daily_series(t, f, expl.metric, first, end, sl, expl.leaves.threshold_hours)
    before = top.before if top is not None else expl.before
    if expl.metric.kind == "count":
        series["expected"] = before / expl.windows.days
        excess = (series["cases"] - series["expected"]).to_numpy()
    elif expl.metric.kind == "rate":
        series["expected"] = before
        excess = (series["num"] - series["den"] * before).to_numpy()
    else:
        series["expected"] = before
        excess = (series["value"] - before).fillna(0.0).to_numpy()
    direction = expl.change if not math.isnan(expl.change) else 0.0
    onset = (
        change_onset(series, excess, direction, start)
        if (expl.causes or abs(expl.relative_change) >= FLAT)
        else None
    )
    profiles = slice_profiles(t, f, expl.windows, [c.slice for c in expl.causes])
    return replace(expl, series=series, series_slice=sl, onset=onset, profiles=profiles)


# --------------------------------------------------------------------------------------------
# Decomposition tree
# --------------------------------------------------------------------------------------------


def tree_children(
    expl: Explanation, path: dict[str, object] | None, dimension: str
) -> pd.DataFrame:
    """Children of the node ``path`` split by ``dimension``, largest contribution first.

    Every contribution is to the change of the *total* (the root's children add up to the whole
    change; for counts and rates a node's children add up to the node's own contribution, for
    medians only approximately, as each split is decomposed on its own): the change is
    decomposed over the children plus one group for everything outside the node, with
    :func:`analytics.drivers.explain_change` (counts exact; rates exact, with mix and rate
    effects; medians approximate). Columns: ``value``, ``before``, ``after`` (the child's
    metric), ``contribution``, ``mix_effect``, ``rate_effect``, ``share_of_node``,
    ``share_of_total``, ``cases``/``expected_cases`` (the child's cases, baseline per window).
    """
    path = dict(path or {})
    columns = [
        "value",
        "before",
        "after",
        "contribution",
        "mix_effect",
        "rate_effect",
        "share_of_node",
        "share_of_total",
        "cases",
        "expected_cases",
    ]
    outside = "\x00outside"
    k = len(expl.windows.references)
    if expl.metric.kind == "median":
        rows = expl.rows
        group = np.where(slice_mask(rows, path), rows[dimension].astype(str), outside)
        before = pd.DataFrame({"g": group, "hours": rows["hours"]}).loc[
            rows["reference"].to_numpy()
        ]
        after = pd.DataFrame({"g": group, "hours": rows["hours"]}).loc[rows["current"].to_numpy()]
        if before.empty or after.empty:
            return pd.DataFrame(columns=columns)
        out = explain_change(before, after, "g", metric="median", value="hours").table
        out = out.rename(
            columns={
                "before_median": "before",
                "after_median": "after",
                "shift_effect": "rate_effect",
                "before_n": "expected_cases",
                "after_n": "cases",
            }
        )
        out["expected_cases"] = out["expected_cases"] / k
    else:
        table = expl.leaves.table
        inside = slice_mask(table, path)
        group = np.where(inside, table[dimension].astype(str), outside)
        tab = table.assign(g=group)
        counts = tab.groupby("g")[["cases", "expected_cases"]].sum()
        if expl.metric.kind == "count":
            b = tab[["g", "expected"]].rename(columns={"expected": "count"})
            a = tab[["g", "actual"]].rename(columns={"actual": "count"})
            out = explain_change(b, a, "g").table
            out["mix_effect"], out["rate_effect"] = 0.0, 0.0
        else:
            b = tab[["g", "expected", "expected_den"]].set_axis(
                ["g", "numerator", "denominator"], axis=1
            )
            a = tab[["g", "actual", "actual_den"]].set_axis(
                ["g", "numerator", "denominator"], axis=1
            )
            out = explain_change(b, a, "g", metric="rate").table
            out = out.drop(columns=["before", "after"], errors="ignore")
            out = out.rename(columns={"before_rate": "before", "after_rate": "after"})
        out = out.join(counts, on="g")
    out = out[out["g"] != outside].rename(columns={"g": "value"})
    node = float(out["contribution"].sum())
    out["share_of_node"] = out["contribution"] / node if node else math.nan
    out["share_of_total"] = out["contribution"] / expl.change if expl.change else math.nan
    order = out["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order, columns].reset_index(drop=True)


def next_dimensions(expl: Explanation, path: dict[str, object] | None = None) -> pd.DataFrame:
    """Dimensions not yet in ``path``, most explanatory first (see ``rank_next_dimensions``)."""
    return rank_next_dimensions(
        expl.leaves.table, list(expl.leaves.dimensions), path, **expl.leaves.engine_columns
    )


# --------------------------------------------------------------------------------------------
# Events, evidence, pain points (thin wrappers taking an Explanation)
# --------------------------------------------------------------------------------------------


def lined_up_events(
    con: duckdb.DuckDBPyConnection, t: ibis.Table, expl: Explanation, lead_days: int = 14
) -> pd.DataFrame:
    """Events that line up with the change; see :mod:`analytics.rootcause_events`."""
    return _lined_up_events(con, t, expl.filters, expl, lead_days=lead_days)


def evidence(
    t: ibis.Table, expl: Explanation, cause: Cause | dict, limit: int = 20, sort: str = "newest"
) -> Evidence:
    """Cases behind a cause (or any slice) in the current window; see ``rootcause_evidence``."""
    sl = cause.slice if isinstance(cause, Cause) else dict(cause)
    return _evidence(
        t,
        expl.filters,
        expl.windows,
        expl.metric,
        sl,
        threshold=expl.leaves.threshold_hours,
        limit=limit,
        sort=sort,
    )


def pain_points(assignments, t: ibis.Table, expl: Explanation, **kwargs) -> pd.DataFrame:
    """:func:`growing_pain_points` for the explanation's scope, windows and metric."""
    return growing_pain_points(
        assignments,
        t,
        expl.filters,
        expl.windows,
        expl.metric,
        threshold=expl.leaves.threshold_hours,
        **kwargs,
    )
