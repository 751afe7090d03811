"""Alerts: scans on small synthetic stores, de-duplication, workflow, re-firing, resolution."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics import alert_scans, alerts
from analytics.access import User
from analytics.alerts_report import digest_frame, digest_markdown, resolution_check
from analytics.errors import ConflictError, PermissionDeniedError, WorkflowError
from analytics.store import connect
from analytics.trend_watch import ScanOptions, ScanResult, scan_store

ANALYST = User("ana", role="analyst")
VIEWER = User("vic", role="viewer")
END = date(2026, 3, 31)
SLICE = {"category": "Scam", "region": "LATAM"}
KEY = "category=Scam|region=LATAM"
CATEGORIES = {
    "Scam": ("Fraud & scams", "Commerce", 0.25),
    "Harassment": ("Harassment & bullying", "Content Safety", 0.35),
    "Self-harm": ("Suicide & self-harm", "High Risk", 0.15),
    "Spam": ("Spam & platform manipulation", "Content Safety", 0.25),
}
REGIONS = {"APAC": ("ID", 0.35), "EMEA": ("DE", 0.3), "LATAM": ("BR", 0.2), "NA": ("US", 0.15)}
WORDS = ["video", "account", "comment", "please", "help", "report", "user", "content", "live",
         "stream", "chat", "post"]  # fmt: skip


def make_cases(
    *, surge_days: tuple[int, int] | None = None, extra: float = 25.0, days: int = 200,
    seed: int = 3,
) -> pd.DataFrame:  # fmt: skip
    """~50 cases a day for ``days`` days ending on END; optionally a LATAM x Scam surge of
    ``extra`` cases a day on days ``surge_days`` (counted back from END, inclusive)."""
    rng = np.random.default_rng(seed)
    weekday = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.75, 0.7])
    rows = []
    cats, regs = list(CATEGORIES), list(REGIONS)
    for i in range(days):
        day = pd.Timestamp(END - timedelta(days=days - 1 - i))
        n = rng.poisson(50 * weekday[day.dayofweek])
        region = rng.choice(regs, n, p=[r[1] for r in REGIONS.values()])
        cat = rng.choice(cats, n, p=[c[2] for c in CATEGORIES.values()])
        text = [" ".join(rng.choice(WORDS, 6)) for _ in range(n)]
        back = days - 1 - i
        if surge_days and surge_days[1] <= back <= surge_days[0]:
            k = rng.poisson(extra)
            region = np.r_[region, ["LATAM"] * k]
            cat = np.r_[cat, ["Scam"] * k]
            text += ["#FreeCoins giveaway " + " ".join(rng.choice(WORDS, 4)) for _ in range(k)]
        seconds = rng.integers(0, 86_400, len(region))
        for r, c, t, s in zip(region, cat, text, seconds, strict=True):
            rows.append({
                "created_at": day + pd.Timedelta(seconds=int(s)), "region": r,
                "country": REGIONS[r][0], "category": c, "policy": CATEGORIES[c][0],
                "queue": CATEGORIES[c][1], "channel": rng.choice(["web form", "in-app report"]),
                "product_surface": "video", "app_version": "1.0", "subject": f"{c} report",
                "description": t, "sensitive": c == "Self-harm", "status": "open",
            })  # fmt: skip
    frame = pd.DataFrame(rows)
    frame.insert(0, "case_id", [f"C{i:06d}" for i in range(len(frame))])
    return frame


def load(con, frame: pd.DataFrame):
    con.register("_cases", frame)
    con.execute("INSERT INTO cases BY NAME SELECT * FROM _cases")
    con.unregister("_cases")
    return con


@pytest.fixture(scope="module")
def surge_store():
    con = load(connect(":memory:"), make_cases(surge_days=(4, 0)))
    yield con
    con.close()


def fake_result(as_of: date, *, key: str = KEY, level: float = 10.0, risk: float = 50.0,
                onset: date | None = None, members: list[str] | None = None,
                base: float = 2.5) -> ScanResult:  # fmt: skip
    """A scan result with one trend, built by hand (controls every number)."""
    onset = onset or as_of - timedelta(days=3)
    days = 56
    path = {"start": str(as_of - timedelta(days=days - 1)),
            "observed": [base] * (days - 7) + [level] * 7, "expected": [base] * days}  # fmt: skip
    trend = {
        "key": key, "members": members or [key, "region=LATAM"], "related": [], "origin": "series",
        "dimension": "region x category", "value": "LATAM / Scam", "slice": dict(SLICE),
        "kind": "spike", "onset": onset, "detected": onset + timedelta(days=1), "last_day": as_of,
        "observed": 7 * level, "expected": 7 * base, "growth": level / base, "p_value": 1e-9,
        "q_value": 1e-7, "baseline_week": [base] * 7, "risk_score": risk,
        "risk": {"score": risk, "level": "high", "sentence": "High risk."},
        "regions": {"LATAM": 70}, "countries": {"BR": 70}, "path": path, "examples": ["C000001"],
        "level": level,
    }  # fmt: skip
    return ScanResult(as_of, "full", None, pd.DataFrame([trend]), pd.DataFrame([trend]),
                      pd.DataFrame(), 10, 0, {"counts": 0.1})  # fmt: skip


def only_alert(con) -> alerts.Alert:
    found = alerts.list_alerts(con)
    assert len(found) == 1, [a.alert_key for a in found]
    return found[0]


# --- scans on synthetic stores -------------------------------------------------------------------


def test_scan_finds_the_planted_slice_and_its_term(surge_store):
    result = scan_store(surge_store)
    assert result.as_of == END and result.mode == "full"
    keys = set(result.detections["key"])
    assert KEY in keys or "category=Scam" in keys
    assert "term:#freecoins" in keys
    top = result.trends.iloc[0]
    assert set(top["members"]) & {KEY, "category=Scam", "term:#freecoins"}
    assert len(result.trends) == 1  # the slice, its parents and the hashtag are one trend
    assert top["risk"]["sentence"] and 0 < top["risk_score"] <= 100


def test_scan_of_a_clean_store_finds_nothing():
    con = load(connect(":memory:"), make_cases())
    try:
        result = scan_store(con)
        assert result.series > 50
        assert result.trends.empty, result.trends[["key", "observed", "expected"]]
    finally:
        con.close()


def test_rescan_updates_the_alert_and_never_duplicates_it():
    con = connect(":memory:")
    load(con, make_cases(surge_days=(4, 0)))
    first = alert_scans.record_scan(con, scan_store(con, as_of=END - timedelta(days=1)), ANALYST)
    assert first.new == 1
    alert = only_alert(con)
    again = alert_scans.record_scan(con, scan_store(con, as_of=END), ANALYST)
    assert (again.new, again.updated) == (0, 1) and again.alert_ids == (alert.alert_id,)
    updated = only_alert(con)
    assert updated.alert_id == alert.alert_id and updated.observed >= alert.observed
    assert updated.last_detected == END
    assert list(alerts.history(con, alert.alert_id)["change"]) == ["detected"]
    assert con.execute("SELECT count(*) FROM trend_scans").fetchone()[0] == 2
    con.close()


def test_incremental_scan_recounts_only_new_days(tmp_path):
    from analytics.ingest import import_file

    frame = make_cases(surge_days=(3, 0), days=120)
    con = connect(tmp_path / "inc.duckdb")
    old, new = (
        frame[frame["created_at"] < pd.Timestamp(END)],
        frame[frame["created_at"] >= pd.Timestamp(END)],
    )
    load(con, old)
    alert_scans.record_scan(con, scan_store(con, as_of=END - timedelta(days=1)), ANALYST)
    path = tmp_path / "day.csv"
    new.to_csv(path, index=False)
    import_file(con, path, preset="generic", user="test")
    result = scan_store(con, as_of=END, incremental=True)
    assert result.mode == "incremental"
    full = scan_store(con, as_of=END)
    cached = con.execute("SELECT sum(n) FROM trend_counts WHERE dimension = 'region'").fetchone()[0]
    assert cached == len(frame)
    assert set(result.trends["key"]) == set(full.trends["key"])
    con.close()


# --- workflow ------------------------------------------------------------------------------------


def test_workflow_is_persisted_and_audited(tmp_path):
    path = tmp_path / "alerts.duckdb"
    con = connect(path)
    alert_scans.record_scan(con, fake_result(END), ANALYST)
    alert = only_alert(con)
    alerts.flag(con, alert.alert_id, ANALYST, team="T&S LATAM", owner="Bea",
                follow_up=END + timedelta(days=3), expected_version=alert.version)  # fmt: skip
    alerts.start_work(con, alert.alert_id, ANALYST, note="looking")
    alerts.add_note(con, alert.alert_id, ANALYST, "Scam ring, see ticket")
    alerts.link_ticket(con, alert.alert_id, ANALYST, "T-42")
    alerts.resolve(con, alert.alert_id, ANALYST, on=END, note="accounts removed")
    con.close()

    con = connect(path)  # reconnect: everything was committed
    saved = alerts.get_alert(con, alert.alert_id)
    assert saved.status == "resolved" and saved.resolved_on == END
    assert (saved.team, saved.owner_name, saved.linked_ticket) == ("T&S LATAM", "Bea", "T-42")
    assert saved.follow_up == END + timedelta(days=3)
    changes = list(alerts.history(con, alert.alert_id)["change"])[::-1]
    assert changes == ["detected", "flagged", "in progress", "note", "ticket", "resolved"]
    logged = con.execute("SELECT action FROM audit_log ORDER BY audit_id").fetchall()
    assert ("alert_flagged",) in logged and ("alert_resolved",) in logged
    alerts.reopen(con, alert.alert_id, ANALYST, note="came back")
    assert alerts.get_alert(con, alert.alert_id).status == "in_progress"
    con.close()


def test_illegal_transitions_stale_edits_and_bad_input_are_rejected(con):
    alert_scans.record_scan(con, fake_result(END), ANALYST)
    alert = only_alert(con)
    with pytest.raises(WorkflowError, match="cannot become resolved"):
        alerts.resolve(con, alert.alert_id, ANALYST)
    with pytest.raises(WorkflowError, match="team and an owner"):
        alerts.flag(con, alert.alert_id, ANALYST, team="T&S", owner=" ")
    alerts.dismiss(con, alert.alert_id, ANALYST, reason="known campaign")
    with pytest.raises(WorkflowError):
        alerts.start_work(con, alert.alert_id, ANALYST)
    with pytest.raises(ConflictError):
        alerts.reopen(con, alert.alert_id, ANALYST, expected_version=alert.version)
    with pytest.raises(WorkflowError, match="does not exist"):
        alerts.get_alert(con, 999)
    assert alerts.get_alert(con, alert.alert_id).status == "dismissed"


def test_viewers_cannot_change_alerts_or_scan(con):
    alert_scans.record_scan(con, fake_result(END), ANALYST)
    alert = only_alert(con)
    for change in (
        lambda: alerts.flag(con, alert.alert_id, VIEWER, team="T", owner="O"),
        lambda: alerts.dismiss(con, alert.alert_id, VIEWER),
        lambda: alerts.add_note(con, alert.alert_id, VIEWER, "hi"),
        lambda: alert_scans.record_scan(con, fake_result(END), VIEWER),
    ):
        with pytest.raises(PermissionDeniedError, match="viewer"):
            change()
    assert alerts.get_alert(con, alert.alert_id).version == alert.version


def test_dismissed_alert_fires_again_only_when_clearly_worse(con):
    alert_scans.record_scan(con, fake_result(END, level=10.0, risk=50.0), ANALYST)
    alert = only_alert(con)
    alerts.dismiss(con, alert.alert_id, ANALYST, reason="expected promo")
    dismissed = alerts.get_alert(con, alert.alert_id)
    assert dismissed.dismissed_level == pytest.approx(10.0) and dismissed.dismissed_risk == 50

    alert_scans.record_scan(
        con, fake_result(END + timedelta(days=1), level=13.0, risk=55.0), ANALYST
    )
    same = only_alert(con)
    assert same.status == "dismissed" and same.times_fired == 1 and same.observed == 91

    alert_scans.record_scan(
        con, fake_result(END + timedelta(days=2), level=16.0, risk=55.0), ANALYST
    )
    worse = only_alert(con)
    assert worse.status == "new" and worse.times_fired == 2
    assert "clearly worse" in alerts.history(con, alert.alert_id)["note"].iloc[0]
    assert alert_scans.worsened(dismissed, level=10.0, risk=66.0)  # or by risk score


def test_resolved_alert_reopens_on_a_new_episode_only(con):
    alert_scans.record_scan(con, fake_result(END), ANALYST)
    alert = only_alert(con)
    alerts.flag(con, alert.alert_id, ANALYST, team="T", owner="O")
    alerts.resolve(con, alert.alert_id, ANALYST, on=END)
    alert_scans.record_scan(con, fake_result(END + timedelta(days=1), onset=END - timedelta(days=3)),
                       ANALYST)  # fmt: skip
    assert only_alert(con).status == "resolved"  # the same episode, still tailing off
    later = END + timedelta(days=30)
    alert_scans.record_scan(con, fake_result(later, onset=later - timedelta(days=2)), ANALYST)
    again = only_alert(con)
    assert again.status == "new" and again.times_fired == 2 and again.fired_on == later


# --- after resolution; digest --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("surge_days", "verdict"),
    [((20, 10), "back to baseline"), ((20, 0), "still elevated")],
)
def test_resolution_check_compares_with_the_pre_trend_baseline(surge_days, verdict):
    con = load(connect(":memory:"), make_cases(surge_days=surge_days, extra=15.0))
    try:
        resolved_on = END - timedelta(days=10)
        alert_scans.record_scan(con, fake_result(resolved_on, base=2.5), ANALYST)
        alert = only_alert(con)
        alerts.flag(con, alert.alert_id, ANALYST, team="T", owner="O")
        alerts.resolve(con, alert.alert_id, ANALYST, on=resolved_on)
        check = resolution_check(con, alerts.get_alert(con, alert.alert_id))
        assert check.verdict == verdict, check.sentence
        assert check.days == 10 and check.expected == pytest.approx(25.0)
        early = resolution_check(con, alerts.get_alert(con, alert.alert_id), as_of=resolved_on
                                 + timedelta(days=1))  # fmt: skip
        assert early.verdict == "not yet measurable"
    finally:
        con.close()


def test_digest_lists_alerts_by_state_without_case_text(con):
    alert_scans.record_scan(con, fake_result(END), ANALYST)
    alert = only_alert(con)
    alerts.flag(con, alert.alert_id, ANALYST, team="T&S LATAM", owner="Bea", follow_up=END)
    found = alerts.list_alerts(con)
    md = digest_markdown(found, END, today=END)
    assert "hand-over of 31 Mar 2026" in md and "## Being handled" in md
    assert "T&S LATAM / Bea" in md and "follow-up due" in md and "| LATAM | 1 |" in md
    frame = digest_frame(found)
    assert (
        list(frame["owner"]) == ["Bea"] and frame.loc[0, "trend"] == "category Scam · region LATAM"
    )
    assert not any("giveaway" in str(v) for v in frame.to_numpy().ravel())


def test_a_scoped_scan_keys_alerts_by_the_whole_slice(surge_store):
    from analytics.filters import Filters

    result = scan_store(surge_store, Filters(region=("LATAM",)), options=ScanOptions(terms=False))
    assert result.mode == "scoped"
    assert KEY in set(result.detections["key"])  # category=Scam within LATAM = the pair's key
    assert all(d["region"] == "LATAM" for d in result.detections["slice"])


def test_new_pain_point_clusters_are_risks_when_the_module_exists(monkeypatch):
    import importlib.machinery
    import sys
    import types

    frame = make_cases(days=150)
    recent = frame[frame["created_at"] >= pd.Timestamp(END - timedelta(days=6))]
    assigned = pd.DataFrame({"case_id": frame["case_id"], "pain_point": 1, "name": "Old cluster"})
    new_ids = recent.sample(60, random_state=1)["case_id"]
    assigned.loc[assigned["case_id"].isin(new_ids), ["pain_point", "name"]] = [7, "Fake DMs"]
    module = types.ModuleType("analytics.painpoints")
    module.__spec__ = importlib.machinery.ModuleSpec("analytics.painpoints", None)
    module.assignments = lambda con: assigned
    con = load(connect(":memory:"), frame)
    try:
        monkeypatch.setitem(sys.modules, "analytics.painpoints", module)
        result = scan_store(con, options=ScanOptions(terms=False))
        found = result.detections.set_index("key")
        assert found.loc["pain_point=Fake DMs", "origin"] == "pain_point"
        assert found.loc["pain_point=Fake DMs", "kind"] == "new"
    finally:
        con.close()


def test_resolved_on_defaults_to_the_latest_case_day(tmp_path):
    con = load(connect(tmp_path / "resolve.duckdb"), make_cases(days=30))
    alert_scans.record_scan(con, fake_result(END), ANALYST)
    alert = only_alert(con)
    alerts.start_work(con, alert.alert_id, ANALYST)
    resolved = alerts.resolve(con, alert.alert_id, ANALYST)
    assert resolved.resolved_on == END  # the data's last day, not the calendar's
    con.close()
