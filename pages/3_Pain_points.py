"""Pain points: what users escalate about, clustered from the case text."""

from __future__ import annotations

import streamlit as st

from analytics import painpoints
from analytics.config import get_settings
from analytics.embeddings import embedding_stack_available
from ui import painpoints_view as view
from ui import resources
from ui.page import require_data, setup, show_error
from ui.render import downloads, empty_state, safe_table
from ui.sidebar import set_filters

ctx = setup("Pain points", ":material/bubble_chart:")
require_data(ctx)
f, path, ver = ctx.filters, ctx.db_path, ctx.version
con = resources.connection()
pver = view.pp_version(path)
fit, names, (renames, merges) = view.load_state(path, ver, pver)

# --- Model status and refit -----------------------------------------------------------------
with st.container(border=True):
    left, right = st.columns([3, 2])
    with left:
        if fit is None:
            st.markdown(
                "**No pain points yet.** Fit them from the case text to see what users "
                "escalate about."
            )
        else:
            st.markdown(
                f"**{fit['n_clusters']} pain points** from {fit['n_cases']:,} cases · fitted "
                f"{fit['fitted_at']:%d %b %Y %H:%M} UTC by {fit['user_name']} · "
                f"{fit['unassigned']:,} cases far from every pain point are *unassigned*"
            )
            st.caption(
                f"Text representation: **{fit['representation']}** · granularity: "
                f"**{fit.get('granularity') or 'specific'}**"
            )
    with right:
        sentence = embedding_stack_available()
        options = {
            "sentence": "Sentence embeddings (all-MiniLM-L6-v2)",
            "lsa": "TF-IDF + LSA (fast fallback)",
        }
        if not sentence:
            options.pop("sentence")
            st.caption(
                "The sentence-embedding stack is not installed: using the TF-IDF/LSA fallback."
            )
        kind = st.selectbox(
            "Representation",
            list(options),
            format_func=options.get,
            key="pp_kind",
            help="Sentence embeddings group paraphrases better; each new case text is "
            "embedded once (60-250 texts/s on 2 CPU cores, depending on length) and stored.",
        )
        granularity = st.segmented_control(
            "Granularity",
            ["broad", "specific"],
            default=get_settings().painpoint_granularity,
            format_func={"broad": "Broad themes", "specific": "Specific issues"}.get,
            key="pp_granularity",
            help="Broad joins clusters about the same complaint however it is phrased; "
            "specific keeps every distinct issue the text supports (more, smaller pain points).",
        )
        model_name = painpoints.make_embedder(kind).name
        pending = painpoints.pending_texts(con, model_name) if kind == "sentence" else 0
        if pending:
            minutes = painpoints.embedding_seconds(con, model_name, pending) / 60
            st.caption(
                f"{pending:,} case texts to embed first (about {max(minutes, 1):.0f} min, "
                "once: stored for every later refit)."
            )
        if st.button(
            "Refit pain points" if fit else "Fit pain points",
            type="primary",
            key="pp_fit",
            disabled=not ctx.user.can("refit"),
            icon=":material/model_training:",
        ):
            bar = st.progress(0.0, text="Starting…")
            try:
                result = painpoints.fit(
                    con,
                    ctx.user,
                    embedder=painpoints.make_embedder(kind),
                    granularity=granularity or "broad",
                    progress=lambda stage, frac: bar.progress(min(frac, 1.0), text=stage),
                )
            except Exception as exc:
                bar.empty()
                show_error(exc)
            else:
                st.cache_data.clear()
                st.success(
                    f"{result.n_clusters} pain points ({result.kept} kept their identity, "
                    f"{result.born} new, {result.gone} gone) in {result.seconds:.0f} s."
                )
                st.rerun()
if fit is None:
    st.stop()

summary = view.load_summary(path, ver, pver, f)
if summary.empty or summary["cases"].sum() == 0:
    empty_state(
        "No cases match these filters. Widen the period or clear some filters in the sidebar."
    )
    st.stop()

