"""Spike, ramp and level-shift detection on one count series.

:func:`detect_spikes` takes counts on a regular time index (5 minutes to 1 day) and
returns one row per anomalous window. Expected counts come from a seasonal baseline
fitted only on the past (weekday factors, a time-of-day profile for sub-daily series,
a robust recent level; holidays left out), and surprise is a negative-binomial tail
probability, so sparse series are judged on counts rather than on percentages.
Several window lengths are tested at every period (by default 1, 3 and 7 days for daily
series), which catches one-day spikes, multi-day ramps and level shifts with one test;
consecutive significant windows are merged into one row and classified.

What it cannot see (by construction): drops (the test is one-sided: escalation teams
care about surges, and holidays would otherwise alert); anomalies in the first
``min_history_days`` days; changes smaller than the series' own day-to-day noise
(a 20 % rise in a series that wanders by 20 % from week to week); surges on a listed
holiday are compared with a normal day's forecast; and a new weekly pattern is
learnt, not flagged, after ``season_days``. See :mod:`analytics.trends_baseline` for the
model and ``docs/benchmarks/trends_synthetic.md`` for measured recall and false alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.errors import EscalationInsightsError
from analytics.trends_baseline import (
    P_FLOOR,
    BaselineConfig,
    Layout,
    Profiles,
    evaluate,
    upper_tail,
)

#: Per-test p-value thresholds (per day) by name. On the synthetic benchmark: ~0, 0.004 and
#: 0.011 false windows per series-year, recall 0.80, 0.91 and 0.95 of planted shapes.
SENSITIVITY: dict[str, float] = {"low": 1e-7, "medium": 1e-5, "high": 1e-4}
DAILY_WINDOWS: tuple[str, ...] = ("1D", "3D", "7D")
SUBDAILY_WINDOWS: tuple[str, ...] = ("1h", "6h", "1D", "3D", "7D")
RESULT_COLUMNS: tuple[str, ...] = (
    "start",
    "end",
    "detected_at",
    "peak_at",
    "observed",
    "expected",
    "growth",
    "excess",
    "p_value",
    "score",
    "kind",
    "test_window",
    "ongoing",
)
_DAY = pd.Timedelta(days=1)


class IrregularSeriesError(EscalationInsightsError, ValueError):
    """The counts are not on a regular time step of at most one day that divides a day."""


class CountsError(EscalationInsightsError, ValueError):
    """The counts cannot be analysed (negative values, missing count or period column)."""


@dataclass(frozen=True)
class TimeGrid:
    """Whole local days of equal periods onto which a series (or many) is laid out."""

    origin: pd.Timestamp  # wall-clock start of period 0 (naive)
    step: pd.Timedelta
    layout: Layout
    tz: dt.tzinfo | None = None

    def timestamps(self, positions: np.ndarray) -> pd.DatetimeIndex:
        """Timestamps (in the input's time zone) of grid positions."""
        naive = pd.DatetimeIndex(self.origin + np.asarray(positions) * self.step)
        if self.tz is None:
            return naive
        return naive.tz_localize(
            self.tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
        )

    def day_of(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(positions) // self.layout.periods_per_day

    def holiday_mask(self, holidays: Collection | None) -> np.ndarray:
        """Boolean ``(n_days,)``: which grid days are listed holidays."""
        mask = np.zeros(self.layout.n_days, dtype=bool)
        if holidays is None or len(holidays) == 0:
            return mask
        dates = pd.DatetimeIndex(pd.to_datetime(list(holidays))).normalize()
        if dates.tz is not None:
            dates = dates.tz_localize(None)
        idx = (dates - self.origin.normalize()).days.to_numpy()
        idx = idx[(idx >= 0) & (idx < len(mask))]
        mask[idx] = True
        return mask


def step_of(index: pd.DatetimeIndex, freq: str | pd.Timedelta | None = None) -> pd.Timedelta:
    """The regular step of a time index, or raise :class:`IrregularSeriesError`."""
    if not isinstance(index, pd.DatetimeIndex):
        raise IrregularSeriesError(
            f"Counts need a DatetimeIndex (got {type(index).__name__}); "
            "set the period column as the index first."
        )
    if index.hasnans:
        raise IrregularSeriesError("The time index has missing timestamps (NaT); drop them first.")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise IrregularSeriesError(
            "The time index must be sorted and without duplicates; use counts.sort_index() "
            "and sum duplicates with counts.groupby(level=0).sum()."
        )
    if freq is not None:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    else:
        if len(index) < 2:
            raise IrregularSeriesError("At least two timestamps are needed to infer the step.")
        step = _regular_step(index)
    if step <= pd.Timedelta(0) or step > _DAY or _DAY % step != pd.Timedelta(0):
        raise IrregularSeriesError(
            f"The step {step} is not supported: use a step from 1 minute to 1 day that divides "
            "a day (e.g. 5min, 15min, 1h, 1D)."
        )
    return step


def _regular_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    candidates = [index]
    if index.tz is not None:  # daily local data is regular on the wall clock, not in UTC
        candidates.append(index.tz_localize(None))
    for idx in candidates:
        diffs = np.unique(np.diff(idx.as_unit("ns").asi8))
        if len(diffs) == 1:
            return pd.Timedelta(int(diffs[0]), unit="ns")
    diffs = np.diff(index.as_unit("ns").asi8)
    raise IrregularSeriesError(
        f"The time index is irregular: steps vary from {pd.Timedelta(int(diffs.min()))} to "
        f"{pd.Timedelta(int(diffs.max()))}. Resample it first, e.g. "
        "counts.resample('D').sum(), or pass freq= so that absent periods count as zero."
    )


def make_grid(
    index: pd.DatetimeIndex, step: pd.Timedelta
) -> tuple[TimeGrid, np.ndarray, np.ndarray]:
    """Lay timestamps out on whole local days; returns the grid, positions and the span mask.

    The span mask marks grid positions between the first and last timestamp (absent ones
    inside it count as zero: a long-format count table leaves out zero rows).
    """
    wall = index.tz_localize(None) if index.tz is not None else index
    wall = wall.as_unit("ns")
    day0 = wall[0].normalize()
    offset = (wall[0] - day0) % step
    origin = day0 + offset
    pos = np.asarray((wall - origin) // step, dtype=np.int64)
    if np.any((wall - origin) % step != pd.Timedelta(0)):
        raise IrregularSeriesError(
            f"Some timestamps are not on the {step} grid that starts at {wall[0]}; "
            "resample the counts to a regular step first."
        )
    per_day = int(_DAY // step)
    n_days = int(pos.max() // per_day) + 1
    dow = ((origin.day_of_week + np.arange(n_days)) % 7).astype(int)
    layout = Layout(per_day, n_days, dow)
    span = np.zeros(layout.n_periods, dtype=bool)
    span[pos.min() : pos.max() + 1] = True
    return TimeGrid(origin, step, layout, index.tz), pos, span


def window_periods(
    windows: Sequence[str | pd.Timedelta] | None, step: pd.Timedelta
) -> tuple[int, ...]:
    """Window lengths in periods (deduplicated, at least one period each)."""
    if windows is None:
        windows = DAILY_WINDOWS if step == _DAY else (step, *SUBDAILY_WINDOWS)
    lengths = {max(1, int(pd.Timedelta(w) // step)) for w in windows}
    return tuple(sorted(lengths))


def resolve_sensitivity(sensitivity: str | float) -> float:
    """Per-test p-value threshold from a name in :data:`SENSITIVITY` or a number in (0, 1)."""
    if isinstance(sensitivity, str):
        if sensitivity not in SENSITIVITY:
            raise ValueError(f"sensitivity must be one of {sorted(SENSITIVITY)} or a p-value")
        return SENSITIVITY[sensitivity]
    if not 0 < float(sensitivity) < 1:
        raise ValueError("A numeric sensitivity is a p-value threshold between 0 and 1")
    return float(sensitivity)


def detect_spikes(
    counts: pd.Series,
    *,
    holidays: Collection[dt.date | str | pd.Timestamp] | None = None,
    sensitivity: str | float = "medium",
    min_count: float = 5,
    min_ratio: float = 1.2,
    windows: Sequence[str | pd.Timedelta] | None = None,
    merge_gap: str | pd.Timedelta = "2D",
    freq: str | pd.Timedelta | None = None,
    config: BaselineConfig | None = None,
) -> pd.DataFrame:
    """Find anomalous upward windows in one count series.

    Args:
        counts: non-negative counts on a regular ``DatetimeIndex`` (5 minutes .. 1 day;
            the step is inferred). NaN means "not observed" (not zero).
        holidays: dates left out of the baseline (a ``holidays`` package object works).
        sensitivity: "low", "medium", "high" or a per-test p-value threshold.
        min_count: a window needs at least this many cases to alert.
        min_ratio: ... and at least this many times its expected count.
        windows: window lengths tested at every period (default 1/3/7 days for daily
            series; one period, 1 h, 6 h, 1/3/7 days for sub-daily series).
        merge_gap: significant windows closer than this are merged into one row.
        freq: the step, when the index has gaps (absent periods then count as zero).
        config: baseline tunables.

    Returns:
        One row per window, columns :data:`RESULT_COLUMNS`: ``start``/``end`` (first and
        last period, inclusive), ``detected_at`` (first period at which a test fired,
        i.e. when a live monitor would have alerted), ``peak_at``, ``observed`` and
        ``expected`` counts over the window (expected from the baseline as of the
        window's start, so a level shift keeps its full size), ``growth`` =
        observed / expected, ``excess``, ``p_value`` (smallest p of the tests that fired)
        and ``score`` = -log10(p_value), ``kind`` ("spike", "ramp" or "level_shift"),
        ``test_window`` (length of the most significant test) and ``ongoing`` (its last
        alert is within ``merge_gap`` of the latest period, so it may still be going on).

    Raises:
        IrregularSeriesError: the index is not regular, or its step is unsupported.
        CountsError: negative counts.
    """
    cfg = config or BaselineConfig()
    alpha = resolve_sensitivity(sensitivity)
    if counts.empty:
        return empty_result()
    step = step_of(counts.index, freq)
    values = pd.to_numeric(counts, errors="coerce").to_numpy(dtype=float)
    if np.any(values < 0):
        raise CountsError("Counts must not be negative.")
    grid, pos, span = make_grid(counts.index, step)
    lengths = window_periods(windows, step)
    row = np.where(span, 0.0, np.nan)
    np.add.at(row, pos, np.nan_to_num(values))  # adds the repeated hour when clocks go back
    row[pos[np.isnan(values)]] = np.nan
    ev = evaluate(
        row[None, :],
        grid.holiday_mask(holidays)[None, :],
        grid.layout,
        lengths,
        cfg,
        min_count=min_count,
        min_ratio=min_ratio,
    )
    # Thresholds are per day: a 5-minute series runs 288 times as many tests per day.
    flagged = np.nan_to_num(ev.p_value[0], nan=1.0) <= alpha / grid.layout.periods_per_day
    gap = max(0, int(pd.Timedelta(merge_gap) // step))
    episodes = find_episodes(
        row,
        ev.forecast[0],
        ev.forecast_var[0],
        flagged,
        np.asarray(lengths)[ev.best[0]],
        ev.p_value[0],
        gap,
    )
    rows = [describe_episode(ep, row, ev.profiles, 0, grid, np.asarray(lengths)) for ep in episodes]
    if not rows:
        return empty_result()
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def empty_result() -> pd.DataFrame:
    """A result with no rows and the columns and dtypes of :func:`detect_spikes`."""
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in RESULT_COLUMNS})
    for c in ("start", "end", "detected_at", "peak_at"):
        frame[c] = pd.Series(dtype="datetime64[ns]")
    frame["kind"] = pd.Series(dtype="str")
    frame["test_window"] = pd.Series(dtype="timedelta64[ns]")
    frame["ongoing"] = pd.Series(dtype=bool)
    return frame


@dataclass(frozen=True)
class Episode:
    """Grid positions of one merged anomalous window."""

    start: int
    end: int
    detected: int
    last: int  # last flagged test
    best: int  # position of the most significant test
    p_value: float
    test_length: int
    ongoing: bool


def find_episodes(
    x: np.ndarray,
    forecast: np.ndarray,
    forecast_var: np.ndarray,
    flagged: np.ndarray,
    length: np.ndarray,
    p_value: np.ndarray,
    merge_gap: int,
) -> list[Episode]:
    """Merge the flagged tests of one series into episodes.

    ``forecast``/``forecast_var`` are the one-step forecasts of each period. Echoes are
    dropped first (see :func:`_drop_echoes`); each remaining test at ``t`` covers
    ``[t - length + 1, t]`` and covered stretches closer than ``merge_gap`` periods are
    joined. An episode starts at its first period individually above forecast (p <= 0.01)
    and ends at its last test, less trailing periods at or below forecast.
    """
    ok = np.isfinite(x) & np.isfinite(forecast)
    xf, mf = np.where(ok, x, 0.0), np.where(ok, forecast, 0.0)
    vf = np.where(ok, forecast_var, 0.0)
    hits = _drop_echoes(np.flatnonzero(flagged), xf, mf, vf, length)
    if len(hits) == 0:
        return []
    elevated = ok & (upper_tail(xf, np.where(ok, mf, 1.0), np.where(ok, vf, 1.0)) <= 0.01)
    n = len(x)
    diff = np.zeros(n + 1, dtype=np.int64)
    np.add.at(diff, np.maximum(hits - length[hits] + 1, 0), 1)
    np.add.at(diff, hits + 1, -1)
    covered = np.flatnonzero(np.cumsum(diff[:-1]) > 0)
    breaks = np.flatnonzero(np.diff(covered) > merge_gap + 1)
    starts = np.r_[covered[0], covered[breaks + 1]]
    ends = np.r_[covered[breaks], covered[-1]]
    out = []
    for s, e in zip(starts, ends, strict=True):
        inside = hits[(hits >= s) & (hits <= e)]
        lifted = np.flatnonzero(elevated[s : inside[0] + 1])
        first = s + lifted[0] if len(lifted) else inside[0]
        last = inside[-1]
        while last > first and xf[last] <= mf[last]:
            last -= 1
        best = inside[np.argmin(p_value[inside])]
        out.append(
            Episode(
                start=int(first),
                end=int(last),
                detected=int(inside[0]),
                last=int(inside[-1]),
                best=int(best),
                p_value=float(p_value[best]),
                test_length=int(length[best]),
                ongoing=bool(inside[-1] >= n - 1 - merge_gap),
            )
        )
    return out


def _drop_echoes(
    hits: np.ndarray, x: np.ndarray, mean: np.ndarray, var: np.ndarray, length: np.ndarray
) -> np.ndarray:
    """Drop tests that fire only because their window still holds an earlier alert.

    After a one-day spike the seven-day test keeps firing for six days although nothing
    new happens. A test whose window overlaps the last kept test is kept only if the
    periods *since* that test are themselves above forecast (p <= 0.05): true for a level
    shift or a ramp, not for the quiet days after a spike. (Few hits: a loop is fine.)
    """
    cx, cm, cv = (np.concatenate([[0.0], np.cumsum(a)]) for a in (x, mean, var))
    kept: list[int] = []
    for t in hits:
        if kept and t - length[t] + 1 <= kept[-1]:
            a = kept[-1] + 1
            obs, mu, v = cx[t + 1] - cx[a], cm[t + 1] - cm[a], cv[t + 1] - cv[a]
            # one-sided 5 % with a continuity correction; the exact tail is not needed here
            if obs - 0.5 - mu < 1.645 * np.sqrt(max(v, 1e-9)):
                continue
        kept.append(int(t))
    return np.asarray(kept, dtype=np.int64)


def frozen_forecast(prof: Profiles, layout: Layout, series: int, t0: int, t1: int) -> np.ndarray:
    """Forecast of periods ``t0..t1`` from the fit as of ``t0``'s day (no adaptation inside)."""
    per_day = layout.periods_per_day
    cut = t0 // per_day
    finite = np.flatnonzero(np.isfinite(prof.level[series, cut:]))
    if len(finite) == 0:
        return np.full(t1 - t0 + 1, np.nan)
    cut += finite[0]  # an episode can begin inside the warm-up by up to one window
    t = np.arange(t0, t1 + 1)
    day = t // per_day
    dow = layout.dow[day]
    out = prof.level[series, cut] * prof.weekday[series, cut, dow]
    if per_day > 1:
        bins = layout.bin_of_slot()
        slot_bin = bins[t % per_day]
        per_bin = np.bincount(bins, minlength=layout.n_bins)
        share = prof.profile[series, cut, (dow >= 5).astype(int), slot_bin]
        out = out * share / per_bin[slot_bin]
    return out


def classify(
    observed_daily: np.ndarray, expected_daily: np.ndarray, after_ratio: float | None
) -> str:
    """Name the shape of an episode from its daily counts against the frozen baseline.

    A ramp when the excess grows inside the episode (fitted rise >= 3/4 of the mean
    excess, four days or more) or takes days to build (the first three days at most 60 %
    of the upper-quartile excess, six days or more). Otherwise, if the week after the episode is known: a
    level shift when it stays at least half as elevated, else a spike (or burst). With
    nothing after it yet: a spike up to two days, a level shift beyond.
    """
    n = len(observed_daily)
    mean_excess = observed_daily.sum() / max(expected_daily.sum(), 1e-9) - 1.0
    if n >= 4 and mean_excess > 0:
        ratio = observed_daily / np.maximum(expected_daily, 1e-9) - 1.0
        slope = np.polyfit(np.arange(n), ratio, 1, w=np.sqrt(np.maximum(expected_daily, 1e-9)))[0]
        plateau = np.quantile(ratio, 0.75)
        slow_start = n >= 6 and ratio[:3].mean() <= 0.6 * plateau  # a ramp into a new level
        if slope * (n - 1) >= 0.75 * mean_excess or slow_start:
            return "ramp"
    if after_ratio is not None:
        return "level_shift" if after_ratio - 1.0 >= 0.5 * mean_excess else "spike"
    return "spike" if n <= 2 else "level_shift"


def describe_episode(
    ep: Episode,
    row: np.ndarray,
    prof: Profiles,
    series: int,
    grid: TimeGrid,
    lengths: np.ndarray,
) -> dict:
    """Result row of one episode: counts against the frozen baseline, shape and timing."""
    per_day = grid.layout.periods_per_day
    stop = min(len(row) - 1, ep.end + 7 * per_day)  # a week after, to tell shifts from spikes
    seen = np.nan_to_num(row[ep.start : stop + 1], nan=0.0)
    base = frozen_forecast(prof, grid.layout, series, ep.start, stop)
    base = np.where(np.isnan(row[ep.start : stop + 1]), 0.0, np.nan_to_num(base))
    n_in = ep.end - ep.start + 1
    x, mu = seen[:n_in], base[:n_in]
    after = None
    if stop - ep.end >= 3 * per_day and base[n_in:].sum() > 0:
        after = float(seen[n_in:].sum() / base[n_in:].sum())
    observed, expected = float(x.sum()), float(mu.sum())
    peak = ep.start + int(np.argmax(x - mu))
    day = grid.day_of(np.arange(ep.start, ep.end + 1))
    day = day - day[0]
    obs_daily = np.bincount(day, weights=x)
    exp_daily = np.bincount(day, weights=mu)
    stamps = grid.timestamps(np.array([ep.start, ep.end, ep.detected, peak]))
    return {
        "start": stamps[0],
        "end": stamps[1],
        "detected_at": stamps[2],
        "peak_at": stamps[3],
        "observed": observed,
        "expected": expected,
        "growth": observed / expected if expected > 0 else np.inf,
        "excess": observed - expected,
        "p_value": ep.p_value,
        "score": -np.log10(max(ep.p_value, P_FLOOR)),
        "kind": classify(obs_daily, exp_daily, after),
        "test_window": ep.test_length * grid.step,
        "ongoing": ep.ongoing,
    }
