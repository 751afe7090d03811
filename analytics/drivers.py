"""Drivers of a change: root-cause localization and change decomposition (pure pandas/numpy).

The public API, in one place (implementations live in ``analytics/drivers_*.py``):

* :func:`localize_root_causes` - which slices (1-3 dimensions) explain actual vs expected,
  for counts or rates; a ranked list of :class:`RootCause` (``rc.slice`` is a plain dict).
* :func:`root_causes_frame` - those causes as a display table.
* :func:`explain_change` - per-slice contributions between two windows for counts, rates (mix
  and rate effects, exact) and medians (approximate); :class:`ChangeExplanation`.
* :func:`decomposition_children` / :func:`rank_next_dimensions` - a decomposition tree: the
  children of a node with contributions, and which dimension to split next.
* :func:`seasonal_expected` - a simple per-leaf baseline from history.

Nothing here imports streamlit; inputs and outputs are DataFrames and frozen dataclasses.
"""

from analytics.drivers_baseline import seasonal_expected
from analytics.drivers_decompose import ChangeExplanation, ChangeSummary, explain_change
from analytics.drivers_localize import (
    DEFAULT_TUNING,
    RootCause,
    localize_root_causes,
    root_causes_frame,
)
from analytics.drivers_tree import decomposition_children, rank_next_dimensions

__all__ = [
    "DEFAULT_TUNING",
    "ChangeExplanation",
    "ChangeSummary",
    "RootCause",
    "decomposition_children",
    "explain_change",
    "localize_root_causes",
    "rank_next_dimensions",
    "root_causes_frame",
    "seasonal_expected",
]
