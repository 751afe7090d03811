"""Root cause page helpers: the request (widgets <-> URL), cached loaders, figures and tables.

The page's controls are seeded, in this order, from: query parameters that differ from the
last ones applied (``?rc_metric=sla_breach_rate&rc_from=2025-12-20&rc_to=2026-01-04&
rc_baseline=previous``: an alert, a KPI tile or a chart linked here), the choices saved
earlier in this session (so a page switch does not lose them), or the sidebar period compared
with the previous period. When the sidebar period changes, the window follows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import engine, rootcause
from analytics.filters import Filters
from analytics.rootcause import BASELINES, DEFAULT_DIMENSIONS, METRICS, Explanation, Windows
from analytics.rootcause_evidence import pain_point_assignments
from ui import charts
from ui.resources import _connection

PAGE = "pages/5_Root_cause.py"
POSTMORTEM_PAGE = "pages/6_Post-mortems.py"
PARAMS = (
    "rc_metric",
    "rc_from",
    "rc_to",
    "rc_baseline",
    "rc_weeks",
    "rc_base_from",
    "rc_base_to",
    "rc_dims",
)
DIMENSION_CHOICES: dict[str, str] = {
    "region": "Region",
    "country": "Country",
    "queue": "Queue",
    "category": "Category",
    "policy": "Policy",
    "sub_policy": "Sub-policy",
    "product_surface": "Product surface",
    "app_version": "App version",
    "channel": "Channel",
    "priority": "Priority",
    "language": "Language",
    "reporter_type": "Reporter type",
    "team": "Team",
}


@dataclass(frozen=True)
class Request:
    """What to explain: the page's controls as one hashable value (a cache key)."""

    metric: str = "volume"
    start: date | None = None
    end: date | None = None
    baseline: str = "previous"
    weeks: int = 4
    ref_start: date | None = None
    ref_end: date | None = None
    dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS

    def windows(self) -> Windows:
        ref = (self.ref_start, self.ref_end) if self.ref_start and self.ref_end else None
        return rootcause.resolve_windows(
            self.start, self.end, self.baseline, weeks=self.weeks, reference=ref
        )

    def to_query(self) -> dict[str, str]:
        q = {
            "rc_metric": self.metric,
            "rc_from": self.start.isoformat(),
            "rc_to": self.end.isoformat(),
            "rc_baseline": self.baseline,
        }
        if self.baseline == "seasonal":
            q["rc_weeks"] = str(self.weeks)
        if self.baseline == "custom" and self.ref_start and self.ref_end:
            q |= {
                "rc_base_from": self.ref_start.isoformat(),
                "rc_base_to": self.ref_end.isoformat(),
            }
        if self.dimensions != DEFAULT_DIMENSIONS:
            q["rc_dims"] = "|".join(self.dimensions)
        return q


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def parse_query(params: dict[str, str]) -> dict:
    """Widget values from ``rc_*`` query parameters; malformed values are ignored."""
    out: dict = {}
    if params.get("rc_metric") in METRICS:
        out["rc_metric"] = params["rc_metric"]
    start, end = _day(params.get("rc_from")), _day(params.get("rc_to"))
    if start and end:
        out["rc_window"] = (min(start, end), max(start, end))
    if params.get("rc_baseline") in BASELINES:
        out["rc_baseline"] = params["rc_baseline"]
    if str(params.get("rc_weeks", "")).isdigit():
        out["rc_weeks"] = min(max(int(params["rc_weeks"]), 2), 12)
    r0, r1 = _day(params.get("rc_base_from")), _day(params.get("rc_base_to"))
    if r0 and r1:
        out["rc_ref"] = (min(r0, r1), max(r0, r1))
    dims = [d for d in str(params.get("rc_dims", "")).split("|") if d in DIMENSION_CHOICES]
    if dims:
        out["rc_dims"] = dims
    return out


def seed_state(f: Filters) -> None:
    """Set the controls' session state before they are drawn (see the module docstring)."""
    state = st.session_state
    params = {k: st.query_params.get(k) for k in PARAMS if st.query_params.get(k)}
    token = tuple(sorted(params.items()))
    period = (f.start, f.end)
    from_link = bool(token) and state.get("_rc_token") != token
    if from_link:
        state["_rc_token"] = token
        state.update(state.get("_rc_saved", {}) | parse_query(params))
    elif "rc_metric" not in state:
        state.update(state.get("_rc_saved", {}))
    defaults = {
        "rc_metric": "volume",
        "rc_window": period,
        "rc_baseline": "previous",
        "rc_weeks": 4,
        "rc_dims": list(DEFAULT_DIMENSIONS),
    }
    for key, value in defaults.items():
        if key not in state:
            state[key] = value
    if "rc_ref" not in state:
        window = state["rc_window"]
        state["rc_ref"] = window if isinstance(window, tuple) and len(window) == 2 else period
    if not from_link and state.get("_rc_period") not in (None, period):
        state["rc_window"] = period  # the sidebar period changed: follow it
    state["_rc_period"] = period


