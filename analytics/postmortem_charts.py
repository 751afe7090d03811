"""Charts of a review, shared by the page and the exports (plotly; PNG for Word and PDF).

They live here rather than in ``ui/charts.py`` because the exports (in ``analytics``)
embed them and ``analytics`` must not import ``ui``. The PNG drawings use Pillow
(already a Streamlit dependency), so Word and PDF files get a chart without a browser
or ``kaleido``.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go

KIND_COLOURS = {
    "first signal": "#E17055",
    "alert": "#D63031",
    "peak": "#2D3436",
    "ticket": "#6C5CE7",
    "fix": "#00A36C",
    "release": "#6C5CE7",
    "recovery": "#0984E3",
    "holiday": "#636E72",
    "major_event": "#D63031",
}


LABELLED_KINDS = {
    "first signal": "first signal",
    "alert": "alert",
    "peak": "peak",
    "fix": "fix",
    "recovery": "back to baseline",
}


def signal_figure(
    series: pd.DataFrame,
    timeline: pd.DataFrame | None,
    window: tuple[date, date],
    label: str,
) -> go.Figure:
    """Daily series with its baseline band, the event window shaded and timeline marks."""
    x = pd.to_datetime(series["day"])
    fig = go.Figure()
    upper = series["baseline"] + 3 * series["spread"]
    fig.add_trace(
        go.Scatter(
            x=x, y=upper, line={"width": 0}, hoverinfo="skip", showlegend=False, name="upper"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=series["baseline"],
            fill="tonexty",
            fillcolor="rgba(9,132,227,0.12)",
            line={"color": "#74B9FF", "dash": "dot"},
            name="Baseline (28-day median, frozen at the first signal) and alert band",
        )
    )
    fig.add_trace(go.Bar(x=x, y=series["value"], name=label, marker_color="#2D3436", opacity=0.75))
    fig.add_vrect(
        x0=pd.Timestamp(window[0]),
        x1=pd.Timestamp(window[1]) + pd.Timedelta(days=1),
        fillcolor="#FDCB6E",
        opacity=0.15,
        line_width=0,
    )
    if timeline is not None and not timeline.empty:
        top = float(max(series["value"].max(), upper.max(skipna=True) or 0, 1)) * 1.08
        tl = timeline.assign(at=pd.to_datetime(timeline["at"]))
        # Every entry is a marker on top (hover for its title); the key moments get a label.
        fig.add_trace(
            go.Scatter(
                x=tl["at"],
                y=[top] * len(tl),
                mode="markers",
                marker={
                    "symbol": "triangle-down",
                    "size": 11,
                    "color": [KIND_COLOURS.get(str(k), "#636E72") for k in tl["kind"]],
                },
                hovertext=[f"{k}: {t}" for k, t in zip(tl["kind"], tl["title"], strict=True)],
                hoverinfo="text+x",
                name="Timeline",
            )
        )
        labelled = tl[tl["kind"].isin(LABELLED_KINDS)]
        for n, e in enumerate(labelled.itertuples()):
            colour = KIND_COLOURS.get(str(e.kind), "#636E72")
            fig.add_vline(x=e.at, line_width=1, line_dash="dot", line_color=colour)
            fig.add_annotation(
                x=e.at,
                y=1 - 0.08 * (n % 3),
                yref="paper",
                text=LABELLED_KINDS[str(e.kind)],
                showarrow=False,
                xanchor="left",
                yanchor="top",
                bgcolor="rgba(255,255,255,0.8)",
                font={"size": 10, "color": colour},
            )
    fig.update_layout(
        height=360,
        margin={"t": 20, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "y": -0.15},
        yaxis_title=label,
        bargap=0.1,
    )
    return fig


def verification_figure(weekly: pd.DataFrame, done_on: date, label: str) -> go.Figure:
    """Weekly bins before and after the done date."""
    colours = ["#B2BEC3" if d < done_on else "#0984E3" for d in weekly["week_start"]]
    # Each bar spans its 7 days, so the done-date line falls between the before and after bars.
    fig = go.Figure(
        go.Bar(
            x=pd.to_datetime(weekly["week_start"]) + pd.Timedelta(hours=84),
            y=weekly["value"],
            width=7 * 86_400_000 * 0.9,
            marker_color=colours,
            customdata=weekly[["cases"]],
            hovertemplate="Week around %{x|%d %b}: %{y:.3g} (%{customdata[0]} cases)<extra></extra>",
        )
    )
    fig.add_vline(x=pd.Timestamp(done_on), line_dash="dash", line_color="#00A36C")
    fig.update_layout(height=240, margin={"t": 10, "b": 10}, yaxis_title=label, xaxis_title="")
    return fig


def signal_png(
    series: pd.DataFrame,
    marks: list[tuple[datetime, str]] | None = None,
    window: tuple[date, date] | None = None,
    size: tuple[int, int] = (1200, 420),
) -> bytes:
    """The daily series as a plain PNG bar chart with baseline and marks (for Word and PDF)."""
    from PIL import Image, ImageDraw

    w, h = size
    left, right, top, bottom = 60, 20, 20, 50
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    if series.empty:
        draw.text((left, h // 2), "No data", fill="black")
        return _png(img)
    days = list(pd.to_datetime(series["day"]))
    values = series["value"].astype(float).tolist()
    top_value = max(max(values), float(series["baseline"].max() or 0), 1.0) * 1.1
    n = len(days)
    plot_w, plot_h = w - left - right, h - top - bottom

    def xpos(i: float) -> float:
        return left + plot_w * i / max(n, 1)

    def ypos(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    if window:
        lo = next((i for i, d in enumerate(days) if d.date() >= window[0]), 0)
        hi = next((i for i, d in enumerate(days) if d.date() > window[1]), n)
        draw.rectangle([xpos(lo), top, xpos(hi), top + plot_h], fill=(255, 243, 205))
    bar = max(plot_w / max(n, 1) * 0.8, 1)
    for i, v in enumerate(values):
        draw.rectangle([xpos(i), ypos(v), xpos(i) + bar, ypos(0)], fill=(45, 52, 54))
    base = series["baseline"].tolist()
    pts = [(xpos(i) + bar / 2, ypos(b)) for i, b in enumerate(base) if pd.notna(b)]
    if len(pts) > 1:
        draw.line(pts, fill=(9, 132, 227), width=2)
    draw.line([left, ypos(0), w - right, ypos(0)], fill="black")
    draw.line([left, top, left, ypos(0)], fill="black")
    for frac in (0.5, 1.0):
        v = top_value / 1.1 * frac
        draw.text((4, ypos(v) - 6), f"{v:.0f}", fill="black")
    step = max(n // 6, 1)
    for i in range(0, n, step):
        draw.text((xpos(i), h - bottom + 8), days[i].strftime("%d %b"), fill="black")
    for k, (at, kind) in enumerate(marks or []):
        stamp = pd.Timestamp(at)
        i = next((j for j, d in enumerate(days) if d.date() >= stamp.date()), None)
        if i is None:
            continue
        colour = KIND_COLOURS.get(kind, "#636E72")
        draw.line([xpos(i), top, xpos(i), ypos(0)], fill=colour, width=2)
        draw.text((xpos(i) + 3, top + 2 + 12 * (k % 5)), kind[:14], fill=colour)  # staggered
    return _png(img)


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
