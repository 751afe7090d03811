"""Cases: the list behind every chart (search, sort, download) and one case in full."""

from __future__ import annotations

import streamlit as st

from analytics import cases as case_api
from analytics.access import require
from analytics.privacy import redact_text
from ui import resources
from ui.audit_hooks import log_reveal
from ui.page import require_data, setup, show_error
from ui.render import blurred, downloads, empty_state, safe_table

ctx = setup("Cases", ":material/list_alt:")
require_data(ctx)
f = ctx.filters

c1, c2 = st.columns([2, 1])
sort = (
    c1.segmented_control(
        "Sort",
        ["newest", "oldest", "priority"],
        default="newest",
        key="cases_sort",
        format_func=str.capitalize,
    )
    or "newest"
)
limit = c2.selectbox(
    "Show", [100, 500, 2000], index=1, key="cases_limit", format_func=lambda n: f"{n:,} rows"
)
rows, total = resources.load_case_list(ctx.db_path, ctx.version, f, sort, limit)
if total == 0:
    empty_state(
        "No cases match these filters. Clear the search or widen the period in the sidebar."
    )
    st.stop()
st.caption(f"Showing {len(rows):,} of **{total:,}** cases · {f.describe()}")
shown = safe_table(rows)
event = st.dataframe(
    shown,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="cases_table",
    column_config={
        "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
        "description": st.column_config.TextColumn(width="large"),
    },
)
downloads(shown, "cases", key="dl_cases", user=ctx.user)
st.caption(
    "Personal data (emails, phone numbers, handles, links, account ids) is redacted; sensitive "
    "cases are hidden in lists. Select a row to open the case."
)

selected = event.selection.rows if event and event.selection else []
case_id = rows.iloc[selected[0]]["case_id"] if selected else st.query_params.get("case")
if not case_id:
    st.stop()
st.query_params["case"] = case_id

record = case_api.case_detail(resources.table(), case_id)
if record is None:
    st.warning(f"Case {case_id} is not in the store.")
    st.stop()

st.divider()
st.subheader(f"Case {case_id}")
reveal_key = f"reveal_{case_id}"
revealed = st.session_state.get(reveal_key, False)
if record.get("sensitive"):
    st.warning(
        "This case is marked **sensitive**: its text may be distressing. It stays blurred until you "
        "choose to reveal it.",
        icon=":material/visibility_off:",
    )
cols = st.columns(4)
facts = [
    ("Created (UTC)", record.get("created_at")),
    ("Status", record.get("status")),
    ("Priority", record.get("priority")),
    ("Queue", record.get("queue")),
    ("Region / country", f"{record.get('region') or '–'} / {record.get('country') or '–'}"),
    ("Channel", record.get("channel")),
    ("Category", record.get("category")),
    ("Policy", record.get("policy")),
    ("Product surface", record.get("product_surface")),
    ("App version", record.get("app_version")),
    ("Outcome", record.get("outcome")),
    ("Appeal", record.get("appeal_outcome")),
    ("SLA due (UTC)", record.get("sla_due_at")),
    ("SLA breached", record.get("sla_breached")),
    ("Resolved (UTC)", record.get("resolved_at")),
    ("Linked ticket", record.get("linked_ticket")),
    ("Event", record.get("event_id")),
    ("Agent / team", f"{record.get('agent_id') or '–'} / {record.get('team') or '–'}"),
]
for i, (label, value) in enumerate(facts):
    cols[i % 4].markdown(f"**{label}**  \n{'–' if value in (None, '') else value}")

for field in ("subject", "description", "agent_notes", "resolution_notes"):
    text = record.get(field)
    st.markdown(f"**{field.replace('_', ' ').capitalize()}**")
    if revealed:
        blurred(text, reveal=True)
    elif record.get("sensitive") and not ctx.user.can("reveal"):
        st.caption("[sensitive content hidden: your role cannot reveal it]")
    else:
        blurred(redact_text(text), reveal=not record.get("sensitive"))

if ctx.user.can("reveal"):
    if not revealed and st.button(
        "Reveal personal data and sensitive text",
        icon=":material/visibility:",
        key="reveal_btn",
        help="Your reveal is recorded in the audit log.",
    ):
        try:
            require(ctx.user, "reveal")
            log_reveal(ctx.user, case_id)
            st.session_state[reveal_key] = True
            st.rerun()
        except Exception as exc:
            show_error(exc)
    elif revealed and st.button("Hide again", key="hide_btn"):
        st.session_state[reveal_key] = False
        st.rerun()
else:
    st.caption(f"Your role ({ctx.user.role}) sees redacted text only.")

if record.get("extra"):
    with st.expander("Other fields from the export"):
        st.json(
            record["extra"]
            if revealed
            else {k: redact_text(str(v)) for k, v in record["extra"].items()}
        )
