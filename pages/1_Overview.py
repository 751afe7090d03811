"""Overview: KPI tiles, volume trends with events, load patterns, top movers, regulatory view."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.filters import DIMENSION_FILTERS
from ui import charts, resources, rootcause_view
from ui.page import require_data, setup
from ui.render import downloads, empty_state, kpi_tiles, safe_table
from ui.sidebar import set_filters

ctx = setup("Overview", ":material/monitoring:")
require_data(ctx)
f, path, ver = ctx.filters, ctx.db_path, ctx.version

kpis = resources.load_kpis(path, ver, f)
if kpis.set_index("key").loc["volume", "value"] == 0:
    empty_state(
        "No cases match these filters. Widen the period or clear some filters in the sidebar."
    )
    st.stop()
st.caption(f"{f.describe()} · compared with the previous {f.days} days")
kpi_tiles(kpis)
with st.container(horizontal=True):
    st.caption("Explain a change:")
    for metric, label in (
        ("volume", "Cases"),
        ("sla_breach_rate", "SLA breaches"),
        ("resolution_median", "Resolution time"),
        ("overturn_rate", "Overturns"),
        ("reopen_rate", "Reopens"),
    ):
        st.page_link(
            rootcause_view.PAGE,
            label=label,
            icon=":material/account_tree:",
            query_params=rootcause_view.link_params(metric, f.start, f.end),
        )

# --- Volume trend ------------------------------------------------------------------------
st.subheader("Volume")
dims = {
    "": "No split",
    **{name: label for name, label in DIMENSION_FILTERS},
    "app_version": "App version",
}
c1, c2 = st.columns([3, 1])
by = c1.selectbox("Split by", list(dims), format_func=dims.get, key="ov_split", index=1)
freq = (
    c2.segmented_control(
        "Granularity",
        ["D", "W"],
        format_func={"D": "Daily", "W": "Weekly"}.get,
        default="D" if f.days <= 120 else "W",
        key="ov_freq",
    )
    or "D"
)
trend = resources.load_trend(path, ver, f, by or None, freq)
events = resources.load_events(path, ver, f.start, f.end)
event = st.plotly_chart(
    charts.volume_chart(trend, events, freq, bool(by)),
    key="ov_trend",
    on_select="rerun",
    selection_mode="points",
)
point = charts.selected_point(event)
if point:
    day = str(point["x"])[:10]
    drill = {"created_week" if freq == "W" else "created_day": day}
    if by and point["group"] not in (None, "Other", "All cases"):
        drill[by] = point["group"]
    drilled = f.with_drill(**drill)
    with st.container(border=True):
        rows, total = resources.load_case_list(path, ver, drilled, "newest", 200)
        st.markdown(f"**{total:,} cases** · {drilled.describe()}")
        st.dataframe(safe_table(rows), hide_index=True, height=260)
        c1, c2 = st.columns(2)
        if c1.button(
            "Open these cases in the Cases page", icon=":material/open_in_new:", key="ov_open"
        ):
            set_filters(drilled)
            st.switch_page("pages/2_Cases.py")
        if c2.button(
            "Start a post-mortem from this selection", icon=":material/assignment:", key="ov_pm"
        ):
            last = pd.Timestamp(day) + pd.Timedelta(days=6 if freq == "W" else 0)
            st.session_state["postmortem_seed"] = {
                "source": "chart",
                "title": f"Cases on {drilled.describe()}",
                "window": [day, f"{last:%Y-%m-%d}"],
                "filters": drilled.to_query(),
            }
            st.switch_page("pages/6_Post-mortems.py")
else:
    st.caption(
        "Click a bar to see the cases behind it. Dotted lines mark releases, fixes and major events."
    )
with st.expander("Events on this chart"):
    if events.empty:
        st.caption("No recorded events in this period.")
    else:
        st.dataframe(events[["starts_at", "ends_at", "kind", "title", "source"]], hide_index=True)
    st.page_link("pages/8_Data.py", label="Record an event on the Data page", icon=":material/add:")

# --- Load patterns -----------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    st.subheader("When cases arrive")
    st.plotly_chart(charts.heatmap_chart(resources.load_heatmap(path, ver, f)), key="ov_heat")
with right:
    st.subheader("Weekends and holidays")
    load = resources.load_day_types(path, ver, f)
    st.plotly_chart(charts.day_type_chart(load), key="ov_daytype")
    st.dataframe(
        load,
        hide_index=True,
        column_config={
            "sla_breach_rate": st.column_config.NumberColumn("SLA breach", format="percent"),
            "cases_per_day": st.column_config.NumberColumn("Cases/day", format="%.1f"),
            "resolution_median_h": st.column_config.NumberColumn("Resolution (h)", format="%.1f"),
        },
    )

# --- Top movers ---------------------------------------------------------------------------
st.subheader("Top movers")
mover_dims = {
    "category": "Category",
    "policy": "Policy",
    "queue": "Queue",
    "region": "Region",
    "country": "Country",
    "channel": "Channel",
    "product_surface": "Product surface",
    "app_version": "App version",
}
dim = st.selectbox("Dimension", list(mover_dims), format_func=mover_dims.get, key="ov_mover_dim")
movers = resources.load_movers(path, ver, f, dim)
if movers.empty:
    st.caption("Not enough cases to compare.")
else:
    st.plotly_chart(charts.movers_chart(movers, dim), key="ov_movers")
    downloads(movers, f"top_movers_{dim}", key="dl_movers", user=ctx.user)

# --- Regulatory -----------------------------------------------------------------------------
st.subheader("Regulatory (DSA) view")
reg = resources.load_regulatory(path, ver, f)
if reg.notices == 0:
    st.caption("No cases in the regulatory queues for these filters.")
else:
    with st.container(horizontal=True):
        st.metric("Notices", f"{reg.notices:,}", border=True)
        st.metric(
            "Median time to action",
            "–" if reg.median_hours_to_action is None else f"{reg.median_hours_to_action:.1f} h",
            border=True,
        )
        st.metric(
            "SLA breach rate",
            "–" if reg.sla_breach_rate is None else f"{reg.sla_breach_rate:.1%}",
            border=True,
        )
        st.metric(
            "Overturned on complaint",
            f"{reg.overturned_on_complaint:,} of {reg.decisions_appealed:,}",
            border=True,
        )
    a, b, c = st.columns(3)
    a.plotly_chart(
        charts.share_bar(reg.by_type, "category", "notices", "Notices by type"), key="reg_type"
    )
    b.plotly_chart(
        charts.share_bar(reg.by_source, "channel", "notices", "Notices by source"), key="reg_src"
    )
    c.plotly_chart(
        charts.share_bar(reg.by_outcome, "outcome", "notices", "Decisions"), key="reg_out"
    )
