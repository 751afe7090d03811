"""How dangerous a trend is: one 0-100 score from five explained parts.

A trend scan finds *what is surging*; this module says *what to look at first*. The score
adds five components, each worth up to its weight in points:

==============  ======  ============================================================
component       weight  full marks when
==============  ======  ============================================================
severity          30    the policy area is life-and-limb (self-harm, minor safety, ...)
growth            25    cases are 8x (or more) what was expected
volume            20    the surge adds 100 (or more) cases a day
regulatory        10    half (or more) of the cases are in regulatory queues/DSA channels
spread            15    the cases are spread evenly over all four regions
==============  ======  ============================================================

Severity comes from :data:`analytics.config.Settings.policy_severity` (1 nuisance .. 5 life
and limb), matched case-insensitively by keyword against policy and category names
("Suicide & self-harm" -> "self-harm" -> 5; unknown areas count 2). The components are
monotone in their inputs and explained in one sentence (:attr:`RiskScore.sentence`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from analytics.config import get_settings

WEIGHTS: dict[str, float] = {
    "severity": 30.0,
    "growth": 25.0,
    "volume": 20.0,
    "regulatory": 10.0,
    "spread": 15.0,
}
#: Severity of a policy area no keyword matches.
DEFAULT_SEVERITY = 2
#: Growth (observed / expected) that earns full marks, and cases a day that do.
FULL_GROWTH = 8.0
FULL_EXCESS_PER_DAY = 100.0
#: Share of cases in regulatory queues or DSA channels that earns full marks.
FULL_REGULATORY_SHARE = 0.5
N_REGIONS = 4
LEVELS: tuple[tuple[float, str], ...] = ((70.0, "critical"), (50.0, "high"), (30.0, "medium"))


def severity_of(names: Iterable[str | None], table: Mapping[str, int] | None = None) -> int:
    """Highest severity among policy/category names (keyword match, case-insensitive)."""
    table = table if table is not None else get_settings().policy_severity
    best = None
    for name in names:
        if not name:
            continue
        text = str(name).casefold()
        for keyword, level in table.items():
            if keyword.casefold() in text and (best is None or level > best):
                best = level
    return DEFAULT_SEVERITY if best is None else int(best)


def severity_mix(shares: Mapping[str, float], table: Mapping[str, int] | None = None) -> float:
    """Mean severity of a mix of policy areas (``{"Suicide & self-harm": 0.6, ...}``)."""
    total = sum(shares.values())
    if total <= 0:
        return float(DEFAULT_SEVERITY)
    return sum(severity_of([k], table) * v for k, v in shares.items()) / total


def effective_regions(region_counts: Mapping[str, float]) -> float:
    """Effective number of regions (inverse Simpson index): 1 = one region, 4 = even."""
    total = sum(v for v in region_counts.values() if v > 0)
    if total <= 0:
        return 1.0
    return 1.0 / sum((v / total) ** 2 for v in region_counts.values() if v > 0)


@dataclass(frozen=True)
class RiskScore:
    """A 0-100 risk score, its five components (points) and what they rest on."""

    score: float
    severity: float
    growth: float
    volume: float
    regulatory: float
    spread: float
    # inputs, for the explanation
    severity_level: float
    growth_ratio: float
    excess_per_day: float
    regulatory_share: float
    regions: float
    top_region: str | None
    sentence: str

    @property
    def level(self) -> str:
        """critical (>= 70), high (>= 50), medium (>= 30) or low."""
        return next((name for cut, name in LEVELS if self.score >= cut), "low")

    def components(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in WEIGHTS}

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "level": self.level,
            **self.components(),
            "severity_level": self.severity_level,
            "growth_ratio": self.growth_ratio,
            "excess_per_day": self.excess_per_day,
            "regulatory_share": self.regulatory_share,
            "regions": self.regions,
            "top_region": self.top_region,
            "sentence": self.sentence,
        }


def _clip01(x: float) -> float:
    return 0.0 if not math.isfinite(x) else min(1.0, max(0.0, x))


def risk_score(
    *,
    growth: float,
    excess_per_day: float,
    severity: float,
    regulatory_share: float = 0.0,
    region_counts: Mapping[str, float] | None = None,
    area: str = "",
) -> RiskScore:
    """Score a trend.

    Args:
        growth: observed / expected over the trend's window (inf for a brand-new value).
        excess_per_day: extra cases a day over the expected ones.
        severity: 1..5 (see :func:`severity_of` / :func:`severity_mix`).
        regulatory_share: share of its cases in regulatory queues or DSA channels.
        region_counts: its cases per region (spread).
        area: a short name of the policy area for the sentence.
    """
    growth = float(growth) if growth is not None else 1.0
    g = (
        1.0
        if not math.isfinite(growth) and growth > 0
        else _clip01(math.log2(max(growth, 1.0)) / math.log2(FULL_GROWTH))
    )
    excess = max(0.0, float(excess_per_day or 0.0))
    v = _clip01(math.log10(1.0 + excess) / math.log10(1.0 + FULL_EXCESS_PER_DAY))
    s = _clip01((float(severity) - 1.0) / 4.0)
    r = _clip01(float(regulatory_share or 0.0) / FULL_REGULATORY_SHARE)
    counts = dict(region_counts or {})
    n_eff = effective_regions(counts)
    sp = _clip01((n_eff - 1.0) / (N_REGIONS - 1.0))
    parts = {
        "severity": WEIGHTS["severity"] * s,
        "growth": WEIGHTS["growth"] * g,
        "volume": WEIGHTS["volume"] * v,
        "regulatory": WEIGHTS["regulatory"] * r,
        "spread": WEIGHTS["spread"] * sp,
    }
    score = round(sum(parts.values()), 1)
    top = max(counts, key=counts.get) if counts else None
    sentence = _sentence(score, growth, excess, severity, regulatory_share, n_eff, top, area)
    return RiskScore(
        score=score,
        **{k: round(p, 1) for k, p in parts.items()},
        severity_level=round(float(severity), 2),
        growth_ratio=growth,
        excess_per_day=round(excess, 2),
        regulatory_share=round(float(regulatory_share or 0.0), 3),
        regions=round(n_eff, 2),
        top_region=top,
        sentence=sentence,
    )


def _sentence(
    score: float,
    growth: float,
    excess: float,
    severity: float,
    regulatory: float,
    n_eff: float,
    top: str | None,
    area: str,
) -> str:
    level = next((name for cut, name in LEVELS if score >= cut), "low")
    grew = "new" if not math.isfinite(growth) else f"{growth:.1f}x expected"
    what = f" in {area}" if area else ""
    parts = [f"{level.capitalize()} risk ({score:.0f}/100): cases {grew} (+{excess:.0f}/day){what}"]
    parts.append(f"severity {severity:.1f}/5")
    if regulatory >= 0.05:
        parts.append(f"{regulatory:.0%} regulatory/DSA")
    if n_eff < 1.5 and top:
        parts.append(f"concentrated in {top}")
    else:
        parts.append(f"spread over {n_eff:.1f} regions")
    return ", ".join(parts) + "."
