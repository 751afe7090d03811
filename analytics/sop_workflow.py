"""Persisted grey-area findings and their workflow (tables of migration 6).

A finding is identified by its policy (and pain point, '' for the whole policy): re-running
detection updates the existing row, never adds a second one. Its workflow::

    new ──► sent_to_policy ──► sop_updated ──► verified
     ▲  ╲        │   ▲              │              │
     │   ╲       ▼   └──────────────┴──────────────┘  (the fix did not hold: back to policy)
     │    └► dismissed (not a grey area)
     └────────┘ (reopen)

Moving to ``sop_updated`` needs the date the SOP changed and a link to the SOP section;
that date is what the before/after check (:mod:`analytics.sop_verify`) splits on, and
``verified`` needs that check to show an improvement. Every
change checks ``access.require(user, "edit_findings")``, is kept in
``sop_finding_history`` and is written to the audit log. Rows carry a ``version`` so
two people editing the same finding do not overwrite each other silently.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.errors import ConflictError, WorkflowError
from analytics.store import transaction

STATUSES: tuple[str, ...] = ("new", "sent_to_policy", "sop_updated", "verified", "dismissed")
STATUS_LABELS: dict[str, str] = {
    "new": "New",
    "sent_to_policy": "Sent to policy",
    "sop_updated": "SOP updated",
    "verified": "Verified",
    "dismissed": "Dismissed",
}
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("sent_to_policy", "dismissed"),
    "sent_to_policy": ("sop_updated", "new", "dismissed"),
    "sop_updated": ("verified", "sent_to_policy"),
    "verified": ("sent_to_policy",),
    "dismissed": ("new",),
}

_COLUMNS = (
    "finding_id",
    "policy",
    "pain_point",
    "status",
    "score",
    "score_low",
    "flagged",
    "rank",
    "cases",
    "summary",
    "signals",
    "scope",
    "first_detected_at",
    "last_detected_at",
    "sent_at",
    "sop_updated_on",
    "sop_link",
    "verified_at",
    "verification",
    "notes",
    "updated_by",
    "updated_at",
    "version",
)


@dataclass(frozen=True)
class Finding:
    """One persisted finding, as stored."""

    finding_id: int
    policy: str
    pain_point: str
    status: str
    score: float | None
    score_low: float | None
    flagged: bool
    rank: int | None
    cases: int | None
    summary: str
    signals: dict
    scope: str
    first_detected_at: datetime | None
    last_detected_at: datetime | None
    sent_at: datetime | None
    sop_updated_on: date | None
    sop_link: str | None
    verified_at: datetime | None
    verification: dict | None
    notes: str
    updated_by: str | None
    updated_at: datetime | None
    version: int

    @property
    def label(self) -> str:
        return f"{self.policy} · {self.pain_point}" if self.pain_point else self.policy

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def next_statuses(self) -> tuple[str, ...]:
        return TRANSITIONS.get(self.status, ())


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value


def _row_to_finding(row: tuple) -> Finding:
    d = dict(zip(_COLUMNS, row, strict=True))
    d["signals"] = json.loads(d["signals"]) if d["signals"] else {}
    d["verification"] = json.loads(d["verification"]) if d["verification"] else None
    d["summary"] = d["summary"] or ""
    d["scope"] = d["scope"] or ""
    d["notes"] = d["notes"] or ""
    d["flagged"] = bool(d["flagged"])
    return Finding(**d)


def _fetch(cur: duckdb.DuckDBPyConnection, finding_id: int) -> Finding:
    """Read on ``cur`` itself (inside the caller's transaction)."""
    row = cur.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM sop_findings WHERE finding_id = ?",  # noqa: S608
        [int(finding_id)],
    ).fetchone()
    if row is None:
        raise WorkflowError(
            f"Finding {finding_id} does not exist (it may have been removed). Reload the page."
        )
    return _row_to_finding(row)


def get_finding(con: duckdb.DuckDBPyConnection, finding_id: int) -> Finding:
    """One finding; raises :class:`WorkflowError` if it does not exist."""
    return _fetch(con.cursor(), finding_id)


def find_finding(
    con: duckdb.DuckDBPyConnection, policy: str, pain_point: str = ""
) -> Finding | None:
    row = (
        con.cursor()
        .execute(
            f"SELECT {', '.join(_COLUMNS)} FROM sop_findings WHERE policy = ? AND pain_point = ?",  # noqa: S608
            [policy, pain_point or ""],
        )
        .fetchone()
    )
    return _row_to_finding(row) if row else None


