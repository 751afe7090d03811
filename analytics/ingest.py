"""Import case-management exports into the store: preview, import, history, quarantine, delete.

An import is one transaction. Rows read = inserted + updated + unchanged +
quarantined, always: a row that cannot be stored goes to the ``quarantine``
table with its raw content and a reason, and the rest loads. Re-importing the
same or an overlapping export is safe: rows are upserted by ``case_id`` and the
newer ``updated_at`` wins.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analytics import schema
from analytics.access import User, require
from analytics.config import get_settings
from analytics.errors import (
    ExportFormatError,
    ImportNotFoundError,
    MappingError,
    StorageFullError,
)
from analytics.normalize import build_normalize_sql, guess_dayfirst
from analytics.presets import Mapping, check_required, detect_preset, resolve
from analytics.readers import StagedFile, stage_file
from analytics.store import quote_ident, transaction

Progress = Callable[[str, float], None]

_CASE_COLS = ", ".join(quote_ident(c.name) for c in schema.CASE_COLUMNS + schema.SYSTEM_COLUMNS)


@dataclass(frozen=True)
class ImportResult:
    """What one import did. ``rows_read == inserted + updated + unchanged + quarantined``."""

    import_id: int
    file_name: str
    sha256: str
    format: str
    preset: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    warnings: int
    started_at: datetime
    finished_at: datetime
    encoding: str | None = None
    delimiter: str | None = None

    def summary(self) -> str:
        """One sentence for people: the counts, and that they add up."""
        text = (
            f"Read {self.rows_read:,} rows from {self.file_name}: {self.inserted:,} inserted, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.quarantined:,} quarantined."
        )
        if self.warnings:
            rows = "row had a value" if self.warnings == 1 else "rows had values"
            text += f" {self.warnings:,} {rows} that could not be read, kept in the extra fields."
        return text


@dataclass(frozen=True)
class Preview:
    """The validation result of a file before anything is written."""

    headers: list[str]
    preset: str
    preset_score: float
    mapping: Mapping
    format: str
    encoding: str | None
    delimiter: str | None
    rows_checked: int
    valid: int
    invalid: int
    reasons: pd.DataFrame  # reason, rows
    sample: pd.DataFrame  # normalised rows, with a _reason column
    unmapped: list[str] = field(default_factory=list)


def _sha256(path: Path, out: dict) -> None:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    out["sha256"] = digest.hexdigest()


def _prepare(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    preset: str | None,
    mapping: Mapping | None,
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
    limit: int | None,
    csv_engine: str = "duckdb",
) -> tuple[StagedFile, Mapping, str, float]:
    staged = stage_file(
        con,
        path,
        "_stage",
        fmt=fmt,
        delimiter=delimiter,
        encoding=encoding,
        limit=limit,
        csv_engine=csv_engine,
    )
    detected, score = detect_preset(staged.columns)
    resolved = resolve(staged.columns, preset, mapping)
    check_required(resolved, staged.columns)
    return staged, resolved, (preset if preset not in (None, "auto") else detected), score


def _dayfirst(con: duckdb.DuckDBPyConnection, mapping: Mapping, staged: StagedFile) -> bool | None:
    if mapping.dayfirst is not None:
        return mapping.dayfirst
    cols = [c for t in schema.TIMESTAMP_COLUMNS for c in mapping.columns.get(t, ())[:1]]
    if not cols:
        return None
    rows = staged.sample(con, cols)
    return guess_dayfirst([v for row in rows for v in row if v])


def _normalize_query(
    con: duckdb.DuckDBPyConnection,
    staged: StagedFile,
    mapping: Mapping,
    *,
    timezone: str,
    as_of: datetime,
):
    """The normalisation query for this file, with its lookup tables created on ``con``."""
    query = build_normalize_sql(
        mapping,
        staged.columns,
        staged.source,
        settings=get_settings(),
        timezone=timezone,
        as_of=as_of,
        dayfirst=_dayfirst(con, mapping, staged),
    )
    query.create_lookups(con)
    return query


def _fresh_scan(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Forget rejects logged by earlier scans of a CSV, so the next scan's list is complete."""
    if staged.rejects_table:
        con.execute(f"DROP TABLE IF EXISTS {staged.rejects_table}")
        con.execute(f"DROP TABLE IF EXISTS {staged.rejects_table.removesuffix('_rejects')}_scans")


