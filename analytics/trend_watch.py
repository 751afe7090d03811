"""The trending-risk scan of the store: what is surging now, why, and how dangerous it is.

:func:`scan_store` runs, in the user's own thread and in a few seconds on a million cases:

1. daily counts for every value of every dimension and the important pairs
   (:mod:`analytics.trend_sources`; the unfiltered scan keeps them in a cache that an
   incremental scan after an import updates day by day);
2. :func:`analytics.trends_scan.scan_series`: seasonal negative-binomial tests of 1/3/7-day
   windows, Benjamini–Hochberg across series at each day, a minimum-volume floor;
3. :func:`new_values`: values never seen in the history that now arrive in volume (a new
   category, surface or pain point; app versions are routine and skipped);
4. :func:`analytics.terms.emerging_terms` on subject + description (sensitive texts count;
   only terms and case ids leave this module, never text);
5. the cases behind each detection -> spread, severity, regulatory exposure, risk score,
   and grouping into trends (:mod:`analytics.trend_groups`).

The result is persisted by :func:`analytics.alert_scans.record_scan`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import special

from analytics import engine
from analytics.config import get_settings
from analytics.filters import Filters
from analytics.metrics import date_bounds
from analytics.privacy import redact_text
from analytics.terms import emerging_terms
from analytics.trend_groups import enrich, group_detections, prepare_frame, slice_mask, trends_from
from analytics.trend_sources import (
    DEFAULT_DIMENSIONS,
    PAIN_POINT,
    ROUTINE_NEW_VALUES,
    Dimension,
    cached_counts,
    case_texts,
    columns_of,
    daily_counts,
    holiday_map,
    last_import_id,
    pain_point_assignments,
    pain_point_counts,
    pain_point_labels,
    refresh_count_cache,
    region_of_slice,
    scope_slice,
    slice_key,
    slice_of,
    window_cases,
)
from analytics.trends_multi import benjamini_hochberg
from analytics.trends_scan import scan_series

Progress = Callable[[str, float], None]
DETECTION_COLUMNS: tuple[str, ...] = (
    "key", "origin", "dimension", "value", "slice", "kind", "onset", "detected", "last_day",
    "observed", "expected", "excess", "growth", "p_value", "q_value", "level", "path",
    "baseline_week", "case_ids",
)  # fmt: skip
_VERSION_TERM = re.compile(r"^v?\d+(\.\d+)+$")
#: Incremental scans fit only series a generous Poisson screen at this p-value lets through.
PRESCREEN = 0.05


@dataclass(frozen=True)
class ScanOptions:
    """What a scan looks at; the defaults are what ``docs/benchmarks/trends_demo.md`` measured."""

    window_days: int = 7  # report trends alerting in the last N days
    lookback_days: int = 28  # ... testing this much earlier too, for their first detection
    fdr: float | None = None  # default: ESC_TREND_FDR
    min_volume: float | None = None  # default: ESC_TREND_MIN_VOLUME
    dimensions: tuple[Dimension, ...] = DEFAULT_DIMENSIONS
    history_days: int = 400  # counted history (the baseline needs ~330 days at most)
    new_value_days: int = 28  # a value first seen this recently is "new" ...
    min_absent_days: int = 56  # ... if the history before it is at least this long
    terms: bool = True
    term_recent_days: int = 7
    term_baseline_days: int = 56
    term_max_baseline: int = 25_000  # baseline texts are thinned to about this many
    max_terms: int = 20  # emerging terms that may become alerts per scan
    pain_points: bool = True
    sparkline_days: int = 56
    frame_days: int = 42  # days of cases read to explain and group detections


@dataclass(frozen=True)
class ScanResult:
    """What a scan found: detections (one per alerting slice or term) grouped into trends."""

    as_of: date
    mode: str  # full | incremental | scoped
    scope: Filters | None
    detections: pd.DataFrame
    trends: pd.DataFrame
    terms: pd.DataFrame
    series: int
    last_import_id: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return float(sum(self.timings.values()))


def _noop(stage: str, fraction: float) -> None:
    return None


def settings_floor(options: ScanOptions) -> tuple[float, float]:
    s = get_settings()
    fdr = s.trend_fdr if options.fdr is None else options.fdr
    vol = s.trend_min_volume if options.min_volume is None else options.min_volume
    return fdr, vol


def with_holiday_key(counts: pd.DataFrame, scope: Filters | None) -> pd.DataFrame:
    """Add ``hol``: the region whose public holidays a series leaves out of its baseline."""
    pairs = counts[["dimension", "value"]].drop_duplicates()
    pairs = pairs.assign(
        hol=[region_of_slice(slice_of(d, v), scope) for d, v in pairs.itertuples(index=False)]
    )
    return counts.merge(pairs, on=["dimension", "value"], how="left")


def new_values(
    counts: pd.DataFrame,
    as_of: date,
    *,
    fdr: float,
    min_volume: float,
    new_days: int = 28,
    min_absent_days: int = 56,
    backtest: bool = False,
) -> pd.DataFrame:
    """Values first seen recently that already arrive in volume (a new category, surface...).

    A value born on day ``b`` after ``H >= min_absent_days`` days of history without it had,
    at 95 % confidence, a rate below ``3 / H`` a day before (rule of three). Its count ``k``
    over the ``d`` days since birth is tested against ``Poisson(3 d / H)``; BH across the
    new values, and at least ``min_volume`` cases. Dimensions in
    :data:`~analytics.trend_sources.ROUTINE_NEW_VALUES` (app versions) are skipped. With
    ``backtest``, every value ever born is judged on each of its first ``new_days`` days
    and the first day it qualified is returned (``detected``).
    """
    cols = ["dimension", "value", "onset", "detected", "observed", "expected", "p_value", "q_value"]
    if counts.empty:
        return pd.DataFrame(columns=cols)
    dims = counts["dimension"].unique()
    routine_dims = [d for d in dims if set(columns_of(d)) & ROUTINE_NEW_VALUES]
    routine = counts["dimension"].isin(routine_dims)
    c = counts[~routine & (counts["count"] > 0)]
    c = c[c["period"] <= pd.Timestamp(as_of)]
    if c.empty:
        return pd.DataFrame(columns=cols)
    start = c["period"].min()
    birth = c.groupby(["dimension", "value"])["period"].transform("min")
    absent = (birth - start).dt.days
    age = (c["period"] - birth).dt.days
    c = c[(absent >= min_absent_days) & (age < new_days)].assign(
        birth=birth, absent=absent, age=age
    )
    if not backtest:
        c = c[c["birth"] > pd.Timestamp(as_of) - pd.Timedelta(days=new_days)]
    if c.empty:
        return pd.DataFrame(columns=cols)
    c = c.sort_values(["dimension", "value", "period"])
    c["cum"] = c.groupby(["dimension", "value"])["count"].cumsum()
    c["mu"] = 3.0 * (c["age"] + 1) / c["absent"]
    c["p"] = special.pdtrc(c["cum"] - 1, c["mu"])  # P(X >= cum)
    _, q = benjamini_hochberg(c["p"].to_numpy(), fdr)
    c["q"] = q
    hit = c[(c["cum"] >= min_volume) & (c["q"] <= fdr)]
    if hit.empty:
        return pd.DataFrame(columns=cols)
    first = hit.groupby(["dimension", "value"], as_index=False).first()
    if not backtest:  # the latest state of each new value; detected = first qualifying day
        latest = c.groupby(["dimension", "value"], as_index=False).last()
        latest = latest[["dimension", "value", "cum", "mu", "p", "q"]]
        first = first[["dimension", "value", "birth", "period"]].merge(
            latest, on=["dimension", "value"]
        )
    return pd.DataFrame(
        {
            "dimension": first["dimension"],
            "value": first["value"],
            "onset": first["birth"].dt.date,
            "detected": first["period"].dt.date,
            "observed": first["cum"].astype(float),
            "expected": first["mu"].astype(float),
            "p_value": first["p"].astype(float),
            "q_value": first["q"].astype(float),
        }
    )


def scan_store(
    con,
    f: Filters | None = None,
    *,
    as_of: date | None = None,
    incremental: bool = False,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan the store for trending risks as of ``as_of`` (default: the latest case day).

    ``f`` scopes the scan (its dimension filters and search; its dates are ignored because
    the baseline needs the history). The unfiltered scan uses the count cache; with
    ``incremental`` it recounts only the days imports touched since the last scan
    (:func:`analytics.alert_scans.last_scan_state` knows which) and tests only the recent days.
    """
    from analytics.alert_scans import last_scan_state

    opt = options or ScanOptions()
    report = progress or _noop
    fdr, floor = settings_floor(opt)
    timings: dict[str, float] = {}
    tick = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - tick
        tick = now

    t = engine.cases_table(con)
    first, last = date_bounds(t)
    empty = ScanResult(as_of or date.today(), "scoped", f, pd.DataFrame(), pd.DataFrame(),
                       pd.DataFrame(), 0, last_import_id(con), timings)  # fmt: skip
    if last is None:
        return empty
    as_of = min(as_of or last, last)
    scope = scope_slice(f)
    start = max(first, as_of - timedelta(days=opt.history_days))
    report("Counting cases per day", 0.05)
    lookback = opt.lookback_days
    if scope:
        counts, mode = daily_counts(t, f, opt.dimensions, start=start, end=as_of), "scoped"
    else:
        state = last_scan_state(con)
        since = state.get("last_import_id") if incremental else None
        try:
            refresh = refresh_count_cache(
                con, t, since_import=since, deleted_before=state.get("deleted"),
                dimensions=opt.dimensions,
            )  # fmt: skip
        except duckdb.TransactionException:
            # Another session is refreshing the cache right now: count directly this time.
            counts, mode = daily_counts(t, None, opt.dimensions, start=start, end=as_of), "full"
        else:
            counts = cached_counts(con, start)
            counts = counts[counts["period"] <= pd.Timestamp(as_of)]
            mode = "incremental" if refresh.mode != "full" else "full"
        if mode == "incremental" and state.get("as_of"):
            lookback = max(3, min(lookback, (as_of - state["as_of"]).days + 3))
    assigned = pain_point_assignments(con) if opt.pain_points else None
    if assigned is not None:
        pp = pain_point_counts(t, assigned, f, start=start, end=as_of)
        counts = pd.concat([counts, pp], ignore_index=True)
    lap("counts")
    report("Testing every series", 0.25)
    counts = with_holiday_key(counts, f)
    series = scan_series(
        counts, keys=["dimension", "value", "hol"], holidays=holiday_map(start, as_of),
        holiday_key="hol", as_of=pd.Timestamp(as_of), window=f"{opt.window_days}D",
        lookback=f"{lookback}D", fdr=fdr, min_volume=floor, detail_days=opt.sparkline_days,
        prescreen=PRESCREEN if mode == "incremental" else None,
    )  # fmt: skip
    novel = new_values(counts, as_of, fdr=fdr, min_volume=floor, new_days=opt.new_value_days,
                       min_absent_days=opt.min_absent_days)  # fmt: skip
    n_series = int(counts[["dimension", "value"]].drop_duplicates().shape[0])
    lap("series")
    report("Reading the cases behind the alerts", 0.5)
    frame = window_cases(t, f, as_of - timedelta(days=opt.frame_days - 1), as_of)
    if assigned is not None:
        labels = pain_point_labels(assigned).rename(columns={"label": PAIN_POINT})
        frame = frame.merge(labels, on="case_id", how="left")
    frame = prepare_frame(frame)
    det = pd.concat(
        [_series_rows(series, scope, as_of), _novel_rows(novel, counts, scope, as_of, opt)],
        ignore_index=True,
    )
    lap("cases")
    terms = pd.DataFrame()
    if opt.terms and (as_of - first).days >= opt.term_recent_days + opt.term_baseline_days:
        report("Looking for emerging terms", 0.6)
        terms = emerging_now(t, f, as_of, opt, fdr)
        det = pd.concat([det, _term_rows(terms, frame, scope, as_of, opt, floor)],
                        ignore_index=True)  # fmt: skip
        lap("terms")
    report("Scoring and grouping", 0.9)
    det = det.drop_duplicates("key", keep="first").reset_index(drop=True)
    masks = {r.key: _mask(r, frame) for r in det.itertuples(index=False)}
    det = enrich(det, masks, frame)
    det = group_detections(det, masks, frame)
    trends = trends_from(det)
    lap("group")
    report("Done", 1.0)
    return ScanResult(as_of, mode, f, det.drop(columns=["case_ids"]), trends,
                      _public_terms(terms), n_series, last_import_id(con), timings)  # fmt: skip