def list_findings(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """All persisted findings (workflow state), most recently changed first."""
    cols = [c for c in _COLUMNS if c not in ("signals", "verification")]
    return (
        con.cursor()
        .execute(
            f"SELECT {', '.join(cols)} FROM sop_findings ORDER BY updated_at DESC, finding_id"  # noqa: S608
        )
        .df()
    )


def history(con: duckdb.DuckDBPyConnection, finding_id: int) -> pd.DataFrame:
    """The finding's changes, oldest first: changed_at, user_name, from_status, to_status, note."""
    return (
        con.cursor()
        .execute(
            "SELECT changed_at, user_name, from_status, to_status, note FROM sop_finding_history "
            "WHERE finding_id = ? ORDER BY changed_at, history_id",
            [int(finding_id)],
        )
        .df()
    )


def _signals_json(report, policy: str, pain_point: str) -> str:
    rows = report.signals[
        (report.signals["policy"] == policy) & (report.signals["pain_point"] == pain_point)
    ]
    out = {}
    for r in rows.itertuples():
        out[r.signal] = {
            k: _clean(float(getattr(r, k))) if _clean(getattr(r, k)) is not None else None
            for k in ("value", "low", "high", "n", "baseline", "contribution")
        }
    return json.dumps(out)


def record_findings(
    con: duckdb.DuckDBPyConnection,
    report,
    user: User,
    *,
    only_flagged: bool = True,
    keys: list[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Persist a detection run: insert new flagged findings, refresh existing ones.

    Existing findings present in the report get their latest score, signals and scope
    (their workflow status is kept); new ones are inserted as ``new`` when flagged (or
    for every key in ``keys``, e.g. a finding the user chose to act on). Returns counts.
    """
    require(user, "edit_findings")
    rows = report.findings
    wanted = set(keys or [])
    now = _now()
    inserted = updated = 0
    cur = con.cursor()
    with transaction(cur):
        existing = {
            (p, pp)
            for p, pp in cur.execute("SELECT policy, pain_point FROM sop_findings").fetchall()
        }
        for r in rows.itertuples():
            key = (r.policy, r.pain_point)
            is_new = key not in existing
            if is_new and not ((r.flagged or not only_flagged) and r.ranked) and key not in wanted:
                continue
            values = [
                r.policy,
                r.pain_point,
                _clean(float(r.score)),
                _clean(float(r.score_low)),
                bool(r.flagged),
                None if pd.isna(r.rank) else int(r.rank),
                int(r.cases),
                r.summary,
                _signals_json(report, r.policy, r.pain_point),
                report.scope,
                now,
                now,
                user.name,
                now,
            ]
            cur.execute(
                """INSERT INTO sop_findings (policy, pain_point, score, score_low, flagged, rank, cases,
                       summary, signals, scope, first_detected_at, last_detected_at, updated_by, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (policy, pain_point) DO UPDATE SET score = excluded.score,
                       score_low = excluded.score_low, flagged = excluded.flagged, rank = excluded.rank,
                       cases = excluded.cases, summary = excluded.summary, signals = excluded.signals,
                       scope = excluded.scope, last_detected_at = excluded.last_detected_at""",
                values,
            )
            inserted += is_new
            updated += not is_new
    cur.close()
    audit.record(
        con, user, "sop_detect", report.scope, f"{inserted} new findings, {updated} updated"
    )
    return {"inserted": inserted, "updated": updated}


def _validate_link(link: str | None) -> str:
    link = (link or "").strip()
    if not link.lower().startswith(("https://", "http://")):
        raise WorkflowError(
            "Give the link to the updated SOP section (starting with https://), so "
            "reviewers can see what changed."
        )
    return link


def transition(
    con: duckdb.DuckDBPyConnection,
    finding_id: int,
    to_status: str,
    user: User,
    *,
    note: str = "",
    sop_updated_on: date | None = None,
    sop_link: str | None = None,
    verification: dict | None = None,
    expected_version: int | None = None,
) -> Finding:
    """Move a finding along its workflow; raises :class:`WorkflowError` for illegal moves.

    ``sop_updated`` needs ``sop_updated_on`` (not in the future) and ``sop_link``;
    ``verified`` needs the before/after ``verification`` (``Verification.as_dict()``) with
    status "improved"; it is stored with the finding.
    ``expected_version``: the version the user saw; a newer one raises :class:`ConflictError`.
    """
    require(user, "edit_findings")
    if to_status not in STATUSES:
        raise WorkflowError(f"Unknown status '{to_status}'. Use one of: {', '.join(STATUSES)}.")
    cur = con.cursor()
    with transaction(cur):
        current = _fetch(cur, finding_id)
        if expected_version is not None and current.version != expected_version:
            raise ConflictError(
                f"{current.label} was changed by {current.updated_by or 'someone else'} "
                "since you loaded it. Reload the page and try again."
            )
        allowed = TRANSITIONS.get(current.status, ())
        if to_status not in allowed:
            nice = ", ".join(STATUS_LABELS[s] for s in allowed) or "nothing"
            raise WorkflowError(
                f"A finding that is '{current.status_label}' cannot become "
                f"'{STATUS_LABELS[to_status]}' (allowed next: {nice})."
            )
        now = _now()
        sets = {"status": to_status, "updated_by": user.name, "updated_at": now}
        if to_status == "sent_to_policy":
            sets["sent_at"] = now
        if to_status == "sop_updated":
            if sop_updated_on is None:
                raise WorkflowError(
                    "Give the date the SOP was updated: the before/after check splits on it."
                )
            if isinstance(sop_updated_on, datetime):
                sop_updated_on = sop_updated_on.date()
            if sop_updated_on > now.date():
                raise WorkflowError("The SOP update date cannot be in the future.")
            sets["sop_updated_on"] = sop_updated_on
            sets["sop_link"] = _validate_link(sop_link)
        if to_status == "verified":
            # Verified means the data shows the fix worked, not that someone believes it did.
            result = (verification or {}).get("status")
            if result != "improved":
                raise WorkflowError(
                    "Only a finding whose before/after check shows an improvement can be verified "
                    f"(this check: {result or 'none'}). Wait until it is measurable, or send it back to "
                    "policy if the update did not help."
                )
            sets["verified_at"] = now
            sets["verification"] = json.dumps(verification, default=str)
        if note.strip():
            stamp = f"[{now:%Y-%m-%d %H:%M} {user.name}] {note.strip()}"
            sets["notes"] = f"{current.notes}\n{stamp}".strip()
        assignments = ", ".join(f"{k} = ?" for k in sets)
        cur.execute(
            f"UPDATE sop_findings SET {assignments}, version = version + 1 "  # noqa: S608
            "WHERE finding_id = ?",
            [*sets.values(), int(finding_id)],
        )
        cur.execute(
            "INSERT INTO sop_finding_history (finding_id, changed_at, user_name, from_status, "
            "to_status, note) VALUES (?, ?, ?, ?, ?, ?)",
            [int(finding_id), now, user.name, current.status, to_status, note.strip()],
        )
    cur.close()
    detail = f"{current.status} -> {to_status}"
    if to_status == "sop_updated":
        detail += f"; SOP updated {sets['sop_updated_on']}: {sets['sop_link']}"
    audit.record(
        con,
        user,
        "sop_finding_status",
        f"finding {finding_id}: {current.label}",
        detail + (f"; note: {note.strip()}" if note.strip() else ""),
    )
    return get_finding(con, finding_id)


def add_note(
    con: duckdb.DuckDBPyConnection,
    finding_id: int,
    user: User,
    note: str,
    *,
    expected_version: int | None = None,
) -> Finding:
    """Append a dated note (the status does not change)."""
    require(user, "edit_findings")
    if not note.strip():
        raise WorkflowError("Write the note first.")
    cur = con.cursor()
    with transaction(cur):
        current = _fetch(cur, finding_id)
        if expected_version is not None and current.version != expected_version:
            raise ConflictError(
                f"{current.label} was changed by {current.updated_by or 'someone else'} "
                "since you loaded it. Reload the page and try again."
            )
        now = _now()
        stamp = f"[{now:%Y-%m-%d %H:%M} {user.name}] {note.strip()}"
        cur.execute(
            "UPDATE sop_findings SET notes = ?, updated_by = ?, updated_at = ?, version = version + 1 "
            "WHERE finding_id = ?",
            [f"{current.notes}\n{stamp}".strip(), user.name, now, int(finding_id)],
        )
        cur.execute(
            "INSERT INTO sop_finding_history (finding_id, changed_at, user_name, from_status, "
            "to_status, note) VALUES (?, ?, ?, ?, ?, ?)",
            [int(finding_id), now, user.name, current.status, current.status, note.strip()],
        )
    cur.close()
    audit.record(
        con, user, "sop_finding_note", f"finding {finding_id}: {current.label}", note.strip()
    )
    return get_finding(con, finding_id)
