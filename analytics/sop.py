"""SOP grey areas: where the rules are unclear, ranked, with the cases that prove it.

A policy (or a policy x pain point, when pain-point assignments are given) is a grey area
when its cases show that agents cannot apply the SOP consistently. Six signals:

==============  ============================================================================
inconsistency   share of a case's similar cases (same policy, TF-IDF or embedding
                neighbours, or same cluster) that got a different outcome, averaged over cases
overturn        reviewed decisions (decided appeal or QA-scored) overturned on appeal or
                scoring below the QA threshold (70/100)
hesitancy       cases whose agent notes say the rule is unclear (multilingual lexicon)
reopen          cases reopened at least once
handling        mean log handling time minus the median of the case's queue x priority
                (shown as a ratio: x1.6 = 60% longer than the queue's norm)
catch_all       cases filed under "other"/no policy, or with a catch-all category/sub-policy
==============  ============================================================================

Scoring (interpretable by construction; see :class:`GreyAreaParams`): for each signal, the
*baseline* is the median over policies with at least ``min_cases`` cases and the *scale* is
the spread between policies (1.4826 x MAD), never below a floor that says what difference
matters (5 points for most rates). A policy's value is shrunk towards the baseline by
``n / (n + prior_cases)`` (a small policy needs many cases before it can look extreme), and
its *effect* is ``(shrunk - baseline) / scale``. The *contribution* of a signal is
``weight x clip(effect, 0, cap)``: only excess counts, and one signal cannot dominate. The
score is the sum of contributions. ``score_low`` is the same sum computed from each signal's
lower 95% confidence bound (Wilson for rates, normal for handling time), shrunk the same way.
Inconsistency counts half an observation per case (a disagreeing pair is seen from both of
its cases), which widens its interval and strengthens its shrinkage.

**Flagged** = at least ``min_cases`` cases, ``score >= flag_score`` and ``score_low > 0``
(at least one signal is above its baseline even at the low end of its confidence interval).
Policies below ``min_cases`` are listed but not ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from analytics.filters import Filters
from analytics.sop_scoring import (
    INCONSISTENCY_DESIGN_EFFECT,
    SIGNAL_BY_KEY,
    SIGNALS,
    SignalDef,
    baselines,
    rate,
    score_signals,
    signal_values,
    summary,
    wilson,
)
from analytics.sop_signals import (
    CATCH_ALL_POLICY,
    SignalOptions,
    case_texts,
    phrase_table,
    signal_counts,
)
from analytics.sop_similarity import (
    SimilarityParams,
    case_inconsistency,
    differing_pairs,
    find_neighbours,
    restrict,
)

__all__ = [
    "CATCH_ALL_POLICY",
    "INCONSISTENCY_DESIGN_EFFECT",
    "SIGNALS",
    "SIGNAL_BY_KEY",
    "GreyAreaParams",
    "GreyAreaReport",
    "SignalDef",
    "detect_grey_areas",
    "finding_key",
    "wilson",
]


@dataclass(frozen=True)
class GreyAreaParams:
    """Tuning of the ranking (defaults are what the page and the benchmark use)."""

    #: Fewer cases than this in the scope: listed, never ranked or flagged.
    min_cases: int = 30
    #: Shrinkage strength: a value counts n / (n + prior_cases) of its distance to the baseline.
    prior_cases: float = 50.0
    #: Score a flagged finding needs (with score_low > 0).
    flag_score: float = 3.0
    #: Largest effect one signal may contribute (times its weight).
    cap: float = 4.0
    #: Normal quantile of the confidence intervals (1.96 = 95%).
    z: float = 1.96
    #: Evidence pairs kept per finding.
    pairs_per_finding: int = 10
    options: SignalOptions = field(default_factory=SignalOptions)
    similarity: SimilarityParams = field(default_factory=SimilarityParams)


@dataclass(frozen=True)
class GreyAreaReport:
    """Ranked findings and everything needed to explain them.

    findings: one row per policy (x pain point), ranked: rank, policy, pain_point, cases,
        score, score_low, flagged, ranked, summary, value_<signal>, contrib_<signal>,
        similar_cases, entropy_bits, appeal_overturn_rate, qa_fail_rate, handling_ratio.
    signals: long: policy, pain_point, signal, label, value, low, high, n, baseline, scale,
        shrunk, effect, contribution, contribution_low.
    trend: long monthly values: policy, pain_point, month, signal, value, n, contribution;
        plus rows with signal == "score".
    phrases: policy, pain_point, language, phrase, cases (hesitancy lexicon matches).
    pairs: evidence candidates: policy, pain_point, case_a, case_b, similarity, outcome_a, outcome_b.
    baselines: level, signal, label, baseline, scale, weight, keys.
    """

    findings: pd.DataFrame
    signals: pd.DataFrame
    trend: pd.DataFrame
    phrases: pd.DataFrame
    pairs: pd.DataFrame
    baselines: pd.DataFrame
    params: GreyAreaParams
    filters: Filters
    split: bool

    @property
    def scope(self) -> str:
        return self.filters.describe()

    @property
    def flagged(self) -> pd.DataFrame:
        return self.findings[self.findings["flagged"]]

    def finding(self, policy: str, pain_point: str = "") -> pd.Series | None:
        hit = self.findings[
            (self.findings["policy"] == policy) & (self.findings["pain_point"] == pain_point)
        ]
        return None if hit.empty else hit.iloc[0]


def finding_key(policy: str, pain_point: str = "") -> str:
    """The identity of a finding: the policy, and the pain point when split."""
    return f"{policy} · {pain_point}" if pain_point else policy


def _level(
    counts: pd.DataFrame, month_counts: pd.DataFrame, case_frame: pd.DataFrame, p: GreyAreaParams
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score one level (policy, or policy x pain point): findings, signals, trend, baselines."""
    keys = ["policy", "pain_point"]
    has = case_frame[case_frame["n_similar"] > 0]
    incons = (
        has.groupby(keys)
        .agg(
            sim_n=("disagreement", "size"),
            sim_sum=("disagreement", "sum"),
            entropy_bits=("entropy", "mean"),
        )
        .reset_index()
    )
    values = signal_values(counts, incons.drop(columns="entropy_bits"), keys, p.z)
    base = baselines(values, counts, keys, p.min_cases)
    scored = score_signals(values, base, p.prior_cases, p.cap)

    totals = scored.groupby(keys).agg(
        score=("contribution", "sum"), score_low=("contribution_low", "sum")
    )
    wide_v = scored.pivot_table(index=keys, columns="signal", values="value", dropna=False)
    wide_c = scored.pivot_table(index=keys, columns="signal", values="contribution", dropna=False)
    findings = counts[
        keys + ["cases", "appeals_decided", "appeal_overturns", "qa_scored", "qa_failed"]
    ].set_index(keys)
    findings = findings.join(totals)
    for sig in SIGNALS:
        findings[f"value_{sig.key}"] = wide_v.get(sig.key)
        findings[f"contrib_{sig.key}"] = wide_c.get(sig.key)
    findings = findings.join(incons.set_index(keys)[["sim_n", "entropy_bits"]]).reset_index()
    findings = findings.rename(columns={"sim_n": "similar_cases"})
    findings["similar_cases"] = findings["similar_cases"].fillna(0).astype(int)
    findings["appeal_overturn_rate"] = rate(
        findings["appeal_overturns"], findings["appeals_decided"]
    )
    findings["qa_fail_rate"] = rate(findings["qa_failed"], findings["qa_scored"])
    findings["handling_ratio"] = np.exp(findings["value_handling"])
    findings["ranked"] = findings["cases"] >= p.min_cases
    findings["flagged"] = (
        findings["ranked"] & (findings["score"] >= p.flag_score) & (findings["score_low"] > 0)
    )
    summaries = {k: summary(g) for k, g in scored.groupby(keys)}
    findings["summary"] = [
        summaries.get((a, b), "")
        for a, b in zip(findings["policy"], findings["pain_point"], strict=True)
    ]
    findings = findings.drop(
        columns=["appeals_decided", "appeal_overturns", "qa_scored", "qa_failed"]
    )

    trend = _trend(month_counts, case_frame, base, p)
    return findings, scored, trend, base


