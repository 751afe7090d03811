"""Where a post-mortem starts: a root-cause explanation, an alert, a chart selection, or by hand.

Every start produces a :class:`ReviewDraft`: a title, an event window, a scope
(:class:`~analytics.filters.Filters`) and whatever the origin already knows (causes,
events, evidence cases). Seeds come from other modules as plain JSON-serialisable dicts
whose exact keys may still change, so parsing here is deliberately forgiving: every key
is optional, several spellings are accepted, and anything unreadable is ignored rather
than raised (the person can fix the window by hand).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import pandas as pd

from analytics.filters import DIMENSION_FILTERS, Filters

ORIGINS = ("manual", "rootcause", "alert", "chart")

#: Daily series the timeline watches for the first signal, peak and recovery.
SIGNAL_METRICS: dict[str, str] = {
    "volume": "Cases per day",
    "sla_breaches": "SLA breaches per day",
}

SEVERITIES: dict[str, str] = {
    "S1": "S1 · critical",
    "S2": "S2 · major",
    "S3": "S3 · moderate",
    "S4": "S4 · minor",
}

_DIMENSIONS = {name for name, _label in DIMENSION_FILTERS}
_QUERY_KEYS = {"range", "from", "to", "q", "drill"}


@dataclass(frozen=True)
class ReviewDraft:
    """Everything known before a review is written; ``create_review`` turns it into a review."""

    title: str
    window_start: date
    window_end: date
    scope: Filters = field(default_factory=Filters)
    metric: str = "volume"
    origin: str = "manual"
    baseline_start: date | None = None
    baseline_end: date | None = None
    headline: str = ""
    causes: tuple[dict, ...] = ()
    pain_points: tuple[dict, ...] = ()
    events: tuple[dict, ...] = ()
    evidence_case_ids: tuple[str, ...] = ()
    alert_fired_at: datetime | None = None
    observed: float | None = None
    expected: float | None = None
    seed: dict = field(default_factory=dict)

    def filters(self) -> Filters:
        """The scope narrowed to the event window (what the impact numbers are computed on)."""
        return window_filters(self.scope, self.window_start, self.window_end)


def window_filters(scope: Filters, start: date, end: date) -> Filters:
    """``scope`` with a custom date range (``end`` inclusive)."""
    return replace(scope, preset="custom", start=start, end=end)


# --- Parsing helpers ------------------------------------------------------------------------


def to_date(value) -> date | None:
    """A date from a date, datetime, Timestamp or ISO string; None when unreadable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        ts = pd.Timestamp(str(value)[:19])
    except (ValueError, TypeError):
        return None
    return None if pd.isna(ts) else ts.date()


