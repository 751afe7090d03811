"""AppTest: the SOP grey areas page on the demo history, an empty store, and its interactions."""

from __future__ import annotations

from datetime import date

import duckdb

from analytics.access import User
from tests.test_pages import assert_clean, open_page

PAGE = "pages/7_SOP_grey_areas.py"
ALL = {"range": "all"}  # the 6k-case test history has ~90 planted cases in 18 months


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _read(db, sql: str) -> list[tuple]:
    import streamlit as st

    st.cache_resource.clear()  # release the app's connection (one writer per file)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_page_ranks_the_planted_grey_area_first(demo_copy):
    at = open_page(PAGE, query=ALL)
    assert_clean(at)
    assert _metric(at, "Flagged grey areas") == "1"
    table = at.dataframe[0].value
    assert table.iloc[0]["policy"] == "Public-figure satire" and bool(table.iloc[0]["flagged"])
    assert not table.iloc[1:]["flagged"].any()
    assert "Public-figure satire" in at.get("plotly_chart")[0].proto.spec  # the heatmap
    assert at.selectbox(key="sop_pick").options[0] == "1. Public-figure satire ⚑"
    texts = " ".join(str(m.value) for m in at.markdown)
    assert "Public-figure satire" in texts and "flagged" in texts
    assert at.get("download_button")  # the policy brief


def test_page_on_an_empty_store_says_what_to_do(tmp_path, app_env):
    app_env(tmp_path / "empty.duckdb")
    at = open_page(PAGE)
    assert_clean(at)
    assert any("no cases" in i.value.lower() for i in at.info)


def test_page_with_too_few_cases_asks_for_a_longer_period(demo_copy):
    at = open_page(PAGE, query={"range": "last_7"})
    assert_clean(at)
    assert any("longer period" in i.value for i in at.info)


def test_select_a_finding_change_its_status_and_export(demo_copy):
    at = open_page(PAGE, query=ALL)
    at.selectbox(key="sop_pick").set_value(2).run()
    assert_clean(at)
    second = at.dataframe[0].value.iloc[2]["policy"]
    assert any(second in str(m.value) for m in at.markdown)
    at.selectbox(key="sop_pick").set_value(0).run()

    at.button(key="sop_record").click().run()
    assert_clean(at)
    assert any("1 new findings recorded" in s.value for s in at.success)
    assert at.dataframe[0].value.iloc[0]["status"] == "New"

    at.text_area(key=next(t.key for t in at.text_area if t.key.startswith("sop_note_"))).input(
        "Pairs 1-3 show the satire exception applied both ways"
    ).run()
    at.button(key="sop_do_sent_to_policy").click().run()
    assert_clean(at)
    assert any("Sent to policy" in s.value for s in at.success)

    at.date_input(key="sop_day").set_value(date(2026, 6, 1)).run()
    at.text_input(key="sop_link").input("not a link").run()
    at.button(key="sop_do_sop_updated").click().run()
    assert any("https://" in e.value for e in at.error)  # rejected: the link is required
    at.text_input(key="sop_link").input("https://wiki.example/sop/satire#4").run()
    at.button(key="sop_do_sop_updated").click().run()
    assert_clean(at)
    assert any("SOP updated" in s.value for s in at.success)
    # the before/after check is shown with the finding
    verdicts = " ".join(str(x.value) for x in [*at.info, *at.success, *at.error])
    assert "SOP update" in verdicts or "Not yet measurable" in verdicts

    at.get("download_button")[0].click().run()  # Markdown brief
    assert_clean(at)
    at.button(key="sop_reveal").click().run()
    assert_clean(at)
    assert at.button(key="sop_hide")

    rows = _read(demo_copy, "SELECT status, sop_updated_on, sop_link, notes FROM sop_findings")
    assert len(rows) == 1
    status, day, link, notes = rows[0]
    assert (status, day, link) == (
        "sop_updated",
        date(2026, 6, 1),
        "https://wiki.example/sop/satire#4",
    )
    assert "satire exception" in notes
    actions = [a for (a,) in _read(demo_copy, "SELECT action FROM audit_log ORDER BY audit_id")]
    assert actions.count("sop_finding_status") == 2 and "sop_detect" in actions
    assert ("export",) in _read(
        demo_copy, "SELECT action FROM audit_log WHERE target = 'sop_grey_areas'"
    )
    assert _read(demo_copy, "SELECT target FROM audit_log WHERE action = 'reveal'") == [
        ("SOP evidence: Public-figure satire",)
    ]


def test_brief_builders_make_redacted_markdown_and_excel(tmp_path, app_env):
    import io

    import openpyxl

    from analytics import engine, sop
    from analytics.store import connect
    from tests.test_sop import _all, _case, _coin_flip, _consistent, _load
    from ui import sop_view

    db = app_env(tmp_path / "brief.duckdb")
    con = connect(db)
    _load(
        con,
        _consistent(0, "Spam", 100)
        + _consistent(1000, "Hate", 100)
        + _coin_flip(2000, "Satire", 100)
        + [
            _case(3000, "Satire", "kept", description="Parody video, write to jane.doe@example.com")
        ],
    )
    report = sop.detect_grey_areas(engine.cases_table(con), _all(con))
    con.close()
    states = sop_view.load_states(str(db))
    md = sop_view.brief_builder(str(db), report, states, "md")().decode("utf-8")
    assert "## 1. Satire" in md and "Similar cases, different outcomes" in md
    assert "@example.com" not in md
    wb = openpyxl.load_workbook(
        io.BytesIO(sop_view.brief_builder(str(db), report, states, "xlsx")())
    )
    assert {"Findings", "Evidence pairs"} <= set(wb.sheetnames)


def test_viewer_sees_findings_but_cannot_change_them(demo_copy, monkeypatch):
    monkeypatch.setattr("ui.auth.signed_in_user", lambda: User(name="vic", role="viewer"))
    at = open_page(PAGE, query=ALL)
    assert_clean(at)
    assert at.button(key="sop_record").disabled
    assert at.button(key="sop_record_one").disabled
    assert not [b for b in at.button if b.key == "sop_reveal"]  # viewers cannot reveal
    assert any("redacted text only" in c.value for c in at.caption)


def test_split_by_pain_point_when_assignments_exist(demo_copy):
    from analytics import painpoints
    from analytics.access import LOCAL_USER
    from analytics.store import connect

    con = connect(demo_copy)
    try:  # real pain points (the fast representation), named as people see them
        painpoints.fit(con, LOCAL_USER, embedder=painpoints.make_embedder("lsa"))
        names = set(painpoints.pain_points(con)["name"])
    finally:
        con.close()
    at = open_page(PAGE, query=ALL)
    assert not at.toggle(key="sop_split").disabled
    at.toggle(key="sop_split").set_value(True).run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert "pain_point" in table.columns
    # Split four ways on this 6k history, the planted policy's cells carry the strongest
    # signals but too few cases each: they are shown, unranked, rather than ranked on noise.
    satire = table[table["policy"] == "Public-figure satire"]
    ranked = table[table["rank"].notna()]
    assert len(satire) >= 2 and satire["score"].max() > ranked["score"].max()
    assert satire.loc[satire["cases"] < 30, "rank"].isna().all()
    labels = set(table["pain_point"]) - {"(unassigned)", "unassigned", ""}
    assert labels and all(label.split(" (#")[0] in names for label in labels)
