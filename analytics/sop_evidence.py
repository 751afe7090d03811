"""The cases that prove a grey area, and the brief for the policy team (Markdown, Excel).

Evidence is redacted (:func:`analytics.privacy.safe_view`: personal data replaced, the
text of sensitive cases hidden) unless a user allowed to reveal asks for it. Exports are
built from redacted evidence only, with spreadsheet formula cells neutralised.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import ibis
import pandas as pd

from analytics.access import User, require
from analytics.privacy import SENSITIVE_PLACEHOLDER, neutralise_formulas, redact_frame, safe_view
from analytics.sop import SIGNALS, GreyAreaReport, finding_key
from analytics.sop_signals import fetch_cases, hesitancy_matches, hesitant_notes

_PAIR_SIDE = (
    "case_id",
    "created_at",
    "language",
    "outcome",
    "appeal_outcome",
    "text",
    "agent_notes",
    "sensitive",
)


@dataclass(frozen=True)
class Evidence:
    """pairs: one row per pair of similar cases decided differently, side by side
    (similarity, a_<field>, b_<field> for case_id, created_at, language, outcome,
    appeal_outcome, text, agent_notes, sensitive). notes: the most hesitant agent notes
    (case_id, created_at, language, agent_notes, matched, outcome, appeal_outcome, sensitive)."""

    policy: str
    pain_point: str
    pairs: pd.DataFrame
    notes: pd.DataFrame
    revealed: bool


def evidence(
    t: ibis.Table,
    report: GreyAreaReport,
    policy: str,
    pain_point: str = "",
    *,
    assignments: pd.DataFrame | None = None,
    n_pairs: int = 5,
    n_notes: int = 8,
    reveal: bool = False,
    user: User | None = None,
) -> Evidence:
    """Pairs of similar cases with different outcomes and the most hesitant notes, redacted.

    ``reveal=True`` shows personal data and sensitive text; it needs a ``user`` with the
    ``reveal`` permission (the caller writes the reveal to the audit log).
    """
    if reveal:
        if user is None:
            raise ValueError("reveal=True needs the user who asks")
        require(user, "reveal")
    chosen = report.pairs[
        (report.pairs["policy"] == policy) & (report.pairs["pain_point"] == pain_point)
    ]
    chosen = chosen.head(n_pairs)
    ids = sorted(set(chosen["case_a"]) | set(chosen["case_b"]))
    cases = fetch_cases(t, ids)
    if not cases.empty:
        cases["text"] = (
            cases["subject"].fillna("").astype(str)
            + "\n\n"
            + cases["description"].fillna("").astype(str)
        ).str.strip()
        cases = safe_view(cases, reveal_personal=reveal, reveal_sensitive=reveal)
        if not reveal:  # safe_view masks the canonical text columns; the joined text too
            flag = cases["sensitive"].fillna(False).astype(bool)
            cases = redact_frame(cases, ["text"])
            cases["text"] = cases["text"].where(~flag, SENSITIVE_PLACEHOLDER)
    by_id = cases.set_index("case_id") if not cases.empty else pd.DataFrame()
    rows = []
    for r in chosen.itertuples():
        if r.case_a not in by_id.index or r.case_b not in by_id.index:
            continue
        row = {"similarity": float(r.similarity)}
        for side, cid in (("a", r.case_a), ("b", r.case_b)):
            rec = by_id.loc[cid]
            row[f"{side}_case_id"] = cid
            for col in _PAIR_SIDE[1:]:
                row[f"{side}_{col}"] = rec.get(col)
        rows.append(row)
    pairs = pd.DataFrame(
        rows, columns=["similarity", *[f"{s}_{c}" for s in "ab" for c in _PAIR_SIDE]]
    )

    raw = hesitant_notes(t, report.filters, policy, pain_point, assignments=assignments)
    if not raw.empty:
        raw["matched"] = [", ".join(hesitancy_matches(n)) for n in raw["agent_notes"]]
        raw["_hits"] = raw["matched"].str.count(",") + 1
        raw = raw.sort_values(["_hits", "created_at"], ascending=[False, False]).head(n_notes)
        raw = safe_view(raw.drop(columns="_hits"), reveal_personal=reveal, reveal_sensitive=reveal)
    notes = raw.reindex(
        columns=[
            "case_id",
            "created_at",
            "language",
            "agent_notes",
            "matched",
            "outcome",
            "appeal_outcome",
            "sensitive",
        ]
    ).reset_index(drop=True)
    return Evidence(policy, pain_point, pairs.reset_index(drop=True), notes, reveal)


# --- exports ----------------------------------------------------------------------------


def _md(text) -> str:
    """Escape case text for Markdown (it is data, never markup)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    text = str(text).replace("\r", " ").replace("\n\n", " — ").replace("\n", " ")
    return re.sub(r"([\\`*_\[\]<>|#!{}~])", r"\\\1", text)


