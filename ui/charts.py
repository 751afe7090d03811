"""Plotly figures for the pages (built from ready DataFrames; no data wrangling here)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

DOW = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_EVENT_COLOURS = {
    "release": "#6C5CE7",
    "fix": "#00A36C",
    "major_event": "#D63031",
    "incident": "#E17055",
    "policy_change": "#0984E3",
    "holiday": "#636E72",
}


def add_events(fig: go.Figure, events: pd.DataFrame | None) -> go.Figure:
    """Mark events on a time axis: a line at the start, a shaded span if it lasted."""
    if events is None or events.empty:
        return fig
    for ev in events.itertuples():
        colour = _EVENT_COLOURS.get(ev.kind, "#636E72")
        start = pd.Timestamp(ev.starts_at)
        end = pd.Timestamp(ev.ends_at) if pd.notna(ev.ends_at) else None
        if end is not None and end - start > pd.Timedelta(days=1):
            fig.add_vrect(x0=start, x1=end, fillcolor=colour, opacity=0.08, line_width=0)
        fig.add_vline(x=start, line_width=1, line_dash="dot", line_color=colour)
        fig.add_annotation(
            x=start,
            y=1,
            yref="paper",
            text=str(ev.title)[:40],
            showarrow=False,
            textangle=-90,
            xanchor="right",
            yanchor="top",
            font={"size": 10, "color": colour},
        )
    return fig


def volume_chart(
    trend: pd.DataFrame, events: pd.DataFrame | None, freq: str, split: bool
) -> go.Figure:
    """Stacked bars of cases per day/week (click a bar to see its cases)."""
    fig = px.bar(
        trend,
        x="period",
        y="cases",
        color="group" if split else None,
        labels={"period": "Week" if freq == "W" else "Day", "cases": "Cases", "group": ""},
        custom_data=["group"],
    )
    fig.update_layout(
        barmode="stack",
        bargap=0.1,
        height=380,
        margin={"t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.15},
        hovermode="closest",
        clickmode="event+select",
    )
    return add_events(fig, events)


def heatmap_chart(heat: pd.DataFrame) -> go.Figure:
    pivot = heat.pivot(index="dow", columns="hour", values="cases").reindex(range(7))
    fig = go.Figure(
        go.Heatmap(
            z=pivot.values,
            x=[f"{h:02d}" for h in pivot.columns],
            y=DOW,
            colorscale="Blues",
            hovertemplate="%{y} %{x}:00 UTC: %{z} cases<extra></extra>",
        )
    )
    fig.update_layout(
        height=300,
        margin={"t": 10, "b": 10},
        xaxis_title="Hour (UTC)",
        yaxis={"autorange": "reversed"},
    )
    return fig


def movers_chart(movers: pd.DataFrame, dimension: str) -> go.Figure:
    df = movers.iloc[::-1]
    colours = ["#D63031" if c > 0 else "#00A36C" for c in df["change"]]
    fig = go.Figure(
        go.Bar(
            x=df["change"],
            y=df["value"],
            orientation="h",
            marker_color=colours,
            customdata=df[["current", "previous"]],
            hovertemplate="%{y}: %{customdata[1]} → %{customdata[0]} (%{x:+})<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(240, 28 * len(df)),
        margin={"t": 10, "b": 10},
        xaxis_title="Change in cases vs previous period",
        yaxis_title=dimension.replace("_", " "),
    )
    return fig


def day_type_chart(load: pd.DataFrame) -> go.Figure:
    fig = px.bar(
        load,
        x="day_type",
        y="cases_per_day",
        color="day_type",
        color_discrete_map={
            "weekday": "#0984E3",
            "weekend": "#74B9FF",
            "public holiday": "#E17055",
        },
        hover_data={"sla_breach_rate": ":.1%", "resolution_median_h": ":.1f", "days": True},
        labels={"day_type": "", "cases_per_day": "Cases per region-day"},
    )
    fig.update_layout(height=280, showlegend=False, margin={"t": 10, "b": 10})
    return fig


def share_bar(df: pd.DataFrame, label: str, value: str, title: str) -> go.Figure:
    fig = px.bar(
        df.head(12).iloc[::-1], x=value, y=label, orientation="h", labels={label: "", value: title}
    )
    fig.update_layout(height=max(200, 26 * min(len(df), 12)), margin={"t": 10, "b": 10})
    return fig


def selected_point(event) -> dict | None:
    """The first clicked point of a plotly selection event: {"x": ..., "group": ...}."""
    try:
        points = event.selection.points
    except AttributeError:
        return None
    if not points:
        return None
    p = points[0]
    group = p.get("legendgroup") or (p.get("customdata") or [None])[0]
    return {"x": p.get("x"), "group": group, "y": p.get("y")}


def waterfall_chart(
    steps: pd.DataFrame,
    *,
    y_title: str = "",
    tickformat: str | None = None,
    height: int = 360,
    zoom: bool = True,
) -> go.Figure:
    """A waterfall from ``label``, ``value`` and ``measure`` ("absolute", "relative", "total").

    Optional ``text`` (shown on the bars) and ``hover`` columns. Rises are red and falls green
    (for escalation metrics more is worse); the totals are grey. ``zoom`` starts the y axis
    near the lowest level when the steps are small against the totals (the axis then does
    not start at zero, which the steps would otherwise be too thin to read against).
    """
    fig = go.Figure(
        go.Waterfall(
            x=steps["label"],
            y=steps["value"],
            measure=steps["measure"],
            text=steps.get("text"),
            textposition="outside",
            hovertext=steps.get("hover"),
            hoverinfo="text" if "hover" in steps else "x+y",
            increasing={"marker": {"color": "#D63031"}},
            decreasing={"marker": {"color": "#00A36C"}},
            totals={"marker": {"color": "#636E72"}},
            connector={"line": {"color": "#B2BEC3", "width": 1}},
        )
    )
    yaxis = {"title": y_title, "tickformat": tickformat}
    levels, level = [], 0.0
    for value, measure in zip(steps["value"], steps["measure"], strict=True):
        level = value if measure in ("absolute", "total") else level + value
        levels.append(level)
    lo, hi = min(levels), max(levels)
    if zoom and lo > 0 and hi - lo < 0.5 * hi:
        pad = (hi - lo) * 0.6 or 0.1 * hi
        yaxis["range"] = [max(lo - pad, 0), hi + pad * 0.5]
    fig.update_layout(
        height=height, margin={"t": 30, "b": 10}, showlegend=False, yaxis=yaxis, waterfallgap=0.3
    )
    return fig
