"""Escalation Insights: home page (what is loaded, headline numbers, where to go next).

Run with ``streamlit run app.py``. Pages live in ``pages/`` (Streamlit's automatic
discovery); every page calls ``ui.page.setup`` for the shared sidebar filters.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from analytics.config import get_settings
from ui import resources
from ui.page import NAVIGATION, ROOT, setup, show_error
from ui.render import kpi_tiles

ctx = setup("Escalation Insights", ":material/explore:")
DEMO_ROWS = get_settings().demo_rows

if not ctx.has_data:
    st.subheader("Welcome")
    st.write(
        "Escalation Insights shows what is happening in your escalation queues, what drove a change, "
        "which user pain points are behind it, and where your SOPs are unclear."
    )
    left, right = st.columns(2, border=True)
    with left:
        st.markdown("#### :material/science: Try it with demo data")
        st.write(
            f"About {DEMO_ROWS:,} synthetic cases over 18 months, with planted events "
            "(a viral challenge, an impersonation wave, a holiday SLA crunch, a release bug...). "
            "Clearly marked as demo data."
        )
        if st.button(
            "Load the demo history",
            type="primary",
            disabled=not ctx.user.can("import"),
            key="load_demo",
        ):
            from analytics.access import require
            from analytics.demo import load_demo

            bar = st.progress(0.0, text="Starting…")
            try:
                require(ctx.user, "import")
                load_demo(
                    resources.connection(),
                    DEMO_ROWS,
                    user=ctx.user.name,
                    progress=lambda stage, f: bar.progress(min(f, 1.0), text=stage),
                )
            except Exception as exc:  # shown to the user; the import rolled back
                show_error(exc)
            else:
                st.cache_data.clear()
                st.rerun()
    with right:
        st.markdown("#### :material/upload: Import your own export")
        st.write(
            "CSV, Excel, JSON, JSON Lines or Parquet from Zendesk, Salesforce, Jira Service "
            "Management, Freshdesk, the EU DSA Transparency Database, or any tool."
        )
        st.page_link("pages/8_Data.py", label="Go to Data", icon=":material/arrow_forward:")
    st.stop()

info = ctx.info
f = ctx.filters
age = datetime.now(UTC).replace(tzinfo=None) - info.last_import_at if info.last_import_at else None
fresh = (
    "" if age is None else (f"{age.days} days ago" if age.days else f"{age.seconds // 3600} h ago")
)
st.caption(
    f"**{info.cases:,} cases** from {info.first_case:%d %b %Y} to {info.last_case:%d %b %Y} · "
    f"last import {info.last_import_at:%d %b %Y %H:%M} UTC ({fresh})"
    + (f" · {info.quarantined:,} rows in quarantine" if info.quarantined else "")
)

st.subheader(f"Headline: {f.describe()}")
kpis = resources.load_kpis(ctx.db_path, ctx.version, f)
kpi_tiles(kpis, ["volume", "backlog", "sla_breach_rate", "resolution_median"])
st.caption(
    f"Change against the previous {f.days} days. Change the period and filters in the sidebar."
)

st.subheader("Where to next")
DESTINATIONS = {
    "pages/1_Overview.py": "Volumes, backlog, SLA, handling times, top movers, DSA figures.",
    "pages/2_Cases.py": "Search, sort and download cases; open one case.",
    "pages/3_Pain_points.py": "What users escalate about, clustered from the case text.",
    "pages/4_Trending_risks.py": "Trends caught early, flagged to the right team, followed up.",
    "pages/5_Root_cause.py": "What drove a change: slices, pain points, events.",
    "pages/6_Post-mortems.py": "Reviews of major events, action items, proof that fixes worked.",
    "pages/7_SOP_grey_areas.py": "Where similar cases get different outcomes.",
    "pages/8_Data.py": "Import exports, mappings, quarantine, history, events.",
}
links = [
    (script, label, icon)
    for script, label, icon in NAVIGATION
    if script in DESTINATIONS and (ROOT / script).exists()
]
with st.grid(3, gap="small"):
    for script, label, icon in links:
        with st.container(border=True, height="stretch"):
            st.page_link(script, label=label, icon=icon)
            st.caption(DESTINATIONS[script])
