"""Benchmark of the trending-risk scan on the demo history and perturbed variants.

Writes ``docs/benchmarks/trends_demo.md``. Reproduce with::

    .venv/bin/python -m analytics --db /tmp/tr_1m.duckdb demo --rows 1000000   # once
    .venv/bin/python bench/bench_trends_demo.py --big /tmp/tr_1m.duckdb

Detection quality: :func:`analytics.trend_backtest.backtest_store` replays the daily scan
day by day over the whole 18-month history (only the past is used on each day) on

* the demo history (50,000 cases, seed 7) with its planted scenarios;
* variants: other seeds, each with four extra planted shapes (ramp, spike, level shift,
  weekend-only surge) injected into established slices by copying that slice's own
  recent cases onto the planted days (so texts, channels and countries stay realistic);
* the 1,000,000-case demo history (``--big``).

Runtime (``--big``): a full scan of the 1M store and an incremental scan after a day's
import, as ratios to a plain DuckDB ``GROUP BY`` of the same daily counts in the same run.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import demo  # noqa: E402
from analytics.access import LOCAL_USER  # noqa: E402
from analytics.alert_scans import record_scan  # noqa: E402
from analytics.ingest import import_file  # noqa: E402
from analytics.store import connect, quote_ident, set_meta, transaction  # noqa: E402
from analytics.terms import clear_token_cache  # noqa: E402
from analytics.trend_backtest import Backtest, backtest_store  # noqa: E402
from analytics.trend_groups import day_number, slice_mask  # noqa: E402
from analytics.trend_sources import DEFAULT_DIMENSIONS, columns_of  # noqa: E402
from analytics.trend_watch import scan_store  # noqa: E402

#: Volume scenarios of the demo (dsa_holiday_sla is an SLA event, grey_area_policy an SOP
#: finding, steady_pain_point must not alert: alerts explained by them are false alerts).
VOLUME_KINDS = ("ramp", "level_shift", "spike")
#: An alert counts for a scenario from its onset to this many days after its end.
MATCH_AFTER = 7
#: Share of an alert's excess (of a term's cases) that planted cases must make up.
PLANTED_SHARE = 0.5
#: False alerts are counted from this day of the history on (warm-up of the baselines).
COUNT_FROM = 70
SHAPES = ("ramp", "spike", "level_shift", "weekend")
PAIRS_FOR_INJECTION = (("region", "category"), ("queue", "region"), ("region", "product_surface"))


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    slice: dict
    onset: date
    end: date


# --- Histories ----------------------------------------------------------------------------------


def load_history(path: Path, cases: pd.DataFrame, truth: pd.DataFrame, manifest: dict) -> None:
    """Import a (possibly perturbed) demo history into a new store, as load_demo does."""
    con = connect(path)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "history.parquet"
        demo.write_export(demo.DemoHistory(cases, truth, manifest), export)
        import_file(con, export, preset="generic", is_demo=True, user="bench",
                    as_of=datetime.combine(demo.DEFAULT_END + timedelta(days=1), datetime.min.time()))  # fmt: skip
    cur = con.cursor()
    with transaction(cur):
        cur.register("_truth", truth)
        cur.execute("INSERT INTO demo_truth SELECT case_id, topic, scenario FROM _truth")
        cur.unregister("_truth")
        set_meta(cur, "demo_manifest", "{}")
    con.close()


def inject(history: demo.DemoHistory, seed: int) -> tuple[demo.DemoHistory, list[Scenario]]:
    """Add four planted shapes to established slices, by copying the slice's own cases."""
    rng = np.random.default_rng(seed)
    cases = history.cases
    day = cases["created_at"].dt.floor("D")
    first = day.min()
    busy = [(pd.Timestamp(s["onset"]), pd.Timestamp(s["end"]))
            for s in demo.SCENARIOS.values() if "onset" in s]  # fmt: skip
    extra, truth, planted = [], [], []
    for k, shape in enumerate(SHAPES):
        for _attempt in range(200):
            cols = PAIRS_FOR_INJECTION[rng.integers(len(PAIRS_FOR_INJECTION))]
            onset = first + pd.Timedelta(days=int(rng.integers(150, 520)))
            if any(abs((onset - a).days) < 30 or a <= onset <= b + pd.Timedelta(days=14)
                   for a, b in busy):  # fmt: skip
                continue
            before = cases[(day >= onset - pd.Timedelta(days=56)) & (day < onset)]
            sizes = before.groupby(list(cols)).size() / 56.0
            sizes = sizes[(sizes >= 1.0) & (sizes <= 6.0)]
            if sizes.empty:
                continue
            values = sizes.index[rng.integers(len(sizes))]
            base = float(sizes.loc[values])
            slice_ = dict(zip(cols, values, strict=True))
            break
        days, per_day = _shape_days(shape, onset, base)
        end = max(days)
        busy.append((onset, end))
        pool = before[np.logical_and.reduce([before[c] == v for c, v in slice_.items()])]
        for d, n in zip(days, rng.poisson(per_day), strict=True):
            if n == 0:
                continue
            rows = pool.iloc[rng.integers(len(pool), size=n)].copy()
            rows["created_at"] = d + (rows["created_at"] - rows["created_at"].dt.floor("D"))
            rows["case_id"] = [f"INJ-{seed}-{k}-{len(extra)}-{i}" for i in range(n)]
            extra.append(rows)
        name = f"injected_{shape}"
        planted.append(Scenario(name, shape, slice_, min(days).date(), end.date()))
    added = pd.concat(extra, ignore_index=True)
    truth.append(pd.DataFrame({"case_id": added["case_id"], "topic": "injected",
                               "scenario": [None] * len(added)}))  # fmt: skip
    # the scenario of each injected case, from its id
    scenario = (
        added["case_id"]
        .str.split("-")
        .str[2]
        .astype(int)
        .map({i: f"injected_{s}" for i, s in enumerate(SHAPES)})
    )
    truth[-1]["scenario"] = scenario.to_numpy()
    merged = pd.concat([cases, added], ignore_index=True).sort_values("created_at", kind="stable")
    all_truth = pd.concat([history.truth, *truth], ignore_index=True)
    return demo.DemoHistory(merged.reset_index(drop=True), all_truth, history.manifest), planted


