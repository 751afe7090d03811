"""Internals of root-cause localization: the noise model and the lattice of candidate slices.

Not a public API: :mod:`analytics.drivers_localize` is the only user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import optimize, stats

CHI2_1_MEDIAN = stats.chi2.ppf(0.5, 1)  # 0.4549: median of a chi-square with 1 dof
GLOBAL = -1  # element id of the total (the empty slice)


# --------------------------------------------------------------------------------------------
# Noise model
# --------------------------------------------------------------------------------------------


def fit_variance(a: np.ndarray, f: np.ndarray, fit_mask: np.ndarray, is_count: bool) -> np.ndarray:
    """Per-leaf null variance ``phi*f + sigma2*f**2``, fitted robustly on ``fit_mask`` leaves.

    Leaves are binned by expected value; in each bin ``median(r**2) / 0.4549`` estimates the
    variance of ``r = a - f`` even when up to half the bin moved. A relative least-squares fit
    (each bin weighs the same whatever its scale) gives ``phi`` and ``sigma2``. Counts cannot
    be less noisy than Poisson, so ``phi >= 1`` for integer data.
    """
    idx = np.flatnonzero(fit_mask)
    phi, sigma2 = (1.0 if is_count else 0.0), 0.0
    if len(idx) >= 8:
        order = idx[np.argsort(f[idx], kind="stable")]
        n_bins = int(min(20, max(1, len(order) // 50)))
        rows, target = [], []
        for chunk in np.array_split(order, n_bins):
            fb = float(np.median(f[chunk]))
            vb = float(np.median((a[chunk] - f[chunk]) ** 2) / CHI2_1_MEDIAN)
            if fb > 0 and vb > 0:
                rows.append([fb / vb, fb * fb / vb])
                target.append(1.0)
        if rows:
            coef, _ = optimize.nnls(np.asarray(rows), np.asarray(target))
            phi, sigma2 = float(coef[0]), float(coef[1])
    if is_count:
        phi = max(phi, 1.0)
    var = phi * f + sigma2 * f * f
    # A floor keeps leaves with expected 0 finite; such a leaf with actual > 0 clips to +clip.
    positive = f[f > 0]
    scale = float(np.median(positive)) if len(positive) else 1.0
    floor = max(1e-12 * scale * scale, 1e-300)
    if phi == 0 and sigma2 == 0:  # a perfect forecast: any change is signal, but stay finite
        floor = max(floor, 1e-6 * scale * scale)
    return np.maximum(var, floor)


# --------------------------------------------------------------------------------------------
# Candidate lattice
# --------------------------------------------------------------------------------------------


@dataclass
class Lattice:
    """All cuboids of 1..max_dims dimensions, flattened into one array of elements."""

    dims: list[tuple[int, ...]]  # dimension indices of each cuboid
    inverse: list[np.ndarray]  # leaf -> element index within the cuboid
    keys: list[np.ndarray]  # element index -> mixed-radix code of its values
    offsets: np.ndarray  # start of each cuboid in the flat element arrays
    cuboid_of: np.ndarray  # flat element -> cuboid number
    size: int


def build_lattice(codes: list[np.ndarray], cards: list[int], max_dims: int) -> Lattice:
    n = len(codes[0])
    usable = [d for d, c in enumerate(cards) if c > 1]  # a constant dimension is the total
    dims, inverse, keys, sizes = [], [], [], []
    for k in range(1, min(max_dims, len(usable)) + 1):
        for combo in combinations(usable, k):
            code = codes[combo[0]].astype(np.int64)
            for d in combo[1:]:
                code = code * cards[d] + codes[d]
            # Mixed-radix codes are dense for small cuboids; compress sparse ones.
            space = math.prod(cards[d] for d in combo)
            if space <= 4 * n + 1024:
                present = np.bincount(code, minlength=space) > 0
                remap = np.cumsum(present) - 1
                key, inv = np.flatnonzero(present), remap[code]
            else:
                key, inv = np.unique(code, return_inverse=True)
            dims.append(combo)
            inverse.append(inv.astype(np.int64))
            keys.append(key)
            sizes.append(len(key))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    cuboid_of = np.repeat(np.arange(len(sizes)), sizes)
    return Lattice(dims, inverse, keys, offsets, cuboid_of, int(offsets[-1]))


def decode(lattice: Lattice, cards: list[int], element: int) -> tuple[tuple[int, ...], list]:
    if element == GLOBAL:
        return (), []
    c = int(lattice.cuboid_of[element])
    code = int(lattice.keys[c][element - lattice.offsets[c]])
    values = []
    for d in reversed(lattice.dims[c]):
        values.append(code % cards[d])
        code //= cards[d]
    return lattice.dims[c], list(reversed(values))


def element_sums(
    lattice: Lattice, weights: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    out = np.zeros(lattice.size)
    for c, inv in enumerate(lattice.inverse):
        lo, hi = lattice.offsets[c], lattice.offsets[c + 1]
        if rows is None:
            out[lo:hi] = np.bincount(inv, weights=weights, minlength=hi - lo)
        else:
            out[lo:hi] = np.bincount(inv[rows], weights=weights[rows], minlength=hi - lo)
    return out


def element_rows(lattice: Lattice, element: int) -> np.ndarray:
    if element == GLOBAL:
        return np.ones(len(lattice.inverse[0]), dtype=bool)
    c = int(lattice.cuboid_of[element])
    return lattice.inverse[c] == element - lattice.offsets[c]
