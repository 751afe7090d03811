"""Trend scans over many count series, with false-discovery control across series.

:func:`scan_series` answers "what is surging right now?" for thousands of series at once
(every category, policy, queue, region, ..., and pairs such as region x category);
:func:`backtest_scan` replays the same decision day by day over the whole history and
returns every alert with the date it would first have fired, which is what the benchmark
uses to measure lead time and false alerts per week.

Both run the detector of :mod:`analytics.trends` vectorised over blocks of series (the
baseline at each period uses only earlier data, so computing all periods at once *is* a
walk-forward backtest), then, at each period, apply Benjamini–Hochberg across the series
that expect at least one case in the longest test window. With no real anomaly anywhere
this bounds the chance of any alert at that period by ``fdr`` (if the p-values are
calibrated: the benchmark measures it); with real ones it keeps the expected share of
false alerts among them at ``fdr`` or below. A window alerts only if it holds at least
``min_volume`` cases. Thresholds are per day: sub-daily scans use ``fdr`` divided by the
periods per day at each period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics.config import get_settings
from analytics.trends import (
    CountsError,
    IrregularSeriesError,
    TimeGrid,
    describe_episode,
    empty_result,
    find_episodes,
    frozen_forecast,
    make_grid,
    window_periods,
)
from analytics.trends_baseline import (
    DISPERSION_STRIDE_DAYS,
    P_FLOOR,
    BaselineConfig,
    Layout,
    evaluate,
    history_days,
)
from analytics.trends_multi import benjamini_hochberg, screen

Holidays = Collection[dt.date | str | pd.Timestamp] | Mapping[str, Collection] | None
EPISODE_COLUMNS: tuple[str, ...] = (
    "detected_at",
    "start",
    "end",
    "peak_at",
    "observed",
    "expected",
    "growth",
    "excess",
    "p_value",
    "q_value",
    "score",
    "kind",
    "test_window",
    "ongoing",
    "last_alert",
)
#: A series joins the BH family at a period when it expects this many cases in the
#: longest test window (a dormant series is not a hypothesis worth paying for).
_MIN_EXPECTED = 1.0
#: Cells (series x days x 7) per block: bounds memory to a few hundred MB.
_BLOCK_CELLS = 2_500_000


def _grid_step(periods: pd.DatetimeIndex, freq: str | pd.Timedelta | None) -> pd.Timedelta:
    if freq is not None:
        return pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    wall = periods.tz_localize(None) if periods.tz is not None else periods
    diffs = np.diff(wall.as_unit("ns").asi8)
    if len(diffs) == 0:
        return pd.Timedelta(days=1)
    return pd.Timedelta(int(np.gcd.reduce(diffs)), unit="ns")


def _pivot(
    frame: pd.DataFrame,
    keys: list[str],
    period_col: str,
    count_col: str,
    freq: str | pd.Timedelta | None,
) -> tuple[pd.DataFrame, np.ndarray, TimeGrid]:
    """Long counts to a ``(series, periods)`` array on one grid.

    Absent (series, period) rows are zeros; periods before a series' first non-zero count
    are "not observed", so a new series (a new app version) warms up instead of alerting
    on its birth.
    """
    periods = pd.DatetimeIndex(pd.to_datetime(frame[period_col]))
    if periods.hasnans:
        raise IrregularSeriesError(f"Column {period_col!r} has missing or unreadable periods.")
    unique = periods.unique().sort_values()
    step = _grid_step(unique, freq)
    grid, _, _ = make_grid(unique, step)
    wall = periods.tz_localize(None) if periods.tz is not None else periods
    offsets = wall.as_unit("ns") - grid.origin
    pos = np.asarray(offsets // step, dtype=np.int64)
    if np.any(offsets % step != pd.Timedelta(0)):
        raise IrregularSeriesError(f"Periods in {period_col!r} are not on a regular {step} grid.")
    codes = frame.groupby(keys, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    key_frame = (
        frame[keys].assign(_code=codes).drop_duplicates("_code").sort_values("_code")[keys]
    ).reset_index(drop=True)
    n_series, n_periods = len(key_frame), grid.layout.n_periods
    counts = pd.to_numeric(frame[count_col], errors="coerce").fillna(0).to_numpy(dtype=float)
    if np.any(counts < 0):
        raise CountsError(f"Column {count_col!r} has negative counts.")
    values = np.bincount(codes * n_periods + pos, weights=counts, minlength=n_series * n_periods)
    values = values.reshape(n_series, n_periods)
    nonzero = values > 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), n_periods)
    values[np.arange(n_periods)[None, :] < first[:, None]] = np.nan
    return key_frame, values, grid


def _holiday_masks(
    holidays: Holidays, key_frame: pd.DataFrame, holiday_key: str | None, grid: TimeGrid
) -> np.ndarray:
    n_days = grid.layout.n_days
    if holidays is None or len(holidays) == 0:
        return np.zeros((len(key_frame), n_days), dtype=bool)
    if not isinstance(holidays, Mapping):
        return np.broadcast_to(grid.holiday_mask(holidays), (len(key_frame), n_days)).copy()
    if holiday_key is None or holiday_key not in key_frame:
        raise ValueError("A holiday mapping needs holiday_key= naming one of the key columns.")
    masks = {k: grid.holiday_mask(v) for k, v in holidays.items()}
    fallback = masks.get("*", np.zeros(n_days, dtype=bool))
    return np.stack([masks.get(str(v), fallback) for v in key_frame[holiday_key]])


def _trim(
    values: np.ndarray,
    hol: np.ndarray,
    grid: TimeGrid,
    test_span: pd.Timedelta,
    cfg: BaselineConfig,
) -> tuple[np.ndarray, np.ndarray, TimeGrid]:
    """Drop old days that barely influence the last ``test_span`` of tests.

    Keeps :func:`history_days` before the first test (every fitting window and the
    residuals behind the overdispersion), cut on a multiple of the dispersion stride, and
    series births were found on the full history already. Only the robust caps reach
    further back; on the benchmark data the p-values moved by at most 6e-5 in log10.
    """
    layout = grid.layout
    first_test_day = max(0, layout.n_days - int(-(-test_span // pd.Timedelta(days=1))) - 1)
    cut = max(0, first_test_day - history_days(cfg))
    cut -= cut % DISPERSION_STRIDE_DAYS
    if cut == 0:
        return values, hol, grid
    kept = Layout(layout.periods_per_day, layout.n_days - cut, layout.dow[cut:])
    trimmed = TimeGrid(grid.origin + pd.Timedelta(days=cut), grid.step, kept, grid.tz)
    return values[:, cut * layout.periods_per_day :], hol[:, cut:], trimmed


def _run(
    frame: pd.DataFrame,
    *,
    keys: Sequence[str] | None,
    period_col: str,
    count_col: str,
    fdr: float | None,
    min_volume: float | None,
    min_count: float,
    min_ratio: float,
    holidays: Holidays,
    holiday_key: str | None,
    windows: Sequence[str | pd.Timedelta] | None,
    merge_gap: str | pd.Timedelta,
    freq: str | pd.Timedelta | None,
    config: BaselineConfig | None,
    test_span: pd.Timedelta | None,
    detail_periods: int = 0,
    prescreen: float | None = None,
) -> tuple[pd.DataFrame, list[dict], dict]:
    """Evaluate all series, apply BH per period, and describe alerting episodes.

    With ``detail_periods``, each episode also carries ``_path``: the last periods' counts
    and baseline (the pre-episode baseline frozen from the episode's start) for a sparkline,
    and the frozen baseline of the episode's first week (for "back to baseline" checks).
    """
    settings = get_settings()
    fdr = settings.trend_fdr if fdr is None else fdr
    min_volume = settings.trend_min_volume if min_volume is None else min_volume
    cfg = config or BaselineConfig()
    missing = {period_col, count_col} - set(frame.columns)
    if missing:
        raise CountsError(f"The counts table needs columns {sorted(missing)}.")
    keys = (
        list(keys)
        if keys is not None
        else [c for c in frame.columns if c not in (period_col, count_col)]
    )
    if frame.empty:
        return pd.DataFrame(columns=keys), [], {}
    key_frame, values, grid = _pivot(frame, keys, period_col, count_col, freq)
    hol = _holiday_masks(holidays, key_frame, holiday_key, grid)
    if test_span is not None:  # a current scan needs only the history its tests can see
        values, hol, grid = _trim(values, hol, grid, test_span, cfg)
    lengths = window_periods(windows, grid.step)
    n_series, n_periods = values.shape
    floor = max(min_count, min_volume, 1.0)  # the window that alerts must hold the floor
    test_from = 0 if test_span is None else max(0, n_periods - int(-(-test_span // grid.step)))

    def evaluate_rows(rows: np.ndarray):
        """Evaluate series ``rows`` in blocks that keep memory to a few hundred MB."""
        per_block = max(1, _BLOCK_CELLS // (grid.layout.n_days * max(7, 2 * grid.layout.n_bins)))
        for lo in range(0, len(rows), per_block):
            block = rows[lo : lo + per_block]
            yield block, evaluate(
                values[block], hol[block], grid.layout, lengths, cfg,
                min_count=floor, min_ratio=min_ratio, test_from=test_from,
            )  # fmt: skip

    p_value = np.full(values.shape, np.nan)
    baseline = np.full(values.shape, np.nan, dtype=np.float32)
    rows = np.arange(n_series)
    if prescreen is not None and grid.layout.periods_per_day == 1 and test_from > 0:
        rows, rest, level = screen(values, test_from, lengths, floor, prescreen)
        # Screened-out series stay in the BH family (with p = 1), so m does not shrink.
        p_value[rest, test_from:] = 1.0
        baseline[rest] = level[rest, None]
    for block, ev in evaluate_rows(rows):
        p_value[block] = ev.p_value
        baseline[block] = ev.forecast

    # The BH family at each period: series tested there that expect at least one case in
    # the longest window. Chosen on the forecast, not on the counts, so that joining the
    # family is not itself a sign of a surge (selecting on counts biases p-values down).
    w = max(lengths)
    cum = np.concatenate([np.zeros((n_series, 1)), np.nancumsum(baseline, axis=1)], axis=1)
    expected_volume = np.full(values.shape, np.nan)
    expected_volume[:, w - 1 :] = cum[:, w:] - cum[:, : cum.shape[1] - w]
    eligible = np.where(expected_volume >= _MIN_EXPECTED, p_value, np.nan)
    eligible[:, :test_from] = np.nan
    # The rate is per day: sub-daily scans run periods_per_day families a day.
    rejected, q_value = benjamini_hochberg(eligible, fdr / grid.layout.periods_per_day)

    episodes: list[dict] = []
    gap = max(0, int(pd.Timedelta(merge_gap) // grid.step))
    for block, ev in evaluate_rows(np.flatnonzero(rejected.any(axis=1))):
        for i, row_idx in enumerate(block):
            row = values[row_idx]
            found = find_episodes(
                row,
                ev.forecast[i],
                ev.forecast_var[i],
                rejected[row_idx],
                np.asarray(lengths)[ev.best[i]],
                ev.p_value[i],
                gap,
            )
            for ep in found:
                info = describe_episode(ep, row, ev.profiles, i, grid, np.asarray(lengths))
                info["q_value"] = float(np.nanmin(q_value[row_idx, ep.detected : ep.last + 1]))
                info["_series"] = int(row_idx)
                info["_detected"] = ep.detected
                info["_last"] = ep.last
                info["last_alert"] = grid.timestamps(np.array([ep.last]))[0]
                if detail_periods:
                    info["_path"] = _episode_path(ep, row, ev, i, grid, detail_periods)
                episodes.append(info)
    state = {
        "grid": grid,
        "values": values,
        "p_value": p_value,
        "q_value": q_value,
        "rejected": rejected,
        "baseline": baseline,
        "test_from": test_from,
        "lengths": lengths,
    }
    return key_frame, episodes, state


def _episode_path(ep, row: np.ndarray, ev, i: int, grid: TimeGrid, n: int) -> dict:
    """Counts and baseline of the last ``n`` periods; the baseline is frozen from the episode's
    start (what the counts would have been without it), the one-step forecast before."""
    n_periods = len(row)
    lo = max(0, n_periods - n)
    expected = np.asarray(ev.forecast[i][lo:], dtype=float).copy()
    frozen = frozen_forecast(ev.profiles, grid.layout, i, ep.start, n_periods - 1)
    first = max(ep.start, lo)
    expected[first - lo :] = frozen[first - ep.start :]
    prof, cut = ev.profiles, ep.start // grid.layout.periods_per_day
    finite = np.flatnonzero(np.isfinite(prof.level[i, cut:]))
    cut += finite[0] if len(finite) else 0
    week = prof.level[i, cut] * prof.weekday[i, cut]  # expected cases per weekday, Monday first
    return {
        "start": grid.timestamps(np.array([lo]))[0],
        "observed": [None if np.isnan(v) else float(v) for v in row[lo:]],
        "expected": [None if np.isnan(v) else round(float(v), 3) for v in expected],
        "baseline_week": [round(float(v), 3) for v in np.nan_to_num(week)],
    }


def backtest_scan(
    frame: pd.DataFrame,
    *,
    keys: Sequence[str] | None = None,
    period_col: str = "period",
    count_col: str = "count",
    fdr: float | None = None,
    min_volume: float | None = None,
    min_count: float = 5,
    min_ratio: float = 1.2,
    holidays: Holidays = None,
    holiday_key: str | None = None,
    windows: Sequence[str | pd.Timedelta] | None = None,
    merge_gap: str | pd.Timedelta = "3D",
    freq: str | pd.Timedelta | None = None,
    config: BaselineConfig | None = None,
) -> pd.DataFrame:
    """Every alert a daily (per-period) scan would have raised over the whole history.

    Same arguments as :func:`scan_series`. Each period is judged only on data up to it,
    with BH across series at that period; consecutive alerts of a series (gaps shorter
    than ``merge_gap``) form one row. Returns the key columns plus
    :data:`EPISODE_COLUMNS`; ``detected_at`` is the period at which the alert first fired.
    """
    key_frame, episodes, _ = _run(
        frame, keys=keys, period_col=period_col, count_col=count_col, fdr=fdr,
        min_volume=min_volume, min_count=min_count, min_ratio=min_ratio, holidays=holidays,
        holiday_key=holiday_key, windows=windows, merge_gap=merge_gap, freq=freq,
        config=config, test_span=None,
    )  # fmt: skip
    return _episode_frame(key_frame, episodes)


def _episode_frame(key_frame: pd.DataFrame, episodes: list[dict]) -> pd.DataFrame:
    if not episodes:
        empty = empty_result().drop(columns=["q_value"], errors="ignore")
        out = key_frame.iloc[:0].reset_index(drop=True)
        for c in EPISODE_COLUMNS:
            out[c] = empty[c] if c in empty else pd.Series(dtype=float)
        out["last_alert"] = pd.Series(dtype="datetime64[ns]")
        return out
    eps = pd.DataFrame(episodes)
    out = key_frame.iloc[eps["_series"].to_numpy()].reset_index(drop=True)
    for c in EPISODE_COLUMNS:
        out[c] = eps[c].to_numpy()
    return out.sort_values(["detected_at", "score"], ascending=[True, False], ignore_index=True)


def scan_series(
    frame: pd.DataFrame,
    *,
    keys: Sequence[str] | None = None,
    period_col: str = "period",
    count_col: str = "count",
    fdr: float | None = None,
    min_volume: float | None = None,
    window: str | pd.Timedelta = "7D",
    lookback: str | pd.Timedelta = "28D",
    as_of: str | pd.Timestamp | None = None,
    min_count: float = 5,
    min_ratio: float = 1.2,
    holidays: Holidays = None,
    holiday_key: str | None = None,
    windows: Sequence[str | pd.Timedelta] | None = None,
    merge_gap: str | pd.Timedelta = "3D",
    freq: str | pd.Timedelta | None = None,
    alerts_only: bool = True,
    config: BaselineConfig | None = None,
    detail_days: int = 0,
    prescreen: float | None = None,
) -> pd.DataFrame:
    """Which series are surging now: one row per series, alerting series first.

    Args:
        frame: long counts, one row per (series key values..., period) with a count;
            absent rows are zeros. Periods on a regular step from 1 minute to 1 day.
        keys: columns identifying a series (default: every column but period and count).
            Stack several dimensions as (dimension, value) rows to scan them together.
        fdr: Benjamini–Hochberg false discovery rate across series at each period
            (default ``ESC_TREND_FDR``, 0.01).
        min_volume: a window may alert only if it holds at least this many cases
            (default ``ESC_TREND_MIN_VOLUME``, 10). The BH family at a period is every
            series expecting at least one case in the longest test window.
        window: report alerts raised in this trailing window (e.g. the last 7 days).
        lookback: also test this much before the window, so an episode that began
            earlier reports its true ``detected_at``.
        as_of: judge as of this period (later rows are ignored: no look-ahead).
        min_count, min_ratio, windows, merge_gap, freq, config: as in
            :func:`analytics.trends.detect_spikes`.
        holidays: dates for every series, or a mapping ``{value of holiday_key: dates}``
            (``"*"`` for the rest), e.g. per region.
        alerts_only: return only series that alerted in the window.
        detail_days: also return, for series with an episode, ``path``: a dict with the
            counts (``observed``) and baseline (``expected``, frozen at the episode's start)
            of the last ``detail_days`` days from ``start``, and ``baseline_week``
            (expected cases per weekday before the episode, Monday first).
        prescreen: fit only series that a generous Poisson screen at this p-value lets
            through (daily series; an incremental scan uses 0.05): much faster, and the
            others could not have alerted.

    Returns:
        Key columns, ``alert``, the latest episode's :data:`EPISODE_COLUMNS` (NaN/NaT
        when the series did not alert; then ``observed``/``expected``/``growth`` describe
        the window and ``p_value``/``q_value`` are its smallest), ``volume`` and
        ``baseline`` (cases and forecast over the window).
    """
    if as_of is not None:
        frame = frame[pd.to_datetime(frame[period_col]) <= pd.Timestamp(as_of)]
    key_frame, episodes, state = _run(
        frame, keys=keys, period_col=period_col, count_col=count_col, fdr=fdr,
        min_volume=min_volume, min_count=min_count, min_ratio=min_ratio, holidays=holidays,
        holiday_key=holiday_key, windows=windows, merge_gap=merge_gap, freq=freq,
        config=config, test_span=pd.Timedelta(window) + pd.Timedelta(lookback),
        detail_periods=detail_days * _periods_per_day(frame, period_col, freq),
        prescreen=prescreen,
    )  # fmt: skip
    columns = [*key_frame.columns, "alert", *EPISODE_COLUMNS, "volume", "baseline"]
    if detail_days:
        columns.append("path")
    if not state:
        return pd.DataFrame(columns=columns)
    values = state["values"]
    n_periods = values.shape[1]
    n_window = max(1, int(pd.Timedelta(window) // state["grid"].step))
    win = slice(n_periods - n_window, n_periods)
    out = key_frame.copy()
    volume = np.nansum(values[:, win], axis=1)
    baseline = np.nansum(state["baseline"][:, win], axis=1)
    out["alert"] = state["rejected"][:, win].any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["observed"] = volume
        out["expected"] = baseline
        out["growth"] = np.where(baseline > 0, volume / baseline, np.nan)
        out["excess"] = volume - baseline
    p_win = state["p_value"][:, win].astype(float)
    q_win = state["q_value"][:, win]
    out["p_value"] = _nanmin_rows(p_win)
    out["q_value"] = _nanmin_rows(q_win)
    out["score"] = -np.log10(np.maximum(out["p_value"].to_numpy(dtype=float), P_FLOOR))
    latest: dict[int, dict] = {}
    for ep in episodes:  # each series' latest episode still alerting inside the window
        if (
            ep["_last"] >= win.start
            and ep["_detected"] >= latest.get(ep["_series"], ep)["_detected"]
        ):
            latest[ep["_series"]] = ep
    eps = pd.DataFrame(list(latest.values()), index=list(latest), columns=list(EPISODE_COLUMNS))
    has_episode = out.index.isin(eps.index)
    for c in EPISODE_COLUMNS:
        col = eps[c].reindex(out.index)
        out[c] = col.where(has_episode, out[c]) if c in out else col
    out["ongoing"] = out["ongoing"].fillna(False).astype(bool)
    out["volume"] = volume
    out["baseline"] = baseline.astype(float)
    if detail_days:
        paths = {k: ep.get("_path") for k, ep in latest.items()}
        out["path"] = [paths.get(k) for k in out.index]
    out = out[columns]
    if alerts_only:
        out = out[out["alert"]]
    return out.sort_values(["alert", "score"], ascending=[False, False], ignore_index=True)


def _periods_per_day(frame: pd.DataFrame, period_col: str, freq) -> int:
    if frame.empty:
        return 1
    unique = pd.DatetimeIndex(pd.to_datetime(frame[period_col]).unique()).sort_values()
    return max(1, int(pd.Timedelta(days=1) // _grid_step(unique, freq)))


def _nanmin_rows(a: np.ndarray) -> np.ndarray:
    filled = np.where(np.isnan(a), np.inf, a)
    out = filled.min(axis=1) if a.shape[1] else np.full(a.shape[0], np.inf)
    return np.where(np.isinf(out), np.nan, out)