def _shape_days(shape: str, onset: pd.Timestamp, base: float):
    if shape == "ramp":  # 10 days up to 3x baseline (at least +10/day), 10 days high
        peak = max(2.0 * base, 10.0)
        days = [onset + pd.Timedelta(days=i) for i in range(20)]
        return days, [peak * min(1.0, (i + 1) / 10) for i in range(20)]
    if shape == "spike":  # two days at 4x baseline (at least +15/day)
        peak = max(3.0 * base, 15.0)
        return [onset, onset + pd.Timedelta(days=1)], [peak, peak * 0.8]
    if shape == "level_shift":  # doubling (at least +6/day) from onset on, 60 days
        lift = max(1.0 * base, 6.0)
        return [onset + pd.Timedelta(days=i) for i in range(60)], [lift] * 60
    # weekend: four consecutive weekends at 4x baseline (at least +8/day), weekdays normal
    sat = onset + pd.Timedelta(days=(5 - onset.day_of_week) % 7)
    days = [sat + pd.Timedelta(days=7 * w + d) for w in range(4) for d in (0, 1)]
    return days, [max(3.0 * base, 8.0)] * len(days)


def demo_scenarios() -> list[Scenario]:
    return [
        Scenario(k, s["kind"], dict(s["slice"]), date.fromisoformat(s["onset"]),
                 date.fromisoformat(s["end"]))
        for k, s in demo.SCENARIOS.items() if s["kind"] in VOLUME_KINDS
    ]  # fmt: skip


# --- Scoring ------------------------------------------------------------------------------------


def _consistent_nested(a: dict, b: dict) -> bool:
    shared = set(a) & set(b)
    if any(a[k] != b[k] for k in shared):
        return False
    return set(a) <= set(b) or set(b) <= set(a)


