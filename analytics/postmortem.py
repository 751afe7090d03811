"""Post-mortem reviews: from a major event to a published review with sections and a timeline.

A review has a header (title, event window, scope, severity, authors, status), eight
editable sections auto-filled from the data (:mod:`analytics.postmortem_fill`, texts in
:mod:`analytics.postmortem_text`), a timeline and causes (:mod:`analytics.postmortem_timeline`)
and action items (:mod:`analytics.postmortem_actions`). Exports are in
:mod:`analytics.postmortem_export`, the lessons-learned library in
:mod:`analytics.postmortem_library`. Everything is stored in DuckDB (migration 5).

Concurrency is optimistic: the header and each section carry a version number. A save
names the version it was based on; when someone else saved in between, nothing is
written and :class:`ReviewConflictError` (a :class:`~analytics.errors.ConflictError`)
says who saved what and when, and carries both versions so the second person can keep
theirs, take the other, or merge by hand (:func:`resolve_conflict`).

Every write calls ``access.require(user, "edit_reviews")`` and is written to the audit log.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from analytics import audit
from analytics import postmortem_text as text
from analytics.access import User, require
from analytics.errors import ConflictError, WorkflowError
from analytics.filters import Filters
from analytics.postmortem_fill import (
    compute_autofill,
    section_facts,
    write_causes,
    write_data_timeline,
)
from analytics.postmortem_seed import (
    SEVERITIES,
    SIGNAL_METRICS,
    ReviewDraft,
    scope_filters,
    window_filters,
)
from analytics.store import transaction

REVIEW_STATUSES = ("draft", "in review", "published")
KEEP_MINE, TAKE_OTHER, MERGE = "keep_mine", "take_other", "merge"
_EDIT = "edit_reviews"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _target(review_id: int) -> str:
    return f"post-mortem {review_id}"


@dataclass(frozen=True)
class Review:
    """The header of a review. ``scope`` has no dates; :meth:`filters` adds the window."""

    review_id: int
    title: str
    window_start: date
    window_end: date
    scope: Filters
    metric: str
    severity: str
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    status: str
    origin: str
    version: int
    baseline_start: date | None = None
    baseline_end: date | None = None
    seed: dict = field(default_factory=dict)
    created_by: str = ""
    created_at: datetime | None = None
    updated_by: str = ""
    updated_at: datetime | None = None
    published_at: datetime | None = None

    def filters(self) -> Filters:
        return window_filters(self.scope, self.window_start, self.window_end)


@dataclass(frozen=True)
class Section:
    review_id: int
    key: str
    body: str
    facts: dict
    version: int
    updated_by: str
    updated_at: datetime | None

    @property
    def title(self) -> str:
        return text.SECTION_TITLES.get(self.key, self.key)


class ReviewConflictError(ConflictError):
    """A save based on a stale version. ``theirs`` is what is stored now; ``yours`` was not saved."""

    def __init__(self, message: str, *, review_id: int, target: str, yours, theirs):
        super().__init__(message)
        self.review_id = review_id
        self.target = target  # section key, "header", or "action <id>"
        self.yours = yours
        self.theirs = theirs


# --- Create and read ---------------------------------------------------------------------------


def create_review(
    con: duckdb.DuckDBPyConnection,
    user: User,
    draft: ReviewDraft,
    *,
    authors: tuple[str, ...] | list[str] = (),
    severity: str = "S2",
    tags: tuple[str, ...] | list[str] = (),
    autofill: bool = True,
) -> int:
    """Create a review from a draft, auto-filling sections and timeline. Returns its id."""
    require(user, _EDIT)
    title = draft.title.strip()
    if not title:
        raise WorkflowError("A review needs a title.")
    if draft.window_end < draft.window_start:
        raise WorkflowError("The event window ends before it starts.")
    if severity not in SEVERITIES:
        raise WorkflowError(f"Unknown severity '{severity}'; use one of {', '.join(SEVERITIES)}.")
    metric = draft.metric if draft.metric in SIGNAL_METRICS else "volume"
    fill = None
    if autofill:
        fill = compute_autofill(
            con,
            scope=draft.scope,
            start=draft.window_start,
            end=draft.window_end,
            metric=metric,
            headline=draft.headline,
            causes=tuple(draft.causes) + tuple(draft.pain_points),
            evidence_ids=draft.evidence_case_ids,
            alert_fired_at=draft.alert_fired_at,
            seed_events=draft.events,
            title=title,
        )
    now, who = _now(), user.name
    authors = [a.strip() for a in authors if a and a.strip()] or [who]
    cur = con.cursor()
    try:
        with transaction(cur):
            review_id = cur.execute("SELECT nextval('pm_review_seq')").fetchone()[0]
            cur.execute(
                """INSERT INTO pm_reviews (review_id, title, window_start, window_end,
                       baseline_start, baseline_end, scope, metric, severity, authors, tags,
                       status, origin, seed, version, created_by, created_at, updated_by, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, 1, ?, ?, ?, ?)""",
                [
                    review_id,
                    title[:200],
                    draft.window_start,
                    draft.window_end,
                    draft.baseline_start,
                    draft.baseline_end,
                    json.dumps(draft.filters().to_query()),
                    metric,
                    severity,
                    json.dumps(list(authors)),
                    json.dumps(sorted({t.strip() for t in tags if t and t.strip()})),
                    draft.origin,
                    json.dumps(draft.seed, default=str),
                    who,
                    now,
                    who,
                    now,
                ],
            )
            per_section = section_facts(fill) if fill else {}
            for key, _title, _prompt in text.SECTIONS:
                body = fill.bodies.get(key, "") if fill else ""
                cur.execute(
                    """INSERT INTO pm_sections VALUES (?, ?, ?, ?, 1, ?, ?)""",
                    [
                        review_id,
                        key,
                        body,
                        json.dumps(per_section.get(key, {}), default=str),
                        who,
                        now,
                    ],
                )
                cur.execute(
                    "INSERT INTO pm_section_history VALUES (?, ?, 1, ?, ?, ?)",
                    [review_id, key, body, who, now],
                )
            if fill:
                write_data_timeline(cur, review_id, fill.entries, who, now)
                write_causes(cur, review_id, fill.causes)
    finally:
        cur.close()
    audit.record(con, user, "create", _target(review_id), f"{draft.origin}: {title[:200]}")
    return int(review_id)


def _rows(cur, sql: str, params: list) -> list[dict]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _review(row: dict) -> Review:
    scope = scope_filters(json.loads(row["scope"] or "{}"))
    return Review(
        review_id=int(row["review_id"]),
        title=row["title"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        scope=scope,
        metric=row["metric"] or "volume",
        severity=row["severity"] or "S2",
        authors=tuple(json.loads(row["authors"] or "[]")),
        tags=tuple(json.loads(row["tags"] or "[]")),
        status=row["status"],
        origin=row["origin"] or "manual",
        version=int(row["version"]),
        baseline_start=row["baseline_start"],
        baseline_end=row["baseline_end"],
        seed=json.loads(row["seed"] or "{}"),
        created_by=row["created_by"] or "",
        created_at=row["created_at"],
        updated_by=row["updated_by"] or "",
        updated_at=row["updated_at"],
        published_at=row["published_at"],
    )


def get_review(con: duckdb.DuckDBPyConnection, review_id: int) -> Review:
    cur = con.cursor()
    try:
        rows = _rows(cur, "SELECT * FROM pm_reviews WHERE review_id = ?", [review_id])
    finally:
        cur.close()
    if not rows:
        raise WorkflowError(f"There is no post-mortem #{review_id}; it may have been deleted.")
    return _review(rows[0])


def list_reviews(
    con: duckdb.DuckDBPyConnection, statuses: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Reviews, newest first: review_id, title, status, severity, window, authors, open actions."""
    sql = """SELECT r.review_id, r.title, r.status, r.severity, r.window_start, r.window_end,
                    r.authors, r.origin, r.updated_by, r.updated_at, r.published_at,
                    (SELECT count(*) FROM pm_actions a WHERE a.review_id = r.review_id
                       AND a.status IN ('open', 'in progress')) AS open_actions
             FROM pm_reviews r"""
    params: list = []
    if statuses:
        sql += " WHERE list_contains(?, r.status)"
        params.append(list(statuses))
    sql += " ORDER BY r.window_start DESC, r.review_id DESC"
    cur = con.cursor()
    try:
        df = cur.execute(sql, params).df()
    finally:
        cur.close()
    df["authors"] = df["authors"].map(lambda a: ", ".join(json.loads(a or "[]")))
    return df


