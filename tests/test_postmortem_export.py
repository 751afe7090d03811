"""Post-mortem exports: every section is in every format, files open, personal data is redacted,
sensitive text only on purpose, the HTML works offline, and exports are audited."""

from __future__ import annotations

import io
import re
import zlib
from datetime import date, datetime
from html.parser import HTMLParser

import pytest

from analytics import postmortem as pm
from analytics import postmortem_actions as pa
from analytics import postmortem_export as pe
from analytics import postmortem_timeline as pt
from analytics.access import User
from analytics.errors import PermissionDeniedError, WorkflowError
from analytics.events import add_event
from analytics.postmortem_seed import draft_from_seed
from analytics.postmortem_text import SECTIONS
from analytics.postmortem_verify import MetricSpec
from tests.test_postmortem import add_cases

ADMIN = User(name="Ada", role="admin")
ANALYST = User(name="Ana", role="analyst")
VIEWER = User(name="Vic", role="viewer")
TITLES = [title for _key, title, _prompt in SECTIONS] + ["Action items"]
SENSITIVE_TEXT = "the attacker hurt me"
PERSONAL = ("jo@example.com", "+44 7700 900123", "@jo_handle")


@pytest.fixture(scope="module")
def store():
    """A store with a bug spike, its fix, and a review with sensitive evidence and action items."""
    from analytics.store import connect

    con = connect(":memory:")
    spike = {"linked_ticket": "BUG-77", "app_version": "9.1"}
    add_cases(con, date(2026, 1, 1), 150, 6, seed=1)
    add_cases(con, date(2026, 3, 2), 12, 18, seed=2, prefix="B", **spike)
    add_cases(
        con,
        date(2026, 3, 3),
        3,
        3,
        seed=3,
        prefix="S",
        sensitive=True,
        description=f"Please help, {SENSITIVE_TEXT}. Call +44 7700 900123.",
    )
    add_event(con, ADMIN, "9.1.1 fixes BUG-77", "fix", datetime(2026, 3, 14))
    sensitive_ids = [
        r[0] for r in con.execute("SELECT case_id FROM cases WHERE sensitive").fetchall()
    ]
    seed = {
        "headline": "Report button broken in 9.1",
        "current_start": "2026-03-02",
        "current_end": "2026-03-13",
        "filters": {"category": "Product issue"},
        "causes": [{"slice": {"app_version": "9.1"}, "share_of_change": 0.9}],
        "evidence_case_ids": ["B-000001", *sensitive_ids],
    }
    rid = pm.create_review(con, ANALYST, draft_from_seed(seed), authors=["Ana", "Ben"])
    pm.save_section(
        con,
        ANALYST,
        rid,
        "lessons",
        "**Canary** every release. Ask jo@example.com, +44 7700 900123 or @jo_handle.\n"
        "- second <script>alert(1)</script> point",
        1,
    )
    pt.add_timeline_entry(con, ANALYST, rid, datetime(2026, 3, 4, 10), "War room opened")
    pa.add_action(
        con,
        ANALYST,
        rid,
        "Ship 9.1.1",
        owner="Ben",
        team="App",
        linked_ticket="BUG-77",
        status="done",
        done_on=date(2026, 3, 14),
        metric=MetricSpec.make("volume", {"linked_ticket": "BUG-77"}, "down"),
    )
    pa.add_action(con, ANALYST, rid, "Add a canary stage", owner="Cy", due_date=date(2026, 6, 1))
    yield con, rid
    con.close()


@pytest.fixture(scope="module")
def files(store):
    con, rid = store
    return {fmt: pe.export_review(con, ANALYST, rid, fmt) for fmt in pe.FORMATS}


def _no_personal_data(text: str) -> None:
    for item in PERSONAL:
        assert item not in text, item
    assert SENSITIVE_TEXT not in text


def test_markdown_has_every_section_redacted(files, store):
    md = files["md"].data.decode("utf-8")
    for title in TITLES:
        assert f"## {title}" in md, title
    assert "War room opened" in md and "BUG-77" in md and "fix worked" in md
    assert "[email]" in md and "[phone]" in md and "[handle]" in md
    _no_personal_data(md)
    assert "[sensitive content hidden]" in md
    assert files["md"].file_name.endswith(".md") and files["md"].mime == "text/markdown"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts_with_src, self.plotly_divs, self.h2, self._in_h2 = [], 0, [], False
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts_with_src.append(attrs["src"])
        if tag == "div" and "plotly-graph-div" in (attrs.get("class") or ""):
            self.plotly_divs += 1
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())
        self.text.append(data)


def test_html_is_standalone_with_embedded_charts(files):
    raw = files["html"].data.decode("utf-8")
    parser = _Collector()
    parser.feed(raw)
    parser.close()
    assert parser.scripts_with_src == []  # opens offline
    assert parser.plotly_divs == 2  # the daily signal and the fix check
    assert raw.count("window.PlotlyConfig") == 1  # one inline copy of plotly.js
    assert parser.h2 == TITLES
    text = "".join(parser.text)
    assert "<script>alert(1)</script>" not in raw.replace(
        "&lt;script&gt;alert(1)&lt;/script&gt;", ""
    )
    assert "alert(1)" in text  # shown as text, not run
    _no_personal_data(raw)


def test_docx_opens_with_every_section_and_chart(files):
    from docx import Document

    document = Document(io.BytesIO(files["docx"].data))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == TITLES
    assert len(document.inline_shapes) == 1  # the daily chart
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "War room opened" in cells and any("fix worked" in c for c in cells)
    everything = "\n".join([p.text for p in document.paragraphs] + cells)
    _no_personal_data(everything)
    assert any(r.bold and r.text == "Canary" for p in document.paragraphs for r in p.runs)


def _pdf_text(data: bytes) -> str:
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            chunks.append(stream.decode("latin-1", "replace"))
    return "\n".join(chunks)


def test_pdf_opens_with_every_section(files):
    data = files["pdf"].data
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", data)) >= 2
    text = _pdf_text(data)
    for title in TITLES:
        assert title.replace("(", "\\(") in text or title in text, title
    _no_personal_data(text)
    assert "/Subtype /Image" in data.decode("latin-1")


def test_sensitive_text_only_on_purpose_and_with_the_right(store):
    con, rid = store
    shown = pe.export_review(con, ADMIN, rid, "md", pe.ExportOptions(include_sensitive=True))
    text = shown.data.decode("utf-8")
    assert SENSITIVE_TEXT in text and "+44 7700 900123" not in text
    with pytest.raises(PermissionDeniedError):
        pe.export_review(con, VIEWER, rid, "md", pe.ExportOptions(include_sensitive=True))
    assert pe.export_review(con, VIEWER, rid, "md").data  # viewers may export the redacted file
    with pytest.raises(WorkflowError):
        pe.export_review(con, ADMIN, rid, "odt")


def test_exports_are_audited(store, files):
    con, rid = store
    logged = con.execute(
        "SELECT user_name, detail FROM audit_log WHERE action = 'export' AND target = ?",
        [f"post-mortem {rid}"],
    ).fetchall()
    formats = {detail.split(";")[0] for _u, detail in logged}
    assert set(pe.FORMATS) <= formats
    assert ("Ada", "md; sensitive text included") in logged


def test_markdown_html_escapes_and_renders_a_small_subset():
    out = pe.markdown_html("# Head\n\n- **bold** item\n- <b>x</b>\n\nplain *em* `code`")
    assert "<h3>Head</h3>" in out and "<strong>bold</strong>" in out
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<em>em</em>" in out and "<code>code</code>" in out
    assert "not written yet" in pe.markdown_html("  ")
