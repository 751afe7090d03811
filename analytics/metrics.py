"""Dashboard metrics: KPI tiles, volume trends, load heatmaps, top movers, regulatory figures.

All functions take an Ibis table of cases and :class:`~analytics.filters.Filters`
that have been resolved to concrete dates, and return small pandas DataFrames.
Definitions (also shown in the UI's help texts):

- *volume*: cases created in the window;
- *open backlog*: cases created before the window's end and not resolved by then;
- *backlog age*: median days since creation of the open backlog at the window's end;
- *SLA breach rate*: share of cases created in the window that breached (or, if still
  open, are past) their SLA deadline;
- *time to first response / resolution*: hours from creation, median and 90th percentile;
- *reopen rate*: share of cases reopened at least once;
- *appeal overturn rate*: overturned decisions / appeals decided (overturned or upheld);
- *CSAT*: mean satisfaction score (1-5) where rated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics import calendar
from analytics.filters import Filters, apply
from analytics.ibis_exec import execute, execute_on
from analytics.schema import OPEN_STATUSES

REGULATORY_QUEUES = ("Regulatory/DSA",)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    unit: str  # "cases", "%", "h", "d", "/5"
    higher_is_better: bool
    help: str


KPIS: tuple[Kpi, ...] = (
    Kpi("volume", "Cases", "cases", False, "Cases created in the period."),
    Kpi("backlog", "Open backlog", "cases", False, "Cases still open at the end of the period."),
    Kpi(
        "backlog_age",
        "Backlog age (median)",
        "d",
        False,
        "Median age of the open backlog, in days.",
    ),
    Kpi(
        "sla_breach_rate", "SLA breach rate", "%", False, "Share of cases past their SLA deadline."
    ),
    Kpi("first_response_median", "First response (median)", "h", False, "Hours to first response."),
    Kpi(
        "first_response_p90",
        "First response (p90)",
        "h",
        False,
        "90% of cases got a first response within this.",
    ),
    Kpi(
        "resolution_median", "Resolution (median)", "h", False, "Hours from creation to resolution."
    ),
    Kpi(
        "resolution_p90", "Resolution (p90)", "h", False, "90% of cases were resolved within this."
    ),
    Kpi("reopen_rate", "Reopen rate", "%", False, "Share of cases reopened at least once."),
    Kpi(
        "overturn_rate",
        "Appeal overturn rate",
        "%",
        False,
        "Overturned decisions / decided appeals.",
    ),
    Kpi("csat", "CSAT", "/5", True, "Mean satisfaction score where rated."),
)


#: Durations are computed as whole microseconds (exact integers) and converted to hours or
#: days in Python: cheaper to sort for quantiles than doubles from ``epoch``, and no engine
#: rounds them (Spark divides by a decimal literal in DECIMAL arithmetic).
US_PER_HOUR = 3_600_000_000.0
US_PER_DAY = 24 * US_PER_HOUR


def _micros(later, earlier):
    return later.delta(earlier, unit="microsecond")


def open_at(t: ibis.Table, cut: ibis.Expr):
    """Predicate: the case was open at instant ``cut`` (the dashboard's backlog definition)."""
    return (t.created_at < cut) & (
        (t.resolved_at.isnull() & t.status.isin(list(OPEN_STATUSES))) | (t.resolved_at >= cut)
    )


def _period_figures(scoped: ibis.Table, lo: ibis.Expr, hi: ibis.Expr, label: str) -> ibis.Table:
    """One row: the window's aggregates and the backlog at its end (cut = ``hi``).

    Each window and each backlog cut is its own scan, so DuckDB prunes row groups on
    ``created_at`` (and ``resolved_at``); FILTER aggregates over the whole table measured
    slower, grouping both windows by period the same. The quantiles dominate the cost: both
    of a duration come from one aggregate (``quantile([0.5, 0.9])``).
    """
    w = scoped.filter(_.created_at >= lo, _.created_at < hi)
    decided = w.appeal_outcome.isin(["overturned", "upheld"])
    window = w.aggregate(
        volume=w.count(),
        sla_breach_rate=w.sla_breached.cast("float64").mean(),
        first_response_us=_micros(w.first_response_at, w.created_at).quantile([0.5, 0.9]),
        resolution_us=_micros(w.resolved_at, w.created_at).quantile([0.5, 0.9]),
        reopen_rate=(w.reopen_count.fill_null(0) > 0).cast("float64").mean(),
        overturns=w.count(where=decided & w.overturned.fill_null(False)),
        appeals_decided=w.count(where=decided),
        csat=w.csat.mean(),
    )
    open_cases = scoped.filter(open_at(scoped, hi))
    backlog = open_cases.aggregate(
        backlog=open_cases.count(),
        backlog_age_us=_micros(hi, open_cases.created_at).median(),
    )
    return window.cross_join(backlog).mutate(period=ibis.literal(label))


def _kpi_query(scoped: ibis.Table, *, start, end, prev_start) -> ibis.Table:
    """Both periods' figures, one query (built once per filter shape: see ``execute_on``)."""
    return _period_figures(scoped, start, end, "current").union(
        _period_figures(scoped, prev_start, start, "previous")
    )


def _bounds(f: Filters) -> dict[str, datetime]:
    """The window's first instant, the instant after it, and the previous window's first."""
    return {
        "start": datetime.combine(f.start, datetime.min.time()),
        "end": datetime.combine(f.end + timedelta(days=1), datetime.min.time()),
        "prev_start": datetime.combine(f.previous().start, datetime.min.time()),
    }


def kpis(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """KPI tiles for the window and the previous equal window.

    Columns: key, label, unit, value, previous, change (value - previous), change_pct,
    higher_is_better, help. Rates are fractions (0..1).
    """
    df = execute_on(apply(t, f, dates=False), _kpi_query, **_bounds(f))
    rows = {r["period"]: r for r in df.to_dict("records")}

    def num(v, scale: float = 1.0) -> float | None:
        return None if v is None or pd.isna(v) else float(v) / scale

    def quantiles(v) -> tuple[float | None, float | None]:
        if v is None or (not hasattr(v, "__len__") and pd.isna(v)):
            return None, None
        return num(v[0], US_PER_HOUR), num(v[1], US_PER_HOUR)

    values: dict[str, dict[str, float | None]] = {}
    for period in ("current", "previous"):
        r = rows[period]
        fr_med, fr_p90 = quantiles(r["first_response_us"])
        res_med, res_p90 = quantiles(r["resolution_us"])
        decided = num(r["appeals_decided"]) or 0
        values[period] = {
            "volume": num(r["volume"]) or 0.0,
            "backlog": num(r["backlog"]) or 0.0,
            "backlog_age": num(r["backlog_age_us"], US_PER_DAY),
            "sla_breach_rate": num(r["sla_breach_rate"]),
            "first_response_median": fr_med,
            "first_response_p90": fr_p90,
            "resolution_median": res_med,
            "resolution_p90": res_p90,
            "reopen_rate": num(r["reopen_rate"]),
            "overturn_rate": (num(r["overturns"]) or 0) / decided if decided else None,
            "csat": num(r["csat"]),
        }
    return kpi_frame(values)


def kpi_frame(values: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    """The KPI table from ``{"current": {key: value}, "previous": {...}}``: one row per KPI
    with its change against the previous period (what :func:`kpis` returns)."""
    out = []
    for k in KPIS:
        cur, old = values["current"][k.key], values["previous"][k.key]
        change = None if cur is None or old is None else cur - old
        pct = None if change is None or not old else change / old
        out.append(
            {
                "key": k.key,
                "label": k.label,
                "unit": k.unit,
                "value": cur,
                "previous": old,
                "change": change,
                "change_pct": pct,
                "higher_is_better": k.higher_is_better,
                "help": k.help,
            }
        )
    return pd.DataFrame(out)


def _periods(f: Filters, freq: str) -> pd.DatetimeIndex:
    """Every day (or week start, Mondays) of the window: the chart's x axis."""
    start, end = pd.Timestamp(f.start), pd.Timestamp(f.end)
    if freq == "W":
        start -= pd.Timedelta(days=start.weekday())
        return pd.date_range(start, end, freq="W-MON", unit="us")
    return pd.date_range(start, end, freq="D", unit="us")


def _trend_counts(scoped: ibis.Table, by: str | None, freq: str) -> ibis.Table:
    period = scoped.created_at.truncate("W" if freq == "W" else "D")
    group = scoped[by].cast("string").fill_null("(none)") if by else ibis.literal("All cases")
    return scoped.group_by(period=period, group=group).aggregate(cases=_.count())


def volume_trend(
    t: ibis.Table, f: Filters, by: str | None = None, freq: str = "D", top: int = 8
) -> pd.DataFrame:
    """Cases per day (``freq="D"``) or week (``"W"``, weeks start Monday), split by ``by``.

    Columns: period, group, cases. Values of ``by`` beyond the ``top`` largest are "Other"
    (ties broken by name). Days or weeks without cases are rows with 0 cases.
    """
    df = execute_on(apply(t, f), _trend_counts, by, freq)
    if df.empty:
        return pd.DataFrame(columns=["period", "group", "cases"])
    names, codes = np.unique(df["group"].to_numpy(dtype=object), return_inverse=True)
    counts = df["cases"].to_numpy(dtype=np.int64)
    if by and len(names) > top:
        totals = np.bincount(codes, weights=counts)
        kept = set(sorted(range(len(names)), key=lambda i: (-totals[i], names[i]))[:top])
        labels = np.array([n if i in kept else "Other" for i, n in enumerate(names)], dtype=object)
        names, relabel = np.unique(labels, return_inverse=True)
        codes = relabel[codes]
    # Days/weeks without cases are real zeros, not gaps in the line.
    periods = _periods(f, freq)
    rows = periods.get_indexer(pd.DatetimeIndex(df["period"]).as_unit("us"))
    keep = rows >= 0
    grid = np.zeros((len(periods), len(names)), dtype=np.int64)
    np.add.at(grid, (rows[keep], codes[keep]), counts[keep])
    return pd.DataFrame(
        {
            "period": np.repeat(periods.to_numpy(), len(names)),
            "group": pd.array(np.tile(names, len(periods)), dtype="str"),
            "cases": grid.ravel(),
        }
    )


def _heatmap_counts(scoped: ibis.Table) -> ibis.Table:
    # Cases per hour; weekday and hour of day come from the few thousand hours in numpy. The
    # portable day_of_week.index() compiles to (dayofweek(x) + 6) % 7 on every case row
    # (DuckDB's isodow is not portable), and grouping by it measured ~2 ms slower on 1M cases.
    return scoped.group_by(hour=scoped.created_at.truncate("h")).aggregate(cases=_.count())


def load_heatmap(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """Cases by day of week (0 = Monday) and hour of day (UTC). Columns: dow, hour, cases."""
    df = execute_on(apply(t, f), _heatmap_counts)
    hours = pd.DatetimeIndex(df["hour"])
    cell = hours.day_of_week.to_numpy() * 24 + hours.hour.to_numpy()
    counts = np.bincount(cell, weights=df["cases"].to_numpy(dtype=np.float64), minlength=7 * 24)
    return pd.DataFrame(
        {
            "dow": np.repeat(np.arange(7, dtype=np.int64), 24),
            "hour": np.tile(np.arange(24, dtype=np.int64), 7),
            "cases": counts.astype(np.int64),
        }
    )


DAY_TYPES = ("weekday", "weekend", "public holiday")


def _daily_counts(scoped: ibis.Table) -> ibis.Table:
    return scoped.group_by(
        day=scoped.created_at.date(), region=scoped.region.fill_null("(none)")
    ).aggregate(
        cases=_.count(),
        breaches=_.count(where=_.sla_breached),
        with_sla=_.sla_breached.count(),
        resolution_us=_micros(_.resolved_at, _.created_at).median(),
    )


def day_type_load(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """Load on weekdays, weekends and public holidays (per region's calendar).

    A *day* is one region on one calendar day with cases; each is a public holiday when it
    is one in that region's calendar (:mod:`analytics.calendar`), else a weekend or a weekday.
    Columns: day_type, days (region-days), cases_per_day (average over those region-days),
    sla_breach_rate, resolution_median_h (median over region-days of their median).
    """
    daily = execute_on(apply(t, f), _daily_counts)
    # A few hundred region-days: classified here rather than with one parameter per holiday
    # in the query (which would make a new query shape, compiled again, for most windows).
    hol = calendar.region_holidays(f.start, f.end)
    holidays = set(zip(hol["date"].tolist(), hol["region"].tolist(), strict=True))
    days = pd.DatetimeIndex(daily["day"])
    is_holiday = np.array(
        [(d, r) in holidays for d, r in zip(days.date, daily["region"].tolist(), strict=True)],
        dtype=bool,
    )
    kind = np.where(is_holiday, 2, np.where(days.day_of_week.to_numpy() >= 5, 1, 0))
    cases = daily["cases"].to_numpy(dtype=np.int64)
    breaches = daily["breaches"].to_numpy(dtype=np.int64)
    with_sla = daily["with_sla"].to_numpy(dtype=np.int64)
    resolution = daily["resolution_us"].to_numpy(dtype=np.float64)
    rows = []
    for i, name in enumerate(DAY_TYPES):
        m = kind == i
        if not m.any():
            continue
        known = resolution[m][~np.isnan(resolution[m])]
        rated = with_sla[m].sum()
        rows.append(
            (
                name,
                int(m.sum()),
                cases[m].sum() / m.sum(),
                breaches[m].sum() / rated if rated else np.nan,
                np.median(known) / US_PER_HOUR if len(known) else np.nan,
            )
        )
    return pd.DataFrame(
        {
            "day_type": pd.array([r[0] for r in rows], dtype="str"),
            "days": np.array([r[1] for r in rows], dtype=np.int64),
            "cases_per_day": np.array([r[2] for r in rows], dtype=np.float64),
            "sla_breach_rate": np.array([r[3] for r in rows], dtype=np.float64),
            "resolution_median_h": np.array([r[4] for r in rows], dtype=np.float64),
        }
    )


def _mover_counts(scoped: ibis.Table, dimension: str, *, start, end, prev_start) -> ibis.Table:
    rng = scoped.filter(_.created_at >= prev_start, _.created_at < end)
    return rng.group_by(value=rng[dimension].cast("string").fill_null("(none)")).aggregate(
        current=_.count(where=_.created_at >= start),
        previous=_.count(where=_.created_at < start),
    )


def top_movers(
    t: ibis.Table, f: Filters, dimension: str, n: int = 10, min_cases: int = 5
) -> pd.DataFrame:
    """Values of ``dimension`` that grew or shrank most versus the previous equal period.

    Columns: value, current, previous, change, change_pct; sorted by absolute change (ties
    by value). Values with fewer than ``min_cases`` in both periods together are left out.
    """
    df = execute_on(apply(t, f, dates=False), _mover_counts, dimension, **_bounds(f))
    # One row per value: ranked here (each further Ibis step costs more than this).
    current = df["current"].to_numpy(dtype=np.int64)
    previous = df["previous"].to_numpy(dtype=np.int64)
    keep = np.flatnonzero(current + previous >= min_cases)
    values = df["value"].to_numpy(dtype=object)
    change = current - previous
    top = sorted(keep.tolist(), key=lambda i: (-abs(change[i]), values[i]))[:n]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(previous[top] > 0, change[top] / previous[top], np.nan)
    return pd.DataFrame(
        {
            "value": pd.array(values[top], dtype="str"),
            "current": current[top],
            "previous": previous[top],
            "change": change[top],
            "change_pct": pct.astype(np.float64),
        }
    )


@dataclass(frozen=True)
class RegulatoryView:
    """DSA-style transparency figures for the regulatory queues."""

    notices: int
    by_type: pd.DataFrame  # category, notices
    by_source: pd.DataFrame  # channel, notices
    median_hours_to_action: float | None
    sla_breach_rate: float | None
    decisions_appealed: int
    overturned_on_complaint: int
    by_outcome: pd.DataFrame  # outcome, notices


def _regulatory_counts(scoped: ibis.Table, queues: tuple[str, ...]) -> ibis.Table:
    reg = scoped.filter(_.queue.isin(list(queues)))
    combos = reg.group_by(
        category=reg.category.fill_null("(not given)"),
        channel=reg.channel.fill_null("(not given)"),
        outcome=reg.outcome.fill_null("(not given)"),
    ).aggregate(
        notices=_.count(),
        breaches=_.count(where=_.sla_breached),
        with_sla=_.sla_breached.count(),
        appealed=_.count(where=_.appeal_outcome.isin(["overturned", "upheld"])),
        overturned=_.count(where=_.overturned.fill_null(False)),
    )
    median = reg.aggregate(median_us=_micros(reg.resolved_at, reg.created_at).median())
    return combos.cross_join(median)


def regulatory_view(
    t: ibis.Table, f: Filters, queues: tuple[str, ...] = REGULATORY_QUEUES
) -> RegulatoryView:
    """Notices by type and source, median time to action, decisions overturned on complaint.

    One query: counts per (type, source, outcome) combination, each row carrying the overall
    median; the totals and the three breakdowns are sums over those few rows. (Four queries
    cost more in round trips and compilation than in DuckDB on a quiet store.)
    """
    df = execute_on(apply(t, f), _regulatory_counts, tuple(queues))

    def count_by(col: str) -> pd.DataFrame:
        totals: dict[str, int] = {}
        for key, n in zip(df[col].tolist(), df["notices"].tolist(), strict=True):
            totals[key] = totals.get(key, 0) + n
        ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        return pd.DataFrame(
            {
                col: pd.array([k for k, _n in ordered], dtype="str"),
                "notices": np.array([n for _k, n in ordered], dtype=np.int64),
            }
        )

    with_sla = int(df["with_sla"].sum())
    median_us = None if df.empty or pd.isna(df["median_us"].iloc[0]) else df["median_us"].iloc[0]
    return RegulatoryView(
        notices=int(df["notices"].sum()),
        by_type=count_by("category"),
        by_source=count_by("channel"),
        median_hours_to_action=None if median_us is None else float(median_us) / US_PER_HOUR,
        sla_breach_rate=int(df["breaches"].sum()) / with_sla if with_sla else None,
        decisions_appealed=int(df["appealed"].sum()),
        overturned_on_complaint=int(df["overturned"].sum()),
        by_outcome=count_by("outcome"),
    )


def dimension_values(t: ibis.Table, column: str, limit: int = 500) -> list[str]:
    """Distinct values of a column, most frequent first (for filter pick-lists)."""
    df = execute(
        t.filter(t[column].notnull())
        .group_by(value=t[column].cast("string"))
        .aggregate(n=_.count())
        .order_by(ibis.desc("n"))
        .limit(limit)
    )
    return df["value"].tolist()


def date_bounds(t: ibis.Table) -> tuple[date | None, date | None]:
    """First and last case creation day in the store."""
    row = execute(t.aggregate(first=t.created_at.min(), last=t.created_at.max())).iloc[0]
    if pd.isna(row["first"]):
        return None, None
    return pd.Timestamp(row["first"]).date(), pd.Timestamp(row["last"]).date()
