"""Export the store's cases as Parquet partitioned by month, for Spark (or any lake engine).

``python -m analytics export-parquet OUT_DIR`` (or :func:`export_partitioned_parquet`) writes
``OUT_DIR/year=YYYY/month=M/*.parquet`` with the canonical columns, sorted by ``created_at``
inside each file so that Parquet statistics let an engine skip row groups outside a date
window. A full export is written next to ``OUT_DIR`` and swapped in with two renames, so a
reader sees the old or the new export, not a half-written one; a monthly refresh
(``months=``) replaces only those month folders. After a daily import only the months it
touched need rewriting: :func:`months_since` lists them.

Writes go to a local (or mounted) folder; copying to object storage is the pipeline's job
(``aws s3 sync``, ``azcopy``, ...). Spark reads the folder with ``ESC_BACKEND=...:OUT_DIR``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics.store import data_version, quote_literal

#: Written beside the partitions (engines skip files starting with "_").
MANIFEST = "_escalation_insights.json"


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_partitioned_parquet` wrote."""

    out_dir: Path
    rows: int
    months: tuple[tuple[int, int], ...]  # (year, month) folders written
    seconds: float


def months_since(con: duckdb.DuckDBPyConnection, import_id: int) -> list[tuple[int, int]]:
    """(year, month) of cases written by imports after ``import_id`` and of the versions they
    replaced (a case that moved to another month leaves its old month changed too)."""
    rows = (
        con.cursor()
        .execute(
            "SELECT DISTINCT year(created_at), month(created_at) FROM cases WHERE import_id > ? "
            "UNION SELECT DISTINCT year(created_at), month(created_at) FROM case_versions "
            "WHERE replaced_by > ?",
            [import_id, import_id],
        )
        .fetchall()
    )
    return sorted((int(y), int(m)) for y, m in rows if y is not None)


def export_partitioned_parquet(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    months: Iterable[tuple[int, int]] | None = None,
    progress=None,
) -> ExportResult:
    """Write the store's cases to ``out_dir`` as Parquet partitioned by ``year``/``month``.

    ``months=None`` rewrites everything (atomically swapped in); a list of ``(year, month)``
    rewrites only those folders (a month without cases any more is removed).
    ``progress(stage, fraction)`` is called as months are written.
    """
    report = progress or (lambda stage, fraction: None)
    out = Path(out_dir).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stamp = f"{int(time.time() * 1000)}"
    staging = out.parent / f".{out.name}.tmp-{stamp}"
    cur = con.cursor()
    if months is None:
        report("Writing Parquet (all months)", 0.05)
        rows = _copy(cur, staging)
        written = _partitions(staging)
        _write_manifest(cur, staging, rows)
        _swap(staging, out)
    else:
        wanted = sorted({(int(y), int(m)) for y, m in months})
        out.mkdir(parents=True, exist_ok=True)
        rows, written = 0, []
        for i, (year, month) in enumerate(wanted):
            report(f"Writing {year}-{month:02d}", i / max(1, len(wanted)))
            n = _copy(cur, staging, month=(year, month))
            target = out / f"year={year}" / f"month={month}"
            if n:
                target.parent.mkdir(parents=True, exist_ok=True)
                _swap(staging / f"year={year}" / f"month={month}", target)
                written.append((year, month))
            elif target.exists():
                shutil.rmtree(target)
            shutil.rmtree(staging, ignore_errors=True)
            rows += n
        _write_manifest(cur, out, _count(cur))
    report("Parquet written", 1.0)
    return ExportResult(out, rows, tuple(written), time.perf_counter() - started)


def _copy(
    cur: duckdb.DuckDBPyConnection, target: Path, *, month: tuple[int, int] | None = None
) -> int:
    """COPY the cases (of one month) to ``target``; the path is a quoted literal (COPY takes
    no parameter there), the month values are parameters."""
    where = "WHERE year(created_at) = $y AND month(created_at) = $m" if month else ""
    params = {"y": month[0], "m": month[1]} if month else {}
    sql = (
        "COPY (SELECT *, year(created_at)::INTEGER AS year, month(created_at)::INTEGER AS month "
        "FROM cases " + where + " ORDER BY created_at) TO " + quote_literal(str(target)) + " "
        "(FORMAT parquet, PARTITION_BY (year, month), COMPRESSION zstd, OVERWRITE)"
    )
    return int(cur.execute(sql, params).fetchone()[0])


def _count(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT count(*) FROM cases").fetchone()[0])


def _partitions(root: Path) -> list[tuple[int, int]]:
    out = []
    for month_dir in root.glob("year=*/month=*"):
        out.append((int(month_dir.parent.name[5:]), int(month_dir.name[6:])))
    return sorted(out)


def _write_manifest(cur: duckdb.DuckDBPyConnection, root: Path, rows: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "rows": rows,
        "data_version": data_version(cur),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "partitioned_by": ["year", "month"],
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` in place of ``target`` with renames (the old copy is removed after)."""
    if not new.exists():
        new.mkdir(parents=True)
    old = target.parent / f".{target.name}.old-{int(time.time() * 1000)}"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
