"""Post-mortem page helpers: cached analytics loaders and the review editor widgets.

Review state (header, sections, timeline, action items) is read fresh on every run,
never cached, so two people see each other's saves; only the heavy analytics (daily
signal, verification, board) are cached, keyed on the data version. Writes happen in
widget callbacks, which run before the rerun and may therefore set widget values (e.g.
"take the other version" replaces the text in the editor).
"""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import streamlit as st

from analytics import engine
from analytics import postmortem as pm
from analytics import postmortem_actions as pa
from analytics import postmortem_export as pe
from analytics import postmortem_timeline as pt
from analytics.access import User
from analytics.errors import EscalationInsightsError
from analytics.filters import DIMENSION_FILTERS, Filters
from analytics.postmortem_charts import signal_figure, verification_figure
from analytics.postmortem_seed import SIGNAL_METRICS
from analytics.postmortem_signal import daily_signal, frozen_baseline, series_range
from analytics.postmortem_text import SECTION_PROMPTS
from analytics.postmortem_verify import METRIC_KINDS, MetricSpec, VerifyConfig, verify
from analytics.postmortem_verify import weekly_series as _weekly
from ui import resources

VERDICT_ICONS = {
    "fix worked": ":material/check_circle:",
    "no effect": ":material/remove_circle:",
    "got worse": ":material/error:",
    "not yet measurable": ":material/hourglass_empty:",
}
STATUS_ICONS = {
    "draft": ":material/edit_note:",
    "in review": ":material/rate_review:",
    "published": ":material/verified:",
}

# --- Cached loaders (ui.resources shape: db path and data version first) ----------------------


@st.cache_data(show_spinner=False, max_entries=64)
def load_signal(path: str, ver: str, scope: Filters, metric: str, start: date, end: date):
    t = engine.cases_table(resources._connection(path))
    from analytics.metrics import date_bounds

    lo, hi = series_range(start, end, date_bounds(t))
    return frozen_baseline(daily_signal(t, scope, metric, lo, hi), start, end)


@st.cache_data(show_spinner=False, max_entries=256)
def load_verification(path: str, ver: str, metric_json: str, done_on: date, cfg: VerifyConfig):
    t = engine.cases_table(resources._connection(path))
    return verify(t, MetricSpec.from_json(metric_json), done_on, config=cfg)


@st.cache_data(show_spinner=False, max_entries=256)
def load_weekly(path: str, ver: str, metric_json: str, done_on: date, cfg: VerifyConfig):
    t = engine.cases_table(resources._connection(path))
    return _weekly(t, MetricSpec.from_json(metric_json), done_on, cfg)


@st.cache_data(show_spinner=False, max_entries=32)
def load_board(path: str, ver: str, token: str, today: date, cfg: VerifyConfig):
    con = resources._connection(path)
    return pa.follow_up_board(con, engine.cases_table(con), today=today, config=cfg)


def board_token(con) -> str:
    """Changes whenever an action item changes (the board's cache key)."""
    cur = con.cursor()
    try:
        row = cur.execute(
            "SELECT count(*), coalesce(sum(version), 0), max(updated_at)::VARCHAR FROM pm_actions"
        ).fetchone()
    finally:
        cur.close()
    return "-".join(str(v) for v in row)


# --- Messages across reruns -------------------------------------------------------------------


