"""The command line: exit codes, messages, lock handling, a killed import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from tests.conftest import ROOT, SAMPLES


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "analytics", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_import_info_quarantine_delete(db_path):
    r = run("--db", db_path, "import", SAMPLES / "dsa_sor_2024_sample.csv")
    assert r.returncode == 0, r.stderr
    assert "Read 50 rows" in r.stdout and "49 inserted" in r.stdout and "1 quarantined" in r.stdout
    r = run("--db", db_path, "info")
    assert r.returncode == 0 and "Cases: 49" in r.stdout and "Quarantined rows: 1" in r.stdout
    r = run("--db", db_path, "quarantine")
    assert "duplicate case id" in r.stdout
    r = run("--db", db_path, "delete-import", "1")
    assert r.returncode == 0 and "49 cases removed" in r.stdout


def test_env_override_for_database_path(db_path):
    r = run("import", SAMPLES / "escalations.tsv", env={"ESC_DB_PATH": str(db_path)})
    assert r.returncode == 0, r.stderr
    assert db_path.exists()


def test_errors_are_one_sentence_with_exit_codes(db_path, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = run("--db", db_path, "import", empty)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "empty" in r.stderr
    r = run("--db", db_path, "import", SAMPLES / "escalations.tsv", "--preset", "nope")
    assert r.returncode == 2 and "Unknown preset" in r.stderr
    bad_db = tmp_path / "bad.duckdb"
    bad_db.write_text("garbage")
    r = run("--db", bad_db, "info")
    assert r.returncode == 4 and "not an Escalation Insights database" in r.stderr


def test_locked_database_message(db_path):
    holder = duckdb.connect(str(db_path))  # this test process holds the write lock
    try:
        r = run("--db", db_path, "import", SAMPLES / "escalations.tsv")
    finally:
        holder.close()
    assert r.returncode == 3
    assert "open in another process" in r.stderr and "Data page" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_killed_import_leaves_database_unchanged(db_path, tmp_path):
    """kill -9 during a large import: the database holds exactly the completed imports.

    On a quiet machine the import may already have committed when the kill lands (the
    process then runs its post-import steps); the database must then hold all of it. What
    must never be seen is part of it.
    """
    assert run("--db", db_path, "import", SAMPLES / "escalations.tsv").returncode == 0
    big = tmp_path / "big.csv"
    rows = 1_000_000
    with open(big, "w", encoding="utf-8") as fh:
        fh.write("case_id,created_at,subject,description\n")
        for i in range(rows):
            fh.write(
                f"K{i},2026-01-01 10:00:00,subject {i},a longer description of case {i} to take time\n"
            )
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics", "-q", "--db", str(db_path), "import", str(big)],
        cwd=ROOT,
    )
    time.sleep(1.5)
    assert proc.poll() is None, "import finished before it could be killed; make the file larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = duckdb.connect(str(db_path))
    try:
        state = (
            con.execute("SELECT count(*) FROM cases").fetchone()[0],
            con.execute("SELECT count(*) FROM imports").fetchone()[0],
            con.execute("SELECT count(*) FROM cases WHERE case_id LIKE 'K%'").fetchone()[0],
        )
    finally:
        con.close()
    assert state in {(8, 1, 0), (8 + rows, 2, rows)}, state


def test_pain_points_fit_then_import_assigns_new_cases_and_scan(db_path, tmp_path):
    r = run("--db", db_path, "demo", "--rows", "3000")
    assert r.returncode == 0, r.stderr
    r = run("--db", db_path, "pain-points", "fit", "--representation", "lsa")
    assert r.returncode == 0, r.stderr
    assert "pain points from" in r.stdout and "TF-IDF" in r.stdout
    con = duckdb.connect(str(db_path), read_only=True)
    before = con.execute("SELECT count(*) FROM pain_point_assignments").fetchone()[0]
    con.close()
    assert before == 3000
    r = run("--db", db_path, "import", SAMPLES / "escalations.tsv")
    assert r.returncode == 0, r.stderr
    assert "new cases assigned to the existing pain points" in r.stdout
    con = duckdb.connect(str(db_path), read_only=True)
    unassigned = con.execute(
        "SELECT count(*) FROM cases WHERE case_id NOT IN (SELECT case_id FROM pain_point_assignments)"
    ).fetchone()[0]
    con.close()
    assert unassigned == 0  # every imported case has a pain point or the explicit -1
    r = run("--db", db_path, "scan")
    assert r.returncode == 0, r.stderr
    assert "series as of" in r.stdout and "new alerts" in r.stdout
