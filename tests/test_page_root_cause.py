"""AppTest: the Root cause page renders, takes presets from the URL, and its widgets work."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from tests.test_pages import assert_clean, open_page
from tests.test_rootcause import rc_demo_db  # noqa: F401  (a session fixture)
from ui import rootcause_view as view

PAGE = "pages/5_Root_cause.py"
DSA = {
    "rc_metric": "sla_breach_rate",
    "rc_from": "2025-12-20",
    "rc_to": "2026-01-04",
    "rc_baseline": "previous",
}


@pytest.fixture
def rc_app(tmp_path, rc_demo_db, app_env):  # noqa: F811  (rc_demo_db: a fixture)
    path = tmp_path / "app.duckdb"
    shutil.copy(rc_demo_db, path)
    return app_env(path)


def headline(at) -> str:
    return " ".join(s.value for s in at.success)


def tree_selects(at, kind: str):
    return [s for s in at.selectbox if str(s.key).startswith(f"rc_tree_{kind}_")]


def test_page_renders_with_the_sidebar_period(rc_app):
    at = open_page(PAGE)
    assert_clean(at)
    assert at.title[0].value.endswith("Root cause")
    assert at.selectbox(key="rc_metric").value == "volume"
    assert at.selectbox(key="rc_baseline").value == "previous"
    start, end = at.date_input(key="rc_window").value
    assert (end - start).days == 89  # the sidebar's default "last 90 days"
    assert "Cases" in headline(at)
    assert at.get("plotly_chart")  # waterfall, tree, daily series
    assert at.query_params["rc_metric"] in ("volume", ["volume"])


def test_sidebar_filters_scope_the_page_and_its_period_moves_the_window(rc_app):
    at = open_page(PAGE, query=DSA)
    at.sidebar.multiselect(key="f_region").select("EMEA").run()
    assert_clean(at)
    assert "in region EMEA" in headline(at)
    assert at.date_input(key="rc_window").value == (date(2025, 12, 20), date(2026, 1, 4))
    at.sidebar.selectbox(key="f_range").select("last_30").run()
    assert_clean(at)
    start, end = at.date_input(key="rc_window").value
    assert (end - start).days == 29 and end == date(2026, 11, 23)


def test_page_on_an_empty_store(tmp_path, app_env):
    app_env(tmp_path / "empty.duckdb")
    at = open_page(PAGE)
    assert_clean(at)
    assert any("no cases" in i.value.lower() for i in at.info)


def test_query_parameters_preset_the_explanation(rc_app):
    at = open_page(PAGE, query=DSA)
    assert_clean(at)
    assert at.selectbox(key="rc_metric").value == "sla_breach_rate"
    assert at.date_input(key="rc_window").value == (date(2025, 12, 20), date(2026, 1, 4))
    text = headline(at)
    assert text.startswith("SLA breach rate rose") and "Regulatory/DSA" in text
    assert "public holidays" in text
    causes = at.dataframe[0].value
    assert "Regulatory/DSA" in causes.iloc[0]["cause"]
    # Evidence: redacted cases of the top cause.
    assert at.selectbox(key="rc_evidence_for").value == causes.iloc[0]["cause"]
    evidence = next(d.value for d in at.dataframe if "case_id" in d.value.columns)
    assert len(evidence) > 0 and (evidence["queue"] == "Regulatory/DSA").all()
    assert not evidence["description"].astype(str).str.contains(r"\S+@\S+\.\w", regex=True).any()
    # Pain points fall back to the demo's ground truth, said so.
    assert any("demo ground truth topics" in c.value for c in at.caption)


def test_choosing_metric_window_and_baseline(rc_app):
    at = open_page(PAGE, query=DSA)
    at.selectbox(key="rc_metric").select("volume").run()
    at.date_input(key="rc_window").set_value((date(2026, 6, 12), date(2026, 6, 25))).run()
    assert_clean(at)
    text = headline(at)
    assert text.startswith("Cases rose") and "APAC" in text and "36.2.0" in text
    assert at.query_params["rc_from"] in ("2026-06-12", ["2026-06-12"])
    at.selectbox(key="rc_baseline").select("seasonal").run()
    assert_clean(at)
    assert at.slider(key="rc_weeks").value == 4
    assert "previous 4 periods" in headline(at)
    at.selectbox(key="rc_baseline").select("custom").run()
    at.date_input(key="rc_ref").set_value((date(2026, 6, 12), date(2026, 6, 25))).run()
    assert_clean(at)
    assert "stayed about the same" in headline(at)  # the window against itself


def test_decomposition_tree_next_dimension(rc_app):
    at = open_page(PAGE, query=DSA)
    (root,) = tree_selects(at, "dim")
    assert root.value == "auto" and "Most explanatory" in root.format_func("auto")
    charts = len(at.get("plotly_chart"))
    root.select("queue").run()
    (pick,) = tree_selects(at, "pick")
    assert "Regulatory/DSA" in pick.options
    pick.select("Regulatory/DSA").run()
    assert_clean(at)
    dims = tree_selects(at, "dim")
    assert len(dims) == 2 and dims[1].key == "rc_tree_dim_1_queue=Regulatory/DSA"
    assert "queue" not in dims[1].options  # already on the path
    assert len(at.get("plotly_chart")) == charts + 1
    dims[1].select("region").run()
    assert_clean(at)
    assert "EMEA" in tree_selects(at, "pick")[1].options
    # The tree node can be the subject of the evidence list.
    options = at.selectbox(key="rc_evidence_for").options
    assert any(o.startswith("Tree node: Queue = Regulatory/DSA") for o in options)


def test_send_to_a_postmortem_sets_the_session_state(rc_app):
    at = open_page(PAGE, query=DSA)
    assert "postmortem_seed" not in at.session_state
    shown = at.success[0].value
    at.button(key="rc_postmortem").click().run()
    assert not at.exception, [e.value for e in at.exception]
    seed = at.session_state["postmortem_seed"]
    assert json.loads(json.dumps(seed)) == seed
    assert seed["metric"] == "sla_breach_rate" and seed["headline"] == shown
    assert seed["causes"][0]["slice"]["queue"] == "Regulatory/DSA"
    assert seed["evidence_case_ids"]
    if view.postmortem_page_exists():  # the switch happened: the Post-mortems page is shown
        assert "Post-mortem" in at.title[0].value
    else:
        assert any("post-mortem" in s.value for s in at.success[1:])
