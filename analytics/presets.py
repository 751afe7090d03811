"""Column mappings: presets for real case-management exports, auto-detection, mapping files.

A :class:`Mapping` says, for each canonical column (see :mod:`analytics.schema`),
which export column(s) it comes from, plus derived columns ("first response =
created + N minutes"), constants ("queue = Regulatory/DSA"), value maps
("Erledigt" -> resolved) and the time zone of naive timestamps. Presets are
mappings whose column names are *candidates*: :func:`resolve` keeps the ones
the file really has. Everything here is data; the SQL lives in
:mod:`analytics.ingest`.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from analytics.errors import MappingError, UnknownPresetError
from analytics.schema import CASE_COLUMN_NAMES

#: Derived-column kinds: value = created/other timestamp + a number of minutes/hours/seconds.
DERIVED_KINDS = ("minutes_after", "hours_after", "seconds_after")
#: Transforms applied to a source value before normalisation.
TRANSFORMS = ("code", "code_list", "json_single")


@dataclass(frozen=True)
class Mapping:
    """How an export's columns become canonical case columns (JSON-serialisable)."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    derived: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    transforms: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    dayfirst: bool | None = None
    preset: str = "custom"

    def to_dict(self) -> dict:
        return {
            "preset": self.preset,
            "columns": {k: list(v) for k, v in self.columns.items()},
            "derived": self.derived,
            "constants": self.constants,
            "values": self.values,
            "transforms": self.transforms,
            "timezone": self.timezone,
            "dayfirst": self.dayfirst,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> Mapping:
        """Build from a dict (a mapping file or a stored provenance record), validating it."""
        unknown = set(data) - {
            "preset",
            "columns",
            "derived",
            "constants",
            "values",
            "transforms",
            "timezone",
            "dayfirst",
        }
        if unknown:
            raise MappingError(f"Unknown mapping keys: {', '.join(sorted(unknown))}.")
        columns = {}
        for target, source in (data.get("columns") or {}).items():
            _check_target(target)
            if isinstance(source, str):
                source = [source]
            if not isinstance(source, list | tuple) or not all(isinstance(s, str) for s in source):
                raise MappingError(
                    f"Mapping for '{target}' must be a column name or a list of names."
                )
            columns[target] = tuple(source)
        derived = {}
        for target, spec in (data.get("derived") or {}).items():
            _check_target(target)
            kinds = [k for k in DERIVED_KINDS if k in spec]
            if len(kinds) != 1 or "column" not in spec:
                raise MappingError(
                    f"Derived column '{target}' needs one of {', '.join(DERIVED_KINDS)} and 'column'."
                )
            derived[target] = {k: str(v) for k, v in spec.items()}
        for target in data.get("constants") or {}:
            _check_target(target)
        for target, how in (data.get("transforms") or {}).items():
            _check_target(target)
            if how.split(":", 1)[0] not in TRANSFORMS:
                raise MappingError(f"Unknown transform '{how}' for '{target}'.")
        return cls(
            columns=columns,
            derived=derived,
            constants={k: str(v) for k, v in (data.get("constants") or {}).items()},
            values={
                k: {str(a).strip().lower(): str(b) for a, b in v.items()}
                for k, v in (data.get("values") or {}).items()
            },
            transforms=dict(data.get("transforms") or {}),
            timezone=data.get("timezone"),
            dayfirst=data.get("dayfirst"),
            preset=data.get("preset") or "custom",
        )


def _check_target(name: str) -> None:
    if name not in CASE_COLUMN_NAMES:
        raise MappingError(
            f"'{name}' is not a case column. Known columns: {', '.join(CASE_COLUMN_NAMES)}."
        )


@dataclass(frozen=True)
class Preset:
    """A named mapping for one export format, with headers that identify it."""

    name: str
    label: str
    mapping: Mapping
    signature: tuple[str, ...]
    description: str = ""


def _norm(name: str) -> str:
    """Header key for fuzzy matching: lower case, alphanumerics only."""
    return re.sub(r"[^0-9a-z]+", "", name.lower())


# --- Generic synonyms: used by auto-mapping when no preset matches ---------------------------
GENERIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "case_id": (
        "case_id",
        "caseid",
        "id",
        "ticket_id",
        "ticketid",
        "case_number",
        "casenumber",
        "ticket",
        "ticket_number",
        "issue_key",
        "key",
        "uuid",
        "reference",
        "ref",
    ),
    "created_at": (
        "created_at",
        "created",
        "createdat",
        "created_date",
        "createddate",
        "created_time",
        "date_opened",
        "opened",
        "opened_at",
        "creation_date",
        "submitted_at",
        "reported_at",
        "date_time_opened",
        "date",
        "timestamp",
    ),
    "status": ("status", "state", "case_status", "ticket_status"),
    "first_response_at": (
        "first_response_at",
        "first_response",
        "first_reply_at",
        "first_responded_at",
    ),
    "resolved_at": (
        "resolved_at",
        "resolved",
        "solved_at",
        "closed_at",
        "date_closed",
        "resolution_date",
        "resolved_time",
        "closed_date",
        "date_time_closed",
    ),
    "updated_at": (
        "updated_at",
        "updated",
        "last_modified",
        "last_updated",
        "modified_at",
        "last_update",
        "last_modified_date",
    ),
    "reopen_count": ("reopen_count", "reopens", "reopened_count", "times_reopened"),
    "sla_due_at": ("sla_due_at", "due_date", "due_at", "due_by", "sla_due", "deadline"),
    "sla_breached": ("sla_breached", "sla_breach", "breached", "sla_violated"),
    "channel": (
        "channel",
        "via",
        "via_channel",
        "source",
        "origin",
        "case_origin",
        "intake_channel",
    ),
    "region": ("region", "market_region", "geo", "sales_region"),
    "country": ("country", "country_code", "market", "reporter_country"),
    "language": ("language", "lang", "locale"),
    "queue": ("queue", "group", "assignment_group", "team_queue"),
    "priority": ("priority", "urgency"),
    "severity": ("severity", "sev", "impact"),
    "reporter_type": ("reporter_type", "requester_type", "submitter_type"),
    "category": ("category", "type", "case_type", "issue_type", "ticket_type", "reason"),
    "policy": ("policy", "policy_area", "guideline", "sop", "violation_type"),
    "sub_policy": ("sub_policy", "subpolicy", "policy_detail", "sub_category", "subcategory"),
    "product_surface": ("product_surface", "surface", "product", "feature", "product_area"),
    "app_version": ("app_version", "version", "client_version", "build"),
    "subject": ("subject", "title", "summary", "headline"),
    "description": ("description", "body", "details", "text", "message", "content", "comment"),
    "agent_notes": ("agent_notes", "internal_notes", "notes", "internal_comment"),
    "resolution_notes": ("resolution_notes", "resolution", "resolution_comment", "closing_notes"),
    "tags": ("tags", "labels", "tag"),
    "outcome": ("outcome", "decision", "action_taken", "enforcement_action"),
    "appeal_outcome": ("appeal_outcome", "appeal_result", "appeal_status", "appeal"),
    "overturned": ("overturned", "is_overturned", "reversed"),
    "qa_score": ("qa_score", "quality_score", "qa"),
    "csat": ("csat", "satisfaction", "satisfaction_score", "csat_score", "rating"),
    "agent_id": ("agent_id", "assignee_id", "owner_id", "agent", "assignee"),
    "team": ("team", "assignee_group", "owning_team"),
    "linked_ticket": ("linked_ticket", "jira", "bug", "bug_id", "linked_issue", "related_ticket"),
    "event_id": ("event_id", "event", "incident", "incident_id", "major_event"),
    "sensitive": ("sensitive", "is_sensitive", "graphic", "sensitive_content"),
}

