"""Root cause, case-level reads: window cases for medians, daily series, slice profiles (Ibis).

Small reads next to the leaves table: the resolved cases of both windows (medians are not
additive, so their decomposition needs each case's value), the daily metric of a slice around
the window (for the onset and the chart), and a profile of each cause (cases, SLA breach rate
and median resolution hours, baseline vs now).
"""

from __future__ import annotations

import math
from datetime import date

import ibis
import pandas as pd

from analytics.filters import Filters
from analytics.rootcause_leaves import (
    METRICS,
    Metric,
    Windows,
    any_window,
    dim_value,
    hours,
    in_window,
    rate_parts,
    scoped,
    slice_predicate,
)

__all__ = ["case_rows", "daily_series", "slice_profiles"]


def case_rows(
    t: ibis.Table, f: Filters, windows: Windows, dimensions: tuple[str, ...]
) -> pd.DataFrame:
    """Resolved cases of both windows: dimensions, ``hours``, ``current`` and ``reference`` flags.

    For the median decomposition, which needs each case's value (medians are not additive).
    Only the window cases and a few columns are fetched.
    """
    lo = min(w[0] for w in windows.all)
    hi = max(w[1] for w in windows.all)
    s = scoped(t, f, lo, hi)
    h = hours(s)
    s = s.filter(h.notnull())
    cols = {d: dim_value(s, d) for d in dimensions}
    cols |= {
        "hours": hours(s),
        "current": in_window(s, windows.current),
        "reference": any_window(s, windows.references),
    }
    return s.select(**cols).execute()


def daily_series(
    t: ibis.Table,
    f: Filters,
    metric: Metric,
    start: date,
    end: date,
    slice_: dict[str, object] | None = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Per day from ``start`` to ``end``: ``cases``, ``num``, ``den`` (rates) and the metric value.

    Days without cases are present with zeros (value NaN for rates and medians).
    """
    s = scoped(t, f, start, end)
    if slice_:
        s = s.filter(slice_predicate(s, slice_))
    aggs = {"cases": s.count()}
    if metric.kind == "rate" or metric.kind == "median":
        num, den = rate_parts(s, metric, threshold)
        aggs |= {"num": num.cast("int64").sum(), "den": den.cast("int64").sum()}
    if metric.kind == "median":
        aggs["median_h"] = hours(s).median()
    df = s.group_by(day=s.created_at.date()).aggregate(**aggs).execute()
    days = pd.date_range(start, end, freq="D")
    df["day"] = pd.to_datetime(df["day"])
    df = df.set_index("day").reindex(days).rename_axis("day").reset_index()
    for col in ("cases", "num", "den"):
        if col in df:
            df[col] = df[col].fillna(0).astype(float)
    if metric.kind == "count":
        df["value"] = df["cases"]
    elif metric.kind == "rate":
        df["value"] = df["num"] / df["den"].where(df["den"] > 0)
    else:
        df["value"] = df["median_h"].astype(float)
    return df


def slice_profiles(
    t: ibis.Table, f: Filters, windows: Windows, slices: list[dict[str, object]]
) -> pd.DataFrame:
    """Cases, SLA breach rate and median resolution hours of each slice, baseline vs current.

    One row per slice (in order): ``cases_before`` (mean per reference window),
    ``cases_after``, ``breach_before``/``breach_after`` and ``median_h_before``/``after``.
    """
    columns = [
        "cases_before",
        "cases_after",
        "breach_before",
        "breach_after",
        "median_h_before",
        "median_h_after",
    ]
    if not slices:
        return pd.DataFrame(columns=columns)
    lo = min(w[0] for w in windows.all)
    hi = max(w[1] for w in windows.all)
    s = scoped(t, f, lo, hi)
    cur, ref = in_window(s, windows.current), any_window(s, windows.references)
    breach, with_sla = rate_parts(s, METRICS["sla_breach_rate"])
    h = hours(s)
    aggs = {}
    for i, sl in enumerate(slices):
        p = slice_predicate(s, sl)
        aggs |= {
            f"nb{i}": (p & ref).cast("int64").sum(),
            f"na{i}": (p & cur).cast("int64").sum(),
            f"bb{i}": (p & ref & breach).cast("int64").sum(),
            f"sb{i}": (p & ref & with_sla).cast("int64").sum(),
            f"ba{i}": (p & cur & breach).cast("int64").sum(),
            f"sa{i}": (p & cur & with_sla).cast("int64").sum(),
            f"mb{i}": h.median(where=p & ref),
            f"ma{i}": h.median(where=p & cur),
        }
    row = s.aggregate(**aggs).execute().iloc[0]
    k = len(windows.references)

    def ratio(a, b):
        return float(row[a]) / float(row[b]) if row[b] else math.nan

    def num(v):
        return math.nan if v is None or pd.isna(v) else float(v)

    rows = [
        {
            "cases_before": float(row[f"nb{i}"] or 0) / k,
            "cases_after": float(row[f"na{i}"] or 0),
            "breach_before": ratio(f"bb{i}", f"sb{i}"),
            "breach_after": ratio(f"ba{i}", f"sa{i}"),
            "median_h_before": num(row[f"mb{i}"]),
            "median_h_after": num(row[f"ma{i}"]),
        }
        for i in range(len(slices))
    ]
    return pd.DataFrame(rows, columns=columns)
