"""Risk score: components on hand-built inputs, severity matching, explanation."""

from __future__ import annotations

import math

import pytest

from analytics.risk import (
    DEFAULT_SEVERITY,
    WEIGHTS,
    effective_regions,
    risk_score,
    severity_mix,
    severity_of,
)

BASE = {"growth": 3.0, "excess_per_day": 20.0, "regulatory_share": 0.0}
ONE_REGION = {"LATAM": 100}
EVEN = {"APAC": 25, "EMEA": 25, "LATAM": 25, "NA": 25}


def test_severity_matches_policy_names_by_keyword_case_insensitively():
    assert severity_of(["Suicide & self-harm"]) == 5
    assert severity_of(["MINOR SAFETY"]) == 5
    assert severity_of(["Spam & platform manipulation"]) == 1
    assert severity_of(["Something unheard of"]) == DEFAULT_SEVERITY
    assert severity_of([None, "", "Hate speech", "Spam"]) == 4  # the highest match wins
    assert severity_of(["Custom area"], {"custom": 4}) == 4
    assert severity_mix({"Suicide & self-harm": 1, "Spam": 1}) == pytest.approx(3.0)


def test_self_harm_ranks_above_spam_with_everything_else_equal():
    self_harm = risk_score(**BASE, severity=severity_of(["Suicide & self-harm"]),
                           region_counts=ONE_REGION)  # fmt: skip
    spam = risk_score(**BASE, severity=severity_of(["Spam"]), region_counts=ONE_REGION)
    assert self_harm.score > spam.score
    assert self_harm.severity == WEIGHTS["severity"] and spam.severity == 0
    assert (self_harm.growth, self_harm.volume) == (spam.growth, spam.volume)


def test_regulatory_exposure_raises_the_score():
    plain = risk_score(**{**BASE, "regulatory_share": 0.0}, severity=3, region_counts=ONE_REGION)
    dsa = risk_score(**{**BASE, "regulatory_share": 0.6}, severity=3, region_counts=ONE_REGION)
    assert dsa.regulatory == WEIGHTS["regulatory"] and plain.regulatory == 0
    assert dsa.score - plain.score == pytest.approx(WEIGHTS["regulatory"], abs=0.15)
    assert "regulatory" in dsa.sentence and "regulatory" not in plain.sentence


def test_spread_over_regions_raises_the_score():
    local = risk_score(**BASE, severity=3, region_counts=ONE_REGION)
    global_ = risk_score(**BASE, severity=3, region_counts=EVEN)
    assert effective_regions(ONE_REGION) == 1 and effective_regions(EVEN) == pytest.approx(4)
    assert local.spread == 0 and global_.spread == WEIGHTS["spread"]
    assert "concentrated in LATAM" in local.sentence
    assert "spread over 4.0 regions" in global_.sentence


def test_components_add_up_are_bounded_and_monotone():
    r = risk_score(growth=4.0, excess_per_day=10.0, severity=4, regulatory_share=0.2,
                   region_counts={"APAC": 3, "EMEA": 1}, area="Hate speech")  # fmt: skip
    assert r.score == pytest.approx(sum(r.components().values()), abs=0.2)
    assert all(0 <= r.components()[k] <= WEIGHTS[k] for k in WEIGHTS)
    assert "Hate speech" in r.sentence and "4.0x expected" in r.sentence
    more = risk_score(growth=8.0, excess_per_day=100.0, severity=4, regulatory_share=0.2,
                      region_counts={"APAC": 3, "EMEA": 1})  # fmt: skip
    assert more.growth > r.growth and more.volume > r.volume and more.score > r.score
    assert more.growth == WEIGHTS["growth"] and more.volume == WEIGHTS["volume"]


def test_new_values_and_degenerate_inputs():
    new = risk_score(growth=math.inf, excess_per_day=5, severity=2)
    assert new.growth == WEIGHTS["growth"] and "cases new" in new.sentence
    flat = risk_score(growth=0.5, excess_per_day=-3, severity=1, region_counts={})
    assert flat.score == 0 and flat.level == "low"
    top = risk_score(growth=100, excess_per_day=1000, severity=5, regulatory_share=1.0,
                     region_counts=EVEN)  # fmt: skip
    assert top.score == pytest.approx(100) and top.level == "critical"
    assert set(top.to_dict()) >= {"score", "level", "sentence", *WEIGHTS}