_ZENDESK = Mapping(
    preset="zendesk",
    columns={
        "case_id": ("Id", "ID", "id", "Ticket ID"),
        "created_at": ("Created at", "created_at"),
        "updated_at": ("Updated at", "updated_at"),
        "resolved_at": ("Solved at", "solved_at"),
        "sla_due_at": ("Due date", "due_at"),
        "status": ("Status", "status"),
        "priority": ("Priority", "priority"),
        "channel": ("Via", "via.channel"),
        "queue": ("Group", "group_id"),
        "category": ("Ticket type", "type", "Type"),
        "subject": ("Subject", "subject"),
        "description": ("Description", "description"),
        "tags": ("Tags", "tags"),
        "agent_id": ("Assignee id", "assignee_id", "Assignee"),
        "reopen_count": ("Reopens",),
        "csat": ("Satisfaction Score", "satisfaction_rating.score"),
        "country": ("Country [list]", "Country", "Requester country"),
        "region": ("Region [list]", "Region"),
        "policy": ("Policy [list]", "Policy"),
        "product_surface": ("Product surface [list]", "Product surface"),
        "language": ("Requester language", "Language"),
    },
    derived={
        "first_response_at": {
            "minutes_after": "created_at",
            "column": "First reply time in minutes",
        }
    },
    values={
        "csat": {"good": "5", "bad": "1", "offered": "", "unoffered": ""},
        "channel": {
            "web widget": "web form",
            "api": "web form",
            "mobile sdk": "in-app report",
            "web service": "web form",
            "mobile": "in-app report",
        },
    },
)

