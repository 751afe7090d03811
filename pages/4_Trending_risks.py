"""Trending risks: what is surging, why it fired, how dangerous it is, who follows it up."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from analytics import alerts
from analytics.alerts import STATUS_LABELS
from analytics.errors import EscalationInsightsError
from analytics.privacy import to_csv_bytes
from ui import trends_view as view
from ui.audit_hooks import log_export
from ui.page import require_data, setup, show_error
from ui.render import empty_state, safe_table
from ui.sidebar import set_filters

ctx = setup("Trending risks", ":material/trending_up:")
require_data(ctx)
f, path, ver, user = ctx.filters, ctx.db_path, ctx.version, ctx.user
as_of: date = f.end
can_edit = user.can("edit_alerts")


def act(fn, *args, done: str, **kwargs) -> None:
    """Run one workflow action; errors (permission, illegal transition) as a friendly message."""
    try:
        fn(view._connection(path), *args, **kwargs)
    except EscalationInsightsError as exc:
        show_error(exc)
    else:
        st.session_state["tr_done"] = done
        st.rerun()


# --- Scan ------------------------------------------------------------------------------------
try:
    alerts_ver = view.alerts_version(path)
except EscalationInsightsError as exc:
    show_error(exc)
    st.stop()
last = view.load_last_scan(path, alerts_ver)
c1, c2 = st.columns([4, 1], vertical_alignment="center")
if last:
    c1.caption(
        f"Last scan {last['started_at']:%d %b %Y %H:%M} UTC by {last['user']} · data as of "
        f"{last['as_of']:%d %b %Y} · {last['series']:,} series · {last['mode']} in "
        f"{last['seconds']:.1f} s · {last['new']} new, {last['updated']} updated alerts"
    )
else:
    c1.caption("No scan has run on this data yet.")
if can_edit:
    if c2.button(
        "Scan now",
        key="tr_scan",
        type="primary",
        icon=":material/radar:",
        help=f"Scan {f.describe()} as of {as_of:%d %b %Y} (the sidebar filters scope it).",
    ):
        bar = st.progress(0.0, text="Starting the scan")
        try:
            result, summary = view.run_scan(path, f, user, bar, as_of)
        except EscalationInsightsError as exc:
            show_error(exc)
        else:
            bar.empty()
            st.session_state["tr_done"] = (
                f"Scan done in {result.seconds:.1f} s: {len(result.trends)} trend(s) — "
                f"{summary.new} new alert(s), {summary.updated} updated, "
                f"{summary.refired} fired again."
            )
            st.rerun()
else:
    c2.caption("Scanning needs the analyst role.")
if done := st.session_state.pop("tr_done", None):
    st.success(done, icon=":material/check_circle:")

all_alerts = view.load_alerts(path, view.alerts_version(path))
statuses = {"active": "Active", **STATUS_LABELS, "all": "All"}
show = st.segmented_control("Show", list(statuses), format_func=statuses.get, default="active",
                            key="tr_status") or "active"  # fmt: skip
wanted = {"active": alerts.ACTIVE, "all": tuple(STATUS_LABELS)}.get(show, (show,))
feed = [a for a in all_alerts if a.status in wanted and view.in_scope(a, f)]
due = alerts.due_follow_ups(feed, date.today())
if due:
    st.warning(f"Follow-up due: {', '.join(a.label for a in due[:5])}.", icon=":material/alarm:")

tab_feed, tab_map, tab_terms, tab_digest = st.tabs(
    ["Alert feed", "Spread", "Emerging terms", "Hand-over digest"]
)

# --- Feed --------------------------------------------------------------------------------------
with tab_feed:
    if not all_alerts:
        empty_state(
            "No alerts yet. Press **Scan now** to look for surging slices and emerging terms "
            "in these cases." if can_edit else
            "No alerts yet. Ask an analyst to run a scan (it needs the analyst role)."
        )  # fmt: skip
    elif not feed:
        empty_state("No alert matches this view. Show all statuses, or widen the sidebar filters.")
    else:
        st.dataframe(
            view.feed_frame(feed, date.today()), hide_index=True, key="tr_feed",
            column_config={
                "risk": st.column_config.ProgressColumn("risk", min_value=0, max_value=100,
                                                        format="%.0f"),
                "last 8 weeks": st.column_config.LineChartColumn("last 8 weeks"),
                "cases": st.column_config.NumberColumn(format="%.0f"),
                "expected": st.column_config.NumberColumn(format="%.1f"),
            },
        )  # fmt: skip
        st.plotly_chart(view.small_multiples(feed), key="tr_multiples")
        pick = st.selectbox("Open an alert", [a.alert_id for a in feed], key="tr_pick",
                            format_func={a.alert_id: f"#{a.alert_id} {a.label}" for a in feed}.get)  # fmt: skip
        alert = next(a for a in feed if a.alert_id == pick)
        with st.container(border=True):
            st.subheader(f"{alert.label}")
            st.caption(f"{alert.status_label} · risk {alert.risk_score or 0:.0f}/100 "
                       f"({(alert.risk or {}).get('level', '')}) · fired {alert.times_fired}x"
                       + (f" · {alert.team} / {alert.owner_name}" if alert.team else "")
                       + (f" · ticket {alert.linked_ticket}" if alert.linked_ticket else "")
                       + (f" · follow-up {alert.follow_up}" if alert.follow_up else ""))  # fmt: skip
            st.markdown(view.reason(alert))
            left, right = st.columns([3, 2])
            left.plotly_chart(view.sparkline_figure(alert), key="tr_spark")
            right.plotly_chart(view.risk_figure(alert), key="tr_risk")
            if alert.status == "resolved":
                check = view.load_resolution(path, ver, view.alerts_version(path), alert.alert_id)
                if check is not None:
                    shown = st.success if check.verdict == "back to baseline" else st.warning
                    shown(f"**{check.verdict.capitalize()}.** {check.sentence}")
            related = (alert.related or {}).get("items") or []
            if related:
                with st.expander(f"Also surging in the same trend ({len(related)})"):
                    st.dataframe(pd.DataFrame(related).drop(columns=["key"]), hide_index=True)
            with st.expander("Example cases (redacted; sensitive text hidden)"):
                rows = view.load_examples(path, ver, tuple(alert.example_ids))
                if rows.empty:
                    st.caption("No example cases.")
                else:
                    st.dataframe(safe_table(rows), hide_index=True, key="tr_examples")

            a1, a2, _ = st.columns([1, 1, 2])
            if a1.button("Open in root cause", icon=":material/account_tree:", key="tr_rc"):
                set_filters(view.root_cause_filters(alert, f))
                st.switch_page(view.ROOT_CAUSE_PAGE, query_params=view.root_cause_query(alert))
            if a2.button("Start a post-mortem", icon=":material/assignment:", key="tr_pm"):
                st.session_state["postmortem_seed"] = view.postmortem_seed(alert)
                if view.page_exists(view.POSTMORTEM_PAGE):
                    st.switch_page(view.POSTMORTEM_PAGE)
                st.success(
                    "Alert saved for a post-mortem; it opens once the Post-mortems page "
                    "is installed."
                )

            if can_edit:
                st.markdown("**Actions**")
                nxt = alert.next_statuses
                w1, w2, w3 = st.columns(3)
                with w1.form("tr_flag_form", border=True):
                    team = st.text_input("Team", value=alert.team or "", key="tr_team",
                                         placeholder="e.g. T&S LATAM, Product: reporting")  # fmt: skip
                    owner = st.text_input("Owner", value=alert.owner_name or "", key="tr_owner")
                    follow = st.date_input("Follow up on", value=alert.follow_up or
                                           view.default_follow_up(date.today()), key="tr_flag_follow")  # fmt: skip
                    note = st.text_input("Note", key="tr_flag_note")
                    if st.form_submit_button("Flag to team", icon=":material/flag:",
                                             disabled="flagged" not in nxt):  # fmt: skip
                        act(alerts.flag, alert.alert_id, user, team=team, owner=owner, note=note,
                            follow_up=follow, expected_version=alert.version,
                            done=f"Flagged to {team} ({owner}).")  # fmt: skip
                with w2.form("tr_status_form", border=True):
                    reason_text = st.text_input("Reason or note", key="tr_reason")
                    resolved_on = st.date_input("Resolved on (data day)", value=as_of,
                                                key="tr_resolved_on")  # fmt: skip
                    b1, b2 = st.columns(2)
                    start = b1.form_submit_button("Start work", disabled="in_progress" not in nxt)
                    resolve = b2.form_submit_button("Resolve", disabled="resolved" not in nxt)
                    b3, b4 = st.columns(2)
                    dismiss = b3.form_submit_button("Dismiss", disabled="dismissed" not in nxt)
                    reopen = b4.form_submit_button(
                        "Restore" if alert.status == "dismissed" else "Reopen",
                        disabled=alert.status not in ("resolved", "dismissed"),
                    )
                    if start:
                        act(alerts.start_work, alert.alert_id, user, note=reason_text,
                            expected_version=alert.version, done="Marked in progress.")  # fmt: skip
                    if resolve:
                        act(alerts.resolve, alert.alert_id, user, on=resolved_on, note=reason_text,
                            expected_version=alert.version, done="Resolved.")  # fmt: skip
                    if dismiss:
                        act(alerts.dismiss, alert.alert_id, user, reason=reason_text,
                            expected_version=alert.version,
                            done="Dismissed: it fires again only if it clearly worsens.")  # fmt: skip
                    if reopen:
                        act(alerts.reopen, alert.alert_id, user, note=reason_text,
                            expected_version=alert.version, done="Reopened.")  # fmt: skip
                with w3.form("tr_more_form", border=True):
                    note = st.text_area("Add a note", key="tr_note", height=68)
                    follow_up = st.date_input("Follow-up date", value=alert.follow_up,
                                              key="tr_follow_up")  # fmt: skip
                    ticket = st.text_input("Linked ticket", value=alert.linked_ticket or "",
                                           key="tr_ticket", placeholder="e.g. BUG-4821")  # fmt: skip
                    if st.form_submit_button("Save", icon=":material/save:"):
                        try:
                            con = view._connection(path)
                            if note.strip():
                                alerts.add_note(con, alert.alert_id, user, note)
                            if follow_up != alert.follow_up:
                                alerts.set_follow_up(con, alert.alert_id, user, follow_up)
                            if ticket.strip() != (alert.linked_ticket or ""):
                                alerts.link_ticket(con, alert.alert_id, user, ticket)
                        except EscalationInsightsError as exc:
                            show_error(exc)
                        else:
                            st.session_state["tr_done"] = "Saved."
                            st.rerun()
            with st.expander("History"):
                st.dataframe(view.load_alert_history(path, view.alerts_version(path),
                                                     alert.alert_id), hide_index=True)  # fmt: skip

# --- Spread ------------------------------------------------------------------------------------
with tab_map:
    by_country, by_region = view.spread_frames(feed)
    if by_region.empty:
        empty_state("No alerts in this view, so nothing to map. Run a scan or show all statuses.")
    else:
        unplaced = int(by_country.loc[by_country["lat"].isna(), "cases"].sum())
        st.caption(
            "Cases behind the alerts shown, by country (bubbles at the country's approximate "
            "centre, sized by cases) and by region."
            + (f" {unplaced} cases come from countries not drawn on the map." if unplaced else "")
        )
        m1, m2 = st.columns([3, 1])
        m1.plotly_chart(view.spread_map(by_country), key="tr_map")
        m2.plotly_chart(view.region_bar(by_region), key="tr_regions")

# --- Emerging terms ----------------------------------------------------------------------------
with tab_terms:
    terms = view.load_terms(path, ver, f, as_of)
    if terms.empty:
        empty_state(
            "No emerging terms in the last 7 days (a term needs 5 recent cases and a rate at "
            "least 3x its previous 8 weeks). Widen the filters or move the period's end."
        )  # fmt: skip
    else:
        st.caption("New or accelerating hashtags, names and phrases in subjects and descriptions "
                   "of the last 7 days vs the 8 weeks before. Sensitive cases count; their text "
                   "stays hidden.")  # fmt: skip
        st.dataframe(view.terms_frame(terms), hide_index=True, key="tr_terms")
        term = st.selectbox("Cases mentioning", list(terms["term"]), key="tr_term")
        ids = tuple(terms.loc[terms["term"] == term, "examples"].iloc[0])
        st.dataframe(safe_table(view.load_examples(path, ver, ids)), hide_index=True,
                     key="tr_term_cases")  # fmt: skip

# --- Digest ------------------------------------------------------------------------------------
with tab_digest:
    handover = [a for a in all_alerts if view.in_scope(a, f)]
    md, frame = view.digest(path, ver, handover, as_of, date.today())
    st.caption("For the daily hand-over across APAC, EMEA and LATAM (numbers and slices only, "
               "no case text). Downloads are recorded in the audit log.")  # fmt: skip
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Markdown", md.encode("utf-8"), f"trending_risks_{as_of}.md",
                       "text/markdown", key="tr_dl_md", icon=":material/download:",
                       on_click=log_export, args=(user, "trending_risks_digest", "md", len(frame)))  # fmt: skip
    d2.download_button("CSV", to_csv_bytes(frame), f"trending_risks_{as_of}.csv", "text/csv",
                       key="tr_dl_csv", icon=":material/download:",
                       on_click=log_export, args=(user, "trending_risks_digest", "csv", len(frame)))  # fmt: skip
    with st.container(border=True):
        st.markdown(md)