def remember(req: Request) -> None:
    """Save the controls for this session and mirror them in the URL (a shareable link)."""
    st.session_state["_rc_saved"] = {
        "rc_metric": req.metric,
        "rc_window": (req.start, req.end),
        "rc_baseline": req.baseline,
        "rc_weeks": req.weeks,
        "rc_dims": list(req.dimensions),
        **({"rc_ref": (req.ref_start, req.ref_end)} if req.ref_start else {}),
    }
    wanted = req.to_query()
    for key in PARAMS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state["_rc_token"] = tuple(sorted(wanted.items()))


def link_params(metric: str, start: date, end: date, baseline: str = "previous") -> dict[str, str]:
    """Query parameters that open the Root cause page on an explanation, for other pages::

        st.page_link(view.PAGE, label="Explain", query_params=view.link_params(
            "sla_breach_rate", date(2025, 12, 20), date(2026, 1, 4)))

    (or ``st.switch_page(view.PAGE, query_params=...)``). The sidebar filters carry over.
    """
    return rootcause.query_for(metric, rootcause.resolve_windows(start, end, baseline))


def postmortem_page_exists() -> bool:
    return (Path(__file__).resolve().parent.parent / POSTMORTEM_PAGE).exists()


# --------------------------------------------------------------------------------------------
# Cached loaders: load_x(db_path, version, ...) -> analytics call
# --------------------------------------------------------------------------------------------


@st.cache_data(show_spinner="Explaining the change…", max_entries=64)
def load_explanation(path: str, ver: str, f: Filters, req: Request) -> Explanation:
    t = engine.cases_table(_connection(path))
    return rootcause.explain(t, f, req.metric, req.windows(), req.dimensions)


@st.cache_data(show_spinner=False, max_entries=64)
def load_events(path: str, ver: str, f: Filters, req: Request) -> pd.DataFrame:
    con = _connection(path)
    return rootcause.lined_up_events(
        con, engine.cases_table(con), load_explanation(path, ver, f, req)
    )


@st.cache_data(show_spinner=False, max_entries=256)
def load_next_dimensions(
    path: str, ver: str, f: Filters, req: Request, node: tuple
) -> pd.DataFrame:
    return rootcause.next_dimensions(load_explanation(path, ver, f, req), dict(node))


@st.cache_data(show_spinner=False, max_entries=256)
def load_children(path: str, ver: str, f: Filters, req: Request, node: tuple, dimension: str):
    return rootcause.tree_children(load_explanation(path, ver, f, req), dict(node), dimension)


@st.cache_data(show_spinner=False, max_entries=128)
def load_evidence(
    path: str, ver: str, f: Filters, req: Request, slice_items: tuple, limit: int = 20
):
    expl = load_explanation(path, ver, f, req)
    return rootcause.evidence(
        engine.cases_table(_connection(path)), expl, dict(slice_items), limit=limit
    )


@st.cache_data(show_spinner=False, max_entries=64)
def load_pain_points(
    path: str, ver: str, f: Filters, req: Request
) -> tuple[pd.DataFrame | None, str]:
    con = _connection(path)
    assignments, source = pain_point_assignments(con)
    if assignments is None:
        return None, ""
    expl = load_explanation(path, ver, f, req)
    return rootcause.pain_points(assignments, engine.cases_table(con), expl), source


def postmortem_seed(path: str, ver: str, f: Filters, req: Request) -> dict:
    """The JSON-safe explanation for a post-mortem, with evidence of every cause."""
    expl = load_explanation(path, ver, f, req)
    evidence = [
        load_evidence(path, ver, f, req, tuple(c.slice.items())) for c in expl.causes if c.slice
    ]
    pains, _source = load_pain_points(path, ver, f, req)
    return rootcause.to_postmortem(expl, load_events(path, ver, f, req), evidence, pains)


# --------------------------------------------------------------------------------------------
# Formatting, tables and figures
# --------------------------------------------------------------------------------------------


def fmt(value: float, expl: Explanation, delta: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    unit = expl.metric.unit
    if unit == "%":
        return f"{value * 100:+.1f} pts" if delta else f"{value:.1%}"
    if unit == "h":
        return f"{value:+,.1f} h" if delta else f"{value:,.1f} h"
    return f"{value:+,.0f}" if delta else f"{value:,.0f}"


def _arrow(before: float, after: float, text) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (before, after)):
        return "–"
    return f"{text(before)} → {text(after)}"


