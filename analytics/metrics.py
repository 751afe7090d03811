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
import pandas as pd
from ibis import _

from analytics import calendar
from analytics.filters import Filters, apply
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


def _ts(d: date) -> ibis.Expr:
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


def _hours(later, earlier):
    return (later.epoch_seconds() - earlier.epoch_seconds()) / 3600.0


def _window_aggregates(t: ibis.Table) -> dict:
    first = _hours(t.first_response_at, t.created_at)
    resolution = _hours(t.resolved_at, t.created_at)
    decided = t.appeal_outcome.isin(["overturned", "upheld"])
    return {
        "volume": t.count(),
        "sla_breach_rate": t.sla_breached.cast("float64").mean(),
        "first_response_median": first.median(),
        "first_response_p90": first.quantile(0.9),
        "resolution_median": resolution.median(),
        "resolution_p90": resolution.quantile(0.9),
        "reopen_rate": (t.reopen_count.fill_null(0) > 0).cast("float64").mean(),
        "overturns": (decided & t.overturned.fill_null(False)).cast("int64").sum(),
        "appeals_decided": decided.cast("int64").sum(),
        "csat": t.csat.mean(),
    }


def open_at(t: ibis.Table, cut: ibis.Expr):
    """Predicate: the case was open at instant ``cut`` (the dashboard's backlog definition)."""
    return (t.created_at < cut) & (
        (t.resolved_at.isnull() & t.status.isin(list(OPEN_STATUSES))) | (t.resolved_at >= cut)
    )