def _trend(
    month_counts: pd.DataFrame, case_frame: pd.DataFrame, base: pd.DataFrame, p: GreyAreaParams
) -> pd.DataFrame:
    """Monthly signal values, scored against the whole period's baselines."""
    keys = ["policy", "pain_point", "month"]
    if month_counts.empty:
        return pd.DataFrame(columns=[*keys, "signal", "value", "n", "contribution"])
    has = case_frame[case_frame["n_similar"] > 0].assign(
        month=lambda d: pd.to_datetime(d["created_at"]).dt.to_period("M").dt.to_timestamp()
    )
    incons = (
        has.groupby(keys)
        .agg(sim_n=("disagreement", "size"), sim_sum=("disagreement", "sum"))
        .reset_index()
    )
    month_counts = month_counts.assign(
        month=month_counts["month"].dt.to_period("M").dt.to_timestamp()
    )
    values = signal_values(month_counts, incons, keys, p.z)
    scored = score_signals(values, base, p.prior_cases, p.cap)
    score = scored.groupby(keys, as_index=False).agg(
        contribution=("contribution", "sum"), n=("n", "max")
    )
    score = score.assign(signal="score", value=score["contribution"])
    cols = [*keys, "signal", "value", "n", "contribution"]
    return (
        pd.concat([scored[cols], score[cols]], ignore_index=True)
        .sort_values(keys)
        .reset_index(drop=True)
    )


