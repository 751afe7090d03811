"""AppTest: the Pain points page fits, ranks, shows details and curates."""

from __future__ import annotations

from tests.test_pages import _metric, assert_clean, open_page

PAGE = "pages/3_Pain_points.py"


def test_fit_rank_and_rename(demo_copy):
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
    assert any("granularity: **broad**" in c.value for c in at.caption)


def test_specific_granularity_finds_more_pain_points(demo_copy):
    at = _fit_lsa(open_page(PAGE, query={"range": "all"}))
    broad = int(
        next(m.value for m in at.markdown if "pain points** from" in m.value)
        .split("**")[1]
        .split()[0]
    )
    at.segmented_control(key="pp_granularity").set_value("specific").run()
    at.button(key="pp_fit").click().run()
    assert_clean(at)
    assert any("granularity: **specific**" in c.value for c in at.caption)
    specific = int(
        next(m.value for m in at.markdown if "pain points** from" in m.value)
        .split("**")[1]
        .split()[0]
    )
    assert specific > broad


def _fit_lsa(at):
    at.selectbox(key="pp_kind").select("lsa").run()
    at.button(key="pp_fit").click().run()
    assert_clean(at)
    return at


def test_open_these_cases_drills_to_the_pain_points_cases(demo_copy):
    at = _fit_lsa(open_page(PAGE, query={"range": "all"}))
    cases = int(_metric(at, "Cases").replace(",", ""))
    at.button(key="pp_open").click().run()
    at.run()
    assert_clean(at)
    link = {k: v for k, v in at.query_params.items()}
    assert link.get("drill", "").startswith("pain_point=")  # the drill is in the shareable link
    # The link opens the Cases page on exactly the selected pain point's cases.
    cases_page = open_page("pages/2_Cases.py", query=link)
    assert_clean(cases_page)
    text = " ".join(str(c.value) for c in [*cases_page.caption, *cases_page.markdown])
    assert f"of **{cases:,}** cases" in text, text[:300]


def test_sentence_option_says_what_embedding_costs(demo_copy):
    at = open_page(PAGE, query={"range": "all"})
    assert_clean(at)
    assert at.selectbox(key="pp_kind").value == "sentence"  # the default representation
    assert any("case texts to embed first" in c.value for c in at.caption)


def test_fallback_is_named_when_the_sentence_stack_is_missing(demo_copy, monkeypatch):
    import analytics.embeddings

    monkeypatch.setattr(analytics.embeddings, "embedding_stack_available", lambda: False)
    at = open_page(PAGE, query={"range": "all"})
    assert_clean(at)
    assert at.selectbox(key="pp_kind").options == ["TF-IDF + LSA (fast fallback)"]
    assert any("not installed" in c.value for c in at.caption)
    _fit_lsa(at)
    assert any("TF-IDF" in c.value for c in at.caption)  # the fitted model's representation


def test_viewer_sees_pain_points_but_cannot_refit_or_rename(demo_copy, monkeypatch):
    import ui.page
    from analytics.access import LOCAL_USER, User

    _fit_lsa(open_page(PAGE, query={"range": "all"}))
    monkeypatch.setattr(ui.page, "current_user", lambda: User("vic", role="viewer"))
    at = open_page(PAGE, query={"range": "all"})
    assert_clean(at)
    assert at.button(key="pp_fit").disabled
    assert next(b for b in at.button if b.label == "Save name").disabled
    assert LOCAL_USER.can("refit")
