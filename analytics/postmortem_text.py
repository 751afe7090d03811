"""Section structure of a post-mortem and the drafted texts that auto-fill it.

The structure follows common incident post-mortem templates (Google SRE, incident.io,
FireHydrant): summary, impact, timeline, root causes and contributing factors, what went
well / wrong / where we got lucky, lessons learned. Drafts are Markdown written from the
facts; people edit them, and the numbers stay in the section's ``facts``.
"""

from __future__ import annotations

from datetime import date

#: (key, title, prompt shown while the section is empty)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("summary", "Summary", "What happened, to whom, how bad, and how it ended, in a few lines."),
    ("impact", "Impact", "Who and what was affected; the numbers are filled in from the data."),
    ("timeline", "Timeline", "How the event unfolded; the table below lists the moments."),
    (
        "root_causes",
        "Root causes and contributing factors",
        "Why it happened; what made it worse or harder to see.",
    ),
    ("went_well", "What went well", "Detection, response, tooling, people."),
    ("went_wrong", "What went wrong", "Where we were slow, blind or short-staffed."),
    ("got_lucky", "Where we got lucky", "What could have made this much worse."),
    ("lessons", "Lessons learned", "What we now know and will do differently."),
)
SECTION_TITLES = {key: title for key, title, _ in SECTIONS}
SECTION_PROMPTS = {key: prompt for key, _, prompt in SECTIONS}


