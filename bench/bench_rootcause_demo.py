"""Benchmark: root-cause explanations of the demo history's planted scenarios, end to end.

Run from the project root::

    .venv/bin/python bench/bench_rootcause_demo.py                   # 50,000 cases (built here)
    .venv/bin/python bench/bench_rootcause_demo.py --rows 1000000    # 1M cases (~4 min to build)
    .venv/bin/python bench/bench_rootcause_demo.py --db demo.duckdb  # reuse a demo store

Writes ``docs/benchmarks/rootcause_demo.md`` (``--out`` to change; ``--print`` only prints).
For every planted scenario: the top cause, its share of the change, whether it is the planted
slice (every dimension value of the cause holds for all planted cases of the window, from
``demo_truth``), the rank of the first cause that is, the lined-up events; quiet windows
(no scenario) count false causes. Speed: building the leaves (Ibis, one GROUP BY with
conditional sums, plus the pandas post-processing) against a plain DuckDB GROUP BY of the same
counts written in SQL, both measured in this run (median of ``--repeat`` runs), as a ratio.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import ibis  # noqa: E402

from analytics import engine, rootcause  # noqa: E402
from analytics.demo import SCENARIOS as DEMO_SCENARIOS  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from analytics.rootcause import DEFAULT_DIMENSIONS, resolve_windows  # noqa: E402
from analytics.rootcause_leaves import build_leaves, get_metric, leaf_aggregates  # noqa: E402
from analytics.store import quote_ident as q  # noqa: E402

SCENARIOS = [
    # (scenario, metric, first day, last day, baseline)
    ("impersonation_wave", "volume", date(2026, 6, 12), date(2026, 6, 25), "previous"),
    ("impersonation_wave", "volume", date(2026, 6, 12), date(2026, 6, 25), "seasonal"),
    ("impersonation_wave", "volume", date(2026, 6, 12), date(2026, 6, 25), "last_year"),
    ("impersonation_wave", "volume", date(2026, 6, 12), date(2026, 6, 18), "previous"),
    ("release_bug", "volume", date(2026, 10, 6), date(2026, 10, 19), "previous"),
    ("release_bug", "volume", date(2026, 10, 6), date(2026, 10, 12), "seasonal"),
    ("dsa_holiday_sla", "sla_breach_rate", date(2025, 12, 20), date(2026, 1, 4), "previous"),
    ("dsa_holiday_sla", "sla_breach_rate", date(2025, 12, 20), date(2026, 1, 4), "seasonal"),
    ("dsa_holiday_sla", "resolution_median", date(2025, 12, 20), date(2026, 1, 4), "previous"),
    ("viral_challenge", "volume", date(2026, 9, 8), date(2026, 9, 21), "previous"),
]
SCENARIO_SLICES = {key: spec.get("slice", {}) for key, spec in DEMO_SCENARIOS.items()}
QUIET_STARTS = [
    date(2025, 7, 7),
    date(2025, 8, 4),
    date(2025, 9, 1),
    date(2025, 10, 6),
    date(2025, 11, 3),
    date(2026, 2, 2),
    date(2026, 3, 2),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 8, 3),
]
QUIET_METRICS = ("volume", "sla_breach_rate", "resolution_median", "overturn_rate")


# SQL below is composed from the constant dimension names, quoted with quote_ident; every value
# is a bound parameter.


def planted_attributes(con, scenario: str, window) -> dict:
    cols = ", ".join(f"coalesce({q(d)}, '(none)') AS {q(d)}" for d in DEFAULT_DIMENSIONS)
    frame = con.execute(
        f"""SELECT {cols} FROM cases JOIN demo_truth USING (case_id)
            WHERE scenario = ? AND created_at >= ? AND created_at < ?""",  # noqa: S608
        [scenario, window[0], window[1] + timedelta(days=1)],
    ).df()
    return {
        d: frame[d].iloc[0] for d in DEFAULT_DIMENSIONS if len(frame) and frame[d].nunique() == 1
    }


def is_planted(cause, scenario: str, planted: dict) -> bool:
    """Case scenarios: the cause describes only what all planted cases share. The SLA scenario
    (existing cases handled slower, no planted cases): the cause lies inside the planted slice."""
    if not cause.slice:
        return False
    if planted:
        return cause.slice.items() <= planted.items()
    return SCENARIO_SLICES[scenario].items() <= cause.slice.items()


def plain_sql(con, windows, metric: str) -> float:
    """The same counts as the leaves, written by hand in DuckDB SQL; seconds."""
    dims = ", ".join(
        f"coalesce(CAST({q(d)} AS VARCHAR), '(none)') AS {q(d)}" for d in DEFAULT_DIMENSIONS
    )
    parts, params = [], []
    for i, (a, b) in enumerate(windows.all):
        inside = "created_at >= ? AND created_at < ?"
        parts.append(f"count(*) FILTER (WHERE {inside}) AS n{i}")
        params += [a, b + timedelta(days=1)]
        if metric == "sla_breach_rate":
            parts.append(f"count(*) FILTER (WHERE {inside} AND sla_breached) AS num{i}")
            parts.append(f"count(*) FILTER (WHERE {inside} AND sla_breached IS NOT NULL) AS den{i}")
            params += [a, b + timedelta(days=1)] * 2
    lo = min(w[0] for w in windows.all)
    hi = max(w[1] for w in windows.all) + timedelta(days=1)
    sql = (
        f"SELECT {dims}, {', '.join(parts)} FROM cases "  # noqa: S608
        "WHERE created_at >= ? AND created_at < ? GROUP BY ALL"
    )
    start = time.perf_counter()
    con.cursor().execute(sql, [*params, lo, hi]).df()
    return time.perf_counter() - start


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run(con, repeat: int) -> dict:
    t = engine.cases_table(con)
    f = Filters()
    rows = []
    for scenario, metric, first, last, baseline in SCENARIOS:
        windows = resolve_windows(first, last, baseline)
        planted = planted_attributes(con, scenario, (first, last))
        t_explain, expl = timed(lambda m=metric, w=windows: rootcause.explain(t, f, m, w), repeat)
        t_events, events = timed(lambda e=expl: rootcause.lined_up_events(con, t, e), 1)
        top = expl.causes[0] if expl.causes else None
        rank = next(
            (i for i, c in enumerate(expl.causes, 1) if is_planted(c, scenario, planted)), None
        )
        matched = events[events["matches"] != ""]
        rows.append(
            {
                "scenario": scenario,
                "metric": metric,
                "window": f"{first:%Y-%m-%d}..{last:%Y-%m-%d}",
                "baseline": baseline,
                "top": top.label if top else "(none)",
                "share": top.share_of_change if top else float("nan"),
                "planted_top": bool(top and is_planted(top, scenario, planted)),
                "rank": rank,
                "event": matched.iloc[0]["title"] if len(matched) else "(none)",
                "holiday": bool((matched["kind"] == "holiday").any()) if len(matched) else False,
                "onset": expl.onset,
                "explain_s": t_explain,
                "events_s": t_events,
                "headline": rootcause.headline(expl, events),
            }
        )
    false_causes, quiet_runs = [], 0
    for start in QUIET_STARTS:
        for metric in QUIET_METRICS:
            expl = rootcause.explain(
                t, f, metric, resolve_windows(start, start + timedelta(days=13))
            )
            quiet_runs += 1
            false_causes += [f"{metric} {start}: {c.label}" for c in expl.causes]
    speed = []
    for metric, first, last, baseline in [
        ("volume", date(2026, 6, 12), date(2026, 6, 25), "previous"),
        ("volume", date(2026, 6, 12), date(2026, 6, 25), "seasonal"),
        ("sla_breach_rate", date(2025, 12, 20), date(2026, 1, 4), "previous"),
    ]:
        windows = resolve_windows(first, last, baseline)
        t_sql = statistics.median(plain_sql(con, windows, metric) for _ in range(repeat))
        t_query, _ = timed(
            lambda m=metric, w=windows: leaf_aggregates(
                t, f, get_metric(m), w, DEFAULT_DIMENSIONS, None
            ).execute(),
            repeat,
        )
        t_compile, _ = timed(
            lambda m=metric, w=windows: ibis.to_sql(
                leaf_aggregates(t, f, get_metric(m), w, DEFAULT_DIMENSIONS, None), dialect="duckdb"
            ),
            repeat,
        )
        t_leaves, leaves = timed(lambda m=metric, w=windows: build_leaves(t, f, m, w), repeat)
        speed.append(
            {
                "metric": metric,
                "baseline": baseline,
                "windows": len(windows.all),
                "leaves": len(leaves.table),
                "sql_s": t_sql,
                "query_s": t_query,
                "compile_s": t_compile,
                "leaves_s": t_leaves,
                "ratio": t_leaves / t_sql,
            }
        )
    return {"rows": rows, "false": false_causes, "quiet_runs": quiet_runs, "speed": speed}


PREAMBLE = """# Benchmark: root cause on the demo history (`analytics/rootcause.py`)

