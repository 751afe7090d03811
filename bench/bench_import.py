"""Import speed and memory at 1M cases, as ratios against baselines measured in the same run.

    .venv/bin/python bench/bench_import.py            # 1,000,000 rows (about 5 minutes)
    .venv/bin/python bench/bench_import.py --rows 200000 --repeats 1   # quick look

Each measurement runs in its own process (so peak memory is that process's own) and
the three contenders alternate, repeats times, so machine noise hits them alike:
- baseline: DuckDB's own ``CREATE TABLE AS SELECT * FROM read_csv(...)`` of the file;
- ours: ``analytics.ingest.import_file`` (validation, mapping, normalisation, upsert);
- pandas: ``pd.read_csv`` + insert into DuckDB.
Also: re-importing the same file into the filled store (all rows "unchanged").
Results go to docs/benchmarks/import.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

CHILD = {
    "duckdb_ctas": """
        import duckdb
        con = duckdb.connect(DB)
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [CSV])
        con.close()
    """,
    "ours": """
        from analytics.store import connect
        from analytics.ingest import import_file
        con = connect(DB)
        r = import_file(con, CSV)
        assert r.inserted + r.quarantined == r.rows_read, r
        con.close()
    """,
    "ours_reimport": """
        from analytics.store import connect
        from analytics.ingest import import_file
        con = connect(DB)
        import_file(con, CSV)
        import time
        t0 = time.perf_counter()
        r = import_file(con, CSV)
        SECONDS_OVERRIDE = time.perf_counter() - t0
        assert r.inserted == 0 and r.updated == 0, r
        con.close()
    """,
    "pandas": """
        import duckdb, pandas as pd
        df = pd.read_csv(CSV, keep_default_na=False, na_values=[""], low_memory=False)
        con = duckdb.connect(DB)
        con.register("df", df)
        con.execute("CREATE TABLE t AS SELECT * FROM df")
        con.close()
    """,
}

WRAPPER = """
import sys, time, json
sys.path.insert(0, {root!r})
DB, CSV = {db!r}, {csv!r}
SECONDS_OVERRIDE = None
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss of the parent across exec.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({{"seconds": SECONDS_OVERRIDE or elapsed, "peak_mb": hwm / 1024}}))
"""


def make_csv(rows: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"demo_{rows}.csv"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from analytics.demo import generate

        print(f"generating {rows:,} demo cases ...", flush=True)
        generate(rows=rows, seed=7).cases.to_csv(path, index=False)
    return path


def run(kind: str, csv: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        code = WRAPPER.format(
            root=str(ROOT),
            db=str(Path(tmp) / "b.duckdb"),
            csv=str(csv),
            body=textwrap.dedent(CHILD[kind]),
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if out.returncode:
            raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    csv = make_csv(args.rows)
    size_mb = csv.stat().st_size / 1e6
    results: dict[str, list[dict]] = {k: [] for k in CHILD}
    for i in range(args.repeats):
        for kind in CHILD:
            r = run(kind, csv)
            results[kind].append(r)
            print(
                f"repeat {i + 1}: {kind:14s} {r['seconds']:7.2f} s  peak {r['peak_mb']:7.0f} MB",
                flush=True,
            )
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in results.items()}
    ratio_ctas = med["ours"] / med["duckdb_ctas"]
    speedup_pandas = med["pandas"] / med["ours"]
    with open(csv, encoding="utf-8") as fh:
        n_columns = len(fh.readline().split(","))
    lines = [
        "# Import benchmark",
        "",
        f"Command: `.venv/bin/python bench/bench_import.py --rows {args.rows} --repeats {args.repeats}`",
        "",
        f"File: demo history, {args.rows:,} rows x {n_columns} "
        f"columns, {size_mb:,.0f} MB CSV. Medians of {args.repeats} alternating runs, each in its own process "
        "(2 shared cores; absolute times vary with load, the ratios are the result).",
        "",
        "| Contender | median s | peak memory MB |",
        "|---|---:|---:|",
    ]
    names = {
        "duckdb_ctas": "DuckDB `CREATE TABLE AS SELECT * FROM read_csv` (baseline)",
        "ours": "Escalation Insights import (validate, map, normalise, upsert)",
        "ours_reimport": "Re-import of the same file into the filled store (upsert, all unchanged)",
        "pandas": "`pandas.read_csv` + insert into DuckDB",
    }
    for k in CHILD:
        lines.append(f"| {names[k]} | {med[k]:.2f} | {peak[k]:,.0f} |")
    ok = lambda cond: "met" if cond else "**missed**"  # noqa: E731
    lines += [
        "",
        f"- Ours / DuckDB CTAS: **{ratio_ctas:.2f}x** (target at most 2x: {ok(ratio_ctas <= 2)})",
        f"- pandas / ours: **{speedup_pandas:.2f}x faster** (target at least 1.5x: {ok(speedup_pandas >= 1.5)})",
        f"- Peak memory of our import: **{peak['ours']:,.0f} MB** (target under 1,500 MB: {ok(peak['ours'] < 1500)})",
        "",
        "Raw runs: `" + json.dumps(results) + "`",
    ]
    doc = ROOT / "docs" / "benchmarks" / "import.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
