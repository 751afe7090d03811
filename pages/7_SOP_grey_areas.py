"""SOP grey areas: where the rules are unclear, ranked, with the cases that prove it."""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import sop, sop_workflow
from analytics.access import require
from ui import resources, sop_view
from ui.audit_hooks import log_export, log_reveal
from ui.page import require_data, setup, show_error
from ui.render import empty_state

ctx = setup("SOP grey areas", ":material/rule:")
require_data(ctx)
f, path, ver, user = ctx.filters, ctx.db_path, ctx.version, ctx.user
con = resources.connection()
can_edit = user.can("edit_findings")

st.caption(
    "Policies whose cases show that agents cannot apply the SOP consistently: similar cases "
    "decided differently, overturns on appeal or QA, hesitant agent notes, reopens, long "
    f"handling, filing under 'other'. Scope: {f.describe()}."
)
flash_where, flash = st.session_state.pop("sop_flash", (None, None))
if flash and flash_where == "top":
    st.success(flash, icon=":material/check_circle:")

assignments = sop_view.load_assignments(path, ver)
c1, c2 = st.columns(2)
split = c1.toggle(
    "Split by pain point",
    key="sop_split",
    disabled=assignments is None,
    help="Rank policy x pain point combinations."
    if assignments is not None
    else "Available once pain points have been computed (Pain points page).",
)
only_flagged = c2.toggle("Only flagged", key="sop_only_flagged")
level_pp = bool(split and assignments is not None)

try:
    report = sop_view.load_report(path, ver, f, level_pp)
except Exception as exc:  # shown to the user; nothing was changed
    show_error(exc)
    st.stop()

level = sop_view.level_findings(report, level_pp)
if level.empty:
    empty_state(
        "No cases match these filters. Widen the period or clear some filters in the sidebar."
    )
    st.stop()
p = report.params
if not level["ranked"].any():
    empty_state(
        f"No policy has {p.min_cases} or more cases in this scope: too few to tell a grey area from "
        "noise. Choose a longer period in the sidebar (e.g. Last 12 months) or clear some filters."
    )
    st.stop()

states = sop_view.load_states(path)
flag_rule = (
    f"Flagged = at least {p.min_cases} cases, score ≥ {p.flag_score:g}, and at least one signal above "
    "the other policies even at the low end of its 95% confidence interval."
)
with st.container(horizontal=True):
    st.metric("Flagged grey areas", int(level["flagged"].sum()), border=True, help=flag_rule)
    st.metric(
        "Compared",
        f"{int(level['ranked'].sum())} {'combinations' if level_pp else 'policies'}",
        border=True,
        help=f"With at least {p.min_cases} cases; smaller ones are listed but not ranked.",
    )
    st.metric("Cases analysed", f"{int(level['cases'].sum()):,}", border=True)
    open_count = (
        0 if states.empty else int((~states["status"].isin(["verified", "dismissed"])).sum())
    )
    st.metric("Open in the workflow", open_count, border=True)

# --- Ranked findings ---------------------------------------------------------------------------
st.subheader("Ranked findings")
table = sop_view.findings_display(report, states, level_pp=level_pp, only_flagged=only_flagged)
if table.empty:
    st.info(
        "No grey area is flagged in this scope. Switch off **Only flagged** to see every policy's "
        "score, or widen the period.",
        icon=":material/task_alt:",
    )
else:
    st.dataframe(
        table, hide_index=True, column_config=sop_view.findings_column_config(), key="sop_table"
    )
st.caption(
    flag_rule + " Score = weighted sum of each signal's shrunken excess over the typical policy."
)
if st.button(
    "Record flagged findings for the policy team",
    icon=":material/playlist_add:",
    key="sop_record",
    disabled=not can_edit or report.flagged.empty,
    help="Adds new flagged findings to the workflow and refreshes the scores of recorded ones."
    if can_edit
    else f"Your role ({user.role}) cannot change SOP findings.",
):
    try:
        res = sop_workflow.record_findings(con, report, user)
        st.session_state["sop_flash"] = (
            "top",
            f"{res['inserted']} new findings recorded, {res['updated']} updated.",
        )
        st.rerun()
    except Exception as exc:
        show_error(exc)

