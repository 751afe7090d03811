"""Post-mortems: auto-filled numbers equal the metrics, timelines find the planted events,
persistence, optimistic concurrency, permissions, verification of fixes, board and library."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics import engine, metrics
from analytics import postmortem as pm
from analytics import postmortem_actions as pa
from analytics import postmortem_library as lib
from analytics import postmortem_signal as signal
from analytics import postmortem_timeline as pt
from analytics.access import User
from analytics.errors import ConflictError, PermissionDeniedError, WorkflowError
from analytics.filters import Filters
from analytics.postmortem_seed import (
    draft_by_hand,
    draft_from_alert,
    draft_from_rootcause,
    draft_from_seed,
    scope_filters,
)
from analytics.postmortem_text import SECTIONS
from analytics.postmortem_verify import MetricSpec, VerifyConfig, verify

ANA = User(name="Ana", role="analyst")
BEN = User(name="Ben", role="analyst")
VIEWER = User(name="Vic", role="viewer")


# --- Synthetic stores built in code ---------------------------------------------------------------


def add_cases(
    con: duckdb.DuckDBPyConnection,
    start: date,
    days: int,
    per_day,
    *,
    seed: int = 0,
    prefix: str = "C",
    category: str = "Product issue",
    queue: str = "Standard",
    breach_p: float = 0.1,
    hours: float = 10.0,
    **extra,
) -> int:
    """Insert Poisson(per_day) cases a day; ``per_day`` may be a function of the day index."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(days):
        rate = per_day(i) if callable(per_day) else per_day
        for _ in range(rng.poisson(rate)):
            created = datetime.combine(start + timedelta(days=i), datetime.min.time()) + timedelta(
                seconds=int(rng.integers(0, 86_400))
            )
            resolved = created + timedelta(hours=float(hours * np.exp(rng.normal(0, 0.3))))
            rows.append(
                {
                    "case_id": f"{prefix}-{len(rows):06d}",
                    "created_at": created,
                    "resolved_at": resolved,
                    "status": "closed",
                    "sla_breached": bool(rng.random() < breach_p),
                    "category": category,
                    "queue": queue,
                    "region": "EMEA",
                    "country": "DE",
                    "subject": "Report button does nothing",
                    "description": "Tapping report does nothing, mail me at jo@example.com",
                    **extra,
                }
            )
    df = pd.DataFrame(rows)
    con.register("_new_cases", df)
    con.execute("INSERT INTO cases BY NAME SELECT * FROM _new_cases")
    con.unregister("_new_cases")
    return len(df)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 30,000-case demo history in a file (both planted events are in it)."""
    from analytics.demo import load_demo
    from analytics.store import connect

    path = tmp_path_factory.mktemp("pm_demo") / "demo.duckdb"
    con = connect(path)
    load_demo(con, rows=30_000, seed=7)
    yield con
    con.close()


def _near(iso: str | None, planted: str, days: int = 2) -> bool:
    return (
        iso is not None
        and abs((date.fromisoformat(iso) - date.fromisoformat(planted)).days) <= days
    )


def _kpi(t, f: Filters) -> pd.Series:
    return metrics.kpis(t, f).set_index("key")["value"]


def assert_impact_equals_metrics(con, review: pm.Review) -> None:
    """Every auto-filled impact number equals what analytics.metrics returns."""
    t = engine.cases_table(con)
    f = review.filters()
    facts_ = pm.sections(con, review.review_id)["impact"].facts
    k = metrics.kpis(t, f).set_index("key")
    assert facts_["cases"] == k.loc["volume", "value"]
    assert facts_["cases_previous"] == k.loc["volume", "previous"]
    for key, kpi in [
        ("sla_breach_rate", "sla_breach_rate"),
        ("resolution_median_h", "resolution_median"),
        ("resolution_p90_h", "resolution_p90"),
        ("first_response_median_h", "first_response_median"),
        ("overturn_rate", "overturn_rate"),
    ]:
        expected = k.loc[kpi, "value"]
        if expected is None or pd.isna(expected):
            assert facts_[key] is None
        else:
            assert facts_[key] == pytest.approx(expected, rel=1e-12), key
    assert facts_["backlog_end"] == k.loc["backlog", "value"]
    assert facts_["backlog_peak"] >= facts_["backlog_end"]
    if facts_["appeals_decided"]:
        assert facts_["overturns"] / facts_["appeals_decided"] == pytest.approx(
            k.loc["overturn_rate", "value"]
        )
    reg = metrics.regulatory_view(t, f)
    assert facts_["dsa_notices"] == reg.notices
    assert facts_["dsa_breach_rate"] == reg.sla_breach_rate
    assert facts_["dsa_median_hours_to_action"] == reg.median_hours_to_action
    regions = metrics.top_movers(t, f, "region", n=200, min_cases=1).set_index("value")
    for item in facts_["regions"]:
        assert item["cases"] == regions.loc[item["value"], "current"]
    # Counts the dashboard does not show: the same definitions in plain SQL.
    where, params = _sql_scope(f)
    breaches, dsa = con.execute(
        "SELECT count(*) FILTER (WHERE sla_breached), "
        "count(*) FILTER (WHERE sla_breached AND queue = 'Regulatory/DSA') "
        f"FROM cases WHERE {where}",
        params,
    ).fetchone()
    assert (facts_["sla_breaches"], facts_["dsa_breaches"]) == (breaches, dsa)


def _sql_scope(f: Filters) -> tuple[str, list]:
    where = ["created_at >= ?", "created_at < ?"]
    params: list = [f.start, f.end + timedelta(days=1)]
    for name, values in f.dimension_values().items():
        where.append(f"{name} IN (SELECT unnest(?))")
        params.append(list(values))
    for column, value in f.extra:
        where.append(f"{column} = ?")
        params.append(value)
    return " AND ".join(where), params


# --- The two planted events, end to end ------------------------------------------------------------


def test_holiday_dsa_review_end_to_end(demo):
    draft = draft_by_hand(
        "Regulatory/DSA over Christmas",
        date(2025, 12, 20),
        date(2026, 1, 4),
        {"queue": "Regulatory/DSA"},
        metric="sla_breaches",
    )
    rid = pm.create_review(demo, ANA, draft, severity="S1", authors=["Ana", "Ben"])
    review = pm.get_review(demo, rid)
    assert review.scope.queue == ("Regulatory/DSA",) and review.status == "draft"
    assert_impact_equals_metrics(demo, review)
    points = pm.sections(demo, rid)["timeline"].facts
    assert _near(points["first_signal"], "2025-12-20")
    assert "2025-12-20" <= points["peak_day"] <= "2026-01-04"
    assert points["recovered_on"] is not None and points["recovered_on"] > points["peak_day"]
    impact = pm.sections(demo, rid)["impact"].facts
    assert impact["sla_breach_rate"] > 3 * impact["sla_breach_rate_previous"]
    assert impact["dsa_breaches"] > 0 and impact["regions"][0]["value"] == "EMEA"
    tl = pt.timeline(demo, rid)
    assert {"first signal", "peak", "recovery", "holiday"} <= set(tl["kind"])
    assert any("Christmas" in title for title in tl["title"])
    bodies = {k: s.body for k, s in pm.sections(demo, rid).items()}
    assert "SLA breach rate rose" in bodies["went_wrong"]
    # An action item on the queue's breach rate, done when the holidays ended.
    aid = pa.add_action(
        demo,
        ANA,
        rid,
        "Holiday rota for the DSA queue",
        owner="Ana",
        team="Regulatory",
        metric=MetricSpec.make("sla_breach_rate", {"queue": "Regulatory/DSA"}, "down"),
    )
    item = pa.update_action(demo, ANA, aid, 1, status="done", done_on=date(2026, 1, 5))
    result = pa.verify_action(engine.cases_table(demo), item)
    assert result.verdict == "fix worked" and result.test == "two-proportion z-test"
    review = pm.set_status(demo, ANA, rid, "in review", review.version)
    review = pm.set_status(demo, ANA, rid, "published", review.version)
    assert review.status == "published" and review.published_at is not None


def test_release_bug_review_from_rootcause_seed(demo):
    t = engine.cases_table(demo)
    evidence = (
        t.filter(t.linked_ticket == "BUG-4821").order_by("case_id").limit(3).execute()["case_id"]
    )
    seed = {
        "headline": "Product issue cases rose 40x after release 37.1.0",
        "metric": "volume",
        "current_start": "2026-10-06",
        "current_end": "2026-10-20",
        "baseline": {"start": "2026-09-08", "end": "2026-10-05"},
        "filters": {"category": ["Product issue"]},
        "causes": [
            {"slice": {"app_version": "37.1.0"}, "share_of_change": 0.97, "score": 310.5},
            {"slice": {"product_surface": "in-app reporting", "channel": "web form"}},
        ],
        "events": [{"title": "App release 37.1.0", "kind": "release", "starts_at": "2026-10-05"}],
        "evidence_case_ids": evidence.tolist(),
    }
    draft = draft_from_seed(seed)
    assert draft.origin == "rootcause" and draft.scope.category == ("Product issue",)
    rid = pm.create_review(demo, ANA, draft)
    review = pm.get_review(demo, rid)
    assert_impact_equals_metrics(demo, review)
    points = pm.sections(demo, rid)["timeline"].facts
    assert _near(points["first_signal"], "2026-10-06")
    assert "2026-10-06" <= points["peak_day"] <= "2026-10-20"
    assert points["fixes"] == {"BUG-4821": "2026-10-20"}
    assert _near(points["recovered_on"], "2026-10-20")
    tl = pt.timeline(demo, rid)
    fix = tl[tl["kind"] == "fix"].iloc[0]
    assert pd.Timestamp(fix["at"]).date() == date(2026, 10, 20) and "BUG-4821" in fix["title"]
    ticket = tl[tl["kind"] == "ticket"].iloc[0]
    assert _near(pd.Timestamp(ticket["at"]).date().isoformat(), "2026-10-06")
    causes = pt.review_causes(demo, rid)
    assert [c["label"] for c in causes] == [
        "app_version=37.1.0",
        "product_surface=in-app reporting & channel=web form",
    ]
    root = pm.sections(demo, rid)["root_causes"]
    assert root.facts["evidence_case_ids"] == evidence.tolist()
    assert "@example.com" not in root.body and "97% of the change" in root.body
    # The bug's action item: weekly Product issue cases, done on the fix date, expected down.
    aid = pa.add_action(
        demo,
        ANA,
        rid,
        "Ship 37.1.1 with the report button fixed",
        owner="App team lead",
        linked_ticket="BUG-4821",
        metric=MetricSpec.make("volume", {"category": "Product issue"}, "down"),
        status="done",
        done_on=date(2026, 10, 20),
    )
    result = pa.verify_action(t, pa.get_action(demo, aid))
    assert result.verdict == "fix worked", result
    assert result.test == "Poisson rate ratio" and result.after_value < 0.2 * result.before_value
    by_ticket = verify(
        t, MetricSpec.make("volume", {"linked_ticket": "BUG-4821"}), date(2026, 10, 20)
    )
    assert by_ticket.verdict == "fix worked"


@pytest.mark.parametrize(
    "scope",
    [{}, {"region": "LATAM"}, {"queue": ["Regulatory/DSA", "High Risk"], "channel": "email"}],
)
def test_impact_numbers_equal_metrics_for_any_scope(demo, scope):
    draft = draft_by_hand("Scope check", date(2026, 9, 1), date(2026, 9, 30), scope)
    rid = pm.create_review(demo, ANA, draft)
    assert_impact_equals_metrics(demo, pm.get_review(demo, rid))


# --- Seeds ----------------------------------------------------------------------------------------


def test_seeds_are_parsed_defensively():
    empty = draft_from_rootcause({}, fallback_end=date(2026, 3, 1))
    assert empty.window_end == date(2026, 3, 1) and empty.window_start < empty.window_end
    assert empty.scope == scope_filters({}) and empty.causes == ()
    odd = draft_from_rootcause(
        {
            "window": ["2026-02-10", "2026-02-01"],  # reversed
            "causes": [None, "text", {"slice": {"region": "NA"}, "share_of_change": "n/a"}],
            "events": [{"title": "x"}, {"title": "Release", "starts_at": "2026-02-03T10:00:00Z"}],
            "scope": {"range": "custom", "from": "2020-01-01", "to": "2020-02-01", "region": "NA"},
            "evidence_case_ids": ["A", None, "B"],
        }
    )
    assert (odd.window_start, odd.window_end) == (date(2026, 2, 1), date(2026, 2, 10))
    assert [c["label"] for c in odd.causes] == ["region=NA"]
    assert odd.causes[0]["share_of_change"] is None
    assert [e["title"] for e in odd.events] == ["Release"]
    assert odd.scope.region == ("NA",) and odd.scope.start is None
    assert odd.evidence_case_ids == ("A", "B")
    alert = draft_from_seed(
        {
            "title": "Spike in LATAM dangerous acts",
            "window": {"start": "2026-09-08", "end": "2026-09-20"},
            "filters": {"region": "LATAM", "category": "Dangerous acts"},
            "observed": 420,
            "expected": 60.5,
            "fired_at": "2026-09-10T08:00:00",
        }
    )
    assert alert.origin == "alert" and alert.alert_fired_at == datetime(2026, 9, 10, 8)
    assert alert.scope.category == ("Dangerous acts",) and alert.observed == 420
    assert draft_from_alert("not a dict", fallback_end=date(2026, 1, 1)).origin == "alert"
    chart = draft_from_seed({"source": "chart", "window": ["2026-05-04", "2026-05-10"]})
    assert chart.origin == "chart"
    json.dumps(odd.seed)  # what is stored must be JSON


def test_first_signal_rule_on_synthetic_series():
    days = pd.date_range("2026-01-01", periods=90, freq="D").date
    rng = np.random.default_rng(3)
    values = rng.poisson(20, 90).astype(float)
    values[50] = 45  # one odd day is not a signal
    values[60:70] += 40  # a real ten-day event
    base, spread = signal.rolling_baseline(values)
    series = pd.DataFrame({"day": days, "value": values, "baseline": base, "spread": spread})
    series["elevated"] = signal.is_elevated(values, base, spread)
    points = signal.signal_points(series, days[45], days[75])
    assert points["first_signal"] == days[60].isoformat()
    assert days[60].isoformat() <= points["peak_day"] <= days[69].isoformat()
    assert points["recovered_on"] == days[70].isoformat()
    calm = series.assign(value=rng.poisson(20, 90).astype(float))
    calm["elevated"] = signal.is_elevated(calm["value"], base, spread)
    assert signal.signal_points(calm, days[45], days[75])["first_signal"] is None


# --- Persistence, concurrency, permissions, audit ----------------------------------------------


@pytest.fixture
def small_store(tmp_path):
    from analytics.store import connect

    path = tmp_path / "small.duckdb"
    con = connect(path)
    add_cases(con, date(2026, 1, 1), 120, lambda i: 30 if 60 <= i < 70 else 8, seed=1)
    return path, con


def test_persistence_round_trip_after_reconnect(small_store):
    from analytics.store import connect

    path, con = small_store
    draft = draft_by_hand(
        "Spike", date(2026, 3, 2), date(2026, 3, 11), {"category": "Product issue"}
    )
    rid = pm.create_review(con, ANA, replace(draft, origin="manual"), tags=["release", "bug"])
    pm.save_section(con, ANA, rid, "lessons", "Canary releases for the report flow.", 1)
    entry = pt.add_timeline_entry(con, ANA, rid, datetime(2026, 3, 3, 9, 30), "War room opened")
    aid = pa.add_action(
        con,
        ANA,
        rid,
        "Add a canary",
        owner="Ana",
        due_date=date(2026, 4, 1),
        metric=MetricSpec.make("volume", {"category": "Product issue"}),
    )
    before = (
        pm.get_review(con, rid),
        pm.sections(con, rid),
        pt.timeline(con, rid),
        pa.actions(con, rid),
    )
    con.close()
    con = connect(path)
    after = (
        pm.get_review(con, rid),
        pm.sections(con, rid),
        pt.timeline(con, rid),
        pa.actions(con, rid),
    )
    con.close()
    assert after[0] == before[0] and after[0].tags == ("bug", "release")
    assert after[1] == before[1] and list(after[1]) == [k for k, _t, _p in SECTIONS]
    assert after[1]["lessons"].version == 2
    pd.testing.assert_frame_equal(after[2], before[2])
    assert entry in set(after[2]["entry_id"])
    assert after[3] == before[3] and after[3][0].action_id == aid
    assert after[3][0].metric == MetricSpec("volume", {"category": "Product issue"}, "down")


def test_stale_section_save_raises_conflict_and_each_resolution_works(small_store):
    _path, con = small_store
    rid = pm.create_review(
        con, ANA, draft_by_hand("C", date(2026, 3, 2), date(2026, 3, 11)), autofill=False
    )
    # Two sessions open the same section at version 1 (separate cursors, as in the app).
    ana_view = pm.sections(con.cursor(), rid)["summary"]
    ben_view = pm.sections(con.cursor(), rid)["summary"]
    saved = pm.save_section(con, ANA, rid, "summary", "Ana's summary", ana_view.version)
    assert saved.version == 2 and saved.updated_by == "Ana"
    with pytest.raises(ConflictError) as info:
        pm.save_section(con, BEN, rid, "summary", "Ben's summary", ben_view.version)
    conflict = info.value
    assert "Ana saved “Summary”" in str(conflict) and "version 2" in str(conflict)
    assert "opened version 1" in str(conflict)
    assert conflict.yours == "Ben's summary" and conflict.theirs.body == "Ana's summary"
    assert pm.sections(con, rid)["summary"].body == "Ana's summary"  # nothing overwritten
    # Take the other: nothing is written.
    assert pm.resolve_conflict(con, BEN, conflict, pm.TAKE_OTHER).body == "Ana's summary"
    assert pm.sections(con, rid)["summary"].version == 2
    # Keep mine: saved on top of the version Ben has now seen.
    kept = pm.resolve_conflict(con, BEN, conflict, pm.KEEP_MINE)
    assert (kept.body, kept.version, kept.updated_by) == ("Ben's summary", 3, "Ben")
    # Merge by hand, but someone saved again in between: a new conflict, not an overwrite.
    with pytest.raises(ConflictError):
        pm.save_section(con, ANA, rid, "summary", "Ana again", 2)
    merged_draft = pm.merge_draft("Ana again", "Ben's summary", "Ben")
    assert "Ana again" in merged_draft and "Ben's summary" in merged_draft
    stale = pm.ReviewConflictError("x", review_id=rid, target="summary", yours="A", theirs=saved)
    with pytest.raises(ConflictError):
        pm.resolve_conflict(con, ANA, stale, pm.MERGE, "merged")  # saved is version 2, now 3
    try:
        pm.save_section(con, ANA, rid, "summary", "Ana again", 2)
    except pm.ReviewConflictError as fresh:
        merged = pm.resolve_conflict(con, ANA, fresh, pm.MERGE, "Ana and Ben's summary")
    assert (merged.body, merged.version) == ("Ana and Ben's summary", 4)
    history = pm.section_history(con, rid, "summary")
    assert history["version"].tolist() == [4, 3, 2, 1]
    assert history["saved_by"].tolist()[:3] == ["Ana", "Ben", "Ana"]


def test_a_save_racing_an_open_transaction_is_a_conflict_not_a_lost_update(small_store):
    """DuckDB 2.0.1 lets `UPDATE ... RETURNING` on a keyed table overwrite a concurrent write."""
    _path, con = small_store
    rid = pm.create_review(
        con, ANA, draft_by_hand("Race", date(2026, 3, 2), date(2026, 3, 11)), autofill=False
    )
    other = con.cursor()
    other.execute("BEGIN TRANSACTION")
    other.execute(
        "UPDATE pm_sections SET body = 'Ana, mid-save', version = version + 1, updated_by = 'Ana' "
        "WHERE review_id = ? AND section = 'summary'",
        [rid],
    )
    with pytest.raises(ConflictError):
        pm.save_section(con, BEN, rid, "summary", "Ben's text", 1)
    other.execute("COMMIT")
    assert pm.sections(con, rid)["summary"].body == "Ana, mid-save"


def test_header_and_action_items_are_versioned_too(small_store):
    _path, con = small_store
    rid = pm.create_review(
        con, ANA, draft_by_hand("H", date(2026, 3, 2), date(2026, 3, 11)), autofill=False
    )
    pm.update_review(con, ANA, rid, 1, title="Renamed by Ana", severity="S1")
    with pytest.raises(ConflictError, match="Ana saved the review details"):
        pm.update_review(con, BEN, rid, 1, title="Renamed by Ben")
    assert pm.get_review(con, rid).title == "Renamed by Ana"
    aid = pa.add_action(con, ANA, rid, "Do a thing")
    pa.update_action(con, ANA, aid, 1, status="in progress")
    with pytest.raises(ConflictError, match="action item"):
        pa.update_action(con, BEN, aid, 1, status="won't do")
    done = pa.update_action(con, BEN, aid, 2, status="done")
    assert done.done_on is not None and done.version == 3
    reopened = pa.update_action(con, BEN, aid, 3, status="open")
    assert reopened.done_on is None


def test_writes_need_edit_rights_and_are_audited(small_store):
    _path, con = small_store
    draft = draft_by_hand("Audited", date(2026, 3, 2), date(2026, 3, 11))
    with pytest.raises(PermissionDeniedError, match="edit post-mortems"):
        pm.create_review(con, VIEWER, draft)
    rid = pm.create_review(con, ANA, draft, autofill=False)
    for write in (
        lambda: pm.save_section(con, VIEWER, rid, "summary", "x", 1),
        lambda: pm.update_review(con, VIEWER, rid, 1, title="x"),
        lambda: pm.set_status(con, VIEWER, rid, "published", 1),
        lambda: pt.add_timeline_entry(con, VIEWER, rid, datetime(2026, 3, 3), "x"),
        lambda: pa.add_action(con, VIEWER, rid, "x"),
        lambda: pt.refresh_from_data(con, VIEWER, rid),
    ):
        with pytest.raises(PermissionDeniedError):
            write()
    with pytest.raises(WorkflowError, match="summary"):
        pm.save_section(con, ANA, rid, "summary", "", 1)
        pm.set_status(con, ANA, rid, "published", 1)
    review = pm.get_review(con, rid)
    pm.save_section(con, ANA, rid, "summary", "What happened.", 2)
    pm.set_status(con, ANA, rid, "published", review.version)
    log = con.execute(
        "SELECT action, user_name FROM audit_log WHERE target = ? ORDER BY audit_id",
        [f"post-mortem {rid}"],
    ).fetchall()
    actions = [a for a, _ in log]
    assert actions[0] == "create" and "edit" in actions and "publish" in actions
    assert {u for _, u in log} == {"Ana"}


def test_refresh_keeps_texts_and_manual_entries(small_store):
    _path, con = small_store
    rid = pm.create_review(
        con,
        ANA,
        draft_by_hand("R", date(2026, 3, 2), date(2026, 3, 11), {"category": "Product issue"}),
    )
    pm.save_section(con, ANA, rid, "impact", "Our own words.", 1)
    pt.add_timeline_entry(con, ANA, rid, datetime(2026, 3, 4), "Comms sent")
    data_entries = len(pt.timeline(con, rid).query("source == 'data'"))
    pm.update_review(con, ANA, rid, 1, window_start=date(2026, 3, 1))
    fill = pt.refresh_from_data(con, ANA, rid)
    assert pm.sections(con, rid)["impact"].body == "Our own words."
    assert pm.sections(con, rid)["impact"].facts["window_start"] == "2026-03-01"
    assert fill.bodies["impact"].startswith("Window Sun 01 Mar 2026")
    tl = pt.timeline(con, rid)
    assert "Comms sent" in set(tl["title"]) and len(tl.query("source == 'data'")) == data_entries
    with pytest.raises(WorkflowError):
        pt.delete_timeline_entry(
            con, ANA, rid, int(tl.query("source == 'data'")["entry_id"].iloc[0])
        )


# --- Verification on synthetic data -------------------------------------------------------------


@pytest.fixture
def mem(con):
    return con


DONE = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("before", "after", "direction", "verdict"),
    [
        (20, 8, "down", "fix worked"),
        (15, 15, "down", "no effect"),
        (10, 18, "down", "got worse"),
        (8, 20, "up", "fix worked"),
    ],
)
def test_volume_verification(mem, before, after, direction, verdict):
    start = DONE - timedelta(days=28)
    add_cases(mem, start, 56, lambda i: before if i < 28 else after, seed=before * after)
    t = engine.cases_table(mem)
    result = verify(t, MetricSpec.make("volume", {"category": "Product issue"}, direction), DONE)
    assert result.verdict == verdict, result
    assert result.before_value == pytest.approx(7 * result.n_before / 28)


def test_not_yet_measurable_when_after_window_is_short_or_small(mem):
    add_cases(mem, DONE - timedelta(days=28), 33, 20, seed=5)  # data ends 5 days after done
    t = engine.cases_table(mem)
    short = verify(t, MetricSpec.make("volume", {"category": "Product issue"}), DONE)
    assert short.verdict == "not yet measurable" and "5 day(s)" in short.reason
    add_cases(mem, DONE, 40, 0.05, seed=6, prefix="R", category="Rare")  # a rare scope
    add_cases(mem, DONE + timedelta(days=39), 1, 5, seed=6, prefix="E")
    rare = verify(t, MetricSpec.make("volume", {"category": "Rare"}), DONE)
    assert rare.verdict == "not yet measurable" and "cases in both windows" in rare.reason


def test_breach_rate_and_handling_time_verification(mem):
    start = DONE - timedelta(days=28)
    add_cases(mem, start, 28, 25, seed=7, queue="Regulatory/DSA", breach_p=0.4, hours=40)
    add_cases(mem, DONE, 28, 25, seed=8, prefix="A", queue="Regulatory/DSA", breach_p=0.1, hours=12)
    add_cases(mem, start, 28, 25, seed=9, prefix="S", queue="Legal", breach_p=0.2, hours=30)
    add_cases(mem, DONE, 28, 25, seed=10, prefix="T", queue="Legal", breach_p=0.2, hours=30)
    t = engine.cases_table(mem)
    dsa = {"queue": "Regulatory/DSA"}
    rate = verify(t, MetricSpec.make("sla_breach_rate", dsa), DONE)
    assert rate.verdict == "fix worked" and rate.test == "two-proportion z-test"
    hours = verify(t, MetricSpec.make("handling_time", dsa), DONE)
    assert hours.verdict == "fix worked" and hours.test == "Mann-Whitney U"
    assert hours.after_value < hours.before_value
    legal = verify(t, MetricSpec.make("sla_breach_rate", {"queue": "Legal"}), DONE)
    assert legal.verdict == "no effect"
    wrong_way = verify(t, MetricSpec.make("handling_time", dsa, "up"), DONE)
    assert wrong_way.verdict == "got worse"
    cfg = VerifyConfig(before_days=14, after_days=14)
    assert verify(
        t, MetricSpec.make("volume", dsa), DONE, config=cfg
    ).before_start == DONE - timedelta(14)


def test_follow_up_board_buckets(mem):
    start = DONE - timedelta(days=28)
    add_cases(mem, start, 60, lambda i: 20 if i < 28 else 6, seed=11)
    rid = pm.create_review(
        mem, ANA, draft_by_hand("B", start, DONE, {"category": "Product issue"}), autofill=False
    )
    metric = MetricSpec.make("volume", {"category": "Product issue"})
    pa.add_action(mem, ANA, rid, "Late", due_date=date(2026, 3, 20))
    pa.add_action(mem, ANA, rid, "Not late", due_date=date(2026, 6, 1))
    pa.add_action(mem, ANA, rid, "Worked", status="done", done_on=DONE, metric=metric)
    pa.add_action(mem, ANA, rid, "No metric", status="done", done_on=DONE)
    pa.add_action(
        mem, ANA, rid, "Too early", status="done", done_on=DONE + timedelta(days=25), metric=metric
    )
    pa.add_action(
        mem,
        ANA,
        rid,
        "Wrong way",
        status="done",
        done_on=DONE,
        metric=replace(metric, direction="up"),
    )
    board = pa.follow_up_board(mem, engine.cases_table(mem), today=date(2026, 4, 1))
    got = dict(zip(board["description"], board["bucket"], strict=True))
    assert got == {
        "Late": "overdue",
        "Worked": "fix worked",
        "No metric": "done, not verified",
        "Too early": "done, not verified",
        "Wrong way": "fix did not work",
    }
    assert board["bucket"].iloc[0] == "overdue"


# --- Library -------------------------------------------------------------------------------------


def test_library_search_and_recurring_patterns(small_store):
    _path, con = small_store
    window = (date(2026, 3, 2), date(2026, 3, 11))

    def publish(title: str, lessons: str, causes: list[dict], tags=()) -> int:
        rid = pm.create_review(
            con, ANA, draft_by_hand(title, *window), tags=list(tags), autofill=False
        )
        pm.save_section(con, ANA, rid, "lessons", lessons, 1)
        pm.save_section(con, ANA, rid, "summary", f"{title}: what happened.", 1)
        pt.set_causes(con, ANA, rid, causes)
        review = pm.get_review(con, rid)
        review = pm.set_status(con, ANA, rid, "in review", review.version)
        pm.set_status(con, ANA, rid, "published", review.version)
        return rid

    a = publish(
        "Holiday crunch 2025",
        "Staff the DSA queue over holidays; 100% of notices need a rota.",
        [
            {"label": "queue=Regulatory/DSA"},
            {"label": "Appeals not answered", "kind": "pain point"},
        ],
        tags=["holidays"],
    )
    b = publish(
        "Easter crunch 2026",
        "Holiday rota worked only partly.",
        [
            {"label": "queue=Regulatory/DSA & region=EMEA"},
            {"label": "Appeals not answered", "kind": "pain point"},
        ],
        tags=["Holidays"],
    )
    draft_only = pm.create_review(con, ANA, draft_by_hand("Holiday draft", *window), autofill=False)
    found = lib.search_reviews(con, "holiday rota")
    assert set(found["review_id"]) == {a, b} and draft_only not in set(found["review_id"])
    assert set(lib.search_reviews(con, "100%")["review_id"]) == {a}
    assert lib.search_reviews(con, "1_0%").empty  # wildcards in the query are literal
    assert lib.search_reviews(con, "'; DROP TABLE pm_reviews; --").empty
    assert found.loc[found["review_id"] == b, "section"].item() == "Lessons learned"
    patterns = lib.recurring_patterns(con).set_index("pattern")
    assert patterns.loc["queue=Regulatory/DSA", "reviews"] == 2
    assert patterns.loc["Appeals not answered", "kind"] == "pain point"
    assert patterns.loc["holidays", "review_ids"] == [a, b]
    assert "region=EMEA" not in patterns.index