_SALESFORCE = Mapping(
    preset="salesforce",
    columns={
        "case_id": ("CaseNumber", "Case Number", "Id"),
        "created_at": ("CreatedDate", "Date/Time Opened", "Opened Date"),
        "resolved_at": ("ClosedDate", "Date/Time Closed", "Closed Date"),
        "updated_at": ("LastModifiedDate", "Last Modified Date"),
        "status": ("Status",),
        "priority": ("Priority",),
        "channel": ("Origin", "Case Origin"),
        "category": ("Type", "Case Type"),
        "policy": ("Reason", "Case Reason", "Policy__c"),
        "subject": ("Subject",),
        "description": ("Description",),
        "agent_id": ("OwnerId", "Case Owner"),
        "country": ("Country__c", "Account Billing Country", "Country"),
        "region": ("Region__c", "Region"),
        "product_surface": ("Product__c", "Product"),
        "sla_due_at": ("SLA_Due__c", "Milestone Target Date", "SlaExitDate"),
        "first_response_at": ("First_Response__c", "First Response Date"),
        "linked_ticket": ("Jira_Issue__c",),
        "language": ("Language__c", "Language"),
        "appeal_outcome": ("Appeal_Outcome__c",),
        "outcome": ("Resolution__c", "Outcome__c"),
    },
)

_JIRA = Mapping(
    preset="jira",
    columns={
        "case_id": ("Issue key", "Key"),
        "created_at": ("Created",),
        "updated_at": ("Updated",),
        "resolved_at": ("Resolved",),
        "sla_due_at": ("Due Date", "Due date"),
        "status": ("Status",),
        "priority": ("Priority",),
        "category": ("Custom field (Request Type)", "Issue Type"),
        "subject": ("Summary",),
        "description": ("Description",),
        "agent_id": ("Assignee",),
        "tags": ("Labels",),  # repeated columns Labels, Labels_2, ... are all joined
        "channel": ("Custom field (Source)", "Custom field (Channel)"),
        "country": ("Custom field (Country)",),
        "region": ("Custom field (Region)",),
        "policy": ("Custom field (Policy)",),
        "product_surface": ("Custom field (Product surface)", "Component/s"),
        "app_version": ("Affects Version/s", "Custom field (App version)"),
        "csat": ("Satisfaction rating", "Custom field (Satisfaction)"),
        "resolution_notes": ("Resolution",),
        "linked_ticket": ("Outward issue link (Relates)", "Inward issue link (Relates)"),
    },
    dayfirst=True,  # Jira's default export format is 14/Mar/24 10:05 AM
)

_FRESHDESK = Mapping(
    preset="freshdesk",
    columns={
        "case_id": ("Ticket ID", "Ticket Id"),
        "created_at": ("Created time", "Created Time"),
        "resolved_at": ("Resolved time", "Resolved Time", "Closed time"),
        "updated_at": ("Last update time", "Last Updated Time"),
        "first_response_at": ("Initial response time",),
        "sla_due_at": ("Due by Time", "Due by time"),
        "status": ("Status",),
        "priority": ("Priority",),
        "channel": ("Source",),
        "category": ("Type",),
        "queue": ("Group",),
        "subject": ("Subject",),
        "description": ("Description",),
        "agent_id": ("Agent",),
        "tags": ("Tags",),
        "product_surface": ("Product",),
        "csat": ("Survey results", "Customer satisfaction"),
        "country": ("Country", "Contact country"),
        "language": ("Language",),
        "sla_breached": ("Resolution status",),
    },
    values={
        "channel": {
            "portal": "web form",
            "feedback widget": "web form",
            "outbound email": "email",
            "mobihelp": "in-app report",
        },
        "sla_breached": {"within sla": "false", "sla violated": "true", "overdue": "true"},
        "csat": {
            "extremely happy": "5",
            "happy": "4",
            "neutral": "3",
            "unhappy": "2",
            "extremely unhappy": "1",
        },
    },
)

