"""Root cause, evidence: the cases behind a cause, and the pain points that grew.

Evidence cases come from :func:`analytics.cases.case_list` over the sidebar scope narrowed to
the current window and drilled into the cause's slice (``Filters.with_drill``); for rates only
the cases that make the numerator (e.g. breached cases), for the median the cases slower than
the baseline median. Nothing is redacted here: screens and exports go through
:mod:`analytics.privacy` (``ui.render.safe_table``).

Pain points are plugged in as *assignments*, a table ``case_id, pain_point[, name][, score]``
(the pain-point model's output, or in the demo its ground-truth topics), so this module does
not depend on how they are fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import ibis
import numpy as np
import pandas as pd

from analytics import engine
from analytics.cases import LIST_COLUMNS, case_count, case_list
from analytics.errors import MappingError
from analytics.filters import Filters
from analytics.rootcause_leaves import (
    NONE,
    Metric,
    Windows,
    in_window,
    rate_parts,
    scoped,
    slice_predicate,
)

PAIN_COLUMNS = [
    "pain_point",
    "name",
    "before",
    "after",
    "change",
    "relative_change",
    "z",
    "growing",
    "examples",
]


@dataclass(frozen=True)
class Evidence:
    """Cases of the current window inside a cause's slice (not redacted; see module doc)."""

    slice: dict[str, object]
    case_ids: list[str]
    cases: pd.DataFrame
    total: int
    filters: Filters  # the window and the drill, to open the same list on the Cases page
    restricted_to: str  # "" or what the list is limited to, e.g. "breached cases"


def window_filters(f: Filters, windows: Windows) -> Filters:
    """The sidebar scope with the current window as its dates."""
    start, end = windows.current
    return replace(f, preset="custom", start=start, end=end)


def evidence(
    t: ibis.Table,
    f: Filters,
    windows: Windows,
    metric: Metric,
    slice_: dict[str, object],
    *,
    threshold: float | None = None,
    limit: int = 20,
    sort: str = "newest",
) -> Evidence:
    """Cases of the current window in ``slice_`` (for rates: the numerator cases)."""
    fw = window_filters(f, windows)
    drilled = fw.with_drill(**{k: str(v) for k, v in slice_.items() if v != NONE})
    base = t
    missing = {k: v for k, v in slice_.items() if v == NONE}
    if missing:
        base = base.filter(slice_predicate(base, missing))
    restricted = ""
    if metric.kind != "count":
        num, _den = rate_parts(base, metric, threshold)
        base = base.filter(num)
        restricted = metric.numerator
    rows = case_list(base, drilled, sort=sort, limit=limit, columns=LIST_COLUMNS)
    total = case_count(base, drilled)
    return Evidence(
        dict(slice_), rows["case_id"].astype(str).tolist(), rows, total, drilled, restricted
    )


def _assignment_table(assignments) -> ibis.Table:
    if isinstance(assignments, ibis.Table):
        table = assignments
    elif isinstance(assignments, pd.DataFrame):
        table = ibis.memtable(assignments)
    else:
        raise MappingError("Pain-point assignments must be a DataFrame or an Ibis table.")
    missing = [c for c in ("case_id", "pain_point") if c not in table.columns]
    if missing:
        raise MappingError(f"Pain-point assignments need the column(s) {missing}.")
    cols = {"case_id": table.case_id.cast("string"), "pain_point": table.pain_point.cast("string")}
    cols["name"] = (
        table["name"].cast("string") if "name" in table.columns else table.pain_point.cast("string")
    )
    cols["score"] = (
        table["score"].cast("float64")
        if "score" in table.columns
        else ibis.literal(None, "float64")
    )
    return table.select(**cols)


