"""Auto-fill of a review: what the data says about its window and scope, and how it is stored.

:func:`compute_autofill` only reads (impact numbers, data timeline, candidate causes,
redacted evidence, drafted texts); the ``write_*`` helpers store its results inside the
caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from analytics import cases, engine, metrics, privacy
from analytics import postmortem_facts as facts_mod
from analytics import postmortem_signal as signal
from analytics import postmortem_text as text
from analytics.filters import Filters
from analytics.postmortem_seed import window_filters


@dataclass(frozen=True)
class AutoFill:
    """Everything the data says about a review's window and scope."""

    impact: dict
    points: dict
    entries: list[dict]
    series: pd.DataFrame
    causes: list[dict]
    evidence: list[dict]
    bodies: dict[str, str]


def evidence_cases(t, case_ids, *, reveal_sensitive: bool = False, limit: int = 10) -> list[dict]:
    """Evidence cases as they may be shown: personal data redacted, sensitive text hidden."""
    ids = [str(i) for i in case_ids][:limit]
    if not ids:
        return []
    rows = cases.case_list(
        t,
        Filters(preset="all"),
        case_ids=ids,
        limit=len(ids),
        columns=("case_id", "created_at", "subject", "description", "sensitive"),
    )
    safe = privacy.safe_view(rows, reveal_personal=False, reveal_sensitive=reveal_sensitive)
    rank = {case_id: i for i, case_id in enumerate(ids)}  # keep the seed's order (its ranking)
    safe = safe.sort_values("case_id", key=lambda s: s.map(rank)).reset_index(drop=True)
    return [
        {
            "case_id": r.case_id,
            "created_at": str(r.created_at)[:16],
            "subject": (r.subject or "")[:120],
            "description": (r.description or "")[:400],
            "sensitive": bool(r.sensitive) if r.sensitive is not None else False,
        }
        for r in safe.itertuples()
    ]


def compute_autofill(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Filters,
    start: date,
    end: date,
    metric: str = "volume",
    headline: str = "",
    causes: tuple[dict, ...] | list[dict] = (),
    evidence_ids: tuple[str, ...] | list[str] = (),
    alert_fired_at: datetime | None = None,
    seed_events: tuple[dict, ...] = (),
    title: str = "",
) -> AutoFill:
    """Impact, timeline, causes and drafted texts for a window and scope (reads only)."""
    t = engine.cases_table(con)
    f = window_filters(scope, start, end)
    bounds = metrics.date_bounds(t)
    leaves = facts_mod.leaf_counts(t, f)
    impact = facts_mod.impact(t, f, leaves)
    entries, points, series = signal.data_timeline(
        con,
        t,
        scope,
        start,
        end,
        metric,
        alert_fired_at=alert_fired_at,
        seed_events=tuple(seed_events),
        bounds=bounds,
    )
    causes = list(causes) or facts_mod.candidate_causes(t, f, leaves=leaves)
    evidence = evidence_cases(t, evidence_ids)
    bodies = {
        "summary": text.summary_draft(title, headline, impact, points),
        "impact": text.impact_markdown(impact),
        "timeline": text.timeline_narrative(points, alert_fired_at),
        "root_causes": text.causes_markdown(causes, evidence),
        "went_well": text.went_well_draft(points),
        "went_wrong": text.went_wrong_draft(impact, points),
        "got_lucky": "",
        "lessons": "",
    }
    return AutoFill(impact, points, entries, series, causes, evidence, bodies)


def section_facts(fill: AutoFill) -> dict[str, dict]:
    return {
        "impact": fill.impact,
        "timeline": {k: v for k, v in fill.points.items()},
        "root_causes": {
            "causes": fill.causes,
            "evidence_case_ids": [e["case_id"] for e in fill.evidence],
        },
    }


def write_data_timeline(cur, review_id: int, entries: list[dict], who: str, now: datetime) -> None:
    cur.execute("DELETE FROM pm_timeline WHERE review_id = ? AND source = 'data'", [review_id])
    for e in entries:
        cur.execute(
            """INSERT INTO pm_timeline VALUES (nextval('pm_timeline_seq'), ?, ?, ?, ?, ?, 'data', ?, ?)""",
            [
                review_id,
                e["at"],
                e.get("kind", ""),
                e["title"][:300],
                e.get("detail", ""),
                who,
                now,
            ],
        )


def write_causes(cur, review_id: int, causes: list[dict]) -> None:
    cur.execute("DELETE FROM pm_causes WHERE review_id = ?", [review_id])
    for i, c in enumerate(causes, start=1):
        cur.execute(
            "INSERT INTO pm_causes VALUES (?, ?, ?, ?, ?, ?)",
            [
                review_id,
                i,
                c.get("kind", "root cause"),
                c["label"],
                json.dumps(c.get("slice") or {}),
                c.get("share_of_change"),
            ],
        )
