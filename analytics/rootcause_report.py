"""Root cause, words and export: the one-sentence headline and the post-mortem dict.

:func:`headline` says what changed, how much, against what, which cause and which event;
:func:`to_postmortem` turns an explanation into a plain JSON-serialisable dict (read by the
post-mortem feature, ``analytics.postmortem_seed.draft_from_rootcause``); :func:`query_for`
gives the Root cause page's query parameters, so other pages can link to an explanation.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analytics.filters import Filters
from analytics.rootcause_causes import slice_label
from analytics.rootcause_events import event_clause
from analytics.rootcause_evidence import Evidence
from analytics.rootcause_leaves import BASELINES, DEFAULT_DIMENSIONS, Metric, Windows, span_text

if TYPE_CHECKING:
    from analytics.rootcause import Explanation

FLAT = 0.02  # below this relative change (counts, medians) the headline says "about the same"


def scope_text(f: Filters) -> str:
    """``queue Regulatory/DSA, region EMEA`` from the sidebar's dimension filters and search."""
    parts = [f"{k.replace('_', ' ')} {', '.join(v)}" for k, v in f.dimension_values().items()]
    if f.search:
        parts.append(f'text "{f.search}"')
    parts += [
        f"{k.replace('_', ' ')} {v}" for k, v in f.extra if k not in ("created_day", "created_week")
    ]
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------


def fmt_metric(value: float, metric: Metric) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric.unit == "%":
        return f"{value:.1%}"
    if metric.unit == "h":
        return f"{value:,.1f} h"
    return f"{value:,.0f}"


def fmt_change(expl: Explanation) -> str:
    if expl.metric.unit == "%":
        return f"{expl.change * 100:+.1f} pts"
    pct = "" if not math.isfinite(expl.relative_change) else f", {expl.relative_change:+.0%}"
    if expl.metric.unit == "h":
        return f"{expl.change:+,.1f} h{pct}"
    return f"{expl.change:+,.0f}{pct}"


def _fmt_delta(value: float, metric: Metric) -> str:
    if metric.unit == "%":
        return f"{value * 100:+.1f} pts"
    if metric.unit == "h":
        return f"{value:+,.1f} h"
    return f"{value:+,.0f}"


def headline(expl: Explanation, events: pd.DataFrame | None = None) -> str:
    """One sentence: what changed, how much, against what, which cause and which event.

    E.g. "SLA breach rate rose from 10.7% to 19.0% (+8.3 pts) between 20 Dec 2025 and 4 Jan
    2026, against the previous 16 days (…); 81% of the change comes from queue =
    Regulatory/DSA, during public holidays (Christmas Day (GB), …)."
    """
    m = expl.metric
    scope = f" in {expl.scope}" if expl.scope else ""
    start, end = expl.windows.current
    between = f"between {start.day} {start:%b %Y} and {end.day} {end:%b %Y}"
    against = f"against {expl.windows.describe_baseline()}"
    flat = (m.unit == "%" and abs(expl.change) < 0.005) or (
        m.unit != "%" and abs(expl.relative_change) < FLAT
    )
    if flat and not expl.causes:
        return (
            f"{m.label}{scope} stayed about the same {between}: {fmt_metric(expl.after, m)}, "
            f"against {fmt_metric(expl.before, m)} over {expl.windows.describe_baseline()}; no "
            "slice stands out beyond normal variation."
        )
    verb = "rose" if expl.change > 0 else "fell" if expl.change < 0 else "stayed at"
    lead = (
        f"{m.label}{scope} {verb} from {fmt_metric(expl.before, m)} to "
        f"{fmt_metric(expl.after, m)} ({fmt_change(expl)}) {between}, {against}"
    )
    top = expl.top_cause
    if top is None:
        return f"{lead}; the change is spread across slices (no single slice stands out)."
    share = top.share_of_change
    if top.is_overall:
        what = "every slice moved alike (no single slice stands out)"
    elif math.isfinite(share) and share > 1.1:
        against_it = [c for c in expl.causes if c.contribution * expl.change < 0]
        offset = (
            f"{against_it[0].label}: {_fmt_delta(against_it[0].contribution, m)}"
            if against_it
            else f"the rest: {_fmt_delta(expl.change - top.contribution, m)}"
        )
        what = (
            f"{top.label} alone accounts for {_fmt_delta(top.contribution, m)}, more than "
            f"the net change ({offset})"
        )
    else:
        share_text = f"{share:.0%}" if math.isfinite(share) else "most"
        what = f"{share_text} of the change comes from {top.label}"
    clause = event_clause(events)
    return f"{lead}; {what}{', ' + clause if clause else ''}."


# --------------------------------------------------------------------------------------------
# Post-mortem export
# --------------------------------------------------------------------------------------------


