"""The timeline and causes of a review, and refreshing a review from the data.

Timeline entries come from the data (``source = "data"``, rebuilt on refresh) or are
added by people (``"manual"``: "war room opened", "extra staff moved to the DSA queue").
Causes are the structured root causes, contributing factors and pain points that the
lessons-learned library looks for across reviews.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.errors import WorkflowError
from analytics.postmortem import _EDIT, _now, _rows, _target, get_review
from analytics.postmortem_fill import (
    AutoFill,
    compute_autofill,
    section_facts,
    write_causes,
    write_data_timeline,
)
from analytics.postmortem_seed import draft_from_seed
from analytics.store import transaction


def timeline(con: duckdb.DuckDBPyConnection, review_id: int) -> pd.DataFrame:
    """Entries in time order: entry_id, at, kind, title, detail, source (data or manual)."""
    cur = con.cursor()
    try:
        return cur.execute(
            """SELECT entry_id, occurred_at AS "at", kind, title, detail, source, created_by
               FROM pm_timeline WHERE review_id = ? ORDER BY occurred_at, entry_id""",
            [review_id],
        ).df()
    finally:
        cur.close()


def add_timeline_entry(
    con: duckdb.DuckDBPyConnection,
    user: User,
    review_id: int,
    at: datetime,
    title: str,
    kind: str = "note",
    detail: str = "",
) -> int:
    """Add a manual entry (e.g. "War room opened", "Extra staff moved to the DSA queue")."""
    require(user, _EDIT)
    if not title.strip():
        raise WorkflowError("A timeline entry needs a title.")
    get_review(con, review_id)
    if isinstance(at, date) and not isinstance(at, datetime):
        at = datetime.combine(at, datetime.min.time())
    cur = con.cursor()
    try:
        entry_id = cur.execute(
            """INSERT INTO pm_timeline VALUES (nextval('pm_timeline_seq'), ?, ?, ?, ?, ?, 'manual', ?, ?)
               RETURNING entry_id""",
            [review_id, at, kind or "note", title.strip()[:300], detail, user.name, _now()],
        ).fetchone()[0]
    finally:
        cur.close()
    audit.record(con, user, "edit", _target(review_id), f"timeline entry {entry_id} added")
    return int(entry_id)


def delete_timeline_entry(
    con: duckdb.DuckDBPyConnection, user: User, review_id: int, entry_id: int
) -> None:
    """Remove a manual entry (entries from the data come back on refresh, so they stay)."""
    require(user, _EDIT)
    cur = con.cursor()
    try:
        gone = cur.execute(
            "DELETE FROM pm_timeline WHERE review_id = ? AND entry_id = ? AND source = 'manual' "
            "RETURNING entry_id",
            [review_id, entry_id],
        ).fetchall()
    finally:
        cur.close()
    if not gone:
        raise WorkflowError("Only manual timeline entries can be removed.")
    audit.record(con, user, "edit", _target(review_id), f"timeline entry {entry_id} removed")


def review_causes(con: duckdb.DuckDBPyConnection, review_id: int) -> list[dict]:
    cur = con.cursor()
    try:
        rows = _rows(
            cur,
            "SELECT rank, kind, label, slice, share_of_change FROM pm_causes WHERE review_id = ? "
            "ORDER BY rank",
            [review_id],
        )
    finally:
        cur.close()
    return [{**r, "slice": json.loads(r["slice"] or "{}")} for r in rows]


def set_causes(
    con: duckdb.DuckDBPyConnection, user: User, review_id: int, causes: list[dict]
) -> None:
    """Replace the structured causes (labels such as ``app_version=37.1.0``) of a review."""
    require(user, _EDIT)
    clean = []
    for c in causes:
        label = str(c.get("label", "")).strip()
        if not label:
            continue
        slc = c.get("slice") or dict(
            part.split("=", 1) for part in label.split(" & ") if "=" in part
        )
        clean.append({**c, "label": label, "slice": slc})
    cur = con.cursor()
    try:
        with transaction(cur):
            write_causes(cur, review_id, clean)
    finally:
        cur.close()
    audit.record(con, user, "edit", _target(review_id), f"{len(clean)} causes")


def refresh_from_data(con: duckdb.DuckDBPyConnection, user: User, review_id: int) -> AutoFill:
    """Recompute facts and the data timeline for the current window and scope.

    Section texts are not overwritten: the returned :class:`AutoFill` carries fresh drafts
    (``bodies``) that a person may adopt through :func:`save_section`.
    """
    require(user, _EDIT)
    review = get_review(con, review_id)
    kept = [c for c in review_causes(con, review_id) if c["kind"] != "candidate from the data"]
    seeded = draft_from_seed(review.seed) if review.seed else None
    fill = compute_autofill(
        con,
        scope=review.scope,
        start=review.window_start,
        end=review.window_end,
        metric=review.metric,
        headline=seeded.headline if seeded else "",
        causes=kept,
        evidence_ids=seeded.evidence_case_ids if seeded else (),
        alert_fired_at=seeded.alert_fired_at if seeded else None,
        seed_events=seeded.events if seeded else (),
        title=review.title,
    )
    now = _now()
    cur = con.cursor()
    try:
        with transaction(cur):
            for key, value in section_facts(fill).items():
                cur.execute(
                    "UPDATE pm_sections SET facts = ? WHERE review_id = ? AND section = ?",
                    [json.dumps(value, default=str), review_id, key],
                )
            write_data_timeline(cur, review_id, fill.entries, user.name, now)
            write_causes(cur, review_id, fill.causes)
    finally:
        cur.close()
    audit.record(con, user, "edit", _target(review_id), "refreshed from data")
    return fill