def flash(message: str, kind: str = "success") -> None:
    st.session_state.setdefault("pm_flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("pm_flash", []):
        if kind == "error":
            st.error(message, icon=":material/error:")
        else:
            st.toast(message, icon=":material/check:")


def _guard(fn, *args, **kwargs):
    """Run a write; named product errors become a message on the next run."""
    try:
        return fn(*args, **kwargs)
    except EscalationInsightsError as exc:
        flash(str(exc), "error")
        return None


# --- Header, status, chart --------------------------------------------------------------------


def impact_tiles(facts: dict) -> None:
    """The headline impact numbers of the window (from the section's stored facts)."""
    if not facts:
        return

    def pct(v):
        return "–" if v is None else f"{v:.1%}"

    def hours(v):
        return "–" if v is None else f"{v:,.1f} h"

    tiles = [
        ("Cases", f"{facts.get('cases', 0):,}", f"{facts.get('cases_previous', 0):,} before"),
        (
            "SLA breaches",
            f"{facts.get('sla_breaches', 0):,}",
            f"rate {pct(facts.get('sla_breach_rate'))}",
        ),
        (
            "Resolution median / p90",
            f"{hours(facts.get('resolution_median_h'))} / {hours(facts.get('resolution_p90_h'))}",
            None,
        ),
        ("Backlog peak", f"{facts.get('backlog_peak', 0):,}", facts.get("backlog_peak_day")),
        (
            "Overturns",
            f"{facts.get('overturns', 0):,} of {facts.get('appeals_decided', 0):,}",
            pct(facts.get("overturn_rate")),
        ),
    ]
    if facts.get("dsa_notices"):
        tiles.append(
            (
                "DSA deadline breaches",
                f"{facts.get('dsa_breaches', 0):,} of {facts['dsa_notices']:,}",
                pct(facts.get("dsa_breach_rate")),
            )
        )
    for col, (label, value, note) in zip(st.columns(len(tiles)), tiles, strict=True):
        col.metric(label, value, border=True, help=note)


def review_header(review: pm.Review) -> None:
    st.subheader(f"{STATUS_ICONS.get(review.status, '')} {review.title}")
    st.caption(
        f"**{review.status}** · {review.severity} · {review.window_start:%d %b %Y} – "
        f"{review.window_end:%d %b %Y} · scope: {review.scope.describe()} · authors: "
        f"{', '.join(review.authors) or '–'} · version {review.version}, last edited by "
        f"{review.updated_by or '–'}"
        + (f" · tags: {', '.join(review.tags)}" if review.tags else "")
    )


def _set_status(con, user: User, review_id: int, status: str, version: int) -> None:
    if _guard(pm.set_status, con, user, review_id, status, version):
        flash(f"Review is now {status}.")


def status_buttons(con, user: User, review: pm.Review) -> None:
    moves = {
        "draft": [("in review", "Send for review", ":material/rate_review:")],
        "in review": [
            ("published", "Publish", ":material/publish:"),
            ("draft", "Back to draft", ":material/undo:"),
        ],
        "published": [("in review", "Reopen", ":material/lock_open:")],
    }[review.status]
    with st.container(horizontal=True):
        for status, label, icon in moves:
            st.button(
                label,
                icon=icon,
                key=f"pm_status_{status}",
                on_click=_set_status,
                args=(con, user, review.review_id, status, review.version),
                disabled=not user.can("edit_reviews"),
                type="primary" if status == "published" else "secondary",
            )


def signal_chart(ctx, review: pm.Review, timeline: pd.DataFrame) -> None:
    series = load_signal(
        ctx.db_path,
        ctx.version,
        review.scope,
        review.metric,
        review.window_start,
        review.window_end,
    )
    label = SIGNAL_METRICS.get(review.metric, review.metric)
    st.plotly_chart(
        signal_figure(series, timeline, (review.window_start, review.window_end), label),
        key=f"pm_chart_{review.review_id}",
    )
    st.caption(
        "Bars: the daily series in scope. Blue: median of the previous 28 days, frozen at the "
        "first signal; above the band a day counts as elevated (3 robust standard deviations). "
        "Shaded: the event window. Triangles: timeline entries (hover for details)."
    )


# --- Sections with optimistic concurrency -----------------------------------------------------


def _keys(review_id: int, key: str) -> dict[str, str]:
    base = f"pm_sec_{review_id}_{key}"
    return {
        "text": base,
        "ver": base + "_ver",
        "base": base + "_base",
        "conflict": base + "_conflict",
        "merge": base + "_merge",
    }


def _adopt(k: dict, section: pm.Section) -> None:
    st.session_state[k["text"]] = section.body
    st.session_state[k["ver"]] = section.version
    st.session_state[k["base"]] = section.body


def _save_section(con, user: User, review_id: int, key: str) -> None:
    k = _keys(review_id, key)
    body = st.session_state.get(k["text"], "")
    try:
        saved = pm.save_section(con, user, review_id, key, body, st.session_state[k["ver"]])
    except pm.ReviewConflictError as exc:
        st.session_state[k["conflict"]] = exc
        st.session_state[k["merge"]] = pm.merge_draft(
            body, exc.theirs.body if exc.theirs else "", exc.theirs.updated_by or "other"
        )
        return
    except EscalationInsightsError as exc:
        flash(str(exc), "error")
        return
    st.session_state[k["ver"]] = saved.version
    st.session_state[k["base"]] = saved.body
    flash(f"Saved “{saved.title}” (version {saved.version}).")


def _resolve(con, user: User, review_id: int, key: str, choice: str) -> None:
    k = _keys(review_id, key)
    conflict: pm.ReviewConflictError = st.session_state[k["conflict"]]
    merged = st.session_state.get(k["merge"]) if choice == pm.MERGE else None
    try:
        section = pm.resolve_conflict(con, user, conflict, choice, merged)
    except pm.ReviewConflictError as again:  # a third save in between: compare again
        st.session_state[k["conflict"]] = again
        return
    except EscalationInsightsError as exc:
        flash(str(exc), "error")
        return
    st.session_state.pop(k["conflict"], None)
    _adopt(k, section)
    flash(
        {
            pm.KEEP_MINE: "Your version is saved.",
            pm.TAKE_OTHER: "You now have the other version.",
            pm.MERGE: "The merged version is saved.",
        }[choice]
    )


def _use_draft(review_id: int, key: str, text: str) -> None:
    st.session_state[_keys(review_id, key)["text"]] = text


def section_editor(
    con, user: User, review_id: int, section: pm.Section, proposed: str | None = None
) -> None:
    """One section: text editor, save, and, after a conflict, both versions side by side."""
    k = _keys(review_id, section.key)
    if k["text"] not in st.session_state:
        _adopt(k, section)
    elif (
        st.session_state[k["ver"]] != section.version
        and st.session_state[k["text"]] == st.session_state[k["base"]]
        and k["conflict"] not in st.session_state
    ):
        _adopt(k, section)  # someone else saved and this session had no edits: follow them
    editable = user.can("edit_reviews")
    st.markdown(f"#### {section.title}")
    if section.key == "impact":
        impact_tiles(section.facts)
    st.text_area(
        section.title,
        key=k["text"],
        height=180 if section.key in ("impact", "root_causes", "summary") else 120,
        placeholder=SECTION_PROMPTS.get(section.key, ""),
        label_visibility="collapsed",
        disabled=not editable,
    )
    dirty = st.session_state[k["text"]] != st.session_state[k["base"]]
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Save",
            key=f"{k['text']}_save",
            icon=":material/save:",
            on_click=_save_section,
            args=(con, user, review_id, section.key),
            disabled=not editable,
            type="primary" if dirty else "secondary",
        )
        if proposed is not None and proposed != st.session_state[k["text"]]:
            st.button(
                "Use the refreshed draft",
                key=f"{k['text']}_draft",
                on_click=_use_draft,
                args=(review_id, section.key, proposed),
            )
        st.caption(
            f"version {st.session_state[k['ver']]}"
            + (" · unsaved changes" if dirty else "")
            + (f" · last saved by {section.updated_by}" if section.updated_by else "")
        )
    conflict = st.session_state.get(k["conflict"])
    if conflict is not None:
        conflict_panel(con, user, review_id, section.key, conflict)