st.subheader("Where the signals are")
st.plotly_chart(sop_view.heatmap_figure(report, level_pp=level_pp), key="sop_heatmap")
st.caption(
    "Colour: contribution to the score (0 = not above the typical policy). Text: the signal's value."
)

# --- One finding -----------------------------------------------------------------------------
st.subheader("Finding")
options, labels = sop_view.finding_options(level)
pick = st.selectbox(
    "Finding",
    range(len(options)),
    format_func=labels.__getitem__,
    key="sop_pick",
    help="⚑ = flagged. Ranked findings first, then policies with too few cases.",
)
row = options.iloc[pick]
policy, pain_point = row["policy"], row["pain_point"]
finding = sop_workflow.find_finding(con, policy, pain_point)

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        f"**{sop.finding_key(policy, pain_point)}** · score **{row['score']:.1f}** · "
        f"{int(row['cases']):,} cases · {'flagged' if row['flagged'] else 'not flagged'}"
    )
    st.caption(row["summary"][:1].upper() + row["summary"][1:] + ".")
    st.dataframe(
        sop_view.signals_display(report, policy, pain_point),
        hide_index=True,
        column_config={
            "Contribution": st.column_config.ProgressColumn(
                "Contribution", format="%.2f", min_value=0, max_value=p.cap * 1.5
            ),
            "Based on": st.column_config.NumberColumn(
                "Based on",
                help="Observations behind the value: cases, reviewed decisions, or (for similar "
                "cases) half the cases with similar cases, since each differing pair is seen twice.",
            ),
        },
    )
    st.plotly_chart(
        sop_view.trend_figure(
            report, policy, pain_point, finding.sop_updated_on if finding else None
        ),
        key="sop_trend",
    )
    phrases = sop_view.phrases_text(report, policy, pain_point)
    if phrases:
        st.caption(f"Hesitant phrases found in agent notes (cases): {phrases}")

with right, st.container(border=True):
    st.markdown("**Workflow**")
    if flash and flash_where == "workflow":
        st.success(flash, icon=":material/check_circle:")
    if finding is None:
        st.caption("Not recorded yet. Record it to send it to the policy team.")
        if st.button("Record this finding", key="sop_record_one", disabled=not can_edit):
            try:
                sop_workflow.record_findings(con, report, user, keys=[(policy, pain_point)])
                st.session_state["sop_flash"] = (
                    "workflow",
                    f"Recorded {sop.finding_key(policy, pain_point)}.",
                )
                st.rerun()
            except Exception as exc:
                show_error(exc)
    else:
        st.markdown(f"Status: **{finding.status_label}**")
        if finding.sop_updated_on:
            st.caption(f"SOP updated on {finding.sop_updated_on:%d %b %Y}: {finding.sop_link}")
        check = None
        if finding.status in ("sop_updated", "verified") and finding.sop_updated_on:
            check = sop_view.load_verification(
                path, ver, policy, pain_point, finding.sop_updated_on
            )
            box = {"improved": st.success, "worse": st.error}.get(check.status, st.info)
            box(check.message)
            st.dataframe(
                check.table()[
                    ["label", "before", "after", "n_before", "n_after", "p_value", "verdict"]
                ],
                hide_index=True,
            )
        if not can_edit:
            st.caption(f"Your role ({user.role}) cannot change SOP findings.")
        note = st.text_area(
            "Note (optional)", key=f"sop_note_{finding.finding_id}", disabled=not can_edit
        )
        day = link = None
        if "sop_updated" in finding.next_statuses:
            day = st.date_input(
                "SOP updated on",
                value=date.today(),
                max_value=date.today(),
                key="sop_day",
                disabled=not can_edit,
            )
            link = st.text_input(
                "Link to the SOP section",
                placeholder="https://…",
                key="sop_link",
                disabled=not can_edit,
            )
        for nxt in finding.next_statuses:
            not_shown = nxt == "verified" and (check is None or check.status != "improved")
            if st.button(
                sop_view.action_label(finding.status, nxt),
                key=f"sop_do_{nxt}",
                disabled=not can_edit or not_shown,
                type="primary"
                if nxt in ("sent_to_policy", "sop_updated", "verified")
                else "secondary",
                help="Possible once the before/after check shows an improvement."
                if not_shown
                else None,
            ):
                try:
                    sop_workflow.transition(
                        con,
                        finding.finding_id,
                        nxt,
                        user,
                        note=note or "",
                        sop_updated_on=day,
                        sop_link=link,
                        verification=check.as_dict() if check is not None else None,
                        expected_version=finding.version,
                    )
                    st.session_state["sop_flash"] = (
                        "workflow",
                        f"{sop.finding_key(policy, pain_point)}: "
                        f"{sop_workflow.STATUS_LABELS[nxt]}.",
                    )
                    st.rerun()
                except Exception as exc:
                    show_error(exc)
        if st.button("Add note", key="sop_add_note", disabled=not can_edit):
            try:
                sop_workflow.add_note(
                    con, finding.finding_id, user, note or "", expected_version=finding.version
                )
                st.session_state["sop_flash"] = ("workflow", "Note added.")
                st.rerun()
            except Exception as exc:
                show_error(exc)
        with st.expander("History and notes"):
            st.dataframe(sop_workflow.history(con, finding.finding_id), hide_index=True)
            if finding.notes:
                st.text(finding.notes)

