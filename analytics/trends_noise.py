"""The noise model behind the trend tests: overdispersion and negative-binomial tails.

Split from :mod:`analytics.trends_baseline` (which fits the seasonal baseline and runs the
tests); everything here works on arrays shaped ``(series, periods)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:  # only for annotations: trends_baseline imports this module
    from analytics.trends_baseline import BaselineConfig

#: Consistency constant of the median absolute deviation for a normal distribution.
_MAD_TO_SD = 1.4826
#: The overdispersion is re-estimated every this many days (cutoffs on multiples of it).
DISPERSION_STRIDE_DAYS = 14
#: E[min(Z**2, 9)] for a standard normal Z: makes the 3-sd winsorised variance consistent.
_WINSOR_3SD = 0.9950


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 1 with a leading zero: ``out[:, c] = a[:, :c].sum(1)``."""
    out = np.zeros((a.shape[0], a.shape[1] + 1, *a.shape[2:]))
    np.cumsum(a, axis=1, out=out[:, 1:])
    return out


def _rolling_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Sum of the ``w`` values ending at each position along axis 1.

    NaN for the first ``w - 1`` positions and wherever the window holds a NaN (a plain
    cumulative sum would carry one NaN into every later window).
    """
    missing = np.isnan(a)
    out = _window_from_cum(_cumsum0(np.where(missing, 0.0, a)), w)
    if missing.any():
        out[_window_from_cum(_cumsum0(missing.astype(float)), w) > 0] = np.nan
    return out


def _window_from_cum(cum: np.ndarray, w: int) -> np.ndarray:
    out = np.full((cum.shape[0], cum.shape[1] - 1), np.nan)
    out[:, w - 1 :] = cum[:, w:] - cum[:, : cum.shape[1] - w]
    return out


def _nan_median(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median along the last axis ignoring NaN (np.sort puts NaN last), and the count."""
    s = np.sort(a, axis=-1)
    n = np.sum(~np.isnan(a), axis=-1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan), n


def dispersion(
    values: np.ndarray,
    forecast: np.ndarray,
    valid: np.ndarray,
    n: int,
    cfg: BaselineConfig,
    units_per_day: int = 1,
    stride_days: int = DISPERSION_STRIDE_DAYS,
) -> np.ndarray:
    """Robust overdispersion of ``n``-unit sums at each cutoff day, ``(S, D + 1)``; NaN if unknown.

    Units are days (``units_per_day=1``; overlapping n-day sums) or periods of a sub-daily
    series (non-overlapping n-period sums, at most 4,096 of them). Uses the Pearson
    residuals ``(x - m) / sqrt(m)`` of the sums that end before the cutoff, whose variance
    is ``1 + alpha * m`` under a negative binomial; the variance is a winsorised one
    around the median, so past spikes do not inflate it. Recomputed every ``stride_days``.
    """
    n_series, n_units = values.shape
    n_days = n_units // units_per_day
    ok = valid & np.isfinite(forecast)
    sums = _rolling_sum(np.where(ok, values, 0.0), n)
    means = _rolling_sum(np.where(ok, forecast, 0.0), n)
    full = _rolling_sum(ok.astype(float), n) == n
    good = full & (means > 0)
    resid = np.where(good, (sums - means) / np.sqrt(np.where(good, means, 1.0)), np.nan)
    means = np.where(good, means, np.nan)

    step = 1 if units_per_day == 1 else n
    ends = np.arange(step - 1, n_units, step)  # sums ending at these units
    k = min(cfg.dispersion_days * units_per_day // step, 4096)
    cuts = np.arange(0, n_days + 1, stride_days)
    hi = np.searchsorted(ends, cuts * units_per_day)  # sums ending before the cutoff
    pad = np.full((n_series, k), np.nan)
    resid_p = np.concatenate([pad, resid[:, ends]], axis=1)
    means_p = np.concatenate([pad, means[:, ends]], axis=1)
    idx = hi[:, None] + np.arange(k)[None, :]  # the k sums before each cutoff, padded
    win = resid_p[:, idx]
    centre, count = _nan_median(win)
    dev = win - centre[..., None]
    mad, _ = _nan_median(np.abs(dev))
    # Winsorised variance around the median: nearly as efficient as the plain variance
    # (the MAD alone wastes 60 % of the sample) while a past spike counts as 3 sd at most.
    bound = (3.0 * _MAD_TO_SD * mad)[..., None]
    clipped = np.clip(dev, -bound, bound)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.nansum(clipped**2, axis=-1) / np.maximum(count - 1, 1) / _WINSOR_3SD
    m_win = means_p[:, idx]
    m_n = np.sum(~np.isnan(m_win), axis=-1)
    independent = np.maximum(count * step / n, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_m = np.nansum(m_win, axis=-1) / m_n
        alpha = np.maximum(var - 1.0, 0.0) / mean_m
        # Sparse series say little about alpha (its standard error is about
        # sqrt(2 / n) * var / mean): shrink towards the prior by precision, so that noise
        # in the estimate does not fatten the tails of a series averaging 2 a day.
        weight = independent * mean_m**2 / (2.0 * np.maximum(var, 1.0) ** 2)
    prior = cfg.default_dispersion / max(1.0, n / units_per_day)
    prior_weight = (max(1.0, n / units_per_day) / cfg.dispersion_prior_sd) ** 2
    alpha = (weight * alpha + prior_weight * prior) / (weight + prior_weight)
    # An estimate from few independent sums is often too low, and too low a variance is
    # what makes false alerts: inflate by a margin that shrinks with the sample size.
    alpha = alpha * (1.0 + cfg.dispersion_margin / np.sqrt(independent))
    alpha = np.where(count >= max(14, k // 4), alpha, np.nan)
    return alpha[:, np.arange(n_days + 1) // stride_days]


def upper_tail(x: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``P(X >= x)`` for a negative binomial with this mean and variance (Poisson if equal).

    Exact (incomplete beta / gamma functions) where the count is above its mean; below
    it, where p > 0.15 anyway, a normal approximation (these cells never alert and the
    exact functions cost ~0.5 microseconds each).
    """
    x = np.round(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - 0.5 - mean) / np.sqrt(var)
    p = special.ndtr(-z)
    exact = (z > 1.0) & (x > 0) & (mean > 0)
    xe, me, ve = x[exact], mean[exact], var[exact]
    extra = ve - me
    nb = (extra > 1e-9 * me) & (me**2 < 1e8 * np.maximum(extra, 1e-300))
    out = np.empty(len(xe))
    theta = me[nb] ** 2 / extra[nb]
    out[nb] = special.betainc(xe[nb], theta, me[nb] / (theta + me[nb]))
    out[~nb] = special.gammainc(xe[~nb], me[~nb])
    p[exact] = out
    p = np.where((mean <= 0) & (x > 0), 0.0, p)
    return np.where(x <= 0, 1.0, p)
