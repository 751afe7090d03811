"""Vectorised seasonal baselines and tail tests behind the trend detector.

Everything here works on a block of series at once (arrays shaped ``(series, periods)``)
so that a scan of thousands of series costs a few numpy passes, not a Python loop per
series. Nothing in this module knows about pandas, keys or timestamps: the callers in
:mod:`analytics.trends` and :mod:`analytics.trends_scan` lay the data out on a grid of
``n_days`` whole local days of ``periods_per_day`` periods each.

The model, per series and per *cutoff* day ``c`` (parameters use only days ``< c``):

* weekday factors from the last ``season_days`` days (for series of 5+ cases a day, the
  mean ratio of each weekday's count to the local two-week level, so that a learnt
  plateau ending inside the window does not skew them), shrunk towards flat with
  ``season_prior`` pseudo-counts (so a sparse series is not given a fake Monday peak);
* for sub-daily series, a time-of-day profile (hour bins, weekday and weekend apart),
  shrunk towards the pooled profile and that towards flat;
* a level (mean daily count) from the last ``level_days`` days, as the Poisson
  maximum-likelihood ratio ``sum(counts) / sum(weekday factors)``;
* holidays and incompletely observed days are left out of all three;
* a second pass refits the same model on counts capped at ``cap_sd`` standard
  deviations above the first pass's one-step forecast, so a past spike does not
  inflate the baseline it is later compared with.

A window of ``w`` periods ending at ``t`` is compared with the forecast made at the
cutoff ``ceil((w - 1) / periods_per_day)`` days before ``t``'s day, so the baseline
never contains the window being tested. Its count is tested against a negative
binomial with the forecast mean and a variance ``M + alpha * M**2 + M**2 * v``, where
``alpha`` is the overdispersion of ``n``-day sums estimated robustly (median absolute
deviation) from the series' own past residuals and ``v`` the relative variance of the
estimated baseline. With ``alpha`` near zero this is the Poisson tail, which is what
keeps a 0 -> 3 jump in a sparse series quiet and a 0 -> 15 jump loud.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.trends_noise import (
    DISPERSION_STRIDE_DAYS,
    _cumsum0,
    _rolling_sum,
    _window_from_cum,
    dispersion,
    upper_tail,
)

#: Smallest p-value kept (scores are capped at 300 = -log10 of it).
P_FLOOR = 1e-300
#: Weekday factors of series with at least this many cases a day come from day-to-level
#: ratios (clipped at _MAX_RATIO); sparser series use plain weekday sums.
_RATIO_MIN_RATE = 5.0
_MAX_RATIO = 5.0


@dataclass(frozen=True)
class BaselineConfig:
    """Tunables of the seasonal baseline; the defaults are what the benchmark measured."""

    #: Days of history behind the level (mean daily count).
    level_days: int = 28
    #: ... doubled, then quadrupled, while the window holds fewer cases than this.
    level_min_count: float = 30.0
    #: Days of history behind the weekday factors and the time-of-day profile ...
    season_days: int = 56
    #: ... doubled, then quadrupled (weekday factors), while it holds fewer cases than this.
    season_min_count: float = 140.0
    #: Days of past residuals behind the overdispersion estimate.
    dispersion_days: int = 84
    #: Valid (non-holiday, fully observed) days needed in the level window before testing.
    min_history_days: int = 14
    #: Pseudo-counts shrinking weekday factors towards flat (sparse series stay flat).
    season_prior: float = 10.0
    #: Pseudo-counts shrinking the time-of-day profile towards the pooled one, and that to flat.
    profile_prior: float = 48.0
    #: Safety margin on the estimated overdispersion: ``alpha * (1 + margin / sqrt(n))``
    #: for ``n`` independent residuals (the estimate is noisy; too low means false alerts).
    dispersion_margin: float = 1.0
    #: Floor of the day-level overdispersion (real counts are never exactly Poisson).
    min_dispersion: float = 0.005
    #: Overdispersion assumed until enough residuals exist, and the prior it is shrunk to.
    default_dispersion: float = 0.05
    #: Prior standard deviation of the day-level overdispersion (how far data may move it).
    dispersion_prior_sd: float = 0.05
    #: Counts above forecast + cap_sd standard deviations are capped when refitting.
    cap_sd: float = 4.0
    #: Refit on capped counts (robust to past spikes). False halves the cost.
    robust: bool = True


@dataclass(frozen=True)
class Layout:
    """Time layout shared by a block of series: whole local days of equal periods."""

    periods_per_day: int
    n_days: int
    #: Weekday (0 = Monday) of each day, shape ``(n_days,)``.
    dow: np.ndarray

    @property
    def n_periods(self) -> int:
        return self.periods_per_day * self.n_days

    @property
    def n_bins(self) -> int:
        """Time-of-day bins of the profile: periods, or hours when periods are shorter."""
        return min(self.periods_per_day, 24)

    def bin_of_slot(self) -> np.ndarray:
        return (np.arange(self.periods_per_day) * self.n_bins) // self.periods_per_day


@dataclass(frozen=True)
class Profiles:
    """Baseline parameters at every cutoff day ``c`` in ``0..n_days`` (using days ``< c``)."""

    #: Mean daily count, ``(S, D + 1)``; NaN while history is too short.
    level: np.ndarray
    #: Weekday factors (mean 1), ``(S, D + 1, 7)``.
    weekday: np.ndarray
    #: Share of the day per time-of-day bin for weekdays/weekends, ``(S, D + 1, 2, B)``.
    profile: np.ndarray | None
    #: Relative variance of the estimated level and of one weekday factor, ``(S, D + 1)``.
    level_var: np.ndarray
    season_var: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """Per-period test results for a block of series; all arrays are ``(S, T)``."""

    #: Combined p-value (Bonferroni over window lengths); NaN where not tested.
    p_value: np.ndarray
    #: Index into the window lengths of the most significant window.
    best: np.ndarray
    #: Count and forecast of that window.
    observed: np.ndarray
    expected: np.ndarray
    #: One-step forecast per period (cutoff = the period's own day) and its variance.
    forecast: np.ndarray
    forecast_var: np.ndarray
    profiles: Profiles


def _trailing(cum: np.ndarray, length: int) -> np.ndarray:
    """Sums over days ``[c - length, c - 1]`` for every cutoff ``c``, from :func:`_cumsum0`."""
    out = cum.copy()
    out[:, length:] -= cum[:, :-length]
    return out


_LEVEL_MULTIPLES = (4, 2, 1)


def history_days(cfg: BaselineConfig) -> int:
    """Days of history that influence the tests of a day (fits, their windows, residuals)."""
    longest = max(_LEVEL_MULTIPLES) * max(cfg.level_days, cfg.season_days)
    return longest + cfg.dispersion_days + DISPERSION_STRIDE_DAYS


def _calendar(valid: np.ndarray, layout: Layout, cfg: BaselineConfig) -> dict:
    """Valid days per weekday in each trailing window: the same for both fitting passes."""
    cum_n = _cumsum0(valid.astype(float)[:, :, None] * np.eye(7)[layout.dow])
    out = {}
    for mult in _LEVEL_MULTIPLES:
        out[mult] = _trailing(cum_n, mult * cfg.level_days)
        out["season", mult] = _trailing(cum_n, mult * cfg.season_days)
    return out


def fit_profiles(
    counts: np.ndarray,
    valid: np.ndarray,
    layout: Layout,
    cfg: BaselineConfig,
    calendar: dict | None = None,
) -> Profiles:
    """Fit weekday factors, time-of-day profile and level at every cutoff day.

    ``counts`` is ``(S, D, P)`` with no NaN (unobserved cells set to 0 and their day
    marked invalid); ``valid`` is ``(S, D)``: days used for fitting; ``calendar`` is
    :func:`_calendar` of ``valid`` when already computed.
    """
    calendar = calendar or _calendar(valid, layout, cfg)
    vmask = valid.astype(float)
    daily = counts.sum(axis=2) * vmask
    # Weekday sums over the shortest of 1x, 2x, 4x season_days holding season_min_count
    # cases: shrinking a sparse series' few Monday cases to flat would bias its Mondays.
    onehot = np.eye(7)[layout.dow]
    cum_t = _cumsum0(daily[:, :, None] * onehot)
    # Busy series: the mean ratio of each weekday's count to the local (trailing two-week)
    # level, every day weighing the same (ratio to moving average). Plain sums let a learnt
    # plateau that ends inside the window inflate the weekdays it happened to end on.
    ratio = np.clip(daily / np.maximum(_local_level(daily, vmask), 1e-9), 0.0, _MAX_RATIO)
    cum_r = _cumsum0((ratio * vmask)[:, :, None] * onehot)
    s_day = n_day = r_day = None
    for mult in _LEVEL_MULTIPLES:
        s_m, n_m = _trailing(cum_t, mult * cfg.season_days), calendar["season", mult]
        r_m = _trailing(cum_r, mult * cfg.season_days)
        if s_day is None:
            s_day, n_day, r_day = s_m, n_m, r_m
        else:
            use = (s_m.sum(-1) >= cfg.season_min_count)[..., None]
            s_day, n_day = np.where(use, s_m, s_day), np.where(use, n_m, n_day)
            r_day = np.where(use, r_m, r_day)

    # Gamma-Poisson shrinkage of each weekday's rate towards the series' overall rate.
    mean_rate = s_day.sum(-1) / np.maximum(n_day.sum(-1), 1.0)
    safe_rate = np.maximum(mean_rate, 1e-12)[..., None]
    shrunk = (s_day + cfg.season_prior) / (n_day + cfg.season_prior / safe_rate)
    prior_days = cfg.season_prior / safe_rate
    by_ratio = (r_day + prior_days) / (n_day + prior_days)
    shrunk = np.where((mean_rate >= _RATIO_MIN_RATE)[..., None], by_ratio, shrunk)
    weekday = shrunk / shrunk.mean(-1, keepdims=True)
    weekday = np.where(mean_rate[..., None] > 0, weekday, 1.0)

    # The shortest of 1x, 2x, 4x level_days holding level_min_count cases: recent for busy
    # series, long enough for sparse ones (a level from 5 cases is a guess).
    cum_daily = _cumsum0(daily)
    level_sum = level_days = None
    for mult in _LEVEL_MULTIPLES:
        s_m = _trailing(cum_daily, mult * cfg.level_days)
        n_m = calendar[mult]
        if level_sum is None:
            level_sum, level_days = s_m, n_m
        else:
            use = s_m >= cfg.level_min_count
            level_sum = np.where(use, s_m, level_sum)
            level_days = np.where(use[..., None], n_m, level_days)
    exposure = (weekday * level_days).sum(-1)
    enough = level_days.sum(-1) >= cfg.min_history_days
    # The 0.1 pseudo-count keeps an all-zero history from forecasting exactly zero.
    level = np.where(enough, (level_sum + 0.1) / np.maximum(exposure, 1e-12), np.nan)
    level_var = 1.0 / (level_sum + 1.0)
    season_var = (1.0 / (s_day + cfg.season_prior)).mean(-1)

    profile = None
    if layout.periods_per_day > 1:
        n_bins = layout.n_bins
        to_bin = np.eye(n_bins)[layout.bin_of_slot()]  # (P, B)
        binned = (counts @ to_bin) * vmask[:, :, None]
        weekend = (layout.dow >= 5).astype(int)
        by_type = binned[:, :, None, :] * np.eye(2)[weekend][None, :, :, None]
        s_bin = _trailing(_cumsum0(by_type), cfg.season_days)  # (S, D+1, 2, B)
        kappa = cfg.profile_prior
        pooled_sum = s_bin.sum(2)
        pooled = (pooled_sum + kappa / n_bins) / (pooled_sum.sum(-1, keepdims=True) + kappa)
        profile = (s_bin + kappa * pooled[:, :, None, :]) / (s_bin.sum(-1, keepdims=True) + kappa)
    return Profiles(level, weekday, profile, level_var, season_var)


def _local_level(daily: np.ndarray, vmask: np.ndarray, days: int = 14) -> np.ndarray:
    """Mean count of the valid days among the ``days`` ending at each day (0 if none)."""
    if daily.shape[1] < days:  # a short history: the running mean so far
        sums, n = np.cumsum(daily, axis=1), np.cumsum(vmask, axis=1)
        return np.where(n > 0, sums / np.maximum(n, 1.0), 0.0)
    sums = _window_from_cum(_cumsum0(daily), days)
    n = _window_from_cum(_cumsum0(vmask), days)
    # the first days of the history: the mean of what exists so far
    head = min(days - 1, daily.shape[1])
    sums[:, :head] = np.cumsum(daily, axis=1)[:, :head]
    n[:, :head] = np.cumsum(vmask, axis=1)[:, :head]
    return np.where(n > 0, sums / np.maximum(n, 1.0), 0.0)


def _cutoffs(layout: Layout, lag: int) -> tuple[np.ndarray, np.ndarray]:
    c = np.arange(layout.n_days) - lag
    return np.clip(c, 0, layout.n_days), c >= 0


def daily_forecast(prof: Profiles, layout: Layout, lag: int) -> np.ndarray:
    """Expected count of each day from the fit ``lag`` days before it, ``(S, D)``."""
    cut, ok = _cutoffs(layout, lag)
    out = prof.level[:, cut] * prof.weekday[:, cut, layout.dow]
    out[:, ~ok] = np.nan
    return out


def period_forecast(prof: Profiles, layout: Layout, lag: int) -> np.ndarray:
    """Expected count of each period from the fit ``lag`` days before its day, ``(S, T)``."""
    daily = daily_forecast(prof, layout, lag)
    if layout.periods_per_day == 1:
        return daily
    cut, _ = _cutoffs(layout, lag)
    weekend = (layout.dow >= 5).astype(int)
    bins = layout.bin_of_slot()
    per_bin = np.bincount(bins, minlength=layout.n_bins)
    shares = prof.profile[:, cut, weekend, :]  # (S, D, B)
    per_slot = shares[:, :, bins] / per_bin[bins]
    return (daily[:, :, None] * per_slot).reshape(daily.shape[0], -1)


def evaluate(
    values: np.ndarray,
    holiday: np.ndarray,
    layout: Layout,
    windows: tuple[int, ...],
    cfg: BaselineConfig,
    *,
    min_count: float,
    min_ratio: float,
    test_from: int = 0,
) -> Evaluation:
    """Test every window length ending at every period of every series.

    ``values`` is ``(S, T)`` with NaN for unobserved periods; ``holiday`` is ``(S, D)``.
    Only periods ``>= test_from`` are tested (the fit still uses everything before).
    A window only counts when it holds at least ``min_count`` cases and ``min_ratio``
    times its forecast; the combined p-value is ``len(windows) * min(p)``.
    """
    n_series = values.shape[0]
    p_day, n_days = layout.periods_per_day, layout.n_days
    observed_mask = ~np.isnan(values)
    filled = np.where(observed_mask, values, 0.0)
    cube = filled.reshape(n_series, n_days, p_day)
    valid = observed_mask.reshape(n_series, n_days, p_day).all(-1) & ~holiday
    daily = cube.sum(-1)

    calendar = _calendar(valid, layout, cfg)
    prof = fit_profiles(cube, valid, layout, cfg, calendar)
    if cfg.robust:
        step = period_forecast(prof, layout, 0)
        alpha1 = _alpha(daily, prof, layout, valid, 1, cfg)
        if p_day > 1:
            valid_p = np.repeat(valid, p_day, axis=1) & observed_mask
            own = dispersion(filled, step, valid_p, 1, cfg, units_per_day=p_day)
            alpha1 = np.maximum(np.nan_to_num(own, nan=0.0), alpha1)
        alpha_p = np.repeat(alpha1[:, :n_days], p_day, axis=1)
        cap = step + cfg.cap_sd * np.sqrt(step + alpha_p * step**2) + 2.0
        capped = np.where(np.isfinite(cap), np.minimum(filled, cap), filled)
        prof = fit_profiles(capped.reshape(cube.shape), valid, layout, cfg, calendar)

    lags = {w: -(-(w - 1) // p_day) for w in windows}
    if p_day > 1:
        lags[1] = 0  # the one-period forecast judges single periods (episode trimming)
    forecasts = {lag: period_forecast(prof, layout, lag) for lag in set(lags.values())}
    span_days = {w: max(1, w // p_day) for w in windows}
    alphas = {n: _alpha(daily, prof, layout, valid, n, cfg) for n in {1, *span_days.values()}}
    for n in alphas:  # n-day sums are at least as variable as independent days
        alphas[n] = np.maximum(alphas[n], alphas[1] / n)
    # Sub-day windows: their own overdispersion (bursts within a day), at least the day's.
    valid_p = np.repeat(valid, p_day, axis=1) & observed_mask
    sub_alpha = {
        w: np.maximum(
            np.nan_to_num(
                dispersion(filled, forecasts[lags[w]], valid_p, w, cfg, units_per_day=p_day),
                nan=0.0,
            ),
            alphas[1],
        )
        for w in {1, *windows}
        if w < p_day
    }

    sl = slice(test_from, None)
    day_of_t = np.repeat(np.arange(n_days), p_day)[sl]
    x_cum = _cumsum0(filled)
    results = []
    for w in windows:
        lag = lags[w]
        mean = _rolling_sum(np.where(observed_mask, forecasts[lag], 0.0), w)[:, sl]
        full = _rolling_sum(observed_mask.astype(float), w)[:, sl] == w
        count = _window_from_cum(x_cum, w)[:, sl]
        cut = np.clip(day_of_t - lag, 0, n_days)
        alpha = (sub_alpha[w] if w in sub_alpha else alphas[span_days[w]])[:, cut]
        rel = prof.level_var[:, cut] + prof.season_var[:, cut] / span_days[w]
        var = mean + alpha * mean**2 + rel * mean**2
        tested = full & np.isfinite(mean)
        with np.errstate(invalid="ignore"):
            p = upper_tail(count, np.where(tested, mean, 1.0), np.where(tested, var, 1.0))
            worth = (count >= min_count) & (count >= min_ratio * mean)
        p = np.where(worth, p, 1.0)
        results.append((np.where(tested, p, np.nan), count, mean))

    p_all = np.stack([r[0] for r in results])
    any_tested = ~np.all(np.isnan(p_all), axis=0)
    best = np.argmin(np.where(np.isnan(p_all), np.inf, p_all), axis=0)
    pick = best[None]
    p_best = np.take_along_axis(p_all, pick, 0)[0]
    combined = np.where(
        any_tested, np.minimum(1.0, len(windows) * np.maximum(p_best, P_FLOOR)), np.nan
    )
    obs_best = np.take_along_axis(np.stack([r[1] for r in results]), pick, 0)[0]
    exp_best = np.take_along_axis(np.stack([r[2] for r in results]), pick, 0)[0]

    def pad(a: np.ndarray, fill: float = np.nan) -> np.ndarray:
        if test_from == 0:
            return a
        return np.concatenate([np.full((n_series, test_from), fill, dtype=a.dtype), a], axis=1)

    step = forecasts[0] if 0 in forecasts else period_forecast(prof, layout, 0)
    alpha_step = np.repeat((sub_alpha[1] if p_day > 1 else alphas[1])[:, :n_days], p_day, axis=1)
    return Evaluation(
        p_value=pad(combined),
        best=pad(best, 0),
        observed=pad(obs_best),
        expected=pad(exp_best),
        forecast=step,
        forecast_var=step + alpha_step * step**2,
        profiles=prof,
    )


def _alpha(
    daily: np.ndarray,
    prof: Profiles,
    layout: Layout,
    valid: np.ndarray,
    n: int,
    cfg: BaselineConfig,
) -> np.ndarray:
    """Overdispersion of ``n``-day sums per cutoff, with the configured floor and fallback."""
    est = dispersion(daily, daily_forecast(prof, layout, n - 1), valid, n, cfg)
    est = np.where(np.isnan(est), cfg.default_dispersion / n, est)
    return np.maximum(est, cfg.min_dispersion / n)
