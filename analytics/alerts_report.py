"""Follow-up on alerts: did volume go back to baseline after the fix, and the daily digest.

:func:`resolution_check` compares the days after an alert was resolved with the baseline
the trend was measured against *before* it began (expected cases per weekday, frozen at the
trend's onset), so a fix that only stopped the growth is not mistaken for a recovery.

:func:`digest_frame` / :func:`digest_markdown` are the hand-over between the APAC, EMEA and
LATAM shifts: what needs an owner, what is being handled (and which follow-ups are due),
what was resolved and whether it held. Numbers and slices only: no case text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics import engine
from analytics.alerts import ACTIVE, STATUS_LABELS, Alert
from analytics.filters import Filters, apply
from analytics.trends_baseline import upper_tail

#: Days after resolution needed before a verdict, and the most that are compared.
MIN_DAYS_AFTER = 3
MAX_DAYS_AFTER = 14
#: Still elevated: at least this times the pre-trend baseline and significant at 1 %.
ELEVATED_RATIO = 1.3
HANDOVER_REGIONS: tuple[str, ...] = ("APAC", "EMEA", "LATAM", "NA")


@dataclass(frozen=True)
class ResolutionCheck:
    """Volume after resolution against the pre-trend baseline."""

    verdict: str  # "back to baseline" | "still elevated" | "not yet measurable"
    days: int
    observed: float
    expected: float
    ratio: float | None
    p_value: float | None
    sentence: str


def alert_filters(alert: Alert) -> Filters:
    """The alert's slice (and the scope it was found in) as sidebar filters."""
    query = {k: v for k, v in (alert.scope or {}).items()}
    extra = []
    for col, value in alert.slice.items():
        if col in ("term", "search"):
            continue
        if col in Filters.__dataclass_fields__ and col not in ("extra", "search"):
            query[col] = value.replace(",", "|")
        else:
            extra.append(f"{col}={value}")
    if extra:
        query["drill"] = "|".join(extra)
    if alert.origin == "term":
        query["q"] = alert.slice_value
    elif "search" in alert.slice:
        query["q"] = alert.slice["search"]
    return Filters.from_query(query)


def slice_daily_counts(t: ibis.Table, alert: Alert, start: date, end: date) -> pd.Series:
    """Cases per day of the alert's slice (terms: texts containing the term), ``start..end``."""
    f = alert_filters(alert)
    scoped = apply(t, f, dates=False)
    scoped = scoped.filter(
        _.created_at >= ibis.timestamp(datetime.combine(start, datetime.min.time())),
        _.created_at
        < ibis.timestamp(datetime.combine(end + timedelta(days=1), datetime.min.time())),
    )
    counted = scoped.group_by(day=_.created_at.date()).aggregate(n=_.count()).execute()
    days = pd.date_range(start, end, freq="D")
    if counted.empty:
        return pd.Series(0, index=days, dtype=float)
    counted["day"] = pd.to_datetime(counted["day"])
    return counted.set_index("day")["n"].reindex(days, fill_value=0).astype(float)


def resolution_check(con, alert: Alert, *, as_of: date | None = None) -> ResolutionCheck | None:
    """Did the slice go back to its pre-trend baseline after ``resolved_on``? None if unresolved.

    Compares the (up to) 14 days after the resolution day with the expected cases of those
    weekdays before the trend. "still elevated" when the days after hold at least 1.3x the
    baseline and that is significant at 1 % (negative binomial, 5 % overdispersion);
    "not yet measurable" with fewer than 3 days of data after the resolution.
    """
    if alert.status != "resolved" or alert.resolved_on is None:
        return None
    t = engine.cases_table(con)
    last = t.aggregate(m=_.created_at.max()).execute()["m"].iloc[0]
    last = pd.Timestamp(last).date() if pd.notna(last) else alert.resolved_on
    end = min(as_of or last, last, alert.resolved_on + timedelta(days=MAX_DAYS_AFTER))
    start = alert.resolved_on + timedelta(days=1)
    n_days = (end - start).days + 1
    if n_days < MIN_DAYS_AFTER:
        return ResolutionCheck(
            "not yet measurable", max(n_days, 0), 0.0, 0.0, None, None,
            f"Only {max(n_days, 0)} day(s) of data since the resolution on "
            f"{alert.resolved_on:%d %b %Y}; the check needs {MIN_DAYS_AFTER}.",
        )  # fmt: skip
    daily = slice_daily_counts(t, alert, start, end)
    week = alert.baseline_week or [0.0] * 7
    expected = float(sum(week[d.dayofweek] for d in daily.index))
    observed = float(daily.sum())
    mean = max(expected, 0.1 * n_days)  # a brand-new value's baseline is (nearly) zero
    p = float(
        upper_tail(np.array([observed]), np.array([mean]), np.array([mean + 0.05 * mean**2]))[0]
    )
    ratio = observed / expected if expected > 0 else None
    elevated = observed >= ELEVATED_RATIO * mean and p <= 0.01
    verdict = "still elevated" if elevated else "back to baseline"
    shown = "n/a" if ratio is None else f"{ratio:.2f}x"
    sentence = (
        f"{n_days} days after resolution: {observed:.0f} cases vs {expected:.1f} expected before "
        f"the trend ({shown}): {verdict}."
    )
    return ResolutionCheck(verdict, n_days, observed, expected, ratio, p, sentence)


