"""What each pain point costs: volume and trend, share, where it comes from, outcomes, impact.

Analytical reads in Ibis: the cases table joined with ``pain_point_assignments`` on the same
backend, scoped by the shared :class:`~analytics.filters.Filters`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics.filters import Filters, apply

ASSIGNMENTS = "pain_point_assignments"


def _ts(d) -> ibis.Expr:
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


def _hours(later, earlier):
    return (later.epoch_seconds() - earlier.epoch_seconds()) / 3600.0


def with_pain_points(t: ibis.Table, assignments: ibis.Table | None = None) -> ibis.Table:
    """Cases with their ``pain_point`` (-1 = unassigned).

    ``assignments``: the store's ``pain_point_assignments`` (``engine.table(con, ...)``); by
    default the table of that name on ``t``'s own backend. On Spark the store's table
    travels to the engine as an in-memory table (``engine.same_engine``).
    """
    from analytics.engine import same_engine

    a = assignments if assignments is not None else t.get_backend().table(ASSIGNMENTS)
    a = same_engine(a.select("case_id", "pain_point"), t)
    return t.left_join(a, "case_id").select(t, pain_point=a.pain_point.fill_null(-1))


def summary(
    t: ibis.Table,
    f: Filters,
    names: pd.DataFrame,
    merges: dict[int, int] | None = None,
    *,
    assignments: ibis.Table | None = None,
) -> pd.DataFrame:
    """One row per pain point in the filtered window, ranked by impact.

    Columns: pain_point, name, cases, previous, growth, share, sla_breach_rate,
    resolution_median_h, overturn_rate, reopen_rate, csat, regions, channels, policies,
    impact. ``impact`` combines size, growth and cost (breaches, overturns, handling time),
    each scaled to the filtered window; its parts are in impact_size/_growth/_cost.
    """
    prev = f.previous()
    scoped = with_pain_points(apply(t, f, dates=False), assignments)
    start, end_excl, prev_start = _ts(f.start), _ts(f.end + timedelta(days=1)), _ts(prev.start)
    rows = scoped.filter(_.created_at >= prev_start, _.created_at < end_excl)
    cur = rows.created_at >= start
    decided = rows.appeal_outcome.isin(["overturned", "upheld"])
    agg = (
        rows.group_by("pain_point")
        .aggregate(
            cases=rows.count(where=cur),
            previous=rows.count(where=~cur),
            sla_breach_rate=rows.sla_breached.cast("float64").mean(where=cur),
            resolution_median_h=_hours(rows.resolved_at, rows.created_at).median(where=cur),
            overturns=(decided & rows.overturned.fill_null(False)).cast("int64").sum(where=cur),
            decided=decided.cast("int64").sum(where=cur),
            reopen_rate=(rows.reopen_count.fill_null(0) > 0).cast("float64").mean(where=cur),
            csat=rows.csat.mean(where=cur),
        )
        .execute()
    )
    if agg.empty:
        return agg
    # Sums come back as DuckDB HUGEINT (Decimal in pandas); make every measure a float.
    for col in agg.columns.drop("pain_point"):
        agg[col] = pd.to_numeric(agg[col], errors="coerce").astype("float64")
    if merges:
        agg["pain_point"] = [_resolve(int(p), merges) for p in agg["pain_point"]]
    breakdown = _top_values(rows.filter(cur), ("region", "channel", "policy"))
    df = agg.groupby("pain_point", as_index=False).agg(
        cases=("cases", "sum"),
        previous=("previous", "sum"),
        overturns=("overturns", "sum"),
        decided=("decided", "sum"),
        sla_breach_rate=("sla_breach_rate", "mean"),
        resolution_median_h=("resolution_median_h", "mean"),
        reopen_rate=("reopen_rate", "mean"),
        csat=("csat", "mean"),
    )
    df = df.merge(breakdown, on="pain_point", how="left")
    df["overturn_rate"] = df["overturns"] / df["decided"].where(df["decided"] > 0)
    df["share"] = df["cases"] / max(df["cases"].sum(), 1)
    previous = df["previous"].astype("float64")
    # Plain floats: no previous cases is NaN (shown blank), not a nullable NA ("None").
    df["growth"] = ((df["cases"] - previous) / previous.where(previous > 0)).astype("float64")
    df = df.merge(names[["pain_point", "name"]], on="pain_point", how="left")
    df.loc[df["pain_point"] == -1, "name"] = "(unassigned)"
    df["name"] = df["name"].fillna(df["pain_point"].map(lambda p: f"pain point {p}"))
    _impact(df)
    cols = [
        "pain_point",
        "name",
        "cases",
        "previous",
        "growth",
        "share",
        "sla_breach_rate",
        "resolution_median_h",
        "overturn_rate",
        "reopen_rate",
        "csat",
        "regions",
        "channels",
        "policies",
        "impact",
        "impact_size",
        "impact_growth",
        "impact_cost",
    ]
    return df[cols].sort_values("impact", ascending=False).reset_index(drop=True)


def _resolve(pid: int, merges: dict[int, int]) -> int:
    seen = set()
    while pid in merges and pid not in seen:
        seen.add(pid)
        pid = merges[pid]
    return pid


def _impact(df: pd.DataFrame) -> None:
    """Impact 0-100 = size (share of cases) + growth + cost (breaches, overturns, slowness).

    Each part is a percentile rank among the pain points, so no unit dominates; weights
    40/30/30 favour what is big, then what is getting worse, then what is expensive.
    """
    assigned = df["pain_point"] != -1
    rank = lambda s: s.rank(pct=True).fillna(0.0)  # noqa: E731
    size = rank(df["cases"].where(assigned))
    growth = rank(df["growth"].clip(-1, 5).where(assigned & (df["previous"] >= 5)))
    cost = rank(
        (
            df["sla_breach_rate"].fillna(0)
            + df["overturn_rate"].fillna(0)
            + (df["resolution_median_h"].fillna(0) / max(df["resolution_median_h"].max() or 1, 1))
        ).where(assigned)
    )
    df["impact_size"] = (40 * size).round(1)
    df["impact_growth"] = (30 * growth).round(1)
    df["impact_cost"] = (30 * cost).round(1)
    df["impact"] = np.where(
        assigned, df["impact_size"] + df["impact_growth"] + df["impact_cost"], 0.0
    )


def _top_values(rows: ibis.Table, columns: tuple[str, ...], n: int = 3) -> pd.DataFrame:
    """The most frequent values of each column per pain point, as 'APAC 61%, EMEA 20%'."""
    out = None
    for col in columns:
        counts = (
            rows.group_by("pain_point", value=rows[col].cast("string").fill_null("(none)"))
            .aggregate(n=_.count())
            .execute()
        )
        if counts.empty:
            continue
        counts["share"] = counts["n"] / counts.groupby("pain_point")["n"].transform("sum")
        # Ties by value, so every engine (row order differs) lists them the same way.
        counts = counts.sort_values(
            ["pain_point", "n", "value"], ascending=[True, False, True], kind="stable"
        )
        text = (
            counts.groupby("pain_point")
            .head(n)
            .groupby("pain_point")
            .apply(
                lambda g: ", ".join(
                    f"{v} {s:.0%}" for v, s in zip(g["value"], g["share"], strict=True)
                ),
                include_groups=False,
            )
            .rename(col + "s" if not col.endswith("y") else col[:-1] + "ies")
        )
        out = text.to_frame() if out is None else out.join(text, how="outer")
    if out is None:
        return pd.DataFrame(columns=["pain_point", "regions", "channels", "policies"])
    return out.reset_index()


def weekly_trend(
    t: ibis.Table,
    f: Filters,
    pain_points: list[int] | None = None,
    *,
    assignments: ibis.Table | None = None,
) -> pd.DataFrame:
    """Cases per week per pain point in the window: week, pain_point, cases."""
    scoped = with_pain_points(apply(t, f), assignments)
    if pain_points is not None:
        scoped = scoped.filter(scoped.pain_point.isin(list(pain_points)))
    return (
        scoped.group_by(week=scoped.created_at.truncate("W"), pain_point=scoped.pain_point)
        .aggregate(cases=_.count())
        .order_by("week")
        .execute()
    )


def case_ids(
    t: ibis.Table,
    f: Filters,
    pain_point: int,
    limit: int = 5000,
    *,
    assignments: ibis.Table | None = None,
) -> list[str]:
    """Ids of the cases of one pain point within the filters (for drill-down)."""
    scoped = with_pain_points(apply(t, f), assignments)
    return (
        scoped.filter(scoped.pain_point == pain_point)
        .select("case_id")
        .limit(limit)
        .execute()["case_id"]
        .tolist()
    )


def cluster_map(centroids: dict[int, np.ndarray], sizes: dict[int, int]) -> pd.DataFrame:
    """2-D positions of the pain points for a map (PCA of their centroids): pain_point, x, y, size."""
    ids = [p for p in centroids if p in sizes]
    if len(ids) < 2:
        return pd.DataFrame(
            {
                "pain_point": ids,
                "x": [0.0] * len(ids),
                "y": [0.0] * len(ids),
                "size": [sizes.get(p, 0) for p in ids],
            }
        )
    from sklearn.decomposition import PCA

    X = np.vstack([centroids[p] for p in ids])
    xy = PCA(n_components=2, random_state=0).fit_transform(X)
    return pd.DataFrame(
        {"pain_point": ids, "x": xy[:, 0], "y": xy[:, 1], "size": [sizes[p] for p in ids]}
    )
