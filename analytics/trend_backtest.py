"""Walk-forward replay of the daily trending-risk scan over a whole history.

:func:`backtest_store` answers "which alerts would the feed have shown, and when?": every
day is judged only on the data up to that day (the series tests, new values and emerging
terms all use only the past), the day's detections are grouped into trends exactly as the
live scan groups them (:func:`analytics.trend_groups.group_detections`), and trends are
matched to the alerts already raised the way :func:`analytics.alert_scans.record_scan` matches
them (any shared slice or term; an alert quiet for 14 days that alerts again *fires
again*). The result lists every firing with its members, which is what
``bench/bench_trends_demo.py`` scores against the planted scenarios.

Nothing looks ahead: on a replayed day a detection's size is its cases so far less its
baseline (the baseline rate is the episode's pre-trend forecast, itself fitted on the past).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analytics import engine
from analytics.alert_scans import QUIET_DAYS
from analytics.filters import Filters
from analytics.metrics import date_bounds
from analytics.privacy import redact_text
from analytics.terms_backtest import emerging_terms_backtest
from analytics.trend_groups import group_detections, prepare_frame, slice_mask
from analytics.trend_sources import (
    PAIN_POINT,
    case_texts,
    columns_of,
    daily_counts,
    holiday_map,
    pain_point_assignments,
    pain_point_counts,
    pain_point_labels,
    scope_slice,
    slice_key,
    slice_of,
    window_cases,
)
from analytics.trend_watch import ScanOptions, new_values, settings_floor, with_holiday_key
from analytics.trends_scan import backtest_scan

_VERSION_TERM = re.compile(r"^v?\d+(\.\d+)+$")
TERM_MERGE_GAP_DAYS = 3


@dataclass(frozen=True)
class Backtest:
    """Replayed detections and alert firings."""

    detections: pd.DataFrame  # one row per detection (episode, new value or term episode)
    firings: pd.DataFrame  # one row per alert firing: alert, day, refire, members
    cases: pd.DataFrame  # the cases the masks refer to (``prepare_frame`` of the history)
    term_cases: dict  # term detection index -> positions in ``cases`` of its recent cases
    first_day: date
    last_day: date
    timings: dict[str, float] = field(default_factory=dict)


def backtest_store(
    con,
    f: Filters | None = None,
    *,
    options: ScanOptions | None = None,
    terms: bool = True,
    progress: Callable[[str, float], None] | None = None,
) -> Backtest:
    """Replay the daily scan of the whole history in the store (see the module docstring)."""
    import time

    opt = options or ScanOptions()
    report = progress or (lambda s, x: None)
    fdr, floor = settings_floor(opt)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    t = engine.cases_table(con)
    first, last = date_bounds(t)
    scope = scope_slice(f)
    report("Counting", 0.05)
    counts = daily_counts(t, f, opt.dimensions)
    assigned = pain_point_assignments(con) if opt.pain_points else None
    if assigned is not None:
        counts = pd.concat([counts, pain_point_counts(t, assigned, f)], ignore_index=True)
    counts = with_holiday_key(counts, f)
    timings["counts"] = time.perf_counter() - t0
    report("Replaying the series tests", 0.2)
    eps = backtest_scan(
        counts, keys=["dimension", "value", "hol"], holidays=holiday_map(first, last),
        holiday_key="hol", fdr=fdr, min_volume=floor,
    )  # fmt: skip
    novel = new_values(counts, last, fdr=fdr, min_volume=floor, new_days=opt.new_value_days,
                       min_absent_days=opt.min_absent_days, backtest=True)  # fmt: skip
    timings["series"] = time.perf_counter() - t0 - sum(timings.values())
    frame = window_cases(t, f, first, last)
    if assigned is not None:
        labels = pain_point_labels(assigned).rename(columns={"label": PAIN_POINT})
        frame = frame.merge(labels, on="case_id", how="left")
    frame = prepare_frame(frame)
    det = pd.concat([_series(eps, scope), _novel(novel, counts, scope, opt)], ignore_index=True)
    term_cases: dict[int, np.ndarray] = {}
    if terms:
        report("Replaying emerging terms", 0.5)
        texts = case_texts(t, f, first, last)
        det, term_cases = _terms(det, texts, frame, scope, opt, fdr, floor)
    timings["terms"] = time.perf_counter() - t0 - sum(timings.values())
    report("Replaying the feed", 0.8)
    det = det.reset_index(drop=True)
    firings = _replay(det, frame, term_cases, opt)
    timings["replay"] = time.perf_counter() - t0 - sum(timings.values())
    return Backtest(det, firings, frame, term_cases, first, last, timings)


def _series(eps: pd.DataFrame, scope: dict) -> pd.DataFrame:
    out = []
    for r in eps.itertuples(index=False):
        own = slice_of(r.dimension, r.value)
        out.append({
            "key": slice_key({**scope, **own}), "origin": "series", "dimension": r.dimension,
            "value": r.value, "slice": own, "kind": r.kind,
            "onset": pd.Timestamp(r.start).date(), "detected": pd.Timestamp(r.detected_at).date(),
            "last_day": pd.Timestamp(r.last_alert).date(), "observed": float(r.observed),
            "expected": float(r.expected), "excess": float(r.excess), "growth": float(r.growth),
            "q_value": float(r.q_value),
        })  # fmt: skip
    return pd.DataFrame(out)


def _novel(novel: pd.DataFrame, counts: pd.DataFrame, scope: dict, opt: ScanOptions):
    out = []
    for r in novel.itertuples(index=False):
        own = slice_of(r.dimension, r.value)
        mine = counts[(counts["dimension"] == r.dimension) & (counts["value"] == r.value)]
        span_end = min(r.onset + timedelta(days=opt.new_value_days - 1),
                       mine["period"].max().date())  # fmt: skip
        total = float(mine.loc[mine["period"] <= pd.Timestamp(span_end), "count"].sum())
        out.append({
            "key": slice_key({**scope, **own}), "origin": "new_value", "dimension": r.dimension,
            "value": r.value, "slice": own, "kind": "new", "onset": r.onset,
            "detected": r.detected, "last_day": max(span_end, r.detected), "observed": total,
            "expected": float(r.expected), "excess": total, "growth": np.inf,
            "q_value": float(r.q_value),
        })  # fmt: skip
    return pd.DataFrame(out)


def _terms(det, texts, frame, scope, opt: ScanOptions, fdr: float, floor: float):
    """Term episodes: consecutive emerging days of a term (gaps up to 3 days) from the day it
    first held ``floor`` recent cases; at most ``max_terms`` new term episodes a day."""
    hits = emerging_terms_backtest(
        texts, text_col="text", time_col="created_at", recent_days=opt.term_recent_days,
        baseline_days=opt.term_baseline_days, fdr=fdr, with_cases=True,
    )  # fmt: skip
    if hits.empty:
        return det, {}
    hits = hits[~(hits["term"].str.match(_VERSION_TERM) & (hits["status"] == "new"))]
    ok = {t: redact_text(t) == t for t in hits["term"].unique()}
    hits = hits[hits["term"].map(ok)].sort_values(["term", "day"])
    pos_of = pd.Series(np.arange(len(frame)), index=frame["case_id"].to_numpy())
    text_ids = texts["case_id"].to_numpy()
    rows, cases = [], {}
    for term, g in hits.groupby("term", sort=False):
        days = g["day"].to_numpy()
        breaks = np.flatnonzero(np.diff(days) > np.timedelta64(TERM_MERGE_GAP_DAYS, "D"))
        for part in np.split(np.arange(len(g)), breaks + 1):
            ep = g.iloc[part]
            ep = ep[ep["recent_count"] >= floor]
            if ep.empty:
                continue
            first_hit = ep.iloc[0]
            ids = np.unique(np.concatenate(list(ep["cases"])))
            expected = float(first_hit["recent_count"]) / float(first_hit["ratio"])
            rows.append({
                "key": "term:" + term.casefold() + ("|" + slice_key(scope) if scope else ""),
                "origin": "term", "dimension": "term", "value": term, "slice": {"term": term},
                "kind": f"{first_hit['status']}_term",
                "onset": (first_hit["day"] - pd.Timedelta(days=opt.term_recent_days - 1)).date(),
                "detected": first_hit["day"].date(), "last_day": ep["day"].max().date(),
                "observed": float(ep["recent_count"].max()), "expected": expected,
                "excess": float(ep["recent_count"].max()) - expected,
                "growth": float(first_hit["ratio"]), "q_value": float(first_hit["q_value"]),
                "_p": float(first_hit["p_value"]),
                "_cases": pos_of.reindex(text_ids[ids]).dropna().to_numpy(dtype=np.int64),
            })  # fmt: skip
    if not rows:
        return det, {}
    terms = pd.DataFrame(rows).sort_values(["detected", "_p"])
    terms = terms.groupby("detected", group_keys=False).head(opt.max_terms)
    out = pd.concat([det, terms.drop(columns=["_p", "_cases"])], ignore_index=True)
    offset = len(det)
    for i, arr in enumerate(terms["_cases"]):
        cases[offset + i] = arr
    return out, cases


def _replay(det: pd.DataFrame, frame: pd.DataFrame, term_cases: dict, opt: ScanOptions):
    """Group each day's active detections and match the trends to the alerts raised so far."""
    if det.empty:
        return pd.DataFrame(columns=["alert", "day", "refire", "members"])
    day_no = frame["_day"].to_numpy()
    epoch = pd.Timestamp("1970-01-01")
    as_day = lambda d: int((pd.Timestamp(d) - epoch) // pd.Timedelta(days=1))  # noqa: E731
    detected = np.array([as_day(d) for d in det["detected"]])
    last = np.array([as_day(d) for d in det["last_day"]])
    onset = np.array([as_day(d) for d in det["onset"]])
    span = np.maximum(1, last - onset + 1)
    exp_rate = det["expected"].astype(float).to_numpy() / span
    alerts: list[dict] = []  # {"key": headline key, "keys": set, "last": day}
    firings = []
    for d in np.unique(detected):
        active = np.flatnonzero((detected <= d) & (last >= d - opt.window_days + 1))
        if not len(active):
            continue
        lo = d - opt.frame_days + 1
        in_win = (day_no >= lo) & (day_no <= d)
        window = frame[in_win]
        win_day = day_no[in_win]
        sub = det.iloc[active].copy()
        masks, excess = {}, []
        for i, r in zip(active, sub.itertuples(index=False), strict=True):
            if r.origin == "term":
                m = np.zeros(len(frame), dtype=bool)
                m[term_cases.get(i, np.array([], dtype=np.int64))] = True
                masks[r.key] = m[in_win]
            else:
                own = {k: v for k, v in r.slice.items() if k in columns_of(r.dimension)}
                masks[r.key] = slice_mask(window, own)
            # sizes as known on day d (no look-ahead): cases so far less the baseline
            seen = int((masks[r.key] & (win_day >= onset[i])).sum())
            excess.append(seen - exp_rate[i] * (min(d, last[i]) - onset[i] + 1))
        sub = sub.assign(
            risk_score=0.0, _i=active, excess=excess,
            last_day=[min(x, pd.Timestamp(epoch + pd.Timedelta(days=int(d))).date())
                      for x in sub["last_day"]],
        )  # fmt: skip
        grouped = group_detections(sub, masks, window)
        for _g, members in grouped.groupby("group"):
            keys = set(members["key"])
            newest = max(as_day(o) for o in members["onset"])
            fresh = (members["_i"].map(lambda i: detected[i]) == d).any()
            match = _match(alerts, keys, newest)
            if match is None and fresh:
                alerts.append({"key": members["key"].iloc[0], "keys": keys, "last": d})
                firings.append((len(alerts) - 1, d, False, list(members["_i"])))
            elif match is not None:
                if fresh and newest - match["last"] > QUIET_DAYS:
                    firings.append((alerts.index(match), d, True, list(members["_i"])))
                match["keys"] |= keys
                match["last"] = d
    out = pd.DataFrame(firings, columns=["alert", "day", "refire", "members"])
    out["day"] = epoch + pd.to_timedelta(out["day"], unit="D")
    return out


def _match(alerts: list[dict], keys: set, onset: int) -> dict | None:
    """As :func:`analytics.alert_scans.record_scan`: an alert whose own key is a member, else one
    sharing a member key that alerted within :data:`QUIET_DAYS` before the trend began."""
    own = [a for a in alerts if a["key"] in keys]
    if own:
        return own[-1]
    shared = [a for a in alerts if a["keys"] & keys and onset - a["last"] <= QUIET_DAYS]
    return max(shared, key=lambda a: len(a["keys"] & keys), default=None)