# EU DSA Transparency Database statements of reasons. Category codes changed in 2025:
# both the 2024 codes and the current ones are mapped to readable labels.
DSA_CATEGORY_LABELS: dict[str, str] = {
    "STATEMENT_CATEGORY_ANIMAL_WELFARE": "Animal welfare",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION": "Consumer information infringements",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE": "Cyber violence",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": "Cyber violence against women",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": "Data protection and privacy violations",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": "Illegal or harmful speech",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": "Intellectual property infringements",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": "Negative effects on civic discourse or elections",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": "Type of alleged illegal content not specified by the notifier",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": "Other violation of provider's terms and conditions",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": "Protection of minors",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": "Risk for public security",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": "Scams and/or fraud",
    "STATEMENT_CATEGORY_SELF_HARM": "Self-harm",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": "Unsafe, non-compliant or prohibited products",
    "STATEMENT_CATEGORY_VIOLENCE": "Violence",
    # 2024 codes, mapped onto the 2025 labels where the Commission merged them.
    "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE": "Other violation of provider's terms and conditions",
    "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS": "Unsafe, non-compliant or prohibited products",
    "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT": "Pornography or sexualized content",
    "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR": "Non-consensual behaviour",
}
DSA_CODE_LABELS: dict[str, str] = {
    "DECISION_GROUND_ILLEGAL_CONTENT": "Illegal content",
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": "Incompatible with terms and conditions",
    "SOURCE_ARTICLE_16": "in-app report",
    "SOURCE_TRUSTED_FLAGGER": "trusted flagger",
    "SOURCE_VOLUNTARY": "proactive detection",
    "SOURCE_TYPE_OTHER_NOTIFICATION": "other notification",
    "CONTENT_TYPE_APP": "app",
    "CONTENT_TYPE_AUDIO": "audio",
    "CONTENT_TYPE_PRODUCT": "product listing",
    "CONTENT_TYPE_SYNTHETIC_MEDIA": "synthetic media",
    "CONTENT_TYPE_TEXT": "text",
    "CONTENT_TYPE_VIDEO": "video",
    "CONTENT_TYPE_IMAGE": "image",
    "CONTENT_TYPE_OTHER": "other",
    "DECISION_VISIBILITY_CONTENT_REMOVED": "content removed",
    "DECISION_VISIBILITY_CONTENT_DISABLED": "access disabled",
    "DECISION_VISIBILITY_CONTENT_DEMOTED": "content demoted",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": "age restricted",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": "interaction restricted",
    "DECISION_VISIBILITY_CONTENT_LABELLED": "content labelled",
    "DECISION_VISIBILITY_OTHER": "other visibility restriction",
    "DECISION_ACCOUNT_SUSPENDED": "account suspended",
    "DECISION_ACCOUNT_TERMINATED": "account banned",
    "KEYWORD_ADULT_SEXUAL_MATERIAL": "Adult sexual material",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS": "Age-specific restrictions concerning minors",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL": "Child sexual abuse material",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION": "Cyber bullying and intimidation",
    "KEYWORD_CYBER_HARASSMENT": "Cyber harassment",
    "KEYWORD_COPYRIGHT_INFRINGEMENT": "Copyright infringements",
    "KEYWORD_DEFAMATION": "Defamation",
    "KEYWORD_HATE_SPEECH": "Hate speech",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING": "Impersonation or account hijacking",
    "KEYWORD_PHISHING": "Phishing",
    "KEYWORD_SELF_HARM": "Content promoting self-harm",
}

