"""Persisted trending-risk alerts and their workflow (tables of migration 4).

One alert per ongoing trend. Its ``alert_key`` is the slice (or term) that headed the trend
when it was first seen; a later scan finds the same alert through any of the trend's
slices (``related`` keeps every key ever seen), so re-detection updates it and never
duplicates it. Workflow::

    new ──► flagged (team + owner) ──► in_progress ──► resolved
     │  ╲        │  ▲                      │   ▲          │
     │   ╲       ▼  └──────────────────────┘   └──────────┘ (reopen)
     │    └────► dismissed ◄── (from new, flagged or in progress)
     └◄──────────┘ (restore)

Scans are persisted by :func:`analytics.alert_scans.record_scan`, which also decides when an
alert *fires again* (after quiet weeks, a new episode after resolution, or a dismissed
trend that clearly worsened; see there).

Every change checks ``access.require(user, "edit_alerts")``, is kept in
``trend_alert_history`` and is written to the audit log; rows carry a ``version`` so two
people editing one alert do not silently overwrite each other.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.errors import ConflictError, WorkflowError
from analytics.store import transaction

STATUSES: tuple[str, ...] = ("new", "flagged", "in_progress", "resolved", "dismissed")
STATUS_LABELS: dict[str, str] = {
    "new": "New", "flagged": "Flagged to a team", "in_progress": "In progress",
    "resolved": "Resolved", "dismissed": "Dismissed",
}  # fmt: skip
ACTIVE: tuple[str, ...] = ("new", "flagged", "in_progress")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("flagged", "in_progress", "dismissed"),
    "flagged": ("flagged", "in_progress", "resolved", "dismissed"),
    "in_progress": ("flagged", "resolved", "dismissed"),
    "resolved": ("in_progress",),
    "dismissed": ("new",),
}
_JSON = ("slice", "related", "baseline_week", "risk", "spread", "sparkline", "example_ids", "scope")


@dataclass(frozen=True)
class Alert:
    """One persisted alert, as stored (JSON columns parsed)."""

    alert_id: int
    alert_key: str
    origin: str
    dimension: str
    slice_value: str
    slice: dict
    related: dict
    status: str
    kind: str | None
    onset: date | None
    first_detected: date | None
    last_detected: date | None
    fired_on: date | None
    times_fired: int
    observed: float | None
    expected: float | None
    growth: float | None
    p_value: float | None
    q_value: float | None
    baseline_week: list | None
    risk_score: float | None
    peak_risk_score: float | None
    risk: dict
    spread: dict
    sparkline: dict
    example_ids: list
    scope: dict
    team: str | None
    owner_name: str | None
    follow_up: date | None
    linked_ticket: str | None
    dismissed_at: datetime | None
    dismissed_level: float | None
    dismissed_risk: float | None
    resolved_at: datetime | None
    resolved_on: date | None
    created_at: datetime | None
    updated_at: datetime | None
    updated_by: str | None
    version: int

    @property
    def label(self) -> str:
        if self.origin == "term":
            return f"term {self.slice_value}"
        return " · ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in self.slice.items() if k != "search"
        )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def next_statuses(self) -> tuple[str, ...]:
        return TRANSITIONS.get(self.status, ())

    @property
    def level(self) -> float:
        """Recent cases per day (mean of the last 7 days of the sparkline)."""
        tail = [v for v in (self.sparkline or {}).get("observed", [])[-7:] if v is not None]
        return float(sum(tail) / len(tail)) if tail else 0.0


_COLUMNS = tuple(f.name for f in fields(Alert))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def number(value) -> float | None:
    value = _clean(value)
    if value is None:
        return None
    value = float(value)
    return None if math.isinf(value) else value


def to_json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _row_to_alert(row: tuple) -> Alert:
    d = dict(zip(_COLUMNS, row, strict=True))
    for key in _JSON:
        raw = d[key]
        d[key] = json.loads(raw) if raw else ({} if key not in ("baseline_week",) else None)
    d["example_ids"] = d["example_ids"] or []
    return Alert(**d)


def get_alert(con: duckdb.DuckDBPyConnection, alert_id: int) -> Alert:
    """The alert with this id (raises :class:`WorkflowError` if it does not exist)."""
    row = (
        con.cursor()
        .execute(
            f"SELECT {', '.join(_COLUMNS)} FROM trend_alerts WHERE alert_id = ?",  # noqa: S608
            [int(alert_id)],
        )
        .fetchone()
    )
    if row is None:
        raise WorkflowError(f"Alert {alert_id} does not exist (it may have been deleted).")
    return _row_to_alert(row)


def list_alerts(
    con: duckdb.DuckDBPyConnection, statuses: tuple[str, ...] | None = None
) -> list[Alert]:
    """Alerts, highest risk first (optionally only some statuses)."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM trend_alerts"  # noqa: S608
    params: list = []
    if statuses:
        sql += " WHERE status IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(statuses))
    sql += " ORDER BY risk_score DESC NULLS LAST, alert_id"
    return [_row_to_alert(r) for r in con.cursor().execute(sql, params).fetchall()]


