"""AppTest: the Trending risks page renders, scans, and its actions persist."""

from __future__ import annotations

import duckdb
import pytest
import streamlit as st

from tests.test_pages import assert_clean, open_page

PAGE = "pages/4_Trending_risks.py"
# The 6k demo history: the #RetoApagon challenge starts on 8 Sep 2026.
DURING_CHALLENGE = {"range": "custom", "from": "2026-08-20", "to": "2026-09-16"}


def _read(db, sql: str):
    st.cache_resource.clear()  # release the app's connection to read the file
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _submit(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_page_renders_empty_states_before_a_scan(demo_copy):
    at = open_page(PAGE)
    assert_clean(at)
    infos = " ".join(i.value for i in at.info)
    assert "No alerts yet" in infos and "Scan now" in infos
    assert at.button(key="tr_scan")


def test_page_on_an_empty_store_says_what_to_do(tmp_path, app_env):
    app_env(tmp_path / "empty.duckdb")
    at = open_page(PAGE)
    assert_clean(at)
    assert any("no cases" in i.value.lower() for i in at.info)


def test_scan_flag_dismiss_and_download_digest(demo_copy):
    at = open_page(PAGE, query=DURING_CHALLENGE)
    at.button(key="tr_scan").click().run()
    assert_clean(at)
    assert any("Scan done" in s.value and "1 new alert" in s.value for s in at.success)
    assert at.selectbox(key="tr_pick").options == ["#1 category Dangerous acts"]
    feed = at.dataframe[0].value
    assert feed.loc[0, "growth"] == "new" and feed.loc[0, "risk"] > 50
    assert len(at.get("plotly_chart")) >= 3  # small multiples, the alert's sparkline, risk

    at.text_input(key="tr_team").input("T&S LATAM")
    at.text_input(key="tr_owner").input("Bea")
    _submit(at, "Flag to team").click().run()
    assert_clean(at)
    assert any("Flagged to T&S LATAM" in s.value for s in at.success)
    assert _read(demo_copy, "SELECT status, team, owner_name FROM trend_alerts") == [
        ("flagged", "T&S LATAM", "Bea")
    ]

    at.segmented_control(key="tr_status").set_value("all").run()
    at.text_input(key="tr_reason").input("a known school prank")
    _submit(at, "Dismiss").click().run()
    assert_clean(at)
    assert _read(demo_copy, "SELECT status FROM trend_alerts") == [("dismissed",)]

    at.download_button(key="tr_dl_csv").click().run()
    assert_clean(at)
    logged = _read(demo_copy, "SELECT action, target FROM audit_log")
    assert ("export", "trending_risks_digest") in logged
    assert {"alert_scan", "alert_flagged", "alert_dismissed"} <= {a for a, _ in logged}


def test_viewer_sees_alerts_but_cannot_scan(demo_copy, monkeypatch):
    import ui.page
    from analytics.access import User

    monkeypatch.setattr(ui.page, "current_user", lambda: User("vic", role="viewer"))
    at = open_page(PAGE, query=DURING_CHALLENGE)
    assert_clean(at)
    assert not [b for b in at.button if b.key == "tr_scan"]
    assert any("analyst role" in c.value for c in at.caption)


@pytest.mark.parametrize("target", ["tr_rc", "tr_pm"])
def test_hand_offs_to_root_cause_and_post_mortem(demo_copy, target):
    at = open_page(PAGE, query=DURING_CHALLENGE)
    at.button(key="tr_scan").click().run()
    at.button(key=target).click().run()
    assert not at.exception, [e.value for e in at.exception]
    if target == "tr_pm":
        seed = at.session_state["postmortem_seed"]
        assert seed["alert_id"] and len(seed["window"]) == 2 and "observed" in seed
    else:
        assert at.query_params.get("rc_metric") in ("volume", ["volume"])


def test_page_explains_a_database_without_the_alert_tables(demo_copy):
    con = duckdb.connect(str(demo_copy))
    con.execute("DROP TABLE trend_alert_history")
    con.execute("DROP TABLE trend_alerts")
    con.close()
    at = open_page(PAGE)
    assert not at.exception
    assert any("migration 4" in e.value for e in at.error)
