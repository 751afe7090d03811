"""Root cause: what drove a change - which slices, which pain points, which events.

Link here with ``?rc_metric=sla_breach_rate&rc_from=2025-12-20&rc_to=2026-01-04&rc_baseline=previous``
(see ``analytics.rootcause.query_for``).
"""

from __future__ import annotations

import json

import streamlit as st

from analytics.errors import EscalationInsightsError
from analytics.rootcause import BASELINES, METRICS, headline, scope_text
from ui import rootcause_view as view
from ui.audit_hooks import log_export
from ui.page import require_data, setup, show_error
from ui.render import downloads, empty_state, safe_table
from ui.sidebar import set_filters

ctx = setup("Root cause", ":material/account_tree:")
require_data(ctx)
f, path, ver = ctx.filters, ctx.db_path, ctx.version
view.seed_state(f)

# --- What to explain ------------------------------------------------------------------------
c1, c2, c3 = st.columns([2, 2, 2])
metric = c1.selectbox(
    "Metric",
    list(METRICS),
    format_func=lambda k: METRICS[k].label,
    key="rc_metric",
    help=METRICS[st.session_state["rc_metric"]].help,
)
window = c2.date_input("Window (first – last day)", key="rc_window", format="YYYY-MM-DD")
baseline = c3.selectbox(
    "Compare with", list(BASELINES), format_func=BASELINES.get, key="rc_baseline"
)
ref, weeks = None, int(st.session_state.get("rc_weeks", 4))
if baseline == "custom":
    ref = st.date_input("Baseline window (first – last day)", key="rc_ref", format="YYYY-MM-DD")
elif baseline == "seasonal":
    weeks = st.slider(
        "Earlier periods averaged",
        2,
        12,
        key="rc_weeks",
        help="The same weekdays, shifted back by whole weeks.",
    )
with st.expander("Dimensions to explain by"):
    dims = st.multiselect(
        "Dimensions",
        list(view.DIMENSION_CHOICES),
        format_func=view.DIMENSION_CHOICES.get,
        key="rc_dims",
        help="Causes combine up to three of these. App versions are compared "
        "with the current version mix (users upgrade all the time).",
    )
complete = isinstance(window, tuple | list) and len(window) == 2
if baseline == "custom":
    complete = complete and isinstance(ref, tuple | list) and len(ref) == 2
if not complete or not dims:
    st.caption("Pick a first and a last day for each window, and at least one dimension.")
    st.stop()
req = view.Request(
    metric=metric,
    start=window[0],
    end=window[1],
    baseline=baseline,
    weeks=weeks,
    ref_start=ref[0] if ref else None,
    ref_end=ref[1] if ref else None,
    dimensions=tuple(dims),
)
view.remember(req)
scope = scope_text(f)
st.caption(
    "The windows here replace the sidebar period; the other sidebar filters apply"
    + (f" ({scope})." if scope else ".")
)

try:
    expl = view.load_explanation(path, ver, f, req)
    events = view.load_events(path, ver, f, req)
except EscalationInsightsError as exc:
    show_error(exc)
    st.stop()

# --- Headline -------------------------------------------------------------------------------
st.success(headline(expl, events), icon=":material/lightbulb:")
with st.container(horizontal=True):
    st.metric(
        "Baseline",
        view.fmt(expl.before, expl),
        border=True,
        help=f"{expl.windows.describe_baseline()}".capitalize(),
    )
    st.metric(
        "Now",
        view.fmt(expl.after, expl),
        view.fmt(expl.change, expl, delta=True),
        delta_color="inverse",
        border=True,
        help=expl.windows.describe_current(),
    )
    st.metric(
        "Change began",
        f"{expl.onset:%d %b %Y}" if expl.onset else "–",
        border=True,
        help="The day the excess over the baseline started to build up.",
    )
for warning in expl.warnings:
    st.caption(f":material/info: {warning}")

# --- Contributions --------------------------------------------------------------------------
st.subheader("What drove it")
st.plotly_chart(view.waterfall_figure(expl), key="rc_waterfall")
if expl.causes:
    table = view.causes_table(expl)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "share_of_change": st.column_config.NumberColumn("Share of change", format="percent"),
            "cause": st.column_config.TextColumn("Cause", width="large"),
        },
    )
    downloads(table, "root_causes", key="dl_rc_causes", user=ctx.user)
else:
    empty_state(
        "No slice stands out beyond normal variation: the change is spread thinly (or "
        "there is none). Use the decomposition tree to look anyway.",
        icon=":material/blur_on:",
    )
if expl.metric.kind == "rate":
    st.caption(
        "For a rate, each contribution is a **mix effect** (the slice's share of cases "
        "changed) plus a **rate effect** (its own rate changed); they add up to the change."
    )

