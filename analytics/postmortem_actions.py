"""Action items of post-mortems, their verification, and the follow-up board across reviews.

An item has a description, owner, team, due date, status (open, in progress, done, won't
do), a linked ticket and, optionally, the metric it should move
(:class:`~analytics.postmortem_verify.MetricSpec`). Items are versioned like sections:
saving a stale version raises :class:`~analytics.postmortem.ReviewConflictError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import ibis
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.errors import WorkflowError
from analytics.postmortem import ReviewConflictError, _now, _rows, _stale, _target, get_review
from analytics.postmortem_verify import MetricSpec, Verification, VerifyConfig, verify

ACTION_STATUSES = ("open", "in progress", "done", "won't do")
_EDIT = "edit_reviews"
_FIELDS = (
    "description",
    "owner",
    "team",
    "due_date",
    "status",
    "linked_ticket",
    "metric",
    "done_on",
)


@dataclass(frozen=True)
class ActionItem:
    action_id: int
    review_id: int
    description: str
    owner: str
    team: str
    due_date: date | None
    status: str
    linked_ticket: str
    metric: MetricSpec | None
    done_on: date | None
    version: int
    updated_by: str = ""
    updated_at: datetime | None = None

    @property
    def expected_direction(self) -> str | None:
        return self.metric.direction if self.metric else None


def _item(row: dict) -> ActionItem:
    return ActionItem(
        action_id=int(row["action_id"]),
        review_id=int(row["review_id"]),
        description=row["description"],
        owner=row["owner"] or "",
        team=row["team"] or "",
        due_date=row["due_date"],
        status=row["status"],
        linked_ticket=row["linked_ticket"] or "",
        metric=MetricSpec.from_json(row["metric"]),
        done_on=row["done_on"],
        version=int(row["version"]),
        updated_by=row["updated_by"] or "",
        updated_at=row["updated_at"],
    )


def _check(status: str | None, description: str | None) -> None:
    if status is not None and status not in ACTION_STATUSES:
        raise WorkflowError(f"Unknown status '{status}'; use one of {', '.join(ACTION_STATUSES)}.")
    if description is not None and not description.strip():
        raise WorkflowError("An action item needs a description.")


def add_action(
    con: duckdb.DuckDBPyConnection,
    user: User,
    review_id: int,
    description: str,
    *,
    owner: str = "",
    team: str = "",
    due_date: date | None = None,
    status: str = "open",
    linked_ticket: str = "",
    metric: MetricSpec | None = None,
    done_on: date | None = None,
) -> int:
    """Add an action item to a review. Returns its id."""
    require(user, _EDIT)
    _check(status, description)
    get_review(con, review_id)
    if status == "done" and done_on is None:
        done_on = _now().date()
    now = _now()
    cur = con.cursor()
    try:
        action_id = cur.execute(
            """INSERT INTO pm_actions VALUES (nextval('pm_action_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?,
                   ?, 1, ?, ?, ?, ?) RETURNING action_id""",
            [
                review_id,
                description.strip()[:1000],
                owner.strip(),
                team.strip(),
                due_date,
                status,
                linked_ticket.strip(),
                metric.to_json() if metric else None,
                metric.direction if metric else None,
                done_on,
                user.name,
                now,
                user.name,
                now,
            ],
        ).fetchone()[0]
    finally:
        cur.close()
    audit.record(con, user, "edit", _target(review_id), f"action item {action_id} added")
    return int(action_id)


def get_action(con: duckdb.DuckDBPyConnection, action_id: int) -> ActionItem:
    cur = con.cursor()
    try:
        rows = _rows(cur, "SELECT * FROM pm_actions WHERE action_id = ?", [action_id])
    finally:
        cur.close()
    if not rows:
        raise WorkflowError(f"There is no action item #{action_id}.")
    return _item(rows[0])


def actions(con: duckdb.DuckDBPyConnection, review_id: int | None = None) -> list[ActionItem]:
    """Action items of one review (or of all reviews), in creation order."""
    cur = con.cursor()
    try:
        if review_id is None:
            rows = _rows(cur, "SELECT * FROM pm_actions ORDER BY action_id", [])
        else:
            rows = _rows(
                cur, "SELECT * FROM pm_actions WHERE review_id = ? ORDER BY action_id", [review_id]
            )
    finally:
        cur.close()
    return [_item(r) for r in rows]


def update_action(
    con: duckdb.DuckDBPyConnection,
    user: User,
    action_id: int,
    expected_version: int,
    **changes,
) -> ActionItem:
    """Change fields of an item saved at ``expected_version`` (else ReviewConflictError).

    Marking an item done without a ``done_on`` date records today (UTC).
    """
    require(user, _EDIT)
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise WorkflowError(f"Cannot change {', '.join(sorted(unknown))} of an action item.")
    _check(changes.get("status"), changes.get("description"))
    current = get_action(con, action_id)
    if changes.get("status") == "done" and not changes.get("done_on") and not current.done_on:
        changes["done_on"] = _now().date()
    if "status" in changes and changes["status"] != "done" and "done_on" not in changes:
        changes["done_on"] = None
    values = dict(changes)
    if "metric" in values:
        metric = values.pop("metric")
        values["metric"] = metric.to_json() if metric else None
        values["expected_direction"] = metric.direction if metric else None
    for key in ("description", "owner", "team", "linked_ticket"):
        if key in values:
            values[key] = (values[key] or "").strip()
    now = _now()
    assignments = ", ".join(f"{k} = ?" for k in values)  # keys are checked column names
    sql = (
        f"UPDATE pm_actions SET {assignments}, version = version + 1, updated_by = ?, "  # noqa: S608
        "updated_at = ? WHERE action_id = ? AND version = ?"  # no RETURNING (DuckDB 2.0.1 bug)
    )
    cur = con.cursor()
    try:
        (done,) = cur.execute(
            sql, [*values.values(), user.name, now, action_id, expected_version]
        ).fetchone()
    except duckdb.TransactionException:
        done = 0
    finally:
        cur.close()
    if not done:
        stored = get_action(con, action_id)
        raise ReviewConflictError(
            _stale(
                stored.updated_by,
                f"action item “{stored.description[:60]}”",
                stored.updated_at,
                stored.version,
                expected_version,
            ),
            review_id=stored.review_id,
            target=f"action {action_id}",
            yours=changes,
            theirs=stored,
        )
    audit.record(
        con,
        user,
        "edit",
        _target(current.review_id),
        f"action item {action_id}: {', '.join(sorted(changes))}",
    )
    return get_action(con, action_id)


def verify_action(
    t: ibis.Table,
    item: ActionItem,
    *,
    config: VerifyConfig | None = None,
    as_of: date | None = None,
) -> Verification | None:
    """The before/after verdict of a done item with a metric (None when there is nothing to test)."""
    if item.metric is None or item.status != "done" or item.done_on is None:
        return None
    return verify(t, item.metric, item.done_on, config=config, as_of=as_of)


BOARD_BUCKETS = ("overdue", "done, not verified", "fix worked", "fix did not work")


def follow_up_board(
    con: duckdb.DuckDBPyConnection,
    t: ibis.Table,
    *,
    today: date | None = None,
    config: VerifyConfig | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Action items across reviews that need attention or show an outcome.

    Buckets: *overdue* (open or in progress past the due date), *done, not verified* (no
    metric, or not yet measurable), *fix worked*, *fix did not work* (no effect or got
    worse). Columns: bucket, review_id, review, action_id, description, owner, team,
    due_date, status, done_on, metric, verdict, detail.
    """
    today = today or _now().date()
    cur = con.cursor()
    try:
        titles = dict(cur.execute("SELECT review_id, title FROM pm_reviews").fetchall())
    finally:
        cur.close()
    rows = []
    for item in actions(con):
        verdict, detail, bucket = "", "", None
        if item.status in ("open", "in progress") and item.due_date and item.due_date < today:
            bucket = "overdue"
            detail = f"due {item.due_date:%d %b %Y} ({(today - item.due_date).days} days ago)"
        elif item.status == "done":
            result = verify_action(t, item, config=config, as_of=as_of)
            if result is None:
                bucket, detail = "done, not verified", "no metric to check"
            else:
                verdict, detail = result.verdict, result.describe()
                bucket = {
                    "fix worked": "fix worked",
                    "not yet measurable": "done, not verified",
                }.get(result.verdict, "fix did not work")
        if bucket is None:
            continue
        rows.append(
            {
                "bucket": bucket,
                "review_id": item.review_id,
                "review": titles.get(item.review_id, ""),
                "action_id": item.action_id,
                "description": item.description,
                "owner": item.owner,
                "team": item.team,
                "due_date": item.due_date,
                "status": item.status,
                "done_on": item.done_on,
                "metric": item.metric.label if item.metric else "",
                "verdict": verdict,
                "detail": detail,
            }
        )
    columns = ["bucket", "review_id", "review", "action_id", "description", "owner", "team"]
    columns += ["due_date", "status", "done_on", "metric", "verdict", "detail"]
    df = pd.DataFrame(rows, columns=columns)
    order = {b: i for i, b in enumerate(BOARD_BUCKETS)}
    return df.sort_values(
        ["bucket", "due_date"], key=lambda s: s.map(order) if s.name == "bucket" else s
    ).reset_index(drop=True)
