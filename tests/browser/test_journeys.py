"""User journeys in a real headless Chromium against `streamlit run app.py`."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ROOT, Server, shot, wait_for_app
from ui.page import NAVIGATION

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _url_path(script: str) -> str:
    """Streamlit's URL for a pages/ script: the file name without its number prefix."""
    if script == "app.py":
        return ""
    return re.sub(r"^\d+_", "", script.split("/")[-1].removesuffix(".py"))


PAGES = [(script, label) for script, label, _ in NAVIGATION if (ROOT / script).exists()]


def _no_exception(pg) -> None:
    boxes = pg.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()


def test_first_start_on_empty_database_loads_demo(page, tmp_path):
    server = Server(tmp_path / "fresh.duckdb", env={"ESC_DEMO_ROWS": "3000"})
    try:
        page.goto(server.url)
        wait_for_app(page)
        _no_exception(page)
        page.get_by_role("button", name="Load the demo history").click()
        page.get_by_text("demo history", exact=False).first.wait_for()
        page.get_by_text("Headline:", exact=False).wait_for(timeout=120_000)
        wait_for_app(page)
        _no_exception(page)
        shot(page, "home_after_demo_load")
    finally:
        server.stop()


@pytest.mark.parametrize("script,label", PAGES)
def test_every_page_renders(page, demo_server, script, label):
    page.goto(f"{demo_server.url}/{_url_path(script)}")
    wait_for_app(page)
    page.get_by_role(
        "heading", name=label if script != "app.py" else "Escalation Insights"
    ).first.wait_for()
    _no_exception(page)
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.first.inner_text()
    shot(page, label.lower().replace(" ", "_").replace("-", "_"))


def _sidebar(page):
    return page.locator("section[data-testid='stSidebar']")


def _first_tile(page) -> str:
    return page.locator("[data-testid='stMetricValue']").first.inner_text()


def test_filter_survives_page_change_and_reload(page, demo_server):
    page.goto(f"{demo_server.url}/Overview")
    wait_for_app(page)
    before = _first_tile(page)
    sb = _sidebar(page)
    sb.get_by_text("Region, queue, policy", exact=False).click()
    sb.locator("[data-testid='stMultiSelect']").first.click()
    page.get_by_role("option", name="EMEA").click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    after = _first_tile(page)
    assert after != before
    assert "region=EMEA" in page.url
    sb.get_by_role("link", name="Cases").click()
    wait_for_app(page)
    assert "region=EMEA" in page.url
    caption = page.get_by_text("region: EMEA", exact=False).first
    caption.wait_for()
    page.reload()
    wait_for_app(page)
    page.get_by_text("region: EMEA", exact=False).first.wait_for()
    sb = _sidebar(page)
    sb.get_by_role("link", name="Overview").click()
    wait_for_app(page)
    assert _first_tile(page) == after
    _no_exception(page)


def test_clicking_a_bar_opens_its_cases(page, demo_server):
    page.goto(f"{demo_server.url}/Overview?range=last_30")
    wait_for_app(page)
    bars = page.locator(".js-plotly-plot .barlayer .point path")
    bars.first.wait_for()
    bars.nth(bars.count() // 2).click(force=True)
    page.get_by_text("created day =", exact=False).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Open these cases in the Cases page").click()
    wait_for_app(page)
    page.get_by_text("Drill-down:", exact=False).first.wait_for()
    _no_exception(page)
    shot(page, "drill_down_cases")


def test_import_through_the_data_page(page, demo_server):
    page.goto(f"{demo_server.url}/Data")
    wait_for_app(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        str(ROOT / "data" / "samples" / "freshdesk_tickets.csv")
    )
    page.get_by_text("Recognised as", exact=False).wait_for()
    page.get_by_text("Freshdesk", exact=False).first.wait_for()
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("8 inserted", exact=False).wait_for(timeout=60_000)
    _no_exception(page)
    shot(page, "data_import_done")


def test_fit_pain_points_and_open_their_cases(page, tmp_path, demo_db):
    import shutil

    db = tmp_path / "pp.duckdb"
    shutil.copy(demo_db, db)
    server = Server(db)
    try:
        page.goto(f"{server.url}/Pain_points?range=all")
        wait_for_app(page)
        page.get_by_text("No pain points yet", exact=False).wait_for()
        page.get_by_role("combobox", name="Representation").click()  # the fast one: a short journey
        page.get_by_role("option", name="TF-IDF + LSA (fast fallback)").click()
        wait_for_app(page)
        page.get_by_role("button", name="Fit pain points").click()
        page.get_by_role("heading", name="Ranked by impact").wait_for(timeout=180_000)
        wait_for_app(page)
        _no_exception(page)
        page.locator(".js-plotly-plot").first.wait_for()  # the map
        shot(page, "pain_points_fitted")
        page.get_by_role("button", name="Open these cases").click()
        wait_for_app(page)
        page.get_by_text("Drill-down: pain point", exact=False).first.wait_for()
        _no_exception(page)
    finally:
        server.stop()