# --- Decomposition tree ---------------------------------------------------------------------
st.subheader("Decomposition tree")
st.caption(
    "Split the change by one dimension at a time; pick a child to drill into it. "
    "Contributions are to the total change and add up at every level."
)
node: dict = {}
for level in range(4):
    remaining = [d for d in req.dimensions if d not in node]
    if not remaining:
        break
    key = view.node_key(node)
    ranking = view.load_next_dimensions(path, ver, f, req, tuple(node.items()))
    auto = ranking["dimension"].iloc[0]
    choice = st.selectbox(
        f"Split {view.node_label(node)} by",
        ["auto", *remaining],
        key=f"rc_tree_dim_{level}_{key}",
        format_func=lambda d, a=auto: (
            f"Most explanatory ({view.DIMENSION_CHOICES.get(a, a)})"
            if d == "auto"
            else view.DIMENSION_CHOICES.get(d, d)
        ),
    )
    dim = auto if choice == "auto" else choice
    children = view.load_children(path, ver, f, req, tuple(node.items()), dim)
    if children.empty:
        st.caption("No cases in this node.")
        break
    st.plotly_chart(view.children_figure(children, expl, dim), key=f"rc_tree_chart_{level}_{key}")
    pick = st.selectbox(
        f"Drill into a {view.DIMENSION_CHOICES.get(dim, dim).lower()}",
        ["—", *children["value"].head(15).astype(str)],
        key=f"rc_tree_pick_{level}_{key}",
    )
    if pick == "—":
        break
    node[dim] = pick
st.session_state["_rc_node"] = dict(node)

# --- Events ---------------------------------------------------------------------------------
st.subheader("When it started and what lined up")
st.plotly_chart(view.series_figure(expl, events), key="rc_series")
where = view.node_label(expl.series_slice) if expl.series_slice else "the whole scope"
st.caption(
    f"Daily {expl.metric.label.lower()} in {where}; the shaded band is the window, the "
    "red line the onset, dotted lines the events that match a cause."
)
if events.empty:
    st.caption(
        "No recorded events, new app versions, new linked tickets or holidays around the window."
    )
else:
    st.dataframe(
        events,
        hide_index=True,
        column_config={
            "days_from_onset": st.column_config.NumberColumn("Days from onset"),
            "matches": st.column_config.TextColumn("Matches cause"),
            "title": st.column_config.TextColumn("Event", width="large"),
        },
    )
st.page_link(
    "pages/8_Data.py",
    label="Record an event (policy change, incident) on the Data page",
    icon=":material/add:",
)

# --- Pain points ----------------------------------------------------------------------------
st.subheader("Pain points that grew")
try:
    pains, source = view.load_pain_points(path, ver, f, req)
except EscalationInsightsError as exc:  # e.g. assignments without the expected columns
    pains, source = None, ""
    show_error(exc)
if pains is None:
    empty_state("Pain points appear here once the pain-point model is fitted (Pain points page).")
elif pains.empty:
    st.caption("No pain-point cases in these windows.")
else:
    if source == "demo ground truth topics":
        st.caption(
            "**(demo ground truth topics)** The pain-point model is not fitted yet: the "
            "demo's planted topics stand in for its clusters."
        )
    what = "cases" if expl.metric.kind == "count" else expl.metric.numerator
    st.caption(f"Counted: {what} per pain point, baseline (per window) vs now.")
    st.dataframe(
        pains,
        hide_index=True,
        column_config={
            "relative_change": st.column_config.NumberColumn("Change %", format="percent"),
            "z": st.column_config.NumberColumn("z", format="%.1f"),
            "examples": st.column_config.ListColumn("Representative cases"),
        },
    )

# --- Evidence -------------------------------------------------------------------------------
st.subheader("Evidence cases")
targets = {c.label: c.slice for c in expl.causes if c.slice}
here = st.session_state.get("_rc_node") or {}
if here:
    targets.setdefault(f"Tree node: {view.node_label(here)}", here)
if not targets:
    st.caption("No cause to show cases for; drill into the tree to see a node's cases.")
else:
    label = st.selectbox("Cases behind", list(targets), key="rc_evidence_for")
    ev = view.load_evidence(path, ver, f, req, tuple(targets[label].items()))
    only = f" {ev.restricted_to}" if ev.restricted_to else " cases"
    st.caption(
        f"{len(ev.cases):,} of **{ev.total:,}**{only} in {expl.windows.describe_current()}. "
        "Personal data is redacted; sensitive cases are hidden."
    )
    st.dataframe(safe_table(ev.cases), hide_index=True, key="rc_evidence_table")
    if st.button(
        "Open these cases in the Cases page", icon=":material/open_in_new:", key="rc_open_cases"
    ):
        set_filters(ev.filters)
        st.switch_page("pages/2_Cases.py")

# --- Post-mortem ----------------------------------------------------------------------------
st.subheader("Send to a post-mortem")
seed = view.postmortem_seed(path, ver, f, req)
c1, c2 = st.columns([1, 1])
if c1.button(
    "Send to a post-mortem", icon=":material/assignment:", type="primary", key="rc_postmortem"
):
    st.session_state["postmortem_seed"] = seed
    if view.postmortem_page_exists():
        st.switch_page(view.POSTMORTEM_PAGE)
    st.success(
        "Explanation saved for the post-mortem (headline, causes, events, evidence case "
        "ids). It opens in the Post-mortems page once that page is installed."
    )
c2.download_button(
    "Download the explanation (JSON)",
    json.dumps(seed, indent=2),
    "root_cause.json",
    "application/json",
    key="rc_json",
    icon=":material/data_object:",
    on_click=log_export,
    args=(ctx.user, "root_cause_explanation", "json", len(seed["evidence_case_ids"])),
)
