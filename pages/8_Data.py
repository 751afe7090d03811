"""Data: import exports (preset, mapping, preview, commit), history, quarantine, events."""

from __future__ import annotations

import tempfile
from datetime import datetime, time
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import alert_scans, audit, events, painpoints, trend_watch
from analytics.config import get_settings
from analytics.ingest import (
    delete_import,
    import_file,
    import_history,
    preview_file,
    quarantine_rows,
)
from analytics.presets import PRESETS, Mapping
from analytics.privacy import redact_frame
from analytics.schema import CASE_COLUMNS, REQUIRED
from ui import resources
from ui.page import setup, show_error
from ui.render import downloads

ctx = setup("Data", ":material/database:", filters=False)
settings = get_settings()
con = resources.connection()
tab_import, tab_history, tab_quarantine, tab_events = st.tabs(
    ["Import", "Import history", "Quarantine", "Events"]
)


def _save_upload(upload) -> Path:
    """Write the upload to a temporary file in chunks (the importer streams from disk)."""
    folder = Path(tempfile.gettempdir()) / "esc_uploads"
    folder.mkdir(exist_ok=True)
    target = folder / f"{upload.file_id}{Path(upload.name).suffix}"
    if not target.exists():
        with open(target, "wb") as out:
            while chunk := upload.read(1 << 22):
                out.write(chunk)
    return target


with tab_import:
    if not ctx.user.can("import"):
        st.info(
            f"Your role ({ctx.user.role}) cannot import data; ask an admin.", icon=":material/lock:"
        )
    upload = st.file_uploader(
        "Export file",
        type=["csv", "tsv", "txt", "xlsx", "json", "jsonl", "ndjson", "parquet"],
        disabled=not ctx.user.can("import"),
        key="data_upload",
        help=f"Up to {settings.max_upload_mb:,.0f} MB. CSV/TSV (any delimiter, UTF-8/UTF-16/Latin-1), "
        "Excel .xlsx, JSON, JSON Lines or Parquet.",
    )
    if upload is not None:
        if upload.size > settings.max_upload_mb * 1024 * 1024:
            st.error(
                f"{upload.name} is {upload.size / 1e6:,.0f} MB; the limit is {settings.max_upload_mb:,.0f} MB "
                "(ESC_MAX_UPLOAD_MB). For larger files use `python -m analytics import FILE` "
                "while the app is stopped.",
                icon=":material/error:",
            )
            st.stop()
        path = _save_upload(upload)
        presets = ["auto", *PRESETS, "generic"]
        labels = {
            "auto": "Detect automatically",
            "generic": "Generic (match column names)",
            **{k: p.label for k, p in PRESETS.items()},
        }
        c1, c2, c3 = st.columns(3)
        preset = c1.selectbox("Preset", presets, format_func=labels.get, key="imp_preset")
        tz = c2.text_input(
            "Time zone of times without offset",
            value=settings.default_timezone,
            key="imp_tz",
            help="For example Europe/Berlin or America/Sao_Paulo. Times with an offset or Z are exact.",
        )
        delimiter = c3.selectbox("CSV delimiter", ["detect", ",", ";", "tab", "|"], key="imp_delim")
        delim = {"detect": None, "tab": "\t"}.get(delimiter, delimiter)
        try:
            preview = preview_file(con, path, preset=preset, delimiter=delim, timezone=tz or None)
        except Exception as exc:
            show_error(exc)
            st.stop()
        st.success(
            f"Recognised as **{labels.get(preview.preset, preview.preset)}** "
            f"({preview.format.upper()}{', ' + preview.encoding if preview.encoding else ''}).",
            icon=":material/check_circle:",
        )

        st.markdown("##### Column mapping")
        st.caption(
            "Which column of your file feeds each field. Leave empty to skip a field. "
            f"Required: {', '.join(REQUIRED)} and a subject or description."
        )
        current = {c.name: ", ".join(preview.mapping.columns.get(c.name, ())) for c in CASE_COLUMNS}
        table = pd.DataFrame(
            {
                "field": list(current),
                "description": [c.description for c in CASE_COLUMNS],
                "source column": list(current.values()),
            }
        )
        edited = st.data_editor(
            table,
            hide_index=True,
            key=f"imp_map_{upload.file_id}_{preset}",
            disabled=["field", "description"],
            column_config={
                "source column": st.column_config.SelectboxColumn(options=["", *preview.headers])
            },
        )
        changes = {
            row["field"]: row["source column"]
            for _, row in edited.iterrows()
            if (row["source column"] or "") != current[row["field"]]
        }
        mapping = None
        if changes:
            base = preview.mapping.to_dict()
            for fld, src in changes.items():
                if src:
                    base["columns"][fld] = [src]
                else:
                    base["columns"].pop(fld, None)
            mapping = Mapping.from_dict(base)
            try:
                preview = preview_file(
                    con, path, preset=preset, mapping=mapping, delimiter=delim, timezone=tz or None
                )
            except Exception as exc:
                show_error(exc)
                st.stop()

        st.markdown("##### Validation preview")
        m1, m2, m3 = st.columns(3)
        m1.metric("Rows checked", f"{preview.rows_checked:,}")
        m2.metric("Will load", f"{preview.valid:,}")
        m3.metric("Will be quarantined", f"{preview.invalid:,}")
        if len(preview.reasons):
            st.dataframe(preview.reasons, hide_index=True)
        if preview.unmapped:
            st.caption("Kept as extra fields: " + ", ".join(preview.unmapped[:30]))
        with st.expander("First rows after mapping (personal data redacted)"):
            st.dataframe(
                redact_frame(preview.sample.drop(columns=["extra"], errors="ignore")),
                hide_index=True,
            )

        if st.button("Import", type="primary", key="imp_go", icon=":material/upload:"):
            bar = st.progress(0.0, text="Starting…")
            try:
                result = import_file(
                    con,
                    path,
                    preset=preset,
                    mapping=mapping,
                    delimiter=delim,
                    timezone=tz or None,
                    user=ctx.user,
                    file_name=upload.name,
                    progress=lambda stage, frac: bar.progress(min(frac, 1.0), text=stage),
                )
                audit.record(con, ctx.user, "import", upload.name, result.summary())
            except Exception as exc:
                bar.empty()
                show_error(exc)
            else:
                st.cache_data.clear()
                st.success(result.summary(), icon=":material/task_alt:")
                path.unlink(missing_ok=True)
                if result.inserted and painpoints.fitted(con) is not None:
                    # New cases join the existing pain points now; a refit is the user's call.
                    try:
                        n = painpoints.assign_new_cases(
                            con,
                            progress=lambda stage, frac: bar.progress(min(frac, 1.0), text=stage),
                        )
                    except Exception as exc:
                        show_error(exc)
                    else:
                        if n:
                            st.info(
                                f"{n:,} new cases assigned to the existing pain points "
                                "(refit on the Pain points page to find new ones).",
                                icon=":material/bubble_chart:",
                            )
                if ctx.user.can("edit_alerts") and result.inserted + result.updated:
                    # New data: look for trends right away, recounting only the days it touched.
                    bar.progress(0.0, text="Scanning the new data for trending risks…")
                    try:
                        scan = trend_watch.scan_store(
                            con,
                            incremental=True,
                            progress=lambda stage, frac: bar.progress(min(frac, 1.0), text=stage),
                        )
                        summary = alert_scans.record_scan(con, scan, ctx.user)
                    except Exception as exc:
                        show_error(exc)
                    else:
                        bar.empty()
                        st.info(
                            f"Trend scan: {summary.new} new alerts, {summary.updated} updated, "
                            f"{summary.refired} fired again.",
                            icon=":material/trending_up:",
                        )
                        st.page_link(
                            "pages/4_Trending_risks.py",
                            label="Open Trending risks",
                            icon=":material/arrow_forward:",
                        )

