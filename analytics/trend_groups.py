"""From raw detections to trends: the cases behind each alert, its risk, and grouping.

A surge shows up in many series at once: the #RetoApagon challenge lifts region LATAM,
queue High Risk x LATAM, country BR, channel trusted flagger x LATAM, the new category
"Dangerous acts" and the hashtag itself. :func:`group_detections` folds such detections
into one *trend*, so the feed shows one alert per ongoing trend with the others listed as
related slices.

Rule (documented in ``docs/benchmarks/trends_demo.md``): slices are taken in order of
growth (the most concentrated first), then terms; each joins the trend whose seed shares
at least half of the smaller of the two *excesses* (extra cases a day, times the days
both are active), counted on the cases themselves, so it works across dimensions and for
terms; otherwise it seeds a new trend. Comparing only with seeds, never with every member,
prevents chaining (region LATAM does not glue two unrelated LATAM surges together). The
trend's headline is its member with the highest risk score (terms head a trend only when
nothing else is in it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics.metrics import REGULATORY_QUEUES
from analytics.risk import risk_score, severity_of
from analytics.trend_sources import MISSING, REGULATORY_CHANNELS, slice_label

#: Days of slack when deciding whether two detections are active at the same time.
OVERLAP_SLACK_DAYS = 3
#: Share of a detection's excess cases that must lie in a trend's seed for it to join.
JOIN_SHARE = 0.5
#: Members listed per trend (largest risk first).
MAX_RELATED = 25
EXAMPLES = 20


def prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Window cases with string dimensions (missing as ``(missing)``) and an integer day."""
    out = frame.copy()
    for col in out.columns:
        if col not in ("created_at", "sensitive", "case_id"):
            out[col] = out[col].astype(object).where(out[col].notna(), MISSING).astype(str)
    out["_day"] = (
        pd.to_datetime(out["created_at"]).dt.floor("D") - pd.Timestamp("1970-01-01")
    ) // pd.Timedelta(days=1)
    return out.reset_index(drop=True)


def slice_mask(frame: pd.DataFrame, slice_: Mapping[str, str]) -> np.ndarray:
    """Rows of ``frame`` inside a slice (columns the frame lacks are ignored: the scope)."""
    mask = np.ones(len(frame), dtype=bool)
    for col, value in slice_.items():
        if col in frame.columns and col not in ("created_at", "_day"):
            mask &= (frame[col] == value).to_numpy()
    return mask


def day_number(d) -> int:
    return int((pd.Timestamp(d).floor("D") - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))


def case_severity(frame: pd.DataFrame, table: Mapping[str, int] | None = None) -> np.ndarray:
    """Severity 1..5 of each case: the higher of its policy's and its category's."""
    out = np.full(len(frame), 0.0)
    for col in ("policy", "category"):
        if col in frame:
            levels = {v: severity_of([v], table) for v in frame[col].unique()}
            out = np.maximum(out, frame[col].map(levels).to_numpy(dtype=float))
    return np.where(out > 0, out, 2.0)


def regulatory_flags(frame: pd.DataFrame) -> np.ndarray:
    """Cases in a regulatory queue or sent through a regulator/trusted-flagger channel."""
    flag = np.zeros(len(frame), dtype=bool)
    if "queue" in frame:
        flag |= frame["queue"].isin(REGULATORY_QUEUES).to_numpy()
    if "channel" in frame:
        flag |= frame["channel"].isin(REGULATORY_CHANNELS).to_numpy()
    return flag