def conflict_panel(con, user: User, review_id: int, key: str, conflict) -> None:
    k = _keys(review_id, key)
    theirs = conflict.theirs
    with st.container(border=True):
        st.warning(str(conflict), icon=":material/sync_problem:")
        left, right = st.columns(2)
        with left:
            st.markdown("**Your version** (not saved)")
            st.text(conflict.yours or "(empty)")
        with right:
            when = f"{theirs.updated_at:%d %b %H:%M} UTC" if theirs and theirs.updated_at else ""
            who = theirs.updated_by if theirs else "someone"
            st.markdown(f"**{who}'s version** (saved {when}, version {theirs.version})")
            st.text((theirs.body if theirs else "") or "(empty)")
        with st.container(horizontal=True):
            st.button(
                "Keep mine",
                key=f"{k['text']}_keep",
                on_click=_resolve,
                args=(con, user, review_id, key, pm.KEEP_MINE),
            )
            st.button(
                f"Take {who}'s",
                key=f"{k['text']}_take",
                on_click=_resolve,
                args=(con, user, review_id, key, pm.TAKE_OTHER),
            )
        st.text_area("Merge by hand", key=k["merge"], height=160)
        st.button(
            "Save the merge",
            key=f"{k['text']}_merge_save",
            on_click=_resolve,
            args=(con, user, review_id, key, pm.MERGE),
            type="primary",
        )


