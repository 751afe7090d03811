"""AppTest: the Post-mortems page creates, edits, exports, starts from a seed, and resolves conflicts."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from analytics import postmortem as pm
from analytics import postmortem_actions as pa
from analytics.access import User
from tests.conftest import ROOT
from tests.test_pages import TIMEOUT, assert_clean, open_page
from ui import resources

PAGE = "pages/6_Post-mortems.py"
BEN = User(name="Ben", role="analyst")


def _create(at: AppTest, title: str, signal: str = "volume") -> int:
    at.text_input(key="pm_create_title").input(title)
    at.selectbox(key="pm_create_signal").select(signal)
    at.button(key="pm_create_go").click().run()
    assert_clean(at)
    assert any(title in s.value for s in at.subheader)
    return int(at.selectbox(key="pm_pick").value)


def _con(db_file):
    """The app's own cached connection (same process), as a second user would write through it."""
    return resources._connection(str(db_file))


def test_create_by_hand_edit_section_add_action_and_export(demo_copy):
    at = open_page(PAGE)
    assert_clean(at)
    assert any("No post-mortems yet" in i.value for i in at.info)
    rid = _create(at, "DSA backlog over Christmas", "sla_breaches")
    con = _con(demo_copy)
    assert pm.get_review(con, rid).metric == "sla_breaches"
    assert pm.sections(con, rid)["impact"].facts["cases"] > 0
    assert at.get("plotly_chart")  # the daily signal

    key = f"pm_sec_{rid}_lessons"
    at.text_area(key=key).input("Plan holiday staffing for the DSA queue.")
    at.button(key=f"{key}_save").click().run()
    assert_clean(at)
    saved = pm.sections(con, rid)["lessons"]
    assert (saved.body, saved.version) == ("Plan holiday staffing for the DSA queue.", 2)

    at.text_input(key="pm_new_desc").input("Holiday rota for the DSA queue")
    at.text_input(key="pm_new_owner").input("Ana")
    at.selectbox(key="pm_new_metric").select("sla_breach_rate")
    at.button(key="pm_new_add").click().run()
    assert_clean(at)
    (item,) = pa.actions(con, rid)
    assert (item.description, item.owner, item.status) == (
        "Holiday rota for the DSA queue",
        "Ana",
        "open",
    )
    assert item.metric.kind == "sla_breach_rate" and item.metric.direction == "down"
    assert any("Holiday rota" in e.label for e in at.expander)

    at.segmented_control(key="pm_export_fmt").set_value("docx")
    at.button(key="pm_export_go").click().run()
    assert_clean(at)
    (download,) = at.get("download_button")
    assert ".docx" in download.proto.label
    logged = con.execute(
        "SELECT action, detail FROM audit_log WHERE target = ? ORDER BY audit_id",
        [f"post-mortem {rid}"],
    ).fetchall()
    assert logged[0][0] == "create" and ("export", "docx") in logged


def test_start_from_a_postmortem_seed(demo_copy):
    seed = {
        "headline": "Product issue cases spiked after 37.1.0",
        "metric": "volume",
        "current_start": "2026-10-06",
        "current_end": "2026-10-20",
        "filters": {"category": ["Product issue"]},
        "causes": [{"slice": {"app_version": "37.1.0"}, "share_of_change": 0.9}],
        "events": [{"title": "App release 37.1.0", "kind": "release", "starts_at": "2026-10-05"}],
        "evidence_case_ids": [],
    }
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.session_state["postmortem_seed"] = seed
    at.switch_page(PAGE).run()
    at.run()  # see tests/test_pages.open_page
    assert_clean(at)
    assert any("Start a review from this rootcause finding" in m.value for m in at.markdown)
    assert at.text_input(key="pm_seed_title").value == seed["headline"]
    at.button(key="pm_seed_create").click().run()
    assert_clean(at)
    assert "postmortem_seed" not in at.session_state
    rid = int(at.selectbox(key="pm_pick").value)
    con = _con(demo_copy)
    review = pm.get_review(con, rid)
    assert review.origin == "rootcause" and review.scope.category == ("Product issue",)
    assert "app_version=37.1.0" in pm.sections(con, rid)["root_causes"].body


def test_conflicting_saves_show_both_versions_and_each_choice_works(demo_copy):
    at = open_page(PAGE)
    rid = _create(at, "Conflict drill")
    con = _con(demo_copy)
    key = f"pm_sec_{rid}_summary"

    def ben_saves(text: str) -> None:
        pm.save_section(con, BEN, rid, "summary", text, pm.sections(con, rid)["summary"].version)

    def my_stale_save(text: str) -> None:
        at.text_area(key=key).input(text)
        at.button(key=f"{key}_save").click().run()
        assert_clean(at)
        assert any("Ben saved “Summary”" in w.value for w in at.warning)

    ben_saves("Ben's summary")
    my_stale_save("My summary")
    assert pm.sections(con, rid)["summary"].body == "Ben's summary"  # nothing overwritten
    at.button(key=f"{key}_take").click().run()
    assert_clean(at)
    assert at.text_area(key=key).value == "Ben's summary" and not at.warning

    ben_saves("Ben again")
    my_stale_save("Mine again")
    at.button(key=f"{key}_keep").click().run()
    assert pm.sections(con, rid)["summary"].body == "Mine again"

    ben_saves("Ben's third take")
    my_stale_save("My third take")
    merge = at.text_area(key=f"{key}_merge")
    assert "My third take" in merge.value and "Ben's third take" in merge.value
    merge.input("Both of our third takes")
    at.button(key=f"{key}_merge_save").click().run()
    assert_clean(at)
    stored = pm.sections(con, rid)["summary"]
    assert stored.body == "Both of our third takes" and stored.updated_by == "local user"
    assert at.text_area(key=key).value == "Both of our third takes"


def test_board_and_library_views(demo_copy):
    at = open_page(PAGE)
    rid = _create(at, "Library entry")
    con = _con(demo_copy)
    pm.save_section(con, BEN, rid, "lessons", "Holiday rota for regulatory queues.", 1)
    review = pm.set_status(con, BEN, rid, "in review", 1)
    pm.set_status(con, BEN, rid, "published", review.version)
    at.segmented_control(key="pm_view").set_value("board").run()
    assert_clean(at)
    assert {m.label for m in at.metric} >= {"Overdue", "Fix worked"}
    at.segmented_control(key="pm_view").set_value("library").run()
    at.text_input(key="pm_lib_q").input("holiday rota").run()
    assert_clean(at)
    assert at.dataframe and at.button(key=f"pm_lib_open_{rid}")
    at.button(key=f"pm_lib_open_{rid}").click().run()
    assert_clean(at)
    assert any("Library entry" in s.value for s in at.subheader)


def test_empty_store_says_what_to_do(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("ESC_DB_PATH", str(tmp_path / "empty.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_page(PAGE)
    assert_clean(at)
    assert any("no cases" in i.value.lower() for i in at.info)
    st.cache_resource.clear()