def _fmt(signal: str, value) -> str:
    if value is None or pd.isna(value):
        return "–"
    if signal == "handling":
        return f"×{math.exp(value):.2f}"
    return f"{value:.0%}"


def _status_of(states: pd.DataFrame | None, policy: str, pain_point: str) -> dict:
    if states is None or states.empty:
        return {}
    hit = states[(states["policy"] == policy) & (states["pain_point"] == pain_point)]
    return {} if hit.empty else hit.iloc[0].to_dict()


def findings_markdown(
    report: GreyAreaReport,
    *,
    states: pd.DataFrame | None = None,
    evidence_by_key: dict[tuple[str, str], Evidence] | None = None,
    only_flagged: bool = True,
    keys: list[tuple[str, str]] | None = None,
) -> str:
    """A brief for the policy team: ranked findings, their signals and redacted evidence."""
    from analytics.sop_workflow import STATUS_LABELS

    rows = report.findings
    if keys is not None:
        rows = rows[
            [(p, pp) in set(keys) for p, pp in zip(rows["policy"], rows["pain_point"], strict=True)]
        ]
    elif only_flagged:
        rows = rows[rows["flagged"]]
    p = report.params
    lines = [
        "# SOP grey areas: brief for the policy team",
        "",
        f"- Scope: {_md(report.scope)}",
        f"- Generated: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Flagged = at least {p.min_cases} cases, score ≥ {p.flag_score:g}, and at least one signal above "
        "the other policies even at the low end of its 95% confidence interval.",
        "- Case text is redacted (personal data replaced, sensitive cases hidden).",
        "",
    ]
    if rows.empty:
        lines.append("No grey area is flagged for this scope.")
        return "\n".join(lines) + "\n"
    evidence_by_key = evidence_by_key or {}
    for r in rows.itertuples():
        state = _status_of(states, r.policy, r.pain_point)
        rank = "–" if pd.isna(r.rank) else int(r.rank)
        lines += [
            f"## {rank}. {_md(finding_key(r.policy, r.pain_point))}",
            "",
            f"Score **{r.score:.1f}** (low end {r.score_low:.1f}) · {int(r.cases):,} cases · "
            f"{'flagged' if r.flagged else 'not flagged'}"
            + (
                f" · status: {STATUS_LABELS.get(state['status'], state['status'])}" if state else ""
            ),
            "",
            f"{_md(r.summary[:1].upper() + r.summary[1:])}.",
            "",
            "| Signal | Value | 95% CI | Typical | Contribution |",
            "|---|---|---|---|---|",
        ]
        sig = report.signals[
            (report.signals["policy"] == r.policy) & (report.signals["pain_point"] == r.pain_point)
        ]
        for s in SIGNALS:
            one = sig[sig["signal"] == s.key]
            if one.empty:
                continue
            o = one.iloc[0]
            lines.append(
                f"| {s.label} | {_fmt(s.key, o['value'])} | {_fmt(s.key, o['low'])} – "
                f"{_fmt(s.key, o['high'])} | {_fmt(s.key, o['baseline'])} | {o['contribution']:.2f} |"
            )
        phr = report.phrases[
            (report.phrases["policy"] == r.policy) & (report.phrases["pain_point"] == r.pain_point)
        ]
        if not phr.empty:
            top = ", ".join(
                f"“{_md(x.phrase)}” ({x.language}, {int(x.cases)})"
                for x in phr.head(8).itertuples()
            )
            lines += ["", f"Hesitant phrases in agent notes: {top}."]
        if state and state.get("sop_link"):
            lines += [
                "",
                f"SOP updated on {state.get('sop_updated_on')}: <{_md(state['sop_link'])}>",
            ]
        ev = evidence_by_key.get((r.policy, r.pain_point))
        if ev is not None and not ev.pairs.empty:
            lines += ["", "### Similar cases, different outcomes", ""]
            for i, pr in enumerate(ev.pairs.itertuples(), 1):
                lines += [
                    f"{i}. Similarity {pr.similarity:.2f}",
                    f"   - **{_md(pr.a_case_id)}** → *{_md(pr.a_outcome)}*: {_md(pr.a_text)[:600]}",
                    f"   - **{_md(pr.b_case_id)}** → *{_md(pr.b_outcome)}*: {_md(pr.b_text)[:600]}",
                ]
        if ev is not None and not ev.notes.empty:
            lines += ["", "### Hesitant agent notes", ""]
            lines += [
                f"- {_md(n.case_id)} ({_md(n.language)}, {_md(n.outcome)}): “{_md(n.agent_notes)[:400]}” "
                f"— matched: {_md(n.matched)}"
                for n in ev.notes.itertuples()
            ]
        lines.append("")
    return "\n".join(lines) + "\n"