def _growth_text(alert: Alert) -> str:
    g = alert.growth
    return "new" if g is None or (isinstance(g, float) and math.isinf(g)) else f"{g:.1f}x"


def digest_frame(
    alerts: list[Alert], checks: dict[int, ResolutionCheck | None] | None = None
) -> pd.DataFrame:
    """One row per alert for the hand-over (CSV): numbers, slice, owner, follow-up, verdict."""
    checks = checks or {}
    rows = []
    for a in alerts:
        regions = (a.spread or {}).get("regions") or {}
        total = sum(regions.values()) or 1
        check = checks.get(a.alert_id)
        rows.append(
            {
                "alert_id": a.alert_id,
                "status": a.status_label,
                "risk": a.risk_score,
                "risk_level": (a.risk or {}).get("level"),
                "trend": a.label,
                "kind": a.kind,
                "onset": a.onset,
                "first_detected": a.first_detected,
                "last_detected": a.last_detected,
                "observed": a.observed,
                "expected": a.expected,
                "growth": _growth_text(a),
                "cases_per_day_now": round(a.level, 1),
                "regions": ", ".join(f"{k} {v / total:.0%}" for k, v in regions.items()),
                "team": a.team,
                "owner": a.owner_name,
                "follow_up": a.follow_up,
                "linked_ticket": a.linked_ticket,
                "why": (a.risk or {}).get("sentence", ""),
                "after_resolution": check.verdict if check else "",
            }
        )
    return pd.DataFrame(rows)


def _region_share(a: Alert, region: str) -> float:
    regions = (a.spread or {}).get("regions") or {}
    total = sum(regions.values())
    return regions.get(region, 0) / total if total else 0.0


def digest_markdown(
    alerts: list[Alert],
    as_of: date,
    *,
    checks: dict[int, ResolutionCheck | None] | None = None,
    today: date | None = None,
) -> str:
    """The daily hand-over as Markdown (paste into chat or e-mail)."""
    checks = checks or {}
    today = today or as_of
    active = [a for a in alerts if a.status in ACTIVE]
    lines = [f"# Trending risks: hand-over of {as_of:%d %b %Y}", ""]
    lines.append(
        f"{len(active)} active alert(s): "
        + ", ".join(
            f"{sum(a.status == s for a in active)} {STATUS_LABELS[s].lower()}" for s in ACTIVE
        )
        + "."
    )
    lines += ["", "| region | active alerts touching it | highest risk |", "|---|---|---|"]
    for region in HANDOVER_REGIONS:
        touching = [a for a in active if _region_share(a, region) >= 0.2]
        top = max(touching, key=lambda a: a.risk_score or 0, default=None)
        lines.append(
            f"| {region} | {len(touching)} | "
            f"{'' if top is None else f'{top.label} ({top.risk_score:.0f})'} |"
        )

    def block(title: str, chosen: list[Alert], extra) -> None:
        lines.extend(["", f"## {title}", ""])
        if not chosen:
            lines.append("_None._")
        for a in sorted(chosen, key=lambda a: -(a.risk_score or 0)):
            lines.append(
                f"- **{a.label}** (risk {a.risk_score or 0:.0f}, {a.kind}, since {a.onset}): "
                f"{a.observed or 0:.0f} cases vs {a.expected or 0:.1f} expected "
                f"({_growth_text(a)}), now {a.level:.1f}/day. {extra(a)}".rstrip()
            )

    block("Needs an owner", [a for a in active if a.status == "new"],
          lambda a: (a.risk or {}).get("sentence", ""))  # fmt: skip
    block(
        "Being handled",
        [a for a in active if a.status != "new"],
        lambda a: f"{a.team or '?'} / {a.owner_name or '?'}"
        + (f", ticket {a.linked_ticket}" if a.linked_ticket else "")
        + (f", **follow-up due {a.follow_up}**" if a.follow_up and a.follow_up <= today else
           (f", follow-up {a.follow_up}" if a.follow_up else "")),
    )  # fmt: skip
    recent = [
        a for a in alerts
        if a.status == "resolved" and a.resolved_on and (as_of - a.resolved_on).days <= 30
    ]  # fmt: skip
    block("Resolved recently", recent,
          lambda a: (checks.get(a.alert_id).sentence if checks.get(a.alert_id) else ""))  # fmt: skip
    dismissed = [a for a in alerts if a.status == "dismissed"]
    lines += ["", f"{len(dismissed)} dismissed alert(s) are watched; they fire again only if "
              "they clearly worsen."]  # fmt: skip
    return "\n".join(lines) + "\n"