def history(con: duckdb.DuckDBPyConnection, alert_id: int) -> pd.DataFrame:
    """Every change of an alert, newest first."""
    return (
        con.cursor()
        .execute(
            "SELECT changed_at, user_name, change, from_status, to_status, note "
            "FROM trend_alert_history WHERE alert_id = ? ORDER BY history_id DESC",
            [int(alert_id)],
        )
        .df()
    )


def log_change(
    cur, alert_id: int, user: User | None, change: str, frm=None, to=None, note=""
) -> None:
    cur.execute(
        "INSERT INTO trend_alert_history (alert_id, changed_at, user_name, change, from_status, "
        "to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [int(alert_id), utcnow(), user.name if user else "scan", change, frm, to, note[:2000]],
    )


# --- Workflow ------------------------------------------------------------------------------


def _change(
    con, alert_id: int, user: User, to: str | None, sets: dict, note: str,
    change: str, expected_version: int | None,
) -> Alert:  # fmt: skip
    require(user, "edit_alerts")
    cur = con.cursor()
    with transaction(cur):
        row = cur.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM trend_alerts WHERE alert_id = ?",  # noqa: S608
            [int(alert_id)],
        ).fetchone()
        if row is None:
            raise WorkflowError(f"Alert {alert_id} does not exist (it may have been deleted).")
        alert = _row_to_alert(row)
        if expected_version is not None and alert.version != expected_version:
            raise ConflictError(
                f"{alert.label} was changed by {alert.updated_by or 'someone else'} since you "
                "opened it. Reload to see their change, then try again."
            )
        if to is not None and to not in alert.next_statuses:
            allowed = ", ".join(STATUS_LABELS[s] for s in alert.next_statuses) or "nothing"
            raise WorkflowError(
                f"A {alert.status_label.lower()} alert cannot become "
                f"{STATUS_LABELS.get(to, to).lower()}; it can become: {allowed}."
            )
        sets = {**sets, "updated_at": utcnow(), "updated_by": user.name}
        if to is not None:
            sets["status"] = to
        assignments = ", ".join(f"{k} = ?" for k in sets)
        # WHERE version = ?: a concurrent save makes this update touch no row (DuckDB 2.0
        # may otherwise let both commit, see docs/ARCHITECTURE.md), and we say so.
        changed = cur.execute(
            f"UPDATE trend_alerts SET {assignments}, version = version + 1 "  # noqa: S608
            "WHERE alert_id = ? AND version = ?",
            [*sets.values(), int(alert_id), alert.version],
        ).fetchone()[0]
        if changed != 1:
            raise ConflictError(
                f"{alert.label} was changed by someone else while you saved. Reload and try again."
            )
        log_change(cur, alert_id, user, change, alert.status, to or alert.status, note)
    audit.record(con, user, f"alert_{change.replace(' ', '_')}", f"alert {alert_id}",
                 f"{alert.alert_key}: {note}"[:2000])  # fmt: skip
    return get_alert(con, alert_id)


