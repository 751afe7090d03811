"""The escalation case data model: canonical columns and vocabularies.

One row per case. Timestamps are stored as naive ``TIMESTAMP`` values in UTC
(naive rather than ``TIMESTAMPTZ`` so that every engine — DuckDB, Spark,
pandas — reads the same instant without a session time zone in between).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One canonical case column."""

    name: str
    sql_type: str  # DuckDB type
    kind: str  # id, timestamp, category, text, number, bool, integer
    description: str


CASE_COLUMNS: tuple[Column, ...] = (
    Column("case_id", "VARCHAR", "id", "Case identifier in the source system"),
    Column("created_at", "TIMESTAMP", "timestamp", "When the case was opened (UTC)"),
    # lifecycle
    Column("status", "VARCHAR", "category", "open, pending, resolved, closed, reopened"),
    Column("first_response_at", "TIMESTAMP", "timestamp", "First agent response (UTC)"),
    Column("resolved_at", "TIMESTAMP", "timestamp", "Resolution time (UTC)"),
    Column("updated_at", "TIMESTAMP", "timestamp", "Last change in the source system (UTC)"),
    Column("reopen_count", "INTEGER", "integer", "Times the case was reopened"),
    Column("sla_due_at", "TIMESTAMP", "timestamp", "Resolution deadline (UTC)"),
    Column("sla_breached", "BOOLEAN", "bool", "Resolved after the deadline, or open past it"),
    # routing
    Column("channel", "VARCHAR", "category", "How the case reached the team"),
    Column("region", "VARCHAR", "category", "APAC, EMEA, LATAM or NA"),
    Column("country", "VARCHAR", "category", "ISO 3166 alpha-2 country code"),
    Column("language", "VARCHAR", "category", "Language of the case text"),
    Column("queue", "VARCHAR", "category", "Escalation queue"),
    Column("priority", "VARCHAR", "category", "low, normal, high, urgent"),
    Column("severity", "VARCHAR", "category", "S1 (most severe) .. S4"),
    Column("reporter_type", "VARCHAR", "category", "user, creator, trusted flagger, authority..."),
    # substance
    Column("category", "VARCHAR", "category", "Case category"),
    Column("policy", "VARCHAR", "category", "Community-guideline section or SOP"),
    Column("sub_policy", "VARCHAR", "category", "Sub-section of the policy"),
    Column("product_surface", "VARCHAR", "category", "video, LIVE, comments, DM, profile, ..."),
    Column("app_version", "VARCHAR", "category", "App version the reporter used"),
    Column("subject", "VARCHAR", "text", "Case subject"),
    Column("description", "VARCHAR", "text", "Case description (user's words)"),
    Column("agent_notes", "VARCHAR", "text", "Internal notes"),
    Column("resolution_notes", "VARCHAR", "text", "How it was resolved"),
    Column("tags", "VARCHAR", "text", "Comma-separated tags"),
    # decision
    Column("outcome", "VARCHAR", "category", "Decision, e.g. content removed, no violation"),
    Column("appeal_outcome", "VARCHAR", "category", "upheld, overturned, pending"),
    Column("overturned", "BOOLEAN", "bool", "Decision reversed on appeal or QA"),
    Column("qa_score", "DOUBLE", "number", "Quality review score, 0-100"),
    Column("csat", "DOUBLE", "number", "Customer satisfaction, 1-5"),
    # links
    Column("agent_id", "VARCHAR", "category", "Pseudonymous agent id"),
    Column("team", "VARCHAR", "category", "Handling team"),
    Column("linked_ticket", "VARCHAR", "category", "Bug-tracker id"),
    Column("event_id", "VARCHAR", "category", "Major-event tag"),
    Column("sensitive", "BOOLEAN", "bool", "Text is traumatic or personal: blur by default"),
)

#: Columns the importer adds: provenance, unmapped source fields, change detection.
SYSTEM_COLUMNS: tuple[Column, ...] = (
    Column("extra", "JSON", "text", "Source fields with no canonical column, kept as JSON"),
    Column("import_id", "BIGINT", "integer", "Import that last wrote this row"),
    Column("row_hash", "VARCHAR", "id", "Hash of the canonical values, for unchanged detection"),
)

CASE_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in CASE_COLUMNS)
COLUMN_BY_NAME: dict[str, Column] = {c.name: c for c in CASE_COLUMNS + SYSTEM_COLUMNS}
TIMESTAMP_COLUMNS = tuple(c.name for c in CASE_COLUMNS if c.kind == "timestamp")
TEXT_COLUMNS = ("subject", "description", "agent_notes", "resolution_notes")
REQUIRED = ("case_id", "created_at")
REQUIRED_ONE_OF = ("subject", "description")