def attribute(bt: Backtest, truth: pd.Series, scenarios: list[Scenario]) -> pd.DataFrame:
    """For every detection: the planted scenario it belongs to ('' = none) and why."""
    frame = bt.cases
    day = frame["_day"].to_numpy()
    label = truth.reindex(frame["case_id"]).fillna("").to_numpy()
    rows = []
    for i, r in enumerate(bt.detections.itertuples(index=False)):
        lo, hi = day_number(r.onset), day_number(r.last_day)
        if r.origin == "term":
            idx = bt.term_cases.get(i, np.array([], dtype=np.int64))
            need = max(1.0, PLANTED_SHARE * len(idx))
        else:
            own = {k: v for k, v in r.slice.items() if k in columns_of(r.dimension)}
            idx = np.flatnonzero(slice_mask(frame, own) & (day >= lo) & (day <= hi))
            need = max(3.0, PLANTED_SHARE * r.excess)
        planted = pd.Series(label[idx]).value_counts()
        found, why = "", ""
        for s in scenarios:
            overlap = (
                lo <= (s.end - date(1970, 1, 1)).days + MATCH_AFTER
                and hi >= (s.onset - date(1970, 1, 1)).days
            )
            if r.origin != "term" and overlap and _consistent_nested(r.slice, s.slice):
                found, why = s.name, "slice"
                break
            if planted.get(s.name, 0) >= need and overlap:
                found, why = s.name, "cases"
                break
        if not found:
            other = planted[planted.index != ""]
            if len(other) and other.iloc[0] >= need:
                found, why = f"({other.index[0]})", "cases"  # a non-volume scenario
        rows.append({"scenario": found, "why": why})
    return pd.DataFrame(rows)


def score(bt: Backtest, truth: pd.Series, scenarios: list[Scenario]) -> dict:
    attr = attribute(bt, truth, scenarios)
    det = bt.detections.assign(scenario=attr["scenario"].to_numpy(), why=attr["why"].to_numpy())
    counted_from = bt.first_day + timedelta(days=COUNT_FROM)
    fir = bt.firings[bt.firings["day"].dt.date >= counted_from].copy()
    names = {s.name for s in scenarios}
    fir["scenarios"] = fir["members"].map(
        lambda m: sorted({det.at[i, "scenario"] for i in m} & names)
    )
    fir["true"] = fir["scenarios"].map(bool)
    weeks = ((bt.last_day - counted_from).days + 1) / 7.0
    per = []
    label = truth.reindex(bt.cases["case_id"]).fillna("").to_numpy()
    for s in scenarios:
        visible = visible_day(bt.cases, label, s)
        hits = fir[fir["scenarios"].map(lambda x, n=s.name: n in x)]
        first = hits["day"].min() if len(hits) else None
        members = det[det["scenario"] == s.name]
        per.append({
            "scenario": s.name, "shape": s.kind, "slice": ", ".join(f"{k}={v}" for k, v in s.slice.items()),
            "onset": s.onset, "detected": first.date() if first is not None else None,
            "lead_days": (first.date() - s.onset).days if first is not None else None,
            "visible": visible,
            "lead_from_visible": (first.date() - visible).days
            if first is not None and visible is not None else None,
            "alerts": len(hits), "slices_alerting": int(len(members)),
            "first_by": _first_by(members),
        })  # fmt: skip
    false = fir[~fir["true"]]
    return {
        "per": pd.DataFrame(per),
        "firings": len(fir),
        "true": int(fir["true"].sum()),
        "false": len(false),
        "weeks": weeks,
        "false_list": false.assign(
            what=false["members"].map(lambda m: ", ".join(det.loc[m, "key"].head(3)))
        )[["day", "what"]],
        "explained_by_other": int(det["scenario"].str.startswith("(").sum()),
    }


def visible_day(frame: pd.DataFrame, label: np.ndarray, s: Scenario) -> date | None:
    """First day from onset on which that day's planted cases exceed two noise standard
    deviations of the slice's usual count (mean of the 28 days before; app versions are left
    out of the slice because a release makes them new anyway)."""
    own = {k: v for k, v in s.slice.items() if k != "app_version"}
    inside = slice_mask(frame, own)
    day = frame["_day"].to_numpy()
    onset = day_number(s.onset)
    base = ((inside & (day >= onset - 28) & (day < onset) & (label != s.name)).sum()) / 28.0
    sel = inside & (label == s.name) & (day >= onset)
    planted = np.bincount(day[sel] - onset, minlength=1) if sel.any() else np.zeros(1)
    above = np.flatnonzero(planted > 2.0 * np.sqrt(max(base, 1.0)))
    return s.onset + timedelta(days=int(above[0])) if len(above) else None


def _first_by(members: pd.DataFrame) -> str:
    if members.empty:
        return ""
    first = members.sort_values(["detected", "q_value"]).iloc[0]
    return f"{first['origin']}: {first['key']}"


# --- Runtime ------------------------------------------------------------------------------------