Each section below is one run of `bench/bench_rootcause_demo.py` (its exact command is in the
section); a run rewrites only its own section. Results are deterministic for a store (seed 7);
times vary with the load of the shared 2-core machine.

*Planted top* means the top cause is not empty and every (dimension, value) in it holds for
all planted cases of the scenario in the window (from `demo_truth`): the planted slice, part of
it, or an equivalent description of the same cases (every impersonation case has category =
Impersonation). The holiday SLA scenario plants no cases (existing Regulatory/DSA cases are
handled slower), so there the cause must lie inside its slice (contain queue =
Regulatory/DSA). *Rank* is the rank of the first cause that is. *Share* is the top cause's part
of the change (above 100% when other slices moved the other way). *Event* is the best-ranked
lined-up event that matches a cause; *onset* the day the change began.
"""


def report(result: dict, n_cases: int, command: str, seconds: float) -> str:
    lines = [
        f"## {n_cases:,} cases",
        "",
        "```",
        command,
        "```",
        "",
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}, {platform.machine()}. "
        f"Whole run (including building the store): {seconds:.0f} s.",
        "",
        "### Planted scenarios",
        "",
        "| scenario | metric | window | baseline | top cause | share | planted top | rank | "
        "first matching event | onset | explain (s) |",
        "|---|---|---|---|---|---:|:---:|---:|---|---|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['scenario']} | {r['metric']} | {r['window']} | {r['baseline']} | {r['top']} | "
            f"{r['share']:.0%} | {'yes' if r['planted_top'] else 'no'} | {r['rank'] or '–'} | "
            f"{r['event']} | {r['onset'] or '–'} | {r['explain_s']:.2f} |"
        )
    passed = sum(r["planted_top"] for r in result["rows"])
    holiday = [r for r in result["rows"] if r["scenario"] == "dsa_holiday_sla"]
    lines += [
        "",
        f"Planted slice ranked first in **{passed} of {len(result['rows'])}** explanations; the "
        f"holiday lines up (a matching public holiday) in "
        f"{sum(r['holiday'] for r in holiday)} of {len(holiday)} holiday-SLA explanations.",
        "",
        "Headlines:",
        "",
    ]
    lines += [
        f"* {r['headline']}" for r in result["rows"][:1] + result["rows"][4:5] + result["rows"][6:7]
    ]
    lines += [
        "",
        "### Quiet windows (no planted scenario)",
        "",
        f"{len(QUIET_STARTS)} two-week windows against the previous period x {len(QUIET_METRICS)} "
        f"metrics ({', '.join(QUIET_METRICS)}) = {result['quiet_runs']} explanations; the windows "
        "include app releases, public holidays and the history's slow growth. False causes: "
        f"**{len(result['false'])}**" + (":" if result["false"] else "."),
        "",
    ]
    lines += [f"* {x}" for x in result["false"]]
    lines += [
        "",
        "### Speed: building the leaves vs a plain GROUP BY",
        "",
        "Leaves over the 7 default dimensions with conditional counts per window, built with "
        "`build_leaves` (Ibis expression, compiled and run on DuckDB, plus the pandas steps that "
        "average the reference windows) against the same counts written by hand in DuckDB SQL "
        "(`count(*) FILTER (WHERE ...)`, with the same numerator and denominator counts for the "
        "rate; fetched to pandas). *Ibis query only* is the Ibis expression executed without the "
        "pandas steps; *Ibis compile* only turns the expression into SQL (no data read). "
        "*ratio* = build_leaves / plain SQL. The plain query is fast at any size because "
        "DuckDB skips the row groups outside the windows; most of the difference is Ibis "
        "building and compiling the expression, a fixed cost of some tens of milliseconds that "
        "does not grow with the data.",
        "",
        "| metric | baseline | windows | leaves | plain SQL (ms) | Ibis compile (ms) | "
        "Ibis query only (ms) | build_leaves (ms) | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["speed"]:
        lines.append(
            f"| {s['metric']} | {s['baseline']} | {s['windows']} | {s['leaves']:,} | "
            f"{s['sql_s'] * 1000:.1f} | {s['compile_s'] * 1000:.1f} | "
            f"{s['query_s'] * 1000:.1f} | {s['leaves_s'] * 1000:.1f} | {s['ratio']:.1f}x |"
        )
    return "\n".join(lines) + "\n"


def merge(existing: str, section: str) -> str:
    """The report file with this run's section replaced (sections are ordered by size)."""
    sections = {}
    for part in existing.split("\n## ")[1:]:
        title = part.split("\n", 1)[0]
        sections[title] = "## " + part.rstrip() + "\n"
    sections[section.split("\n", 1)[0][3:]] = section
    order = sorted(sections, key=lambda k: int(k.split()[0].replace(",", "")))
    return PREAMBLE + "\n" + "\n".join(sections[k] for k in order)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--db", type=Path, help="an existing demo store (skips building one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "benchmarks" / "rootcause_demo.md"
    )
    parser.add_argument("--print", action="store_true", help="print the report, do not write it")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rc_bench_") as tmp:
        path = args.db
        if path is None:
            from analytics.demo import load_demo
            from analytics.store import connect

            path = Path(tmp) / "demo.duckdb"
            c = connect(path)
            t0 = time.perf_counter()
            load_demo(c, rows=args.rows, seed=7)
            c.close()
            print(f"built a {args.rows:,}-case demo store in {time.perf_counter() - t0:.0f} s")
        con = duckdb.connect(str(path), read_only=True)
        n_cases = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        result = run(con, args.repeat)
        con.close()
    command = ".venv/bin/python bench/bench_rootcause_demo.py" + (
        f" --rows {args.rows}" if args.rows != 50_000 else ""
    )
    text = report(result, n_cases, command, time.perf_counter() - started)
    print(text)
    if not args.print:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        args.out.write_text(merge(old, text), encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
