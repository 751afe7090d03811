"""Root cause, causes: localize, confirm, narrow, and attribute the change.

1. **Localize** with :func:`analytics.drivers.localize_root_causes` over the non-rolling
   dimensions (the leaves summed over app versions, so version churn cannot pose as a cause),
   relative to the total (``relative_to_total=True``): an overall move is divided out rather
   than reported first, which on sparse leaves would otherwise swallow the local cause.
2. **Confirm** each cause with a two-sample test that counts the baseline's own noise (a
   single previous window is as noisy as the current one, and the engine takes the expected
   value as exact): counts ``z = (a - e) / sqrt(a + e / k)`` with ``k`` reference windows;
   rates a two-proportion z-test. The slice tested won a search over every candidate, so it
   needs ``|z|`` above a Bonferroni threshold over the candidates (at the engine's ``alpha``;
   about 4.8 for 10,000 candidates, never below the engine's ``confirm_z`` of 4), in the
   direction of its change.
3. **Strong movers**: on sparse leaves the engine's noise model can mistake the anomaly for
   noise, so the slices of one or two dimensions that pass that threshold both as they are
   and against the rest of the scope, moved by ``min_change`` and carry ``MOVER_SHARE`` of the
   change are candidates too (:mod:`analytics.rootcause_stats`). All candidates are taken strongest (``|z|``) first, skipping any
   that shares leaves with one already taken (a parent, a child, the same cases described
   otherwise), up to ``max_causes``.
4. **Overall move**: when the cases outside the causes moved too (``|z| >= confirm_z`` and by
   ``min_change``), that is one more item, ``{}`` ("all other slices, moved alike").
5. **Narrow**: the baseline of app versions is re-mixed to the current version mix measured
   outside the causes (:func:`analytics.rootcause_leaves.adjust_rolling`). A cause is narrowed
   by one more dimension value when that child carries ``REFINE_SHARE`` of the cause's change,
   moved significantly, while its siblings did not move materially and significantly less
   than it (so a queue-wide move is not narrowed to the region holding most of the queue).
   Engine causes are narrowed by app version only; strong movers by any dimension.
6. **Attribute**: each leaf goes to the first cause containing it (the overall move last),
   the rest to "everything else"; the change is decomposed over these disjoint groups with
   :func:`analytics.drivers.explain_change`, so contributions add up to the total change
   exactly (counts; rates, with mix and rate effects) or by construction of the residual
   (medians, approximate; see :mod:`analytics.drivers_decompose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.drivers import DEFAULT_TUNING, explain_change, localize_root_causes
from analytics.errors import NotEnoughDataError
from analytics.rootcause_leaves import (
    ROLLING_DIMENSIONS,
    Leaves,
    adjust_rolling,
    slice_mask,
)
from analytics.rootcause_stats import (
    confirm_z,
    search_threshold,
    slice_sums,
    strongest_slices,
)

OTHER = "Everything else"
REFINE_SHARE = 0.8  # a child must carry this share of a cause's change to narrow the cause
REFINE_REST_Z = 3.0  # ... its siblings must not have moved beyond this
REFINE_DIFF_Z = 3.0  # ... and must differ from the child's move by at least this


@dataclass(frozen=True)
class Cause:
    """One localized root cause and its part of the change.

    ``slice`` maps dimensions to values (``{}``: every slice moved alike). ``contribution`` is
    the cause's part of the change of the metric (cases, rate points as a fraction, hours) over
    its own leaves (disjoint from higher-ranked causes), ``share_of_change`` that part over the
    total change. Rates split it into ``mix_effect`` (the slice's share of cases changed) and
    ``rate_effect`` (its own rate changed); medians into volume (mix) and shift. ``before`` and
    ``after`` are the slice's metric in the baseline and in the current window (counts: expected
    and actual cases). ``z`` is the two-sample confirmation, ``score`` the engine's evidence.
    ``refined`` lists the dimensions added by the app-version refinement.
    """

    slice: dict[str, object]
    label: str
    contribution: float
    share_of_change: float
    mix_effect: float
    rate_effect: float
    before: float
    after: float
    score: float
    z: float
    refined: tuple[str, ...] = field(default=())

    @property
    def is_overall(self) -> bool:
        return not self.slice


def slice_label(slice_: dict[str, object]) -> str:
    """``region = APAC · product surface = profile`` (``all slices alike`` for ``{}``)."""
    if not slice_:
        return "all other slices, moved alike"
    return " · ".join(f"{k.replace('_', ' ')} = {v}" for k, v in slice_.items())


# --------------------------------------------------------------------------------------------
# Confirmation and refinement
# --------------------------------------------------------------------------------------------


def _child_test(part: pd.DataFrame, dim: str, rate: bool, k: int, tuning: dict):
    """The child of ``dim`` carrying the slice's change, with its |z|, or None (see step 5)."""
    by = part.groupby(dim, observed=True)
    a = by["actual"].sum()
    if len(a) < 2:
        return None
    if rate:
        base = (
            part["expected"].sum() / part["expected_den"].sum()
            if part["expected_den"].sum()
            else 0.0
        )
        den = by["actual_den"].sum()
        f = den * base
        var = den * max(base * (1 - base), 1e-9)
    else:
        f = by["expected"].sum()
        var = a + f / k
    excess = a - f
    total = float(excess.sum())
    if total == 0:
        return None
    sign = math.copysign(1.0, total)
    star = (excess * sign).idxmax()
    if sign * excess[star] < REFINE_SHARE * abs(total):
        return None
    rest = excess.index != star
    z_star = float(excess[star] / math.sqrt(max(var[star], 1.0)))
    a_r, f_r, v_r = float(a[rest].sum()), float(f[rest].sum()), float(var[rest].sum())
    z_rest = (a_r - f_r) / math.sqrt(max(v_r, 1.0))
    rel_rest = a_r / f_r - 1.0 if f_r > 0 else (math.inf if a_r > 0 else 0.0)
    # Siblings moving like the child (same rate points, or the same ratio) keep the slice whole.
    if rate:
        same = f_r + float(den[rest].sum()) * excess[star] / max(float(den[star]), 1.0)
    else:
        same = f_r * (a[star] / f[star]) if f[star] > 0 else math.inf
    z_diff = (a_r - same) / math.sqrt(max(v_r, same if math.isfinite(same) else 1.0, 1.0))
    if (
        abs(z_star) >= tuning["confirm_z"]
        and (abs(z_rest) < REFINE_REST_Z or abs(rel_rest) < tuning["min_change"])
        and abs(z_diff) >= REFINE_DIFF_Z
    ):
        return star, abs(z_star)
    return None


