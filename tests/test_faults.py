"""Faults: kill -9 at random points of imports, a full disk, and the database survives unchanged."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from analytics.errors import StorageFullError
from analytics.ingest import import_file
from analytics.store import connect
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.slow


def _write_export(path: Path, start: int, n: int, subject: str, noise: bool = False) -> Path:
    rng = random.Random(start)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("case_id,created_at,updated_at,subject,description,queue,country\n")
        for i in range(start, start + n):
            # Random text does not compress, so it fills a small disk quickly.
            extra = rng.randbytes(60).hex() if noise else "with enough text to take some time"
            fh.write(
                f"K{i},2026-01-0{1 + i % 9} 10:00:00,2026-02-01 10:00:00,{subject} {i},"
                f"a longer description of case {i} {extra},High Risk,BR\n"
            )
    return path


def _state(db: Path) -> tuple:
    """What the database holds: imports recorded, and a fingerprint of every case."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        imports = con.execute("SELECT count(*) FROM imports").fetchone()[0]
        cases = con.execute(
            "SELECT count(*), coalesce(sum(hash(case_id, row_hash)), 0) FROM cases"
        ).fetchone()
        quarantine = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    finally:
        con.close()
    return imports, *cases, quarantine


def _cli_import(db: Path, file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analytics", "-q", "--db", str(db), "import", str(file)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_at_random_points_twenty_times(tmp_path):
    """After each kill the database opens and holds exactly the data of the completed imports."""
    rng = random.Random(20261125)
    base = _write_export(tmp_path / "base.csv", 0, 2_000, "base")
    new = _write_export(tmp_path / "new.csv", 100_000, 120_000, "new")
    overlap = _write_export(tmp_path / "overlap.csv", 1_000, 120_000, "changed")

    # Reference states, computed without interruptions.
    ref = tmp_path / "ref.duckdb"
    assert _cli_import(ref, base).wait() == 0
    after_base = _state(ref)
    t0 = time.perf_counter()
    assert _cli_import(ref, new).wait() == 0
    duration = time.perf_counter() - t0
    after_new = _state(ref)
    ref2 = tmp_path / "ref2.duckdb"
    assert _cli_import(ref2, base).wait() == 0
    assert _cli_import(ref2, overlap).wait() == 0
    after_overlap = _state(ref2)

    db = tmp_path / "victim.duckdb"
    assert _cli_import(db, base).wait() == 0
    assert _state(db) == after_base
    kills = 0
    for attempt in range(20):
        file, done_state = (new, after_new) if attempt % 2 == 0 else (overlap, after_overlap)
        victim = tmp_path / f"victim_{attempt}.duckdb"
        victim.write_bytes(db.read_bytes())
        proc = _cli_import(victim, file)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = _state(victim)  # opening at all is part of the test
        if state[0] == after_base[0]:
            assert state == after_base, f"attempt {attempt}: partial import left behind"
            kills += 1
        else:  # the import finished before the kill landed: then it must be complete
            assert state == done_state, f"attempt {attempt}: completed import differs"
        victim.unlink()
        Path(str(victim) + ".wal").unlink(missing_ok=True)
    assert kills >= 12, f"only {kills} of 20 kills landed mid-import; the file is too small"


def _mount_tmpfs(folder: Path, size_mb: int) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
            capture_output=True,
        ).returncode
        == 0
    )


@pytest.mark.parametrize("disk", ["tmpfs", "file_size_limit"])
def test_disk_full_during_import_leaves_database_as_it_was(tmp_path, disk):
    folder = tmp_path / "small_disk"
    big = _write_export(tmp_path / "big.csv", 0, 150_000, "big", noise=True)
    if disk == "tmpfs" and not _mount_tmpfs(folder, 12):
        pytest.skip("cannot mount a small tmpfs here; the file_size_limit variant simulates it")
    if disk == "tmpfs":
        try:
            db = folder / "store.duckdb"
            con = connect(db)
            con.execute(f"SET temp_directory = '{folder / 'tmp'}'")
            first = import_file(con, SAMPLES / "zendesk_tickets.csv")
            before = con.execute(
                "SELECT count(*), sum(hash(case_id, row_hash)) FROM cases"
            ).fetchone()
            with pytest.raises(StorageFullError, match="database is unchanged"):
                import_file(con, big)
            assert (
                con.execute("SELECT count(*), sum(hash(case_id, row_hash)) FROM cases").fetchone()
                == before
            )
            con.close()
            con = connect(db)
            assert (
                con.execute("SELECT count(*), sum(hash(case_id, row_hash)) FROM cases").fetchone()
                == before
            )
            assert (
                con.execute("SELECT max(import_id) FROM imports").fetchone()[0] == first.import_id
            )
            con.close()
        finally:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        return
    # Without permission to mount a small disk, simulate one: cap the size of files the
    # importing process may write (RLIMIT_FSIZE), which fails writes like a full disk does.
    db = tmp_path / "store.duckdb"
    assert _cli_import(db, SAMPLES / "zendesk_tickets.csv").wait() == 0
    before = _state(db)
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({db.stat().st_size + 2_000_000},) * 2); "
        f"sys.path.insert(0, {str(ROOT)!r}); from analytics.cli import main; "
        f"sys.exit(main(['-q', '--db', {str(db)!r}, 'import', {str(big)!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert _state(db) == before