_DSA = Mapping(
    preset="dsa_sor",
    columns={
        "case_id": ("uuid",),
        "created_at": ("created_at",),
        "subject": ("incompatible_content_ground", "illegal_content_legal_ground", "category"),
        "description": (
            "incompatible_content_explanation",
            "illegal_content_explanation",
            "decision_facts",
        ),
        "agent_notes": ("decision_facts",),
        "resolution_notes": ("decision_visibility_other",),
        "category": ("category",),
        "policy": ("decision_ground",),
        "sub_policy": ("category_specification",),
        "channel": ("source_type",),
        "reporter_type": ("source_type",),
        "product_surface": ("content_type",),
        "language": ("content_language",),
        "country": ("territorial_scope",),
        "outcome": (
            "decision_visibility",
            "decision_account",
            "decision_provision",
            "decision_monetary",
        ),
        "team": ("platform_name",),
    },
    transforms={
        "category": "code",
        "subject": "code",
        "policy": "code",
        "sub_policy": "code_list",
        "channel": "code",
        "reporter_type": "code",
        "product_surface": "code_list",
        "outcome": "code_list",
        "country": "json_single",
    },
    constants={"queue": "Regulatory/DSA", "status": "closed", "region": "EMEA"},
    values={
        "__codes__": {k.lower(): v for k, v in {**DSA_CATEGORY_LABELS, **DSA_CODE_LABELS}.items()}
    },
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "zendesk",
            "Zendesk ticket export",
            _ZENDESK,
            (
                "Id",
                "Subject",
                "Requester",
                "Via",
                "Created at",
                "Solved at",
                "Ticket type",
                "Satisfaction Score",
                "First reply time in minutes",
                "Group",
            ),
            "Views > Export as CSV, or the incremental export JSON.",
        ),
        Preset(
            "salesforce",
            "Salesforce Case export",
            _SALESFORCE,
            (
                "CaseNumber|Case Number",
                "Origin|Case Origin",
                "CreatedDate|Date/Time Opened",
                "ClosedDate|Date/Time Closed",
                "Reason|Case Reason",
                "OwnerId|Case Owner",
                "Subject",
            ),
            "Data Loader (API names) or a Cases report (labels).",
        ),
        Preset(
            "jira",
            "Jira Service Management issue CSV",
            _JIRA,
            (
                "Issue key",
                "Issue id",
                "Summary",
                "Issue Type",
                "Project key",
                "Resolution",
                "Reporter",
                "Created",
                "Resolved",
                "Labels",
            ),
            "Filters > Export > CSV (all fields); dates like 14/Mar/24 10:05 AM.",
        ),
        Preset(
            "freshdesk",
            "Freshdesk ticket export",
            _FRESHDESK,
            (
                "Ticket ID",
                "Created time",
                "Resolved time",
                "Source",
                "Agent",
                "Resolution status",
                "First response status",
                "Due by Time",
                "Group",
            ),
            "Tickets > Export (CSV or Excel).",
        ),
        Preset(
            "dsa_sor",
            "EU DSA Transparency Database (statements of reasons)",
            _DSA,
            (
                "uuid",
                "decision_visibility",
                "decision_ground",
                "category",
                "source_type",
                "territorial_scope",
                "platform_name",
                "decision_facts",
                "content_type",
                "application_date",
            ),
            "Daily dumps of the Transparency Database; 2024 and 2025 category codes.",
        ),
    )
}


def detect_preset(headers: list[str]) -> tuple[str, float]:
    """The preset whose signature headers best match, and the share matched (0..1).

    A signature entry "A|B" matches either spelling (API name or report label).
    """
    have = {_norm(h) for h in headers}
    best, best_score = "generic", 0.0
    for preset in PRESETS.values():
        groups = [{_norm(alt) for alt in entry.split("|")} for entry in preset.signature]
        score = sum(bool(g & have) for g in groups) / len(groups)
        if score > best_score:
            best, best_score = preset.name, score
    return (best, best_score) if best_score >= 0.5 else ("generic", best_score)


