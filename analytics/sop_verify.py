"""Did the SOP update work? Before/after the update date, with significance tests.

Two questions, each on the policy's cases in a window before the SOP update date and the
same window after it (``window_days``, 90 by default; the after window ends at the last
case in the store):

- **Overturns dropped?** Overturn rate among reviewed decisions (see :mod:`analytics.sop`),
  one-sided two-proportion z-test (pooled standard error).
- **Inconsistency dropped?** Mean outcome entropy (bits) among similar cases, where a
  case's similar cases are taken from its own period only; one-sided permutation test
  that shuffles the before/after labels (:func:`analytics.sop_similarity.entropy_shift_test`).

A test is only run with enough data after the update (``min_reviewed`` reviewed decisions
for overturns, ``min_similar`` cases with similar cases for entropy, on each side);
otherwise that measure is "not yet measurable". With both measures tested, each is judged
at ``alpha / 2`` (Bonferroni). The verdict: *improved* when a measurable
signal dropped significantly and none rose significantly, *worse* when one rose
significantly, *no significant change* otherwise, *not yet measurable* when neither could
be tested.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis import _
from scipy.stats import norm

from analytics.filters import Filters
from analytics.sop_signals import SignalOptions, case_flags, case_texts, scoped, with_pain_points
from analytics.sop_similarity import SimilarityParams, entropy_shift_test, find_neighbours

NOT_MEASURABLE = "not yet measurable"


@dataclass(frozen=True)
class MetricChange:
    metric: str  # "overturn" or "entropy"
    label: str
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    p_value: float | None  # one-sided, for a drop
    p_rise: float | None  # one-sided, for a rise
    test: str
    verdict: str  # "dropped", "rose", "no significant change", NOT_MEASURABLE


@dataclass(frozen=True)
class Verification:
    policy: str
    pain_point: str
    sop_updated_on: date
    before_start: date
    after_end: date
    cases_before: int
    cases_after: int
    status: str  # "improved", "worse", "no significant change", NOT_MEASURABLE
    message: str
    metrics: tuple[MetricChange, ...] = field(default=())

    def as_dict(self) -> dict:
        """JSON-ready (stored with a verified finding)."""
        d = asdict(self)
        for k in ("sop_updated_on", "before_start", "after_end"):
            d[k] = d[k].isoformat()
        return d

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(m) for m in self.metrics])


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """One-sided p-values (pooled z): (p for rate 2 < rate 1, p for rate 2 > rate 1)."""
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(norm.sf(z)), float(norm.cdf(z))


def _verdict(p_drop: float, p_rise: float, alpha: float) -> str:
    if p_drop < alpha:
        return "dropped"
    if p_rise < alpha:
        return "rose"
    return "no significant change"


def verify_fix(
    t: ibis.Table,
    policy: str,
    sop_updated_on: date,
    *,
    pain_point: str = "",
    assignments: pd.DataFrame | None = None,
    window_days: int = 90,
    min_cases: int = 30,
    min_reviewed: int = 20,
    min_similar: int = 20,
    alpha: float = 0.05,
    n_permutations: int = 999,
    seed: int = 0,
    similarity: SimilarityParams | None = None,
    options: SignalOptions | None = None,
) -> Verification:
    """Compare the policy's overturns and inconsistency before and after ``sop_updated_on``."""
    sim = similarity or SimilarityParams()
    opts = options or SignalOptions()
    start = sop_updated_on - timedelta(days=window_days)
    end = sop_updated_on + timedelta(days=window_days - 1)
    f = Filters(preset="custom", start=start, end=end)
    use_pp = assignments if pain_point else None

    base = case_flags(with_pain_points(scoped(t, f), use_pp), opts)
    base = base.filter(_.policy_key == policy)
    if pain_point:
        base = base.filter(_.pain_point == pain_point)
    after_expr = base.created_at >= ibis.timestamp(pd.Timestamp(sop_updated_on).to_pydatetime())
    counts = (
        base.group_by(after=after_expr)
        .aggregate(
            cases=_.count(),
            reviewed=_.reviewed.cast("int64").sum(),
            overturns=(_.overturn_event & _.reviewed).cast("int64").sum(),
            last=_.created_at.max(),
        )
        .execute()
    )
    by = {bool(r.after): r for r in counts.itertuples()}
    empty = type("Row", (), {"cases": 0, "reviewed": 0, "overturns": 0, "last": None})
    before_c, after_c = by.get(False, empty), by.get(True, empty)
    after_end = (
        min(end, pd.Timestamp(after_c.last).date()) if after_c.last is not None else sop_updated_on
    )

    metrics = []
    # Overturn rate.
    nb_, na_ = int(before_c.reviewed or 0), int(after_c.reviewed or 0)
    xb, xa = int(before_c.overturns or 0), int(after_c.overturns or 0)
    rate_b = xb / nb_ if nb_ else None
    rate_a = xa / na_ if na_ else None
    if nb_ >= min_reviewed and na_ >= min_reviewed:
        p_drop, p_rise = two_proportion_test(xb, nb_, xa, na_)
        verdict = _verdict(p_drop, p_rise, alpha)
    else:
        p_drop = p_rise = None
        verdict = NOT_MEASURABLE
    metrics.append(
        MetricChange(
            "overturn",
            "Overturned on appeal / failed QA",
            rate_b,
            rate_a,
            nb_,
            na_,
            p_drop,
            p_rise,
            "two-proportion z-test (one-sided)",
            verdict,
        )
    )

    # Outcome entropy among similar cases, similar cases taken within each period.
    texts = case_texts(t, f, cap_per_policy=2 * sim.max_texts_per_policy, assignments=use_pp)
    texts = texts[texts["policy"] == policy]
    if pain_point:
        texts = texts[texts["pain_point"] == pain_point]
    texts = texts.reset_index(drop=True)
    after = (pd.to_datetime(texts["created_at"]) >= pd.Timestamp(sop_updated_on)).to_numpy()
    # Twice the usual neighbours, since about half of them fall in the other period.
    nb = find_neighbours(
        texts,
        params=SimilarityParams(
            max_texts_per_policy=sim.max_texts_per_policy,
            n_neighbors=2 * sim.n_neighbors,
            min_similarity=sim.min_similarity,
            block=sim.block,
            random_state=sim.random_state,
        ),
    )
    outcomes = texts["outcome"].astype(object).to_numpy()
    res = entropy_shift_test(nb, outcomes, after, n_permutations=0, seed=seed)
    if res["n_before"] >= min_similar and res["n_after"] >= min_similar:
        res = entropy_shift_test(nb, outcomes, after, n_permutations=n_permutations, seed=seed)
        p_drop, p_rise = res["p_drop"], res["p_rise"]
        verdict = _verdict(p_drop, p_rise, alpha)
    else:
        p_drop = p_rise = None
        verdict = NOT_MEASURABLE
    metrics.append(
        MetricChange(
            "entropy",
            "Outcome entropy among similar cases (bits)",
            _num(res["before"]),
            _num(res["after"]),
            res["n_before"],
            res["n_after"],
            p_drop,
            p_rise,
            "permutation test (one-sided)",
            verdict,
        )
    )

    cases_b, cases_a = int(before_c.cases or 0), int(after_c.cases or 0)
    # Two measures, each tested both ways: Bonferroni over the measures that were tested, so
    # a fix that changed nothing is called "worse" or "improved" in at most ~alpha of checks.
    tested = [m for m in metrics if m.verdict != NOT_MEASURABLE]
    if len(tested) > 1:
        metrics = [
            m
            if m.verdict == NOT_MEASURABLE
            else replace(m, verdict=_verdict(m.p_value, m.p_rise, alpha / len(tested)))
            for m in metrics
        ]
    status, message = _overall(metrics, cases_a, min_cases, sop_updated_on, after_end)
    return Verification(
        policy,
        pain_point,
        sop_updated_on,
        start,
        after_end,
        cases_b,
        cases_a,
        status,
        message,
        tuple(metrics),
    )


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v)