def sections(con: duckdb.DuckDBPyConnection, review_id: int) -> dict[str, Section]:
    """The review's sections in template order."""
    cur = con.cursor()
    try:
        rows = _rows(cur, "SELECT * FROM pm_sections WHERE review_id = ?", [review_id])
    finally:
        cur.close()
    by_key = {
        r["section"]: Section(
            review_id,
            r["section"],
            r["body"] or "",
            json.loads(r["facts"] or "{}"),
            int(r["version"]),
            r["updated_by"] or "",
            r["updated_at"],
        )
        for r in rows
    }
    return {key: by_key[key] for key, _t, _p in text.SECTIONS if key in by_key}


def section_history(con: duckdb.DuckDBPyConnection, review_id: int, key: str) -> pd.DataFrame:
    cur = con.cursor()
    try:
        return cur.execute(
            """SELECT version, saved_by, saved_at, body FROM pm_section_history
               WHERE review_id = ? AND section = ? ORDER BY version DESC""",
            [review_id, key],
        ).df()
    finally:
        cur.close()


# --- Edit with optimistic concurrency ---------------------------------------------------------


def _stale(who: str, what: str, when: datetime | None, version: int, expected: int) -> str:
    at = f"{when:%d %b %Y %H:%M} UTC" if when else "just now"
    return (
        f"{who or 'Someone'} saved {what} at {at} (version {version}) after you opened version "
        f"{expected}. Your change was not saved: compare both versions and keep yours, take "
        "theirs, or merge them."
    )


