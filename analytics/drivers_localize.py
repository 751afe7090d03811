"""Root-cause localization: which slices (combinations of dimension values) explain a change.

Input is a table of *leaves* (one row per combination of dimension values) with an actual and
an expected value. The engine follows the line of work of Adtributor, HotSpot, Squeeze and
RiskLoc (see ``docs/benchmarks/drivers.md``) but scores candidates statistically:

1. Each leaf gets a standardized residual ``z = (actual - expected) / sd``. The variance model
   ``sd**2 = phi * expected + sigma**2 * expected**2`` (Poisson-like plus relative forecast error)
   is fitted robustly from the data, so the same code works for counts of 2 and for 20,000.
   Residuals are clipped at ``clip``: one wild leaf cannot make a slice look abnormal, and all
   leaves of a real cause weigh about the same (the "ripple effect" of the papers).
2. Every element of every cuboid of 1..``max_dims`` dimensions is scored in one vectorised pass
   (``np.bincount``) by the evidence that its leaves share one shift: ``gain = (sum z)**2 / n``,
   the chi-square statistic of a mean shift. A parent of the true cause is diluted by its
   normal leaves and a child holds only part of the evidence, so the exact cause scores highest.
3. Greedy selection, best gain first. A candidate is accepted only if (a) its gain passes a
   Bonferroni threshold over all candidates, (b) it moved by at least ``min_change`` (for
   counts its summed change must also be ``confirm_z`` standard deviations from zero: clipped
   residuals of skewed small counts can add up by luck, a sum of counts cannot), and (c) it is
   homogeneous: splitting it along any other dimension must not reveal a mix of moved and
   unmoved children (an ANOVA F-test plus an effect-size bound). (c) is what stops a
   parent such as ``{region: APAC}`` being returned when only ``{APAC, profile}`` moved. The
   leaves of an accepted cause are then removed, which also removes its children.
4. The total itself is a candidate: a homogeneous move of everything is reported once as the
   empty slice and divided out before the search, so growth does not read as "every region".
5. A second pass re-estimates the noise from the leaves no cause explains, and deflates all
   gains by the genomic-control factor ``lambda`` (median null gain / its chi-square median)
   so that correlated forecast errors in real data do not read as causes.

For rates (SLA breach rate = breaches / cases) the expected numerator of each leaf is
re-based on the actual volume (``actual cases * expected rate``): leaves whose volume moved
but whose rate did not then match their expectation, and only rate moves are localized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analytics.drivers_lattice import (
    CHI2_1_MEDIAN,
    GLOBAL,
    build_lattice,
    decode,
    element_rows,
    element_sums,
    fit_variance,
)
from analytics.errors import MappingError, NotEnoughDataError

__all__ = ["RootCause", "localize_root_causes", "root_causes_frame"]

#: Default tuning; any of these can be passed to :func:`localize_root_causes` as a keyword.
DEFAULT_TUNING: dict[str, float | bool] = {
    "max_dims": 3,  # largest number of dimensions in one cause
    "alpha": 0.01,  # chance of one false cause on pure noise (Bonferroni over candidates)
    "min_change": 0.10,  # smallest relative move of a slice worth reporting (10 %)
    "clip": 4.0,  # residuals are clipped at this many standard deviations
    "confirm_z": 4.0,  # counts: the slice's summed change must be this many sd from zero too
    "heterogeneity": 0.2,  # share of a slice's signal that may come from differing children
    "heterogeneity_alpha": 0.001,  # significance of the homogeneity F-test
    "relative_to_total": False,  # rescale expected to the actual total first (ignore drift)
    "rate_prior": 0.0,  # pseudo-cases shrinking each leaf's expected rate to the overall rate
}

_MAX_CHECKS = 400  # bound on candidates examined per pass (each check is O(leaves))


@dataclass(frozen=True)
class RootCause:
    """One element of a root-cause set: a slice and how much it moved.

    ``slice`` maps each involved dimension to its value, e.g. ``{"region": "APAC",
    "product_surface": "profile"}``; ``rc == {"region": "APAC", ...}`` compares the slice
    with a plain dict. For count metrics ``actual``/``expected`` are sums over the slice;
    for rate metrics they are the slice's actual and expected rate. ``share_of_change`` is
    the slice's part of the total change (for rates: of actual minus expected breaches at this
    window's volume, i.e. the rate effect), signed. ``relative_change`` is actual / expected - 1
    (for rates at this window's volume; after dividing out an overall move when an ``{}`` item
    reports one). ``score`` is the chi-square evidence (larger is stronger).
    """

    slice: dict[str, object]
    score: float
    actual: float
    expected: float
    share_of_change: float
    change: float
    relative_change: float
    n_leaves: int
    dimensions: tuple[str, ...] = field(default=())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RootCause):
            return self.slice == other.slice and self.score == other.score
        if isinstance(other, dict):
            return self.slice == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, str(v)) for k, v in self.slice.items())))

    @property
    def label(self) -> str:
        """``region=APAC & product_surface=profile``: for tables and chart labels."""
        return " & ".join(f"{k}={v}" for k, v in self.slice.items()) or "(all)"


def root_causes_frame(causes: list[RootCause]) -> pd.DataFrame:
    """Tidy table of root causes, one row each, in rank order (for display)."""
    rows = [
        {
            "rank": i + 1,
            "slice": rc.label,
            "n_dimensions": len(rc.slice),
            "actual": rc.actual,
            "expected": rc.expected,
            "change": rc.change,
            "relative_change": rc.relative_change,
            "share_of_change": rc.share_of_change,
            "score": rc.score,
            "n_leaves": rc.n_leaves,
        }
        for i, rc in enumerate(causes)
    ]
    columns = ["rank", "slice", "n_dimensions", "actual", "expected", "change"]
    columns += ["relative_change", "share_of_change", "score", "n_leaves"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Boundary: validation and preparation
# --------------------------------------------------------------------------------------------


def _numeric(leaves: pd.DataFrame, column: str) -> np.ndarray:
    if column not in leaves.columns:
        raise MappingError(f"Column {column!r} is not in the leaves table.")
    values = pd.to_numeric(leaves[column], errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise MappingError(f"Column {column!r} has missing or non-numeric values.")
    if (values < 0).any():
        raise MappingError(f"Column {column!r} has negative values; counts cannot be negative.")
    return values


def _prepare(leaves, dimensions, actual, expected, actual_den, expected_den, tuning):
    dimensions = list(dimensions)
    if not dimensions:
        raise MappingError("Give at least one dimension to localize over.")
    missing = [d for d in dimensions if d not in leaves.columns]
    if missing:
        raise MappingError(f"Dimension column(s) {missing} are not in the leaves table.")
    if (actual_den is None) != (expected_den is None):
        raise MappingError("For a rate give both actual_denominator and expected_denominator.")
    value_cols = [actual, expected] + ([actual_den, expected_den] if actual_den else [])
    for column in value_cols:
        _numeric(leaves, column)
    if len(leaves) == 0:
        raise NotEnoughDataError("The leaves table is empty: nothing to localize.")
    # Several rows for one combination would split a leaf's evidence: add them up first.
    frame = leaves[dimensions + value_cols].copy()
    for column in value_cols:
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    frame = frame.groupby(dimensions, dropna=False, sort=False, observed=True).sum().reset_index()

    a = frame[actual].to_numpy(dtype=float)
    if actual_den is None:
        f = frame[expected].to_numpy(dtype=float)
    else:
        # Expected breaches at this week's volume: only a moved *rate* leaves a residual.
        num_f = frame[expected].to_numpy(dtype=float)
        den_f = frame[expected_den].to_numpy(dtype=float)
        den_a = frame[actual_den].to_numpy(dtype=float)
        overall = num_f.sum() / den_f.sum() if den_f.sum() > 0 else 0.0
        prior = float(tuning["rate_prior"])
        with np.errstate(invalid="ignore", divide="ignore"):
            rate_f = (num_f + prior * overall) / (den_f + prior)
        rate_f = np.where(np.isfinite(rate_f), rate_f, overall)
        f = den_a * rate_f
    return frame, dimensions, a, f


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------


def _heterogeneous(z, rows, codes, cards, own_dims, tuning) -> bool:
    """True when some split of the candidate shows moved and unmoved children (not GRE)."""
    n = len(rows)
    zr = z[rows]
    total = zr.sum()
    signal = total * total / n
    others = [d for d in range(len(codes)) if d not in own_dims and cards[d] > 1]
    if not others or n < 3:
        return False
    for d in others:
        g = codes[d][rows]
        cnt = np.bincount(g, minlength=cards[d])
        s = np.bincount(g, weights=zr, minlength=cards[d])
        q = np.bincount(g, weights=zr * zr, minlength=cards[d])
        used = cnt > 0
        groups = int(used.sum())
        if groups < 2:
            continue
        between = float((s[used] ** 2 / cnt[used]).sum() - signal)
        within = float(q.sum() - (s[used] ** 2 / cnt[used]).sum())
        df_b, df_w = groups - 1, n - groups
        if between <= 0 or between / (between + signal) <= tuning["heterogeneity"]:
            continue
        if df_w <= 0 or within <= 1e-12 * max(between, 1.0):
            return True  # children differ and have no spread of their own
        f_stat = (between / df_b) / (within / df_w)
        crit = stats.f.isf(tuning["heterogeneity_alpha"] / len(others), df_b, df_w)
        if f_stat > crit:
            return True
    return False


def _greedy(z, var, a, f, live, lattice, codes, cards, lam, threshold, cap, tuning, is_count):
    """Accept homogeneous, significant, material candidates, best evidence first."""
    live = live.copy()
    s = element_sums(lattice, np.where(live, z, 0.0))
    n = element_sums(lattice, live.astype(float))
    rejected_at = np.full(lattice.size, -1.0)  # n at the time of rejection
    accepted: list[tuple[int, float]] = []
    for _ in range(_MAX_CHECKS):
        if len(accepted) >= cap:
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            gain = np.where(n > 0.5, s * s / np.maximum(n, 1.0), 0.0) / lam
        gain[rejected_at == n] = -1.0
        j = int(np.argmax(gain))
        if gain[j] < threshold:
            break
        c = int(lattice.cuboid_of[j])
        rows = np.flatnonzero((lattice.inverse[c] == j - lattice.offsets[c]) & live)
        fa, ff = a[rows].sum(), f[rows].sum()
        moved = abs(fa / ff - 1.0) if ff > 0 else math.inf
        # The slice's total must confirm the leaf-level evidence: with a few cases per leaf,
        # clipped residuals of rare lucky leaves can add up; a sum of counts cannot.
        # (Continuous values with relative noise have symmetric residuals: no check there.)
        total_z2 = (fa - ff) ** 2 / var[rows].sum() / lam if is_count else math.inf
        if (
            moved < tuning["min_change"]
            or total_z2 < tuning["confirm_z"] ** 2
            or _heterogeneous(z, rows, codes, cards, lattice.dims[c], tuning)
        ):
            rejected_at[j] = n[j]
            continue
        accepted.append((j, float(gain[j])))
        live[rows] = False
        s -= element_sums(lattice, z, rows)
        n -= element_sums(lattice, np.ones_like(z), rows)
    return accepted, live


def localize_root_causes(
    leaves: pd.DataFrame,
    dimensions: list[str],
    actual: str = "actual",
    expected: str = "expected",
    max_causes: int = 3,
    actual_denominator: str | None = None,
    expected_denominator: str | None = None,
    **tuning: float,
) -> list[RootCause]:
    """Rank the slices that explain why ``actual`` differs from ``expected``.

    ``leaves`` has one row per combination of the ``dimensions`` (duplicates are summed) and
    numeric ``actual``/``expected`` columns (this window vs. its baseline). For a rate metric
    pass ``actual``/``expected`` as the numerators (e.g. SLA breaches) and
    ``actual_denominator``/``expected_denominator`` (cases): only slices whose *rate* moved are
    returned, not slices whose volume moved.

    Returns at most ``max_causes`` :class:`RootCause` items, most explanatory (largest absolute
    change) first. Each is one element of the root-cause set, involving 1..3 dimensions;
    several elements (``{"region": "APAC"}`` and ``{"region": "LATAM"}``) are several items.
    ``[rc.slice for rc in causes]`` gives plain dicts. When everything moved by about the same
    factor (growth, a forecast that is off overall) that move is one item with the empty slice
    ``{}`` (label ``(all)``) and the search continues relative to it; ``relative_to_total=True``
    instead divides any overall move out silently. Returns ``[]`` when nothing moved beyond
    noise. Deterministic. ``tuning`` overrides :data:`DEFAULT_TUNING`.
    """
    unknown = set(tuning) - set(DEFAULT_TUNING)
    if unknown:
        raise MappingError(f"Unknown tuning option(s): {sorted(unknown)}.")
    tuning = {**DEFAULT_TUNING, **tuning}
    frame, dimensions, a, f = _prepare(
        leaves, dimensions, actual, expected, actual_denominator, expected_denominator, tuning
    )
    active = (a > 0) | (f > 0)
    if not active.any() or np.allclose(a, f, rtol=1e-9, atol=1e-12):
        return []
    is_count = bool(np.all(a == np.round(a)))

    codes, cards, uniques = [], [], []
    for d in dimensions:
        code, uniq = pd.factorize(frame[d], sort=True, use_na_sentinel=False)
        codes.append(code.astype(np.int64))
        cards.append(len(uniq))
        uniques.append(uniq)
    lattice = build_lattice(codes, cards, int(tuning["max_dims"]))
    if lattice.size == 0:
        return []
    clip = float(tuning["clip"])
    cap = max(int(max_causes) * 3, 10)

    def residuals(f_now, fit_mask):
        var = fit_variance(a, f_now, fit_mask, is_count)
        return np.where(active, np.clip((a - f_now) / np.sqrt(var), -clip, clip), 0.0), var

    n_all = element_sums(lattice, active.astype(float))
    threshold = float(stats.chi2.isf(tuning["alpha"] / max(int((n_all > 0).sum()) + 1, 1), 1))

    # The total is a candidate too: a homogeneous move of everything (growth, a forecast that
    # is off overall) is reported once as the empty slice and divided out, so that it does not
    # surface as "every value of the smallest dimension" and the local causes remain visible.
    found: list[tuple[int, float]] = []
    f_search = f * (a.sum() / f.sum()) if tuning["relative_to_total"] and f.sum() > 0 else f
    z, _ = residuals(f, active)
    gain_all = z.sum() ** 2 / active.sum()
    ratio_all = a.sum() / f.sum() if f.sum() > 0 else math.inf
    if (
        not tuning["relative_to_total"]
        and gain_all >= threshold
        and abs(ratio_all - 1.0) >= tuning["min_change"]
        and not _heterogeneous(z, np.flatnonzero(active), codes, cards, (), tuning)
    ):
        # Ratio of the bulk of leaves: a local cause should not set the global factor.
        bulk = active & (np.abs(z - np.median(z[active])) < 3.0)
        rho = a[bulk].sum() / f[bulk].sum() if f[bulk].sum() > 0 else ratio_all
        found.append((GLOBAL, float(gain_all)))
        f_search = f * rho

    # Pass 1: noise from all leaves, no deflation.
    z, var = residuals(f_search, active)
    _, live = _greedy(
        z, var, a, f_search, active, lattice, codes, cards, 1.0, threshold, cap, tuning, is_count
    )
    # Pass 2: noise and the null gain scale from what pass 1 left unexplained.
    z, var = residuals(f_search, live)
    s, n = element_sums(lattice, np.where(live, z, 0.0)), element_sums(lattice, live.astype(float))
    null_gain = (s * s / np.maximum(n, 1.0))[n > 0.5]
    lam = max(1.0, float(np.median(null_gain)) / CHI2_1_MEDIAN) if len(null_gain) else 1.0
    local, _ = _greedy(
        z, var, a, f_search, active, lattice, codes, cards, lam, threshold, cap, tuning, is_count
    )
    found += local

    return _report(
        found,
        frame,
        dimensions,
        uniques,
        lattice,
        cards,
        a,
        f,
        f_search,
        max_causes,
        expected,
        actual_denominator,
        expected_denominator,
    )


def _report(
    found,
    frame,
    dimensions,
    uniques,
    lattice,
    cards,
    a,
    f,
    f_search,
    max_causes,
    expected,
    actual_den,
    expected_den,
) -> list[RootCause]:
    total_change = float(a.sum() - f.sum())
    causes = []
    for element, gain in found:
        dim_idx, values = decode(lattice, cards, element)
        rows = element_rows(lattice, element)
        change = float(a[rows].sum() - f[rows].sum())
        if actual_den is None:
            act, exp = float(a[rows].sum()), float(f[rows].sum())
        else:
            den_a = frame[actual_den].to_numpy()[rows].sum()
            den_f = frame[expected_den].to_numpy()[rows].sum()
            act = float(a[rows].sum() / den_a) if den_a > 0 else math.nan
            exp = float(frame[expected].to_numpy()[rows].sum() / den_f) if den_f > 0 else math.nan
        # Against the searched expectation: at this window's volume for rates, and beyond the
        # overall move when one was divided out.
        base = f[rows].sum() if element == GLOBAL else f_search[rows].sum()
        rel = a[rows].sum() / base - 1.0 if base > 0 else math.inf
        causes.append(
            RootCause(
                slice={
                    dimensions[d]: _plain(uniques[d][v])
                    for d, v in zip(dim_idx, values, strict=True)
                },
                score=gain,
                actual=act,
                expected=exp,
                share_of_change=change / total_change if total_change else math.nan,
                change=change if actual_den is None else act - exp,
                relative_change=float(rel),
                n_leaves=int(rows.sum()),
                dimensions=tuple(dimensions[d] for d in dim_idx),
            )
        )
    # Most explanatory first: the part of the total change each slice carries.
    weight = [
        abs(float(np.sum(a[element_rows(lattice, e)] - f[element_rows(lattice, e)])))
        for e, _ in found
    ]
    order = sorted(range(len(causes)), key=lambda i: (-weight[i], -causes[i].score))
    return [causes[i] for i in order][: int(max_causes)]


def _plain(value: object) -> object:
    """numpy scalars -> Python scalars, so slices compare and print like plain dicts."""
    return value.item() if isinstance(value, np.generic) else value