def _generic_mapping(headers: list[str]) -> Mapping:
    by_norm = {}
    for h in headers:
        by_norm.setdefault(_norm(h), h)
    columns: dict[str, tuple[str, ...]] = {}
    used: set[str] = set()
    # Canonical names first, so a header literally called "category" is not taken as "type".
    for target in CASE_COLUMN_NAMES:
        exact = by_norm.get(_norm(target))
        if exact and exact not in used:
            columns[target] = (exact,)
            used.add(exact)
    for target, synonyms in GENERIC_SYNONYMS.items():
        if target in columns:
            continue
        for syn in synonyms:
            header = by_norm.get(_norm(syn))
            if header and header not in used:
                columns[target] = (header,)
                used.add(header)
                break
    return Mapping(columns=columns, preset="generic")


def resolve(headers: list[str], preset: str | None = None, user: Mapping | None = None) -> Mapping:
    """The concrete mapping for a file: a preset (named, or detected) narrowed to the headers
    the file has, filled in with generic synonyms, then overridden by a user mapping."""
    if preset in (None, "auto"):
        preset = user.preset if user and user.preset not in ("custom", "generic", "auto") else None
        preset = preset or detect_preset(headers)[0]
    if preset != "generic" and preset not in PRESETS:
        raise UnknownPresetError(
            f"Unknown preset '{preset}'. Choose one of: auto, generic, {', '.join(PRESETS)}."
        )
    generic = _generic_mapping(headers)
    present = set(headers)
    if preset == "generic":
        base = generic
    else:
        template = PRESETS[preset].mapping
        columns: dict[str, tuple[str, ...]] = {}
        for target, candidates in template.columns.items():
            found = tuple(c for c in candidates if c in present)
            if target == "tags" and found:
                # Repeated headers (Jira's Labels, Labels_2, ...) are all part of the value.
                found = tuple(
                    h
                    for h in headers
                    if h == found[0] or re.fullmatch(re.escape(found[0]) + r"_\d+", h)
                )
            elif target in ("outcome", "subject", "description") and len(found) > 1:
                pass  # first non-empty of several columns
            else:
                found = found[:1]
            if found:
                columns[target] = found
        used = {c for cols in columns.values() for c in cols}
        for target, cols in generic.columns.items():
            if target not in columns and target not in template.constants and not used & set(cols):
                columns[target] = cols
        derived = {t: d for t, d in template.derived.items() if d["column"] in present}
        base = replace(template, columns=columns, derived=derived)
    if user is not None:
        base = replace(
            base,
            columns={**base.columns, **user.columns},
            derived={**base.derived, **user.derived},
            constants={**base.constants, **user.constants},
            values={
                k: {**base.values.get(k, {}), **user.values.get(k, {})}
                for k in set(base.values) | set(user.values)
            },
            transforms={**base.transforms, **user.transforms},
            timezone=user.timezone or base.timezone,
            dayfirst=user.dayfirst if user.dayfirst is not None else base.dayfirst,
        )
    missing = [c for cols in base.columns.values() for c in cols if c not in present]
    if missing:
        raise MappingError(
            f"The mapping names columns the file does not have: {', '.join(sorted(set(missing)))}. "
            f"The file's columns are: {', '.join(headers)}."
        )
    return base


def check_required(mapping: Mapping, headers: list[str]) -> None:
    """Raise :class:`MappingError` unless the mapping yields id, creation time and some text."""
    problems = []
    if "case_id" not in mapping.columns and "case_id" not in mapping.constants:
        problems.append("no column for the case id")
    if "created_at" not in mapping.columns:
        problems.append("no column for the creation time")
    if not ({"subject", "description"} & set(mapping.columns)):
        problems.append("no column for the subject or the description")
    if problems:
        hint = ""
        if len(headers) == 1 and any(d in headers[0] for d in ";|\t,"):
            hint = (
                " The header is a single column, so the file's delimiter was probably "
                "guessed wrong: choose the delimiter explicitly."
            )
        raise MappingError(
            f"Cannot import: {'; '.join(problems)}. Map them in the Data page or a mapping "
            f"file (--mapping). Columns found: {', '.join(headers[:40])}.{hint}"
        )


def load_mapping_file(path: Path | str) -> Mapping:
    """Read a user mapping file (.yaml/.yml or .toml). See README, "Mapping files"."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"Cannot read the mapping file {path}: {exc.strerror}.") from exc
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml and toml raise their own error types
        raise MappingError(f"The mapping file {path.name} is not valid YAML/TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(f"The mapping file {path.name} must contain a table of settings.")
    return Mapping.from_dict(data)