def save_section(
    con: duckdb.DuckDBPyConnection,
    user: User,
    review_id: int,
    key: str,
    body: str,
    expected_version: int,
) -> Section:
    """Save a section's text if it is still at ``expected_version``; else ReviewConflictError."""
    require(user, _EDIT)
    if key not in text.SECTION_TITLES:
        raise WorkflowError(f"Unknown section '{key}'.")
    now = _now()
    cur = con.cursor()
    try:
        with transaction(cur):
            # The row count, not RETURNING: DuckDB 2.0.1 misses write-write conflicts of
            # `UPDATE ... RETURNING` on a table with a primary key (a lost update).
            (updated,) = cur.execute(
                """UPDATE pm_sections SET body = ?, version = version + 1, updated_by = ?,
                          updated_at = ?
                   WHERE review_id = ? AND section = ? AND version = ?""",
                [body, user.name, now, review_id, key, expected_version],
            ).fetchone()
            if not updated:
                raise _section_conflict(con, review_id, key, body, expected_version)
            version = expected_version + 1
            cur.execute(
                "INSERT INTO pm_section_history VALUES (?, ?, ?, ?, ?, ?)",
                [review_id, key, version, body, user.name, now],
            )
    except duckdb.TransactionException as exc:  # a concurrent save won the race
        raise _section_conflict(con, review_id, key, body, expected_version) from exc
    finally:
        cur.close()
    _touch(con, review_id, user, now)
    audit.record(con, user, "edit", _target(review_id), f"section {key} v{version}")
    return sections(con, review_id)[key]


def _section_conflict(con, review_id, key, body, expected) -> ReviewConflictError:
    current = sections(con, review_id).get(key)
    if current is None:
        return ReviewConflictError(
            f"Post-mortem #{review_id} has no section '{key}' any more.",
            review_id=review_id,
            target=key,
            yours=body,
            theirs=None,
        )
    if current.version == expected:  # the other save has not committed yet
        message = (
            f"Someone else is saving “{current.title}” at this moment. Your change was not "
            "saved: compare both versions and choose again in a moment."
        )
    else:
        message = _stale(
            current.updated_by, f"“{current.title}”", current.updated_at, current.version, expected
        )
    return ReviewConflictError(message, review_id=review_id, target=key, yours=body, theirs=current)


def _touch(con, review_id: int, user: User, now: datetime) -> None:
    """Last edited by/at on the header (does not change its version)."""
    cur = con.cursor()
    try:
        cur.execute(
            "UPDATE pm_reviews SET updated_by = ?, updated_at = ? WHERE review_id = ?",
            [user.name, now, review_id],
        )
    finally:
        cur.close()


def resolve_conflict(
    con: duckdb.DuckDBPyConnection,
    user: User,
    conflict: ReviewConflictError,
    choice: str,
    merged: str | None = None,
) -> Section:
    """Settle a section conflict: keep my text, take the stored one, or save a hand merge.

    Keeping or merging saves against the version now stored, so a third save in between
    raises a new conflict instead of being overwritten.
    """
    theirs: Section = conflict.theirs
    if theirs is None:
        raise WorkflowError("That section no longer exists; reload the review.")
    if choice == TAKE_OTHER:
        return theirs
    if choice == KEEP_MINE:
        body = conflict.yours
    elif choice == MERGE:
        if merged is None:
            raise WorkflowError("Write the merged text first.")
        body = merged
    else:
        raise WorkflowError(f"Unknown choice '{choice}'.")
    return save_section(con, user, conflict.review_id, theirs.key, body, theirs.version)


