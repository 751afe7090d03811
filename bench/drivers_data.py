"""Synthetic root-cause localization cases, generated the way the Squeeze and RiskLoc papers do.

Every case is a full cube of leaves (all combinations of the dimension values) with an
expected value drawn from a heavy-tailed Weibull distribution (some leaves zero), an actual
value equal to the expected one plus relative forecast noise, and one root-cause set injected
at known elements: ``n_dims`` dimensions (the cuboid) and ``n_elements`` distinct value
combinations of that cuboid. Every leaf under an element is moved by the same severity
(with a little per-leaf spread): the "generalized ripple effect" the papers assume.

Three kinds of case:

* ``relative`` - the papers' setting: continuous values, Gaussian relative noise, the anomaly
  a drop or a spike. As in RiskLoc's generator the severity ``r`` is U(0.2, 1.0) plus the noise
  level (so anomalies are not indistinguishable from noise), with per-leaf spread U(0, 0.1);
  a drop multiplies actual by ``1 - r``, a spike multiplies expected by ``1 - r``.
  ``pad_severity=False`` drops the padding: a harder setting than the papers'.
* ``counts`` - escalation-like: integer case counts, Poisson noise on top of a 10 % relative
  forecast error, small expected counts per leaf, and milder anomalies: spikes of +50..150 %
  (70 % of cases) or drops of -25..-75 %.
* ``rate`` - SLA breach rate: cases (denominator) and breaches (numerator) per leaf; the
  breach *rate* moves in the root cause while a decoy slice elsewhere changes volume only.

A case with ``n_elements == 0`` has no anomaly at all (the right answer is "nothing").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

DIMENSION_NAMES = ("a", "b", "c", "d", "e", "f", "g")


@dataclass(frozen=True)
class Case:
    """One generated case and its ground truth (a list of root-cause elements as dicts)."""

    leaves: pd.DataFrame
    dimensions: list[str]
    truth: list[dict[str, str]]
    kind: str
    noise: float
    n_dims: int
    n_elements: int


def _cube(cards: tuple[int, ...]) -> tuple[pd.DataFrame, list[str]]:
    names = list(DIMENSION_NAMES[: len(cards)])
    values = [
        [f"{name}{i}" for i in range(1, card + 1)] for name, card in zip(names, cards, strict=True)
    ]
    return pd.DataFrame(list(itertools.product(*values)), columns=names), names


def _covers_parent(combos: set[tuple[int, ...]], dims: list[int], cards) -> bool:
    for i, d in enumerate(dims):
        siblings: dict[tuple[int, ...], set[int]] = {}
        for combo in combos:
            siblings.setdefault(combo[:i] + combo[i + 1 :], set()).add(combo[i])
        if any(len(values) == cards[d] for values in siblings.values()):
            return True
    return False


def _pick_elements(rng, frame, names, cards, n_dims, n_elements, weight):
    """Choose ``n_elements`` distinct value combinations of ``n_dims`` random dimensions."""
    for _ in range(100):
        dims = sorted(rng.choice(len(names), size=n_dims, replace=False).tolist())
        if np.prod([cards[d] for d in dims]) <= n_elements:  # leave some of the cuboid normal
            continue
        combos = set()
        while len(combos) < n_elements:
            combos.add(tuple(int(rng.integers(1, cards[d] + 1)) for d in dims))
        truth = [
            {names[d]: f"{names[d]}{v}" for d, v in zip(dims, combo, strict=True)}
            for combo in sorted(combos)
        ]
        masks = [
            np.logical_and.reduce([frame[k].to_numpy() == v for k, v in t.items()]) for t in truth
        ]
        # An element whose leaves are all zero cannot be seen by any method, and elements that
        # together cover every child of a parent *are* that parent: draw again.
        if all(weight[m].sum() > 0 for m in masks) and not _covers_parent(combos, dims, cards):
            return truth, masks
    raise RuntimeError("could not place an anomaly on non-zero leaves")


def make_case(
    rng: np.random.Generator,
    cards: tuple[int, ...],
    n_dims: int,
    n_elements: int,
    noise: float,
    kind: str = "relative",
    pad_severity: bool = True,
) -> Case:
    """Generate one case; see the module docstring for the three kinds."""
    frame, names = _cube(cards)
    n = len(frame)
    alpha = rng.uniform(0.5, 1.0)
    zero_rate = rng.uniform(0.0, 0.25)
    base = rng.weibull(alpha, n) * (100.0 if kind == "relative" else 6.0)
    base = base * (rng.uniform(size=n) > zero_rate)

    if kind == "relative":
        noisy = np.maximum(base * (1.0 + rng.normal(0.0, noise, n)), 0.0)
        swap = rng.integers(0, 2, n) == 1  # noise on either side, as in RiskLoc's generator
        expected = np.where(swap, noisy, base)
        actual = np.where(swap, base, noisy)
        truth, masks = (
            _pick_elements(rng, frame, names, cards, n_dims, n_elements, base)
            if n_elements
            else ([], [])
        )
        if masks:
            mask = np.logical_or.reduce(masks)
            severity = rng.uniform(0.2, 1.0) + (noise if pad_severity else 0.0)
            r = np.abs(rng.normal(severity, rng.uniform(0.0, 0.1), int(mask.sum())))
            # As in RiskLoc's generator: reset the noise, then scale one side down by (1 - r).
            if rng.uniform() < 0.5:  # drop: actual falls below expected
                actual[mask] = np.maximum(expected[mask] * (1.0 - r), 0.0)
            else:  # spike: expected is the scaled-down side, actual is 1 / (1 - r) times it
                expected[mask] = np.maximum(actual[mask] * (1.0 - r), 0.0)
        frame["actual"], frame["expected"] = actual, expected
    elif kind == "counts":
        expected = base
        truth, masks = (
            _pick_elements(rng, frame, names, cards, n_dims, n_elements, base)
            if n_elements
            else ([], [])
        )
        lam = expected * rng.gamma(1.0 / noise**2, noise**2, n) if noise > 0 else expected.copy()
        if masks:
            mask = np.logical_or.reduce(masks)
            r = rng.uniform(0.5, 1.5)
            direction = 1.0 if rng.uniform() < 0.7 else -0.5  # escalations mostly spike
            lam[mask] = expected[mask] * max(1.0 + direction * r, 0.0)
        frame["actual"] = rng.poisson(lam).astype(float)
        frame["expected"] = expected
    elif kind == "rate":
        cases = np.round(base * 8.0)  # expected cases per leaf
        rate = rng.beta(2.0, 18.0, n)  # about 10 % SLA breaches
        truth, masks = (
            _pick_elements(rng, frame, names, cards, n_dims, n_elements, cases)
            if n_elements
            else ([], [])
        )
        volume = cases * rng.gamma(1.0 / noise**2, noise**2, n) if noise > 0 else cases.copy()
        # Decoy: a random 1-dimension slice doubles its volume at an unchanged rate.
        decoy = frame[names[int(rng.integers(len(names)))]].to_numpy()
        decoy = decoy == decoy[int(rng.integers(n))]
        volume[decoy] *= 2.0
        moved = rate.copy()
        if masks:
            mask = np.logical_or.reduce(masks)
            moved[mask] = np.minimum(rate[mask] * (1.0 + rng.uniform(0.5, 1.5)), 1.0)
        actual_cases = rng.poisson(volume)
        frame["actual"] = rng.binomial(actual_cases, moved).astype(float)
        frame["actual_cases"] = actual_cases.astype(float)
        frame["expected"] = cases * rate
        frame["expected_cases"] = cases
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return Case(frame, names, truth, kind, noise, n_dims, n_elements)


def score(predicted: list[dict], truth: list[dict]) -> tuple[int, int, int]:
    """(TP, FP, FN): a prediction counts only if it equals a true element exactly."""
    key = lambda d: tuple(sorted((k, str(v)) for k, v in d.items()))  # noqa: E731
    pred = {key(p) for p in predicted}
    true = {key(t) for t in truth}
    tp = len(pred & true)
    return tp, len(pred) - tp, len(true) - tp
