"""Impact of an event: the numbers of a review's window and scope, and candidate causes.

Impact numbers reuse :mod:`analytics.metrics` for the review's window and scope (so a
review says exactly what the Overview shows for the same filters); the few figures
the dashboard does not show (breach counts, backlog peak) are Ibis queries using the
same definitions. The daily signal and the data timeline are in
:mod:`analytics.postmortem_signal`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics import metrics
from analytics.filters import Filters, apply

MAX_BACKLOG_POINTS = 120
CANDIDATE_DIMENSIONS = ("category", "app_version", "product_surface", "country", "channel")


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


def _ts(d: date) -> ibis.Expr:
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


# --- Impact -------------------------------------------------------------------------------------


def backlog_series(t: ibis.Table, f: Filters) -> pd.DataFrame:
    """Open backlog at the end of each day of the window (metrics' definition of "open").

    One scan computes every day's count as a column. Windows longer than
    ``MAX_BACKLOG_POINTS`` days are sampled evenly (the last day is always included).
    Columns: day, backlog.
    """
    days = pd.date_range(f.start, f.end, freq="D").date
    if len(days) > MAX_BACKLOG_POINTS:
        step = int(np.ceil(len(days) / MAX_BACKLOG_POINTS))
        days = days[::-1][::step][::-1]  # keep the last day (the window's end)
    scoped = apply(t, f, dates=False)
    cuts = {f"d{i}": _ts(d + timedelta(days=1)) for i, d in enumerate(days)}
    row = (
        scoped.aggregate(
            **{name: metrics.open_at(scoped, cut).cast("int64").sum() for name, cut in cuts.items()}
        )
        .execute()
        .iloc[0]
    )
    return pd.DataFrame(
        {"day": list(days), "backlog": [int(row[n] or 0) for n in cuts]},
    )


LEAF_DIMENSIONS = ("region", "country", *CANDIDATE_DIMENSIONS)


def leaf_counts(t: ibis.Table, f: Filters, dims: tuple[str, ...] = LEAF_DIMENSIONS) -> pd.DataFrame:
    """Cases per combination of ``dims`` in the window and the previous equal window.

    One query instead of one :func:`analytics.metrics.top_movers` call per dimension (Ibis
    compiles each query in ~50 ms); values are counted exactly as ``top_movers`` counts them.
    Columns: the dims, period ("current"/"previous"), n.
    """
    prev = f.previous()
    scoped = apply(t, f, dates=False)
    start, end_excl = _ts(f.start), _ts(f.end + timedelta(days=1))
    rng = scoped.filter(_.created_at >= _ts(prev.start), _.created_at < end_excl)
    keys = {d: rng[d].cast("string").fill_null("(none)") for d in dims if d in rng.columns}
    period = ibis.ifelse(rng.created_at >= start, "current", "previous")
    return rng.group_by(period=period, **keys).aggregate(n=_.count()).execute()


def movers_frame(leaves: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """``top_movers``-shaped counts of one dimension: value, current, previous, change, change_pct."""
    columns = ["value", "current", "previous", "change", "change_pct"]
    if leaves.empty or dimension not in leaves.columns:
        return pd.DataFrame(columns=columns)
    wide = leaves.pivot_table(index=dimension, columns="period", values="n", aggfunc="sum")
    wide = wide.reindex(columns=["current", "previous"]).fillna(0).astype(int)
    df = wide.reset_index().rename(columns={dimension: "value"})
    df["change"] = df["current"] - df["previous"]
    df["change_pct"] = df["change"] / df["previous"].where(df["previous"] > 0)
    return df[columns]


def impact(t: ibis.Table, f: Filters, leaves: pd.DataFrame | None = None) -> dict:
    """The impact facts of a window and scope (JSON-serialisable; rates are fractions).

    ``cases``, ``sla_breach_rate``, ``resolution_median_h``/``_p90_h``,
    ``first_response_median_h``, ``backlog_end``, ``overturn_rate`` and their ``*_previous``
    come from :func:`analytics.metrics.kpis`; DSA figures from
    :func:`analytics.metrics.regulatory_view`; regions and markets count like
    :func:`analytics.metrics.top_movers` (from one :func:`leaf_counts` query).
    """
    k = metrics.kpis(t, f).set_index("key")
    scoped = apply(t, f)
    decided = scoped.appeal_outcome.isin(["overturned", "upheld"])
    counts = (
        scoped.aggregate(
            sla_breaches=scoped.sla_breached.cast("int64").sum(),
            overturns=(decided & scoped.overturned.fill_null(False)).cast("int64").sum(),
            appeals_decided=decided.cast("int64").sum(),
        )
        .execute()
        .iloc[0]
    )
    reg = metrics.regulatory_view(t, f)
    reg_scoped = scoped.filter(_.queue.isin(list(metrics.REGULATORY_QUEUES)))
    dsa_breaches = reg_scoped.aggregate(n=reg_scoped.sla_breached.cast("int64").sum()).execute()
    backlog = backlog_series(t, f)
    peak = backlog.loc[backlog["backlog"].idxmax()] if not backlog.empty else None

    leaves = leaves if leaves is not None else leaf_counts(t, f)

    def movers(dimension: str, n: int) -> list[dict]:
        df = movers_frame(leaves, dimension)
        df = df[df["current"] > 0].sort_values(["current", "change"], ascending=False).head(n)
        return [
            {
                "value": str(r.value),
                "cases": int(r.current),
                "previous": int(r.previous),
                "change": int(r.change),
            }
            for r in df.itertuples()
        ]

    def kv(key: str, column: str = "value"):
        return _num(k.loc[key, column])

    return {
        "window_start": f.start.isoformat(),
        "window_end": f.end.isoformat(),
        "days": f.days,
        "scope": replace(f, start=None, end=None).describe(),
        "cases": int(kv("volume") or 0),
        "cases_previous": int(kv("volume", "previous") or 0),
        "cases_change_pct": kv("volume", "change_pct"),
        "sla_breaches": int(counts["sla_breaches"] or 0),
        "sla_breach_rate": kv("sla_breach_rate"),
        "sla_breach_rate_previous": kv("sla_breach_rate", "previous"),
        "dsa_notices": reg.notices,
        "dsa_breaches": int(dsa_breaches.iloc[0]["n"] or 0),
        "dsa_breach_rate": reg.sla_breach_rate,
        "dsa_median_hours_to_action": reg.median_hours_to_action,
        "first_response_median_h": kv("first_response_median"),
        "resolution_median_h": kv("resolution_median"),
        "resolution_median_h_previous": kv("resolution_median", "previous"),
        "resolution_p90_h": kv("resolution_p90"),
        "resolution_p90_h_previous": kv("resolution_p90", "previous"),
        "backlog_end": int(kv("backlog") or 0),
        "backlog_peak": int(peak["backlog"]) if peak is not None else 0,
        "backlog_peak_day": peak["day"].isoformat() if peak is not None else None,
        "overturns": int(counts["overturns"] or 0),
        "appeals_decided": int(counts["appeals_decided"] or 0),
        "overturn_rate": kv("overturn_rate"),
        "regions": movers("region", 10),
        "markets": movers("country", 8),
    }


# --- Candidate causes when no root-cause analysis came with the review ------------------------


def candidate_causes(
    t: ibis.Table, f: Filters, limit: int = 3, leaves: pd.DataFrame | None = None
) -> list[dict]:
    """Slices that grew most against the previous period: a starting point, to be checked.

    Per dimension, the three largest movers (as ``top_movers(n=3, min_cases=10)``) that grew
    by at least 50 % and to at least 10 cases.
    """
    leaves = leaves if leaves is not None else leaf_counts(t, f)
    fixed = set(f.dimension_values()) | {k for k, _v in f.extra}
    rows = []
    for dim in CANDIDATE_DIMENSIONS:
        if dim in fixed:
            continue
        movers = movers_frame(leaves, dim)
        movers = movers[(movers["current"] + movers["previous"]) >= 10]
        movers = movers.reindex(movers["change"].abs().sort_values(ascending=False).index).head(3)
        for r in movers.itertuples():
            rel = r.change_pct if pd.notna(r.change_pct) else float("inf")
            if r.change > 0 and r.current >= 10 and rel >= 0.5:
                rows.append((dim, r))
    rows.sort(key=lambda x: -x[1].change)
    out = []
    for rank, (dim, r) in enumerate(rows[:limit], start=1):
        out.append(
            {
                "rank": rank,
                "label": f"{dim}={r.value}",
                "slice": {dim: str(r.value)},
                "share_of_change": None,  # movers overlap, so shares would not add up
                "kind": "candidate from the data",
                "detail": {"actual": int(r.current), "expected": int(r.previous)},
            }
        )
    return out