# --- Timeline -----------------------------------------------------------------------------------


def _add_entry(con, user: User, review_id: int) -> None:
    s = st.session_state
    title = s.get("pm_tl_title", "")
    at = datetime.combine(s.get("pm_tl_day") or date.today(), s.get("pm_tl_time") or time(0))
    if _guard(pt.add_timeline_entry, con, user, review_id, at, title, s.get("pm_tl_kind", "note")):
        s["pm_tl_title"] = ""
        flash("Timeline entry added.")


def _delete_entry(con, user: User, review_id: int) -> None:
    entry = st.session_state.get("pm_tl_delete")
    if entry is not None and _guard(pt.delete_timeline_entry, con, user, review_id, int(entry)):
        flash("Timeline entry removed.")


def timeline_panel(con, user: User, review: pm.Review, tl: pd.DataFrame) -> None:
    st.dataframe(
        tl[["at", "kind", "title", "detail", "source"]],
        hide_index=True,
        column_config={
            "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY HH:mm")
        },
    )
    if not user.can("edit_reviews"):
        return
    with st.expander("Add or remove a manual entry"):
        c1, c2, c3 = st.columns([1, 1, 1])
        c1.date_input("Day", value=review.window_start, key="pm_tl_day")
        c2.time_input("Time (UTC)", value=time(9, 0), key="pm_tl_time")
        c3.selectbox(
            "Kind",
            ["note", "alert", "decision", "escalation", "staffing", "comms"],
            key="pm_tl_kind",
        )
        st.text_input("What happened", key="pm_tl_title", placeholder="e.g. War room opened")
        st.button(
            "Add entry",
            key="pm_tl_add",
            icon=":material/add:",
            on_click=_add_entry,
            args=(con, user, review.review_id),
        )
        manual = tl[tl["source"] == "manual"]
        if not manual.empty:
            st.selectbox(
                "Remove",
                manual["entry_id"].tolist(),
                format_func=dict(zip(manual["entry_id"], manual["title"], strict=True)).get,
                key="pm_tl_delete",
            )
            st.button(
                "Remove entry",
                key="pm_tl_remove",
                on_click=_delete_entry,
                args=(con, user, review.review_id),
            )


# --- Action items -------------------------------------------------------------------------------

_SCOPE_COLUMNS = [name for name, _ in DIMENSION_FILTERS] + ["linked_ticket", "app_version"]


def _metric_from_state(prefix: str, review: pm.Review) -> MetricSpec | None:
    s = st.session_state
    kind = s.get(f"{prefix}_metric", "none")
    if kind == "none":
        return None
    if s.get(f"{prefix}_scope_mode", "review") == "review":
        scope = review.scope
    else:
        column, value = s.get(f"{prefix}_scope_col"), (s.get(f"{prefix}_scope_val") or "").strip()
        scope = {column: value} if column and value else {}
    return MetricSpec.make(kind, scope, s.get(f"{prefix}_direction", "down"))


def _add_action(con, user: User, review: pm.Review) -> None:
    s = st.session_state
    try:
        metric = _metric_from_state("pm_new", review)
    except ValueError as exc:
        flash(str(exc), "error")
        return
    added = _guard(
        pa.add_action,
        con,
        user,
        review.review_id,
        s.get("pm_new_desc", ""),
        owner=s.get("pm_new_owner", ""),
        team=s.get("pm_new_team", ""),
        due_date=s.get("pm_new_due"),
        linked_ticket=s.get("pm_new_ticket", ""),
        metric=metric,
    )
    if added:
        for key in ("pm_new_desc", "pm_new_owner", "pm_new_team", "pm_new_ticket"):
            s[key] = ""
        flash("Action item added.")


def _update_action(con, user: User, action_id: int, version: int) -> None:
    s, p = st.session_state, f"pm_act_{action_id}"
    status = s.get(f"{p}_status")
    changes = {
        "status": status,
        "owner": s.get(f"{p}_owner", ""),
        "due_date": s.get(f"{p}_due"),
        "done_on": s.get(f"{p}_done") if status == "done" else None,
    }
    if _guard(pa.update_action, con, user, action_id, version, **changes):
        flash("Action item saved.")


