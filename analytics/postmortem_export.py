"""Exports of a review: Markdown, a standalone HTML file, Word (.docx) and PDF.

Every free text that leaves the store passes :func:`analytics.privacy.redact_text`
(emails, phone numbers, handles, links, account ids). The text of evidence cases marked
sensitive is left out unless the export explicitly includes it
(``ExportOptions.include_sensitive``, which needs the ``reveal`` permission). The HTML file
opens offline: plotly.js is inlined once, with every chart after it reusing that copy.
Word and PDF get the daily chart as a PNG drawn with Pillow. PDF uses fpdf2's core
fonts, which cover Latin-1 only: other characters are transliterated or replaced by "?".
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pandas as pd

from analytics import audit, engine, metrics
from analytics import postmortem as pm
from analytics import postmortem_signal as signal
from analytics.access import User, require
from analytics.errors import WorkflowError
from analytics.postmortem_actions import ActionItem, actions, verify_action
from analytics.postmortem_charts import signal_figure, signal_png, verification_figure
from analytics.postmortem_fill import evidence_cases
from analytics.postmortem_seed import SEVERITIES, SIGNAL_METRICS
from analytics.postmortem_text import SECTIONS
from analytics.postmortem_timeline import timeline
from analytics.postmortem_verify import Verification, VerifyConfig, weekly_series
from analytics.privacy import redact_text

FORMATS: dict[str, tuple[str, str]] = {
    "md": ("Markdown", "text/markdown"),
    "html": ("HTML", "text/html"),
    "docx": ("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pdf": ("PDF", "application/pdf"),
}
EMPTY = "(not written yet)"


@dataclass(frozen=True)
class ExportOptions:
    include_sensitive: bool = False
    include_evidence: bool = True
    verify: VerifyConfig = field(default_factory=VerifyConfig)


@dataclass(frozen=True)
class ReviewDocument:
    """Everything an export shows, already redacted."""

    review: pm.Review
    sections: dict[str, str]
    impact: dict
    timeline: pd.DataFrame
    actions: list[tuple[ActionItem, Verification | None]]
    series: pd.DataFrame
    weekly: dict[int, pd.DataFrame]
    evidence: list[dict]
    generated_at: datetime
    generated_by: str


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    file_name: str
    mime: str


def _r(text) -> str:
    return redact_text(str(text)) if text is not None else ""


def collect(
    con: duckdb.DuckDBPyConnection,
    review_id: int,
    options: ExportOptions | None = None,
    user_name: str = "",
) -> ReviewDocument:
    """Gather and redact a review for export (reads only)."""
    opts = options or ExportOptions()
    review = pm.get_review(con, review_id)
    secs = pm.sections(con, review_id)
    t = engine.cases_table(con)
    lo, hi = signal.series_range(review.window_start, review.window_end, metrics.date_bounds(t))
    series = signal.frozen_baseline(
        signal.daily_signal(t, review.scope, review.metric, lo, hi),
        review.window_start,
        review.window_end,
    )
    tl = timeline(con, review_id)
    for col in ("title", "detail"):
        tl[col] = tl[col].map(_r)
    items = []
    weekly = {}
    for item in actions(con, review_id):
        result = verify_action(t, item, config=opts.verify)
        items.append((item, result))
        if result is not None and item.metric is not None and item.done_on is not None:
            weekly[item.action_id] = weekly_series(t, item.metric, item.done_on, opts.verify)
    evidence = []
    ids = (secs.get("root_causes").facts if "root_causes" in secs else {}).get("evidence_case_ids")
    if opts.include_evidence and ids:
        evidence = evidence_cases(t, ids, reveal_sensitive=opts.include_sensitive)
    return ReviewDocument(
        review=review,
        sections={k: _r(s.body) for k, s in secs.items()},
        impact=secs["impact"].facts if "impact" in secs else {},
        timeline=tl,
        actions=items,
        series=series,
        weekly=weekly,
        evidence=evidence,
        generated_at=datetime.now(UTC).replace(tzinfo=None),
        generated_by=user_name,
    )


def export_review(
    con: duckdb.DuckDBPyConnection,
    user: User,
    review_id: int,
    fmt: str,
    options: ExportOptions | None = None,
) -> ExportFile:
    """Build one export file and write it to the audit log."""
    require(user, "export")
    opts = options or ExportOptions()
    if opts.include_sensitive:
        require(user, "reveal")
    if fmt not in FORMATS:
        raise WorkflowError(f"Unknown export format '{fmt}'; use one of {', '.join(FORMATS)}.")
    doc = collect(con, review_id, opts, user.name)
    data = {"md": to_markdown, "html": to_html, "docx": to_docx, "pdf": to_pdf}[fmt](doc)
    if isinstance(data, str):
        data = data.encode("utf-8")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", doc.review.title).strip("-").lower()[:60] or "review"
    audit.record(
        con,
        user,
        "export",
        pm._target(review_id),
        f"{fmt}" + ("; sensitive text included" if opts.include_sensitive else ""),
    )
    return ExportFile(data, f"post-mortem-{review_id}-{slug}.{fmt}", FORMATS[fmt][1])


# --- Shared pieces ------------------------------------------------------------------------------


def _meta(doc: ReviewDocument) -> list[tuple[str, str]]:
    r = doc.review
    return [
        ("Status", r.status),
        ("Severity", SEVERITIES.get(r.severity, r.severity)),
        ("Authors", ", ".join(r.authors)),
        ("Event window", f"{r.window_start:%d %b %Y} – {r.window_end:%d %b %Y}"),
        ("Scope", r.scope.describe()),
        ("Signal", SIGNAL_METRICS.get(r.metric, r.metric)),
        ("Tags", ", ".join(r.tags) or "–"),
        ("Generated", f"{doc.generated_at:%d %b %Y %H:%M} UTC by {doc.generated_by or '–'}"),
    ]


def _timeline_rows(doc: ReviewDocument) -> list[list[str]]:
    return [
        [f"{pd.Timestamp(e.at):%d %b %Y %H:%M}", str(e.kind or ""), e.title, str(e.source)]
        for e in doc.timeline.itertuples()
    ]


def _action_rows(doc: ReviewDocument) -> list[list[str]]:
    rows = []
    for item, result in doc.actions:
        metric = f"{item.metric.label} ({item.metric.direction})" if item.metric else "–"
        rows.append(
            [
                _r(item.description),
                item.owner or "–",
                item.team or "–",
                f"{item.due_date:%d %b %Y}" if item.due_date else "–",
                item.status + (f" ({item.done_on:%d %b %Y})" if item.done_on else ""),
                item.linked_ticket or "–",
                metric,
                result.describe() if result else "–",
            ]
        )
    return rows


ACTION_HEADER = ["Action", "Owner", "Team", "Due", "Status", "Ticket", "Metric", "Verdict"]
TIMELINE_HEADER = ["When (UTC)", "Kind", "What", "Source"]


def _evidence_rows(doc: ReviewDocument) -> list[list[str]]:
    return [[e["case_id"], e["created_at"], e["subject"], e["description"]] for e in doc.evidence]


# --- Markdown -----------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(doc: ReviewDocument) -> str:
    out = [f"# {_r(doc.review.title)}", ""]
    out += [f"- **{k}:** {v}" for k, v in _meta(doc)]
    for key, title, _prompt in SECTIONS:
        out += ["", f"## {title}", "", doc.sections.get(key) or f"_{EMPTY}_"]
        if key == "timeline" and not doc.timeline.empty:
            out += ["", _md_table(TIMELINE_HEADER, _timeline_rows(doc))]
        if key == "root_causes" and doc.evidence:
            out += ["", "### Evidence cases", ""]
            out += [_md_table(["Case", "Created", "Subject", "Description"], _evidence_rows(doc))]
    out += ["", "## Action items", ""]
    out.append(_md_table(ACTION_HEADER, _action_rows(doc)) if doc.actions else f"_{EMPTY}_")
    return "\n".join(out) + "\n"


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;
margin:2em auto;padding:0 1em;color:#2d3436;line-height:1.45}h1{font-size:1.7em}
h2{border-bottom:1px solid #dfe6e9;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.6em 0}
th,td{border:1px solid #dfe6e9;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f6fa}.meta td:first-child{font-weight:600;width:12em}.empty{color:#95a5a6}"""