def to_datetime(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    try:
        ts = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return None
    if pd.isna(ts):
        return None
    return (ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts).to_pydatetime()


def _pair(value) -> tuple[date | None, date | None]:
    if isinstance(value, dict):
        lo = next((value[k] for k in ("start", "from", "begin", "lo") if k in value), None)
        hi = next((value[k] for k in ("end", "to", "until", "hi") if k in value), None)
        return to_date(lo), to_date(hi)
    if isinstance(value, list | tuple) and len(value) == 2:
        return to_date(value[0]), to_date(value[1])
    return None, None


def seed_window(seed: dict, *names: str) -> tuple[date | None, date | None]:
    """A window from ``{name}_start/_end`` keys, a ``{name: {start, end}}`` dict or a pair."""
    for name in names:
        lo, hi = to_date(seed.get(f"{name}_start")), to_date(seed.get(f"{name}_end"))
        if lo is None and hi is None and name in seed:
            lo, hi = _pair(seed[name])
        if lo or hi:
            lo, hi = lo or hi, hi or lo
            return (lo, hi) if lo <= hi else (hi, lo)
    return None, None


def scope_filters(scope) -> Filters:
    """Filters from a scope: a Filters, its ``to_query()`` dict, or ``{dimension: value(s)}``.

    ``{"category": "Product issue"}``, ``{"queue": ["Regulatory/DSA"]}`` and
    ``{"linked_ticket": "BUG-4821"}`` (a drill-down column) are all accepted. Dates in the
    scope are dropped: windows are set separately.
    """
    if isinstance(scope, Filters):
        return replace(scope, preset="all", start=None, end=None)
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except json.JSONDecodeError:
            return Filters(preset="all")
    if not isinstance(scope, dict):
        return Filters(preset="all")
    if _QUERY_KEYS & set(scope):
        parsed = Filters.from_query({k: _as_text(v) for k, v in scope.items()})
        return replace(parsed, preset="all", start=None, end=None)
    dims: dict[str, tuple[str, ...]] = {}
    extra: dict[str, str] = {}
    search = ""
    for key, value in scope.items():
        values = _as_values(value)
        if not values:
            continue
        if key in _DIMENSIONS:
            dims[key] = values
        elif key in ("search", "text"):
            search = " ".join(values)[:200]
        elif str(key).isidentifier():
            extra[str(key)] = values[0]
    return Filters(preset="all", search=search, extra=tuple(sorted(extra.items())), **dims)


def _as_values(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple | set):
        return tuple(str(v) for v in value if v is not None and str(v) != "")
    text = str(value)
    return tuple(v for v in text.split("|") if v) if text else ()


def _as_text(value) -> str:
    return "|".join(_as_values(value)) if isinstance(value, list | tuple) else str(value)


def scope_query(scope: Filters) -> dict[str, str]:
    """JSON-safe form of a scope without dates (for action-item metrics and patterns)."""
    q = replace(scope, preset="last_90", start=None, end=None).to_query()
    return q


def _cause(raw, rank: int) -> dict | None:
    if not isinstance(raw, dict):
        return None
    slc = raw.get("slice") if isinstance(raw.get("slice"), dict) else {}
    slc = {str(k): str(v) for k, v in slc.items() if v is not None}
    label = raw.get("label") or " & ".join(f"{k}={v}" for k, v in slc.items())
    if not label:
        return None
    share = raw.get("share_of_change")
    try:
        share = None if share is None else float(share)
    except (TypeError, ValueError):
        share = None
    if share is not None and math.isnan(share):
        share = None
    return {
        "rank": rank,
        "label": str(label),
        "slice": slc,
        "share_of_change": share,
        "kind": str(raw.get("kind") or "root cause"),
        "detail": {
            k: raw[k]
            for k in ("actual", "expected", "change", "relative_change", "score")
            if isinstance(raw.get(k), int | float) and not isinstance(raw.get(k), bool)
        },
    }


def _pain_point(raw, rank: int) -> dict | None:
    if isinstance(raw, str):
        raw = {"label": raw}
    if not isinstance(raw, dict):
        return None
    label = raw.get("label") or raw.get("name") or raw.get("title")
    if not label:
        return None
    share = raw.get("share") or raw.get("share_of_change")
    return {
        "rank": rank,
        "label": str(label),
        "slice": {"pain_point": str(label)},
        "share_of_change": float(share) if isinstance(share, int | float) else None,
        "kind": "pain point",
        "detail": {k: raw[k] for k in ("cases",) if isinstance(raw.get(k), int | float)},
    }


def _event(raw) -> dict | None:
    if not isinstance(raw, dict) or not raw.get("title"):
        return None
    at = to_datetime(raw.get("starts_at") or raw.get("at") or raw.get("date"))
    if at is None:
        return None
    return {"title": str(raw["title"]), "kind": str(raw.get("kind") or "other"), "starts_at": at}


def _jsonable(seed: dict) -> dict:
    return json.loads(json.dumps(seed, default=str))


def _metric(raw) -> str:
    text = str(raw or "").lower()
    if "sla" in text or "breach" in text:
        return "sla_breaches"
    return "volume"


# --- Starts -------------------------------------------------------------------------------------


def draft_from_rootcause(seed: dict, *, fallback_end: date | None = None) -> ReviewDraft:
    """A draft from a root-cause explanation (``st.session_state["postmortem_seed"]``).

    Reads ``headline``, ``metric``, the current window (``current_start``/``current_end``,
    ``current`` or ``window``), the ``baseline`` window, ``causes`` (``{slice, share_of_change}``),
    ``pain_points``, ``events`` (``{title, kind, starts_at}``), ``evidence_case_ids`` and the
    scope (``filters`` or ``scope``). Missing keys are fine.
    """
    seed = seed if isinstance(seed, dict) else {}
    start, end = seed_window(seed, "current", "window", "current_window", "period")
    end = end or fallback_end or date.today()
    start = start or end - timedelta(days=13)
    b_start, b_end = seed_window(seed, "baseline", "baseline_window", "previous")
    causes = [c for i, raw in enumerate(seed.get("causes") or []) if (c := _cause(raw, i + 1))]
    pains = [
        p for i, raw in enumerate(seed.get("pain_points") or []) if (p := _pain_point(raw, i + 1))
    ]
    events = [e for raw in seed.get("events") or [] if (e := _event(raw))]
    ids = tuple(str(i) for i in (seed.get("evidence_case_ids") or []) if i)[:50]
    headline = str(seed.get("headline") or "").strip()
    return ReviewDraft(
        title=(str(seed.get("title") or headline) or f"Review of {start:%d %b} – {end:%d %b %Y}")[
            :200
        ],
        window_start=start,
        window_end=end,
        scope=scope_filters(seed.get("filters") or seed.get("scope")),
        metric=_metric(seed.get("metric")),
        origin="rootcause",
        baseline_start=b_start,
        baseline_end=b_end,
        headline=headline,
        causes=tuple(causes),
        pain_points=tuple(pains),
        events=tuple(events),
        evidence_case_ids=ids,
        seed=_jsonable(seed),
    )


def draft_from_alert(seed: dict, *, fallback_end: date | None = None) -> ReviewDraft:
    """A draft from a trending-risk alert: ``title``, ``window``, ``filters``/``scope``,
    ``observed``/``expected``, and optionally when it fired (``fired_at``/``created_at``)."""
    seed = seed if isinstance(seed, dict) else {}
    start, end = seed_window(seed, "window", "current", "period")
    end = end or fallback_end or date.today()
    start = start or end - timedelta(days=13)

    def num(key):
        v = seed.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    fired = to_datetime(seed.get("fired_at") or seed.get("detected_at") or seed.get("created_at"))
    title = str(seed.get("title") or f"Alert {start:%d %b} – {end:%d %b %Y}")[:200]
    return ReviewDraft(
        title=title,
        window_start=start,
        window_end=end,
        scope=scope_filters(seed.get("filters") or seed.get("scope")),
        metric=_metric(seed.get("metric")),
        origin="alert",
        headline=str(seed.get("headline") or title),
        alert_fired_at=fired,
        observed=num("observed"),
        expected=num("expected"),
        events=tuple(e for raw in seed.get("events") or [] if (e := _event(raw))),
        seed=_jsonable(seed),
    )


def draft_from_seed(seed: dict, *, fallback_end: date | None = None) -> ReviewDraft:
    """Dispatch on the seed's shape: alerts carry observed/expected, explanations causes."""
    seed = seed if isinstance(seed, dict) else {}
    kind = str(seed.get("source") or seed.get("origin") or seed.get("kind") or "").lower()
    if "alert" in kind or (
        "causes" not in seed and ("observed" in seed or "expected" in seed or "fired_at" in seed)
    ):
        return draft_from_alert(seed, fallback_end=fallback_end)
    draft = draft_from_rootcause(seed, fallback_end=fallback_end)
    if "chart" in kind or "selection" in kind:
        return replace(draft, origin="chart")
    return draft


def draft_from_selection(
    filters: Filters, start: date, end: date, *, title: str = "", group: dict | None = None
) -> ReviewDraft:
    """A draft from a chart selection: the current filters, a day/week, maybe a clicked group."""
    scope = scope_filters(filters)
    if group:
        scope = scope.with_drill(**{k: v for k, v in group.items() if v})
    return ReviewDraft(
        title=(title or f"Spike on {start:%d %b %Y}")[:200],
        window_start=min(start, end),
        window_end=max(start, end),
        scope=scope,
        origin="chart",
    )


def draft_by_hand(
    title: str, start: date, end: date, scope: Filters | dict | None = None, metric: str = "volume"
) -> ReviewDraft:
    """A draft typed in by a person (scope defaults to all cases)."""
    return ReviewDraft(
        title=title.strip()[:200],
        window_start=min(start, end),
        window_end=max(start, end),
        scope=scope_filters(scope),
        metric=metric if metric in SIGNAL_METRICS else "volume",
        origin="manual",
    )
