"""Expected values per leaf from history: the baseline that root-cause localization compares to.

Three simple, explainable baselines; a fitted forecast can replace them (any table of leaves
with an ``expected`` column works with :func:`analytics.drivers.localize_root_causes`).
"""

from __future__ import annotations

import math

import pandas as pd

from analytics.errors import MappingError, NotEnoughDataError

__all__ = ["seasonal_expected"]

METHODS = ("mean_same_weekday", "previous_period", "last_year")


def seasonal_expected(
    history: pd.DataFrame,
    target_window: tuple[object, object],
    method: str = "mean_same_weekday",
    dimensions: list[str] | None = None,
    date: str = "date",
    count: str = "count",
    weeks: int = 4,
) -> pd.DataFrame:
    """Expected count per leaf for ``target_window = (start, end)`` (end exclusive).

    ``history`` has a ``date`` column, the leaf ``dimensions`` (default: every other column)
    and a ``count`` per row (rows are summed). Methods:

    * ``previous_period``: the window of the same length just before ``start``.
    * ``last_year``: the same window 52 weeks (364 days) earlier, so weekdays line up.
    * ``mean_same_weekday``: the mean of the ``weeks`` previous windows shifted by whole weeks
      (by the window length rounded up to whole weeks, so they do not overlap), which keeps
      the weekday mix of the target window.

    Returns the dimensions plus ``expected``; leaves seen in no reference window are absent
    (their expectation is 0).
    """
    if dimensions is None:
        dimensions = [c for c in history.columns if c not in (date, count)]
    if method not in METHODS:
        raise MappingError(f"Unknown baseline method {method!r}: use one of {METHODS}.")
    missing = [c for c in [date, count, *dimensions] if c not in history.columns]
    if missing:
        raise MappingError(f"The history table has no column(s) {missing}.")
    start, end = pd.Timestamp(target_window[0]), pd.Timestamp(target_window[1])
    if end <= start:
        raise MappingError("The target window must end after it starts.")
    length = end - start
    if method == "previous_period":
        shifts = [length]
    elif method == "last_year":
        shifts = [pd.Timedelta(days=364)]
    else:
        step = pd.Timedelta(days=7 * math.ceil(length / pd.Timedelta(days=7)))
        shifts = [step * k for k in range(1, weeks + 1)]

    when = pd.to_datetime(history[date])
    frames = []
    for shift in shifts:
        in_window = (when >= start - shift) & (when < end - shift)
        part = history.loc[in_window].groupby(dimensions, observed=True, dropna=False)[count].sum()
        frames.append(part)
    if not any(len(f) for f in frames):
        raise NotEnoughDataError("No history falls in the reference window(s) of this baseline.")
    table = pd.concat(frames, axis=1).fillna(0.0)
    expected = table.sum(axis=1) / len(shifts)
    return expected.rename("expected").reset_index()