def new_action_form(con, user: User, review: pm.Review) -> None:
    with st.expander("Add an action item", icon=":material/add_task:"):
        st.text_input("What will be done", key="pm_new_desc")
        c1, c2, c3, c4 = st.columns(4)
        c1.text_input("Owner", key="pm_new_owner")
        c2.text_input("Team", key="pm_new_team")
        c3.date_input("Due", value=None, key="pm_new_due")
        c4.text_input("Linked ticket", key="pm_new_ticket", placeholder="BUG-1234")
        m1, m2, m3 = st.columns(3)
        m1.selectbox(
            "Metric it should move",
            ["none", *METRIC_KINDS],
            format_func=lambda k: "None" if k == "none" else METRIC_KINDS[k],
            key="pm_new_metric",
        )
        m2.segmented_control(
            "Expected direction", ["down", "up"], default="down", key="pm_new_direction"
        )
        m3.radio(
            "Of",
            ["review", "custom"],
            format_func={"review": "the review's scope", "custom": "one column value"}.get,
            key="pm_new_scope_mode",
            horizontal=True,
        )
        if st.session_state.get("pm_new_scope_mode") == "custom":
            s1, s2 = st.columns(2)
            s1.selectbox("Column", _SCOPE_COLUMNS, key="pm_new_scope_col")
            s2.text_input("Value", key="pm_new_scope_val", placeholder="e.g. Product issue")
        st.button(
            "Add action item",
            key="pm_new_add",
            type="primary",
            on_click=_add_action,
            args=(con, user, review),
            disabled=not user.can("edit_reviews"),
        )


def actions_panel(ctx, con, user: User, review: pm.Review, cfg: VerifyConfig) -> None:
    items = pa.actions(con, review.review_id)
    if not items:
        st.caption("No action items yet.")
    for item in items:
        result = None
        if item.metric is not None and item.status == "done" and item.done_on:
            result = load_verification(
                ctx.db_path, ctx.version, item.metric.to_json(), item.done_on, cfg
            )
        icon = VERDICT_ICONS.get(result.verdict, "") if result else ""
        head = f"{item.description} · {item.status}" + (f" · {result.verdict}" if result else "")
        with st.expander(head, icon=icon or ":material/task:"):
            st.caption(
                f"Owner {item.owner or '–'} · team {item.team or '–'} · due "
                f"{item.due_date or '–'} · ticket {item.linked_ticket or '–'} · "
                + (
                    f"metric: {item.metric.label}, expected {item.metric.direction}"
                    if item.metric
                    else "no metric"
                )
            )
            if result is not None:
                st.markdown(f"{icon} **{result.verdict}** — {result.summary()}")
                st.caption(
                    f"Before {result.before_start:%d %b} – {result.before_end:%d %b %Y} "
                    f"({result.n_before:,} cases) vs after {result.after_start:%d %b} – "
                    f"{result.after_end:%d %b %Y} ({result.n_after:,} cases); {result.reason}."
                )
                weekly = load_weekly(
                    ctx.db_path, ctx.version, item.metric.to_json(), item.done_on, cfg
                )
                st.plotly_chart(
                    verification_figure(weekly, item.done_on, METRIC_KINDS[item.metric.kind]),
                    key=f"pm_verify_chart_{item.action_id}",
                )
            p = f"pm_act_{item.action_id}"
            c1, c2, c3, c4 = st.columns(4)
            c1.selectbox(
                "Status",
                pa.ACTION_STATUSES,
                index=pa.ACTION_STATUSES.index(item.status),
                key=f"{p}_status",
            )
            c2.text_input("Owner", value=item.owner, key=f"{p}_owner")
            c3.date_input("Due", value=item.due_date, key=f"{p}_due")
            c4.date_input("Done on", value=item.done_on or date.today(), key=f"{p}_done")
            st.button(
                "Save item",
                key=f"{p}_save",
                on_click=_update_action,
                args=(con, user, item.action_id, item.version),
                disabled=not user.can("edit_reviews"),
            )
    new_action_form(con, user, review)


# --- Export ---------------------------------------------------------------------------------------


def _prepare_export(con, user: User, review_id: int) -> None:
    s = st.session_state
    fmt = s.get("pm_export_fmt", "md")
    options = pe.ExportOptions(include_sensitive=bool(s.get("pm_export_sensitive")))
    file = _guard(pe.export_review, con, user, review_id, fmt, options)
    if file is not None:
        s["pm_export_file"] = (review_id, file)