def narrow(
    leaves: Leaves, slice_: dict[str, object], dimensions, tuning: dict
) -> dict[str, object]:
    """Add dimension values to a cause while one child carries its change (see step 5)."""
    out = dict(slice_)
    k = len(leaves.windows.references)
    while out:
        part = leaves.table.loc[slice_mask(leaves.table, out)]
        if part.empty:
            break
        best = None
        for dim in dimensions:
            if dim in out:
                continue
            found = _child_test(part, dim, leaves.is_rate, k, tuning)
            if found and (best is None or found[1] > best[2]):
                best = (dim, found[0], found[1])
        if best is None:
            break
        out[best[0]] = best[1]
    return simplify(leaves.table, out) if len(out) > len(slice_) else out


def simplify(table: pd.DataFrame, slice_: dict[str, object]) -> dict[str, object]:
    """Drop values implied by the others (queue = Impersonation once category = Impersonation)."""
    out = dict(slice_)
    mask = slice_mask(table, out)
    for dim in list(out):
        if len(out) == 1:
            break
        rest = {k: v for k, v in out.items() if k != dim}
        if np.array_equal(slice_mask(table, rest), mask):
            out = rest
    return out


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------


def _labels(frame: pd.DataFrame, slices: list[dict[str, object]]) -> np.ndarray:
    """Index of the first slice containing each row; ``len(slices)`` for none."""
    label = np.full(len(frame), len(slices), dtype=np.int64)
    for i, sl in enumerate(slices):
        free = label == len(slices)
        label[free & slice_mask(frame, sl)] = i
    return label