def pct(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def hours(value) -> str:
    return "–" if value is None else f"{value:,.1f} h"


def count(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def change(value) -> str:
    return "" if value is None else f" ({value:+.0%} vs the previous period)"


def day(iso: str | None) -> str:
    return "–" if not iso else f"{date.fromisoformat(iso[:10]):%a %d %b %Y}"


def impact_rows(facts: dict) -> list[tuple[str, str]]:
    """The impact numbers as (label, formatted value) pairs, in reading order."""
    rows = [
        ("Cases", count(facts.get("cases")) + change(facts.get("cases_change_pct"))),
        (
            "SLA breaches",
            f"{count(facts.get('sla_breaches'))} (breach rate {pct(facts.get('sla_breach_rate'))}, "
            f"previously {pct(facts.get('sla_breach_rate_previous'))})",
        ),
    ]
    if facts.get("dsa_notices"):
        rows.append(
            (
                "DSA notices / deadline breaches",
                f"{count(facts['dsa_notices'])} notices, {count(facts.get('dsa_breaches'))} "
                f"breached ({pct(facts.get('dsa_breach_rate'))}); median time to action "
                f"{hours(facts.get('dsa_median_hours_to_action'))}",
            )
        )
    rows += [
        (
            "Handling time (resolution)",
            f"median {hours(facts.get('resolution_median_h'))}, p90 "
            f"{hours(facts.get('resolution_p90_h'))} (previously "
            f"{hours(facts.get('resolution_median_h_previous'))} / "
            f"{hours(facts.get('resolution_p90_h_previous'))})",
        ),
        ("First response (median)", hours(facts.get("first_response_median_h"))),
        (
            "Backlog",
            f"peak {count(facts.get('backlog_peak'))} open on {day(facts.get('backlog_peak_day'))}; "
            f"{count(facts.get('backlog_end'))} open at the end of the window",
        ),
        (
            "Overturns",
            f"{count(facts.get('overturns'))} of {count(facts.get('appeals_decided'))} decided "
            f"appeals ({pct(facts.get('overturn_rate'))})",
        ),
        ("Regions", _movers(facts.get("regions") or [])),
        ("Markets", _movers(facts.get("markets") or [])),
    ]
    return rows


def _movers(items: list[dict]) -> str:
    if not items:
        return "–"
    return ", ".join(f"{m['value']} {m['cases']:,} ({m['change']:+,})" for m in items)


def impact_markdown(facts: dict) -> str:
    head = f"Window {day(facts.get('window_start'))} – {day(facts.get('window_end'))}, scope: {facts.get('scope', 'all cases')}."
    lines = [head, ""] + [f"- **{label}:** {value}" for label, value in impact_rows(facts)]
    return "\n".join(lines)


def summary_draft(title: str, headline: str, facts: dict, points: dict) -> str:
    parts = [headline.rstrip(".") + "." if headline else ""]
    parts.append(
        f"Between {day(facts.get('window_start'))} and {day(facts.get('window_end'))}, "
        f"{facts.get('scope', 'all cases')} had {count(facts.get('cases'))} cases"
        f"{change(facts.get('cases_change_pct'))}, with an SLA breach rate of "
        f"{pct(facts.get('sla_breach_rate'))} (previously "
        f"{pct(facts.get('sla_breach_rate_previous'))})."
    )
    if points.get("peak_day"):
        parts.append(f"The peak was on {day(points['peak_day'])}.")
    for ticket, fixed in (points.get("fixes") or {}).items():
        parts.append(f"{ticket} was fixed on {day(fixed)}.")
    if points.get("recovered_on"):
        parts.append(f"The daily series was back to its baseline on {day(points['recovered_on'])}.")
    return " ".join(p for p in parts if p)


def timeline_narrative(points: dict, alert_fired_at=None) -> str:
    lines = []
    first = points.get("first_signal")
    if first:
        lines.append(f"- First signal in the data: {day(first)}.")
    else:
        lines.append("- No day stood out from its baseline in the daily series.")
    if alert_fired_at and first:
        lag = (alert_fired_at.date() - date.fromisoformat(first)).days
        lines.append(f"- Alert fired {lag} day(s) after the first signal.")
    if points.get("peak_day"):
        # No "2026 (27)": digits around brackets read as a phone number to the redactor.
        lines.append(f"- Peak: {day(points['peak_day'])}, {points['peak_value']:.0f} that day.")
    for ticket, fixed in (points.get("fixes") or {}).items():
        gap = (date.fromisoformat(fixed) - date.fromisoformat(first)).days if first else None
        lag = f", {gap} days after the first signal" if gap is not None else ""

        lines.append(f"- {ticket} fixed on {day(fixed)}{lag}.")
    if points.get("recovered_on"):
        lines.append(f"- Back to baseline: {day(points['recovered_on'])}.")
    elif first:
        lines.append("- The series had not returned to its baseline by the end of the data.")
    return "\n".join(lines)


def causes_markdown(causes: list[dict], evidence: list[dict]) -> str:
    if not causes:
        lines = ["No root-cause analysis came with this review yet."]
    else:
        lines = []
        for c in causes:
            share = c.get("share_of_change")
            share_text = f" — {share:.0%} of the change" if isinstance(share, int | float) else ""
            detail = c.get("detail") or {}
            if not share_text and {"actual", "expected"} <= set(detail):
                share_text = (
                    f": {detail['actual']:,.0f} cases vs {detail['expected']:,.0f} in the "
                    "previous period"
                )
            lines.append(f"- **{c['label']}** ({c.get('kind', 'root cause')}){share_text}")
    if evidence:
        lines += ["", "Evidence cases (personal data redacted):"]
        lines += [f"- {e['case_id']}: {e.get('subject') or ''}" for e in evidence]
    return "\n".join(lines)


def went_wrong_draft(facts: dict, points: dict) -> str:
    lines = []
    rate, before = facts.get("sla_breach_rate"), facts.get("sla_breach_rate_previous")
    if rate is not None and before is not None and rate > before * 1.25 and rate - before > 0.02:
        lines.append(f"- SLA breach rate rose from {pct(before)} to {pct(rate)}.")
    med, med_before = facts.get("resolution_median_h"), facts.get("resolution_median_h_previous")
    if med and med_before and med > 1.25 * med_before:
        lines.append(f"- Median handling time grew from {hours(med_before)} to {hours(med)}.")
    if facts.get("dsa_breaches"):
        lines.append(f"- {facts['dsa_breaches']:,} DSA notices missed their deadline.")
    return "\n".join(lines)


def went_well_draft(points: dict) -> str:
    fixes, rec = points.get("fixes") or {}, points.get("recovered_on")
    if fixes and rec:
        fixed = min(fixes.values())
        lag = (date.fromisoformat(rec) - date.fromisoformat(fixed)).days
        if 0 <= lag <= 7:
            return f"- Volumes returned to baseline {lag} day(s) after the fix shipped."
    return ""
