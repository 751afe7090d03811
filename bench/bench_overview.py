"""Overview computations: our Ibis code vs hand-written DuckDB SQL vs pandas, same run.

    .venv/bin/python bench/bench_overview.py                 # 1,000,000-case demo history
    .venv/bin/python bench/bench_overview.py --rows 100000   # quick look
    .venv/bin/python bench/bench_overview.py --skip-app      # computations only

For each computation of the Overview page (KPI tiles with the previous period, volume trend
by region, day-of-week x hour heatmap, weekday/weekend/holiday load, top movers, regulatory
view) it times three implementations that return the *same result* (checked, to 1e-9):

- ours: the function in analytics.metrics (Ibis, run through analytics.ibis_exec);
- hand SQL: the fastest single DuckDB statement we found for it (same semantics: zero-filled
  days and hours, top 8 groups + "Other", holidays per region, tie order...; where we tried
  several variants they are named next to the query), plus the few lines of Python that
  shape the same DataFrame;
- pandas: the same computation, vectorised, on a DataFrame already in memory.

Each repeat uses a different 90-day window (the anchor moves back one day per repeat), so
nothing is served from a cache keyed on values; the three run alternately and the tables
report medians. It also measures the fixed cost of a call (an empty window), the first
call of each query shape (Ibis compiles it), the whole Overview page through AppTest (cold
and warm), and the memory of a ``streamlit run app.py`` serving the history after every
page was opened (agent API). Writes docs/benchmarks/overview.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import fields
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from analytics import calendar, engine, ibis_exec, metrics  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from analytics.schema import OPEN_STATUSES  # noqa: E402
from analytics.store import connect  # noqa: E402

US_H, US_D = metrics.US_PER_HOUR, metrics.US_PER_DAY


def _tables(con) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def build_db(rows: int) -> Path:
    """The cached demo store, rebuilt when it lacks a table of the current schema (a store
    from before a migration that was numbered below the store's version is not migrated)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"overview_{rows}.duckdb"
    if path.exists():
        con = connect(path)  # migrates an older schema where it can
        fresh = connect(":memory:")
        missing = _tables(fresh) - _tables(con)
        fresh.close()
        con.close()
        if missing:
            print(f"rebuilding {path.name}: it lacks {sorted(missing)}", flush=True)
            path.unlink()
    if not path.exists():
        from analytics.demo import load_demo

        print(f"building a {rows:,}-case demo store ...", flush=True)
        t0 = time.perf_counter()
        con = connect(path)
        load_demo(con, rows=rows)
        con.close()
        print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def ts(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time())


def bounds(f: Filters) -> dict[str, datetime]:
    return {"lo": ts(f.start), "hi": ts(f.end + timedelta(days=1)), "prev": ts(f.previous().start)}


def kpi_frame(values: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    """The KPI table from {period: {key: value}}: the app's own shaping, so only the
    queries differ between the contenders."""
    return metrics.kpi_frame(values)


def num(v, scale: float = 1.0):
    return None if v is None or pd.isna(v) else float(v) / scale


# --- Hand-written SQL ------------------------------------------------------------------------
# Each window is its own range scan (DuckDB prunes row groups on created_at); both quantiles of
# a duration come from one sort of whole microseconds. (Grouping both windows by period, FILTER
# aggregates, epoch() doubles, or one cross join with both backlog cuts all measured slower.)
_WINDOW = """SELECT '{label}' AS period, count(*) AS volume, avg(sla_breached::DOUBLE) AS breach,
       quantile_cont(date_diff('microsecond', created_at, first_response_at), [0.5, 0.9]) AS fr,
       quantile_cont(date_diff('microsecond', created_at, resolved_at), [0.5, 0.9]) AS res,
       avg((coalesce(reopen_count, 0) > 0)::DOUBLE) AS reopen,
       count(*) FILTER (WHERE appeal_outcome IN ('overturned', 'upheld') AND coalesce(overturned, false)) AS overturns,
       count(*) FILTER (WHERE appeal_outcome IN ('overturned', 'upheld')) AS decided, avg(csat) AS csat
FROM cases WHERE created_at >= ${lo} AND created_at < ${hi}"""
_BACKLOG = """SELECT '{label}' AS period, count(*) AS backlog,
       median(date_diff('microsecond', created_at, ${hi})) AS age_us
FROM cases WHERE created_at < ${hi}
  AND ((resolved_at IS NULL AND status IN ('open', 'pending', 'reopened')) OR resolved_at >= ${hi})"""
SQL_KPIS = (  # constant text: every value is a $parameter
    "SELECT * FROM ("  # noqa: S608
    + _WINDOW.format(label="current", lo="lo", hi="hi")
    + " UNION ALL "
    + _WINDOW.format(label="previous", lo="prev", hi="lo")
    + ") w JOIN ("
    + _BACKLOG.format(label="current", hi="hi")
    + " UNION ALL "
    + _BACKLOG.format(label="previous", hi="lo")
    + ") b USING (period)"
)
assert tuple(OPEN_STATUSES) == ("open", "pending", "reopened")


def sql_kpis(con, f: Filters) -> pd.DataFrame:
    rows = {r["period"]: r for r in con.execute(SQL_KPIS, bounds(f)).df().to_dict("records")}
    values = {}
    for period, r in rows.items():
        fr = r["fr"] if r["fr"] is not None and len(r["fr"]) else (None, None)
        res = r["res"] if r["res"] is not None and len(r["res"]) else (None, None)
        values[period] = {
            "volume": float(r["volume"]),
            "backlog": float(r["backlog"]),
            "backlog_age": num(r["age_us"], US_D),
            "sla_breach_rate": num(r["breach"]),
            "first_response_median": num(fr[0], US_H),
            "first_response_p90": num(fr[1], US_H),
            "resolution_median": num(res[0], US_H),
            "resolution_p90": num(res[1], US_H),
            "reopen_rate": num(r["reopen"]),
            "overturn_rate": r["overturns"] / r["decided"] if r["decided"] else None,
            "csat": num(r["csat"]),
        }
    return kpi_frame(values)


SQL_TREND = """
WITH counts AS (
  SELECT date_trunc('day', created_at) AS period, coalesce(region, '(none)') AS grp, count(*) AS n
  FROM cases WHERE created_at >= $lo AND created_at < $hi GROUP BY ALL),
labels AS (
  SELECT grp, CASE WHEN row_number() OVER (ORDER BY sum(n) DESC, grp) <= 8 THEN grp ELSE 'Other' END AS label
  FROM counts GROUP BY grp),
labelled AS (SELECT period, label AS grp, sum(n) AS n FROM counts JOIN labels USING (grp) GROUP BY ALL),
grid AS (
  SELECT * FROM (SELECT unnest(generate_series($lo, $last, INTERVAL 1 DAY)) AS period)
  CROSS JOIN (SELECT DISTINCT grp FROM labelled))
SELECT period, grp AS "group", coalesce(n, 0)::BIGINT AS cases
FROM grid LEFT JOIN labelled USING (period, grp) ORDER BY period, grp"""


def sql_trend(con, f: Filters) -> pd.DataFrame:
    params = {"lo": ts(f.start), "hi": ts(f.end + timedelta(days=1)), "last": ts(f.end)}
    return con.execute(SQL_TREND, params).df()


# isodow() - 1 and hour(): about 1 ms cheaper than the (dayofweek + 6) % 7 and EXTRACT Ibis writes.
SQL_HEATMAP = """
SELECT d.dow, h.hour, coalesce(c.n, 0)::BIGINT AS cases
FROM range(7) d(dow) CROSS JOIN range(24) h(hour)
LEFT JOIN (SELECT isodow(created_at) - 1 AS dow, hour(created_at) AS hour, count(*) AS n FROM cases
           WHERE created_at >= $lo AND created_at < $hi GROUP BY ALL) c USING (dow, hour)
ORDER BY 1, 2"""


def sql_heatmap(con, f: Filters) -> pd.DataFrame:
    return con.execute(SQL_HEATMAP, {"lo": ts(f.start), "hi": ts(f.end + timedelta(days=1))}).df()


SQL_DAY_TYPES = """
WITH hol AS (SELECT unnest($days::DATE[]) AS day, unnest($regions::VARCHAR[]) AS region),
daily AS (
  SELECT created_at::DATE AS day, coalesce(region, '(none)') AS region, count(*) AS cases,
         count(*) FILTER (WHERE sla_breached) AS breaches, count(sla_breached) AS with_sla,
         median(date_diff('microsecond', created_at, resolved_at)) AS res_us
  FROM cases WHERE created_at >= $lo AND created_at < $hi GROUP BY ALL)
SELECT CASE WHEN hol.day IS NOT NULL THEN 'public holiday' WHEN isodow(daily.day) >= 6 THEN 'weekend'
            ELSE 'weekday' END AS day_type,
       count(*) AS days, sum(cases) / count(*) AS cases_per_day,
       sum(breaches) / nullif(sum(with_sla), 0) AS sla_breach_rate,
       median(res_us) / 3600000000.0 AS resolution_median_h
FROM daily LEFT JOIN hol USING (day, region) GROUP BY 1
ORDER BY CASE day_type WHEN 'weekday' THEN 0 WHEN 'weekend' THEN 1 ELSE 2 END"""


def sql_day_types(con, f: Filters) -> pd.DataFrame:
    hol = calendar.region_holidays(f.start, f.end)
    return con.execute(
        SQL_DAY_TYPES,
        {
            "lo": ts(f.start),
            "hi": ts(f.end + timedelta(days=1)),
            "days": hol["date"].tolist(),
            "regions": hol["region"].tolist(),
        },
    ).df()


SQL_MOVERS = """
SELECT value, current, previous, current - previous AS change,
       (current - previous) / nullif(previous, 0) AS change_pct
FROM (SELECT coalesce(category, '(none)') AS value,
             count(*) FILTER (WHERE created_at >= $lo) AS current,
             count(*) FILTER (WHERE created_at < $lo) AS previous
      FROM cases WHERE created_at >= $prev AND created_at < $hi GROUP BY 1)
WHERE current + previous >= 5 ORDER BY abs(current - previous) DESC, value LIMIT 10"""


def sql_movers(con, f: Filters) -> pd.DataFrame:
    return con.execute(SQL_MOVERS, bounds(f)).df()


# The summary and three breakdowns from one narrow scan; measured against GROUPING SETS, four
# separate queries and counts per (type, source, outcome) summed in Python: this was fastest.
SQL_REGULATORY = """
WITH r AS (SELECT created_at, resolved_at, sla_breached, appeal_outcome, overturned, category,
                  channel, outcome FROM cases
           WHERE queue = 'Regulatory/DSA' AND created_at >= $lo AND created_at < $hi)
SELECT 'summary' AS part, NULL AS key, count(*) AS notices,
       median(date_diff('microsecond', created_at, resolved_at)) AS median_us,
       avg(sla_breached::DOUBLE) AS breach,
       count(*) FILTER (WHERE appeal_outcome IN ('overturned', 'upheld')) AS appealed,
       count(*) FILTER (WHERE coalesce(overturned, false)) AS overturned FROM r
UNION ALL SELECT 'category', coalesce(category, '(not given)'), count(*), NULL, NULL, NULL, NULL FROM r GROUP BY 2
UNION ALL SELECT 'channel', coalesce(channel, '(not given)'), count(*), NULL, NULL, NULL, NULL FROM r GROUP BY 2
UNION ALL SELECT 'outcome', coalesce(outcome, '(not given)'), count(*), NULL, NULL, NULL, NULL FROM r GROUP BY 2
ORDER BY part, notices DESC, key"""


def sql_regulatory(con, f: Filters) -> metrics.RegulatoryView:
    df = con.execute(SQL_REGULATORY, {"lo": ts(f.start), "hi": ts(f.end + timedelta(days=1))}).df()
    head = df[df["part"] == "summary"].iloc[0]

    def part(col):
        p = df[df["part"] == col]
        return pd.DataFrame({col: p["key"].to_numpy(), "notices": p["notices"].to_numpy()})

    return metrics.RegulatoryView(
        notices=int(head["notices"]),
        by_type=part("category"),
        by_source=part("channel"),
        median_hours_to_action=num(head["median_us"], US_H),
        sla_breach_rate=num(head["breach"]),
        decisions_appealed=int(head["appealed"]),
        overturned_on_complaint=int(head["overturned"]),
        by_outcome=part("outcome"),
    )


# --- pandas ------------------------------------------------------------------------------------
def pd_window(df, lo: datetime, hi: datetime):
    c = df["created_at"]
    return df[(c >= lo) & (c < hi)]


def pd_hours(later, earlier, scale=US_H):
    return (later - earlier) / pd.Timedelta(microseconds=1) / scale


def pd_kpis(df, f: Filters) -> pd.DataFrame:
    b = bounds(f)
    values = {}
    unresolved = df["resolved_at"].isna() & df["status"].isin(OPEN_STATUSES)  # both cuts
    for period, lo, hi in (("current", b["lo"], b["hi"]), ("previous", b["prev"], b["lo"])):
        w = pd_window(df, lo, hi)
        fr = ((w["first_response_at"] - w["created_at"]) / pd.Timedelta(microseconds=1)).quantile(
            [0.5, 0.9]
        )
        res = ((w["resolved_at"] - w["created_at"]) / pd.Timedelta(microseconds=1)).quantile(
            [0.5, 0.9]
        )
        decided = w["appeal_outcome"].isin(["overturned", "upheld"])
        open_ = (df["created_at"] < hi) & (unresolved | (df["resolved_at"] >= hi))
        age = ((hi - df.loc[open_, "created_at"]) / pd.Timedelta(microseconds=1)).median()
        values[period] = {
            "volume": float(len(w)),
            "backlog": float(open_.sum()),
            "backlog_age": num(age, US_D),
            "sla_breach_rate": num(w["sla_breached"].astype("float64").mean()),
            "first_response_median": num(fr.iloc[0], US_H),
            "first_response_p90": num(fr.iloc[1], US_H),
            "resolution_median": num(res.iloc[0], US_H),
            "resolution_p90": num(res.iloc[1], US_H),
            "reopen_rate": num((w["reopen_count"].fillna(0) > 0).mean()),
            "overturn_rate": (decided & w["overturned"].fillna(False).astype(bool)).sum()
            / decided.sum()
            if decided.sum()
            else None,
            "csat": num(w["csat"].mean()),
        }
    return kpi_frame(values)


def pd_trend(df, f: Filters) -> pd.DataFrame:
    w = pd_window(df, ts(f.start), ts(f.end + timedelta(days=1)))
    g = w.groupby(
        [
            w["created_at"].dt.floor("D").rename("period"),
            w["region"].fillna("(none)").rename("group"),
        ]
    ).size()
    totals = g.groupby(level="group").sum()
    keep = set(sorted(totals.index, key=lambda k: (-totals[k], k))[:8])
    labels = g.index.get_level_values("group").where(
        g.index.get_level_values("group").isin(keep), "Other"
    )
    g = g.groupby([g.index.get_level_values("period"), labels]).sum()
    days = pd.date_range(ts(f.start), ts(f.end), freq="D", unit="us")
    grid = pd.MultiIndex.from_product([days, sorted(set(labels))], names=["period", "group"])
    return g.reindex(grid, fill_value=0).rename("cases").reset_index()


def pd_heatmap(df, f: Filters) -> pd.DataFrame:
    c = pd_window(df, ts(f.start), ts(f.end + timedelta(days=1)))["created_at"]
    g = c.groupby([c.dt.day_of_week.rename("dow"), c.dt.hour.rename("hour")]).size()
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["dow", "hour"])
    return g.reindex(grid, fill_value=0).rename("cases").reset_index()


def pd_day_types(df, f: Filters) -> pd.DataFrame:
    w = pd_window(df, ts(f.start), ts(f.end + timedelta(days=1)))
    daily = (
        w.assign(
            day=w["created_at"].dt.floor("D"),
            region=w["region"].fillna("(none)"),
            res=(w["resolved_at"] - w["created_at"]) / pd.Timedelta(microseconds=1),
            br=w["sla_breached"].astype("float64"),
        )
        .groupby(["day", "region"])
        .agg(
            cases=("case_id", "size"),
            breaches=("br", "sum"),
            with_sla=("br", "count"),
            res=("res", "median"),
        )
        .reset_index()
    )
    hol = calendar.region_holidays(f.start, f.end)
    holiday = pd.MultiIndex.from_arrays([daily["day"], daily["region"]]).isin(
        pd.MultiIndex.from_arrays([pd.to_datetime(hol["date"]).dt.as_unit("us"), hol["region"]])
    )
    daily["day_type"] = np.where(
        holiday, "public holiday", np.where(daily["day"].dt.day_of_week >= 5, "weekend", "weekday")
    )
    out = daily.groupby("day_type").agg(
        days=("cases", "size"),
        cases=("cases", "sum"),
        breaches=("breaches", "sum"),
        with_sla=("with_sla", "sum"),
        res=("res", "median"),
    )
    out = out.reindex([d for d in metrics.DAY_TYPES if d in out.index])
    return pd.DataFrame(
        {
            "day_type": out.index,
            "days": out["days"].to_numpy(),
            "cases_per_day": (out["cases"] / out["days"]).to_numpy(),
            "sla_breach_rate": (
                out["breaches"] / out["with_sla"].where(out["with_sla"] > 0)
            ).to_numpy(),
            "resolution_median_h": (out["res"] / US_H).to_numpy(),
        }
    )


def pd_movers(df, f: Filters) -> pd.DataFrame:
    b = bounds(f)
    cur = pd_window(df, b["lo"], b["hi"])["category"].fillna("(none)").value_counts()
    old = pd_window(df, b["prev"], b["lo"])["category"].fillna("(none)").value_counts()
    m = pd.concat([cur.rename("current"), old.rename("previous")], axis=1).fillna(0).astype("int64")
    m = m[m["current"] + m["previous"] >= 5].rename_axis("value").reset_index()
    m["change"] = m["current"] - m["previous"]
    m["change_pct"] = m["change"] / m["previous"].where(m["previous"] > 0)
    m = m.assign(_abs=m["change"].abs()).sort_values(["_abs", "value"], ascending=[False, True])
    return m.drop(columns="_abs").head(10).reset_index(drop=True)


def pd_regulatory(df, f: Filters) -> metrics.RegulatoryView:
    w = pd_window(df, ts(f.start), ts(f.end + timedelta(days=1)))
    r = w[w["queue"] == "Regulatory/DSA"]

    def part(col):
        counts = r[col].fillna("(not given)").value_counts()
        counts = counts.rename("notices").rename_axis(col).reset_index()
        return counts.sort_values(["notices", col], ascending=[False, True]).reset_index(drop=True)

    return metrics.RegulatoryView(
        notices=len(r),
        by_type=part("category"),
        by_source=part("channel"),
        median_hours_to_action=num(pd_hours(r["resolved_at"], r["created_at"], 1.0).median(), US_H),
        sla_breach_rate=num(r["sla_breached"].astype("float64").mean()),
        decisions_appealed=int(r["appeal_outcome"].isin(["overturned", "upheld"]).sum()),
        overturned_on_complaint=int(r["overturned"].fillna(False).astype(bool).sum()),
        by_outcome=part("outcome"),
    )


COMPUTATIONS = {
    "KPI tiles (11 KPIs, current + previous, backlog at 2 cuts)": (
        lambda t, f: metrics.kpis(t, f),
        sql_kpis,
        pd_kpis,
    ),
    "Volume trend by region, daily (zero-filled, top 8 + Other)": (
        lambda t, f: metrics.volume_trend(t, f, "region", "D"),
        sql_trend,
        pd_trend,
    ),
    "Day-of-week x hour heatmap (zero-filled)": (
        lambda t, f: metrics.load_heatmap(t, f),
        sql_heatmap,
        pd_heatmap,
    ),
    "Weekday / weekend / holiday load (per-region holidays)": (
        lambda t, f: metrics.day_type_load(t, f),
        sql_day_types,
        pd_day_types,
    ),
    "Top movers by category": (
        lambda t, f: metrics.top_movers(t, f, "category"),
        sql_movers,
        pd_movers,
    ),
    "Regulatory (DSA) view": (
        lambda t, f: metrics.regulatory_view(t, f),
        sql_regulatory,
        pd_regulatory,
    ),
}


def same(a, b, where: str) -> None:
    """Raise if two results differ (values to 1e-9; dtypes may differ)."""
    if isinstance(a, metrics.RegulatoryView):
        for fld in fields(a):
            same(getattr(a, fld.name), getattr(b, fld.name), f"{where}.{fld.name}")
    elif isinstance(a, pd.DataFrame):
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
        for col in a.columns:  # text columns: compare as Python objects (str vs object dtype)
            if not pd.api.types.is_numeric_dtype(
                a[col]
            ) and not pd.api.types.is_datetime64_any_dtype(a[col]):
                a[col], b[col] = a[col].astype(object), b[col].astype(object)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, obj=where)
    elif a is None or b is None:
        assert a is None and b is None, (where, a, b)
    else:
        assert a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a)), (where, a, b)