def plain_group_by(con, where: str = "true") -> float:
    """A plain DuckDB GROUP BY of the same daily counts (one UNION ALL statement)."""
    parts = []
    for dim in DEFAULT_DIMENSIONS:
        cols = (dim,) if isinstance(dim, str) else dim
        keys = ", ".join(f"coalesce({quote_ident(c)}, '(missing)')" for c in cols)
        name = " x ".join(cols)
        parts.append(f"SELECT '{name}' AS dimension, concat_ws(' / ', {keys}) AS value, "  # noqa: S608
                     f"created_at::DATE AS period, count(*) AS n FROM cases WHERE {where} "
                     "GROUP BY ALL")  # fmt: skip
    start = time.perf_counter()
    con.execute(" UNION ALL ".join(parts)).df()
    return time.perf_counter() - start


def runtime(big: Path, work: Path, reps: int = 3) -> dict:
    """Full scan and incremental scan after a day's import on a copy of the 1M store.

    Each repetition removes the last two UTC days (the last full day and the partial one
    after it), scans as of the day before (the state before the import), imports the two
    days as a new file, runs the incremental scan, then a full scan (count cache rebuilt
    from scratch) as of the same day, and checks that both found the same trends.
    """
    path = work / "big.duckdb"
    shutil.copy(big, path)
    con = connect(path)
    last = con.execute("SELECT max(created_at)::DATE FROM cases").fetchone()[0]
    cut = last - timedelta(days=1)
    day_file = work / "last_days.parquet"
    con.execute(
        "COPY (SELECT * EXCLUDE (import_id, row_hash, extra) FROM cases "  # noqa: S608
        f"WHERE created_at >= '{cut}'::DATE) TO '{day_file}' (FORMAT parquet)"
    )
    n_day = con.execute("SELECT count(*) FROM cases WHERE created_at >= ?", [cut]).fetchone()[0]
    plain, plain_day, full, incr, same = [], [], [], [], []
    full_t, incr_t, mode = {}, {}, ""
    for _rep in range(reps):
        con.execute("DELETE FROM cases WHERE created_at >= ?", [cut])
        record_scan(con, scan_store(con, as_of=cut - timedelta(days=1)), LOCAL_USER)
        import_file(con, day_file, preset="generic", user="bench", file_name="last_days.parquet")
        plain.append(plain_group_by(con))
        plain_day.append(plain_group_by(con, where=f"created_at >= '{cut}'::DATE"))
        start = time.perf_counter()
        inc = scan_store(con, as_of=last, incremental=True)
        record_scan(con, inc, LOCAL_USER)
        incr.append(time.perf_counter() - start)
        incr_t, mode = inc.timings, inc.mode
        clear_token_cache()  # the full scan is measured cold
        start = time.perf_counter()
        ref = scan_store(con, as_of=last)
        record_scan(con, ref, LOCAL_USER)
        full.append(time.perf_counter() - start)
        full_t = ref.timings
        same.append(set(inc.detections.get("key", [])) == set(ref.detections.get("key", [])))
    cases = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    con.close()
    return {"plain": statistics.median(plain), "plain_day": statistics.median(plain_day),
            "full": statistics.median(full), "incremental": statistics.median(incr),
            "full_t": full_t, "incr_t": incr_t, "mode": mode, "cases": cases,
            "day_rows": n_day, "reps": reps, "same": all(same)}  # fmt: skip


# --- Report -------------------------------------------------------------------------------------


