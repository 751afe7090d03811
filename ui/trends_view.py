"""Trending risks page: cached loaders (ui.resources shape), figures and hand-offs.

Scans change state (they persist alerts), so they are never cached: :func:`run_scan` runs
in the user's own script thread with a progress bar. Alert lists are cached on a token of
the alerts table (:func:`alerts_version`) that changes with every scan and every action.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from analytics import alert_scans, alerts, alerts_report, cases, engine, trend_watch
from analytics.access import User
from analytics.alerts import Alert
from analytics.errors import DatabaseUnreadableError
from analytics.filters import Filters
from analytics.risk import WEIGHTS
from analytics.trend_watch import ScanOptions
from ui.resources import _connection

ROOT_CAUSE_PAGE = "pages/5_Root_cause.py"
POSTMORTEM_PAGE = "pages/6_Post-mortems.py"
RISK_COLOURS = {"critical": "#D63031", "high": "#E17055", "medium": "#FDCB6E", "low": "#B2BEC3"}

# Approximate centres (latitude, longitude) of the countries escalations usually come from,
# for a bubble map drawn without a base map: plotly's choropleth needs world shapes that the
# browser downloads from a CDN, and nothing may download at run time. Other countries are
# counted in the region bars.
_CENTRES = (
    "US 39 -98|CA 56 -106|MX 23 -102|BR -10 -52|AR -34 -64|CO 4 -73|CL -33 -71|PE -10 -76|"
    "VE 7 -66|EC -1.5 -78|GT 15.5 -90|CU 21.5 -79|DO 19 -70|BO -17 -65|PY -23 -58|UY -33 -56|"
    "CR 10 -84|PA 9 -80|HN 15 -86|SV 13.7 -89|NI 13 -85|PR 18.2 -66.5|JM 18.1 -77.3|"
    "GB 54 -2|IE 53 -8|FR 46 2|DE 51 10|ES 40 -4|PT 39.5 -8|IT 42.8 12.5|NL 52.2 5.3|"
    "BE 50.8 4.5|CH 46.8 8.2|AT 47.5 14.5|PL 52 19|CZ 49.8 15.5|SE 62 15|NO 61 8|DK 56 10|"
    "FI 64 26|GR 39 22|RO 46 25|HU 47 19.5|UA 49 32|RU 60 90|TR 39 35|IL 31 35|SA 24 45|"
    "AE 24 54|EG 26.8 30.8|MA 32 -6|NG 9 8|KE 0 38|ZA -29 24|ET 9 39|GH 8 -1|DZ 28 3|"
    "IQ 33 44|IR 32 53|PK 30 70|IN 21 78|ID -2 118|PH 13 122|JP 36 138|TH 15 101|VN 16 107|"
    "AU -25 134|KR 36 128|MY 4 102|SG 1.35 103.8|CN 35 105|TW 23.7 121|HK 22.3 114.2|"
    "BD 24 90|LK 7.9 80.7|NZ -41 174|MM 21 96|KH 12.5 105|NP 28 84|KZ 48 67"
)
CENTRES: dict[str, tuple[float, float]] = {
    code: (float(lat), float(lon))
    for code, lat, lon in (item.split() for item in _CENTRES.split("|"))
}
REGION_COLOURS = {"APAC": "#E17055", "EMEA": "#0984E3", "LATAM": "#00B894", "NA": "#6C5CE7"}


# --- loaders ------------------------------------------------------------------------------


def alerts_version(path: str) -> str:
    """Changes with every scan and every alert action (keys the alert caches)."""
    sql = (
        "SELECT (SELECT count(*) FROM trend_alerts), (SELECT coalesce(sum(version), 0) FROM "
        "trend_alerts), (SELECT coalesce(max(history_id), 0) FROM trend_alert_history), "
        "(SELECT coalesce(max(scan_id), 0) FROM trend_scans)"
    )
    try:
        row = _connection(path).cursor().execute(sql).fetchone()
    except duckdb.CatalogException as exc:
        raise DatabaseUnreadableError(
            "This database was created before the trending-risk tables existed (schema "
            "migration 4), so it has no place to keep alerts. Reload the demo or re-import "
            "your export into a new database file (ESC_DB_PATH)."
        ) from exc
    return "-".join(str(v) for v in row)


@st.cache_data(show_spinner=False, max_entries=32)
def load_alerts(path: str, alerts_ver: str) -> list[Alert]:
    return alerts.list_alerts(_connection(path))


@st.cache_data(show_spinner=False, max_entries=64)
def load_alert_history(path: str, alerts_ver: str, alert_id: int) -> pd.DataFrame:
    return alerts.history(_connection(path), alert_id)


@st.cache_data(show_spinner=False, max_entries=64)
def load_resolution(path: str, ver: str, alerts_ver: str, alert_id: int):
    con = _connection(path)
    return alerts_report.resolution_check(con, alerts.get_alert(con, alert_id))


@st.cache_data(show_spinner=False, max_entries=16)
def load_last_scan(path: str, alerts_ver: str) -> dict | None:
    row = (
        _connection(path)
        .cursor()
        .execute(
            "SELECT started_at, seconds, scan_mode, as_of, scope, series, detections, alerts_new, "
            "alerts_updated, user_name FROM trend_scans ORDER BY scan_id DESC LIMIT 1"
        )
        .fetchone()
    )
    keys = ("started_at", "seconds", "mode", "as_of", "scope", "series", "detections", "new",
            "updated", "user")  # fmt: skip
    return dict(zip(keys, row, strict=True)) if row else None


@st.cache_data(show_spinner="Looking for emerging terms…", max_entries=16)
def load_terms(path: str, ver: str, f: Filters | None, as_of: date) -> pd.DataFrame:
    """Emerging terms (read-only; sensitive texts count, only terms and case ids come back)."""
    opt = ScanOptions()
    fdr, _ = trend_watch.settings_floor(opt)
    t = engine.cases_table(_connection(path))
    found = trend_watch.emerging_now(t, f, as_of, opt, fdr)
    if found.empty:
        return found
    return found.assign(examples=found["examples"].map(lambda ids: tuple(list(ids)[:20])))


@st.cache_data(show_spinner=False, max_entries=64)
def load_examples(path: str, ver: str, ids: tuple[str, ...]) -> pd.DataFrame:
    """The cases behind an alert or term (shown through ``ui.render.safe_table``)."""
    if not ids:
        return pd.DataFrame()
    t = engine.cases_table(_connection(path))
    return cases.case_list(t, Filters(preset="all"), case_ids=list(ids), limit=len(ids))


def run_scan(path: str, f: Filters | None, user: User, bar, as_of: date | None = None) -> tuple:
    """Scan as of ``as_of`` and persist (never cached); ``bar`` is an ``st.progress`` element."""
    con = _connection(path)
    # incremental: reuse the count cache, recounting only days that imports touched since
    # the last scan (a full recount when an import was deleted or nothing is cached yet)
    result = trend_watch.scan_store(
        con, f, as_of=as_of, incremental=True,
        progress=lambda stage, x: bar.progress(min(1.0, max(0.0, x)), text=stage),
    )  # fmt: skip
    summary = alert_scans.record_scan(con, result, user)
    return result, summary


# --- what the page shows ------------------------------------------------------------------


def in_scope(alert: Alert, f: Filters | None) -> bool:
    """Alerts whose slice does not contradict the sidebar filters (dimension filters)."""
    if f is None:
        return True
    regions = set((alert.spread or {}).get("regions") or {})
    for name, values in f.dimension_values().items():
        if name in alert.slice:
            if not set(str(alert.slice[name]).split(",")) & set(values):
                return False
        elif name == "region" and regions and not regions & set(values):
            return False
    return True


def growth_text(alert: Alert) -> str:
    g = alert.growth
    return "new" if g is None or (isinstance(g, float) and math.isinf(g)) else f"{g:.1f}x"


def feed_frame(feed: list[Alert], today: date) -> pd.DataFrame:
    """The ranked feed as a table (with a sparkline column)."""
    rows = []
    for a in feed:
        regions = (a.spread or {}).get("regions") or {}
        total = sum(regions.values()) or 1
        rows.append({
            "id": a.alert_id, "risk": a.risk_score, "level": (a.risk or {}).get("level", ""),
            "trend": a.label, "status": a.status_label, "kind": a.kind, "since": a.onset,
            "last seen": a.last_detected, "cases": a.observed, "expected": a.expected,
            "growth": growth_text(a), "now/day": round(a.level, 1),
            "regions": ", ".join(f"{k} {v / total:.0%}" for k, v in list(regions.items())[:3]),
            "owner": f"{a.team} / {a.owner_name}" if a.team else "",
            "follow-up": ("due " if a.follow_up and a.follow_up <= today else "")
            + (str(a.follow_up) if a.follow_up else ""),
            "last 8 weeks": [v or 0 for v in (a.sparkline or {}).get("observed", [])],
        })  # fmt: skip
    return pd.DataFrame(rows)


def reason(alert: Alert) -> str:
    """Why it fired: observed vs expected, growth, significance and the risk sentence."""
    q = (
        "n/a"
        if alert.q_value is None
        else ("< 1e-12" if alert.q_value < 1e-12 else f"{alert.q_value:.1e}")
    )
    kind = (alert.kind or "").replace("_", " ")
    return (
        f"**{alert.observed or 0:,.0f} cases vs {alert.expected or 0:,.1f} expected** "
        f"({growth_text(alert)}) since {alert.onset:%d %b %Y}, first detected "
        f"{alert.first_detected:%d %b}; {kind}; significance q = {q} (Benjamini–Hochberg "
        f"across all series). {(alert.risk or {}).get('sentence', '')}"
    )


def sparkline_figure(alert: Alert, height: int = 260) -> go.Figure:
    line = alert.sparkline or {}
    days = pd.date_range(line.get("start", date.today()), periods=len(line.get("observed", [])))
    fig = go.Figure()
    fig.add_bar(x=days, y=line.get("observed", []), name="cases", marker_color="#0984E3")
    fig.add_scatter(x=days, y=line.get("expected", []), name="expected before the trend",
                    mode="lines", line={"color": "#636E72", "dash": "dot"})  # fmt: skip
    if alert.onset:
        fig.add_vline(x=pd.Timestamp(alert.onset), line_dash="dot", line_color="#D63031")
    fig.update_layout(height=height, margin={"t": 10, "b": 10, "l": 10, "r": 10},
                      legend={"orientation": "h", "y": -0.2}, bargap=0.1)  # fmt: skip
    return fig


def small_multiples(feed: list[Alert], n: int = 9) -> go.Figure:
    """Sparklines of the top alerts in one figure (observed bars, expected line)."""
    top = feed[:n]
    cols = 3
    rows = max(1, math.ceil(len(top) / cols))
    titles = [f"{a.label[:38]} ({a.risk_score or 0:.0f})" for a in top]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.12)
    for i, a in enumerate(top):
        line = a.sparkline or {}
        days = pd.date_range(line.get("start", date.today()), periods=len(line.get("observed", [])))
        level = (a.risk or {}).get("level", "low")
        fig.add_bar(x=days, y=line.get("observed", []), marker_color=RISK_COLOURS.get(level),
                    row=i // cols + 1, col=i % cols + 1, showlegend=False)  # fmt: skip
        fig.add_scatter(x=days, y=line.get("expected", []), mode="lines", showlegend=False,
                        line={"color": "#2D3436", "dash": "dot", "width": 1},
                        row=i // cols + 1, col=i % cols + 1)  # fmt: skip
    fig.update_layout(height=170 * rows + 40, margin={"t": 40, "b": 10}, bargap=0.05)
    fig.update_annotations(font_size=11)
    return fig


def risk_figure(alert: Alert) -> go.Figure:
    """The five risk components: points earned out of each weight."""
    risk = alert.risk or {}
    names = list(WEIGHTS)
    fig = go.Figure()
    fig.add_bar(y=names, x=[WEIGHTS[n] for n in names], orientation="h",
                marker_color="#DFE6E9", name="weight", hoverinfo="skip")  # fmt: skip
    fig.add_bar(y=names, x=[risk.get(n, 0) for n in names], orientation="h",
                marker_color="#D63031", name="points")  # fmt: skip
    fig.update_layout(barmode="overlay", height=200, margin={"t": 10, "b": 10},
                      showlegend=False, xaxis_title="points")  # fmt: skip
    return fig


def spread_frames(feed: list[Alert]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases behind the alerts per country (with map centres) and per region."""
    from analytics.geo import REGION_BY_COUNTRY

    countries: dict[str, int] = {}
    regions: dict[str, int] = {}
    for a in feed:
        for k, v in ((a.spread or {}).get("countries") or {}).items():
            countries[k] = countries.get(k, 0) + v
        for k, v in ((a.spread or {}).get("regions") or {}).items():
            regions[k] = regions.get(k, 0) + v
    by_country = pd.DataFrame({"country": list(countries), "cases": list(countries.values())})
    by_country["lat"] = by_country["country"].map(lambda c: CENTRES.get(c, (None, None))[0])
    by_country["lon"] = by_country["country"].map(lambda c: CENTRES.get(c, (None, None))[1])
    by_country["region"] = by_country["country"].map(REGION_BY_COUNTRY).fillna("other")
    by_region = pd.DataFrame({"region": list(regions), "cases": list(regions.values())})
    return by_country, by_region.sort_values("cases", ascending=False)


