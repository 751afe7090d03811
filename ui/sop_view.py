"""SOP grey areas page: cached loaders (ui.resources shape) and rendering helpers."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from analytics import engine, sop, sop_evidence, sop_signals, sop_verify, sop_workflow
from analytics.filters import Filters
from ui.render import blurred
from ui.resources import _connection

# --- loaders ------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def load_assignments(path: str, ver: str) -> pd.DataFrame | None:
    """Pain-point assignments, when the pain-point clustering has stored them."""
    return sop_signals.stored_assignments(_connection(path))


@st.cache_data(show_spinner="Looking for grey areas…", max_entries=32)
def load_report(path: str, ver: str, f: Filters, split: bool) -> sop.GreyAreaReport:
    assignments = load_assignments(path, ver) if split else None
    return sop.detect_grey_areas(engine.cases_table(_connection(path)), f, assignments=assignments)


@st.cache_data(show_spinner=False, max_entries=128)
def load_evidence(
    path: str,
    ver: str,
    f: Filters,
    split: bool,
    policy: str,
    pain_point: str,
    reveal: bool,
    who: str = "",
    _user=None,
) -> sop_evidence.Evidence:
    """Evidence for one finding; ``reveal`` is checked against ``_user`` in analytics.

    ``who`` (name and role) keys the cache, so a revealed result is never served to another user.
    """
    report = load_report(path, ver, f, split)
    assignments = load_assignments(path, ver) if pain_point else None
    return sop_evidence.evidence(
        engine.cases_table(_connection(path)),
        report,
        policy,
        pain_point,
        assignments=assignments,
        reveal=reveal,
        user=_user,
    )


@st.cache_data(show_spinner="Comparing before and after the SOP update…", max_entries=64)
def load_verification(
    path: str, ver: str, policy: str, pain_point: str, day
) -> sop_verify.Verification:
    assignments = load_assignments(path, ver) if pain_point else None
    return sop_verify.verify_fix(
        engine.cases_table(_connection(path)),
        policy,
        day,
        pain_point=pain_point,
        assignments=assignments,
    )


def brief_builder(path: str, report: sop.GreyAreaReport, states: pd.DataFrame, fmt: str):
    """A callable that builds the policy brief (Markdown or Excel) when the user downloads it.

    Deferred (``st.download_button`` runs it on click, in another thread), so rendering the
    page never pays for the export. Evidence is redacted; the flagged findings are included.
    """

    def build() -> bytes:
        t = engine.cases_table(_connection(path))
        assignments = sop_signals.stored_assignments(_connection(path)) if report.split else None
        evidence = {
            (r.policy, r.pain_point): sop_evidence.evidence(
                t, report, r.policy, r.pain_point, assignments=assignments if r.pain_point else None
            )
            for r in report.flagged.itertuples()
        }
        if fmt == "md":
            return sop_evidence.findings_markdown(
                report, states=states, evidence_by_key=evidence
            ).encode("utf-8")
        return sop_evidence.findings_workbook(report, states=states, evidence_by_key=evidence)

    return build


def load_states(path: str) -> pd.DataFrame:
    """Workflow state of persisted findings (not cached: it changes with every action)."""
    return sop_workflow.list_findings(_connection(path))


# --- tables and figures ----------------------------------------------------------------------


def _fmt(signal: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "–"
    if signal == "handling":
        return f"×{math.exp(value):.2f}"
    return f"{value:.0%}"


def level_findings(report: sop.GreyAreaReport, level_pp: bool) -> pd.DataFrame:
    """Findings of one level: whole policies, or policy x pain point combinations."""
    return report.findings[(report.findings["pain_point"] != "") == level_pp].reset_index(drop=True)


def finding_options(level: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows for the finding picker and their labels ("1. Policy ⚑"; ⚑ = flagged)."""
    labels = [
        f"{'' if pd.isna(r.rank) else f'{int(r.rank)}. '}{sop.finding_key(r.policy, r.pain_point)}"
        f"{' ⚑' if r.flagged else ''}"
        for r in level.itertuples()
    ]
    return level, labels


def phrases_text(report: sop.GreyAreaReport, policy: str, pain_point: str, top: int = 12) -> str:
    phr = report.phrases[
        (report.phrases["policy"] == policy) & (report.phrases["pain_point"] == pain_point)
    ]
    return " · ".join(
        f"{x.phrase} ({x.language}) {int(x.cases)}" for x in phr.head(top).itertuples()
    )


