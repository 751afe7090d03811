"""Decomposition tree: drill into a change one dimension at a time.

A node is a slice given as a *path* (``{"region": "APAC"}``; ``{}`` is the total). Its children
along a dimension are the values of that dimension inside the node, each with its contribution
to the node's change (counts: actual - expected; rates: midpoint mix + rate effects, see
:mod:`analytics.drivers_decompose`). :func:`rank_next_dimensions` suggests which dimension to
split next, the way Adtributor chooses one: the dimension whose children's shares moved most
(surprise, a Jensen-Shannon divergence between expected and actual shares), preferring one
where few children explain most of the change (succinctness).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics.drivers_decompose import rate_table
from analytics.errors import MappingError

__all__ = ["decomposition_children", "rank_next_dimensions"]


def _node(leaves: pd.DataFrame, path: Mapping[str, object] | None) -> pd.DataFrame:
    path = dict(path or {})
    missing = [d for d in path if d not in leaves.columns]
    if missing:
        raise MappingError(f"Path dimension(s) {missing} are not in the leaves table.")
    mask = np.ones(len(leaves), dtype=bool)
    for dim, value in path.items():
        mask &= (leaves[dim] == value).to_numpy()
    return leaves.loc[mask]


def decomposition_children(
    leaves: pd.DataFrame,
    dimension: str,
    path: Mapping[str, object] | None = None,
    actual: str = "actual",
    expected: str = "expected",
    actual_denominator: str | None = None,
    expected_denominator: str | None = None,
) -> pd.DataFrame:
    """Children of the node ``path`` along ``dimension``, largest absolute contribution first.

    Columns: ``dimension`` value, ``expected``, ``actual``, ``contribution`` (to the node's
    change), ``share_of_node`` and ``share_of_total`` (of the change at the root). With
    denominators the metric is the rate ``actual / actual_denominator`` and the contribution
    is split into ``mix_effect`` and ``rate_effect`` (they add up exactly).
    """
    columns = [actual, expected] + (
        [actual_denominator, expected_denominator] if actual_denominator else []
    )
    missing = [c for c in [dimension, *columns] if c not in leaves.columns]
    if missing:
        raise MappingError(f"Column(s) {missing} are not in the leaves table.")
    node = _node(leaves, path)
    grouped = node.groupby(dimension, dropna=False, observed=True, sort=True)[columns].sum()
    out = grouped.reset_index()
    if actual_denominator is None:
        out["contribution"] = out[actual] - out[expected]
        node_change = float(out["contribution"].sum())
        root_change = float(leaves[actual].sum() - leaves[expected].sum())
    else:
        table = pd.DataFrame(
            {
                "before_num": out[expected],
                "before_den": out[expected_denominator],
                "after_num": out[actual],
                "after_den": out[actual_denominator],
            }
        )
        table, r0, r1 = rate_table(table)
        for column in ["before_rate", "after_rate", "mix_effect", "rate_effect", "contribution"]:
            out[column] = table[column].to_numpy()
        node_change = r1 - r0
        root_change = float(
            leaves[actual].sum() / leaves[actual_denominator].sum()
            - leaves[expected].sum() / leaves[expected_denominator].sum()
        )
    out["share_of_node"] = out["contribution"] / node_change if node_change else math.nan
    out["share_of_total"] = out["contribution"] / root_change if root_change else math.nan
    order = out["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


def _js_surprise(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon divergence between the expected and actual shares of the children."""
    if expected.sum() <= 0 or actual.sum() <= 0:
        return 0.0
    p, q = expected / expected.sum(), actual / actual.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * terms.sum())


def rank_next_dimensions(
    leaves: pd.DataFrame,
    dimensions: list[str],
    path: Mapping[str, object] | None = None,
    actual: str = "actual",
    expected: str = "expected",
    actual_denominator: str | None = None,
    expected_denominator: str | None = None,
    coverage: float = 0.8,
) -> pd.DataFrame:
    """Rank the dimensions not yet in ``path`` for the next split, most explanatory first.

    Columns: ``dimension``, ``surprise`` (Jensen-Shannon divergence of children's shares;
    for rates, of breaches against breaches expected at the actual volume, so volume shifts
    alone do not count), ``top_child``, ``top_share`` (of the node's change),
    ``children_for_coverage`` (how many children, largest first, explain ``coverage`` of the
    change - fewer is more succinct) and ``n_children``.
    """
    used = set(path or {})
    rows = []
    for dim in dimensions:
        if dim in used:
            continue
        children = decomposition_children(
            leaves, dim, path, actual, expected, actual_denominator, expected_denominator
        )
        if actual_denominator is None:
            exp, act = children[expected].to_numpy(float), children[actual].to_numpy(float)
        else:
            # Breaches expected at this week's volume: a pure volume shift is no surprise.
            exp_rate = children[expected] / children[expected_denominator].where(
                children[expected_denominator] > 0
            )
            exp = (children[actual_denominator] * exp_rate.fillna(0.0)).to_numpy(float)
            act = children[actual].to_numpy(float)
        contribution = children["contribution"].to_numpy(float)
        total = contribution.sum()
        share = np.cumsum(contribution) / total if total else np.zeros(len(contribution))
        needed = int(np.searchsorted(share, coverage) + 1) if total else len(contribution)
        rows.append(
            {
                "dimension": dim,
                "surprise": _js_surprise(exp, act),
                "top_child": children[dim].iloc[0] if len(children) else None,
                "top_share": float(children["share_of_node"].iloc[0])
                if len(children)
                else math.nan,
                "children_for_coverage": min(needed, len(children)),
                "n_children": len(children),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "dimension",
            "surprise",
            "top_child",
            "top_share",
            "children_for_coverage",
            "n_children",
        ],
    )
    return table.sort_values(
        ["surprise", "children_for_coverage"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