def clock(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# --- Phases ------------------------------------------------------------------------------------
def bench_computations(db: Path, repeats: int) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    t = engine.cases_table(con)
    first, last = metrics.date_bounds(t)
    window = lambda i: Filters(preset="last_90").resolve(last - timedelta(days=i), first)  # noqa: E731
    t0 = time.perf_counter()
    df = con.execute("SELECT * FROM cases").df()
    load_s = time.perf_counter() - t0
    ibis_exec.clear()
    empty = Filters(preset="custom", start=date(2000, 1, 3), end=date(2000, 4, 1))
    rows = []
    for name, (ours, sql, pdf) in COMPUTATIONS.items():
        warm_f = window(repeats + 1)
        calendar.region_holidays(warm_f.start, warm_f.end)  # loads the holiday calendars once
        first_call = clock(lambda ours=ours, f=warm_f: ours(t, f))  # compiles the query shape
        results = (ours(t, warm_f), sql(con, warm_f), pdf(df, warm_f))
        same(results[0], results[1], f"{name}: ours vs hand SQL")
        same(results[0], results[2], f"{name}: ours vs pandas")
        sql(con, warm_f)
        times: dict[str, list[float]] = {"ours": [], "sql": [], "pandas": []}
        runs = {
            "ours": lambda f, ours=ours: ours(t, f),
            "sql": lambda f, sql=sql: sql(con, f),
            "pandas": lambda f, pdf=pdf: pdf(df, f),
        }
        order = list(runs)
        for i in range(repeats):
            # Alternate, and rotate who goes first: load changes hit all three alike, and none
            # always runs right after pandas has swept the CPU caches.
            f = window(i)
            for who in order[i % 3 :] + order[: i % 3]:
                times[who].append(clock(lambda run=runs[who], f=f: run(f)))
        o, s, p = times["ours"], times["sql"], times["pandas"]
        # Fixed cost per call: a window without cases (DuckDB skips every row group).
        fo, fs = [], []
        for _ in range(repeats):
            fo.append(clock(lambda ours=ours: ours(t, empty)))
            fs.append(clock(lambda sql=sql: sql(con, empty)))
        paired = sorted(a / b for a, b in zip(o, s, strict=True))  # same window and repeat
        row = {
            "name": name,
            "ours": statistics.median(o),
            "sql": statistics.median(s),
            "paired": (paired[0], paired[-1]),
            "pandas": statistics.median(p),
            "first_call": first_call,
            "fixed_ours": statistics.median(fo),
            "fixed_sql": statistics.median(fs),
        }
        rows.append(row)
        print(
            f"{name[:58]:58s} ours {row['ours'] * 1e3:7.1f}  sql {row['sql'] * 1e3:7.1f}  "
            f"pandas {row['pandas'] * 1e3:7.1f} ms  (load {load_avg()})",
            flush=True,
        )
    # What every analytics call in the app pays before its query: a cursor, an Ibis backend
    # and the table's schema (engine.cases_table), next to a trivial DuckDB round trip.
    table_s = statistics.median(clock(lambda: engine.cases_table(con)) for _ in range(20))
    trivial_s = statistics.median(clock(lambda: con.execute("SELECT 1").df()) for _ in range(20))
    stats = ibis_exec.stats
    con.close()
    return {
        "rows": rows,
        "load_s": load_s,
        "window": window(0),
        "table_s": table_s,
        "trivial_s": trivial_s,
        "stats": (stats.compiled, stats.reused, stats.through_ibis),
        "df_mb": df.memory_usage(deep=True).sum() / 2**20,
    }


def render_page(db: Path) -> dict:
    """The whole Overview page through AppTest: cold, rerun, and new filters."""
    os.environ["ESC_DB_PATH"] = str(db)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def run(query: dict | None = None) -> tuple[float, float, AppTest]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        home = clock(at.run)
        overview = clock(lambda: at.switch_page("pages/1_Overview.py").run())
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return home, overview, at

    st.cache_data.clear()
    st.cache_resource.clear()
    ibis_exec.clear()
    home, cold, at = run()
    warm = clock(at.run)
    # Another period: Streamlit's caches miss, the compiled query shapes are reused.
    _home2, other, _ = run({"range": "last_30"})
    st.cache_resource.clear()
    return {"home": home, "cold": cold, "warm": warm, "other": other}


def app_memory(db: Path) -> dict:
    """Peak memory of `streamlit run app.py` on the history after opening every page."""
    from tests.browser.conftest import Server
    from ui.page import NAVIGATION

    server = Server(db, args=["--server.enableAgentApi=true"])
    pid = server.proc.pid

    def status(key: str) -> float:
        line = next(
            x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(key)
        )
        return int(line.split()[1]) / 1024

    def interact(body: dict) -> dict:
        req = urllib.request.Request(
            f"{server.url}/_stcore/agent/interact",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=900) as resp:
                out = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            out = json.loads(exc.read())
            if exc.code != 202:
                raise RuntimeError(out) from exc
        while out.get("status") not in ("ready", "error"):  # 202: still running
            out = interact({"session_id": out["session_id"]})
        return out

    def errors(snapshot: dict) -> list[str]:
        found = []

        def walk(node):
            if node.get("type") in ("exception", "error"):
                props = node.get("props", {})
                text = props.get("message") or props.get("body") or json.dumps(props)
                found.append(f"{node['type']}: {str(text)[:160]}")
            for child in node.get("children", []):
                walk(child)

        walk(snapshot.get("tree", {}))
        return found

    pages, problems = [], []
    try:
        start_mb = status("VmRSS")
        t0 = time.perf_counter()
        snap = interact({})
        session = snap["session_id"]
        pages.append(("Home", time.perf_counter() - t0, status("VmRSS")))
        problems += errors(snap)
        paths = {
            p.get("page_name") or p.get("title"): p.get("url_path") for p in snap.get("pages", [])
        }
        for script, label, _icon in NAVIGATION[1:]:
            if not (ROOT / script).exists():
                continue
            url_path = (
                paths.get(label) or script.split("/")[-1].removesuffix(".py").split("_", 1)[1]
            )
            t0 = time.perf_counter()
            snap = interact({"session_id": session, "page": url_path})
            pages.append((label, time.perf_counter() - t0, status("VmRSS")))
            problems += [f"{label}: {e}" for e in errors(snap)]
        peak = status("VmHWM")
    finally:
        server.stop()
    return {"start_mb": start_mb, "pages": pages, "peak_mb": peak, "problems": problems}


#: Measured once by hand (not by this script): the analytics/metrics.py before the change, run
#: alternately with the current one and this hand SQL on the same windows (load average ~3).
BEFORE = [
    "## Before this change (measured once, 25 Nov 2026)",
    "",
    "The previous analytics/metrics.py (`expr.execute()` per query, so Ibis compiled every query "
    "on every call; two queries for the KPIs, four for the regulatory view; epoch-second "
    "durations; pandas post-processing), timed alternately with the current code against the "
    "same hand SQL, 11 windows, load average about 3: KPI tiles 151.6 ms (2.68x the hand SQL), "
    "volume trend 28.2 ms (2.08x), heatmap 22.9 ms (2.84x), day types 50.7 ms (2.33x), top "
    "movers 30.0 ms (2.96x), regulatory view 95.9 ms (3.94x); the current code in that run: "
    "1.12x, 0.92x, 1.37x, 0.99x, 1.15x, 0.67x. (The previous version of this page reported "
    "3.3-7.0x against hand SQL that skipped the zero-filling, top-8 grouping, holiday "
    "classification and ranking, with pandas versions that recomputed loop invariants.)",
]


def write_doc(args, comp: dict, page: dict | None, mem: dict | None, load: tuple[str, str]) -> str:
    f = comp["window"]
    ok = lambda c: "met" if c else "**missed**"  # noqa: E731
    lines = [
        "# Overview benchmark",
        "",
        f"Command: `.venv/bin/python bench/bench_overview.py --rows {args.rows} --repeats {args.repeats}`",
        "",
        f"Data: demo history, {args.rows:,} cases. Each repeat uses another 90-day window (the first ends "
        f"{f.end}, then one day earlier per repeat), so only *query shapes* are reused, never values. "
        f"Medians of {args.repeats} repeats after a warm-up, the three alternating (who goes first rotates), one "
        f"process, 2 shared cores; load average (1/5/15 min) {load[0]} at the start, {load[1]} at the end "
        "(other engineers' jobs: absolute times move with it, ratios much less). The three "
        "implementations return the same result (checked to 1e-9 before timing). pandas works on a "
        f"DataFrame already in memory ({comp['df_mb']:,.0f} MB; loading it took {comp['load_s']:.1f} s, "
        "not counted).",
        "",
        "| Computation | ours (Ibis) ms | hand SQL ms | pandas ms | ours / SQL (≤ 1.5) | per repeat | pandas / ours (≥ 5) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in comp["rows"]:
        q, p = r["ours"] / r["sql"], r["pandas"] / r["ours"]
        lo, hi = r["paired"]
        lines.append(
            f"| {r['name']} | {r['ours'] * 1e3:.1f} | {r['sql'] * 1e3:.1f} | {r['pandas'] * 1e3:.1f} | "
            f"{q:.2f} ({ok(q <= 1.5)}) | {lo:.2f}–{hi:.2f} | {p:.1f} ({ok(p >= 5)}) |"
        )
    lines += [
        "",
        "*per repeat*: the lowest and highest ours / SQL of single repeats (same window, same "
        "repeat), to show the noise of a shared machine.",
        "",
        "What makes ours fast (analytics/ibis_exec.py, analytics/metrics.py): each computation is one "
        "query; Ibis compiles a query *shape* once per process and the SQL is reused with the filter "
        "values bound as DuckDB parameters (Ibis 12 recompiles on every execute, 5-40 ms, and inlines "
        "`ibis.param` values); the per-period queries are also *built* once per shape on a stand-in "
        "table, the filtered cases spliced in as a CTE; durations are whole microseconds "
        "(`delta(unit='microsecond')`) with both quantiles from one aggregate; small results (top "
        "movers' ranking, zero-filled grids, holiday classification of a few hundred region-days) are "
        "shaped in numpy rather than by further queries or pandas group-bys.",
    ]
    compiled, reused, through = comp["stats"]
    lines += ["", *BEFORE]
    lines += [
        "",
        "## Fixed cost per call",
        "",
        "Same calls on a window without cases (DuckDB skips every row group, so this is what a call "
        "costs besides reading data), and the first call of each query shape in the process, when "
        "Ibis compiles it (analytics.ibis_exec then reuses the SQL for any filter values).",
        "",
        "| Computation | ours, empty window ms | hand SQL, empty window ms | ours, first call (compile) ms |",
        "|---|---:|---:|---:|",
    ]
    for r in comp["rows"]:
        lines.append(
            f"| {r['name']} | {r['fixed_ours'] * 1e3:.1f} | {r['fixed_sql'] * 1e3:.1f} | "
            f"{r['first_call'] * 1e3:.0f} |"
        )
    lines += [
        "",
        f"Besides: `engine.cases_table(con)` (cursor + Ibis backend + schema, paid once per analytics "
        f"call in the app) {comp['table_s'] * 1e3:.1f} ms; a trivial DuckDB round trip "
        f"(`SELECT 1` to a DataFrame) {comp['trivial_s'] * 1e3:.2f} ms. Compiled query shapes in this "
        f"run: {compiled} compiled, {reused} reused, {through} through Ibis's own path.",
    ]
    if page:
        lines += [
            "",
            "## The whole Overview page (AppTest)",
            "",
            f"On {args.rows:,} cases, through `streamlit.testing` AppTest: entry page (Home: store info, "
            f"date bounds, sidebar pick-lists) {page['home']:.1f} s, then the Overview page **{page['cold']:.1f} s** "
            "cold (empty Streamlit caches, no compiled query shapes), a rerun (cached) "
            f"{page['warm']:.2f} s, and a new period (last 30 days: Streamlit's caches miss, compiled "
            f"shapes reused) {page['other']:.1f} s.",
        ]
    if mem:
        lines += [
            "",
            "## App memory",
            "",
            f"`streamlit run app.py` serving the {args.rows:,}-case store, every page opened in turn "
            "through the agent API (`--server.enableAgentApi=true`). Resident memory after each page "
            f"(started at {mem['start_mb']:,.0f} MB):",
            "",
            "| Page | open s | VmRSS after, MB |",
            "|---|---:|---:|",
        ]
        lines += [f"| {label} | {secs:.1f} | {rss:,.0f} |" for label, secs, rss in mem["pages"]]
        lines += [
            "",
            f"Peak (VmHWM) of the server process: **{mem['peak_mb']:,.0f} MB** "
            f"(target under 1,536 MB: {ok(mem['peak_mb'] < 1536)}). "
            + (
                f"Errors shown on pages: {mem['problems']}"
                if mem["problems"]
                else "No page showed an error."
            ),
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--skip-app", action="store_true", help="no AppTest render, no app memory")
    args = parser.parse_args()
    load_start = load_avg()
    db = build_db(args.rows)
    comp = bench_computations(db, args.repeats)
    page = mem = None
    if not args.skip_app:
        gc.collect()  # closes this process's cursors: the app opens the store for writing
        mem = app_memory(db)
        print(f"memory: {mem}", flush=True)
        page = render_page(db)
        print(f"AppTest: {page}", flush=True)
    doc = write_doc(args, comp, page, mem, (load_start, load_avg()))
    (ROOT / "docs" / "benchmarks" / "overview.md").write_text(doc, encoding="utf-8")
    print(doc)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