#: Dimensions users filter and slice by.
DIMENSIONS: tuple[str, ...] = (
    "region",
    "country",
    "channel",
    "queue",
    "category",
    "policy",
    "priority",
    "product_surface",
    "status",
    "language",
    "app_version",
    "reporter_type",
    "team",
)

STATUSES = ("open", "pending", "resolved", "closed", "reopened")
OPEN_STATUSES = ("open", "pending", "reopened")
PRIORITIES = ("low", "normal", "high", "urgent")
REGIONS = ("APAC", "EMEA", "LATAM", "NA")
CHANNELS = (
    "in-app report",
    "web form",
    "email",
    "social",
    "regulator/authority",
    "trusted flagger",
    "law enforcement",
    "internal/leadership",
    "legal",
    "phone",
    "chat",
)

# Source values seen in real exports, lower-cased, mapped to the canonical vocabulary.
STATUS_SYNONYMS: dict[str, str] = {
    "new": "open",
    "open": "open",
    "opened": "open",
    "in progress": "open",
    "in_progress": "open",
    "working": "open",
    "escalated": "open",
    "assigned": "open",
    "to do": "open",
    "todo": "open",
    "triage": "open",
    "pending": "pending",
    "hold": "pending",
    "on-hold": "pending",
    "on hold": "pending",
    "waiting": "pending",
    "waiting for customer": "pending",
    "waiting for support": "pending",
    "waiting on customer": "pending",
    "waiting on third party": "pending",
    "awaiting info": "pending",
    "solved": "resolved",
    "resolved": "resolved",
    "done": "resolved",
    "fixed": "resolved",
    "completed": "resolved",
    "closed": "closed",
    "cancelled": "closed",
    "canceled": "closed",
    "won't do": "closed",
    "rejected": "closed",
    "archived": "closed",
    "reopened": "reopened",
    "re-opened": "reopened",
}

PRIORITY_SYNONYMS: dict[str, str] = {
    "urgent": "urgent",
    "critical": "urgent",
    "blocker": "urgent",
    "highest": "urgent",
    "emergency": "urgent",
    "p0": "urgent",
    "p1": "urgent",
    "sev1": "urgent",
    "sev 1": "urgent",
    "s1": "urgent",
    "1": "urgent",
    "high": "high",
    "major": "high",
    "p2": "high",
    "sev2": "high",
    "sev 2": "high",
    "s2": "high",
    "2": "high",
    "normal": "normal",
    "medium": "normal",
    "moderate": "normal",
    "p3": "normal",
    "sev3": "normal",
    "sev 3": "normal",
    "s3": "normal",
    "3": "normal",
    "low": "low",
    "minor": "low",
    "lowest": "low",
    "trivial": "low",
    "p4": "low",
    "p5": "low",
    "sev4": "low",
    "sev 4": "low",
    "s4": "low",
    "4": "low",
    "5": "low",
}

SEVERITY_SYNONYMS: dict[str, str] = {
    **{
        k: {"urgent": "S1", "high": "S2", "normal": "S3", "low": "S4"}[v]
        for k, v in PRIORITY_SYNONYMS.items()
    },
}

CHANNEL_SYNONYMS: dict[str, str] = {
    "in-app report": "in-app report",
    "in-app": "in-app report",
    "in app": "in-app report",
    "app": "in-app report",
    "mobile": "in-app report",
    "report": "in-app report",
    "web form": "web form",
    "web": "web form",
    "webform": "web form",
    "form": "web form",
    "api": "web form",
    "email": "email",
    "e-mail": "email",
    "mail": "email",
    "social": "social",
    "twitter": "social",
    "facebook": "social",
    "x": "social",
    "social media": "social",
    "regulator": "regulator/authority",
    "authority": "regulator/authority",
    "regulator/authority": "regulator/authority",
    "government": "regulator/authority",
    "trusted flagger": "trusted flagger",
    "trusted_flagger": "trusted flagger",
    "law enforcement": "law enforcement",
    "police": "law enforcement",
    "le request": "law enforcement",
    "internal": "internal/leadership",
    "leadership": "internal/leadership",
    "internal/leadership": "internal/leadership",
    "exec": "internal/leadership",
    "legal": "legal",
    "counsel": "legal",
    "phone": "phone",
    "voice": "phone",
    "call": "phone",
    "chat": "chat",
    "live chat": "chat",
    "messaging": "chat",
    "whatsapp": "chat",
}

APPEAL_SYNONYMS: dict[str, str] = {
    "overturned": "overturned",
    "reversed": "overturned",
    "restored": "overturned",
    "granted": "overturned",
    "accepted": "overturned",
    "upheld": "upheld",
    "denied": "upheld",
    "rejected": "upheld",
    "maintained": "upheld",
    "pending": "pending",
    "in review": "pending",
}

TRUE_STRINGS = ("true", "t", "yes", "y", "1", "x", "sensitive", "overturned")
FALSE_STRINGS = ("false", "f", "no", "n", "0", "")
