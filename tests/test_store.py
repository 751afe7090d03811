"""Store: migrations, schema version, locked / corrupt / foreign files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest

from analytics import store
from analytics.errors import DatabaseLockedError, DatabaseUnreadableError
from tests.conftest import ROOT


def test_new_database_gets_latest_schema(db_path):
    con = store.connect(db_path)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    tables = {
        t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {"cases", "imports", "quarantine", "case_versions", "events", "meta"} <= tables
    con.close()
    # Reopening applies nothing twice.
    con = store.connect(db_path)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    con.close()


def test_migrations_upgrade_an_old_database(db_path, monkeypatch):
    con = store.connect(db_path)
    con.execute(
        "INSERT INTO cases (case_id, created_at, subject) VALUES ('keep', '2026-01-01', 'x')"
    )
    con.close()
    extra = (store.SCHEMA_VERSION + 1, "test table", ["CREATE TABLE later_table (a INTEGER)"])
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, extra])
    con = store.connect(db_path)
    assert store.schema_version(con) == store.SCHEMA_VERSION + 1
    assert con.execute("SELECT count(*) FROM later_table").fetchone()[0] == 0
    assert con.execute("SELECT case_id FROM cases").fetchall() == [("keep",)]
    con.close()


def test_failed_migration_rolls_back(db_path, monkeypatch):
    store.connect(db_path).close()
    bad = (store.SCHEMA_VERSION + 1, "broken", ["CREATE TABLE half (a INTEGER)", "THIS IS NOT SQL"])
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, bad])
    with pytest.raises(DatabaseUnreadableError):
        store.connect(db_path)
    monkeypatch.undo()
    con = store.connect(db_path)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    assert "half" not in {
        t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.close()


def test_database_from_newer_release_is_refused(db_path):
    con = store.connect(db_path)
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(DatabaseUnreadableError, match="newer release"):
        store.connect(db_path)


@pytest.mark.parametrize("content", [b"this is not a database", bytes(range(256)) * 64])
def test_foreign_or_corrupt_file_gives_clear_error(db_path, content):
    db_path.write_bytes(content)
    with pytest.raises(DatabaseUnreadableError, match="not an Escalation Insights database"):
        store.connect(db_path)


def test_foreign_duckdb_file(db_path):
    other = duckdb.connect(str(db_path))
    other.execute("CREATE TABLE meta (something_else INTEGER)")
    other.close()
    with pytest.raises(DatabaseUnreadableError):
        store.connect(db_path)


def test_locked_database_names_the_holder(db_path):
    store.connect(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time; sys.path.insert(0, {str(ROOT)!r})
            from analytics.store import connect
            con = connect({str(db_path)!r}); print('ready', flush=True); time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLockedError, match=rf"process {holder.pid}.*Data page"):
            store.connect(db_path)
    finally:
        holder.kill()
        holder.wait()


def test_data_version_changes_with_imports(con, write_csv):
    from analytics.ingest import import_file

    before = store.data_version(con)
    import_file(con, write_csv("a.csv", "case_id,created_at,subject\n1,2026-01-01,x\n"))
    assert store.data_version(con) != before


def test_describe(con, write_csv):
    from analytics.ingest import import_file

    assert store.describe(con).cases == 0
    import_file(
        con, write_csv("a.csv", "case_id,created_at,subject\n1,2026-01-01,x\n,2026-01-01,y\n")
    )
    info = store.describe(con)
    assert (info.cases, info.quarantined, info.is_demo) == (1, 1, False)
    assert str(info.first_case) == "2026-01-01 00:00:00"


def test_a_migration_that_lands_late_is_still_applied(db_path, monkeypatch):
    """Migrations are tracked as a set: one numbered below the current version still runs."""
    base = [m for m in store.MIGRATIONS if m[0] <= 2]
    later = (store.SCHEMA_VERSION + 2, "later", ["CREATE TABLE later_one (a INTEGER)"])
    monkeypatch.setattr(store, "MIGRATIONS", [*base, later])
    store.connect(db_path).close()
    late = (store.SCHEMA_VERSION + 1, "landed late", ["CREATE TABLE late_one (a INTEGER)"])
    monkeypatch.setattr(store, "MIGRATIONS", [*base, late, later])
    con = store.connect(db_path)
    tables = {
        t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {"later_one", "late_one"} <= tables
    assert store.applied_migrations(con) >= {1, 2, late[0], later[0]}
    con.close()