def export_panel(con, user: User, review: pm.Review) -> None:
    c1, c2 = st.columns([2, 3])
    c1.segmented_control(
        "Format",
        list(pe.FORMATS),
        format_func=lambda f: pe.FORMATS[f][0],
        default="md",
        key="pm_export_fmt",
    )
    c2.checkbox(
        "Include the text of sensitive evidence cases",
        key="pm_export_sensitive",
        disabled=not user.can("reveal"),
        help="Personal data is always redacted. Sensitive case text is left out unless you "
        "include it on purpose (this is written to the audit log).",
    )
    st.button(
        "Prepare the file",
        key="pm_export_go",
        icon=":material/description:",
        on_click=_prepare_export,
        args=(con, user, review.review_id),
        disabled=not user.can("export"),
    )
    ready = st.session_state.get("pm_export_file")
    fmt = st.session_state.get("pm_export_fmt") or "md"
    if ready and ready[0] == review.review_id and ready[1].file_name.endswith(f".{fmt}"):
        file: pe.ExportFile = ready[1]
        st.download_button(
            f"Download {file.file_name}",
            file.data,
            file.file_name,
            file.mime,
            key="pm_export_download",
            icon=":material/download:",
        )


# --- Refresh and header edits -----------------------------------------------------------------


def proposed_key(review_id: int) -> str:
    return f"pm_proposed_{review_id}"


def _refresh(con, user: User, review_id: int) -> None:
    fill = _guard(pt.refresh_from_data, con, user, review_id)
    if fill is not None:
        st.session_state[proposed_key(review_id)] = fill.bodies
        flash("Numbers and data timeline refreshed; section texts offer the new drafts.")


def refresh_button(con, user: User, review: pm.Review) -> None:
    st.button(
        "Refresh from data",
        key="pm_refresh",
        icon=":material/refresh:",
        on_click=_refresh,
        args=(con, user, review.review_id),
        disabled=not user.can("edit_reviews"),
        help="Recompute impact numbers, causes and the data timeline for the current window and "
        "scope. Your texts are kept; each section offers the refreshed draft.",
    )


def _save_header(con, user: User, review: pm.Review) -> None:
    s, p = st.session_state, f"pm_hdr_{review.review_id}"
    window = s.get(f"{p}_window") or (review.window_start, review.window_end)
    if not isinstance(window, tuple | list) or len(window) != 2:
        flash("Pick both the start and the end of the event window.", "error")
        return
    changes = {
        "title": s.get(f"{p}_title", review.title),
        "window_start": window[0],
        "window_end": window[1],
        "severity": s.get(f"{p}_severity", review.severity),
        "metric": s.get(f"{p}_metric", review.metric),
        "authors": [a.strip() for a in s.get(f"{p}_authors", "").split(",") if a.strip()],
        "tags": [t.strip() for t in s.get(f"{p}_tags", "").split(",") if t.strip()],
    }
    if _guard(pm.update_review, con, user, review.review_id, review.version, **changes):
        flash("Review details saved. Refresh from data if you changed the window.")


def header_editor(con, user: User, review: pm.Review, severities: dict) -> None:
    p = f"pm_hdr_{review.review_id}"
    with st.expander("Edit details", icon=":material/edit:"):
        st.text_input("Title", value=review.title, key=f"{p}_title")
        c1, c2, c3 = st.columns(3)
        c1.date_input(
            "Event window", value=(review.window_start, review.window_end), key=f"{p}_window"
        )
        c2.selectbox(
            "Severity",
            list(severities),
            index=list(severities).index(review.severity),
            format_func=severities.get,
            key=f"{p}_severity",
        )
        c3.selectbox(
            "Signal",
            list(SIGNAL_METRICS),
            index=list(SIGNAL_METRICS).index(review.metric),
            format_func=SIGNAL_METRICS.get,
            key=f"{p}_metric",
        )
        st.text_input(
            "Authors (comma-separated)", value=", ".join(review.authors), key=f"{p}_authors"
        )
        st.text_input("Tags (comma-separated)", value=", ".join(review.tags), key=f"{p}_tags")
        st.button(
            "Save details",
            key=f"{p}_save",
            on_click=_save_header,
            args=(con, user, review),
            disabled=not user.can("edit_reviews"),
        )