def spread_map(by_country: pd.DataFrame) -> go.Figure:
    """Countries as bubbles at their approximate centres (no base map: nothing to download)."""
    shown = by_country.dropna(subset=["lat", "lon"])
    fig = go.Figure()
    for region, part in shown.groupby("region"):
        fig.add_scatter(
            x=part["lon"], y=part["lat"], mode="markers+text", name=region,
            text=part["country"], textposition="middle center", textfont={"size": 9},
            marker={"size": 12 + 40 * (part["cases"] / max(shown["cases"].max(), 1)) ** 0.5,
                    "color": REGION_COLOURS.get(region, "#636E72"), "opacity": 0.7},
            customdata=part["cases"], hovertemplate="%{text}: %{customdata} cases<extra></extra>",
        )  # fmt: skip
    fig.update_xaxes(range=[-170, 180], showticklabels=False, zeroline=False,
                     gridcolor="#EEE", dtick=30)  # fmt: skip
    fig.update_yaxes(range=[-55, 75], showticklabels=False, zeroline=False,
                     gridcolor="#EEE", dtick=30, scaleanchor="x", scaleratio=1)  # fmt: skip
    fig.update_layout(height=380, margin={"t": 10, "b": 10, "l": 0, "r": 0},
                      legend={"orientation": "h", "y": -0.05}, plot_bgcolor="white")  # fmt: skip
    return fig


