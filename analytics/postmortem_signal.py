"""The daily signal of an event and its timeline from the data.

**First signal** (a simple, robust rule, kept in this module so the trends engine can
replace it): for each day the baseline is the median of the previous 28 days and its
spread is ``max(1.4826 * MAD, sqrt(max(median, 1)))`` (the MAD of a calm history can be
0, and counts are at least Poisson-noisy). A day is *elevated* when it exceeds the
baseline by at least 3 spreads **and** by at least ``max(3, 25 % of the baseline)``
cases. The first signal is the first elevated day, from two weeks before the window to
its end, followed by at least one more elevated day among the next two (one odd day is
not a signal). **Return to baseline** freezes the baseline of the first-signal day and is
the first day after the peak that starts three non-elevated days in a row.

The timeline adds when an alert fired (if one did), linked tickets (first seen on a case,
fixed per the events table), recorded events and public holidays of the regions carrying
the window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import duckdb
import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics import calendar, events, metrics
from analytics.filters import Filters, apply

BASELINE_DAYS = 28
MIN_HISTORY = 7
THRESHOLD_SD = 3.0
MIN_EXCESS = 3.0
MIN_RELATIVE_EXCESS = 0.25
LOOKBACK_DAYS = 14  # first signals may precede the window someone picked
TAIL_DAYS = 28  # after the window: recovery, fixes


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


# --- Daily signal, first signal, peak, recovery ------------------------------------------------


def daily_signal(
    t: ibis.Table, scope: Filters, metric: str, start: date, end: date
) -> pd.DataFrame:
    """The review's daily series over [start, end] with its rolling robust baseline.

    ``metric`` is "volume" (cases created per day, as on the Overview) or "sla_breaches"
    (cases created that day that breached their SLA). Columns: day, value, baseline,
    spread, elevated.
    """
    f = replace(scope, preset="custom", start=start, end=end)
    if metric == "sla_breaches":
        scoped = apply(t, f)
        df = (
            scoped.group_by(day=scoped.created_at.date())
            .aggregate(value=scoped.sla_breached.cast("int64").sum())
            .execute()
        )
    else:
        df = metrics.volume_trend(t, f, None, "D").rename(
            columns={"period": "day", "cases": "value"}
        )
        df = df[["day", "value"]]
    days = pd.date_range(start, end, freq="D")
    series = pd.Series(0.0, index=days)
    if not df.empty:
        got = df.assign(day=pd.to_datetime(df["day"])).groupby("day")["value"].sum()
        series = got.reindex(days, fill_value=0).astype(float)
    out = pd.DataFrame({"day": days.date, "value": series.fillna(0).to_numpy()})
    base, spread = rolling_baseline(out["value"].to_numpy())
    out["baseline"], out["spread"] = base, spread
    out["elevated"] = is_elevated(out["value"].to_numpy(), base, spread)
    return out


def rolling_baseline(
    values: np.ndarray, days: int = BASELINE_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """Median of the previous ``days`` values and its robust spread (NaN without history)."""
    n = len(values)
    base, spread = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        hist = values[max(0, i - days) : i]
        if len(hist) < MIN_HISTORY:
            continue
        med = float(np.median(hist))
        mad = float(np.median(np.abs(hist - med)))
        base[i] = med
        spread[i] = max(1.4826 * mad, np.sqrt(max(med, 1.0)))
    return base, spread


def is_elevated(values, base, spread) -> np.ndarray:
    excess = np.asarray(values, dtype=float) - base
    need = np.maximum(MIN_EXCESS, MIN_RELATIVE_EXCESS * np.nan_to_num(base))
    with np.errstate(invalid="ignore"):
        return (excess >= THRESHOLD_SD * spread) & (excess >= need)


def signal_points(series: pd.DataFrame, window_start: date, window_end: date) -> dict:
    """First signal, peak and return to baseline of a :func:`daily_signal` frame."""
    days = list(series["day"])
    values = series["value"].to_numpy()
    elevated = series["elevated"].to_numpy()
    first = None
    lo = window_start - timedelta(days=LOOKBACK_DAYS)
    for i, d in enumerate(days):
        if d < lo or d > window_end:
            continue
        if elevated[i] and elevated[i + 1 : i + 3].any():
            first = i
            break
    in_window = [i for i, d in enumerate(days) if window_start <= d <= window_end]
    peak = max(in_window, key=lambda i: (values[i], -i)) if in_window else None
    recovered = None
    if first is not None and peak is not None:
        base, spread = series["baseline"].iloc[first], series["spread"].iloc[first]
        frozen = is_elevated(values, base, spread)
        for i in range(max(peak, first) + 1, len(days) - 2):
            if not frozen[i : i + 3].any():
                recovered = i
                break
    base_first = None if first is None else _num(series["baseline"].iloc[first])
    return {
        "first_signal": None if first is None else days[first].isoformat(),
        "first_signal_value": None if first is None else float(values[first]),
        "first_signal_baseline": base_first,
        "peak_day": None if peak is None else days[peak].isoformat(),
        "peak_value": None if peak is None else float(values[peak]),
        "recovered_on": None if recovered is None else days[recovered].isoformat(),
    }


def series_range(window_start: date, window_end: date, bounds: tuple) -> tuple[date, date]:
    """Days the signal is computed over: baseline history before, recovery after."""
    first, last = bounds
    start = window_start - timedelta(days=BASELINE_DAYS + LOOKBACK_DAYS)
    end = window_end + timedelta(days=TAIL_DAYS)
    if first:
        start = max(start, first)
    if last:
        end = min(end, last)
    return start, max(end, start)


# --- Timeline from the data ---------------------------------------------------------------------


def linked_tickets(t: ibis.Table, f: Filters, min_share: float = 0.05, min_cases: int = 5) -> list:
    """Tickets linked to a meaningful share of the window's cases, with first/last seen.

    First and last seen are over all dates in the scope. Returns dicts: ticket, cases,
    first_seen, last_seen.
    """
    scoped = apply(t, f).filter(_.linked_ticket.notnull())
    top = scoped.group_by("linked_ticket").aggregate(cases=_.count()).execute()
    total = int(apply(t, f).count().execute())
    top = top[(top["cases"] >= min_cases) & (top["cases"] >= min_share * max(total, 1))]
    if top.empty:
        return []
    names = top["linked_ticket"].tolist()
    everywhere = apply(t, f, dates=False).filter(_.linked_ticket.isin(names))
    seen = (
        everywhere.group_by("linked_ticket")
        .aggregate(first_seen=_.created_at.min(), last_seen=_.created_at.max())
        .execute()
        .merge(top, on="linked_ticket")
        .sort_values("cases", ascending=False)
    )
    return [
        {
            "ticket": r.linked_ticket,
            "cases": int(r.cases),
            "first_seen": pd.Timestamp(r.first_seen).to_pydatetime(),
            "last_seen": pd.Timestamp(r.last_seen).to_pydatetime(),
        }
        for r in seen.head(3).itertuples()
    ]


def fix_event(con: duckdb.DuckDBPyConnection, ticket: str) -> dict | None:
    """The first recorded fix event that names ``ticket`` (id or title)."""
    needle = f"%{ticket}%"
    cur = con.cursor()
    try:
        row = cur.execute(
            """SELECT event_id, title, starts_at FROM events
               WHERE kind = 'fix' AND (event_id ILIKE ? OR title ILIKE ?)
               ORDER BY starts_at LIMIT 1""",
            [needle, needle],
        ).fetchall()
    finally:
        cur.close()
    if not row:
        return None
    return {"event_id": row[0][0], "title": row[0][1], "starts_at": row[0][2]}


def _day_start(iso: str) -> datetime:
    return datetime.combine(date.fromisoformat(iso), datetime.min.time())


def data_timeline(
    con: duckdb.DuckDBPyConnection,
    t: ibis.Table,
    scope: Filters,
    window_start: date,
    window_end: date,
    metric: str,
    *,
    alert_fired_at: datetime | None = None,
    seed_events: tuple[dict, ...] = (),
    bounds: tuple | None = None,
) -> tuple[list[dict], dict, pd.DataFrame]:
    """Timeline entries built from the data, the key dates, and the daily signal.

    Entries are dicts ``{at, kind, title, detail}``: first signal, alert fired, peak day,
    linked tickets first seen and fixed, recorded events (releases, fixes...), public
    holidays of the regions carrying the window, and return to baseline.
    """
    bounds = bounds or metrics.date_bounds(t)
    lo, hi = series_range(window_start, window_end, bounds)
    series = daily_signal(t, scope, metric, lo, hi)
    points = signal_points(series, window_start, window_end)
    unit = "breaches" if metric == "sla_breaches" else "cases"
    entries: list[dict] = []
    if points["first_signal"]:
        base = points["first_signal_baseline"]
        entries.append(
            {
                "at": _day_start(points["first_signal"]),
                "kind": "first signal",
                "title": "First signal: daily "
                + unit
                + f" above baseline ({points['first_signal_value']:.0f} vs ~{base:.0f} a day)",
                "detail": "Rolling 28-day median + MAD rule",
            }
        )
    if alert_fired_at:
        entries.append(
            {"at": alert_fired_at, "kind": "alert", "title": "Alert fired", "detail": ""}
        )
    if points["peak_day"]:
        entries.append(
            {
                "at": _day_start(points["peak_day"]),
                "kind": "peak",
                "title": f"Peak day: {points['peak_value']:.0f} {unit}",
                "detail": "",
            }
        )
    f = replace(scope, preset="custom", start=window_start, end=window_end)
    fixes: dict[str, str] = {}
    used_events: set[str] = set()
    for tk in linked_tickets(t, f):
        entries.append(
            {
                "at": tk["first_seen"],
                "kind": "ticket",
                "title": f"{tk['ticket']} first seen on a case",
                "detail": f"{tk['cases']} cases in the window link to it",
            }
        )
        fix = fix_event(con, tk["ticket"])
        if fix:
            used_events.add(fix["event_id"])
            fixes[tk["ticket"]] = pd.Timestamp(fix["starts_at"]).date().isoformat()
            entries.append(
                {
                    "at": pd.Timestamp(fix["starts_at"]).to_pydatetime(),
                    "kind": "fix",
                    "title": f"Fix for {tk['ticket']}: {fix['title']}",
                    "detail": "From the events table",
                }
            )
    ev_lo, ev_hi = window_start - timedelta(days=LOOKBACK_DAYS), window_end + timedelta(days=7)
    recorded = events.events_between(con, ev_lo, ev_hi)
    titles, days = set(), set()
    for ev in recorded.itertuples():
        # Long events that merely overlap (a campaign that began months ago) are noise here.
        if ev.event_id in used_events or pd.Timestamp(ev.starts_at).date() < ev_lo:
            continue
        titles.add(str(ev.title).lower())
        days.add((str(ev.kind), pd.Timestamp(ev.starts_at).date()))
        entries.append(
            {
                "at": pd.Timestamp(ev.starts_at).to_pydatetime(),
                "kind": str(ev.kind or "event"),
                "title": str(ev.title),
                "detail": f"Event ({ev.source})",
            }
        )
    for ev in seed_events:  # the same release twice (seed and events table) is noise
        same = (ev["kind"], pd.Timestamp(ev["starts_at"]).date()) in days
        if ev["title"].lower() not in titles and not same:
            entries.append({**ev, "at": ev["starts_at"], "detail": "From the root-cause analysis"})
            entries[-1].pop("starts_at", None)
    entries += _holiday_entries(t, f)
    if points["recovered_on"]:
        entries.append(
            {
                "at": _day_start(points["recovered_on"]),
                "kind": "recovery",
                "title": f"Back to baseline (daily {unit})",
                "detail": "Three calm days in a row against the pre-event baseline",
            }
        )
    points["fixes"] = fixes
    points["metric"] = metric
    entries.sort(key=lambda e: e["at"])
    return entries, points, series


def _holiday_entries(t: ibis.Table, f: Filters) -> list[dict]:
    """Public holidays in the window for the regions that carry most of its cases."""
    scoped = apply(t, f)
    by_region = scoped.group_by("region").aggregate(n=_.count()).execute().dropna()
    if by_region.empty:
        return []
    by_region = by_region.sort_values("n", ascending=False)
    share = by_region["n"].cumsum() / by_region["n"].sum()
    regions = tuple(by_region["region"][: int((share < 0.5).sum()) + 1])
    hol = calendar.region_holidays(f.start, f.end, regions)
    out = []
    for (day, name), group in hol.groupby(["date", "holiday"]):
        out.append(
            {
                "at": datetime.combine(day, datetime.min.time()),
                "kind": "holiday",
                "title": f"Public holiday: {name}",
                "detail": ", ".join(sorted(group["region"])),
            }
        )
    return out[:8]


def frozen_baseline(series: pd.DataFrame, window_start: date, window_end: date) -> pd.DataFrame:
    """The series for display: the baseline frozen from the first signal on.

    A rolling median would otherwise absorb the event itself for four weeks; the frozen
    baseline is the one the return-to-baseline rule compares against.
    """
    points = signal_points(series, window_start, window_end)
    if not points["first_signal"]:
        return series
    out = series.copy()
    start = date.fromisoformat(points["first_signal"])
    at = out.index[out["day"] == start][0]
    later = out["day"] >= start
    out.loc[later, "baseline"] = out.at[at, "baseline"]
    out.loc[later, "spread"] = out.at[at, "spread"]
    out["elevated"] = is_elevated(out["value"].to_numpy(), out["baseline"], out["spread"])
    return out