def flag(con, alert_id: int, user: User, *, team: str, owner: str, note: str = "",
         follow_up: date | None = None, expected_version: int | None = None) -> Alert:  # fmt: skip
    """Flag an alert to a team with an owner (also re-assigns a flagged alert)."""
    if not team.strip() or not owner.strip():
        raise WorkflowError("Flagging an alert needs both a team and an owner.")
    sets = {"team": team.strip()[:200], "owner_name": owner.strip()[:200]}
    if follow_up is not None:
        sets["follow_up"] = follow_up
    text = f"flagged to {sets['team']} (owner {sets['owner_name']})" + (f": {note}" if note else "")
    return _change(con, alert_id, user, "flagged", sets, text, "flagged", expected_version)


def start_work(con, alert_id: int, user: User, note: str = "",
               expected_version: int | None = None) -> Alert:  # fmt: skip
    """Someone is working on it."""
    return _change(con, alert_id, user, "in_progress", {}, note, "in progress", expected_version)


def resolve(con, alert_id: int, user: User, *, on: date | None = None, note: str = "",
            expected_version: int | None = None) -> Alert:  # fmt: skip
    """Resolved on ``on`` (the data day the fix took effect; default: the latest case day)."""
    if on is None:
        # The cases may live on Spark (lake-only store): ask the engine, not the store.
        from analytics import engine, metrics

        _first, last = metrics.date_bounds(engine.cases_table(con))
        on = last or date.today()
    sets = {"resolved_at": utcnow(), "resolved_on": on}
    return _change(con, alert_id, user, "resolved", sets, note or f"resolved on {on}",
                   "resolved", expected_version)  # fmt: skip


def dismiss(con, alert_id: int, user: User, *, reason: str = "",
            expected_version: int | None = None) -> Alert:  # fmt: skip
    """Not a real risk (it fires again only if it clearly worsens)."""
    alert = get_alert(con, alert_id)
    sets = {"dismissed_at": utcnow(), "dismissed_level": alert.level,
            "dismissed_risk": alert.risk_score or 0.0}  # fmt: skip
    return _change(con, alert_id, user, "dismissed", sets, reason, "dismissed", expected_version)


def reopen(con, alert_id: int, user: User, note: str = "",
           expected_version: int | None = None) -> Alert:  # fmt: skip
    """Resolved -> in progress (the fix did not hold), or dismissed -> new (restore)."""
    alert = get_alert(con, alert_id)
    to = "in_progress" if alert.status == "resolved" else "new"
    return _change(con, alert_id, user, to, {}, note, "reopened", expected_version)


def add_note(con, alert_id: int, user: User, text: str) -> Alert:
    """A note in the alert's history (the latest is shown on the card)."""
    if not text.strip():
        raise WorkflowError("The note is empty.")
    return _change(con, alert_id, user, None, {}, text.strip(), "note", None)


def set_follow_up(con, alert_id: int, user: User, day: date | None) -> Alert:
    """When to look at it again (None clears it)."""
    note = f"follow up on {day}" if day else "follow-up cleared"
    return _change(con, alert_id, user, None, {"follow_up": day}, note, "follow-up", None)


def link_ticket(con, alert_id: int, user: User, ticket: str) -> Alert:
    """Link a ticket (bug tracker, incident id); an empty string unlinks it."""
    ticket = ticket.strip()[:200]
    note = f"linked {ticket}" if ticket else "ticket unlinked"
    return _change(con, alert_id, user, None, {"linked_ticket": ticket or None}, note,
                   "ticket", None)  # fmt: skip


def due_follow_ups(alerts: list[Alert], today: date) -> list[Alert]:
    """Active alerts whose follow-up date has come."""
    return [a for a in alerts if a.status in ACTIVE and a.follow_up and a.follow_up <= today]