def findings_display(
    report: sop.GreyAreaReport, states: pd.DataFrame, *, level_pp: bool, only_flagged: bool
) -> pd.DataFrame:
    """The ranked findings table as shown (one level: policies, or policy x pain points)."""
    f = report.findings
    f = f[(f["pain_point"] != "") == level_pp]
    if only_flagged:
        f = f[f["flagged"]]
    out = f[["rank", "policy", "pain_point", "cases", "score", "flagged", "summary"]].copy()
    for s in sop.SIGNALS:  # rates in percent for display
        out[s.key] = f["handling_ratio"] if s.key == "handling" else f[f"value_{s.key}"] * 100
    status = {}
    if not states.empty:
        status = {
            (r.policy, r.pain_point): sop_workflow.STATUS_LABELS.get(r.status, r.status)
            for r in states.itertuples()
        }
    out["status"] = [
        status.get((p, pp), "not recorded" if fl else "")
        for p, pp, fl in zip(out["policy"], out["pain_point"], out["flagged"], strict=True)
    ]
    order = [
        "rank",
        "policy",
        "pain_point",
        "cases",
        "score",
        "flagged",
        "status",
        *(s.key for s in sop.SIGNALS),
        "summary",
    ]
    out = out[[c for c in order if level_pp or c != "pain_point"]]
    return out.reset_index(drop=True)


def findings_column_config() -> dict:
    pct = {
        s.key: st.column_config.NumberColumn(s.label, format="%.0f%%", help=s.help)
        for s in sop.SIGNALS
        if s.key != "handling"
    }
    return {
        "rank": st.column_config.NumberColumn("#", width="small"),
        "score": st.column_config.ProgressColumn(
            "Score",
            format="%.1f",
            min_value=0,
            max_value=25,
            help="Sum of the signal contributions (see the heatmap).",
        ),
        "flagged": st.column_config.CheckboxColumn("Flagged"),
        "summary": st.column_config.TextColumn("Why", width="large"),
        "pain_point": st.column_config.TextColumn("Pain point"),
        "policy": st.column_config.TextColumn("Policy"),
        "cases": st.column_config.NumberColumn("Cases", format="%d"),
        "handling": st.column_config.NumberColumn(
            "Handling vs queue", format="×%.2f", help=sop.SIGNAL_BY_KEY["handling"].help
        ),
        "status": st.column_config.TextColumn("Workflow"),
        **pct,
    }


def heatmap_figure(report: sop.GreyAreaReport, *, level_pp: bool, top: int = 20) -> go.Figure:
    """Policy x signal: colour = contribution to the score, text = the signal's value."""
    f = report.findings
    f = f[((f["pain_point"] != "") == level_pp) & f["ranked"]].head(top)
    labels = [sop.finding_key(p, pp) for p, pp in zip(f["policy"], f["pain_point"], strict=True)]
    z = f[[f"contrib_{s.key}" for s in sop.SIGNALS]].to_numpy(dtype=float)
    text = [
        [_fmt(s.key, v) for s, v in zip(sop.SIGNALS, row, strict=True)]
        for row in f[[f"value_{s.key}" for s in sop.SIGNALS]].to_numpy(dtype=float)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[s.short for s in sop.SIGNALS],
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Reds",
            zmin=0,
            zmax=max(report.params.cap * 1.5, 1.0),
            colorbar={"title": "Contribution"},
            hovertemplate="%{y}<br>%{x}: %{text}<br>contribution %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(260, 26 * len(labels) + 120),
        margin={"t": 10, "b": 10},
        yaxis={"autorange": "reversed"},
        xaxis={"side": "top"},
    )
    return fig


