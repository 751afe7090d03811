"""Major events: releases, fixes, incidents and policy changes shown on every time chart.

Events come from two places: the ``events`` table (added by users, or by the
demo loader) and the ``event_id`` tags on cases (first and last case tagged).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from analytics.access import User, require
from analytics.errors import WorkflowError

EVENT_KINDS = ("major_event", "release", "fix", "incident", "policy_change", "holiday", "other")


def events_between(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """Events overlapping [start, end]: event_id, title, kind, starts_at, ends_at, source."""
    cur = con.cursor()
    lo = datetime.combine(start, datetime.min.time())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time())
    stored = cur.execute(
        """SELECT event_id, title, kind, starts_at, ends_at, 'recorded' AS source, description
           FROM events WHERE starts_at < ? AND coalesce(ends_at, starts_at) >= ?""",
        [hi, lo],
    ).df()
    # Tags on cases that no recorded event explains: show where the tagged cases are.
    tagged = cur.execute(
        """SELECT event_id, 'Cases tagged ' || event_id AS title, 'major_event' AS kind,
                  min(created_at) AS starts_at, max(created_at) AS ends_at, 'case tags' AS source,
                  count(*)::VARCHAR || ' cases tagged' AS description
           FROM cases WHERE event_id IS NOT NULL
             AND event_id NOT IN (SELECT event_id FROM events)
           GROUP BY event_id HAVING min(created_at) < ? AND max(created_at) >= ?""",
        [hi, lo],
    ).df()
    cur.close()
    frames = [f for f in (stored, tagged) if not f.empty]
    if not frames:
        return stored.iloc[0:0]
    return pd.concat(frames, ignore_index=True).sort_values("starts_at").reset_index(drop=True)


def add_event(
    con: duckdb.DuckDBPyConnection,
    user: User,
    title: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    description: str = "",
) -> str:
    """Record an event (analysts and admins). Returns its id."""
    require(user, "edit_reviews")
    title = title.strip()
    if not title:
        raise WorkflowError("An event needs a title.")
    if kind not in EVENT_KINDS:
        raise WorkflowError(f"Unknown event kind '{kind}'; use one of {', '.join(EVENT_KINDS)}.")
    if ends_at is not None and ends_at < starts_at:
        raise WorkflowError("An event cannot end before it starts.")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").upper()[:40]
    event_id = f"USR-{starts_at:%Y%m%d}-{slug}"
    con.cursor().execute(
        """INSERT OR REPLACE INTO events (event_id, title, kind, starts_at, ends_at, description, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [event_id, title, kind, starts_at, ends_at, description, user.name],
    )
    return event_id
