"""Baselines from the literature, re-implemented from the papers' descriptions for the benchmark.

All take ``(leaves, dimensions)`` with ``actual``/``expected`` columns and return a list of
root-cause elements as dicts, like ``[rc.slice for rc in localize_root_causes(...)]``.
They search the same lattice as ours (cuboids of at most 3 dimensions).

* :func:`adtributor` - Bhagwan et al., NSDI 2014. One dimension at a time: elements sorted by
  surprise (Jensen-Shannon divergence between expected and actual shares), kept while each
  explains at least ``teep`` of the change until together they explain ``tep``; the dimension
  with the largest total surprise wins. Parameters from the paper (0.1, 0.67); the best
  (top-1) set is returned.
* :func:`riskloc` - Kalander, 2022. Two-way partition of the deviation scores at a cutoff set
  by the noise on the opposite side, weights growing with the distance from the cutoff, risk =
  weighted abnormal share minus the ripple-effect "low risk" ratio, layer-by-layer search
  returning the highest-explanatory-power element whose risk is >= 0.5, repeated until 98 % of
  the abnormal explanatory power is explained. Element pruning (a speed-up) is left out.
* :func:`squeeze` - Li et al., ISSRE 2019, simplified: abnormal leaves are those whose
  deviation score is beyond 3 robust standard deviations; they are clustered by density
  (split at minima of a smoothed histogram of deviation scores); inside each cluster every
  cuboid ranks its elements by the share of their leaves in the cluster and keeps the top-k
  that maximise the generalized potential score (GPS), with a small succinctness penalty.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

MAX_DIMS = 3


def _codes(leaves: pd.DataFrame, dimensions: list[str]):
    codes, uniques = [], []
    for d in dimensions:
        code, uniq = pd.factorize(leaves[d], sort=True)
        codes.append(code.astype(np.int64))
        uniques.append(uniq)
    return codes, uniques


def _cuboids(codes, uniques, layer):
    cards = [len(u) for u in uniques]
    for combo in combinations(range(len(codes)), layer):
        code = codes[combo[0]].copy()
        for d in combo[1:]:
            code = code * cards[d] + codes[d]
        key, inv = np.unique(code, return_inverse=True)
        yield combo, key, inv


def _element(dimensions, uniques, combo, code):
    cards = [len(uniques[d]) for d in combo]
    values = []
    for card in reversed(cards):
        values.append(code % card)
        code //= card
    values.reverse()
    return {dimensions[d]: uniques[d][v] for d, v in zip(combo, values, strict=True)}


# --------------------------------------------------------------------------------------------
# Adtributor
# --------------------------------------------------------------------------------------------


def adtributor(leaves, dimensions, teep=0.1, tep=0.67):
    a_all = leaves["actual"].to_numpy(float)
    f_all = leaves["expected"].to_numpy(float)
    total = a_all.sum() - f_all.sum()
    if total == 0:
        return []
    best, best_surprise = [], -1.0
    for d in dimensions:
        grouped = leaves.groupby(d, sort=True, observed=True)[["actual", "expected"]].sum()
        a, f = grouped["actual"].to_numpy(), grouped["expected"].to_numpy()
        p, q = f / f.sum(), a / a.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            m = (p + q) / 2
            surprise = 0.5 * (np.nan_to_num(p * np.log(p / m)) + np.nan_to_num(q * np.log(q / m)))
        ep = (a - f) / total
        chosen, explained, s_sum = [], 0.0, 0.0
        for i in np.argsort(-surprise, kind="stable"):
            if ep[i] > teep:
                chosen.append(grouped.index[i])
                explained += ep[i]
                s_sum += surprise[i]
                if explained > tep:
                    break
        if explained > tep and s_sum > best_surprise:
            best, best_surprise = [{d: v} for v in chosen], s_sum
    return best


# --------------------------------------------------------------------------------------------
# RiskLoc
# --------------------------------------------------------------------------------------------


def _cutoff(dev, n_remove=5):
    values = np.unique(dev)
    low = values[min(n_remove, len(values) - 1)]
    high = values[max(len(values) - 1 - n_remove, 0)]
    return -(low if abs(low) < abs(high) else high)


def riskloc(leaves, dimensions, risk_threshold=0.5, pep_threshold=0.02):
    a = leaves["actual"].to_numpy(float)
    f = leaves["expected"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.nan_to_num(2 * (f - a) / (f + a))
    t = _cutoff(dev)
    abnormal = dev > t if t >= 0 else dev < t
    weight = np.minimum(np.where(abnormal, np.abs(dev), np.abs(t - dev)), 1.0)
    weight[(a == 0) & (f == 0)] = 0.0
    total = a.sum() - f.sum()
    ep = (a - f) / total if total else np.zeros_like(a)
    if ep[abnormal].sum() < 0:
        ep = -ep
    threshold = ep[abnormal].sum() * pep_threshold
    codes, uniques = _codes(leaves, dimensions)
    nonzero = (a != 0) & (f != 0)
    live = np.ones(len(a), bool)
    causes = []
    while ep[abnormal & live].sum() >= threshold and len(causes) < 20:
        found = None
        for layer in range(1, min(MAX_DIMS, len(dimensions)) + 1):
            best_ep = threshold
            for combo, key, inv in _cuboids(codes, uniques, layer):
                k = len(key)
                lv = live.astype(float)
                e_ep = np.bincount(inv, weights=ep * lv, minlength=k)
                n_ab = np.bincount(inv, weights=(abnormal & live).astype(float), minlength=k)
                cand = np.flatnonzero((n_ab > 0) & (e_ep > best_ep))
                if len(cand) == 0:
                    continue
                w_ab = np.bincount(inv, weights=weight * (abnormal & live), minlength=k)
                w_no = np.bincount(inv, weights=weight * (~abnormal & live), minlength=k)
                high = w_ab / (w_ab + w_no + 1.0)
                sel = (nonzero & live).astype(float)
                sa = np.bincount(inv, weights=a * sel, minlength=k)
                sf = np.bincount(inv, weights=f * sel, minlength=k)
                with np.errstate(invalid="ignore", divide="ignore"):
                    a_hat = f * (sa / sf)[inv]
                    d2 = np.nan_to_num(np.abs(2 * (a_hat - a) / (a_hat + a)))
                cnt = np.bincount(inv, weights=sel, minlength=k)
                w1 = np.bincount(inv, weights=d2 * sel, minlength=k)
                w2 = np.bincount(inv, weights=np.abs(dev) * sel, minlength=k)
                with np.errstate(invalid="ignore", divide="ignore"):
                    low = np.where((cnt > 0) & (w2 > 0), w1 / np.where(w2 > 0, w2, 1.0), 0.0)
                risk = high - low
                for j in cand[np.argsort(-e_ep[cand], kind="stable")]:
                    if risk[j] >= risk_threshold:
                        best_ep = e_ep[j]
                        found = (combo, key[j], inv == j)
                        break
            if found is not None:
                break
        if found is None:
            break
        combo, code, mask = found
        causes.append(_element(dimensions, uniques, combo, int(code)))
        live &= ~mask
    return causes


# --------------------------------------------------------------------------------------------
# Squeeze (simplified)
# --------------------------------------------------------------------------------------------


def _clusters(dev: np.ndarray, bins: int = 100) -> list[np.ndarray]:
    hist, edges = np.histogram(dev, bins=bins, range=(-2.0, 2.0))
    smooth = np.convolve(hist, np.ones(5) / 5, mode="same")
    cuts = [edges[0]]
    for i in range(1, len(smooth) - 1):
        if (
            smooth[i] < smooth[i - 1]
            and smooth[i] <= smooth[i + 1]
            and smooth[i] < 0.5 * smooth.max()
        ):
            cuts.append(edges[i])
    cuts.append(edges[-1] + 1e-9)
    labels = np.digitize(dev, cuts[1:-1])
    return [np.flatnonzero(labels == lab) for lab in np.unique(labels)]


def _gps(a, f, in_set, scope):
    """Generalized potential score of 'these leaves moved by one common ratio'.

    Squeeze averages the errors over the set and over the rest; with a whole cube as "the
    rest" an average barely notices abnormal leaves left out, so tiny sets win. Here the
    errors are summed (the share of absolute deviation the hypothesis removes) instead.
    """
    s, n = in_set & scope, ~in_set & scope
    if not s.any() or f[s].sum() == 0:
        return -np.inf
    a_hat = f[s] * (a[s].sum() / f[s].sum())
    den = np.abs(a[scope] - f[scope]).sum()
    num = np.abs(a[s] - a_hat).sum() + np.abs(a[n] - f[n]).sum()
    return 1.0 - num / den if den > 0 else -np.inf


def squeeze(leaves, dimensions, max_k=6, penalty=0.02):
    a = leaves["actual"].to_numpy(float)
    f = leaves["expected"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.nan_to_num(2 * (f - a) / (f + a))
    active = (a > 0) | (f > 0)
    med = np.median(dev[active])
    sigma = 1.4826 * np.median(np.abs(dev[active] - med))
    abnormal = active & (np.abs(dev - med) > max(3 * sigma, 1e-9))
    if abnormal.sum() == 0:
        return []
    codes, uniques = _codes(leaves, dimensions)
    causes = []
    for cluster in _clusters(dev[abnormal]):
        members = np.zeros(len(a), bool)
        members[np.flatnonzero(abnormal)[cluster]] = True
        if members.sum() < 2:
            continue
        scope = active & ~(abnormal & ~members)  # other clusters are explained elsewhere
        best, best_score = None, -np.inf
        for layer in range(1, min(MAX_DIMS, len(dimensions)) + 1):
            for combo, key, inv in _cuboids(codes, uniques, layer):
                k = len(key)
                tot = np.bincount(inv, weights=active.astype(float), minlength=k)
                hit = np.bincount(inv, weights=members.astype(float), minlength=k)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(tot > 0, hit / tot, 0.0)
                order = np.argsort(-ratio, kind="stable")[:max_k]
                in_set = np.zeros(len(a), bool)
                for rank, j in enumerate(order):
                    if hit[j] == 0:
                        break
                    in_set |= inv == j
                    score = _gps(a, f, in_set, scope) - penalty * (rank + 1) * layer
                    if score > best_score:
                        best_score, best = score, (combo, key[order[: rank + 1]])
        if best is not None and best_score > 0:
            combo, keys = best
            causes.extend(_element(dimensions, uniques, combo, int(c)) for c in keys)
    return causes