def region_bar(by_region: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=by_region["region"], y=by_region["cases"], marker_color="#D63031"))
    fig.update_layout(height=260, margin={"t": 10, "b": 10}, yaxis_title="cases behind alerts")
    return fig


def terms_frame(terms: pd.DataFrame) -> pd.DataFrame:
    if terms.empty:
        return terms
    out = terms[["term", "kind", "status", "recent_count", "baseline_count", "ratio",
                 "q_value", "n_regions", "top_region_share", "first_seen"]].copy()  # fmt: skip
    out["regions"] = terms["regions"].map(lambda d: ", ".join(f"{k} {v}" for k, v in d.items()))
    return out


# --- hand-offs ----------------------------------------------------------------------------


def root_cause_query(alert: Alert) -> dict[str, str]:
    """``rc_*`` parameters of the root-cause page for the alert's window."""
    start = alert.onset or alert.first_detected or date.today()
    end = alert.last_detected or start
    return {"rc_metric": "volume", "rc_from": start.isoformat(), "rc_to": end.isoformat(),
            "rc_baseline": "previous"}  # fmt: skip


def root_cause_filters(alert: Alert, f: Filters | None) -> Filters:
    """The alert's slice as sidebar filters over its window (a custom date range)."""
    from dataclasses import replace

    scope = alerts_report.alert_filters(alert)
    q = root_cause_query(alert)
    base = replace(scope, preset="custom", start=date.fromisoformat(q["rc_from"]),
                   end=date.fromisoformat(q["rc_to"]))  # fmt: skip
    return base


