"""Scoring of grey-area signals: definitions, confidence intervals, baselines, contributions.

See :mod:`analytics.sop` for what the signals mean and how the score reads. Pure pandas/numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SignalDef:
    """One grey-area signal: how it is shown, weighted, and what difference matters."""

    key: str
    label: str
    help: str
    weight: float
    floor: float  # smallest difference from the baseline that matters (scale floor)
    rate: bool = True  # a proportion (Wilson CI) or a mean (normal CI)

    @property
    def short(self) -> str:
        return _SHORT[self.key]


_SHORT = {
    "inconsistency": "Inconsistent",
    "overturn": "Overturned",
    "hesitancy": "Hesitant notes",
    "reopen": "Reopened",
    "handling": "Slower",
    "catch_all": "Catch-all",
}


SIGNALS: tuple[SignalDef, ...] = (
    SignalDef(
        "inconsistency",
        "Similar cases, different outcomes",
        "Share of a case's most similar cases (same policy) that got a different outcome.",
        1.5,
        0.05,
    ),
    SignalDef(
        "overturn",
        "Overturned on appeal / failed QA",
        "Reviewed decisions (decided appeals, QA-scored cases) overturned or scored below the QA threshold.",
        1.5,
        0.05,
    ),
    SignalDef(
        "hesitancy",
        "Hesitant agent notes",
        "Cases whose agent notes say the rule is unclear, not covered, or that policy was consulted.",
        1.0,
        0.05,
    ),
    SignalDef("reopen", "Reopened", "Cases reopened at least once.", 0.75, 0.03),
    SignalDef(
        "handling",
        "Longer handling than the queue",
        "Mean log handling time minus the median of the same queue and priority.",
        0.5,
        0.2,
        rate=False,
    ),
    SignalDef(
        "catch_all",
        "Filed under 'other' / no policy",
        "Cases filed under no policy, 'Other', or a catch-all category or sub-policy.",
        1.0,
        0.05,
    ),
)
SIGNAL_BY_KEY = {s.key: s for s in SIGNALS}
#: Cases per independent observation of inconsistency (see _signal_values).
INCONSISTENCY_DESIGN_EFFECT = 2.0


def wilson(x, n, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for x successes out of n (arrays; NaN where n == 0)."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    bad = n <= 0
    return np.where(bad, np.nan, np.clip(centre - half, 0, 1)), np.where(
        bad, np.nan, np.clip(centre + half, 0, 1)
    )


# --- per-key signal values ---------------------------------------------------------------


def rate(x, n) -> np.ndarray:
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    return np.divide(x, n, out=np.full_like(x, np.nan), where=n > 0)


def signal_values(
    counts: pd.DataFrame, incons: pd.DataFrame, keys: list[str], z: float
) -> pd.DataFrame:
    """Long frame: keys..., signal, value, low, high, n (raw, before shrinkage)."""
    df = counts.merge(incons, on=keys, how="left")
    df[["sim_n", "sim_sum"]] = df[["sim_n", "sim_sum"]].fillna(0.0)
    parts = []
    rate_inputs = {
        "inconsistency": ("sim_sum", "sim_n"),
        "overturn": ("overturns", "reviewed"),
        "hesitancy": ("hesitant", "with_notes"),
        "reopen": ("reopened", "cases"),
        "catch_all": ("catch_all", "cases"),
    }
    for sig, (num, den) in rate_inputs.items():
        value = rate(df[num], df[den])
        n = df[den].astype(float)
        if sig == "inconsistency":
            # A disagreeing pair counts for both of its cases (and a case's outlier outcome for
            # each of its neighbours): about half as many independent observations as cases.
            n = n / INCONSISTENCY_DESIGN_EFFECT
        lo, hi = wilson(value * n, n, z)
        parts.append(df[keys].assign(signal=sig, value=value, low=lo, high=hi, n=n))
    n = df["handled"].astype(float)
    mean = rate(df["excess_sum"], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, (df["excess_sq"] - n * mean**2) / (n - 1), np.nan)
        se = np.sqrt(np.clip(var, 0, None) / n)
    parts.append(
        df[keys].assign(signal="handling", value=mean, low=mean - z * se, high=mean + z * se, n=n)
    )
    return pd.concat(parts, ignore_index=True)


def baselines(
    values: pd.DataFrame, cases: pd.DataFrame, keys: list[str], min_cases: int
) -> pd.DataFrame:
    """Median and spread of each signal over keys with enough cases (robust to the outlier)."""
    big = cases[cases["cases"] >= min_cases][keys]
    rows = []
    for sig in SIGNALS:
        v = values[values["signal"] == sig.key]
        pool = v.merge(big, on=keys)["value"].dropna()
        if len(pool) < 3:  # too few policies to compare: fall back to all keys
            pool = v["value"].dropna()
        if pool.empty:
            rows.append({"signal": sig.key, "baseline": np.nan, "scale": sig.floor, "keys": 0})
            continue
        med = float(pool.median())
        mad = float((pool - med).abs().median()) * 1.4826
        rows.append(
            {
                "signal": sig.key,
                "baseline": med,
                "scale": max(mad, sig.floor),
                "keys": int(len(pool)),
            }
        )
    out = pd.DataFrame(rows)
    out["label"] = out["signal"].map(lambda s: SIGNAL_BY_KEY[s].label)
    out["weight"] = out["signal"].map(lambda s: SIGNAL_BY_KEY[s].weight)
    return out


def score_signals(
    values: pd.DataFrame, base: pd.DataFrame, prior_cases: float, cap: float
) -> pd.DataFrame:
    """Add baseline, shrunk value, effect and contributions to a long signal frame."""
    df = values.merge(base[["signal", "baseline", "scale", "weight"]], on="signal", how="left")
    n = df["n"].fillna(0.0)
    shrink = n / (n + prior_cases)
    df["shrunk"] = df["baseline"] + (df["value"] - df["baseline"]) * shrink
    df["effect"] = (df["shrunk"] - df["baseline"]) / df["scale"]
    df["contribution"] = (df["weight"] * df["effect"].clip(0, cap)).fillna(0.0)
    # The low end is shrunk the same way, so score_low <= score.
    low_shrunk = df["baseline"] + (df["low"] - df["baseline"]) * shrink
    low_effect = (low_shrunk - df["baseline"]) / df["scale"]
    df["contribution_low"] = (df["weight"] * low_effect.clip(0, cap)).fillna(0.0)
    df["label"] = df["signal"].map(lambda s: SIGNAL_BY_KEY[s].label)
    return df


def fmt_value(sig: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if sig == "handling":
        return f"×{math.exp(value):.2f}"
    return f"{value:.0%}"


def summary(rows: pd.DataFrame) -> str:
    top = rows[rows["contribution"] > 0].sort_values("contribution", ascending=False).head(3)
    if top.empty:
        return "no signal above the other policies"
    return "; ".join(
        f"{r.label[0].lower()}{r.label[1:]} {fmt_value(r.signal, r.value)} "
        f"(typical {fmt_value(r.signal, r.baseline)})"
        for r in top.itertuples()
    )