def _mask(r, frame: pd.DataFrame) -> np.ndarray:
    if r.origin == "term":
        return frame["case_id"].isin(set(r.case_ids)).to_numpy()
    own = {k: v for k, v in r.slice.items() if k in columns_of(r.dimension)}
    return slice_mask(frame, own)


def _level(path: dict | None) -> float:
    if not path:
        return math.nan
    tail = [v for v in path["observed"][-7:] if v is not None]
    return float(np.mean(tail)) if tail else math.nan


def _series_rows(series: pd.DataFrame, scope: dict, as_of: date) -> pd.DataFrame:
    rows = []
    for r in series.itertuples(index=False):
        own = slice_of(r.dimension, r.value)
        full = {**scope, **own}
        origin = PAIN_POINT if r.dimension == PAIN_POINT else "series"
        rows.append({
            "key": slice_key(full), "origin": origin, "dimension": r.dimension, "value": r.value,
            "slice": full, "kind": r.kind, "onset": pd.Timestamp(r.start).date(),
            "detected": pd.Timestamp(r.detected_at).date(),
            "last_day": pd.Timestamp(r.last_alert).date(), "observed": float(r.observed),
            "expected": float(r.expected), "excess": float(r.excess), "growth": float(r.growth),
            "p_value": float(r.p_value), "q_value": float(r.q_value), "level": _level(r.path),
            "path": _json_path(r.path), "baseline_week": (r.path or {}).get("baseline_week"),
            "case_ids": None,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))