with tab_history:
    history = import_history(con)
    if history.empty:
        st.caption("No imports yet.")
    else:
        sel = st.dataframe(
            history,
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="hist_table",
        )
        downloads(history, "import_history", key="dl_hist", user=ctx.user)
        rows = sel.selection.rows if sel and sel.selection else []
        if rows:
            chosen = history.iloc[rows[0]]
            if chosen["status"] == "deleted":
                st.caption(f"Import {chosen['import_id']} was deleted.")
            elif ctx.user.can("delete_import"):
                st.warning(
                    f"Delete import {chosen['import_id']} ({chosen['file_name']})? Cases it added are "
                    "removed and cases it changed go back to their earlier version."
                )
                if st.button("Delete this import", key="hist_delete", type="primary"):
                    try:
                        n = delete_import(con, int(chosen["import_id"]), ctx.user)
                        audit.record(
                            con, ctx.user, "delete_import", str(chosen["import_id"]), f"{n} cases"
                        )
                    except Exception as exc:
                        show_error(exc)
                    else:
                        st.cache_data.clear()
                        st.success(f"Deleted: {n:,} cases removed or restored.")
                        st.rerun()

with tab_quarantine:
    q = quarantine_rows(con, limit=5000)
    if q.empty:
        st.caption("No rows in quarantine: every imported row was stored.")
    else:
        st.caption(
            "Rows that could not be stored, with the reason. Fix them in the source and import again."
        )
        q_shown = redact_frame(q, ["raw"])
        st.dataframe(q_shown, hide_index=True)
        downloads(q_shown, "quarantine", key="dl_quar", user=ctx.user)

with tab_events:
    st.caption(
        "Releases, fixes, incidents and policy changes appear as markers on every time chart and "
        "as candidate explanations in the root-cause view."
    )
    if ctx.info.cases:
        ev = events.events_between(con, ctx.info.first_case.date(), ctx.info.last_case.date())
        st.dataframe(ev, hide_index=True)
    if ctx.user.can("edit_reviews"):
        with st.form("event_form", clear_on_submit=True):
            title = st.text_input("Title", placeholder="App release 38.0 / Policy update: satire")
            kind = st.selectbox("Kind", events.EVENT_KINDS)
            c1, c2 = st.columns(2)
            start = c1.date_input("Starts")
            end = c2.date_input("Ends (optional)", value=None)
            description = st.text_area("Description", height=80)
            if st.form_submit_button("Record event"):
                try:
                    events.add_event(
                        con,
                        ctx.user,
                        title,
                        kind,
                        datetime.combine(start, time()),
                        datetime.combine(end, time()) if end else None,
                        description,
                    )
                except Exception as exc:
                    show_error(exc)
                else:
                    st.cache_data.clear()
                    st.success("Event recorded.")
