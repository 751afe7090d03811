"""The DuckDB store: opening the file, schema migrations, and small helpers.

Store management talks to DuckDB directly (analytical reads go through Ibis, see
:mod:`analytics.engine`). The schema is versioned: :data:`MIGRATIONS` is an
ordered list, and :func:`connect` applies the ones a database has not seen yet,
each in its own transaction. Adding a table for a new analysis is one obvious
change: append a migration.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from analytics.config import get_settings
from analytics.errors import DatabaseLockedError, DatabaseUnreadableError
from analytics.schema import CASE_COLUMNS, SYSTEM_COLUMNS


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (column/table name taken from a file header)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Quote a string literal where DuckDB requires a constant (e.g. a struct field name)."""
    return "'" + text.replace("'", "''") + "'"


def _case_columns_ddl(extra: str = "") -> str:
    cols = [f"{quote_ident(c.name)} {c.sql_type}" for c in CASE_COLUMNS + SYSTEM_COLUMNS]
    return ",\n    ".join(cols + ([extra] if extra else []))


# Each migration: (version, description, list of SQL statements or a callable(con)).
Migration = tuple[int, str, list[str] | Callable[[duckdb.DuckDBPyConnection], None]]

MIGRATIONS: list[Migration] = [
    (
        1,
        "cases, import provenance, quarantine, case versions, events, demo truth",
        [
            "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
            # No primary key on case_id: uniqueness is kept by the importer's upsert, and a
            # million-key ART index would cost memory and slow every bulk load.
            f"CREATE TABLE cases (\n    {_case_columns_ddl()}\n)",
            "CREATE SEQUENCE import_id_seq START 1",
            """CREATE TABLE imports (
                import_id BIGINT PRIMARY KEY,
                file_name VARCHAR,
                sha256 VARCHAR,
                format VARCHAR,
                preset VARCHAR,
                mapping JSON,
                timezone VARCHAR,
                rows_read BIGINT,
                inserted BIGINT,
                updated BIGINT,
                unchanged BIGINT,
                quarantined BIGINT,
                warnings BIGINT,
                started_at TIMESTAMP,
                finished_at TIMESTAMP,
                user_name VARCHAR,
                status VARCHAR,
                is_demo BOOLEAN DEFAULT false,
                notes VARCHAR
            )""",
            """CREATE TABLE quarantine (
                import_id BIGINT,
                row_number BIGINT,
                raw JSON,
                reason VARCHAR
            )""",
            # Prior versions of rows an import replaced, so deleting that import restores them.
            f"CREATE TABLE case_versions (\n    {_case_columns_ddl('replaced_by BIGINT')}\n)",
            """CREATE TABLE events (
                event_id VARCHAR PRIMARY KEY,
                title VARCHAR NOT NULL,
                kind VARCHAR,
                starts_at TIMESTAMP NOT NULL,
                ends_at TIMESTAMP,
                scope JSON,
                description VARCHAR,
                created_by VARCHAR,
                created_at TIMESTAMP DEFAULT current_timestamp
            )""",
            # Ground truth of the generated demo history (empty for real data).
            "CREATE TABLE demo_truth (case_id VARCHAR, topic VARCHAR, scenario VARCHAR)",
        ],
    ),
    (
        2,
        "audit log of reveals, exports, imports and edits",
        [
            "CREATE SEQUENCE audit_id_seq START 1",
            """CREATE TABLE audit_log (
                audit_id BIGINT DEFAULT nextval('audit_id_seq'),
                logged_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC'),
                user_name VARCHAR,
                role VARCHAR,
                action VARCHAR,
                target VARCHAR,
                detail VARCHAR
            )""",
        ],
    ),
    (
        3,
        "pain points: embeddings, clusters, assignments, fits, lineage, curation",
        [
            # One vector per distinct case text and model: identical texts are embedded once.
            "CREATE TABLE text_embeddings (model VARCHAR, text_hash UBIGINT, vector FLOAT[])",
            """CREATE TABLE pp_fits (
                fit_id BIGINT PRIMARY KEY, fitted_at TIMESTAMP, representation VARCHAR,
                n_cases BIGINT, n_clusters INTEGER, unassigned BIGINT, params JSON,
                user_name VARCHAR, seconds DOUBLE, embedder BLOB
            )""",
            """CREATE TABLE pain_points (
                pain_point INTEGER, fit_id BIGINT, auto_name VARCHAR, top_terms JSON,
                centroid FLOAT[], threshold DOUBLE, size BIGINT, representative_case_ids JSON,
                born_fit BIGINT, status VARCHAR, updated_at TIMESTAMP
            )""",
            """CREATE TABLE pain_point_assignments (
                case_id VARCHAR, pain_point INTEGER, similarity DOUBLE, fit_id BIGINT
            )""",
            """CREATE TABLE pp_lineage (
                fit_id BIGINT, kind VARCHAR, old_ids JSON, new_ids JSON, n_items BIGINT,
                logged_at TIMESTAMP
            )""",
            """CREATE TABLE pp_curation (
                pain_point INTEGER, action VARCHAR, value VARCHAR, user_name VARCHAR,
                logged_at TIMESTAMP
            )""",
        ],
    ),
    (
        4,
        "trending-risk alerts, their workflow history, scan log and a daily count cache",
        [
            "CREATE SEQUENCE trend_alert_id_seq START 1",
            # One row per ongoing trend: re-detection updates it (alert_key is stable), never
            # duplicates it. related: the other slices/terms of the same trend.
            """CREATE TABLE trend_alerts (
                alert_id BIGINT PRIMARY KEY DEFAULT nextval('trend_alert_id_seq'),
                alert_key VARCHAR NOT NULL UNIQUE,
                origin VARCHAR NOT NULL,
                dimension VARCHAR NOT NULL,
                slice_value VARCHAR NOT NULL,
                slice JSON,
                related JSON,
                status VARCHAR NOT NULL DEFAULT 'new',
                kind VARCHAR,
                onset DATE,
                first_detected DATE,
                last_detected DATE,
                fired_on DATE,
                times_fired INTEGER NOT NULL DEFAULT 1,
                observed DOUBLE,
                expected DOUBLE,
                growth DOUBLE,
                p_value DOUBLE,
                q_value DOUBLE,
                baseline_week JSON,
                risk_score DOUBLE,
                peak_risk_score DOUBLE,
                risk JSON,
                spread JSON,
                sparkline JSON,
                example_ids JSON,
                scope JSON,
                team VARCHAR,
                owner_name VARCHAR,
                follow_up DATE,
                linked_ticket VARCHAR,
                dismissed_at TIMESTAMP,
                dismissed_level DOUBLE,
                dismissed_risk DOUBLE,
                resolved_at TIMESTAMP,
                resolved_on DATE,
                created_at TIMESTAMP,
                updated_at TIMESTAMP,
                updated_by VARCHAR,
                version INTEGER NOT NULL DEFAULT 1
            )""",
            "CREATE SEQUENCE trend_alert_history_id_seq START 1",
            """CREATE TABLE trend_alert_history (
                history_id BIGINT PRIMARY KEY DEFAULT nextval('trend_alert_history_id_seq'),
                alert_id BIGINT NOT NULL,
                changed_at TIMESTAMP,
                user_name VARCHAR,
                change VARCHAR NOT NULL,
                from_status VARCHAR,
                to_status VARCHAR,
                note VARCHAR
            )""",
            "CREATE SEQUENCE trend_scan_id_seq START 1",
            """CREATE TABLE trend_scans (
                scan_id BIGINT PRIMARY KEY DEFAULT nextval('trend_scan_id_seq'),
                started_at TIMESTAMP,
                seconds DOUBLE,
                scan_mode VARCHAR,
                as_of DATE,
                scope JSON,
                series BIGINT,
                detections BIGINT,
                alerts_new BIGINT,
                alerts_updated BIGINT,
                last_import_id BIGINT,
                data_version VARCHAR,
                user_name VARCHAR
            )""",
            # Daily case counts per (dimension, value) of the unfiltered scan: an incremental
            # scan after an import recounts only the days that import touched.
            """CREATE TABLE trend_counts (
                dimension VARCHAR NOT NULL,
                slice_value VARCHAR NOT NULL,
                count_date DATE NOT NULL,
                n BIGINT NOT NULL
            )""",
        ],
    ),
    (
        5,
        "post-mortem reviews, sections, timeline, action items",
        [
            "CREATE SEQUENCE pm_review_seq START 1",
            # scope: Filters.to_query() JSON (with the window as a custom range); version is the
            # optimistic-concurrency counter of the header (title, window, status...).
            """CREATE TABLE pm_reviews (
                review_id BIGINT PRIMARY KEY,
                title VARCHAR NOT NULL,
                window_start DATE NOT NULL,
                window_end DATE NOT NULL,
                baseline_start DATE,
                baseline_end DATE,
                scope JSON,
                metric VARCHAR,
                severity VARCHAR,
                authors JSON,
                tags JSON,
                status VARCHAR NOT NULL,
                origin VARCHAR,
                seed JSON,
                version INTEGER NOT NULL,
                created_by VARCHAR,
                created_at TIMESTAMP,
                updated_by VARCHAR,
                updated_at TIMESTAMP,
                published_at TIMESTAMP
            )""",
            # One row per (review, section); facts holds the auto-filled numbers behind the text.
            """CREATE TABLE pm_sections (
                review_id BIGINT NOT NULL,
                section VARCHAR NOT NULL,
                body VARCHAR,
                facts JSON,
                version INTEGER NOT NULL,
                updated_by VARCHAR,
                updated_at TIMESTAMP,
                PRIMARY KEY (review_id, section)
            )""",
            # Every saved version of a section: who saved what and when (conflicts, audit).
            """CREATE TABLE pm_section_history (
                review_id BIGINT NOT NULL,
                section VARCHAR NOT NULL,
                version INTEGER NOT NULL,
                body VARCHAR,
                saved_by VARCHAR,
                saved_at TIMESTAMP
            )""",
            "CREATE SEQUENCE pm_timeline_seq START 1",
            """CREATE TABLE pm_timeline (
                entry_id BIGINT PRIMARY KEY,
                review_id BIGINT NOT NULL,
                occurred_at TIMESTAMP NOT NULL,
                kind VARCHAR,
                title VARCHAR NOT NULL,
                detail VARCHAR,
                source VARCHAR NOT NULL,
                created_by VARCHAR,
                created_at TIMESTAMP
            )""",
            "CREATE SEQUENCE pm_action_seq START 1",
            """CREATE TABLE pm_actions (
                action_id BIGINT PRIMARY KEY,
                review_id BIGINT NOT NULL,
                description VARCHAR NOT NULL,
                owner VARCHAR,
                team VARCHAR,
                due_date DATE,
                status VARCHAR NOT NULL,
                linked_ticket VARCHAR,
                metric JSON,
                expected_direction VARCHAR,
                done_on DATE,
                version INTEGER NOT NULL,
                created_by VARCHAR,
                created_at TIMESTAMP,
                updated_by VARCHAR,
                updated_at TIMESTAMP
            )""",
            # Root causes, contributing factors and pain points per review (for patterns).
            """CREATE TABLE pm_causes (
                review_id BIGINT NOT NULL,
                rank INTEGER,
                kind VARCHAR,
                label VARCHAR,
                slice JSON,
                share_of_change DOUBLE
            )""",
        ],
    ),
    (
        6,
        "SOP grey-area findings and their workflow",
        [
            "CREATE SEQUENCE sop_finding_id_seq START 1",
            # One row per policy (x pain point): re-running detection updates it, never duplicates.
            """CREATE TABLE sop_findings (
                finding_id BIGINT PRIMARY KEY DEFAULT nextval('sop_finding_id_seq'),
                policy VARCHAR NOT NULL,
                pain_point VARCHAR NOT NULL DEFAULT '',
                status VARCHAR NOT NULL DEFAULT 'new',
                score DOUBLE,
                score_low DOUBLE,
                flagged BOOLEAN,
                rank INTEGER,
                cases BIGINT,
                summary VARCHAR,
                signals JSON,
                scope VARCHAR,
                first_detected_at TIMESTAMP,
                last_detected_at TIMESTAMP,
                sent_at TIMESTAMP,
                sop_updated_on DATE,
                sop_link VARCHAR,
                verified_at TIMESTAMP,
                verification JSON,
                notes VARCHAR,
                updated_by VARCHAR,
                updated_at TIMESTAMP,
                version INTEGER NOT NULL DEFAULT 1,
                UNIQUE (policy, pain_point)
            )""",
            "CREATE SEQUENCE sop_finding_history_id_seq START 1",
            """CREATE TABLE sop_finding_history (
                history_id BIGINT DEFAULT nextval('sop_finding_history_id_seq'),
                finding_id BIGINT NOT NULL,
                changed_at TIMESTAMP,
                user_name VARCHAR,
                from_status VARCHAR,
                to_status VARCHAR,
                note VARCHAR
            )""",
        ],
    ),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the database (0 for a new, empty file)."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' "
        "AND table_schema = 'main' AND table_catalog = current_database()"
    ).fetchone()[0]
    if not has_meta:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def applied_migrations(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Versions of the migrations this database has run.

    Recorded as a set, not only as the highest version, so a migration that lands after a
    higher-numbered one (parallel development) is still applied to existing databases.
    Databases from before the set was recorded ran every version up to their schema version.
    """
    current = schema_version(con)
    if current == 0:
        return set()
    row = con.execute("SELECT value FROM meta WHERE key = 'migrations_applied'").fetchone()
    if row is None:
        return set(range(1, current + 1))
    return {int(v) for v in json.loads(row[0])}


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply pending migrations, each atomically. Returns the resulting version."""
    current = schema_version(con)
    latest = MIGRATIONS[-1][0]
    if current > latest:
        raise DatabaseUnreadableError(
            f"This database was written by a newer release (schema {current}, this release "
            f"knows {latest}). Upgrade Escalation Insights to open it."
        )
    applied = applied_migrations(con)
    for version, _description, steps in MIGRATIONS:
        if version in applied:
            continue
        with transaction(con):
            if callable(steps):
                steps(con)
            else:
                for statement in steps:
                    con.execute(statement)
            applied.add(version)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('migrations_applied', ?)",
                [str(max(applied)), json.dumps(sorted(applied))],
            )
    return latest