def _json_path(path: dict | None) -> dict | None:
    if not path:
        return None
    return {**path, "start": str(pd.Timestamp(path["start"]).date())}


def _novel_rows(
    novel: pd.DataFrame, counts: pd.DataFrame, scope: dict, as_of: date, opt: ScanOptions
) -> pd.DataFrame:
    rows = []
    lo = pd.Timestamp(as_of) - pd.Timedelta(days=opt.sparkline_days - 1)
    days = pd.date_range(lo, pd.Timestamp(as_of), freq="D")
    for r in novel.itertuples(index=False):
        own = slice_of(r.dimension, r.value)
        full = {**scope, **own}
        mine = counts[(counts["dimension"] == r.dimension) & (counts["value"] == r.value)]
        daily = mine.groupby("period")["count"].sum().reindex(days, fill_value=0)
        path = {"start": str(lo.date()), "observed": [float(v) for v in daily],
                "expected": [0.0] * len(days), "baseline_week": [0.0] * 7}  # fmt: skip
        rows.append({
            "key": slice_key(full), "origin": "new_value" if r.dimension != PAIN_POINT
            else PAIN_POINT, "dimension": r.dimension, "value": r.value, "slice": full,
            "kind": "new", "onset": r.onset, "detected": r.detected, "last_day": as_of,
            "observed": r.observed, "expected": r.expected, "excess": r.observed - r.expected,
            "growth": math.inf, "p_value": r.p_value, "q_value": r.q_value,
            "level": float(np.mean(daily.to_numpy()[-7:])), "path": path,
            "baseline_week": [0.0] * 7, "case_ids": None,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))