def run_history(name: str, path: Path, truth: pd.Series, scenarios: list[Scenario],
                terms: bool = True) -> dict:  # fmt: skip
    con = connect(path, read_only=True)
    start = time.perf_counter()
    bt = backtest_store(con, terms=terms)
    seconds = time.perf_counter() - start
    con.close()
    result = score(bt, truth, scenarios)
    result.update(name=name, seconds=seconds, timings=bt.timings, cases=len(bt.cases),
                  series=int(bt.detections.shape[0]))  # fmt: skip
    print(f"{name}: {result['true']} true / {result['false']} false alerts, "
          f"{seconds:.0f} s", flush=True)  # fmt: skip
    print(result["per"].to_string(), flush=True)
    return result


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else
                 (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seeds", default="11,23,42", help="seeds of the perturbed variants")
    parser.add_argument("--big", type=Path, help="a store holding the 1,000,000-case demo")
    parser.add_argument("--big-terms", action="store_true", help="replay terms on --big too")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "trends_demo.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trends_demo_"))
    runs = []
    base = demo.generate(args.rows, 7)
    load_history(work / "seed7.duckdb", base.cases, base.truth, base.manifest)
    truth = base.truth.set_index("case_id")["scenario"].fillna("")
    runs.append(run_history(f"demo {args.rows:,} cases, seed 7", work / "seed7.duckdb", truth,
                            demo_scenarios()))  # fmt: skip
    for seed in [int(s) for s in args.seeds.split(",") if s]:
        hist, planted = inject(demo.generate(args.rows, seed), seed)
        path = work / f"seed{seed}.duckdb"
        load_history(path, hist.cases, hist.truth, hist.manifest)
        truth = hist.truth.set_index("case_id")["scenario"].fillna("")
        runs.append(run_history(f"variant seed {seed} (+4 shapes)", path, truth,
                                demo_scenarios() + planted))  # fmt: skip
    timing = None
    if args.big:
        con = connect(args.big, read_only=True)
        truth = con.execute("SELECT case_id, coalesce(scenario, '') FROM demo_truth").df()
        con.close()
        truth = truth.set_index("case_id").iloc[:, 0]
        runs.append(run_history("demo 1,000,000 cases, seed 7", args.big, truth, demo_scenarios(),
                                terms=args.big_terms))  # fmt: skip
        timing = runtime(args.big, work)
    args.out.write_text(report(runs, timing, args), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out}")


