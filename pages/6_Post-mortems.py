"""Post-mortems: start a review from the data, write it together, track action items, learn."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import streamlit as st

from analytics import postmortem as pm
from analytics import postmortem_actions as pa
from analytics import postmortem_library as lib
from analytics import postmortem_timeline as pt
from analytics.errors import EscalationInsightsError
from analytics.postmortem_actions import BOARD_BUCKETS
from analytics.postmortem_seed import (
    SEVERITIES,
    SIGNAL_METRICS,
    draft_by_hand,
    draft_from_seed,
    scope_filters,
)
from analytics.postmortem_verify import VerifyConfig
from ui import postmortem_view as view
from ui import resources
from ui.page import require_data, setup, show_error

ctx = setup("Post-mortems", ":material/assignment:")
require_data(ctx)
con, user, f = resources.connection(), ctx.user, ctx.filters
first, last = resources.load_bounds(ctx.db_path, ctx.version)
view.show_flash()


def _open(review_id: int) -> None:
    st.session_state["pm_pick"] = review_id
    st.session_state["pm_view"] = "reviews"


def _authors(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def _create_from_seed(seed: dict) -> None:
    s = st.session_state
    draft = draft_from_seed(seed, fallback_end=last)
    draft = replace(draft, title=s.get("pm_seed_title") or draft.title)
    try:
        review_id = pm.create_review(
            con,
            user,
            draft,
            severity=s.get("pm_seed_severity", "S2"),
            authors=_authors(s.get("pm_seed_authors", "")),
        )
    except EscalationInsightsError as exc:
        view.flash(str(exc), "error")
        return
    s.pop("postmortem_seed", None)
    _open(review_id)
    view.flash(f"Review #{review_id} created from the {draft.origin} seed.")


def _create_by_hand() -> None:
    s = st.session_state
    window = s.get("pm_create_window")
    if not isinstance(window, tuple | list) or len(window) != 2:
        view.flash("Pick the start and the end of the event window.", "error")
        return
    scope = scope_filters(f) if s.get("pm_create_use_filters", True) else None
    draft = draft_by_hand(
        s.get("pm_create_title", ""), window[0], window[1], scope, s.get("pm_create_signal")
    )
    try:
        review_id = pm.create_review(
            con,
            user,
            draft,
            severity=s.get("pm_create_severity", "S2"),
            authors=_authors(s.get("pm_create_authors", "")),
        )
    except EscalationInsightsError as exc:
        view.flash(str(exc), "error")
        return
    s["pm_create_title"] = ""
    _open(review_id)
    view.flash(f"Review #{review_id} created.")


# --- A seed from the root-cause page, an alert or a chart selection ---------------------------
seed = st.session_state.get("postmortem_seed")
if isinstance(seed, dict) and seed:
    draft = draft_from_seed(seed, fallback_end=last)
    with st.container(border=True):
        st.markdown(f"**Start a review from this {draft.origin} finding**")
        st.caption(
            f"{draft.window_start:%d %b %Y} – {draft.window_end:%d %b %Y} · "
            f"{draft.scope.describe()} · {len(draft.causes)} causes · "
            f"{len(draft.evidence_case_ids)} evidence cases · {len(draft.events)} events"
        )
        st.text_input("Title", value=draft.title, key="pm_seed_title")
        c1, c2 = st.columns(2)
        c1.selectbox(
            "Severity",
            list(SEVERITIES),
            index=1,
            format_func=SEVERITIES.get,
            key="pm_seed_severity",
        )
        c2.text_input("Authors (comma-separated)", value=user.name, key="pm_seed_authors")
        with st.container(horizontal=True):
            st.button(
                "Create the review",
                key="pm_seed_create",
                type="primary",
                icon=":material/add:",
                on_click=_create_from_seed,
                args=(seed,),
                disabled=not user.can("edit_reviews"),
            )
            st.button(
                "Dismiss",
                key="pm_seed_dismiss",
                on_click=lambda: st.session_state.pop("postmortem_seed", None),
            )

mode = (
    st.segmented_control(
        "View",
        ["reviews", "board", "library"],
        format_func={
            "reviews": "Reviews",
            "board": "Follow-up board",
            "library": "Lessons library",
        }.get,
        default="reviews",
        key="pm_view",
    )
    or "reviews"
)
weeks = st.sidebar.number_input(
    "Fix check: weeks before/after", min_value=1, max_value=12, value=4, key="pm_weeks"
)
cfg = VerifyConfig(before_days=7 * weeks, after_days=7 * weeks, min_after_days=min(14, 7 * weeks))

# --- Follow-up board --------------------------------------------------------------------------
if mode == "board":
    board = view.load_board(ctx.db_path, ctx.version, view.board_token(con), date.today(), cfg)
    with st.container(horizontal=True):
        for bucket in BOARD_BUCKETS:
            st.metric(bucket.capitalize(), int((board["bucket"] == bucket).sum()), border=True)
    if board.empty:
        st.info("No action item is overdue or done yet.", icon=":material/inbox:")
    for bucket in BOARD_BUCKETS:
        rows = board[board["bucket"] == bucket]
        if rows.empty:
            continue
        st.subheader(bucket.capitalize())
        st.dataframe(rows.drop(columns=["bucket"]), hide_index=True, key=f"pm_board_{bucket}")
        with st.container(horizontal=True):
            for rid, title in (
                rows[["review_id", "review"]].drop_duplicates().itertuples(index=False)
            ):
                st.button(
                    f"Open #{rid} {title}",
                    key=f"pm_board_open_{bucket}_{rid}",
                    on_click=_open,
                    args=(int(rid),),
                    type="tertiary",
                )
    st.caption(
        f"A fix is checked on {weeks} weeks before and after its done date: Poisson rate test for "
        "case volumes, two-proportion z-test for breach rates, Mann-Whitney for handling time."
    )
    st.stop()

# --- Lessons-learned library ------------------------------------------------------------------
if mode == "library":
    query = st.text_input(
        "Search published reviews", key="pm_lib_q", placeholder="e.g. holiday staffing"
    )
    if query.strip():
        found = lib.search_reviews(con, query)
        st.caption(f"{len(found)} published review(s) match.")
        st.dataframe(found, hide_index=True, key="pm_lib_results")
        for row in found.itertuples():
            st.button(
                f"Open #{row.review_id} {row.title}",
                key=f"pm_lib_open_{row.review_id}",
                on_click=_open,
                args=(int(row.review_id),),
                type="tertiary",
            )
    st.subheader("Recurring root causes and pain points")
    patterns = lib.recurring_patterns(con, min_reviews=2)
    if patterns.empty:
        st.caption("Nothing appears in two or more reviews yet.")
    else:
        st.dataframe(patterns, hide_index=True, key="pm_lib_patterns")
    st.stop()

# --- Reviews ------------------------------------------------------------------------------------
with st.expander("Start a review by hand", icon=":material/add:", expanded=False):
    st.text_input("Title", key="pm_create_title", placeholder="e.g. DSA queue over Christmas")
    c1, c2, c3 = st.columns(3)
    c1.date_input(
        "Event window",
        value=(f.start, f.end),
        min_value=first,
        max_value=last,
        key="pm_create_window",
    )
    c2.selectbox(
        "Signal", list(SIGNAL_METRICS), format_func=SIGNAL_METRICS.get, key="pm_create_signal"
    )
    c3.selectbox(
        "Severity", list(SEVERITIES), index=1, format_func=SEVERITIES.get, key="pm_create_severity"
    )
    st.checkbox(
        f"Scope: the sidebar filters ({scope_filters(f).describe()})",
        value=True,
        key="pm_create_use_filters",
    )
    st.text_input("Authors (comma-separated)", value=user.name, key="pm_create_authors")
    st.button(
        "Create the review",
        key="pm_create_go",
        type="primary",
        on_click=_create_by_hand,
        disabled=not user.can("edit_reviews"),
    )

reviews = pm.list_reviews(con)
if reviews.empty:
    st.info(
        "No post-mortems yet. Start one by hand above, or from the Root cause page.",
        icon=":material/inbox:",
    )
    st.stop()

ids = [int(i) for i in reviews["review_id"]]
titles = dict(zip(ids, reviews["title"], strict=True))
wanted = st.query_params.get("review")
if "pm_pick" not in st.session_state or st.session_state["pm_pick"] not in ids:
    st.session_state["pm_pick"] = (
        int(wanted) if wanted and wanted.isdigit() and int(wanted) in ids else ids[0]
    )
review_id = st.selectbox("Review", ids, format_func=lambda i: f"#{i} · {titles[i]}", key="pm_pick")
st.query_params["review"] = str(review_id)
with st.expander(f"All reviews ({len(reviews)})"):
    st.dataframe(reviews, hide_index=True, key="pm_all")

try:
    review = pm.get_review(con, review_id)
except EscalationInsightsError as exc:
    show_error(exc)
    st.stop()

view.review_header(review)
with st.container(horizontal=True):
    view.status_buttons(con, user, review)
    view.refresh_button(con, user, review)
view.header_editor(con, user, review, SEVERITIES)

timeline = pt.timeline(con, review.review_id)
view.signal_chart(ctx, review, timeline)

proposed = st.session_state.get(view.proposed_key(review.review_id), {})
sections = pm.sections(con, review.review_id)
n_actions = len(pa.actions(con, review.review_id))
write_up, when, todo, files = st.tabs(
    ["Write-up", f"Timeline ({len(timeline)})", f"Action items ({n_actions})", "Export"]
)
with write_up:
    for section in sections.values():
        if section.key == "timeline":
            continue
        view.section_editor(con, user, review.review_id, section, proposed.get(section.key))
with when:
    if "timeline" in sections:
        view.section_editor(
            con, user, review.review_id, sections["timeline"], proposed.get("timeline")
        )
    view.timeline_panel(con, user, review, timeline)
with todo:
    view.actions_panel(ctx, con, user, review, cfg)
with files:
    view.export_panel(con, user, review)