def emerging_now(t, f: Filters | None, as_of: date, opt: ScanOptions, fdr: float) -> pd.DataFrame:
    """Emerging terms of the last ``term_recent_days`` (version numbers and personal data out)."""
    recent_from = as_of - timedelta(days=opt.term_recent_days - 1)
    start = recent_from - timedelta(days=opt.term_baseline_days)
    texts = case_texts(t, f, start, as_of, recent_from=recent_from,
                       max_baseline=opt.term_max_baseline)  # fmt: skip
    if texts.empty:
        return pd.DataFrame()
    baseline_cases = texts.attrs.get("baseline_cases")
    found = emerging_terms(
        texts.set_index("case_id"), text_col="text", time_col="created_at", region_col="region",
        as_of=pd.Timestamp(as_of) + pd.Timedelta(days=1), recent=f"{opt.term_recent_days}D",
        baseline=f"{opt.term_baseline_days}D", fdr=fdr, max_examples=10**7,
        baseline_cases=baseline_cases,
    )  # fmt: skip
    if found.empty:
        return found
    routine = found["term"].str.match(_VERSION_TERM) & (found["status"] == "new")
    found = found[~routine]
    # Terms that carry personal data (a name, an e-mail) are not shown: redact and drop.
    found = found[found["term"].map(lambda s: redact_text(s) == s)]
    return found.reset_index(drop=True)