def merge_draft(mine: str, theirs: str, their_name: str = "the other version") -> str:
    """A starting point for a hand merge: shared lines once, differing blocks labelled."""
    a, b = (mine or "").splitlines(), (theirs or "").splitlines()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out += a[i1:i2]
            continue
        if i2 > i1:
            out += ["[your version]", *a[i1:i2]]
        if j2 > j1:
            out += [f"[{their_name}]", *b[j1:j2]]
        out.append("[end]")
    return "\n".join(out)


_HEADER_FIELDS = {
    "title",
    "window_start",
    "window_end",
    "scope",
    "metric",
    "severity",
    "authors",
    "tags",
}


def update_review(
    con: duckdb.DuckDBPyConnection, user: User, review_id: int, expected_version: int, **changes
) -> Review:
    """Change header fields (title, window_start/_end, scope, metric, severity, authors, tags)."""
    require(user, _EDIT)
    unknown = set(changes) - _HEADER_FIELDS
    if unknown:
        raise WorkflowError(f"Cannot change {', '.join(sorted(unknown))} of a review.")
    current = get_review(con, review_id)
    start = changes.get("window_start", current.window_start)
    end = changes.get("window_end", current.window_end)
    if end < start:
        raise WorkflowError("The event window ends before it starts.")
    if changes.get("severity", current.severity) not in SEVERITIES:
        raise WorkflowError(f"Unknown severity; use one of {', '.join(SEVERITIES)}.")
    if not str(changes.get("title", current.title)).strip():
        raise WorkflowError("A review needs a title.")
    scope = scope_filters(changes["scope"]) if "scope" in changes else current.scope
    values = {
        "title": str(changes.get("title", current.title)).strip()[:200],
        "window_start": start,
        "window_end": end,
        "scope": json.dumps(window_filters(scope, start, end).to_query()),
        "metric": changes.get("metric", current.metric)
        if changes.get("metric", current.metric) in SIGNAL_METRICS
        else "volume",
        "severity": changes.get("severity", current.severity),
        "authors": json.dumps([a for a in changes.get("authors", current.authors) if a]),
        "tags": json.dumps(
            sorted({t.strip() for t in changes.get("tags", current.tags) if t.strip()})
        ),
    }
    return _update_header(con, user, current, expected_version, values, "details")


def _update_header(con, user, current: Review, expected: int, values: dict, what: str) -> Review:
    now = _now()
    assignments = ", ".join(f"{k} = ?" for k in values)  # keys are fixed column names
    sql = (
        f"UPDATE pm_reviews SET {assignments}, version = version + 1, updated_by = ?, "  # noqa: S608
        "updated_at = ? WHERE review_id = ? AND version = ?"  # no RETURNING: see save_section
    )
    cur = con.cursor()
    try:
        (done,) = cur.execute(
            sql, [*values.values(), user.name, now, current.review_id, expected]
        ).fetchone()
    except duckdb.TransactionException:
        done = 0
    finally:
        cur.close()
    if not done:
        stored = get_review(con, current.review_id)
        raise ReviewConflictError(
            _stale(
                stored.updated_by, "the review details", stored.updated_at, stored.version, expected
            ),
            review_id=current.review_id,
            target="header",
            yours=values,
            theirs=stored,
        )
    audit.record(con, user, "edit", _target(current.review_id), what)
    return get_review(con, current.review_id)


def set_status(
    con: duckdb.DuckDBPyConnection, user: User, review_id: int, status: str, expected_version: int
) -> Review:
    """Move a review between draft, in review and published (publishing needs a summary)."""
    require(user, _EDIT)
    if status not in REVIEW_STATUSES:
        raise WorkflowError(f"Unknown status '{status}'; use one of {', '.join(REVIEW_STATUSES)}.")
    current = get_review(con, review_id)
    values: dict = {"status": status}
    if status == "published":
        summary = sections(con, review_id).get("summary")
        if summary is None or not summary.body.strip():
            raise WorkflowError("Write the summary before publishing the review.")
        values["published_at"] = _now()
    review = _update_header(con, user, current, expected_version, values, f"status {status}")
    if status == "published":
        audit.record(con, user, "publish", _target(review_id), review.title)
    return review
