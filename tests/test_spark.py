"""The analytics on Spark equal the analytics on DuckDB, on the same 20,000-case demo history.

One local Spark session (local[2], 1 GB driver, no UI) serves the whole module. The history
is loaded into DuckDB, exported as month-partitioned Parquet (analytics.lake) and registered
in Spark (analytics.spark); every Overview metric, the trend scan's daily counts and the
root-cause leaves are then computed on both engines and compared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import fields
from datetime import timedelta

import pandas as pd
import pytest

pytestmark = pytest.mark.spark

pytest.importorskip(
    "pyspark",
    reason="PySpark is not installed (pip install pyspark==4.0.5): Spark tests skipped",
    exc_type=ImportError,
)


def _java_ok() -> bool:
    java = shutil.which("java") or (
        os.path.join(os.environ["JAVA_HOME"], "bin", "java") if "JAVA_HOME" in os.environ else None
    )
    if not java:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


if not _java_ok():
    pytest.skip("Java 17+ is not installed: Spark tests skipped", allow_module_level=True)

from analytics import (  # noqa: E402
    batches,
    cases,
    engine,
    lake,
    metrics,
    rootcause_leaves,
    spark,
    trend_sources,
)
from analytics.filters import Filters  # noqa: E402
from analytics.store import connect  # noqa: E402

ROWS = 20_000
TEST_CONF = {
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """(DuckDB path, Parquet folder) of the same demo history."""
    from analytics.demo import load_demo

    root = tmp_path_factory.mktemp("spark")
    path = root / "store.duckdb"
    con = connect(path)
    load_demo(con, rows=ROWS, seed=7)
    lake.export_partitioned_parquet(con, root / "cases")
    con.close()
    return path, root / "cases"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    s = spark.session("local[2]", conf=TEST_CONF | {"spark.sql.warehouse.dir": str(warehouse)})
    yield s
    spark.stop()


@pytest.fixture(scope="module")
def con(history):
    c = connect(history[0], read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def target(history, session):
    return spark.parse_backend(f"spark-local[2]:{history[1]}")


@pytest.fixture(scope="module")
def both(con, target):
    """{"duckdb": table, "spark": table}."""
    return {"duckdb": engine.backend(con).table("cases"), "spark": spark.cases_table(target)}


@pytest.fixture(scope="module")
def scopes(both):
    first, last = metrics.date_bounds(both["duckdb"])
    base = Filters().resolve(last, first)
    channel = metrics.dimension_values(both["duckdb"], "channel")[0]
    return {
        "last 90 days": base,
        "LATAM, text search": Filters(region=("LATAM",), search="account").resolve(last, first),
        "one week, drilled": Filters(preset="last_30")
        .resolve(last, first)
        .with_drill(created_week=str(last - timedelta(days=last.weekday() + 7)), channel=channel),
        "all time": Filters(preset="all").resolve(last, first),
    }


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str] | None = None):
    if keys:
        a = a.sort_values(keys).reset_index(drop=True)
        b = b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )


def test_the_schema_is_the_canonical_one(both):
    duck, sp = both["duckdb"].schema(), both["spark"].schema()
    assert list(duck.names) == list(sp.names)  # partition columns dropped, order kept
    for name in duck.names:
        d, s = duck[name], sp[name]
        if d.is_timestamp():
            assert s.is_timestamp() and s.timezone is None, name
        elif d.is_json():
            assert s.is_string(), name
        else:
            assert d.copy(nullable=True) == s.copy(nullable=True), name


def test_date_bounds_and_pick_lists(both):
    assert metrics.date_bounds(both["duckdb"]) == metrics.date_bounds(both["spark"])
    for col in ("region", "queue", "app_version"):
        d = metrics.dimension_values(both["duckdb"], col)
        s = metrics.dimension_values(both["spark"], col)
        assert sorted(d) == sorted(s)


@pytest.mark.parametrize(
    "scope", ["last 90 days", "LATAM, text search", "one week, drilled", "all time"]
)
def test_every_overview_metric_is_equal(both, scopes, scope):
    f = scopes[scope]
    d, s = both["duckdb"], both["spark"]
    kd, ks = metrics.kpis(d, f), metrics.kpis(s, f)
    assert kd.loc[kd.key == "volume", "value"].item() > 0
    _same(kd, ks)
    for by, freq in ((None, "D"), ("region", "W"), ("queue", "D")):
        _same(metrics.volume_trend(d, f, by, freq), metrics.volume_trend(s, f, by, freq))
    _same(metrics.load_heatmap(d, f), metrics.load_heatmap(s, f))
    _same(metrics.day_type_load(d, f), metrics.day_type_load(s, f))
    for dim in ("category", "app_version"):
        _same(metrics.top_movers(d, f, dim), metrics.top_movers(s, f, dim))
    rd, rs = metrics.regulatory_view(d, f), metrics.regulatory_view(s, f)
    for fld in fields(rd):
        a, b = getattr(rd, fld.name), getattr(rs, fld.name)
        if isinstance(a, pd.DataFrame):
            _same(a, b, keys=list(a.columns))
        elif isinstance(a, float):
            assert a == pytest.approx(b, rel=1e-12), fld.name
        else:
            assert a == b, fld.name


def test_medians_are_exact_to_the_microsecond(both, scopes):
    """Spark's unix_timestamp drops sub-seconds and divides in DECIMAL(…, 6): the compiler
    fix keeps DuckDB's double arithmetic, so medians agree to the last bits."""
    f = scopes["all time"]
    d = metrics.kpis(both["duckdb"], f).set_index("key")
    s = metrics.kpis(both["spark"], f).set_index("key")
    for key in ("first_response_median", "resolution_median", "resolution_p90", "backlog_age"):
        assert d.loc[key, "value"] == pytest.approx(s.loc[key, "value"], rel=1e-12, abs=0)