def _term_rows(
    terms: pd.DataFrame,
    frame: pd.DataFrame,
    scope: dict,
    as_of: date,
    opt: ScanOptions,
    floor: float,
) -> pd.DataFrame:
    if terms.empty:
        return pd.DataFrame(columns=list(DETECTION_COLUMNS))
    top = terms[terms["recent_count"] >= floor].head(opt.max_terms)
    lo = pd.Timestamp(as_of) - pd.Timedelta(days=opt.sparkline_days - 1)
    days = pd.date_range(lo, pd.Timestamp(as_of), freq="D")
    when = frame.set_index("case_id")["created_at"].dt.floor("D")
    rows = []
    for r in top.itertuples(index=False):
        ids = list(r.examples)
        daily = when.reindex([i for i in ids if i in when.index]).value_counts()
        daily = daily.reindex(days, fill_value=0)
        expected = float(r.recent_count) / float(r.ratio) if r.ratio else 0.0
        per_day = expected / opt.term_recent_days
        path = {
            "start": str(lo.date()),
            "observed": [float(v) for v in daily],
            "expected": [round(per_day, 3)] * len(days),
            "baseline_week": [per_day] * 7,
        }
        full = {**scope, "term": r.term}
        rows.append({
            "key": "term:" + str(r.term).casefold() + ("|" + slice_key(scope) if scope else ""),
            "origin": "term", "dimension": "term", "value": r.term, "slice": full,
            "kind": f"{r.status}_term", "onset": max(pd.Timestamp(r.first_seen).date(),
                                                      as_of - timedelta(days=opt.term_recent_days - 1)),
            "detected": as_of, "last_day": as_of, "observed": float(r.recent_count),
            "expected": expected, "excess": float(r.recent_count) - expected,
            "growth": float(r.ratio), "p_value": float(r.p_value), "q_value": float(r.q_value),
            "level": float(r.recent_count) / opt.term_recent_days, "path": path,
            "baseline_week": [per_day] * 7, "case_ids": ids,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))


def _public_terms(terms: pd.DataFrame) -> pd.DataFrame:
    """The emerging-terms table for the explorer: terms and counts, examples capped."""
    if terms.empty:
        return terms
    out = terms.copy()
    out["examples"] = out["examples"].map(lambda ids: list(ids)[:20])
    return out