def causes_table(expl: Explanation) -> pd.DataFrame:
    """The causes as shown: rank, slice, share and size of its contribution, its profile."""
    rows = []
    profiles = expl.profiles.to_dict("records")
    for i, c in enumerate(expl.causes, start=1):
        row = {
            "rank": i,
            "cause": c.label,
            "share_of_change": c.share_of_change,
            "contribution": fmt(c.contribution, expl, delta=True),
            expl.metric.label: _arrow(c.before, c.after, lambda v: fmt(v, expl)),
        }
        if expl.metric.kind != "count":
            row["mix_effect"] = fmt(c.mix_effect, expl, delta=True)
            row["rate_effect" if expl.metric.kind == "rate" else "shift_effect"] = fmt(
                c.rate_effect, expl, delta=True
            )
        p = profiles[i - 1] if i <= len(profiles) else {}
        if p and expl.metric.kind != "count":
            row["cases"] = _arrow(p["cases_before"], p["cases_after"], lambda v: f"{v:,.0f}")
        if p and expl.metric.key != "sla_breach_rate":
            row["SLA breach rate"] = _arrow(p["breach_before"], p["breach_after"], "{:.0%}".format)
        if p and expl.metric.kind != "median":
            row["median resolution"] = _arrow(
                p["median_h_before"], p["median_h_after"], lambda v: f"{v:,.1f} h"
            )
        notes = []
        if "app_version" in c.refined:
            notes.append("narrowed to one app version (compared with the current version mix)")
        if any(d != "app_version" for d in c.refined):
            notes.append("a large one-dimension mover, narrowed where one value carried it")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)


def waterfall_figure(expl: Explanation) -> go.Figure:
    w = expl.waterfall
    measure = {"baseline": "absolute", "current": "total"}
    steps = pd.DataFrame(
        {
            "label": [_short(s) for s in w["step"]],
            "value": w["value"],
            "measure": [measure.get(k, "relative") for k in w["kind"]],
            "text": [
                fmt(v, expl, delta=k not in measure)
                for v, k in zip(w["value"], w["kind"], strict=True)
            ],
        }
    )
    hover = []
    for row in w.itertuples():
        text = f"{row.step}: {fmt(row.value, expl, delta=row.kind not in measure)}"
        if (
            row.kind in ("cause", "other")
            and expl.metric.kind != "count"
            and not math.isnan(row.mix_effect)
        ):
            text += (
                f"<br>mix {fmt(row.mix_effect, expl, True)}, "
                f"{'rate' if expl.metric.kind == 'rate' else 'shift'} {fmt(row.rate_effect, expl, True)}"
            )
        hover.append(text)
    steps["hover"] = hover
    tick = ".0%" if expl.metric.unit == "%" else None
    return charts.waterfall_chart(steps, y_title=expl.metric.label, tickformat=tick)


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def children_figure(children: pd.DataFrame, expl: Explanation, dimension: str) -> go.Figure:
    df = children.head(12).iloc[::-1]
    colours = ["#D63031" if c > 0 else "#00A36C" for c in df["contribution"]]
    hover = [
        f"{v}: {fmt(b, expl)} → {fmt(a, expl)}<br>contribution {fmt(c, expl, True)}"
        for v, b, a, c in zip(
            df["value"], df["before"], df["after"], df["contribution"], strict=True
        )
    ]
    fig = go.Figure(
        go.Bar(
            x=df["contribution"],
            y=[_short(str(v), 30) for v in df["value"]],
            orientation="h",
            marker_color=colours,
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.update_layout(
        height=max(180, 26 * len(df) + 60),
        margin={"t": 10, "b": 10},
        xaxis={
            "title": f"Contribution to the change of {expl.metric.label.lower()}",
            "tickformat": ".1%" if expl.metric.unit == "%" else None,
        },
        yaxis_title=DIMENSION_CHOICES.get(dimension, dimension),
    )
    return fig


def series_figure(expl: Explanation, events: pd.DataFrame) -> go.Figure:
    s = expl.series
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=s["day"], y=s["value"], mode="lines+markers", name="Daily", line={"color": "#0984E3"}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=s["day"],
            y=s["expected"],
            mode="lines",
            name="Baseline",
            line={"color": "#636E72", "dash": "dash"},
        )
    )
    start, end = expl.windows.current
    fig.add_vrect(
        x0=pd.Timestamp(start),
        x1=pd.Timestamp(end) + pd.Timedelta(days=1),
        fillcolor="#FDCB6E",
        opacity=0.15,
        line_width=0,
    )
    if expl.onset:
        fig.add_vline(x=pd.Timestamp(expl.onset), line_color="#D63031", line_width=2)
    shown = events[events["matches"] != ""].head(6) if not events.empty else events
    if not shown.empty:
        marks = pd.DataFrame(
            {
                "kind": shown["kind"],
                "title": shown["title"],
                "starts_at": pd.to_datetime(shown["date"]),
                "ends_at": pd.NaT,
            }
        )
        charts.add_events(fig, marks)
    fig.update_layout(
        height=320,
        margin={"t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        yaxis={
            "title": expl.metric.label,
            "tickformat": ".0%" if expl.metric.unit == "%" else None,
        },
    )
    return fig


def node_label(node: dict) -> str:
    return (
        " › ".join(f"{DIMENSION_CHOICES.get(k, k)} = {v}" for k, v in node.items()) or "All cases"
    )


def node_key(node: dict) -> str:
    return "|".join(f"{k}={v}" for k, v in node.items()) or "root"