def trend_figure(
    report: sop.GreyAreaReport, policy: str, pain_point: str, sop_date=None
) -> go.Figure:
    """Monthly score (bars) and the main signal rates (lines) of one finding."""
    tr = report.trend[
        (report.trend["policy"] == policy) & (report.trend["pain_point"] == pain_point)
    ]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    score = tr[tr["signal"] == "score"]
    fig.add_bar(
        x=score["month"], y=score["value"], name="Score", marker_color="#F5B7B1", secondary_y=False
    )
    colours = {
        "inconsistency": "#C0392B",
        "overturn": "#8E44AD",
        "hesitancy": "#2471A3",
        "reopen": "#7F8C8D",
    }
    for key, colour in colours.items():
        one = tr[tr["signal"] == key]
        fig.add_scatter(
            x=one["month"],
            y=one["value"],
            name=sop.SIGNAL_BY_KEY[key].label,
            mode="lines+markers",
            line={"color": colour},
            secondary_y=True,
            customdata=one["n"],
            hovertemplate="%{x|%b %Y}: %{y:.0%} (n=%{customdata:.0f})<extra></extra>",
        )
    if sop_date is not None and not pd.isna(sop_date):
        fig.add_vline(x=pd.Timestamp(sop_date), line_dash="dot", line_color="#00A36C")
        fig.add_annotation(
            x=pd.Timestamp(sop_date),
            y=1,
            yref="paper",
            text="SOP updated",
            showarrow=False,
            font={"color": "#00A36C", "size": 11},
            xanchor="left",
        )
    fig.update_layout(
        height=320,
        margin={"t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        barmode="overlay",
    )
    fig.update_yaxes(title_text="Score", secondary_y=False)
    fig.update_yaxes(title_text="Rate", tickformat=".0%", secondary_y=True, rangemode="tozero")
    return fig


def signals_display(report: sop.GreyAreaReport, policy: str, pain_point: str) -> pd.DataFrame:
    """One finding's signals: value, 95% CI, typical value, contribution."""
    sig = report.signals[
        (report.signals["policy"] == policy) & (report.signals["pain_point"] == pain_point)
    ]
    rows = []
    for s in sop.SIGNALS:
        one = sig[sig["signal"] == s.key]
        if one.empty:
            continue
        o = one.iloc[0]
        rows.append(
            {
                "Signal": s.label,
                "Value": _fmt(s.key, o["value"]),
                "95% CI": f"{_fmt(s.key, o['low'])} – {_fmt(s.key, o['high'])}",
                "Typical": _fmt(s.key, o["baseline"]),
                "Based on": int(o["n"]) if pd.notna(o["n"]) else 0,
                "Contribution": float(o["contribution"]),
            }
        )
    return pd.DataFrame(rows)


def action_label(current: str, target: str) -> str:
    """Button text for a workflow move (the same target reads differently from each state)."""
    if target == "new":
        return "Reopen" if current == "dismissed" else "Back to new"
    if target == "sent_to_policy" and current in ("sop_updated", "verified"):
        return "Send back to policy"
    return {
        "sent_to_policy": "Send to policy",
        "sop_updated": "Mark SOP updated",
        "verified": "Mark verified",
        "dismissed": "Dismiss (not a grey area)",
    }[target]


def _esc(text) -> str:
    """Data shown inside Markdown (ids, outcomes) must not become markup."""
    return "".join("\\" + ch if ch in "\\`*_[]<>|#!{}~:$" else ch for ch in str(text))


def render_pairs(ev: sop_evidence.Evidence, *, reveal: bool) -> None:
    """Each pair of similar cases with different outcomes, side by side."""
    for i, pr in enumerate(ev.pairs.itertuples(), 1):
        with st.container(border=True):
            st.caption(f"Pair {i} · similarity {pr.similarity:.2f}")
            left, right = st.columns(2)
            for col, side in ((left, "a"), (right, "b")):
                with col:
                    appeal = getattr(pr, f"{side}_appeal_outcome")
                    appeal_txt = (
                        f" · appeal: {_esc(appeal)}" if isinstance(appeal, str) and appeal else ""
                    )
                    st.markdown(
                        f"**{_esc(getattr(pr, f'{side}_case_id'))}** → "
                        f"**{_esc(getattr(pr, f'{side}_outcome'))}**{appeal_txt}"
                    )
                    text = getattr(pr, f"{side}_text")
                    if bool(getattr(pr, f"{side}_sensitive")) and not reveal:
                        st.caption(
                            "Sensitive case: text hidden (reveal it above if your role allows)."
                        )
                    else:
                        blurred(text, reveal=True)
                    st.caption("Agent note")
                    blurred(getattr(pr, f"{side}_agent_notes"), reveal=True)


def render_notes(ev: sop_evidence.Evidence) -> None:
    """The most hesitant agent notes with the phrases that matched."""
    for n in ev.notes.itertuples():
        with st.container(border=True):
            st.caption(
                f"{_esc(n.case_id)} · {_esc(n.language or '–')} · outcome: {_esc(n.outcome or '–')} · "
                f"matched: {_esc(n.matched)}"
            )
            blurred(n.agent_notes, reveal=True)