def _inline(text: str) -> str:
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"<em>\1</em>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def markdown_html(text: str) -> str:
    """A small, safe Markdown subset: headings, bullet lists, paragraphs, bold/italic/code.

    Everything is escaped first, so text typed by authors can never inject HTML.
    """
    if not text.strip():
        return f'<p class="empty">{EMPTY}</p>'
    blocks, para, items = [], [], []

    def flush():
        if para:
            blocks.append("<p>" + "<br>".join(_inline(p) for p in para) + "</p>")
            para.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif m := re.match(r"^(#{1,4})\s+(.*)", stripped):
            flush()
            level = min(len(m.group(1)) + 2, 6)
            blocks.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif m := re.match(r"^[-*+]\s+(.*)", stripped):
            if para:
                flush()
            items.append(m.group(1))
        else:
            if items:
                flush()
            para.append(stripped)
    flush()
    return "\n".join(blocks)


def _html_table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(doc: ReviewDocument) -> str:
    r = doc.review
    figures = []
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(_r(r.title))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(_r(r.title))}</h1>",
        _html_table(["", ""], [list(m) for m in _meta(doc)], "meta"),
    ]

    def chart(fig) -> str:
        first = not figures
        figures.append(fig)
        return fig.to_html(include_plotlyjs=first, full_html=False, config={"displaylogo": False})

    for key, title, _prompt in SECTIONS:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(markdown_html(doc.sections.get(key, "")))
        if key == "timeline":
            label = SIGNAL_METRICS.get(r.metric, r.metric)
            parts.append(
                chart(
                    signal_figure(doc.series, doc.timeline, (r.window_start, r.window_end), label)
                )
            )
            if not doc.timeline.empty:
                parts.append(_html_table(TIMELINE_HEADER, _timeline_rows(doc)))
        if key == "root_causes" and doc.evidence:
            parts.append("<h3>Evidence cases</h3>")
            parts.append(
                _html_table(["Case", "Created", "Subject", "Description"], _evidence_rows(doc))
            )
    parts.append("<h2>Action items</h2>")
    if doc.actions:
        parts.append(_html_table(ACTION_HEADER, _action_rows(doc)))
        for item, result in doc.actions:
            if item.action_id in doc.weekly and item.metric is not None:
                parts.append(
                    f"<h3>{html.escape(_r(item.description))}: {html.escape(result.verdict)}</h3>"
                )
                fig = verification_figure(
                    doc.weekly[item.action_id], item.done_on, item.metric.label
                )
                parts.append(chart(fig))
    else:
        parts.append(f'<p class="empty">{EMPTY}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


# --- Word ---------------------------------------------------------------------------------------


def _docx_text(document, text: str) -> None:
    if not text.strip():
        document.add_paragraph(EMPTY).italic = True
        return
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if m := re.match(r"^(#{1,4})\s+(.*)", stripped):
            document.add_heading(m.group(2), level=min(len(m.group(1)) + 1, 4))
            continue
        bullet = re.match(r"^[-*+]\s+(.*)", stripped)
        para = document.add_paragraph(style="List Bullet" if bullet else None)
        content = bullet.group(1) if bullet else stripped
        for i, piece in enumerate(re.split(r"\*\*(.+?)\*\*", content)):
            if piece:
                para.add_run(piece).bold = i % 2 == 1


def _docx_table(document, header: list[str], rows: list[list[str]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = str(value)


def _marks(doc: ReviewDocument) -> list[tuple]:
    return [(e.at, str(e.kind)) for e in doc.timeline.itertuples() if e.source == "data"]


def to_docx(doc: ReviewDocument) -> bytes:
    from docx import Document
    from docx.shared import Inches

    r = doc.review
    document = Document()
    document.core_properties.title = _r(r.title)
    document.core_properties.author = ", ".join(r.authors)
    document.add_heading(_r(r.title), level=0)
    _docx_table(document, ["", ""], [list(m) for m in _meta(doc)])
    for key, title, _prompt in SECTIONS:
        document.add_heading(title, level=1)
        _docx_text(document, doc.sections.get(key, ""))
        if key == "timeline":
            png = signal_png(doc.series, _marks(doc), (r.window_start, r.window_end))
            document.add_picture(io.BytesIO(png), width=Inches(6.5))
            if not doc.timeline.empty:
                _docx_table(document, TIMELINE_HEADER, _timeline_rows(doc))
        if key == "root_causes" and doc.evidence:
            document.add_heading("Evidence cases", level=2)
            _docx_table(
                document, ["Case", "Created", "Subject", "Description"], _evidence_rows(doc)
            )
    document.add_heading("Action items", level=1)
    if doc.actions:
        _docx_table(document, ACTION_HEADER, _action_rows(doc))
    else:
        document.add_paragraph(EMPTY)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# --- PDF ----------------------------------------------------------------------------------------

_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "→": "->",
        "≥": ">=",
        "≤": "<=",
        "•": "-",
        "\u00a0": " ",
    }
)


def _latin1(text) -> str:
    return str(text).translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def to_pdf(doc: ReviewDocument) -> bytes:
    from fpdf import FPDF

    r = doc.review
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(_latin1(_r(r.title)))
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 14) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(width, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)

    def body(text: str) -> None:
        if not text.strip():
            pdf.set_font("Helvetica", "I", 10)
            pdf.multi_cell(width, 5, EMPTY, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10)
            return
        for line in text.splitlines():
            line = re.sub(r"^#{1,4}\s+", "", line.strip())
            line = re.sub(r"^[-*+]\s+", "- ", line).replace("**", "")
            if line:
                pdf.multi_cell(width, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")

    def table(header: list[str], rows: list[list[str]], widths: tuple | None = None) -> None:
        pdf.set_font("Helvetica", "", 8)
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=4) as t:
            row = t.row()
            for h in header:
                row.cell(_latin1(h))
            for values in rows:
                row = t.row()
                for v in values:
                    row.cell(_latin1(str(v))[:600])
        pdf.set_font("Helvetica", "", 10)
        pdf.ln(2)

    heading(_r(r.title), 18)
    table(["", ""], [list(m) for m in _meta(doc)], (1, 3))
    for key, title, _prompt in SECTIONS:
        heading(title)
        body(doc.sections.get(key, ""))
        if key == "timeline":
            png = signal_png(doc.series, _marks(doc), (r.window_start, r.window_end))
            pdf.image(io.BytesIO(png), w=width)
            if not doc.timeline.empty:
                table(TIMELINE_HEADER, _timeline_rows(doc), (2, 1.5, 5, 1))
        if key == "root_causes" and doc.evidence:
            heading("Evidence cases", 11)
            table(
                ["Case", "Created", "Subject", "Description"], _evidence_rows(doc), (1.2, 1.3, 2, 4)
            )
    heading("Action items")
    if doc.actions:
        table(ACTION_HEADER, _action_rows(doc))
    else:
        body("")
    return bytes(pdf.output())
