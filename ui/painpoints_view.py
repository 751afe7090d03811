"""Cached loaders and figures for the Pain points page (the ui/resources.py shape)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import cases, engine, painpoint_metrics, painpoints
from analytics.filters import Filters
from ui.resources import _connection


def pp_version(path: str) -> str:
    """Changes after a fit or a curation (renames, merges), besides imports."""
    return painpoints.state_version(_connection(path))


@st.cache_data(show_spinner=False, max_entries=32)
def load_state(path: str, ver: str, pver: str):
    con = _connection(path)
    return painpoints.fitted(con), painpoints.pain_points(con), painpoints.curation_state(con)


@st.cache_data(show_spinner=False, max_entries=64)
def load_summary(path: str, ver: str, pver: str, f: Filters) -> pd.DataFrame:
    con = _connection(path)
    _fit, names, (_renames, merges) = load_state(path, ver, pver)
    return painpoint_metrics.summary(
        engine.cases_table(con),
        f,
        names,
        merges,
        assignments=engine.table(con, painpoint_metrics.ASSIGNMENTS),
    )


@st.cache_data(show_spinner=False, max_entries=64)
def load_trend(path: str, ver: str, pver: str, f: Filters, ids: tuple[int, ...]) -> pd.DataFrame:
    con = _connection(path)
    return painpoint_metrics.weekly_trend(
        engine.cases_table(con),
        f,
        list(ids),
        assignments=engine.table(con, painpoint_metrics.ASSIGNMENTS),
    )


@st.cache_data(show_spinner=False, max_entries=32)
def load_map(path: str, ver: str, pver: str) -> pd.DataFrame:
    con = _connection(path)
    _fit, names, (_renames, merges) = load_state(path, ver, pver)
    sizes = dict(zip(names["pain_point"], names["size"], strict=True))
    cmap = painpoint_metrics.cluster_map(painpoints.centroids(con), sizes)
    return cmap.merge(names[["pain_point", "name"]], on="pain_point", how="left")


@st.cache_data(show_spinner=False, max_entries=64)
def load_representatives(path: str, ver: str, ids: tuple[str, ...]) -> pd.DataFrame:
    t = engine.cases_table(_connection(path))
    f = Filters(preset="all").resolve(None)
    return cases.case_list(
        t, Filters(preset="custom", start=f.start, end=f.end), case_ids=list(ids), limit=len(ids)
    )


@st.cache_data(show_spinner=False, max_entries=32)
def load_lineage(path: str, pver: str, pain_point: int) -> pd.DataFrame:
    return painpoints.lineage_of(_connection(path), pain_point)


def map_figure(cmap: pd.DataFrame, selected: int | None) -> go.Figure:
    df = cmap.assign(selected=cmap["pain_point"] == selected)
    fig = px.scatter(
        df,
        x="x",
        y="y",
        size="size",
        hover_name="name",
        color="selected",
        color_discrete_map={True: "#D63031", False: "#3559E0"},
        size_max=48,
        custom_data=["pain_point"],
    )
    fig.update_layout(
        height=420,
        showlegend=False,
        margin={"t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    fig.update_traces(hovertemplate="%{hovertext}<br>%{marker.size:,} cases<extra></extra>")
    return fig


def trend_figure(trend: pd.DataFrame, names: dict[int, str]) -> go.Figure:
    df = trend.assign(name=trend["pain_point"].map(lambda p: names.get(int(p), str(p))))
    fig = px.line(
        df, x="week", y="cases", color="name", markers=True, labels={"week": "", "name": ""}
    )
    fig.update_layout(height=300, margin={"t": 10, "b": 10}, legend={"orientation": "h", "y": -0.2})
    return fig