def test_trend_counts_are_equal(both):
    d = trend_sources.daily_counts(both["duckdb"], None)
    s = trend_sources.daily_counts(both["spark"], None)
    assert len(d) > 1000
    _same(d, s, keys=["dimension", "value", "period"])
    assigned = (
        both["duckdb"]
        .select("case_id", pain_point=both["duckdb"].category, name=both["duckdb"].category)
        .execute()
    )
    pd_ = trend_sources.pain_point_counts(both["duckdb"], assigned)
    ps = trend_sources.pain_point_counts(both["spark"], assigned)
    _same(pd_, ps, keys=["dimension", "value", "period"])


@pytest.mark.parametrize(
    ("metric", "baseline"),
    [
        ("volume", "previous"),
        ("sla_breach_rate", "seasonal"),
        ("overturn_rate", "previous"),
        ("reopen_rate", "last_year"),
        ("resolution_median", "seasonal"),
    ],
)
def test_root_cause_leaves_are_equal(both, scopes, metric, baseline):
    f = scopes["last 90 days"]
    windows = rootcause_leaves.resolve_windows(f.end - timedelta(days=13), f.end, baseline)
    ld = rootcause_leaves.build_leaves(both["duckdb"], f, metric, windows)
    ls = rootcause_leaves.build_leaves(both["spark"], f, metric, windows)
    assert ld.threshold_hours == ls.threshold_hours
    _same(ld.table, ls.table, keys=list(ld.dimensions))


def test_case_lists_and_details(both, scopes):
    f = scopes["LATAM, text search"]
    assert cases.case_count(both["duckdb"], f) == cases.case_count(both["spark"], f)
    d = cases.case_list(both["duckdb"], f, sort="oldest", limit=20)
    s = cases.case_list(both["spark"], f, sort="oldest", limit=20)
    _same(d, s, keys=["created_at", "case_id"])
    one = d["case_id"].iloc[0]
    dd, ds = cases.case_detail(both["duckdb"], one), cases.case_detail(both["spark"], one)
    assert {k: v for k, v in dd.items() if k != "extra"} == {
        k: v for k, v in ds.items() if k != "extra"
    }


def test_concurrent_queries_from_threads(both, scopes):
    """Streamlit runs each browser session in its own thread: share the table, query at once."""
    f = scopes["last 90 days"]
    expected = metrics.kpis(both["duckdb"], f)
    results, errors = [], []

    def work(i):
        try:
            g = f if i % 2 else scopes["all time"]
            out = metrics.kpis(both["spark"], g)
            results.append((i, out))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert len(results) == 4
    for i, out in results:
        if i % 2:
            _same(expected, out)


def test_approximate_quantiles_stay_within_their_rank_bound(con, history, both, scopes):
    """``quantiles=approx`` (percentile_approx): the value's rank is within 1/accuracy of the
    requested quantile (plus one value, since it returns a data value, not an interpolation)."""
    f = scopes["all time"]
    exact = metrics.kpis(both["duckdb"], f).set_index("key")["value"]
    hours = (
        both["duckdb"]
        .select(
            first=(_epoch(both["duckdb"].first_response_at) - _epoch(both["duckdb"].created_at))
            / 3600.0,
            res=(_epoch(both["duckdb"].resolved_at) - _epoch(both["duckdb"].created_at)) / 3600.0,
        )
        .execute()
    )
    for accuracy in (10_000, 100):
        target = spark.parse_backend(
            f"spark-local[2]:{history[1]}?quantiles=approx&accuracy={accuracy}"
        )
        approx = metrics.kpis(spark.cases_table(target), f).set_index("key")["value"]
        for key, col, q in (
            ("first_response_median", "first", 0.5),
            ("first_response_p90", "first", 0.9),
            ("resolution_median", "res", 0.5),
            ("resolution_p90", "res", 0.9),
        ):
            values = hours[col].dropna().to_numpy()
            n = len(values)
            below = (values < approx[key]).sum() / n
            at_most = (values <= approx[key]).sum() / n
            slack = 1 / accuracy + 1 / n
            assert below - slack <= q <= at_most + slack, (key, accuracy)
            if accuracy == 10_000:  # at the default accuracy the error is a few minutes at most
                assert abs(approx[key] - exact[key]) <= 0.01 * exact[key] + 0.05, key