def kpis(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """KPI tiles for the window and the previous equal window.

    Columns: key, label, unit, value, previous, change (value - previous), change_pct,
    higher_is_better, help. Rates are fractions (0..1).
    """
    prev = f.previous()
    scoped = apply(t, f, dates=False)
    start, end_excl = _ts(f.start), _ts(f.end + timedelta(days=1))
    prev_start = _ts(prev.start)
    in_range = scoped.filter(_.created_at >= prev_start, _.created_at < end_excl)
    labelled = in_range.mutate(period=ibis.ifelse(_.created_at >= start, "current", "previous"))
    agg = labelled.group_by("period").aggregate(**_window_aggregates(labelled)).execute()
    agg = agg.set_index("period")

    backlog_frames = []
    for label, cut in (("current", end_excl), ("previous", start)):
        open_cases = scoped.filter(open_at(scoped, cut))
        age_days = (cut.epoch_seconds() - open_cases.created_at.epoch_seconds()) / 86400.0
        backlog_frames.append(
            open_cases.aggregate(backlog=open_cases.count(), backlog_age=age_days.median()).mutate(
                period=ibis.literal(label)
            )
        )
    backlog = ibis.union(*backlog_frames).execute().set_index("period")

    values: dict[str, dict[str, float | None]] = {}
    for period in ("current", "previous"):
        row = agg.loc[period] if period in agg.index else None
        b = backlog.loc[period] if period in backlog.index else None
        get = lambda k, r=row: None if r is None or pd.isna(r[k]) else float(r[k])  # noqa: E731
        decided = get("appeals_decided") or 0
        values[period] = {
            "volume": get("volume") or 0.0,
            "backlog": float(b["backlog"]) if b is not None else 0.0,
            "backlog_age": None
            if b is None or pd.isna(b["backlog_age"])
            else float(b["backlog_age"]),
            "sla_breach_rate": get("sla_breach_rate"),
            "first_response_median": get("first_response_median"),
            "first_response_p90": get("first_response_p90"),
            "resolution_median": get("resolution_median"),
            "resolution_p90": get("resolution_p90"),
            "reopen_rate": get("reopen_rate"),
            "overturn_rate": (get("overturns") or 0) / decided if decided else None,
            "csat": get("csat"),
        }
    rows = []
    for k in KPIS:
        cur, old = values["current"][k.key], values["previous"][k.key]
        change = None if cur is None or old is None else cur - old
        pct = None if change is None or not old else change / old
        rows.append(
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
    return pd.DataFrame(rows)


def volume_trend(
    t: ibis.Table, f: Filters, by: str | None = None, freq: str = "D", top: int = 8
) -> pd.DataFrame:
    """Cases per day (``freq="D"``) or week (``"W"``, weeks start Monday), split by ``by``.

    Columns: period, group, cases. Values of ``by`` beyond the ``top`` largest are "Other".
    """
    scoped = apply(t, f)
    period = scoped.created_at.truncate("W" if freq == "W" else "D").name("period")
    if by:
        grouped = scoped.group_by(
            period, group=scoped[by].cast("string").fill_null("(none)")
        ).aggregate(cases=_.count())
    else:
        grouped = (
            scoped.group_by(period)
            .aggregate(cases=_.count())
            .mutate(group=ibis.literal("All cases"))
        )
    df = grouped.execute()
    if df.empty:
        return pd.DataFrame(columns=["period", "group", "cases"])
    if by:
        totals = df.groupby("group")["cases"].sum().sort_values(ascending=False)
        keep = set(totals.index[:top])
        df["group"] = df["group"].where(df["group"].isin(keep), "Other")
        df = df.groupby(["period", "group"], as_index=False)["cases"].sum()
    # Days/weeks without cases are real zeros, not gaps in the line.
    full = pd.date_range(
        pd.Timestamp(f.start), pd.Timestamp(f.end), freq="W-MON" if freq == "W" else "D"
    )
    if freq == "W":
        full = full.union(
            [pd.Timestamp(f.start) - pd.Timedelta(days=pd.Timestamp(f.start).weekday())]
        )
    grid = pd.MultiIndex.from_product(
        [full, sorted(df["group"].unique())], names=["period", "group"]
    )
    df = df.set_index(["period", "group"]).reindex(grid, fill_value=0).reset_index()
    return df.sort_values(["period", "group"]).reset_index(drop=True)


def load_heatmap(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """Cases by day of week (0 = Monday) and hour of day (UTC). Columns: dow, hour, cases."""
    scoped = apply(t, f)
    df = (
        scoped.group_by(dow=scoped.created_at.day_of_week.index(), hour=scoped.created_at.hour())
        .aggregate(cases=_.count())
        .execute()
    )
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["dow", "hour"])
    return df.set_index(["dow", "hour"]).reindex(grid, fill_value=0).reset_index()


def day_type_load(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """Load on weekdays, weekends and public holidays (per region's calendar).

    Columns: day_type, days, cases_per_day, sla_breach_rate, resolution_median_h.
    """
    scoped = apply(t, f)
    hours = _hours(scoped.resolved_at, scoped.created_at)
    daily = (
        scoped.group_by(day=scoped.created_at.date(), region=scoped.region.fill_null("(none)"))
        .aggregate(
            cases=_.count(),
            breaches=scoped.sla_breached.cast("int64").sum(),
            with_sla=scoped.sla_breached.notnull().cast("int64").sum(),
            resolution_h=hours.median(),
        )
        .execute()
    )
    if daily.empty:
        return pd.DataFrame(
            columns=["day_type", "days", "cases_per_day", "sla_breach_rate", "resolution_median_h"]
        )
    hol = calendar.region_holidays(f.start, f.end)
    hol_keys = set(zip(hol["date"], hol["region"], strict=True))
    daily["day"] = pd.to_datetime(daily["day"]).dt.date
    daily["day_type"] = [
        "public holiday" if (d, r) in hol_keys else ("weekend" if d.weekday() >= 5 else "weekday")
        for d, r in zip(daily["day"], daily["region"], strict=True)
    ]
    # Per calendar day and region: average a region-day's load across its days of each type.
    out = daily.groupby("day_type").agg(
        days=("day", "count"),
        cases=("cases", "sum"),
        breaches=("breaches", "sum"),
        with_sla=("with_sla", "sum"),
        resolution_median_h=("resolution_h", "median"),
    )
    out["cases_per_day"] = out["cases"] / out["days"]
    out["sla_breach_rate"] = out["breaches"] / out["with_sla"].where(out["with_sla"] > 0)
    order = ["weekday", "weekend", "public holiday"]
    out = out.reindex([o for o in order if o in out.index]).reset_index()
    return out[["day_type", "days", "cases_per_day", "sla_breach_rate", "resolution_median_h"]]


def top_movers(
    t: ibis.Table, f: Filters, dimension: str, n: int = 10, min_cases: int = 5
) -> pd.DataFrame:
    """Values of ``dimension`` that grew or shrank most versus the previous equal period.

    Columns: value, current, previous, change, change_pct; sorted by absolute change.
    """
    prev = f.previous()
    scoped = apply(t, f, dates=False)
    start, end_excl, prev_start = _ts(f.start), _ts(f.end + timedelta(days=1)), _ts(prev.start)
    rng = scoped.filter(_.created_at >= prev_start, _.created_at < end_excl)
    df = (
        rng.group_by(value=rng[dimension].cast("string").fill_null("(none)"))
        .aggregate(
            current=(rng.created_at >= start).cast("int64").sum(),
            previous=(rng.created_at < start).cast("int64").sum(),
        )
        .execute()
    )
    if df.empty:
        return pd.DataFrame(columns=["value", "current", "previous", "change", "change_pct"])
    df = df[(df["current"] + df["previous"]) >= min_cases].copy()
    df["change"] = df["current"] - df["previous"]
    df["change_pct"] = df["change"] / df["previous"].where(df["previous"] > 0)
    df = df.reindex(df["change"].abs().sort_values(ascending=False).index).head(n)
    return df.reset_index(drop=True)


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


def regulatory_view(
    t: ibis.Table, f: Filters, queues: tuple[str, ...] = REGULATORY_QUEUES
) -> RegulatoryView:
    """Notices by type and source, median time to action, decisions overturned on complaint."""
    scoped = apply(t, f)
    reg = scoped.filter(_.queue.isin(list(queues)))
    hours = _hours(reg.resolved_at, reg.created_at)
    summary = (
        reg.aggregate(
            notices=_.count(),
            median_h=hours.median(),
            breach=reg.sla_breached.cast("float64").mean(),
            appealed=reg.appeal_outcome.isin(["overturned", "upheld"]).cast("int64").sum(),
            overturned=(reg.overturned.fill_null(False)).cast("int64").sum(),
        )
        .execute()
        .iloc[0]
    )

    def count_by(col: str) -> pd.DataFrame:
        return (
            reg.group_by(**{col: reg[col].fill_null("(not given)")})
            .aggregate(notices=_.count())
            .order_by(ibis.desc("notices"))
            .execute()
        )

    def num(v):
        return None if pd.isna(v) else float(v)

    return RegulatoryView(
        notices=int(summary["notices"]),
        by_type=count_by("category"),
        by_source=count_by("channel"),
        median_hours_to_action=num(summary["median_h"]),
        sla_breach_rate=num(summary["breach"]),
        decisions_appealed=int(summary["appealed"] or 0),
        overturned_on_complaint=int(summary["overturned"] or 0),
        by_outcome=count_by("outcome"),
    )


def dimension_values(t: ibis.Table, column: str, limit: int = 500) -> list[str]:
    """Distinct values of a column, most frequent first (for filter pick-lists)."""
    df = (
        t.filter(t[column].notnull())
        .group_by(value=t[column].cast("string"))
        .aggregate(n=_.count())
        .order_by(ibis.desc("n"))
        .limit(limit)
        .execute()
    )
    return df["value"].tolist()


def date_bounds(t: ibis.Table) -> tuple[date | None, date | None]:
    """First and last case creation day in the store."""
    row = t.aggregate(first=t.created_at.min(), last=t.created_at.max()).execute().iloc[0]
    if pd.isna(row["first"]):
        return None, None
    return pd.Timestamp(row["first"]).date(), pd.Timestamp(row["last"]).date()