def _normalize(
    con: duckdb.DuckDBPyConnection,
    staged: StagedFile,
    mapping: Mapping,
    *,
    timezone: str,
    as_of: datetime,
    limit: int | None = None,
    query=None,
) -> None:
    """Create temp table ``_norm``: typed rows, each with ``_reason`` NULL or why it is rejected."""
    query = query or _normalize_query(con, staged, mapping, timezone=timezone, as_of=as_of)
    _fresh_scan(con, staged)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _norm AS {query.sql}", {**staged.params, **query.params}
    )
    staged.collect(con, con.execute("SELECT count(*) FROM _norm").fetchone()[0], limit)
    # Several rows with one case id in a single file: keep the newest, quarantine the rest.
    dupes = con.execute(
        "SELECT count(*) - count(DISTINCT case_id) FROM _norm WHERE _reason IS NULL"
    ).fetchone()[0]
    if dupes:
        con.execute(
            """UPDATE _norm SET _reason = 'duplicate case id ' || d.case_id || ' in this file; '
                   || 'the row with the newest update time (record ' || d.keep || ') was kept'
               FROM (SELECT _row, case_id,
                            first_value(_row) OVER w AS keep,
                            row_number() OVER w AS rn
                     FROM _norm WHERE _reason IS NULL
                     WINDOW w AS (PARTITION BY case_id ORDER BY updated_at DESC NULLS LAST, _row DESC)) d
               WHERE _norm._row = d._row AND d.rn > 1"""
        )
        # Their raw text was not kept by the first pass (only rejected rows carry it): fetch it.
        pairs = ", ".join(f"$k{i}, {quote_ident(c)}" for i, c in enumerate(staged.columns))
        keys = {f"k{i}": c for i, c in enumerate(staged.columns)}
        con.execute(
            f"""UPDATE _norm SET _raw = r.raw
                FROM (SELECT _row, json_object({pairs}) AS raw FROM {staged.source}
                      WHERE _row IN (SELECT _row FROM _norm WHERE _raw IS NULL AND _reason IS NOT NULL)) r
                WHERE _norm._row = r._row""",
            {**staged.params, **keys},
        )


