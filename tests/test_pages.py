"""AppTest: every page renders on the demo history and on an empty store; widgets change results."""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLES

PAGES = ["pages/1_Overview.py", "pages/2_Cases.py", "pages/8_Data.py"]
TIMEOUT = 120


def open_page(page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        # AppTest replays the previous page's widget values on the first run after a switch
        # (a real browser does not: see tests/browser); the second run shows the real state.
        at.switch_page(page).run()
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("page", [None, *PAGES])
def test_pages_render_on_demo(demo_copy, page):
    at = open_page(page)
    assert_clean(at)
    assert at.title


@pytest.mark.parametrize("page", [None, *PAGES])
def test_pages_render_on_empty_store(tmp_path, app_env, page):
    app_env(tmp_path / "empty.duckdb")
    at = open_page(page)
    assert_clean(at)
    text = " ".join(str(i.value) for i in at.info) + " ".join(str(m.value) for m in at.markdown)
    if page == "pages/8_Data.py":
        assert at.get("file_uploader")
    else:
        assert "demo" in text.lower() or "no cases" in text.lower()


def test_home_loads_demo_on_empty_store(tmp_path, app_env, monkeypatch):
    monkeypatch.setenv("ESC_DEMO_ROWS", "3000")
    db = app_env(tmp_path / "fresh.duckdb")
    at = open_page()
    at.button(key="load_demo").click().run()
    assert_clean(at)
    assert int(_metric(at, "Cases").replace(",", "")) > 0  # headline tiles replaced the welcome
    assert any("demo history" in i.value for i in at.info)
    assert db.exists()


def test_overview_filter_changes_numbers(demo_copy):
    at = open_page("pages/1_Overview.py")
    before = _metric(at, "Cases")
    at.sidebar.multiselect(key="f_region").select("LATAM").run()
    assert_clean(at)
    after = _metric(at, "Cases")
    assert int(after.replace(",", "")) < int(before.replace(",", ""))
    assert at.query_params["region"] in ("LATAM", ["LATAM"])


def test_url_restores_filters(demo_copy):
    from analytics import engine, metrics
    from analytics.filters import Filters
    from analytics.store import connect

    at = open_page(
        "pages/1_Overview.py", query={"range": "last_30", "region": "EMEA|APAC", "q": "account"}
    )
    assert_clean(at)
    assert at.sidebar.selectbox(key="f_range").value == "last_30"
    assert sorted(at.sidebar.multiselect(key="f_region").value) == ["APAC", "EMEA"]
    assert at.sidebar.text_input(key="f_q").value == "account"
    shown = int(_metric(at, "Cases").replace(",", ""))
    import streamlit as st

    st.cache_resource.clear()  # release the app's lock to compute the expected value
    con = connect(demo_copy)
    t = engine.cases_table(con)
    f = Filters(preset="last_30", region=("EMEA", "APAC"), search="account").resolve(
        metrics.date_bounds(t)[1]
    )
    expected = int(metrics.kpis(t, f).set_index("key").loc["volume", "value"])
    con.close()
    assert shown == expected


def test_overview_split_and_granularity(demo_copy):
    at = open_page("pages/1_Overview.py")
    at.selectbox(key="ov_split").select("queue").run()
    assert_clean(at)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "Regulatory" in spec and "High Risk" in spec
    at.selectbox(key="ov_mover_dim").select("region").run()
    assert_clean(at)


def test_cases_page_opens_a_case_redacted(demo_copy):
    at = open_page("pages/2_Cases.py", query={"range": "all", "q": "@"})
    assert_clean(at)
    frame = at.dataframe[0].value
    assert len(frame) > 0
    assert not frame["description"].astype(str).str.contains(r"@\w", regex=True).any()
    case_id = frame.iloc[0]["case_id"]
    at.query_params["case"] = case_id
    at.run()
    assert_clean(at)
    assert any(case_id in h.value for h in at.subheader)
    html_blocks = " ".join(str(e.proto.body) for e in at.get("html"))
    assert not __import__("re").search(r"@\w{2,}", html_blocks.replace("@example", ""))
    at.button(key="reveal_btn").click().run()
    assert_clean(at)
    assert at.button(key="hide_btn")  # revealed; the reveal was written to the audit log
    import streamlit as st

    st.cache_resource.clear()  # release the app's connection to read the log
    con = duckdb.connect(str(demo_copy), read_only=True)
    try:
        logged = con.execute("SELECT target FROM audit_log WHERE action = 'reveal'").fetchall()
    finally:
        con.close()
    assert logged == [(case_id,)]


def test_data_page_preview_and_import(demo_copy):
    at = open_page("pages/8_Data.py")
    content = (SAMPLES / "zendesk_tickets.csv").read_bytes()
    at.get("file_uploader")[0].upload("zendesk_tickets.csv", content, "text/csv")
    at.run()
    assert_clean(at)
    assert any("Zendesk" in s.value for s in at.success)
    assert _metric(at, "Will load") == "8"
    at.button(key="imp_go").click().run()
    assert_clean(at)
    assert any("8 inserted" in s.value for s in at.success)


def test_data_page_malformed_upload_is_a_clear_error(demo_copy):
    at = open_page("pages/8_Data.py")
    at.get("file_uploader")[0].upload("empty.csv", b"", "text/csv")
    at.run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_filters_survive_page_switch(demo_copy):
    at = open_page("pages/1_Overview.py")
    at.sidebar.multiselect(key="f_region").select("NA").run()
    at.switch_page("pages/2_Cases.py").run()
    at.run()  # see open_page
    assert_clean(at)
    assert at.sidebar.multiselect(key="f_region").value == ["NA"]
    frame = at.dataframe[0].value
    assert set(frame["region"]) == {"NA"}


def test_home_says_what_is_loaded(demo_copy):
    at = open_page()
    caption = " ".join(c.value for c in at.caption)
    assert "cases** from" in caption and "last import" in caption


def test_import_triggers_a_trend_scan(demo_copy):
    at = open_page("pages/8_Data.py")
    content = (SAMPLES / "freshdesk_tickets.csv").read_bytes()
    at.get("file_uploader")[0].upload("freshdesk_tickets.csv", content, "text/csv")
    at.run()
    at.button(key="imp_go").click().run()
    assert_clean(at)
    assert any("Trend scan:" in i.value for i in at.info)