def report(runs: list[dict], timing: dict | None, args) -> str:
    out = [
        "# Trending risks on the demo history",
        "",
        "Reproduce (every number but the timings is deterministic):",
        "",
        "```",
        ".venv/bin/python -m analytics --db /tmp/tr_1m.duckdb demo --rows 1000000   # once",
        f".venv/bin/python bench/bench_trends_demo.py --rows {args.rows} --seeds {args.seeds}"
        + (" --big /tmp/tr_1m.duckdb" if args.big else "")
        + (" --big-terms" if args.big_terms else ""),
        "```",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, shared 2-core box "
        "(timings are medians, reported as ratios to a baseline measured in the same run).",
        "",
        "## How it is measured",
        "",
        "`analytics.trend_backtest.backtest_store` replays the daily scan over the whole "
        "history at default sensitivity (`ESC_TREND_FDR` 0.01, `ESC_TREND_MIN_VOLUME` 10): "
        "every day is judged only on the data up to it (series tests, new values, emerging "
        "terms), the day's detections are grouped into trends as the live scan groups them, "
        "and trends are matched to the alerts already raised as `alert_scans.record_scan` matches "
        "them. An **alert** is a new feed entry, or an old one firing again after 14 quiet days.",
        "",
        "**Matching alerts to planted scenarios.** A detection (one slice, new value or term) "
        "belongs to planted scenario S when it is active between S's onset and "
        f"{MATCH_AFTER} days after S's end and either (a) its slice is S's slice, a parent "
        "(region LATAM for LATAM x Dangerous acts) or a child of it (**parents and children "
        "of a planted slice count as true detections**), or (b) S's planted cases make up at "
        f"least {PLANTED_SHARE:.0%} of its excess cases (for a term: of the cases holding it), "
        "which covers sibling slices of the same surge (queue High Risk x LATAM, country BR, "
        "#retoapagon). An alert is **true** when any of its trend's detections belongs to a "
        "planted volume scenario; otherwise it is a **false alert** (including alerts "
        "explained by the steady pain point, the grey-area policy or the DSA SLA event, "
        f"which are not volume trends). Counting starts on day {COUNT_FROM} of the history "
        "(baselines warm up). **Lead** = first alert day - planted onset, in days (0 = on "
        "the onset day; a daily scan runs after the day's data is in).",
        "",
    ]
    all_per = []
    for run in runs:
        per = run["per"].copy()
        all_per.append(per.assign(history=run["name"]))
        prec = run["true"] / run["firings"] if run["firings"] else float("nan")
        out += [
            f"## {run['name']}",
            "",
            _md_table(per.rename(columns={"first_by": "first detected by"})),
            "",
            f"- Alerts from day {COUNT_FROM}: {run['firings']} ({run['true']} true, "
            f"{run['false']} false): precision **{prec:.2f}**, false alerts per week "
            f"**{run['false'] / run['weeks']:.3f}** over {run['weeks']:.0f} weeks.",
            f"- Replay: {run['seconds']:.0f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in run["timings"].items())
            + ").",
        ]
        if run["false"]:
            out += ["- False alerts: " + "; ".join(
                f"{r.day:%Y-%m-%d} {r.what}" for r in run["false_list"].itertuples()) + "."]  # fmt: skip
        out.append("")
    per = pd.concat(all_per, ignore_index=True)
    detected = per["lead_days"].notna()
    leads = per.loc[detected, "lead_days"].astype(float)
    fpw = [r["false"] / r["weeks"] for r in runs]
    out += [
        "## Summary",
        "",
        f"- Planted trends: {len(per)} over {len(runs)} histories; detected "
        f"**{int(detected.sum())}** (recall {detected.mean():.2f}); within 2 days of onset "
        f"**{int((leads <= 2).sum())}**; median lead {leads.median():.1f} days, worst "
        f"{leads.max():.0f}.",
        "- False alerts per week: "
        + ", ".join(f"{r['name']} {f:.3f}" for r, f in zip(runs, fpw, strict=True))
        + ".",  # fmt: skip
    ]
    late = per[~detected | (per["lead_days"] > 2)]
    if len(late):
        out.append("- Later than 2 days or missed: " + "; ".join(
            f"{r.history}: {r.scenario} ({r.shape}, {r.slice}) "
            + (f"lead {r.lead_days:.0f}" if pd.notna(r.lead_days) else "missed")
            for r in late.itertuples()) + ".")  # fmt: skip
    out.append("")
    if timing:
        full_ratio = timing["full"] / timing["plain"]
        incr_ratio = timing["incremental"] / timing["plain"]
        out += [
            "## Runtime on the 1,000,000-case history",
            "",
            f"{timing['cases']:,} cases; the incremental scan follows the import of the last "
            f"full day and the partial day after it ({timing['day_rows']:,} cases) as a new "
            f"file; medians of {timing['reps']} repetitions in one process. The incremental and "
            "the full scan found the same detections: "
            f"**{'yes' if timing['same'] else 'NO'}**.",
            "",
            "| step | seconds | ratio to the plain GROUP BY |",
            "|---|---|---|",
            f"| plain DuckDB GROUP BY of the same daily counts (16 dimensions, to pandas) | "
            f"{timing['plain']:.2f} | 1 |",
            f"| full scan (`scan_store`, count cache rebuilt, every series fitted) + `record_scan` | "
            f"{timing['full']:.2f} | **{full_ratio:.1f}x** |",
            f"| incremental scan after a day's import (mode: {timing['mode']}) + `record_scan` | "
            f"{timing['incremental']:.2f} | **{incr_ratio:.1f}x** |",
            f"| plain GROUP BY of the imported days only | {timing['plain_day']:.3f} | "
            f"{timing['plain_day'] / timing['plain']:.2f} |",
            "",
            "Full scan steps: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in timing["full_t"].items())
            + ". Incremental: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in timing["incr_t"].items())
            + ".",
            "",
        ]
    out += [
        "## What the scan does and cannot do",
        "",
        "- **Three detectors, one feed.** Series tests (seasonal negative binomial, 1/3/7-day "
        "windows, BH across ~1,000 series a day, at least 10 cases), *new values* (a category, "
        "surface or pain point never seen in 8+ weeks that arrives with 10+ cases; app versions "
        "are routine and skipped) and *emerging terms* (hashtags, names and phrases whose rate "
        "rose 3x per case and per day, BH across terms). Their detections are grouped into "
        "trends by shared cases (`analytics/trend_groups.py`), so one surge is one alert.",
        "- **Early signals on the demo come from new values and terms** (`Dangerous acts` and "
        "`Product issue` did not exist before their scenarios; `#retoapagon` is new); the "
        "impersonation wave lives in existing slices and is caught by the series tests.",
        "- **Ramps are caught when their accumulated excess is clear, not on day one**: a "
        "slow ramp that adds one case a day is invisible for its first days (see the "
        "*visible* column); lead from onset is then 5-7 days.",
        "- **Sparse slices at 50,000 cases** (a few cases a day) need a day or two more than "
        "the same surge at 1,000,000 cases, where every planted trend alerts on its first day.",
        "- **Emerging terms are the main source of false alerts** (template phrases and a "
        "name in a greeting that cluster by chance); every one is a single, short alert.",
        "- **The incremental scan** recounts only the imported days (count cache), fits only "
        "series that a generous Poisson screen lets through (the others could not alert; the "
        "full scan is run after it as a check) and reuses the tokens of texts analysed in "
        "earlier scans in the same process.",
        "",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