def _decompose(leaves: Leaves, label: np.ndarray, rows: pd.DataFrame | None, row_label):
    """explain_change over the disjoint groups; returns (table indexed by group, summary)."""
    metric = leaves.metric
    if metric.kind == "median":
        if rows is None:
            raise NotEnoughDataError("The median decomposition needs the window's cases.")
        before = rows.loc[rows["reference"], ["hours"]].assign(
            group=row_label[rows["reference"].to_numpy()]
        )
        after = rows.loc[rows["current"], ["hours"]].assign(
            group=row_label[rows["current"].to_numpy()]
        )
        result = explain_change(before, after, "group", metric="median", value="hours")
        table = result.table.set_index("group")
        table["before_value"], table["after_value"] = table["before_median"], table["after_median"]
        table["rate_effect"] = table["shift_effect"]
        return table, result.summary
    tab = leaves.table.assign(group=label)
    if metric.kind == "count":
        before = tab[["group", "expected"]].rename(columns={"expected": "count"})
        after = tab[["group", "actual"]].rename(columns={"actual": "count"})
        result = explain_change(before, after, "group")
        table = result.table.set_index("group")
        table["before_value"], table["after_value"] = table["before"], table["after"]
        table["mix_effect"], table["rate_effect"] = 0.0, 0.0
        return table, result.summary
    before = tab[["group", "expected", "expected_den"]].set_axis(
        ["group", "numerator", "denominator"], axis=1
    )
    after = tab[["group", "actual", "actual_den"]].set_axis(
        ["group", "numerator", "denominator"], axis=1
    )
    result = explain_change(before, after, "group", metric="rate")
    table = result.table.set_index("group")
    table["before_value"], table["after_value"] = table["before_rate"], table["after_rate"]
    return table, result.summary


@dataclass(frozen=True)
class Attribution:
    causes: list[Cause]
    waterfall: pd.DataFrame
    summary: object  # analytics.drivers.ChangeSummary
    leaves: Leaves