def _direct_first_load(
    cur: duckdb.DuckDBPyConnection, staged: StagedFile, query, import_id: int
) -> tuple[dict[str, int], int, int] | None:
    """Load into an empty store in one pass, like ``CREATE TABLE AS``, then fix up.

    Materialising all rows in a temporary table first doubled the time of a 1M-row first
    import and pushed it past the memory limit. Here every row goes straight into
    ``cases``; rejected rows carry their reason and raw text in ``extra`` and a NULL
    ``row_hash``, and are then moved to the quarantine. If the file repeats a case id,
    the rows are taken out again and the import falls back to the general path (rare).
    Returns (counts, quarantined, warnings), or None after such a fallback.
    """
    target = ", ".join(quote_ident(c.name) for c in schema.CASE_COLUMNS)
    _fresh_scan(cur, staged)
    cur.execute("SET preserve_insertion_order = false")  # row order in `cases` carries no meaning
    try:
        n = cur.execute(
            f"""INSERT INTO cases ({_CASE_COLS})
                SELECT {target},
                       CASE WHEN _reason IS NULL THEN extra
                            ELSE json_object('reason', _reason, 'raw', _raw, 'row', _row) END,
                       $import_id,
                       CASE WHEN _reason IS NULL THEN row_hash END
                FROM ({query.sql})""",
            {**staged.params, **query.params, "import_id": import_id},
        ).fetchone()[0]
    finally:
        # In an aborted transaction this fails too; the original error is the one to report.
        with contextlib.suppress(duckdb.Error):
            cur.execute("RESET preserve_insertion_order")
    staged.collect(cur, n)
    dupes = cur.execute(
        "SELECT count(*) - count(DISTINCT case_id) FROM cases WHERE import_id = ? AND row_hash IS NOT NULL",
        [import_id],
    ).fetchone()[0]
    if dupes:
        cur.execute("DELETE FROM cases WHERE import_id = ?", [import_id])
        return None
    bad = cur.execute(
        """INSERT INTO quarantine
           SELECT import_id, (extra->>'row')::BIGINT, extra->'raw', extra->>'reason'
           FROM cases WHERE import_id = ? AND row_hash IS NULL""",
        [import_id],
    ).fetchone()[0]
    if bad:
        cur.execute("DELETE FROM cases WHERE import_id = ? AND row_hash IS NULL", [import_id])
    quarantined = int(bad) + _quarantine_rejects(cur, import_id, staged)
    warnings = cur.execute(
        "SELECT count(*) FROM cases WHERE import_id = ? AND json_exists(extra, '$._unparsed')",
        [import_id],
    ).fetchone()[0]
    return {"insert": int(n) - int(bad), "update": 0, "unchanged": 0}, quarantined, int(warnings)


def preview_file(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    *,
    preset: str | None = None,
    mapping: Mapping | None = None,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    timezone: str | None = None,
    limit: int = 2000,
) -> Preview:
    """Validate the first ``limit`` records of a file without writing anything."""
    cur = con.cursor()
    try:
        try:
            staged, resolved, preset_name, score = _prepare(
                cur,
                Path(path),
                preset=preset,
                mapping=mapping,
                fmt=fmt,
                delimiter=delimiter,
                encoding=encoding,
                limit=limit,
            )
            tz = timezone or resolved.timezone or get_settings().default_timezone
            _normalize(
                cur,
                staged,
                resolved,
                timezone=tz,
                as_of=datetime.now(UTC).replace(tzinfo=None),
                limit=limit,
            )
        except duckdb.InvalidInputException as exc:
            if "CSV" not in str(exc):
                raise
            staged, resolved, preset_name, score = _prepare(
                cur,
                Path(path),
                preset=preset,
                mapping=mapping,
                fmt=fmt,
                delimiter=delimiter,
                encoding=encoding,
                limit=limit,
                csv_engine="python",
            )
        try:
            if not cur.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_norm'"
            ).fetchone()[0]:
                tz = timezone or resolved.timezone or get_settings().default_timezone
                _normalize(
                    cur,
                    staged,
                    resolved,
                    timezone=tz,
                    as_of=datetime.now(UTC).replace(tzinfo=None),
                    limit=limit,
                )
            reasons = cur.execute(
                "SELECT _reason AS reason, count(*) AS rows FROM _norm WHERE _reason IS NOT NULL "
                "GROUP BY 1 ORDER BY 2 DESC"
            ).df()
            parse_rejects = pd.DataFrame(
                [{"reason": r.reason, "rows": 1} for r in staged.rejects],
                columns=["reason", "rows"],
            )
            if len(parse_rejects):
                parse_rejects = parse_rejects.groupby("reason", as_index=False)["rows"].sum()
                reasons = pd.concat([reasons, parse_rejects], ignore_index=True)
            sample = cur.execute(
                "SELECT * EXCLUDE (row_hash, _raw) FROM _norm ORDER BY _row LIMIT 200"
            ).df()
            invalid = int(reasons["rows"].sum()) if len(reasons) else 0
            mapped = {c for cols in resolved.columns.values() for c in cols}
            return Preview(
                headers=staged.columns,
                preset=preset_name,
                preset_score=score,
                mapping=resolved,
                format=staged.format,
                encoding=staged.encoding,
                delimiter=staged.delimiter,
                rows_checked=staged.rows_read,
                valid=staged.rows_read - invalid,
                invalid=invalid,
                reasons=reasons,
                sample=sample,
                unmapped=[c for c in staged.columns if c not in mapped],
            )
        finally:
            staged.cleanup()
    finally:
        cur.close()