def enrich(
    det: pd.DataFrame,
    masks: Mapping[str, np.ndarray],
    frame: pd.DataFrame,
    *,
    severity_table: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Add the cases behind each detection: spread, severity, regulatory share, risk, examples.

    Counts use the detection's cases between its onset and its last alerting day (the
    whole window frame for terms, whose masks are already their recent cases).
    """
    if det.empty:
        return det.assign(
            n_cases=[], regions=[], countries=[], severity=[], regulatory_share=[],
            risk=[], risk_score=[], examples=[],
        )  # fmt: skip
    sev = case_severity(frame, severity_table)
    reg = regulatory_flags(frame)
    day = frame["_day"].to_numpy()
    order = np.argsort(frame["created_at"].to_numpy())[::-1]  # newest first
    rows = []
    for r in det.itertuples(index=False):
        m = masks[r.key] & (day >= day_number(r.onset)) & (day <= day_number(r.last_day))
        idx = np.flatnonzero(m)
        regions = frame["region"].iloc[idx].value_counts().to_dict() if "region" in frame else {}
        countries = frame["country"].iloc[idx].value_counts().head(30).to_dict()
        span = max(1, day_number(r.last_day) - day_number(r.onset) + 1)
        severity = float(sev[idx].mean()) if len(idx) else 2.0
        regulatory = float(reg[idx].mean()) if len(idx) else 0.0
        area = _area(r.slice, frame.iloc[idx])
        risk = risk_score(
            growth=r.growth,
            excess_per_day=r.excess / span,
            severity=severity,
            regulatory_share=regulatory,
            region_counts=regions,
            area=area,
        )
        newest = order[m[order]][:EXAMPLES]
        rows.append(
            {
                "n_cases": len(idx),
                "regions": {str(k): int(v) for k, v in regions.items()},
                "countries": {str(k): int(v) for k, v in countries.items()},
                "severity": round(severity, 2),
                "regulatory_share": round(regulatory, 3),
                "risk": risk.to_dict(),
                "risk_score": risk.score,
                "examples": [str(c) for c in frame["case_id"].iloc[newest]],
            }
        )
    return pd.concat([det.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def _area(slice_: Mapping[str, str], cases: pd.DataFrame) -> str:
    """The policy area a detection is about: its own policy/category, else its top policy."""
    for col in ("policy", "category"):
        if col in slice_:
            return str(slice_[col])
    if "policy" in cases and len(cases):
        return str(cases["policy"].value_counts().index[0])
    return ""


def group_detections(
    det: pd.DataFrame, masks: Mapping[str, np.ndarray], frame: pd.DataFrame
) -> pd.DataFrame:
    """Assign each detection a ``group`` (trend) and mark each trend's ``headline``.

    ``det`` needs ``key``, ``onset``, ``last_day``, ``excess``, ``growth``, ``q_value``,
    ``origin`` and ``risk_score``; ``masks`` maps keys to boolean rows of ``frame``.
    """
    out = det.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(group=pd.Series(dtype=int), headline=pd.Series(dtype=bool))
    day = frame["_day"].to_numpy()
    growth = out["growth"].astype(float).fillna(0.0).to_numpy()
    is_term = (out["origin"] == "term").to_numpy()
    q = out["q_value"].astype(float).fillna(1.0).to_numpy()
    order = np.lexsort((q, -growth, is_term))  # slices first (most concentrated first), terms last
    onset = np.array([day_number(d) for d in out["onset"]])
    last = np.array([day_number(d) for d in out["last_day"]])
    span = np.maximum(1, last - onset + 1)
    rate = np.maximum(out["excess"].astype(float).to_numpy(), 0.0) / span
    seeds: list[int] = []
    group = np.full(len(out), -1)
    newest = int(day.max()) if len(day) else 0
    for i in order:
        best, best_ratio = None, 0.0
        for s in seeds:
            lo = max(onset[i], onset[s]) - OVERLAP_SLACK_DAYS
            hi = min(last[i], last[s], newest)
            if hi < lo:
                continue
            both = masks[out.at[i, "key"]] & masks[out.at[s, "key"]] & (day >= lo) & (day <= hi)
            shared = int(both.sum())
            days = max(1, min(hi - max(onset[i], onset[s]) + 1, span[i]))
            need = JOIN_SHARE * min(rate[i], rate[s]) * days
            if shared >= 3 and shared >= need and shared / max(need, 1e-9) > best_ratio:
                best, best_ratio = s, shared / max(need, 1e-9)
        if best is None:
            seeds.append(i)
            group[i] = len(seeds) - 1
        else:
            group[i] = group[best]
    out["group"] = group
    rank = out["risk_score"].astype(float).to_numpy() - 1000.0 * is_term
    out["headline"] = False
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        out.loc[members[np.argmax(rank[members])], "headline"] = True
    return out


def trends_from(det: pd.DataFrame) -> pd.DataFrame:
    """One row per trend: the headline detection plus ``members`` (every key) and
    ``related`` (summaries of the other members, highest risk first)."""
    if det.empty:
        return det.assign(members=[], related=[])
    rows = []
    for _g, members in det.groupby("group", sort=False):
        head = members[members["headline"]].iloc[0].to_dict()
        others = members[~members["headline"]].sort_values("risk_score", ascending=False)
        head["members"] = list(members["key"])
        head["related"] = [
            {
                "key": o.key,
                "origin": o.origin,
                "dimension": o.dimension,
                "value": o.value,
                "label": slice_label(o.slice) if o.origin != "term" else f"term {o.value}",
                "kind": o.kind,
                "onset": str(o.onset),
                "detected": str(o.detected),
                "observed": float(o.observed),
                "expected": float(o.expected),
                "growth": None if not np.isfinite(o.growth) else float(o.growth),
                "q_value": float(o.q_value),
                "risk_score": float(o.risk_score),
            }
            for o in others.head(MAX_RELATED).itertuples(index=False)
        ]
        head["n_related"] = len(others)
        head["detected"] = members["detected"].min()
        head["last_day"] = members["last_day"].max()
        rows.append(head)
    out = pd.DataFrame(rows)
    return out.sort_values("risk_score", ascending=False, ignore_index=True)