def _epoch(col):
    return col.epoch_seconds()


def test_batches_and_samples_are_the_same_on_both_engines(both):
    seen = {}
    for name, t in both.items():
        calls = []
        frames = list(
            batches.iter_case_batches(
                t,
                ["case_id", "created_at", "subject"],
                batch_size=700,
                sample=0.1,
                progress=lambda stage, fr, calls=calls: calls.append(fr),
            )
        )
        assert all(len(fr) == 700 for fr in frames[:-1]) and 0 < len(frames[-1]) <= 700
        assert calls[-1] == 1.0
        ids = pd.concat(frames)["case_id"]
        assert ids.is_unique
        seen[name] = set(ids)
    assert seen["duckdb"] == seen["spark"]
    assert 0.08 * ROWS < len(seen["duckdb"]) < 0.12 * ROWS


def test_engine_follows_esc_backend(monkeypatch, con, history):
    monkeypatch.setenv("ESC_BACKEND", f"spark-local[2]:{history[1]}")
    assert engine.kind() == "spark"
    t = engine.cases_table(con)
    assert int(t.count().execute()) == ROWS
    assert t.get_backend().name == "pyspark"
    assert "|" in engine.data_version(con)
    # App state stays in DuckDB whatever the engine.
    assert engine.table(con, "imports").get_backend().name == "duckdb"
    monkeypatch.setenv("ESC_BACKEND", "duckdb")
    assert engine.kind() == "duckdb"
    assert engine.cases_table(con).get_backend().name == "duckdb"


def test_store_results_join_cases_on_spark(con, both):
    truth = engine.table(con, "demo_truth")
    joinable = engine.same_engine(truth, both["spark"])
    joined = both["spark"].join(joinable, "case_id")
    assert int(joined.count().execute()) == int(truth.count().execute())


def test_new_partitions_are_seen_after_the_source_changes(monkeypatch, history, session, tmp_path):
    copy = tmp_path / "cases"
    shutil.copytree(history[1], copy)
    target = spark.parse_backend(f"spark-local[2]:{copy}")
    t = spark.cases_table(target)
    before = int(t.count().execute())
    version = spark.source_version(target)
    month = sorted(copy.glob("year=*/month=*"))[-1]
    removed = sum(
        int(spark.session().read.parquet(str(p)).count()) for p in month.glob("*.parquet")
    )
    shutil.rmtree(month)
    monkeypatch.setattr(spark, "FRESHNESS_SECONDS", 0.0)
    assert spark.source_version(target) != version
    assert int(spark.cases_table(target).count().execute()) == before - removed


def test_a_missing_source_is_a_clear_error(session, tmp_path):
    from analytics.errors import EngineError

    with pytest.raises(EngineError, match="cannot read the cases"):
        spark.cases_table(spark.parse_backend(f"spark-local[2]:{tmp_path / 'nowhere'}"))


def test_a_catalog_table_is_read_like_a_folder(session, history, both, scopes):
    """Lake tables (Hive, Delta, Iceberg) come through the Spark catalog by name."""
    session.sql(f"CREATE TABLE IF NOT EXISTS lake_cases USING parquet LOCATION '{history[1]}'")
    session.sql("MSCK REPAIR TABLE lake_cases")
    target = spark.parse_backend("spark-local[2]?cases=default.lake_cases")
    t = spark.cases_table(target)
    assert t.schema() == both["spark"].schema()
    f = scopes["last 90 days"]
    _same(metrics.kpis(both["duckdb"], f), metrics.kpis(t, f))
    assert spark.source_version(target).startswith("f")  # versioned by its files


@pytest.mark.parametrize(
    ("page", "lake_only"),
    [
        ("pages/1_Overview.py", False),
        ("pages/5_Root_cause.py", False),
        ("pages/1_Overview.py", True),
    ],
)
def test_pages_render_the_same_on_spark(monkeypatch, tmp_path, history, session, page, lake_only):
    """The app itself, end to end: the same page on DuckDB and on Spark shows the same tiles.

    ``lake_only``: on Spark the local store holds no cases at all (app state only), as when
    a platform pipeline writes the history straight into the lake.
    """
    import streamlit as st

    from tests.test_pages import assert_clean, open_page

    db = tmp_path / "app.duckdb"
    shutil.copy(history[0], db)
    empty = tmp_path / "state_only.duckdb"
    connect(empty).close()
    shown = {}
    for name, value in (("duckdb", "duckdb"), ("spark", f"spark-local[2]:{history[1]}")):
        monkeypatch.setenv("ESC_DB_PATH", str(empty if lake_only and name == "spark" else db))
        monkeypatch.setenv("ESC_BACKEND", value)
        st.cache_data.clear()
        st.cache_resource.clear()
        at = open_page(page)
        assert_clean(at)
        shown[name] = [(m.label, m.value) for m in at.metric]
    st.cache_data.clear()
    st.cache_resource.clear()
    assert shown["duckdb"] and shown["duckdb"] == shown["spark"]