_LOCK_PID = re.compile(r"PID (\d+)")


def connect(
    path: Path | str | None = None, *, read_only: bool = False, migrate_schema: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the escalation database and bring its schema up to date.

    Raises :class:`DatabaseLockedError` when another process holds the file, and
    :class:`DatabaseUnreadableError` when the file is not a DuckDB database this release reads.
    """
    settings = get_settings()
    path = Path(path) if path is not None else settings.db_path
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(path),
            read_only=read_only,
            config={"memory_limit": settings.duckdb_memory_limit},
        )
        # Naive timestamps are UTC everywhere; keep TIMESTAMPTZ conversions independent of
        # the server's local zone.
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            pid = _LOCK_PID.search(message)
            holder = f" (process {pid.group(1)}, probably the running app)" if pid else ""
            raise DatabaseLockedError(
                f"The database {path} is open in another process{holder}. DuckDB allows one "
                "writer: import through the app's Data page, or stop the app and run the "
                "command again."
            ) from exc
        raise DatabaseUnreadableError(
            f"{path} is not an Escalation Insights database ({_first_line(message)}). Point "
            "ESC_DB_PATH or --db at another file, or move this one away to start fresh."
        ) from exc
    except (
        duckdb.SerializationException,
        duckdb.InvalidInputException,
        duckdb.InternalException,
    ) as exc:
        raise DatabaseUnreadableError(
            f"{path} cannot be read: it is damaged or was written by another DuckDB version "
            f"({_first_line(str(exc))}). Restore a backup or point --db at another file."
        ) from exc
    if migrate_schema and not read_only:
        try:
            migrate(con)
        except duckdb.Error as exc:
            con.close()
            raise DatabaseUnreadableError(
                f"{path} is a DuckDB file but not an Escalation Insights database this release "
                f"can upgrade ({_first_line(str(exc))})."
            ) from exc
    return con


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN``/``COMMIT``, rolling back on any exception (including KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        # The connection may already have aborted the transaction.
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def get_meta(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """A token that changes whenever case data changes (imports, deletions).

    Cached loaders take it as an argument so their caches refresh after an import.
    """
    row = con.execute(
        "SELECT count(*), coalesce(max(import_id), 0), coalesce(max(finished_at)::VARCHAR, ''), "
        "count(*) FILTER (WHERE status = 'deleted') FROM imports"
    ).fetchone()
    return "-".join(str(v) for v in row)


def case_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM cases").fetchone()[0]


@dataclass(frozen=True)
class StoreInfo:
    """What a store holds: for the home page and ``python -m analytics info``."""

    schema_version: int
    cases: int
    first_case: datetime | None
    last_case: datetime | None
    last_import_at: datetime | None
    is_demo: bool
    quarantined: int
    last_imports: pd.DataFrame


def describe(con: duckdb.DuckDBPyConnection) -> StoreInfo:
    """Counts, date range, last imports and whether the data is the demo history."""
    cur = con.cursor()
    try:
        cases, first, last = cur.execute(
            "SELECT count(*), min(created_at), max(created_at) FROM cases"
        ).fetchone()
        last_import, demo = cur.execute(
            "SELECT max(finished_at), coalesce(bool_or(is_demo), false) FROM imports "
            "WHERE status = 'completed'"
        ).fetchone()
        quarantined = cur.execute(
            "SELECT count(*) FROM quarantine q JOIN imports i USING (import_id) "
            "WHERE i.status = 'completed'"
        ).fetchone()[0]
        last_imports = cur.execute(
            "SELECT import_id, file_name, preset, rows_read, inserted, updated, unchanged, "
            "quarantined, finished_at, status, is_demo FROM imports ORDER BY import_id DESC LIMIT 5"
        ).df()
        return StoreInfo(
            schema_version(cur),
            cases,
            first,
            last,
            last_import,
            bool(demo),
            quarantined,
            last_imports,
        )
    finally:
        cur.close()
