"""How the Overview's cost grows with the history: DuckDB vs local Spark, 1M and 10M cases.

    .venv/bin/python bench/bench_scaling.py --db bench/out/overview_1000000.duckdb
    .venv/bin/python bench/bench_scaling.py --sizes 1          # 1M only (quick)

Data: the 1,000,000-case demo history (``--db``, or generated once into bench/out). The
10,000,000-case history is built from it with DuckDB SQL, not the Python generator: every
case is repeated 10 times with a new id and all its timestamps shifted by k x 7 minutes
(k = 0..9), so the same calendar holds 10x the cases (a platform-wide history: more teams,
same period). Each size is stored twice: as a DuckDB store (what the app opens by default)
and as month-partitioned Parquet (what Spark reads, written by analytics.lake).

For each Overview computation (default view: last 90 days) it times the analytics function
on DuckDB (app settings: 1 GB memory limit) and on Spark local[2] (one process, driver
memory ``--spark-memory``): the first (cold) run and the median of ``--repeats`` warm runs,
all in one process on the same machine. It reports each engine's growth from 1M to 10M as
``t10 / t1`` and the exponent ``log10(t10 / t1)`` (1.0 = linear), checks that both engines
return the same numbers, and records storage sizes and peak memory. Writes
docs/benchmarks/scaling.md (``--out``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from analytics import engine, lake, metrics, spark  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from analytics.store import connect, quote_literal  # noqa: E402

COMPUTATIONS = (
    ("KPI tiles (11 KPIs, 2 periods, backlog at 2 cuts)", lambda t, f: metrics.kpis(t, f)),
    ("Volume trend by region, daily", lambda t, f: metrics.volume_trend(t, f, "region", "D")),
    ("Day-of-week x hour heatmap", lambda t, f: metrics.load_heatmap(t, f)),
    ("Weekday / weekend / holiday load", lambda t, f: metrics.day_type_load(t, f)),
    ("Top movers by category", lambda t, f: metrics.top_movers(t, f, "category")),
    ("Regulatory (DSA) view", lambda t, f: metrics.regulatory_view(t, f)),
)
#: The same tiles over the whole history: every case is scanned (a 90-day view of a history
#: about 6x longer, or a team that keeps "All time" selected).
ALL_TIME = (
    ("KPI tiles, all time", lambda t, f: metrics.kpis(t, f)),
    (
        "Volume trend by region, weekly, all time",
        lambda t, f: metrics.volume_trend(t, f, "region", "W"),
    ),
)
TIMESTAMPS = ("created_at", "first_response_at", "resolved_at", "updated_at", "sla_due_at")


def source_db(path: str | None) -> Path:
    if path:
        return Path(path)
    built = OUT / "scaling_1000000.duckdb"
    if not built.exists():
        from analytics.demo import load_demo

        print("building the 1,000,000-case demo store (Python generator) ...", flush=True)
        con = connect(built)
        load_demo(con, rows=1_000_000)
        con.close()
    return built


def build(work: Path, db: Path, sizes: list[int]) -> dict[int, dict]:
    """DuckDB store and Parquet folder per size (kept between runs)."""
    out: dict[int, dict] = {}
    work.mkdir(parents=True, exist_ok=True)
    base = work / "cases_1m.duckdb"
    if not base.exists():  # a private copy: the source store may be in use elsewhere
        shutil.copyfile(db, base)
    for factor in sizes:
        store, parquet = work / f"cases_{factor}m.duckdb", work / f"parquet_{factor}m"
        info = {"store": store, "parquet": parquet}
        if not (store.exists() and parquet.exists()):
            t0 = time.perf_counter()
            if factor == 1:
                con = connect(store)
                lake.export_partitioned_parquet(con, parquet)
                con.close()
            else:
                _replicate(base, parquet, factor)
                con = connect(store)
                con.execute("SET memory_limit = '4GB'")
                con.execute(
                    "INSERT INTO cases SELECT * EXCLUDE (year, month) "
                    "FROM read_parquet(?, hive_partitioning = true)",
                    [str(parquet / "**" / "*.parquet")],
                )
                con.close()
            info["build_s"] = time.perf_counter() - t0
            print(f"built {factor}M in {info['build_s']:.0f} s", flush=True)
        info["store_mb"] = store.stat().st_size / 1e6
        info["parquet_mb"] = sum(p.stat().st_size for p in parquet.rglob("*.parquet")) / 1e6
        out[factor] = info
    return out


def _replicate(db: Path, parquet: Path, factor: int) -> None:
    """``factor`` copies of every case: new ids, timestamps shifted by k x 7 minutes."""
    tmp = parquet.parent / "duckdb_tmp"
    con = duckdb.connect(
        str(db), read_only=True, config={"memory_limit": "4GB", "temp_directory": str(tmp)}
    )
    shifted = ", ".join(f"{c} + to_minutes(7 * k) AS {c}" for c in TIMESTAMPS)
    staging = parquet.parent / f".{parquet.name}.tmp"
    # Fixed column names, an int and a quoted path (COPY takes no parameter for its target).
    sql = (
        "COPY (SELECT * EXCLUDE (k) REPLACE (CASE WHEN k = 0 THEN case_id ELSE case_id || '~' || k END "  # noqa: S608
        f"AS case_id, {shifted}), year(created_at + to_minutes(7 * k))::INTEGER AS year, "
        "month(created_at + to_minutes(7 * k))::INTEGER AS month "
        f"FROM cases, range({factor}) r(k) ORDER BY created_at + to_minutes(7 * k)) TO "
        + quote_literal(str(staging))
        + " (FORMAT parquet, PARTITION_BY (year, month), COMPRESSION zstd, OVERWRITE)"
    )
    con.execute(sql)
    con.close()
    staging.rename(parquet)
    shutil.rmtree(tmp, ignore_errors=True)


def timed(fn, repeats: int) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm), result


def jvm_peak_mb(session) -> float | None:
    try:
        pid = session.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (AttributeError, OSError):
        return None
    return None


def same(a, b) -> bool:
    if isinstance(a, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(
                a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9
            )
            return True
        except AssertionError:
            return False
    return all(
        same(getattr(a, k), getattr(b, k))
        if isinstance(getattr(a, k), pd.DataFrame)
        else (getattr(a, k) == getattr(b, k) or math.isclose(getattr(a, k), getattr(b, k)))
        for k in a.__dataclass_fields__
    )


def measure(factor: int, data: dict, results: dict, repeats: int) -> None:
    """Time every Overview computation on both engines for one size."""
    con = connect(data["store"], read_only=True)
    duck = engine.backend(con).table("cases")
    first, last = metrics.date_bounds(duck)
    f = Filters().resolve(last, first)
    exact = spark.parse_backend(f"spark-local[2]:{data['parquet']}")
    approx = spark.parse_backend(f"spark-local[2]:{data['parquet']}?quantiles=approx")
    t0 = time.perf_counter()
    spark_t = spark.cases_table(exact)
    data["register_s"] = time.perf_counter() - t0
    f_all = Filters(preset="all").resolve(last, first)
    for label, fn in COMPUTATIONS + ALL_TIME:
        g = f_all if (label, fn) in ALL_TIME else f
        d_cold, d_warm, d_res = timed(
            lambda fn=fn, g=g: fn(engine.backend(con).table("cases"), g), repeats
        )
        s_cold, s_warm, s_res = timed(lambda fn=fn, g=g: fn(spark_t, g), repeats)
        results[(label, factor)] = {
            "duck_cold": d_cold,
            "duck": d_warm,
            "spark_cold": s_cold,
            "spark": s_warm,
            "equal": same(d_res, s_res),
        }
        print(
            f"{factor}M {label}: DuckDB {d_warm * 1000:.0f} ms, Spark {s_warm * 1000:.0f} ms"
            f" (equal: {results[(label, factor)]['equal']})",
            flush=True,
        )
    # The cost of exact medians on Spark: the same KPI tiles with percentile_approx.
    approx_t = spark.cases_table(approx)
    a_cold, a_warm, a_res = timed(lambda: metrics.kpis(approx_t, f), repeats)
    e = metrics.kpis(duck, f).set_index("key")["value"]
    a = a_res.set_index("key")["value"]
    keys = [k for k in e.index if k.endswith(("median", "p90")) or k == "backlog_age"]
    err = max(abs(a[k] - e[k]) / abs(e[k]) for k in keys if e[k])
    results[("approx", factor)] = {"spark": a_warm, "spark_cold": a_cold, "max_rel_err": err}
    con.close()


def run(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    data = build(Path(args.work), source_db(args.db), sizes)
    results: dict = {}
    duck_peak: dict[int, float] = {}
    t0 = time.perf_counter()
    spark_session = spark.session(
        "local[2]",
        conf={"spark.driver.memory": args.spark_memory, "spark.sql.shuffle.partitions": "8"},
    )
    session_s = time.perf_counter() - t0
    t_start = time.perf_counter()
    for factor in sizes:
        measure(factor, data[factor], results, args.repeats)
        duck_peak[factor] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jvm = jvm_peak_mb(spark_session)
    spark.stop()
    total = time.perf_counter() - t_start
    write_report(args, sizes, data, results, duck_peak, jvm, total, session_s)


def write_report(args, sizes, data, results, duck_peak, jvm, total_s, session_s) -> None:
    big = max(sizes)
    lines = [
        "# Scaling benchmark: DuckDB vs local Spark, 1M and 10M cases",
        "",
        f"Command: `.venv/bin/python bench/bench_scaling.py --sizes {args.sizes} "
        f"--repeats {args.repeats} --spark-memory {args.spark_memory}`",
        "",
        f"Machine: {os.cpu_count()} shared cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Spark {_spark_version()} local[2] in the same process "
        f"(driver JVM {args.spark_memory}); DuckDB {duckdb.__version__} with the app's 1 GB "
        "memory limit. View: the Overview's default (last 90 days). Times: first run (cold) and "
        f"the median of {args.repeats} warm runs, in ms. The machine is shared with other "
        "jobs: compare numbers within this run, not across runs.",
        "",
        f"Starting the local Spark session (JVM): {session_s:.1f} s, once per app process. "
        "Registering a source (listing its files, reading Parquet footers) is the first query "
        "on it, so the first size's figure includes the JVM's warm-up.",
        "",
        "| size | DuckDB store | Parquet (zstd, by month) | build | Spark register |",
        "|---|---:|---:|---:|---:|",
    ]
    for factor in sizes:
        d = data[factor]
        build = f"{d['build_s']:.0f} s" if "build_s" in d else "(kept)"
        lines.append(
            f"| {factor}M | {d['store_mb']:,.0f} MB | {d['parquet_mb']:,.0f} MB | {build} | "
            f"{d['register_s'] * 1000:,.0f} ms |"
        )
    lines += ["", _table(sizes, results, COMPUTATIONS, "Whole Overview (sum, warm)"), ""]
    lines += [
        "The whole history scanned (filter: all time):",
        "",
        _table(sizes, results, ALL_TIME, None),
        "",
    ]
    lines += [
        "Growth = t(largest) / t(smallest) of the warm medians; exponent = log(growth) / "
        "log(size ratio) (1.0 = linear in the number of cases, below 1 = fixed costs dominate)."
        if big > 1
        else "",
        "",
        "Exact vs approximate quantiles on Spark (KPI tiles, warm median):",
        "",
        "| size | exact `percentile` ms | `percentile_approx` ms | max relative error of the "
        "approximate medians/p90 vs DuckDB |",
        "|---|---:|---:|---:|",
    ]
    for factor in sizes:
        r, a = results[(COMPUTATIONS[0][0], factor)], results[("approx", factor)]
        lines.append(
            f"| {factor}M | {r['spark'] * 1000:,.0f} | {a['spark'] * 1000:,.0f} | "
            f"{a['max_rel_err']:.2e} |"
        )
    lines += [
        "",
        "Peak memory: this Python process (DuckDB + pandas results) "
        + ", ".join(f"{duck_peak[s]:,.0f} MB after {s}M" for s in sizes)
        + (f"; Spark driver JVM {jvm:,.0f} MB (peak RSS)." if jvm else "."),
        f"Total benchmark time (after building data): {total_s / 60:.1f} min.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


def _table(sizes, results, computations, total: str | None) -> str:
    head = "| Computation |"
    sep = "|---|"
    for engine_name in ("DuckDB", "Spark"):
        for s in sizes:
            head += f" {engine_name} {s}M cold / warm |"
            sep += "---:|"
        if len(sizes) > 1:
            head += f" {engine_name} growth (exp.) |"
            sep += "---:|"
    head += " same result |"
    sep += "---|"
    rows = [head, sep]
    totals = {(e, s): 0.0 for e in ("duck", "spark") for s in sizes}
    for label, _fn in computations:
        row = f"| {label} |"
        for key in ("duck", "spark"):
            for s in sizes:
                r = results[(label, s)]
                totals[(key, s)] += r[key]
                row += f" {r[key + '_cold'] * 1000:,.0f} / {r[key] * 1000:,.0f} |"
            if len(sizes) > 1:
                row += _growth(
                    results[(label, sizes[0])][key], results[(label, sizes[-1])][key], sizes
                )
        row += (
            " " + ", ".join("yes" if results[(label, s)]["equal"] else "NO" for s in sizes) + " |"
        )
        rows.append(row)
    if total is None:
        return "\n".join(rows)
    row = f"| **{total}** |"
    for key in ("duck", "spark"):
        for s in sizes:
            row += f" **{totals[(key, s)] * 1000:,.0f}** |"
        if len(sizes) > 1:
            row += _growth(totals[(key, sizes[0])], totals[(key, sizes[-1])], sizes)
    rows.append(row + " |")
    return "\n".join(rows)


def _growth(a: float, b: float, sizes: list[int]) -> str:
    g = b / a
    return f" {g:.1f}x ({math.log(g) / math.log(sizes[-1] / sizes[0]):.2f}) |"


def _spark_version() -> str:
    import pyspark

    return pyspark.__version__


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", help="the 1M-case demo store (default: build bench/out/...)")
    p.add_argument("--sizes", default="1,10", help="millions of cases, e.g. 1,10")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--spark-memory", default="4g")
    p.add_argument("--work", default=str(OUT / "scaling"))
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "scaling.md"))
    run(p.parse_args())


if __name__ == "__main__":
    main()
