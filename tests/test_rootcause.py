"""Tests for analytics.rootcause on a 30k-case demo history with planted scenarios.

What "the planted slice is the top cause" means here: the top cause is not empty, and every
(dimension, value) pair in it holds for *all* planted cases of the scenario in the window (from
``demo_truth``). So the planted slice itself, any part of it (``{app_version: 36.2.0}``) or an
equivalent description of the same cases (``category = Impersonation``: every planted case has
it) pass; a slice that also covers other cases' values (``channel = email``) or a parent that
is mostly background fails. It must also carry most of the change.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics import engine, rootcause
from analytics.drivers import seasonal_expected
from analytics.errors import MappingError, NotEnoughDataError
from analytics.filters import Filters
from analytics.rootcause import DEFAULT_DIMENSIONS, resolve_windows
from analytics.rootcause_leaves import adjust_rolling, build_leaves, leaf_aggregates

ROWS = 30_000
IMPERSONATION = (date(2026, 6, 12), date(2026, 6, 25))
RELEASE_BUG = (date(2026, 10, 6), date(2026, 10, 19))
DSA_HOLIDAYS = (date(2025, 12, 20), date(2026, 1, 4))
QUIET = (date(2026, 3, 2), date(2026, 3, 15))


@pytest.fixture(scope="session")
def rc_demo_db(tmp_path_factory):
    """A database file with a 30,000-case demo history (seed 7); tests must not modify it.

    Built once per test session, also when another test module imports this fixture (pytest
    then holds two copies of it, so the file in the session's temporary folder is the cache).
    """
    from analytics.demo import load_demo
    from analytics.store import connect

    folder = tmp_path_factory.getbasetemp() / "rc_demo"
    path, done = folder / "demo.duckdb", folder / "built"
    if not done.exists():
        folder.mkdir(exist_ok=True)
        c = connect(path)
        load_demo(c, rows=ROWS, seed=7)
        c.close()
        done.touch()
    return path


@pytest.fixture(scope="module")
def rc_con(rc_demo_db):
    con = duckdb.connect(str(rc_demo_db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def t(rc_con):
    return engine.cases_table(rc_con)


@pytest.fixture(scope="module")
def explained(t):
    """Explanations of the planted scenarios, computed once."""
    cache = {}

    def get(metric, window, baseline="previous", f=None, **kw):
        key = (metric, window, baseline, f, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = rootcause.explain(
                t, f or Filters(), metric, resolve_windows(*window, baseline, **kw)
            )
        return cache[key]

    return get


def planted_attributes(con, scenario: str, window) -> dict[str, str]:
    """(dimension, value) pairs shared by every planted case of ``scenario`` in ``window``."""
    cols = ", ".join(f"coalesce({d}, '(none)') AS {d}" for d in DEFAULT_DIMENSIONS)
    frame = con.execute(
        f"""SELECT {cols} FROM cases JOIN demo_truth USING (case_id)
            WHERE scenario = ? AND created_at >= ? AND created_at < ?""",
        [scenario, window[0], window[1] + timedelta(days=1)],
    ).df()
    assert len(frame) > 30
    return {d: frame[d].iloc[0] for d in DEFAULT_DIMENSIONS if frame[d].nunique() == 1}


def assert_planted_top(expl, planted: dict, min_share: float):
    top = expl.causes[0]
    assert top.slice, "the overall move must not rank first"
    assert top.slice.items() <= planted.items(), (top.label, planted)
    assert top.share_of_change >= min_share, top


# --------------------------------------------------------------------------------------------
# Windows and leaves
# --------------------------------------------------------------------------------------------


def test_windows_by_hand():
    w = resolve_windows(date(2026, 6, 12), date(2026, 6, 25))
    assert w.references == ((date(2026, 5, 29), date(2026, 6, 11)),)
    assert resolve_windows(date(2026, 6, 12), date(2026, 6, 25), "last_year").references == (
        (date(2025, 6, 13), date(2025, 6, 26)),
    )
    seasonal = resolve_windows(date(2026, 6, 12), date(2026, 6, 20), "seasonal", weeks=3)
    assert seasonal.references[0] == (date(2026, 5, 29), date(2026, 6, 6))  # 9 days -> 14-day steps
    assert [r[0].weekday() for r in seasonal.references] == [date(2026, 6, 12).weekday()] * 3
    same = resolve_windows(*QUIET, "custom", reference=QUIET)
    assert same.references == (QUIET,)
    for bad in [
        dict(baseline="yesterday"),
        dict(baseline="custom"),
        dict(baseline="seasonal", weeks=0),
    ]:
        with pytest.raises(MappingError):
            resolve_windows(*QUIET, **bad)
    with pytest.raises(MappingError):
        resolve_windows(QUIET[1], QUIET[0])


@pytest.mark.parametrize("baseline", ["previous", "last_year", "seasonal"])
def test_reference_windows_are_those_of_seasonal_expected(baseline):
    # A daily history whose count is 2**k on day k: any sum identifies the days summed.
    days = pd.date_range("2025-01-01", "2026-12-31", freq="D")
    history = pd.DataFrame(
        {"date": days, "leaf": "a", "count": [float(i) for i in range(len(days))]}
    )
    window = (date(2026, 6, 12), date(2026, 6, 22))
    method = {
        "previous": "previous_period",
        "last_year": "last_year",
        "seasonal": "mean_same_weekday",
    }
    expected = seasonal_expected(
        history, (window[0], window[1] + timedelta(days=1)), method[baseline], ["leaf"], weeks=4
    )["expected"].iloc[0]
    w = resolve_windows(*window, baseline, weeks=4)
    ours = np.mean(
        [
            history.loc[(history.date >= str(a)) & (history.date <= str(b)), "count"].sum()
            for a, b in w.references
        ]
    )
    assert ours == pytest.approx(expected)


def test_leaves_equal_a_plain_group_by(rc_con, t):
    w = resolve_windows(*DSA_HOLIDAYS)
    leaves = build_leaves(t, Filters(), "sla_breach_rate", w, ("region", "queue"))
    got = leaves.table.set_index(["region", "queue"]).sort_index()
    sql = """SELECT coalesce(region, '(none)') AS region, coalesce(queue, '(none)') AS queue,
                    count(*) FILTER (WHERE created_at >= ? AND created_at < ?) AS cases,
                    count(*) FILTER (WHERE created_at >= ? AND created_at < ?) AS expected_cases,
                    count(*) FILTER (WHERE created_at >= ? AND created_at < ? AND sla_breached) AS actual,
                    count(*) FILTER (WHERE created_at >= ? AND created_at < ? AND sla_breached IS NOT NULL) AS actual_den
             FROM cases GROUP BY ALL"""
    cur = (w.current[0], w.current[1] + timedelta(days=1))
    ref = (w.references[0][0], w.references[0][1] + timedelta(days=1))
    plain = rc_con.execute(sql, [*cur, *ref, *cur, *cur]).df()
    plain = (
        plain[(plain.cases > 0) | (plain.expected_cases > 0)]
        .set_index(["region", "queue"])
        .sort_index()
    )
    assert got.index.equals(plain.index)
    for col in ["cases", "expected_cases", "actual", "actual_den"]:
        assert np.array_equal(got[col].to_numpy(), plain[col].to_numpy(float)), col
    # The expression is one portable GROUP BY (it compiles for another engine too; pyspark's
    # compiler needs pyspark installed, Trino's does not).
    import ibis

    other = ibis.to_sql(
        leaf_aggregates(t, Filters(), leaves.metric, w, ("region",), None), dialect="trino"
    )
    assert "GROUP BY" in other.upper()


def test_rolling_adjustment_keeps_totals_and_removes_version_churn(t):
    w = resolve_windows(*QUIET)
    raw = build_leaves(t, Filters(), "volume", w)
    adjusted = adjust_rolling(raw)
    others = [d for d in raw.dimensions if d != "app_version"]
    for col in ["actual", "expected"]:
        a = raw.table.groupby(others)[col].sum()
        b = adjusted.table.groupby(others)[col].sum()
        assert np.allclose(a.sort_index(), b.reindex(a.index).sort_index().fillna(0))
    # Against the previous period the newest version "rises" from almost nothing; re-mixed,
    # every version's baseline share equals its current share.
    by_version = adjusted.table.groupby("app_version")[["actual", "expected"]].sum()
    shares = by_version / by_version.sum()
    assert np.allclose(shares["actual"], shares["expected"])
    raw_shares = raw.table.groupby("app_version")[["actual", "expected"]].sum()
    assert (raw_shares["actual"] - raw_shares["expected"]).abs().max() > 100


# --------------------------------------------------------------------------------------------
# The planted scenarios
# --------------------------------------------------------------------------------------------


def test_impersonation_wave_is_the_top_cause(rc_con, explained):
    expl = explained("volume", IMPERSONATION)
    planted = planted_attributes(rc_con, "impersonation_wave", IMPERSONATION)
    assert planted["region"] == "APAC" and planted["app_version"] == "36.2.0"
    assert_planted_top(expl, planted, 0.6)
    assert expl.causes[0].slice.get("app_version") == "36.2.0"  # narrowed by version
    assert "APAC" in expl.headline and "36.2.0" in expl.headline


def test_impersonation_wave_with_seasonal_and_last_year_baselines(rc_con, explained):
    planted = planted_attributes(rc_con, "impersonation_wave", IMPERSONATION)
    for baseline in ("seasonal", "last_year"):
        assert_planted_top(explained("volume", IMPERSONATION, baseline), planted, 0.35)


def test_release_bug_is_the_top_cause_and_its_events_line_up(rc_con, t, explained):
    expl = explained("volume", RELEASE_BUG)
    planted = planted_attributes(rc_con, "release_bug", RELEASE_BUG)
    assert planted["app_version"] == "37.1.0" and planted["category"] == "Product issue"
    assert_planted_top(expl, planted, 0.9)
    # The fading viral challenge of the previous weeks is the other (opposite) cause.
    assert any(
        c.slice == {"category": "Dangerous acts"} and c.contribution < 0 for c in expl.causes
    )
    events = rootcause.lined_up_events(rc_con, t, expl)
    matched = events[events["matches"] != ""]
    titles = " ".join(matched["title"].head(4))
    assert "BUG-4821" in titles and "37.1.0" in titles
    assert set(matched["kind"].head(4)) >= {"linked_ticket", "app_version"}
    assert abs((expl.onset - RELEASE_BUG[0]).days) <= 2


def test_holiday_sla_breaches_are_the_dsa_queue_and_the_holidays_line_up(rc_con, t, explained):
    expl = explained("sla_breach_rate", DSA_HOLIDAYS)
    top = expl.causes[0]
    assert top.slice.get("queue") == "Regulatory/DSA" and top.share_of_change >= 0.5
    assert top.before < 0.2 and top.after > 0.7  # the queue's own breach rate
    events = rootcause.lined_up_events(rc_con, t, expl)
    holidays = events[(events["kind"] == "holiday") & (events["matches"] != "")]
    assert "Christmas Day" in " ".join(holidays["title"])
    assert events.iloc[0]["kind"] == "holiday"
    sentence = rootcause.headline(expl, events)
    assert "Regulatory/DSA" in sentence and "public holidays (Christmas Day" in sentence
    assert sentence.startswith("SLA breach rate rose from")
    assert abs((expl.onset - DSA_HOLIDAYS[0]).days) <= 2


def test_sidebar_filters_scope_the_explanation(explained):
    f = Filters(region=("EMEA",))
    expl = explained("sla_breach_rate", DSA_HOLIDAYS, f=f)
    assert "region" not in expl.causes[0].slice
    assert expl.causes[0].slice.get("queue") == "Regulatory/DSA"
    assert "in region EMEA" in expl.headline
    assert expl.leaves.table["region"].unique().tolist() == ["EMEA"]


# --------------------------------------------------------------------------------------------
# Contributions add up
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric,window",
    [
        ("volume", RELEASE_BUG),
        ("sla_breach_rate", DSA_HOLIDAYS),
        ("resolution_median", DSA_HOLIDAYS),
        ("overturn_rate", QUIET),
    ],
)
def test_contributions_add_up_to_the_change(explained, metric, window):
    expl = explained(metric, window)
    steps = expl.waterfall
    relative = steps[steps["kind"].isin(["cause", "other"])]
    assert relative["value"].sum() == pytest.approx(expl.change, abs=1e-9)
    assert steps.iloc[0]["value"] + relative["value"].sum() == pytest.approx(
        steps.iloc[-1]["value"]
    )
    assert steps.iloc[-1]["value"] == pytest.approx(expl.after)
    kind = expl.metric.kind
    for c in expl.causes:
        if kind == "rate":  # mix + rate effects are the contribution, exactly
            assert c.mix_effect + c.rate_effect == pytest.approx(c.contribution, abs=1e-12)
        elif kind == "count":
            assert c.mix_effect == c.rate_effect == 0.0
    if kind != "count":
        assert expl.mix_effect + expl.rate_effect + expl.residual == pytest.approx(expl.change)
    # The tree adds up: the root's children to the change; for counts and rates also a node's
    # children to that node's own contribution (medians: approximate, each split separately).
    root = rootcause.tree_children(expl, {}, "queue")
    assert root["contribution"].sum() == pytest.approx(expl.change, abs=1e-9)
    node = {"queue": root["value"].iloc[0]}
    kids = rootcause.tree_children(expl, node, "region")
    if kind != "median":
        assert kids["contribution"].sum() == pytest.approx(root["contribution"].iloc[0], abs=1e-9)
    if kind == "rate":
        assert (kids["mix_effect"] + kids["rate_effect"]).to_numpy() == pytest.approx(
            kids["contribution"].to_numpy(), abs=1e-12
        )


def test_next_dimension_points_at_the_planted_slice(explained):
    expl = explained("volume", IMPERSONATION)
    ranking = rootcause.next_dimensions(expl)
    first = ranking.iloc[0]
    assert first["dimension"] in ("category", "policy", "queue")
    assert first["top_child"] == "Impersonation"
    deeper = rootcause.next_dimensions(expl, {first["dimension"]: "Impersonation"})
    assert first["dimension"] not in deeper["dimension"].tolist()


# --------------------------------------------------------------------------------------------
# Nothing changed
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["volume", "sla_breach_rate", "resolution_median"])
def test_a_window_compared_with_itself_explains_nothing(explained, metric):
    expl = explained(metric, QUIET, "custom", reference=QUIET)
    assert expl.change == pytest.approx(0.0, abs=1e-12)
    assert expl.causes == []
    assert expl.onset is None
    assert "stayed about the same" in expl.headline


@pytest.mark.parametrize("metric", ["volume", "sla_breach_rate", "overturn_rate"])
def test_two_quiet_weeks_have_no_cause(explained, metric):
    assert explained(metric, QUIET).causes == []


def test_empty_window_and_unknown_metric_are_named_errors(t):
    with pytest.raises(NotEnoughDataError):
        rootcause.explain(
            t, Filters(), "volume", resolve_windows(date(2030, 1, 1), date(2030, 1, 7))
        )
    with pytest.raises(MappingError):
        rootcause.explain(t, Filters(), "happiness", resolve_windows(*QUIET))
    with pytest.raises(MappingError):
        rootcause.explain(t, Filters(), "volume", resolve_windows(*QUIET), ["no_such_column"])


# --------------------------------------------------------------------------------------------
# Evidence, pain points, export
# --------------------------------------------------------------------------------------------


def test_evidence_cases_match_the_cause(rc_con, t, explained):
    expl = explained("sla_breach_rate", DSA_HOLIDAYS)
    cause = expl.causes[0]
    ev = rootcause.evidence(t, expl, cause, limit=15)
    assert 0 < len(ev.cases) <= 15 and ev.case_ids == ev.cases["case_id"].tolist()
    for dim, value in cause.slice.items():
        assert (ev.cases[dim] == value).all()
    created = pd.to_datetime(ev.cases["created_at"])
    assert created.min() >= pd.Timestamp(DSA_HOLIDAYS[0])
    assert created.max() < pd.Timestamp(DSA_HOLIDAYS[1] + timedelta(days=1))
    assert ev.cases["sla_breached"].all() and ev.restricted_to == "breached cases"
    where = " AND ".join(f"{d} = ?" for d in cause.slice)
    total = rc_con.execute(
        f"SELECT count(*) FROM cases WHERE {where} AND sla_breached AND created_at >= ? AND created_at < ?",
        [*cause.slice.values(), DSA_HOLIDAYS[0], DSA_HOLIDAYS[1] + timedelta(days=1)],
    ).fetchone()[0]
    assert ev.total == total
    assert dict(ev.filters.extra) == {k: str(v) for k, v in cause.slice.items()}


def test_growing_pain_points_from_synthetic_assignments(rc_con, t, explained):
    expl = explained("volume", IMPERSONATION)
    truth = rc_con.execute(
        "SELECT case_id, topic AS pain_point, topic AS name FROM demo_truth"
    ).df()
    grown = rootcause.pain_points(truth, t, expl)
    assert grown.iloc[0]["pain_point"] == "impersonation" and grown.iloc[0]["growing"]
    assert grown["growing"].sum() <= 2  # a quiet background grows nothing
    examples = grown.iloc[0]["examples"]
    assert len(examples) == 5
    topics = truth.set_index("case_id").loc[examples, "pain_point"]
    assert (topics == "impersonation").all()
    # A score column picks the representative cases.
    scored = truth.assign(score=np.arange(len(truth), dtype=float))
    best = (
        rootcause.pain_points(scored, t, expl)
        .set_index("pain_point")
        .loc["impersonation", "examples"]
    )
    window_ids = set(rootcause.evidence(t, expl, {}, limit=100_000).case_ids)
    mine = scored[scored.case_id.isin(window_ids) & (scored.pain_point == "impersonation")]
    assert best == mine.sort_values("score", ascending=False)["case_id"].head(5).tolist()
    with pytest.raises(MappingError):
        rootcause.pain_points(truth.drop(columns="pain_point"), t, expl)


def test_rate_pain_points_count_the_numerator(rc_con, t, explained):
    expl = explained("sla_breach_rate", DSA_HOLIDAYS)
    truth = rc_con.execute("SELECT case_id, topic AS pain_point FROM demo_truth").df()
    grown = rootcause.pain_points(truth, t, expl)
    assert set(grown[grown["growing"]]["pain_point"]) <= {"dsa_notice", "data_request"}
    assert grown.iloc[0]["pain_point"] in ("dsa_notice", "data_request")


def test_postmortem_export_round_trips_through_json(rc_con, t, explained):
    expl = explained("sla_breach_rate", DSA_HOLIDAYS)
    events = rootcause.lined_up_events(rc_con, t, expl)
    evidence = [rootcause.evidence(t, expl, c) for c in expl.causes if c.slice]
    truth = rc_con.execute("SELECT case_id, topic AS pain_point FROM demo_truth").df()
    seed = rootcause.to_postmortem(expl, events, evidence, rootcause.pain_points(truth, t, expl))
    again = json.loads(json.dumps(seed, allow_nan=False))
    assert again == seed
    assert seed["headline"] == rootcause.headline(expl, events)
    assert seed["metric"] == "sla_breach_rate" and seed["metric_info"]["unit"] == "%"
    assert (
        seed["windows"]["current"]
        == seed["current"]
        == {"start": "2025-12-20", "end": "2026-01-04"}
    )
    assert seed["baseline"] == {"start": "2025-12-04", "end": "2025-12-19"}
    assert seed["causes"][0]["slice"]["queue"] == "Regulatory/DSA"
    assert seed["causes"][0]["evidence_case_ids"] == evidence[0].case_ids
    assert set(seed["evidence_case_ids"]) == {i for e in evidence for i in e.case_ids}
    assert any(e["kind"] == "holiday" for e in seed["events"])
    assert seed["link"] == {
        "rc_metric": "sla_breach_rate",
        "rc_from": "2025-12-20",
        "rc_to": "2026-01-04",
        "rc_baseline": "previous",
    }
    assert math.isclose(
        sum(s["value"] for s in seed["waterfall"] if s["kind"] in ("cause", "other")),
        seed["values"]["change"],
        abs_tol=1e-9,
    )


def test_postmortem_seed_reads_back_as_a_review_draft(rc_con, t, explained):
    """The post-mortem feature (built separately) turns the seed into a review draft."""
    postmortem_seed = pytest.importorskip("analytics.postmortem_seed")
    expl = explained("volume", IMPERSONATION, f=Filters(region=("APAC",)))
    events = rootcause.lined_up_events(rc_con, t, expl)
    evidence = [rootcause.evidence(t, expl, c) for c in expl.causes if c.slice]
    seed = rootcause.to_postmortem(expl, events, evidence)
    draft = postmortem_seed.draft_from_seed(seed)
    assert draft.origin == "rootcause"
    assert (draft.window_start, draft.window_end) == IMPERSONATION
    assert draft.scope.region == ("APAC",)
    assert draft.causes[0]["slice"] == {k: str(v) for k, v in expl.causes[0].slice.items()}
    assert list(draft.evidence_case_ids) == seed["evidence_case_ids"][:50]
    assert len(draft.events) == len(events)