def _plain(value):
    """JSON-safe scalars: NaN/inf -> None, numpy -> Python, dates -> ISO strings."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is pd.NaT or value is None:
        return None
    return value


def root_cause_query(expl: Explanation) -> dict[str, str]:
    """Query parameters that reopen this explanation on the Root cause page."""
    return query_for(expl.metric.key, expl.windows, expl.leaves.dimensions)


def query_for(metric: str, windows: Windows, dimensions=DEFAULT_DIMENSIONS) -> dict[str, str]:
    """Query parameters of the Root cause page (``?rc_metric=…&rc_from=…``) for a request.

    Other pages link here with them, e.g. ``st.switch_page("pages/5_Root_cause.py",
    query_params=query_for("sla_breach_rate", resolve_windows(start, end)))``.
    """
    w = windows
    q = {
        "rc_metric": metric,
        "rc_from": w.current[0].isoformat(),
        "rc_to": w.current[1].isoformat(),
        "rc_baseline": w.baseline,
    }
    if w.baseline == "custom":
        q |= {
            "rc_base_from": w.references[0][0].isoformat(),
            "rc_base_to": w.references[0][1].isoformat(),
        }
    if w.baseline == "seasonal":
        q["rc_weeks"] = str(len(w.references))
    if tuple(dimensions) != DEFAULT_DIMENSIONS:
        q["rc_dims"] = "|".join(dimensions)
    return q


def to_postmortem(
    expl: Explanation,
    events: pd.DataFrame | None = None,
    evidence: list[Evidence] | None = None,
    pain_points: pd.DataFrame | None = None,
    label: str = "",
) -> dict:
    """A plain, JSON-serialisable dict of an explanation, for a post-mortem.

    Keys: ``kind`` ("root_cause_explanation"), ``version``, ``created_at``, ``title``,
    ``headline``, ``metric`` (its key, e.g. "sla_breach_rate") and ``metric_info`` (label,
    unit, kind), ``current`` and ``baseline`` (``{start, end}`` ISO dates; a seasonal
    baseline's span) and ``windows`` (the current window and every reference window),
    ``filters`` (the sidebar scope as query parameters, without dates) and ``scope`` (in
    words), ``values`` (before, after, change, relative change, mix and rate effects),
    ``onset``, ``causes`` (rank, slice, label, share_of_change, contribution, mix and rate
    effects, before/after, also as expected/actual/change, evidence case ids, a ``profile``:
    cases, SLA breach rate and median resolution hours, baseline vs now), ``waterfall``,
    ``events`` (date, kind, title, source, ...), ``evidence_case_ids`` (all, deduplicated),
    ``pain_points`` (pain_point, name/label, before, after, change, examples), ``link`` (the
    Root cause page's query parameters), ``warnings``, ``dimensions``.
    """
    w, m = expl.windows, expl.metric
    by_slice = {slice_label(e.slice): e for e in (evidence or [])}
    profiles = [{k: _plain(v) for k, v in row.items()} for row in expl.profiles.to_dict("records")]
    causes = []
    for rank, c in enumerate(expl.causes, start=1):
        ev = by_slice.get(c.label)
        causes.append(
            {
                "rank": rank,
                "slice": {k: _plain(v) for k, v in c.slice.items()},
                "label": c.label,
                "kind": "overall move" if c.is_overall else "root cause",
                "share_of_change": _plain(c.share_of_change),
                "contribution": _plain(c.contribution),
                "mix_effect": _plain(c.mix_effect),
                "rate_effect": _plain(c.rate_effect),
                "before": _plain(c.before),
                "after": _plain(c.after),
                "expected": _plain(c.before),
                "actual": _plain(c.after),
                "change": _plain(c.contribution),
                "score": _plain(c.score),
                "z": _plain(c.z),
                "evidence_case_ids": list(ev.case_ids) if ev else [],
                "evidence_total": int(ev.total) if ev else None,
                "profile": profiles[rank - 1] if rank <= len(profiles) else {},
            }
        )
    all_ids = list(dict.fromkeys(i for e in (evidence or []) for i in e.case_ids))
    ev_rows = (
        []
        if events is None
        else [{k: _plain(v) for k, v in row.items()} for row in events.to_dict("records")]
    )
    pp_rows = []
    if pain_points is not None:
        for row in pain_points.to_dict("records"):
            item = {
                k: ([str(x) for x in v] if k == "examples" else _plain(v)) for k, v in row.items()
            }
            item["label"], item["cases"] = item.get("name"), item.get("after")
            pp_rows.append(item)
    steps = [{k: _plain(v) for k, v in row.items()} for row in expl.waterfall.to_dict("records")]
    refs = w.references
    span = {
        "start": min(a for a, _ in refs).isoformat(),
        "end": max(b for _, b in refs).isoformat(),
    }
    return {
        "kind": "root_cause_explanation",
        "version": 1,
        "created_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "title": label or f"{m.label}: {span_text(*w.current)}",
        "headline": headline(expl, events),
        "metric": m.key,
        "metric_info": {"key": m.key, "label": m.label, "unit": m.unit, "kind": m.kind},
        "current": {"start": w.current[0].isoformat(), "end": w.current[1].isoformat()},
        "baseline": span,
        "windows": {
            "current": {"start": w.current[0].isoformat(), "end": w.current[1].isoformat()},
            "baseline": {
                "method": w.baseline,
                "label": BASELINES[w.baseline],
                "description": w.describe_baseline(),
                "windows": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in refs],
            },
        },
        "filters": {
            k: _plain(v)
            for k, v in expl.filters.to_query().items()
            if k not in ("range", "from", "to")
        },
        "scope": expl.scope or "all cases",
        "values": {
            "before": _plain(expl.before),
            "after": _plain(expl.after),
            "change": _plain(expl.change),
            "relative_change": _plain(expl.relative_change),
            "mix_effect": _plain(expl.mix_effect),
            "rate_effect": _plain(expl.rate_effect),
            "residual": _plain(expl.residual),
        },
        "onset": _plain(expl.onset),
        "causes": causes,
        "waterfall": steps,
        "events": ev_rows,
        "evidence_case_ids": all_ids,
        "pain_points": pp_rows,
        "link": root_cause_query(expl),
        "warnings": list(expl.warnings),
        "dimensions": list(expl.leaves.dimensions),
    }