def find_causes(
    leaves: Leaves,
    rows: pd.DataFrame | None = None,
    max_causes: int = 3,
    **tuning: float,
) -> Attribution:
    """Localize, confirm, refine and attribute (see the module docstring)."""
    tuning = {**DEFAULT_TUNING, "relative_to_total": True, **tuning}
    engine_kwargs = {k: v for k, v in tuning.items() if k in DEFAULT_TUNING}
    search_dims = [d for d in leaves.dimensions if d not in ROLLING_DIMENSIONS] or list(
        leaves.dimensions
    )
    found = localize_root_causes(
        leaves.table,
        search_dims,
        max_causes=max_causes + 3,
        **leaves.engine_columns,
        **engine_kwargs,
    )
    # The slice confirmed is the winner of a search over every candidate slice: its threshold
    # is a Bonferroni one over them (about 4.8 for 10,000 candidates), never below confirm_z.
    z_search = max(tuning["confirm_z"], search_threshold(leaves, search_dims, tuning["alpha"]))
    candidates: list[tuple[dict, float, float, bool]] = []  # (slice, score, z, engine's)
    for rc in found:
        if not rc.slice:
            continue  # an overall move is tested below, on what the causes leave over
        z = confirm_z(leaves, rc.slice)
        if abs(z) >= z_search and math.copysign(1.0, z) == math.copysign(1.0, rc.change or z):
            candidates.append((dict(rc.slice), float(rc.score), z, True))
    for sl, z in strongest_slices(leaves, search_dims, {**tuning, "confirm_z": z_search}):
        candidates.append((sl, math.nan, z, False))
    # Strongest evidence first; a candidate sharing leaves with one already taken (a parent or
    # a child of it, or the same cases described otherwise) is skipped.
    confirmed: list[tuple[dict, float, float, bool]] = []
    taken = np.zeros(len(leaves.table), dtype=bool)
    for cand in sorted(candidates, key=lambda c: (-abs(c[2]), not c[3])):
        mask = slice_mask(leaves.table, cand[0])
        if (mask & taken).any():
            continue
        confirmed.append(cand)
        taken |= mask
        if len(confirmed) >= max_causes:
            break
    exclude = np.zeros(len(leaves.table), dtype=bool)
    for sl, *_ in confirmed:
        exclude |= slice_mask(leaves.table, sl)
    rest = ~exclude
    if rest.any():
        z_rest = confirm_z(leaves, {}, rest)
        a, e, ad, ed = slice_sums(leaves.table, rest, leaves.is_rate)
        rel = (
            ((a / ad) / (e / ed) - 1.0 if ad and ed and e else math.inf)
            if leaves.is_rate
            else (a / e - 1.0 if e else math.inf)
        )
        if abs(z_rest) >= tuning["confirm_z"] and abs(rel) >= tuning["min_change"]:
            confirmed.append(({}, math.nan, z_rest, True))
    if search_dims != list(leaves.dimensions):
        leaves = adjust_rolling(leaves, exclude)

    refined_slices, refined_dims, scores, zs = [], [], [], []
    rolling = [d for d in leaves.dimensions if d in leaves.adjusted]
    for sl0, score, z, from_engine in confirmed:
        sl = (
            narrow(leaves, sl0, rolling if from_engine else list(leaves.dimensions), tuning)
            if sl0
            else {}
        )
        refined_slices.append(sl)
        refined_dims.append(tuple(d for d in sl if d not in sl0))
        scores.append(score)
        zs.append(float(confirm_z(leaves, sl)) if sl else z)
    # Local causes first (strongest first), the overall move last: it takes the rest.
    order = [i for i, sl in enumerate(refined_slices) if sl] + [
        i for i, sl in enumerate(refined_slices) if not sl
    ]
    slices = [refined_slices[i] for i in order]
    label = _labels(leaves.table, slices)
    row_label = (
        _labels(rows, slices) if rows is not None and leaves.metric.kind == "median" else None
    )
    table, summary = _decompose(leaves, label, rows, row_label)

    causes: list[Cause] = []
    for pos, i in enumerate(order):
        if pos not in table.index:
            continue
        g = table.loc[pos]
        sl = slices[pos]
        if not sl:  # the overall move: keep it only if the rest moved materially
            a, e = float(g["after_value"]), float(g["before_value"])
            rel = a / e - 1.0 if e else math.inf
            if not (abs(rel) >= tuning["min_change"]):
                continue
        causes.append(
            Cause(
                slice=sl,
                label=slice_label(sl),
                contribution=float(g["contribution"]),
                share_of_change=float(g["share_of_change"]),
                mix_effect=float(g["mix_effect"]),
                rate_effect=float(g["rate_effect"]),
                before=float(g["before_value"]),
                after=float(g["after_value"]),
                score=scores[i],
                z=zs[i],
                refined=refined_dims[i],
            )
        )
    causes.sort(key=lambda c: -abs(c.contribution))
    causes = causes[:max_causes]
    waterfall = _waterfall(table, slices, causes, summary)
    return Attribution(causes, waterfall, summary, leaves)


def _waterfall(table: pd.DataFrame, slices, causes: list[Cause], summary) -> pd.DataFrame:
    """Baseline value, one step per cause, one for everything else, current value."""
    kept = {slice_label(c.slice) for c in causes}
    rows = [
        {
            "step": "Baseline",
            "kind": "baseline",
            "value": summary.before,
            "mix_effect": math.nan,
            "rate_effect": math.nan,
            "share_of_change": math.nan,
        }
    ]
    other = {"contribution": 0.0, "mix_effect": 0.0, "rate_effect": 0.0}
    for cause in causes:
        rows.append(
            {
                "step": cause.label,
                "kind": "cause",
                "value": cause.contribution,
                "mix_effect": cause.mix_effect,
                "rate_effect": cause.rate_effect,
                "share_of_change": cause.share_of_change,
            }
        )
    for pos, g in table.iterrows():
        if pos < len(slices) and slice_label(slices[pos]) in kept:
            continue
        for key in other:
            other[key] += float(g[key])
    change = summary.change
    overall = any(c.is_overall for c in causes)
    if not (overall and other["contribution"] == 0 and other["mix_effect"] == 0):
        rows.append(
            {
                "step": OTHER,
                "kind": "other",
                "value": other["contribution"],
                "mix_effect": other["mix_effect"],
                "rate_effect": other["rate_effect"],
                "share_of_change": other["contribution"] / change if change else math.nan,
            }
        )
    rows.append(
        {
            "step": "Current",
            "kind": "current",
            "value": summary.after,
            "mix_effect": math.nan,
            "rate_effect": math.nan,
            "share_of_change": math.nan,
        }
    )
    return pd.DataFrame(rows)