def import_file(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    *,
    preset: str | None = None,
    mapping: Mapping | None = None,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    timezone: str | None = None,
    user: User | str | None = None,
    file_name: str | None = None,
    is_demo: bool = False,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one export file in a single transaction. See the module docstring.

    ``as_of`` is the moment open cases are checked against their SLA deadline
    (default: now). ``progress(stage, fraction)`` is called between steps.
    """
    path = Path(path)
    if isinstance(user, User):
        require(user, "import")  # enforced here, not only by hiding the app's button
        user = user.name
    report = progress or (lambda stage, fraction: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    as_of = as_of or started
    digest: dict = {}
    # Hash the file on a second core while DuckDB parses it (hashlib releases the GIL).
    hasher = threading.Thread(target=_sha256, args=(path, digest), daemon=True)
    if path.exists():
        hasher.start()
    cur = con.cursor()
    engine = "duckdb"
    try:
        while True:
            try:
                result = _import_once(
                    cur,
                    path,
                    engine=engine,
                    preset=preset,
                    mapping=mapping,
                    fmt=fmt,
                    delimiter=delimiter,
                    encoding=encoding,
                    timezone=timezone,
                    user=user,
                    file_name=file_name,
                    is_demo=is_demo,
                    as_of=as_of,
                    started=started,
                    report=report,
                    hasher=hasher,
                    digest=digest,
                )
                break
            except duckdb.InvalidInputException as exc:
                # DuckDB's CSV parser gives up on a few odd files (a bare carriage return
                # inside quotes); the transaction was rolled back, so read them with Python.
                if engine == "python" or "CSV" not in str(exc):
                    raise
                engine = "python"
            except (duckdb.IOException, OSError) as exc:
                if "No space left" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC:
                    raise StorageFullError(
                        f"The disk is full while importing {path.name}: the import was rolled back "
                        "and the database is unchanged. Free some space (or point ESC_DB_PATH at a "
                        "larger disk) and import again."
                    ) from exc
                raise
        report("Done", 1.0)
        return result
    finally:
        cur.close()


def _import_once(
    cur,
    path,
    *,
    engine,
    preset,
    mapping,
    fmt,
    delimiter,
    encoding,
    timezone,
    user,
    file_name,
    is_demo,
    as_of,
    started,
    report,
    hasher,
    digest,
) -> ImportResult:
    staged = None
    try:
        report("Reading the file", 0.05)
        with transaction(cur):
            staged, resolved, preset_name, _score = _prepare(
                cur,
                path,
                preset=preset,
                mapping=mapping,
                fmt=fmt,
                delimiter=delimiter,
                encoding=encoding,
                limit=None,
                csv_engine=engine,
            )
            tz = timezone or resolved.timezone or get_settings().default_timezone
            query = _normalize_query(cur, staged, resolved, timezone=tz, as_of=as_of)
            import_id = cur.execute("SELECT nextval('import_id_seq')").fetchone()[0]
            direct = None
            if cur.execute("SELECT NOT EXISTS (SELECT 1 FROM cases)").fetchone()[0]:
                report("Validating, normalising and writing cases", 0.2)
                direct = _direct_first_load(cur, staged, query, import_id)
            if direct is not None:
                counts, quarantined, warnings = direct
            else:
                report("Validating and normalising rows", 0.35)
                _normalize(cur, staged, resolved, timezone=tz, as_of=as_of, query=query)
                report("Writing cases", 0.6)
                counts = _upsert(cur, import_id)
                quarantined = _quarantine(cur, import_id, staged)
                warnings = cur.execute(
                    "SELECT count(*) FROM _norm WHERE _reason IS NULL AND json_exists(extra, '$._unparsed')"
                ).fetchone()[0]
            if hasher.is_alive():
                hasher.join()
            finished = datetime.now(UTC).replace(tzinfo=None)
            result = ImportResult(
                import_id=import_id,
                file_name=file_name or path.name,
                sha256=digest.get("sha256", ""),
                format=staged.format,
                preset=preset_name,
                rows_read=staged.rows_read,
                inserted=counts["insert"],
                updated=counts["update"],
                unchanged=counts["unchanged"],
                quarantined=quarantined,
                warnings=warnings,
                started_at=started,
                finished_at=finished,
                encoding=staged.encoding,
                delimiter=staged.delimiter,
            )
            if (
                result.rows_read
                != result.inserted + result.updated + result.unchanged + result.quarantined
            ):
                # Cannot happen by construction; if it ever does, abort rather than lose rows.
                raise ExportFormatError(
                    f"Row accounting failed for {path.name}; nothing was imported. Please report this."
                )
            cur.execute(
                """INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'completed', ?, NULL)""",
                [
                    import_id,
                    result.file_name,
                    result.sha256,
                    result.format,
                    preset_name,
                    resolved.to_json(),
                    tz,
                    result.rows_read,
                    result.inserted,
                    result.updated,
                    result.unchanged,
                    result.quarantined,
                    warnings,
                    started,
                    finished,
                    user or _os_user(),
                    is_demo,
                ],
            )
            for temp in ("_norm", "_stage", "_act", "_stage_rejects", "_stage_scans"):
                cur.execute(f"DROP TABLE IF EXISTS {temp}")
        return result
    finally:
        if staged is not None:
            staged.cleanup()


def _upsert(cur: duckdb.DuckDBPyConnection, import_id: int) -> dict[str, int]:
    """Insert new cases, replace older versions, skip unchanged ones. Returns counts by action."""
    empty = cur.execute("SELECT NOT EXISTS (SELECT 1 FROM cases)").fetchone()[0]
    target = ", ".join(quote_ident(c.name) for c in schema.CASE_COLUMNS)
    if empty:
        # First load: nothing to compare against, skip the join. Row order in `cases` carries
        # no meaning, so let DuckDB write in parallel without preserving it.
        cur.execute("SET preserve_insertion_order = false")
        n = cur.execute(
            f"""INSERT INTO cases ({_CASE_COLS})
                SELECT {target}, extra, ?, row_hash FROM _norm WHERE _reason IS NULL""",
            [import_id],
        ).fetchone()[0]
        cur.execute("RESET preserve_insertion_order")
        return {"insert": n, "update": 0, "unchanged": 0}
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE _act AS
           SELECT n.case_id,
                  CASE WHEN c.case_id IS NULL THEN 'insert'
                       WHEN c.row_hash = n.row_hash THEN 'unchanged'
                       -- the newer update time wins; on a tie the later import wins
                       WHEN c.updated_at IS NULL OR n.updated_at >= c.updated_at THEN 'update'
                       ELSE 'unchanged' END AS action
           FROM _norm n LEFT JOIN cases c USING (case_id)
           WHERE n._reason IS NULL"""
    )
    counts = dict(cur.execute("SELECT action, count(*) FROM _act GROUP BY 1").fetchall())
    if counts.get("update"):
        cur.execute(
            f"""INSERT INTO case_versions ({_CASE_COLS}, replaced_by)
                SELECT {_CASE_COLS}, ? FROM cases
                WHERE case_id IN (SELECT case_id FROM _act WHERE action = 'update')""",
            [import_id],
        )
        cur.execute(
            "DELETE FROM cases WHERE case_id IN (SELECT case_id FROM _act WHERE action = 'update')"
        )
    if counts.get("insert") or counts.get("update"):
        cur.execute(
            f"""INSERT INTO cases ({_CASE_COLS})
                SELECT {", ".join("n." + quote_ident(c.name) for c in schema.CASE_COLUMNS)}, n.extra, ?, n.row_hash
                FROM _norm n JOIN _act a USING (case_id)
                WHERE n._reason IS NULL AND a.action IN ('insert', 'update')""",
            [import_id],
        )
    return {k: int(counts.get(k, 0)) for k in ("insert", "update", "unchanged")}


