"""Root cause, events: when the change began, and which events line up with it.

The *onset* is the day the cumulative excess over the baseline starts to build up: the
argmin of ``cumsum(sign * (value - expected))`` over the days before and in the window (a
CUSUM change point; ``sign`` follows the direction of the change).

Events that line up with the current window (or started up to ``lead_days`` before it):

* recorded events (releases, fixes, incidents, policy changes, major events) and case tags,
  from :func:`analytics.events.events_between`;
* app versions first seen in the scope in or just before the window (computed from cases);
* linked tickets (bugs) whose first case falls in or just before the window;
* public holidays of the affected regions (:mod:`analytics.calendar`): the regions of the
  causes, else the regions holding most of the top cause's cases, else the scope's regions.

An event *matches* a cause when it names it: a version that is part of a cause's slice, a
ticket or tag most of whose window cases (at least half) fall in the top cause, a recorded
event whose title names a value of a cause, a holiday inside the window in an affected region
(for volume only when volume fell: holidays lower volume but slow handling). Ranking: events
that match first, then by distance to the onset in days.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import ibis
import numpy as np
import pandas as pd

from analytics import calendar
from analytics.events import events_between
from analytics.filters import Filters
from analytics.rootcause_leaves import (
    NONE,
    dim_value,
    in_window,
    scoped,
    slice_mask,
    slice_predicate,
)

EVENT_COLUMNS = [
    "date",
    "kind",
    "title",
    "source",
    "cases",
    "days_from_onset",
    "in_window",
    "matches",
    "rank",
]
MIN_TICKET_CASES = 3  # a ticket or version needs this many cases in the window to be listed
MATCH_SHARE = 0.5


def change_onset(
    series: pd.DataFrame, excess: np.ndarray, direction: float, window_start: date
) -> date | None:
    """First day of the build-up of ``excess`` (per day, aligned with ``series['day']``).

    A CUSUM with an allowance of a quarter of the window's mean daily excess: before the change
    the path drifts down, after it up, so noise in the days before the window cannot pose as
    the onset. None when the window shows no excess in the direction of the change.
    """
    if len(series) == 0 or direction == 0:
        return None
    x = np.nan_to_num(np.asarray(excess, dtype=float)) * np.sign(direction)
    inside = (pd.to_datetime(series["day"]) >= pd.Timestamp(window_start)).to_numpy()
    delta = float(x[inside].mean()) if inside.any() else 0.0
    if delta <= 0:
        return None
    path = np.concatenate([[0.0], np.cumsum(x - delta / 4)])
    i = len(path) - 1 - int(np.argmin(path[::-1]))  # the last minimum: ties mean "not yet"
    if i >= len(series):
        return None
    return pd.Timestamp(series["day"].iloc[i]).date()


def _first_seen(t, f: Filters, column: str, expl, since: date, top: dict | None) -> pd.DataFrame:
    """Values of ``column`` first seen in [since, window end]: first day, window cases, in-cause."""
    current = expl.windows.current
    s = scoped(t, f, date(1900, 1, 1), current[1])
    s = s.filter(s[column].notnull())
    cur = in_window(s, current)
    aggs = {"first": s.created_at.min(), "cases": cur.cast("int64").sum()}
    if top:
        aggs["in_cause"] = (cur & slice_predicate(s, top)).cast("int64").sum()
    df = s.group_by(value=dim_value(s, column)).aggregate(**aggs)
    lo = ibis.timestamp(pd.Timestamp(since).to_pydatetime())
    df = df.filter(df["first"] >= lo, df.cases >= MIN_TICKET_CASES).execute()
    if "in_cause" not in df:
        df["in_cause"] = 0
    df["first"] = pd.to_datetime(df["first"]).dt.date
    return df


def _affected_regions(t, f: Filters, expl) -> tuple[str, ...]:
    regions = {str(c.slice["region"]) for c in expl.causes if "region" in c.slice}
    if regions:
        return tuple(sorted(regions - {NONE}))
    top = expl.top_cause
    table = expl.leaves.table
    if top is not None and "region" in table:
        part = table.loc[slice_mask(table, top.slice)]
        by = part.groupby("region", observed=True)["cases"].sum()
        if by.sum() > 0:
            share = by / by.sum()
            return tuple(sorted(str(r) for r in share[share >= 0.2].index if r != NONE))
    if f.region:
        return tuple(f.region)
    return tuple(calendar.REGION_HOLIDAY_COUNTRIES)


def _mentions(text: str, values: set[str]) -> bool:
    low = text.lower()
    return any(re.search(rf"(?<![\w.]){re.escape(v.lower())}(?![\w.])", low) for v in values)


def lined_up_events(
    con: duckdb.DuckDBPyConnection,
    t: ibis.Table,
    f: Filters,
    expl,
    lead_days: int = 14,
    limit: int = 20,
) -> pd.DataFrame:
    """Events in or up to ``lead_days`` before the current window, best explanations first.

    Columns: ``date``, ``kind`` (release, fix, incident, policy_change, major_event, holiday,
    app_version, linked_ticket...), ``title``, ``source``, ``cases`` (window cases, for versions,
    tickets and tags), ``days_from_onset``, ``in_window``, ``matches`` (the cause it names, or
    ""), ``rank``. ``expl`` is an :class:`analytics.rootcause.Explanation`.
    """
    start, end = expl.windows.current
    since = start - timedelta(days=lead_days)
    onset = expl.onset or start
    top = expl.top_cause
    top_slice = top.slice if top is not None and top.slice else None
    cause_values = {
        str(v) for c in expl.causes for v in c.slice.values() if len(str(v)) >= 3 and v != NONE
    }
    rows = []

    tags = _first_seen(t, f, "event_id", expl, date(1900, 1, 1), top_slice).set_index("value")
    recorded = events_between(con, since, end)
    for ev in recorded.itertuples():
        text = f"{ev.title} {getattr(ev, 'description', '') or ''}"
        match = ""
        if cause_values and _mentions(text, cause_values):
            match = top.label if top is not None else ""
        if ev.event_id in tags.index and top_slice:
            tag = tags.loc[ev.event_id]
            if tag["cases"] and tag["in_cause"] / tag["cases"] >= MATCH_SHARE:
                match = top.label
        cases = float(tags.loc[ev.event_id, "cases"]) if ev.event_id in tags.index else np.nan
        rows.append(
            {
                "date": pd.Timestamp(ev.starts_at).date(),
                "kind": ev.kind or "other",
                "title": str(ev.title),
                "source": str(ev.source),
                "cases": cases,
                "matches": match,
            }
        )

    version_causes = {
        str(c.slice.get("app_version")): c.label for c in expl.causes if "app_version" in c.slice
    }
    if "app_version" in t.columns:
        for v in _first_seen(t, f, "app_version", expl, since, top_slice).itertuples():
            rows.append(
                {
                    "date": v.first,
                    "kind": "app_version",
                    "title": f"App version {v.value} first seen",
                    "source": "cases",
                    "cases": float(v.cases),
                    "matches": version_causes.get(str(v.value), ""),
                }
            )
    if "linked_ticket" in t.columns:
        for tk in _first_seen(t, f, "linked_ticket", expl, since, top_slice).itertuples():
            share = tk.in_cause / tk.cases if tk.cases else 0.0
            match = top.label if top_slice and share >= MATCH_SHARE else ""
            rows.append(
                {
                    "date": tk.first,
                    "kind": "linked_ticket",
                    "title": f"{tk.value}: first linked case",
                    "source": "cases",
                    "cases": float(tk.cases),
                    "matches": match,
                }
            )

    regions = _affected_regions(t, f, expl)
    holidays = calendar.region_holidays(since, end, regions) if regions else None
    if holidays is not None and not holidays.empty:
        # Holidays lower volume and slow handling down: they never explain a rise in volume.
        holiday_counts = top is not None and (expl.metric.kind != "count" or expl.change < 0)
        for day, group in holidays.groupby("date", sort=True):
            names = list(dict.fromkeys(group["holiday"]))
            where = ", ".join(sorted(set(group["region"])))
            inside = start <= day <= end
            rows.append(
                {
                    "date": day,
                    "kind": "holiday",
                    "title": "; ".join(names),
                    "source": f"calendar ({where})",
                    "cases": np.nan,
                    "matches": "public holiday" if inside and holiday_counts else "",
                }
            )

    if not rows:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    out = pd.DataFrame(rows)
    out["days_from_onset"] = [(d - onset).days for d in out["date"]]
    out["in_window"] = [start <= d <= end for d in out["date"]]
    out["_order"] = out["matches"].eq("")
    out["_dist"] = out["days_from_onset"].abs()
    out = out.sort_values(["_order", "_dist", "date"], kind="stable").head(limit)
    out["rank"] = range(1, len(out) + 1)
    return out[EVENT_COLUMNS].reset_index(drop=True)


def event_clause(events: pd.DataFrame | None) -> str:
    """``during public holidays (Christmas Day (GB), …)`` or ``after …``: for the headline."""
    if events is None or events.empty:
        return ""
    matched = events[events["matches"] != ""]
    if matched.empty:
        return ""
    first = matched.iloc[0]
    when = f"{first['date'].day} {first['date']:%b %Y}"
    if first["kind"] == "holiday":
        hols = matched[matched["kind"] == "holiday"]["title"].tolist()
        names = ", ".join(hols[:3]) + (", …" if len(hols) > 3 else "")
        return f"during public holidays ({names})"
    if first["kind"] == "app_version":
        return f"after {first['title'].replace(' first seen', '')} first appeared ({when})"
    if first["kind"] == "linked_ticket":
        return f"after {first['title'].split(':')[0]} was linked to its first case ({when})"
    return f"around “{first['title']}” ({when})"