def findings_frame(report: GreyAreaReport, states: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ranked findings as a flat table (values as fractions; handling as a ratio)."""
    from analytics.sop_workflow import STATUS_LABELS

    f = report.findings
    out = f[
        ["rank", "policy", "pain_point", "cases", "score", "score_low", "flagged", "summary"]
    ].copy()
    for s in SIGNALS:
        out[s.label] = f["handling_ratio"] if s.key == "handling" else f[f"value_{s.key}"]
        out[f"{s.label} (contribution)"] = f[f"contrib_{s.key}"]
    if states is not None and not states.empty:
        st = states[["policy", "pain_point", "status", "sop_updated_on", "sop_link"]].copy()
        st["status"] = st["status"].map(lambda v: STATUS_LABELS.get(v, v))
        out = out.merge(st, on=["policy", "pain_point"], how="left")
    return out


def findings_workbook(
    report: GreyAreaReport,
    *,
    states: pd.DataFrame | None = None,
    evidence_by_key: dict[tuple[str, str], Evidence] | None = None,
) -> bytes:
    """An .xlsx with sheets Findings, Signals, Monthly trend, Evidence pairs, Hesitant notes.

    Every text cell a spreadsheet would execute is neutralised (see analytics.privacy).
    """
    sheets = {
        "Findings": findings_frame(report, states),
        "Signals": report.signals[
            [
                "policy",
                "pain_point",
                "label",
                "value",
                "low",
                "high",
                "n",
                "baseline",
                "contribution",
            ]
        ],
        "Monthly trend": report.trend,
    }
    if evidence_by_key:
        pairs = [
            ev.pairs.assign(policy=ev.policy, pain_point=ev.pain_point)
            for ev in evidence_by_key.values()
        ]
        notes = [
            ev.notes.assign(policy=ev.policy, pain_point=ev.pain_point)
            for ev in evidence_by_key.values()
        ]
        sheets["Evidence pairs"] = pd.concat(pairs, ignore_index=True)
        sheets["Hesitant notes"] = pd.concat(notes, ignore_index=True)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in sheets.items():
            clean = neutralise_formulas(df.reset_index(drop=True))
            for col in clean.columns:
                if isinstance(clean[col].dtype, pd.DatetimeTZDtype):
                    clean[col] = clean[col].dt.tz_localize(None)
            clean.to_excel(writer, index=False, sheet_name=name[:31])
    return buf.getvalue()