def _case_frame(texts: pd.DataFrame, nb, groups: np.ndarray | None) -> pd.DataFrame:
    used = restrict(nb, groups) if groups is not None else nb
    per_case = case_inconsistency(used, texts["outcome"].astype(object).to_numpy())
    return pd.concat(
        [texts[["case_id", "policy", "pain_point", "created_at"]].reset_index(drop=True), per_case],
        axis=1,
    )


def _pairs(
    texts: pd.DataFrame, nb, groups: np.ndarray | None, per_key: int, split: bool
) -> pd.DataFrame:
    used = restrict(nb, groups) if groups is not None else nb
    keys = (
        texts["policy"].astype(str) + "\x1f" + (texts["pain_point"].astype(str) if split else "")
    ).to_numpy()
    pairs = differing_pairs(used, texts, keys, per_key)
    split_keys = pairs["key"].str.split("\x1f", n=1, expand=True) if not pairs.empty else None
    pairs = pairs.drop(columns="key")
    pairs.insert(0, "policy", split_keys[0] if split_keys is not None else pd.Series(dtype=object))
    pairs.insert(
        1, "pain_point", split_keys[1] if split_keys is not None else pd.Series(dtype=object)
    )
    return pairs


def detect_grey_areas(
    t: ibis.Table,
    f: Filters,
    *,
    assignments: pd.DataFrame | None = None,
    embeddings: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    params: GreyAreaParams | None = None,
) -> GreyAreaReport:
    """Rank policies (and policy x pain points) by how unclear their rules look in the data.

    ``t``: the cases table; ``f``: resolved filters (the policy filter narrows what is shown,
    not the baselines). ``assignments`` (case_id, pain_point) adds policy x pain-point rows;
    ``embeddings`` (case_id + vector columns) or ``clusters`` (case_id, cluster) replace the
    TF-IDF similarity. Texts for similarity are capped per policy
    (``params.similarity.max_texts_per_policy``, a deterministic sample).
    """
    p = params or GreyAreaParams()
    opts = p.options
    counts = signal_counts(t, f, phrases=True, opts=opts)
    month_counts = signal_counts(t, f, by_month=True, opts=opts)
    texts = case_texts(
        t, f, cap_per_policy=p.similarity.max_texts_per_policy, assignments=assignments
    )
    nb = find_neighbours(texts, embeddings=embeddings, clusters=clusters, params=p.similarity)

    pol_texts = texts.assign(pain_point="")
    findings, signals, trend, base = _level(
        counts, month_counts, _case_frame(pol_texts, nb, None), p
    )
    pairs = _pairs(pol_texts, nb, None, p.pairs_per_finding, split=False)
    phrases = phrase_table(counts)
    base = base.assign(level="policy")
    split = assignments is not None
    if split:
        pp_counts = signal_counts(t, f, assignments=assignments, phrases=True, opts=opts)
        pp_months = signal_counts(t, f, assignments=assignments, by_month=True, opts=opts)
        groups = (texts["policy"].astype(str) + "\x1f" + texts["pain_point"].astype(str)).to_numpy()
        pp = _level(pp_counts, pp_months, _case_frame(texts, nb, groups), p)
        findings = pd.concat([findings, pp[0]], ignore_index=True)
        signals = pd.concat([signals, pp[1]], ignore_index=True)
        trend = pd.concat([trend, pp[2]], ignore_index=True)
        base = pd.concat([base, pp[3].assign(level="policy x pain point")], ignore_index=True)
        pairs = pd.concat(
            [pairs, _pairs(texts, nb, groups, p.pairs_per_finding, split=True)], ignore_index=True
        )
        phrases = pd.concat([phrases, phrase_table(pp_counts)], ignore_index=True)

    if f.policy:  # baselines saw every policy; show the ones asked for
        keep = set(f.policy)
        findings, signals, trend, pairs, phrases = (
            d[d["policy"].isin(keep)] for d in (findings, signals, trend, pairs, phrases)
        )

    findings = findings.sort_values(["ranked", "score", "cases"], ascending=[False, False, False])
    findings = findings.reset_index(drop=True)
    findings.insert(0, "rank", pd.array([pd.NA] * len(findings), dtype="Int64"))
    for level_pp in (False, True):
        mask = (findings["pain_point"] != "") == level_pp
        mask &= findings["ranked"]
        findings.loc[mask, "rank"] = np.arange(1, int(mask.sum()) + 1)
    return GreyAreaReport(
        findings=findings,
        signals=signals.reset_index(drop=True),
        trend=trend.reset_index(drop=True),
        phrases=phrases.reset_index(drop=True),
        pairs=pairs.reset_index(drop=True),
        baselines=base[["level", "signal", "label", "baseline", "scale", "weight", "keys"]],
        params=p,
        filters=f,
        split=split,
    )
