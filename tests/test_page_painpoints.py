"""AppTest: the Pain points page fits, ranks, shows details and curates."""

from __future__ import annotations

from tests.test_pages import _metric, app_env, assert_clean, demo_copy, open_page  # noqa: F401

PAGE = "pages/3_Pain_points.py"


def test_fit_rank_and_rename(demo_copy):  # noqa: F811
    at = open_page(PAGE, query={"range": "all"})
    assert_clean(at)
    assert any("No pain points yet" in m.value for m in at.markdown)
    at.selectbox(key="pp_kind").select("lsa").run()
    at.button(key="pp_fit").click().run()
    assert_clean(at)
    assert [s.value for s in at.subheader][:2] == ["Ranked by impact", "Map"]
    assert int(_metric(at, "Cases").replace(",", "")) > 0
    next(t for t in at.text_input if t.label == "Rename").input("Appeals nobody answers")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert_clean(at)
    assert "Appeals nobody answers" in [s.value for s in at.subheader]