def _quarantine(cur: duckdb.DuckDBPyConnection, import_id: int, staged: StagedFile) -> int:
    n = cur.execute(
        "INSERT INTO quarantine SELECT ?, _row, _raw, _reason FROM _norm WHERE _reason IS NOT NULL",
        [import_id],
    ).fetchone()[0]
    return int(n) + _quarantine_rejects(cur, import_id, staged)


def _quarantine_rejects(cur: duckdb.DuckDBPyConnection, import_id: int, staged: StagedFile) -> int:
    """Records that could not even be parsed (wrong field count, broken quotes...)."""
    if staged.rejects:
        cur.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?)",
            [
                (import_id, r.row_number, json.dumps({"line": r.raw}, ensure_ascii=False), r.reason)
                for r in staged.rejects
            ],
        )
    return len(staged.rejects)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def import_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """All imports, newest first, with their row accounting."""
    return (
        con.cursor()
        .execute(
            """SELECT import_id, file_name, format, preset, rows_read, inserted, updated, unchanged,
                  quarantined, warnings, started_at, finished_at,
                  date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds,
                  user_name, status, is_demo, sha256, timezone
           FROM imports ORDER BY import_id DESC"""
        )
        .df()
    )


def quarantine_rows(
    con: duckdb.DuckDBPyConnection, import_id: int | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Rejected rows with their reason (all imports, or one)."""
    sql = "SELECT import_id, row_number, reason, raw::VARCHAR AS raw FROM quarantine"
    params: list = []
    if import_id is not None:
        sql += " WHERE import_id = ?"
        params.append(import_id)
    sql += " ORDER BY import_id DESC, row_number"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return con.cursor().execute(sql, params).df()


def delete_import(con: duckdb.DuckDBPyConnection, import_id: int, user: User | None = None) -> int:
    """Undo an import: remove the cases it wrote and restore the versions it replaced.

    Rows a later import has since overwritten are left as the later import wrote them.
    Returns the number of cases removed or restored. With a ``user``, their role must allow it.
    """
    if user is not None:
        require(user, "delete_import")
    cur = con.cursor()
    try:
        row = cur.execute("SELECT status FROM imports WHERE import_id = ?", [import_id]).fetchone()
        if row is None:
            raise ImportNotFoundError(f"There is no import {import_id}.")
        if row[0] == "deleted":
            raise ImportNotFoundError(f"Import {import_id} was already deleted.")
        with transaction(cur):
            touched = cur.execute(
                "SELECT count(*) FROM cases WHERE import_id = ?", [import_id]
            ).fetchone()[0]
            cur.execute("DELETE FROM cases WHERE import_id = ?", [import_id])
            cur.execute(
                f"""INSERT INTO cases ({_CASE_COLS})
                    SELECT {_CASE_COLS} FROM case_versions v
                    WHERE v.replaced_by = ? AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = v.case_id)""",
                [import_id],
            )
            cur.execute("DELETE FROM case_versions WHERE replaced_by = ?", [import_id])
            cur.execute(
                "UPDATE imports SET status = 'deleted', notes = ? WHERE import_id = ?",
                [f"deleted {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", import_id],
            )
        return int(touched)
    finally:
        cur.close()


__all__ = [
    "ImportResult",
    "MappingError",
    "Preview",
    "delete_import",
    "import_file",
    "import_history",
    "preview_file",
    "quarantine_rows",
]
