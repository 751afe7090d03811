"""Did the fix work? Before/after comparison of an action item's metric around its done date.

An action item names a metric of a scope (a Filters-like dict, e.g.
``{"category": "Product issue"}`` or ``{"queue": "Regulatory/DSA"}``) and the direction it
should move. Once the item is done, the *before* window is the ``before_days`` days up to
the day before the done date and the *after* window the ``after_days`` days from the done
date on (cut at the last day with data). The test fits the metric:

- ``volume`` (weekly cases): exact Poisson rate-ratio test, i.e. conditional on the total
  count the after-window count is binomial with p = after days / all days;
- ``sla_breach_rate``: two-proportion z-test (pooled);
- ``handling_time`` (hours to resolution of resolved cases): Mann-Whitney U.

Verdicts: **fix worked** (significant at ``alpha`` and moved by at least ``min_effect`` in
the expected direction), **got worse** (the same, in the other direction), **no effect**,
or **not yet measurable** (the after window has fewer than ``min_after_days`` days of data,
or too few cases for the test). Caveat: cases created late in the after window may still
be open, which flatters handling time and breach rates until they close.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import ibis
import numpy as np
from scipy import stats

from analytics import metrics
from analytics.filters import Filters, apply
from analytics.postmortem_seed import scope_filters, scope_query

METRIC_KINDS: dict[str, str] = {
    "volume": "Weekly cases",
    "sla_breach_rate": "SLA breach rate",
    "handling_time": "Resolution time (hours)",
}
DIRECTIONS = ("down", "up")
VERDICTS = ("fix worked", "no effect", "got worse", "not yet measurable")


@dataclass(frozen=True)
class MetricSpec:
    """What an action item should move: a metric kind on a scope, and in which direction."""

    kind: str
    scope: dict
    direction: str = "down"

    @property
    def label(self) -> str:
        f = scope_filters(self.scope)
        return f"{METRIC_KINDS.get(self.kind, self.kind)} of {f.describe()}"

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "scope": self.scope, "direction": self.direction})

    @classmethod
    def from_json(cls, raw: str | dict | None) -> MetricSpec | None:
        if not raw:
            return None
        data = json.loads(raw) if isinstance(raw, str) else raw
        if data.get("kind") not in METRIC_KINDS:
            return None
        direction = data.get("direction") if data.get("direction") in DIRECTIONS else "down"
        return cls(data["kind"], scope_query(scope_filters(data.get("scope"))), direction)

    @classmethod
    def make(cls, kind: str, scope, direction: str = "down") -> MetricSpec:
        """Validated constructor: scope may be a Filters or a ``{dimension: value}`` dict."""
        if kind not in METRIC_KINDS:
            raise ValueError(f"Unknown metric '{kind}'; use one of {', '.join(METRIC_KINDS)}.")
        if direction not in DIRECTIONS:
            raise ValueError("The expected direction is 'down' or 'up'.")
        return cls(kind, scope_query(scope_filters(scope)), direction)


@dataclass(frozen=True)
class VerifyConfig:
    before_days: int = 28
    after_days: int = 28
    min_after_days: int = 14
    alpha: float = 0.05
    min_effect: float = 0.10  # relative change that matters (10 %)
    min_total_cases: int = 10  # volume: cases in both windows together
    min_rated_cases: int = 30  # breach rate: cases with an SLA outcome per window
    min_resolved_cases: int = 20  # handling time: resolved cases per window


@dataclass(frozen=True)
class Verification:
    verdict: str
    reason: str
    test: str
    before_start: date
    before_end: date
    after_start: date
    after_end: date
    before_value: float | None = None
    after_value: float | None = None
    relative_change: float | None = None
    p_value: float | None = None
    n_before: int = 0
    n_after: int = 0
    unit: str = ""

    def summary(self) -> str:
        """The measured move, e.g. ``62.8 a week → 0.8 a week (-99%, p = 1.9e-70, ...)``."""
        if self.before_value is None or self.after_value is None or self.relative_change is None:
            return self.reason
        fmt = (lambda v: f"{v:.1%}") if self.unit == "%" else (lambda v: f"{v:,.1f}{self.unit}")
        p = "" if self.p_value is None else f", p = {self.p_value:.3g}"
        return (
            f"{fmt(self.before_value)} → {fmt(self.after_value)} "
            f"({self.relative_change:+.0%}{p}, {self.test})"
        )

    def describe(self) -> str:
        """Verdict and measured move, for tables and exports."""
        return f"{self.verdict}: {self.summary()}"


def _ts(d: date):
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


def _window(scope: Filters, start: date, end: date) -> Filters:
    return replace(scope, preset="custom", start=start, end=end)


def verify(
    t: ibis.Table,
    metric: MetricSpec,
    done_on: date,
    *,
    config: VerifyConfig | None = None,
    as_of: date | None = None,
) -> Verification:
    """Compare the metric before and after ``done_on``; see the module docstring."""
    cfg = config or VerifyConfig()
    last = as_of or metrics.date_bounds(t)[1] or done_on
    b_start, b_end = done_on - timedelta(days=cfg.before_days), done_on - timedelta(days=1)
    a_start = done_on
    a_end = min(done_on + timedelta(days=cfg.after_days - 1), last)
    observed = (a_end - a_start).days + 1
    base = dict(
        test={"volume": "Poisson rate ratio", "sla_breach_rate": "two-proportion z-test"}.get(
            metric.kind, "Mann-Whitney U"
        ),
        before_start=b_start,
        before_end=b_end,
        after_start=a_start,
        after_end=max(a_end, a_start),
    )
    if observed < cfg.min_after_days:
        return Verification(
            "not yet measurable",
            f"only {max(observed, 0)} day(s) of data after the fix; {cfg.min_after_days} needed",
            **base,
        )
    scope = scope_filters(metric.scope)
    before, after = _window(scope, b_start, b_end), _window(scope, a_start, a_end)
    if metric.kind == "volume":
        return _volume(t, before, after, cfg, metric.direction, base)
    if metric.kind == "sla_breach_rate":
        return _breach_rate(t, before, after, cfg, metric.direction, base)
    return _handling(t, before, after, cfg, metric.direction, base)


def _verdict(rel: float | None, p: float, direction: str, cfg: VerifyConfig) -> tuple[str, str]:
    if rel is None:
        return "no effect", "no change to measure"
    wanted = rel < 0 if direction == "down" else rel > 0
    if p < cfg.alpha and abs(rel) >= cfg.min_effect:
        if wanted:
            return "fix worked", f"moved {direction} by {abs(rel):.0%} (p = {p:.3g})"
        return "got worse", f"moved the wrong way by {abs(rel):.0%} (p = {p:.3g})"
    if p < cfg.alpha:
        return "no effect", f"a significant but small change ({rel:+.0%}; p = {p:.3g})"
    return "no effect", f"no significant change ({rel:+.0%}; p = {p:.3g})"


def _volume(t, before: Filters, after: Filters, cfg, direction, base) -> Verification:
    n_b = int(apply(t, before).count().execute())
    n_a = int(apply(t, after).count().execute())
    d_b, d_a = before.days, after.days
    if n_b + n_a < cfg.min_total_cases:
        return Verification(
            "not yet measurable",
            f"{n_b + n_a} cases in both windows; {cfg.min_total_cases} needed",
            n_before=n_b,
            n_after=n_a,
            **base,
        )
    rate_b, rate_a = 7 * n_b / d_b, 7 * n_a / d_a
    p = float(stats.binomtest(n_a, n_a + n_b, d_a / (d_a + d_b)).pvalue)
    rel = rate_a / rate_b - 1 if rate_b > 0 else (math.inf if rate_a > 0 else None)
    verdict, reason = _verdict(rel, p, direction, cfg)
    return Verification(
        verdict,
        reason,
        before_value=rate_b,
        after_value=rate_a,
        relative_change=rel,
        p_value=p,
        n_before=n_b,
        n_after=n_a,
        unit=" a week",
        **base,
    )


def _breach_rate(t, before: Filters, after: Filters, cfg, direction, base) -> Verification:
    def counts(f: Filters) -> tuple[int, int]:
        s = apply(t, f)
        row = (
            s.aggregate(
                rated=s.sla_breached.notnull().cast("int64").sum(),
                breached=s.sla_breached.cast("int64").sum(),
            )
            .execute()
            .iloc[0]
        )
        return int(row["rated"] or 0), int(row["breached"] or 0)

    (n_b, x_b), (n_a, x_a) = counts(before), counts(after)
    if min(n_b, n_a) < cfg.min_rated_cases:
        return Verification(
            "not yet measurable",
            f"{min(n_b, n_a)} cases with an SLA outcome in a window; {cfg.min_rated_cases} needed",
            n_before=n_b,
            n_after=n_a,
            **base,
        )
    p_b, p_a = x_b / n_b, x_a / n_a
    pooled = (x_b + x_a) / (n_b + n_a)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_b + 1 / n_a))
    p = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(p_a - p_b) / se))
    rel = p_a / p_b - 1 if p_b > 0 else (math.inf if p_a > 0 else None)
    verdict, reason = _verdict(rel, p, direction, cfg)
    return Verification(
        verdict,
        reason,
        before_value=p_b,
        after_value=p_a,
        relative_change=rel,
        p_value=p,
        n_before=n_b,
        n_after=n_a,
        unit="%",
        **base,
    )


def _handling(t, before: Filters, after: Filters, cfg, direction, base) -> Verification:
    def hours(f: Filters) -> np.ndarray:
        s = apply(t, f).filter(ibis._.resolved_at.notnull())
        h = (s.resolved_at.epoch_seconds() - s.created_at.epoch_seconds()) / 3600.0
        return s.select(h=h).execute()["h"].to_numpy(dtype=float)

    h_b, h_a = hours(before), hours(after)
    if min(len(h_b), len(h_a)) < cfg.min_resolved_cases:
        return Verification(
            "not yet measurable",
            f"{min(len(h_b), len(h_a))} resolved cases in a window; {cfg.min_resolved_cases} needed",
            n_before=len(h_b),
            n_after=len(h_a),
            **base,
        )
    m_b, m_a = float(np.median(h_b)), float(np.median(h_a))
    p = float(stats.mannwhitneyu(h_a, h_b, alternative="two-sided").pvalue)
    rel = m_a / m_b - 1 if m_b > 0 else None
    verdict, reason = _verdict(rel, p, direction, cfg)
    return Verification(
        verdict,
        reason,
        before_value=m_b,
        after_value=m_a,
        relative_change=rel,
        p_value=p,
        n_before=len(h_b),
        n_after=len(h_a),
        unit=" h",
        **base,
    )


def weekly_series(
    t: ibis.Table, metric: MetricSpec, done_on: date, config: VerifyConfig | None = None
):
    """The metric in 7-day bins aligned on the done date (bin 0 starts on it), for a chart.

    Columns: week_start, value (cases per 7 days, breach rate, or median hours), cases.
    """
    cfg = config or VerifyConfig()
    start = done_on - timedelta(days=cfg.before_days)
    end = done_on + timedelta(days=cfg.after_days - 1)
    s = apply(t, _window(scope_filters(metric.scope), start, end))
    # Stored timestamps are naive UTC: the done day's midnight in epoch seconds.
    origin = (datetime.combine(done_on, datetime.min.time()) - datetime(1970, 1, 1)).total_seconds()
    week = ((s.created_at.epoch_seconds() - origin) / (7 * 86400)).floor().cast("int64").name("bin")
    if metric.kind == "volume":
        value = s.count()
    elif metric.kind == "sla_breach_rate":
        value = s.sla_breached.cast("float64").mean()
    else:
        value = ((s.resolved_at.epoch_seconds() - s.created_at.epoch_seconds()) / 3600.0).median()
    df = s.group_by(week).aggregate(value=value, cases=s.count()).execute().set_index("bin")
    bins = range(-math.ceil(cfg.before_days / 7), math.ceil(cfg.after_days / 7))
    df = df.reindex(bins)
    df["cases"] = df["cases"].fillna(0).astype(int)
    if metric.kind == "volume":  # a week without cases is a zero, not a gap
        df["value"] = df["value"].fillna(0)
    df["week_start"] = [done_on + timedelta(days=7 * int(b)) for b in df.index]
    return df.reset_index(drop=True)[["week_start", "value", "cases"]]
