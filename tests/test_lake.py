"""Month-partitioned Parquet export of the store (what Spark reads)."""

from __future__ import annotations

import json

import duckdb
import pytest

from analytics import lake
from analytics.cli import main
from analytics.store import connect


@pytest.fixture
def store(demo_db):
    con = connect(demo_db, read_only=True)
    yield con
    con.close()


def _read(path) -> duckdb.DuckDBPyRelation:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning=true)")


def test_full_export_has_every_case_once_in_its_month(store, tmp_path):
    out = tmp_path / "cases"
    result = lake.export_partitioned_parquet(store, out)
    total = store.execute("SELECT count(*) FROM cases").fetchall()[0][0]
    assert result.rows == total
    rel = _read(out)
    assert rel.aggregate("count(*), count(DISTINCT case_id)").fetchall()[0] == (total, total)
    bad = rel.filter("year(created_at) <> year OR month(created_at) <> month").aggregate("count(*)")
    assert bad.fetchall()[0][0] == 0
    assert len(result.months) == len(list(out.glob("year=*/month=*")))
    manifest = json.loads((out / lake.MANIFEST).read_text())
    assert manifest["rows"] == total
    # Same canonical columns (plus the partition columns) as the store.
    store_cols = [r[0] for r in store.execute("DESCRIBE cases").fetchall()]
    assert [c for c in rel.columns if c not in ("year", "month")] == store_cols


def test_re_export_replaces_and_month_refresh_touches_only_those_months(store, tmp_path):
    out = tmp_path / "cases"
    lake.export_partitioned_parquet(store, out)
    first = sorted(out.glob("year=*/month=*"))
    stamp = {p: p.stat().st_mtime_ns for p in first}
    (out / "year=1999").mkdir()  # stale folder: a full export swaps the whole tree
    lake.export_partitioned_parquet(store, out)
    assert not (out / "year=1999").exists()
    assert not list(tmp_path.glob(".cases*"))  # no staging or old copies left behind
    year, month = (int(x) for x in (first[-1].parent.name[5:], first[-1].name[6:]))
    before = {p: p.stat().st_mtime_ns for p in sorted(out.glob("year=*/month=*"))}
    result = lake.export_partitioned_parquet(store, out, months=[(year, month), (1999, 1)])
    assert result.months == ((year, month),)
    after = {p: p.stat().st_mtime_ns for p in sorted(out.glob("year=*/month=*"))}
    assert set(after) == set(before) == set(stamp)
    changed = [p for p in after if after[p] != before[p]]
    assert changed == [first[-1]]
    total = store.execute("SELECT count(*) FROM cases").fetchall()[0][0]
    assert _read(out).aggregate("count(*)").fetchall()[0][0] == total


def test_months_since_an_import(store):
    assert lake.months_since(store, 10**9) == []
    months = lake.months_since(store, 0)
    n = store.execute(
        "SELECT count(DISTINCT (year(created_at), month(created_at))) FROM cases"
    ).fetchall()[0][0]
    assert len(months) == n


def test_cli_export_parquet(demo_db, tmp_path, capsys):
    out = tmp_path / "lake"
    assert main(["export-parquet", "--db", str(demo_db), str(out)]) == 0
    assert "cases written" in capsys.readouterr().out
    assert list(out.glob("year=*/month=*/*.parquet"))
    assert main(["--db", str(demo_db), "export-parquet", str(out), "--months", "2026-11"]) == 0