# --- Ranked table and map ---------------------------------------------------------------------
st.subheader("Ranked by impact")
st.caption(
    f"{f.describe()} · impact = size (40) + growth vs the previous {f.days} days (30) + cost (30): "
    "SLA breaches, overturns and handling time, each ranked among the pain points."
)
shown = summary[summary["cases"] > 0]
table = st.dataframe(
    shown,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="pp_table",
    column_config={
        "pain_point": st.column_config.NumberColumn("id", width="small"),
        "share": st.column_config.NumberColumn(format="percent"),
        "growth": st.column_config.NumberColumn(format="percent"),
        "sla_breach_rate": st.column_config.NumberColumn("SLA breach", format="percent"),
        "overturn_rate": st.column_config.NumberColumn("overturn", format="percent"),
        "reopen_rate": st.column_config.NumberColumn("reopen", format="percent"),
        "resolution_median_h": st.column_config.NumberColumn("resolution h", format="%.1f"),
        "csat": st.column_config.NumberColumn(format="%.2f"),
        "impact": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f"),
    },
)
downloads(shown, "pain_points", key="dl_pp", user=ctx.user)
rows = table.selection.rows if table and table.selection else []
selected = int(shown.iloc[rows[0]]["pain_point"]) if rows else int(shown.iloc[0]["pain_point"])

left, right = st.columns([2, 3])
with left:
    st.subheader("Map")
    st.caption("Pain points close together are about similar things; size = cases.")
    event = st.plotly_chart(
        view.map_figure(view.load_map(path, ver, pver), selected),
        key="pp_map",
        on_select="rerun",
        selection_mode="points",
    )
    try:
        clicked = event.selection.points[0]["customdata"][0]
        selected = int(clicked)
    except (AttributeError, IndexError, KeyError, TypeError):
        pass

# --- Detail -------------------------------------------------------------------------------------
info = names.set_index("pain_point").loc[selected] if selected in set(names["pain_point"]) else None
row = (
    summary.set_index("pain_point").loc[selected]
    if selected in set(summary["pain_point"])
    else None
)
with right:
    title = (
        "(unassigned)"
        if selected == -1
        else (info["name"] if info is not None else f"pain point {selected}")
    )
    st.subheader(title)
    if info is not None:
        st.caption("Keywords: " + ", ".join(t for t, _w in info["top_terms"][:10]))
        if info["merged_from"]:
            st.caption("Merged from: " + ", ".join(str(i) for i in info["merged_from"]))
    if row is not None:
        with st.container(horizontal=True):
            st.metric("Cases", f"{int(row['cases']):,}", border=True)
            st.metric("Share", f"{row['share']:.1%}", border=True)
            for label, rate in (("SLA breach", "sla_breach_rate"), ("Overturn", "overturn_rate")):
                value = row[rate]
                st.metric(label, "–" if value != value else f"{value:.0%}", border=True)
        st.caption(
            f"Regions: {row['regions']} · channels: {row['channels']} · policies: {row['policies']}"
        )
    ids = tuple(painpoints.members(con, selected)) if selected != -1 else (-1,)
    trend = view.load_trend(path, ver, pver, f, ids)
    if not trend.empty:
        st.plotly_chart(
            view.trend_figure(trend.assign(pain_point=selected), {selected: title}), key="pp_trend"
        )
    if st.button("Open these cases", icon=":material/open_in_new:", key="pp_open"):
        set_filters(f.with_drill(pain_point=",".join(str(i) for i in ids)))
        st.switch_page("pages/2_Cases.py")

if info is not None:
    st.markdown("**Representative cases** (personal data redacted, sensitive cases hidden)")
    reps = view.load_representatives(path, ver, tuple(info["representative_case_ids"]))
    st.dataframe(
        safe_table(
            reps[["case_id", "created_at", "region", "subject", "description", "sensitive"]]
        ),
        hide_index=True,
    )

    c1, c2 = st.columns(2)
    with c1, st.form("pp_rename"):
        new_name = st.text_input("Rename", value=str(info["name"]), max_chars=120)
        if st.form_submit_button("Save name", disabled=not ctx.user.can("curate_pain_points")):
            try:
                painpoints.rename(con, ctx.user, selected, new_name)
            except Exception as exc:
                show_error(exc)
            else:
                st.cache_data.clear()
                st.rerun()
    with c2, st.form("pp_merge"):
        others = [int(p) for p in names["pain_point"] if int(p) != selected]
        label = dict(zip(names["pain_point"], names["name"], strict=True))
        into = st.multiselect(
            "Merge into this one", others, format_func=lambda p: f"{p}: {label.get(p, p)}"
        )
        if st.form_submit_button("Merge", disabled=not ctx.user.can("curate_pain_points")):
            try:
                painpoints.merge(con, ctx.user, into, selected)
            except Exception as exc:
                show_error(exc)
            else:
                st.cache_data.clear()
                st.rerun()
    with st.expander("Lineage: how this pain point came about across refits"):
        lin = view.load_lineage(path, pver, selected)
        if lin.empty:
            st.caption("No lineage recorded yet.")
        else:
            st.dataframe(lin, hide_index=True)