def test_object_store_listing_goes_through_hadoop(session, history):
    """s3a://, abfss://, hdfs://... sources are listed by Hadoop's FileSystem for freshness."""
    listed = spark._hadoop_listing(session, history[1].as_uri())
    files = [p for p in history[1].rglob("*.parquet")]
    assert len(listed) == len(files)
    assert sum(s.st_size for s in listed) == sum(p.stat().st_size for p in files)


def test_pain_point_metrics_are_equal_on_spark(history, both, scopes, tmp_path):
    """Pain points are fitted in the store; their metrics read the cases on either engine."""
    from analytics import painpoint_metrics, painpoints
    from analytics.access import LOCAL_USER

    path = tmp_path / "pp.duckdb"
    shutil.copy(history[0], path)
    c = connect(path)
    try:
        painpoints.fit(c, LOCAL_USER, embedder=painpoints.make_embedder("lsa"))
        names = painpoints.pain_points(c)
        a = engine.table(c, painpoint_metrics.ASSIGNMENTS)
        f = scopes["all time"]
        got = {
            name: painpoint_metrics.summary(t, f, names, assignments=a)
            for name, t in (("duckdb", engine.backend(c).table("cases")), ("spark", both["spark"]))
        }
        _same(got["duckdb"], got["spark"], ["pain_point"])
        ids = [int(names.iloc[0]["pain_point"])]
        trend = {
            name: painpoint_metrics.weekly_trend(t, f, ids, assignments=a)
            for name, t in (("duckdb", engine.backend(c).table("cases")), ("spark", both["spark"]))
        }
        _same(trend["duckdb"], trend["spark"], ["week", "pain_point"])
    finally:
        c.close()


def test_pain_point_drill_down_on_spark(monkeypatch, history, session, scopes, tmp_path):
    """The shared filters' pain-point drill works on Spark: the store's assignments follow."""
    from analytics import painpoint_metrics, painpoints
    from analytics.access import LOCAL_USER

    path = tmp_path / "drill.duckdb"
    shutil.copy(history[0], path)
    c = connect(path)
    try:
        painpoints.fit(c, LOCAL_USER, embedder=painpoints.make_embedder("lsa"))
        first = int(painpoints.pain_points(c).iloc[0]["pain_point"])
        f = scopes["all time"].with_drill(pain_point=str(first))
        counts = {}
        for name, value in (("duckdb", "duckdb"), ("spark", f"spark-local[2]:{history[1]}")):
            monkeypatch.setenv("ESC_BACKEND", value)
            t = engine.cases_table(c)
            counts[name] = (
                cases.case_count(t, f),
                int(
                    painpoint_metrics.summary(t, scopes["all time"], painpoints.pain_points(c))[
                        "cases"
                    ].sum()
                ),
            )
        assert counts["duckdb"] == counts["spark"] and counts["duckdb"][0] > 0
        # A refit changes the assignments: Spark sees the new ones.
        painpoints.fit(
            c, LOCAL_USER, embedder=painpoints.make_embedder("lsa"), granularity="specific"
        )
        t = engine.cases_table(c)
        monkeypatch.setenv("ESC_BACKEND", "duckdb")
        expected = cases.case_count(engine.cases_table(c), f)
        assert cases.case_count(t, f) == expected
    finally:
        c.close()


def test_resolving_an_alert_in_lake_only_mode_uses_the_lake_last_day(
    monkeypatch, history, session, both, tmp_path
):
    """The store holds no cases; the alert's default "resolved on" day is the lake's last."""
    from analytics import alert_scans, alerts
    from tests.test_alerts import ANALYST, fake_result

    _first, last = metrics.date_bounds(both["duckdb"])
    state = connect(tmp_path / "state_only.duckdb")
    try:
        monkeypatch.setenv("ESC_BACKEND", f"spark-local[2]:{history[1]}")
        alert_scans.record_scan(state, fake_result(last), ANALYST)
        alert = alerts.list_alerts(state)[0]
        alerts.start_work(state, alert.alert_id, ANALYST)
        assert alerts.resolve(state, alert.alert_id, ANALYST).resolved_on == last
    finally:
        state.close()