def growing_pain_points(
    assignments,
    t: ibis.Table,
    f: Filters,
    windows: Windows,
    metric: Metric | None = None,
    *,
    threshold: float | None = None,
    within: dict[str, object] | None = None,
    min_cases: int = 5,
    examples: int = 5,
    top: int = 10,
) -> pd.DataFrame:
    """Which pain points grew most between the baseline and the current window.

    ``assignments``: DataFrame or Ibis table with ``case_id``, ``pain_point`` and optionally
    ``name`` and ``score`` (higher = more representative). Counted are the scope's cases (for a
    rate only its numerator cases, e.g. breached ones; for the median the cases slower than the
    baseline median, ``threshold``; ``within`` narrows to a slice).
    Columns: ``pain_point``, ``name``, ``before`` (mean per reference window), ``after``,
    ``change``, ``relative_change``, ``z`` (counting both windows' noise), ``growing``
    (``z >= 3`` and at least ``min_cases`` now) and ``examples`` (up to ``examples`` case ids
    of the current window: the best scored, else spread over the window). Growing pain points
    first, largest change first; at most ``top`` rows.
    """
    a = _assignment_table(assignments)
    lo = min(w[0] for w in windows.all)
    hi = max(w[1] for w in windows.all)
    s = scoped(t, f, lo, hi)
    if within:
        s = s.filter(slice_predicate(s, within))
    if metric is not None and metric.kind != "count":
        num, _den = rate_parts(s, metric, threshold)
        s = s.filter(num)
    flags = {"w0": in_window(s, windows.current)}
    for i, w in enumerate(windows.references, start=1):
        flags[f"w{i}"] = in_window(s, w)
    cases = s.select("case_id", "created_at", **flags)
    # Assignments kept in the store live on DuckDB: on Spark they travel as a memtable.
    joined = cases.join(engine.same_engine(a, cases), "case_id")
    k = len(windows.references)
    aggs = {f"n{i}": joined[f"w{i}"].cast("int64").sum() for i in range(k + 1)}
    df = joined.group_by(["pain_point", "name"]).aggregate(**aggs).execute()
    if df.empty:
        return pd.DataFrame(columns=PAIN_COLUMNS)
    df["after"] = df["n0"].astype(float)
    df["before"] = df[[f"n{i}" for i in range(1, k + 1)]].sum(axis=1).astype(float) / k
    df["change"] = df["after"] - df["before"]
    df["relative_change"] = df["change"] / df["before"].where(df["before"] > 0)
    var = df["after"] + df["before"] / k
    df["z"] = df["change"] / np.sqrt(var.where(var > 0))
    df["growing"] = (df["z"] >= 3) & (df["after"] >= min_cases)
    df = df.sort_values(["growing", "change"], ascending=[False, False], kind="stable").head(top)
    wanted = df["pain_point"].tolist()
    now = joined.filter(joined.w0, joined.pain_point.isin(wanted))
    ids = now.select("pain_point", "case_id", "score", "created_at").execute()
    ids = ids.sort_values(["score", "created_at"], ascending=[False, True], na_position="last")
    picks = []
    for p in wanted:
        mine = ids[ids["pain_point"] == p]
        if mine["score"].notna().any() or len(mine) <= examples:
            picks.append(mine["case_id"].head(examples).tolist())
        else:  # no scores: spread the examples over the window
            mine = mine.sort_values("created_at")
            idx = np.unique(np.linspace(0, len(mine) - 1, examples).round().astype(int))
            picks.append(mine["case_id"].iloc[idx].tolist())
    df["examples"] = picks
    df["relative_change"] = df["relative_change"].astype(float)
    df["z"] = df["z"].astype(float).where(np.isfinite(df["z"].astype(float)), math.nan)
    return df[PAIN_COLUMNS].reset_index(drop=True)


def pain_point_assignments(con) -> tuple[object | None, str]:
    """Per-case pain points to plug into :func:`growing_pain_points`, and where they came from.

    The fitted pain-point model first (``analytics.painpoints.assignments(con)``, when that
    module exists and returns rows), else the demo's ground-truth topics (demo stores only,
    labelled as such), else ``(None, "")``.
    """
    import importlib
    import importlib.util

    if importlib.util.find_spec("analytics.painpoints") is not None:
        module = importlib.import_module("analytics.painpoints")
        fitted = getattr(module, "assignments", None)
        if callable(fitted):
            table = fitted(con)
            rows = (
                0
                if table is None
                else (int(table.count().execute()) if isinstance(table, ibis.Table) else len(table))
            )
            if rows:
                return table, "pain-point model"
    truth = engine.table(con, "demo_truth")
    if int(truth.count().execute()) == 0:
        return None, ""
    from analytics.demo_text import TOPICS

    names = ibis.memtable(
        pd.DataFrame({"topic": [t.key for t in TOPICS], "name": [t.name for t in TOPICS]})
    )
    joined = truth.left_join(names, "topic")
    table = joined.select(
        case_id=joined.case_id, pain_point=joined.topic, name=joined["name"].fill_null(joined.topic)
    )
    return table, "demo ground truth topics"
