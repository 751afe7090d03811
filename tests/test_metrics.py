"""Every dashboard metric against a value computed by hand on a small fixture."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics import engine, metrics
from analytics.filters import Filters
from analytics.ingest import import_file

# Current window: Mon 2 March 2026 .. Sun 8 March 2026; previous: 23 Feb .. 1 March.
FIXTURE = """case_id,created_at,first_response_at,resolved_at,status,queue,priority,country,category,subject,reopen_count,appeal_outcome,csat
A1,2026-03-02T10:00:00+02:00,2026-03-02T11:00:00+02:00,2026-03-02T20:00:00+02:00,resolved,Legal,normal,DE,Spam,a,0,upheld,5
A2,2026-03-03T09:00:00Z,2026-03-03T12:00:00Z,2026-03-04T15:00:00Z,resolved,High Risk,high,ID,Spam,b,1,overturned,1
A3,2026-03-04 12:00:00,,,open,Regulatory/DSA,normal,BR,Hate,c,0,,
A4,2026-03-08T23:30:00-03:00,,,open,Legal,normal,BR,Hate,d,0,,
B1,2026-02-25T10:00:00Z,,2026-02-25T15:00:00Z,resolved,Legal,normal,ID,Spam,e,0,,
B2,2026-02-26T10:00:00Z,,2026-03-05T10:00:00Z,resolved,High Risk,normal,ID,Spam,f,0,,
"""
WINDOW = Filters(preset="custom", start=date(2026, 3, 2), end=date(2026, 3, 8))


@pytest.fixture
def t(con, write_csv):
    import_file(con, write_csv("fixture.csv", FIXTURE))
    return engine.cases_table(con)


def _kpi(df, key):
    row = df.set_index("key").loc[key]
    return row["value"], row["previous"]


def test_kpis_match_hand_computation(t):
    k = metrics.kpis(t, WINDOW)
    assert _kpi(k, "volume") == (3, 2)  # A4 is 9 March 02:30 UTC: outside the window
    # A1 (Legal, 10 h) in time; A2 (High Risk high: 12 h target, took 30 h) breached;
    # A3 (Regulatory/DSA, 24 h target) is still open long past its deadline.
    assert _kpi(k, "sla_breach_rate")[0] == pytest.approx(2 / 3)
    assert _kpi(k, "first_response_median")[0] == pytest.approx(2.0)  # 1 h and 3 h
    assert _kpi(k, "first_response_p90")[0] == pytest.approx(2.8)  # linear interpolation
    assert _kpi(k, "resolution_median")[0] == pytest.approx(20.0)  # 10 h and 30 h
    assert _kpi(k, "resolution_p90")[0] == pytest.approx(28.0)
    assert _kpi(k, "reopen_rate")[0] == pytest.approx(1 / 3)
    assert _kpi(k, "overturn_rate")[0] == pytest.approx(0.5)  # A2 of A1, A2
    assert _kpi(k, "csat")[0] == pytest.approx(3.0)
    # Backlog at the end of the window: only A3. At the start: B2 (resolved 5 March).
    assert _kpi(k, "backlog") == (1, 1)
    age_now, age_before = _kpi(k, "backlog_age")
    assert age_now == pytest.approx(4.5)  # 4 Mar 12:00 -> 9 Mar 00:00
    assert age_before == pytest.approx(3 + 14 / 24)  # 26 Feb 10:00 -> 2 Mar 00:00 (28-day February)
    row = k.set_index("key").loc["volume"]
    assert row["change"] == 1 and row["change_pct"] == pytest.approx(0.5)


def test_kpis_follow_dimension_filters(t):
    k = metrics.kpis(
        t, Filters(preset="custom", start=date(2026, 3, 2), end=date(2026, 3, 8), country=("ID",))
    )
    assert _kpi(k, "volume") == (1, 2)
    assert _kpi(k, "sla_breach_rate")[0] == pytest.approx(1.0)
    assert _kpi(k, "backlog") == (0, 1)
    k = metrics.kpis(
        t, Filters(preset="custom", start=date(2026, 3, 2), end=date(2026, 3, 8), search="B")
    )
    assert _kpi(k, "volume") == (1, 0)  # subject "b"


def test_volume_trend_fills_missing_days(t):
    df = metrics.volume_trend(t, WINDOW, by="country", freq="D")
    assert len(df) == 7 * 3  # 7 days x (BR, DE, ID)
    assert df["cases"].sum() == 3
    by_day = df.groupby("period")["cases"].sum()
    assert by_day.loc[pd.Timestamp("2026-03-05")] == 0
    weekly = metrics.volume_trend(t, WINDOW, by=None, freq="W")
    assert weekly["cases"].sum() == 3 and set(weekly["group"]) == {"All cases"}


def test_heatmap_and_day_types(t):
    heat = metrics.load_heatmap(t, WINDOW)
    assert len(heat) == 7 * 24 and heat["cases"].sum() == 3
    assert heat.set_index(["dow", "hour"]).loc[(0, 8), "cases"] == 1  # A1: Monday 08:00 UTC
    wide = Filters(preset="custom", start=date(2026, 2, 23), end=date(2026, 3, 8))
    load = metrics.day_type_load(t, wide).set_index("day_type")
    assert load["days"].sum() == 5  # five region-days with cases
    assert load.loc["weekday", "cases_per_day"] == pytest.approx(1.0)


def test_top_movers(t):
    movers = metrics.top_movers(t, WINDOW, "country", min_cases=1).set_index("value")
    assert movers.loc["ID", "current"] == 1 and movers.loc["ID", "previous"] == 2
    assert movers.loc["BR", "change"] == 1 and movers.loc["DE", "change"] == 1


def test_regulatory_view(t):
    reg = metrics.regulatory_view(t, WINDOW)
    assert reg.notices == 1 and reg.sla_breach_rate == pytest.approx(1.0)
    assert reg.median_hours_to_action is None  # A3 not resolved yet


def test_empty_filters_give_zeros_not_errors(t):
    k = metrics.kpis(t, Filters(preset="custom", start=date(2020, 1, 6), end=date(2020, 1, 12)))
    assert _kpi(k, "volume") == (0, 0)
    assert pd.isna(k.set_index("key").loc["sla_breach_rate", "value"])
    assert metrics.volume_trend(
        t, Filters(preset="custom", start=date(2020, 1, 6), end=date(2020, 1, 12))
    ).empty


def test_against_pandas_on_demo(demo_db):
    """Cross-check several KPIs against a plain pandas computation on the demo history."""
    import duckdb

    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        t = engine.cases_table(con)
        df = con.execute("SELECT * FROM cases").df()
        f = Filters(preset="last_30").resolve(metrics.date_bounds(t)[1])
        k = metrics.kpis(t, f)
        lo, hi = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.Timedelta(days=1)
        cur = df[(df.created_at >= lo) & (df.created_at < hi)]
        assert _kpi(k, "volume")[0] == len(cur)
        assert _kpi(k, "sla_breach_rate")[0] == pytest.approx(cur.sla_breached.astype(float).mean())
        hours = (cur.resolved_at - cur.created_at).dt.total_seconds() / 3600
        assert _kpi(k, "resolution_median")[0] == pytest.approx(hours.median())
        assert _kpi(k, "resolution_p90")[0] == pytest.approx(hours.quantile(0.9))
        open_at = (df.created_at < hi) & (
            (df.resolved_at.isna() & df.status.isin(["open", "pending", "reopened"]))
            | (df.resolved_at >= hi)
        )
        assert _kpi(k, "backlog")[0] == open_at.sum()
    finally:
        con.close()


# --- Execution: compiled query shapes (analytics.ibis_exec) ------------------------------------
def _all_metrics(t, f):
    reg = metrics.regulatory_view(t, f)
    return {
        "kpis": metrics.kpis(t, f),
        "trend": metrics.volume_trend(t, f, by="region", freq="D"),
        "trend_w": metrics.volume_trend(t, f, by="app_version", freq="W", top=3),
        "trend_all": metrics.volume_trend(t, f),
        "heat": metrics.load_heatmap(t, f),
        "day_types": metrics.day_type_load(t, f),
        "movers": metrics.top_movers(t, f, "category", min_cases=1),
        **{f"reg_{k}": v for k, v in vars(reg).items()},
    }


def _assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(
                a[k].reset_index(drop=True), b[k].reset_index(drop=True), check_dtype=False, obj=k
            )
        else:
            assert a[k] == pytest.approx(b[k]) if a[k] is not None else b[k] is None, k


def test_compiled_shapes_give_ibis_results_on_demo(demo_db, monkeypatch):
    """The parameterised SQL reused across filter values returns what Ibis itself returns."""
    import duckdb

    from analytics import ibis_exec

    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        t = engine.cases_table(con)
        first, last = metrics.date_bounds(t)
        scopes = [
            Filters(preset="last_30"),
            Filters(preset="last_90", region=("EMEA", "NA"), search="account login"),
            Filters(preset="last_30").with_drill(created_week=str(last), channel="email"),
            Filters(preset="all", queue=("Regulatory/DSA",)),
            Filters(preset="custom", start=date(2001, 1, 1), end=date(2001, 3, 31)),
        ]
        fast = [_all_metrics(t, f.resolve(last, first)) for f in scopes]
        assert ibis_exec.stats.reused > 0
        monkeypatch.setattr(ibis_exec, "_duckdb_source", lambda op: None)  # Ibis all the way
        for f, got in zip(scopes, fast, strict=True):
            _assert_same(got, _all_metrics(t, f.resolve(last, first)))
    finally:
        con.close()


def test_a_new_window_reuses_the_compiled_query(t):
    from analytics import ibis_exec

    ibis_exec.clear()
    metrics.kpis(t, WINDOW)
    compiled = ibis_exec.stats.compiled
    earlier = Filters(preset="custom", start=date(2026, 2, 23), end=date(2026, 3, 1))
    k = metrics.kpis(t, earlier)
    assert ibis_exec.stats.compiled == compiled  # same shape, other values
    assert _kpi(k, "volume") == (2, 0)  # B1, B2; nothing the week before
    assert _kpi(k, "backlog")[0] == 1  # B2 is still open on 2 March
    metrics.kpis(
        t, Filters(preset="custom", start=date(2026, 3, 2), end=date(2026, 3, 8), country=("ID",))
    )
    assert ibis_exec.stats.compiled > compiled  # a dimension filter is another shape


def test_only_values_become_parameters():
    """Filter values are left out of a query's shape; units, formats and quantiles are not."""
    import ibis

    from analytics.ibis_exec import _Shape

    cases = ibis.table({"created_at": "timestamp", "region": "string"}, name="cases")

    def shape(region: str, unit: str, fmt: str):
        w = cases.filter(cases.region == region, cases.created_at >= ibis.timestamp("2026-03-02"))
        return _Shape(
            w.aggregate(
                n=w.count(),
                d=w.created_at.delta(ibis.timestamp("2026-04-01"), unit=unit).max(),
                m=w.created_at.strftime(fmt).max(),
            ).op()
        )

    a, b = shape("EMEA", "microsecond", "%Y"), shape("APAC", "microsecond", "%Y")
    assert a.key == b.key and a.values != b.values
    assert "EMEA" in a.values and "microsecond" not in a.values and "%Y" not in a.values
    assert shape("EMEA", "second", "%Y").key != a.key
    assert shape("EMEA", "microsecond", "%m").key != a.key