# --- Evidence ----------------------------------------------------------------------------------
st.subheader("Evidence")
reveal_key = f"sop_reveal::{policy}::{pain_point}"
revealed = bool(st.session_state.get(reveal_key)) and user.can("reveal")
if user.can("reveal"):
    if not revealed and st.button(
        "Reveal personal data and sensitive text",
        icon=":material/visibility:",
        key="sop_reveal",
        help="Your reveal is recorded in the audit log.",
    ):
        try:
            require(user, "reveal")
            log_reveal(user, f"SOP evidence: {sop.finding_key(policy, pain_point)}")
            st.session_state[reveal_key] = True
            st.rerun()
        except Exception as exc:
            show_error(exc)
    elif revealed and st.button("Hide again", key="sop_hide"):
        st.session_state[reveal_key] = False
        st.rerun()
else:
    st.caption(f"Your role ({user.role}) sees redacted text only.")
ev = sop_view.load_evidence(
    path, ver, f, level_pp, policy, pain_point, revealed, f"{user.name}|{user.role}", _user=user
)
tab_pairs, tab_notes = st.tabs(
    [f"Similar cases, different outcomes ({len(ev.pairs)})", f"Hesitant notes ({len(ev.notes)})"]
)
with tab_pairs:
    if ev.pairs.empty:
        st.caption("No pair of similar cases with different outcomes in this scope.")
    else:
        sop_view.render_pairs(ev, reveal=revealed)
with tab_notes:
    if ev.notes.empty:
        st.caption("No agent note in this scope uses hesitant language.")
    else:
        sop_view.render_notes(ev)

# --- Export --------------------------------------------------------------------------------------
st.subheader("Brief for the policy team")
n_flagged = int(report.flagged.shape[0])
st.caption(
    f"The flagged findings ({n_flagged}) with their signals, workflow status and redacted evidence."
)
e1, e2, _ = st.columns([1, 1, 3])
e1.download_button(
    ":material/description: Markdown",
    sop_view.brief_builder(path, report, states, "md"),
    "sop_grey_areas.md",
    "text/markdown",
    key="sop_dl_md",
    on_click=log_export,
    args=(user, "sop_grey_areas", "md", n_flagged),
    width="stretch",
)
e2.download_button(
    ":material/table_view: Excel",
    sop_view.brief_builder(path, report, states, "xlsx"),
    "sop_grey_areas.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="sop_dl_xlsx",
    on_click=log_export,
    args=(user, "sop_grey_areas", "xlsx", n_flagged),
    width="stretch",
)