def postmortem_seed(alert: Alert) -> dict:
    """What the post-mortem page starts from (see analytics.postmortem_seed.draft_from_alert)."""
    start = alert.onset or alert.first_detected or date.today()
    end = alert.last_detected or start
    return {
        "source": "alert",
        "title": f"Trending risk: {alert.label}"[:200],
        "window": [start.isoformat(), end.isoformat()],
        "scope": alerts_report.alert_filters(alert).to_query(),
        "observed": alert.observed,
        "expected": alert.expected,
        "alert_id": alert.alert_id,
        "fired_at": str(alert.fired_on or alert.first_detected or ""),
        "headline": (alert.risk or {}).get("sentence", ""),
        "metric": "volume",
    }


def digest(path: str, ver: str, feed: list[Alert], as_of: date, today: date):
    """Markdown and CSV of the hand-over (resolution checks included)."""
    con = _connection(path)
    checks = {a.alert_id: alerts_report.resolution_check(con, a, as_of=as_of)
              for a in feed if a.status == "resolved"}  # fmt: skip
    md = alerts_report.digest_markdown(feed, as_of, checks=checks, today=today)
    return md, alerts_report.digest_frame(feed, checks)


def page_exists(page: str) -> bool:
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / page).exists()


def default_follow_up(today: date) -> date:
    return today + timedelta(days=3)