def _overall(
    metrics: list[MetricChange], cases_after: int, min_cases: int, day: date, after_end: date
) -> tuple[str, str]:
    measurable = [m for m in metrics if m.verdict != NOT_MEASURABLE]
    if cases_after < min_cases or not measurable:
        return NOT_MEASURABLE, (
            f"Not yet measurable: {cases_after} cases since the SOP update on {day:%d %b %Y} "
            f"(at least {min_cases} cases, with enough reviewed decisions or similar cases on both "
            "sides, are needed). Check again when more cases have been decided."
        )
    parts = []
    for m in metrics:
        if m.verdict == NOT_MEASURABLE:
            parts.append(f"{m.label.lower()}: not yet measurable")
            continue
        fmt = (
            (lambda v: "–" if v is None else f"{v:.0%}")
            if m.metric == "overturn"
            else (lambda v: "–" if v is None else f"{v:.2f}")
        )
        p = m.p_value if m.verdict != "rose" else m.p_rise
        parts.append(
            f"{m.label.lower()} {fmt(m.before)} → {fmt(m.after)} ({m.verdict}, p = {p:.3f})"
        )
    rose = any(m.verdict == "rose" for m in measurable)
    dropped = any(m.verdict == "dropped" for m in measurable)
    status = "worse" if rose else ("improved" if dropped else "no significant change")
    head = {
        "improved": "The SOP update worked",
        "worse": "Worse since the SOP update",
        "no significant change": "No significant change since the SOP update",
    }[status]
    return status, f"{head} ({day:%d %b %Y}, data until {after_end:%d %b %Y}): " + "; ".join(
        parts
    ) + "."
