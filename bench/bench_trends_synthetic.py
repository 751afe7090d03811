"""Benchmark of the trend detector and emerging terms on seeded synthetic data.

Writes ``docs/benchmarks/trends_synthetic.md``. Reproduce with::

    .venv/bin/python bench/bench_trends_synthetic.py            # full: 2,000 series x 550 days
    .venv/bin/python bench/bench_trends_synthetic.py --quick    # ~1 minute, to bench/out/

Daily series: 18 months, volumes 0.5 / 2 / 10 / 50 / 500 cases a day, random weekly
profiles, slow random-walk drift and a yearly trend, negative-binomial noise, public
holidays of each series' region (Indonesia, Germany, Brazil, United States) as dips, and,
in a quarter of the series, one planted shape: a spike (1-2 days), a ramp (10 days up,
two weeks high), a level shift (permanent), or a weekend-only surge (four weekends).
Hourly series: 12 weeks with hour-of-day profiles and 3-hour surges or level shifts.
Everything is judged by the walk-forward :func:`analytics.trends_scan.backtest_scan`
(Benjamini–Hochberg across series at each period) with its defaults.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import holidays as holiday_lib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.terms import emerging_terms  # noqa: E402
from analytics.trends import detect_spikes  # noqa: E402
from analytics.trends_baseline import BaselineConfig  # noqa: E402
from analytics.trends_scan import backtest_scan, scan_series  # noqa: E402

SHAPES = ("spike", "ramp", "level_shift", "weekend_surge")
VOLUMES = (0.5, 2.0, 10.0, 50.0, 500.0)
COUNTRY = {"APAC": "ID", "EMEA": "DE", "LATAM": "BR", "NA": "US"}
START = pd.Timestamp("2025-01-01")
#: Alerts are matched to a planted shape from its onset to this many days after its end
#: (the 7-day test may still fire on the week that contains it).
MATCH_AFTER = 7
#: False alerts are counted from this day on (the detector warms up for 2-4 weeks).
COUNT_FROM = 60


@dataclass(frozen=True)
class Planted:
    series: int
    shape: str
    volume: float
    onset: int
    end: int
    meaningful: int | None  # first day a single day's excess exceeds 2 noise sd


def region_holidays(days: pd.DatetimeIndex) -> dict[str, list]:
    years = sorted(set(days.year))
    return {r: sorted(holiday_lib.country_holidays(c, years=years)) for r, c in COUNTRY.items()}


def make_daily(n_series: int, n_days: int, seed: int, share: float = 0.25):
    """Long counts, the planted truth and the holiday lists of a synthetic daily scan."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, periods=n_days, freq="D")
    hol = region_holidays(days)
    regions = rng.choice(list(COUNTRY), n_series)
    volume = np.array(VOLUMES)[np.arange(n_series) % len(VOLUMES)]
    alpha = rng.choice([0.0, 0.02, 0.05], n_series)
    week = np.ones((n_series, 7))
    week[:, 0] += rng.uniform(0.0, 0.4, n_series)
    week[:, 4] = rng.uniform(0.85, 1.05, n_series)
    week[:, 5:] = rng.uniform(0.35, 1.1, (n_series, 1)) * rng.uniform(0.9, 1.1, (n_series, 2))
    week /= week.mean(axis=1, keepdims=True)
    drift = np.zeros((n_series, n_days))
    steps = rng.normal(0, rng.uniform(0, 0.02, (n_series, 1)), (n_series, n_days))
    for t in range(1, n_days):
        drift[:, t] = 0.98 * drift[:, t - 1] + steps[:, t]
    trend = np.linspace(0, 1, n_days)[None, :] * rng.uniform(-0.3, 0.3, (n_series, 1))
    rate = volume[:, None] * week[:, days.day_of_week] * np.exp(drift + trend)
    for r, dates in hol.items():
        on = days.isin(pd.DatetimeIndex(dates))
        rows = regions == r
        rate[np.ix_(rows, on)] *= rng.uniform(0.3, 0.6, (rows.sum(), 1))
    excess = np.zeros_like(rate)
    truth: list[Planted] = []
    anomalous = rng.permutation(n_series)[: int(share * n_series)]
    for k, s in enumerate(anomalous):
        shape = SHAPES[k % len(SHAPES)]
        onset = int(rng.integers(150, n_days - 45))
        r = rate[s]
        if shape == "spike":
            dur = int(rng.integers(1, 3))
            span = np.arange(onset, onset + dur)
            excess[s, span] = np.maximum((rng.uniform(2.5, 4.0) - 1) * r[span], 12)
            end = onset + dur - 1
        elif shape == "ramp":
            up = np.clip((np.arange(n_days) - onset + 1) / 10, 0, 1)
            up[onset + 24 :] = 0
            excess[s] = up * np.maximum((rng.uniform(2.5, 3.5) - 1) * r, 15)
            end = onset + 23
        elif shape == "level_shift":
            span = np.arange(onset, n_days)
            excess[s, span] = np.maximum((rng.uniform(1.8, 2.5) - 1) * r[span], 8)
            end = onset + 27
        else:
            onset = onset + (5 - days[onset].day_of_week) % 7  # the next Saturday
            span = np.concatenate([[onset + 7 * w, onset + 7 * w + 1] for w in range(4)])
            excess[s, span] = np.maximum((rng.uniform(2.5, 3.5) - 1) * r[span], 10)
            end = int(span[-1])
        sd = np.sqrt(r + alpha[s] * r**2)
        visible = np.flatnonzero(excess[s, onset : end + 1] >= 2 * sd[onset : end + 1])
        meaningful = onset + int(visible[0]) if len(visible) else None
        truth.append(Planted(int(s), shape, float(volume[s]), onset, end, meaningful))
    mu = rate + excess
    lam = np.where(
        alpha[:, None] > 0, rng.gamma(1 / np.maximum(alpha, 1e-9)[:, None], mu * alpha[:, None]), mu
    )
    counts = rng.poisson(lam)
    frame = pd.DataFrame(
        {
            "region": np.repeat(regions, n_days),
            "series": np.repeat(np.arange(n_series), n_days),
            "period": np.tile(days, n_series),
            "count": counts.ravel(),
        }
    )
    frame = frame[frame["count"] > 0].reset_index(drop=True)
    return frame, truth, hol, days


def score(episodes: pd.DataFrame, truth: list[Planted], n_series: int, days: pd.DatetimeIndex):
    """Match alerts to planted shapes; returns per-shape rows and false-alert figures."""
    day_of = ((pd.to_datetime(episodes["detected_at"]) - days[0]).dt.days).to_numpy()
    series = episodes["series"].to_numpy()
    matched = np.zeros(len(episodes), dtype=bool)
    found = []
    for p in truth:
        hit = np.flatnonzero(
            (series == p.series) & (day_of >= p.onset) & (day_of <= p.end + MATCH_AFTER)
        )
        matched[hit] = True
        first = int(day_of[hit].min()) if len(hit) else None
        found.append((p, first))
    anomalous = {p.series for p in truth}
    counted = day_of >= COUNT_FROM
    false = ~matched & counted
    weeks = (len(days) - COUNT_FROM) / 7
    n_clean = n_series - len(anomalous)
    clean_false = false & ~np.isin(series, list(anomalous))
    figures = {
        "alerts": int(counted.sum()),
        "true_alerts": int((matched & counted).sum()),
        "false_alerts": int(false.sum()),
        "precision": float((matched & counted).sum() / max(counted.sum(), 1)),
        "false_per_week_scan": float(false.sum() / weeks),
        "false_per_week_per_1k_clean": float(clean_false.sum() / weeks / (n_clean / 1000)),
        "weeks": weeks,
        "n_clean": n_clean,
    }
    return found, figures


def shape_table(found) -> pd.DataFrame:
    rows = []
    for shape in SHAPES:
        part = [(p, f) for p, f in found if p.shape == shape]
        lead = np.array([f - p.onset for p, f in part if f is not None], dtype=float)
        vis = [(p, f) for p, f in part if p.meaningful is not None]
        lead_vis = np.array([f - p.meaningful for p, f in vis if f is not None], dtype=float)
        rows.append(
            {
                "shape": shape,
                "planted": len(part),
                "recall": np.mean([f is not None for _, f in part]) if part else np.nan,
                "median lead (days)": np.median(lead) if len(lead) else np.nan,
                "p90 lead": np.quantile(lead, 0.9) if len(lead) else np.nan,
                "<= 2 days of onset": np.mean(lead <= 2) if len(lead) else np.nan,
                "visible": len(vis),
                "recall (visible)": np.mean([f is not None for _, f in vis]) if vis else np.nan,
                "median lead from visible": np.median(lead_vis) if len(lead_vis) else np.nan,
                "<= 2 days of visible": np.mean(lead_vis <= 2) if len(lead_vis) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else np.nan


def volume_table(found) -> pd.DataFrame:
    table = {}
    for shape in SHAPES:
        table[shape] = {
            v: _share([f is not None for p, f in found if p.shape == shape and p.volume == v])
            for v in VOLUMES
        }
    out = pd.DataFrame(table)
    out.index = [f"{v:g}/day" for v in VOLUMES]
    return out


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, float(np.median(times))


def run_daily(args) -> dict:
    frame, truth, hol, days = make_daily(args.series, args.days, args.seed)
    kw = {"holidays": hol, "holiday_key": "region", "keys": ["region", "series"]}
    episodes, t_scan = timed(lambda: backtest_scan(frame, **kw), args.repeats)
    _, t_current = timed(lambda: scan_series(frame, **kw), args.repeats)
    _, t_groupby = timed(
        lambda: frame.groupby(["region", "series", "period"])["count"].sum(), max(3, args.repeats)
    )

    def pivot():
        codes = frame["series"].to_numpy()
        pos = (frame["period"] - days[0]).dt.days.to_numpy()
        return np.bincount(
            codes * len(days) + pos,
            weights=frame["count"].to_numpy(),
            minlength=args.series * len(days),
        )

    _, t_numpy = timed(pivot, max(3, args.repeats))
    found, figures = score(episodes, truth, args.series, days)
    out = {
        "frame_rows": len(frame),
        "shapes": shape_table(found),
        "volumes": volume_table(found),
        "figures": figures,
        "t_scan": t_scan,
        "t_current": t_current,
        "t_groupby": t_groupby,
        "t_numpy": t_numpy,
        "kinds": kind_table(episodes, truth, days),
    }
    # Sensitivity of the scan to the FDR level, and what each design choice buys.
    variants = {
        "fdr=0.001": {"fdr": 0.001},
        "fdr=0.01 (default)": {},
        "fdr=0.05": {"fdr": 0.05},
        "no holiday list": {"holidays": None, "holiday_key": None},
        "no robust refit": {"config": BaselineConfig(robust=False)},
        "no dispersion margin": {"config": BaselineConfig(dispersion_margin=0.0)},
        "level window 14 days": {"config": BaselineConfig(level_days=14)},
        "1-day test only": {"windows": ("1D",)},
    }
    rows = []
    for name, change in variants.items():
        if args.quick and name not in ("fdr=0.01 (default)", "no holiday list", "no robust refit"):
            continue
        t0 = time.perf_counter()
        eps = backtest_scan(frame, **{**kw, **change})
        elapsed = time.perf_counter() - t0
        f, fig = score(eps, truth, args.series, days)
        table = shape_table(f)
        rows.append(
            {
                "variant": name,
                **{f"recall {s}": r for s, r in zip(table["shape"], table["recall"], strict=True)},
                "median lead ramp": float(
                    table.loc[table["shape"] == "ramp", "median lead (days)"].iloc[0]
                ),
                "precision": fig["precision"],
                "false alerts/week (scan)": fig["false_per_week_scan"],
                "runtime (s)": elapsed,
            }
        )
    out["variants"] = pd.DataFrame(rows)
    out["single"] = run_single(frame, truth, hol, days, args)
    return out


def kind_table(
    episodes: pd.DataFrame, truth: list[Planted], days: pd.DatetimeIndex
) -> pd.DataFrame:
    """How the first matched alert of each planted shape was classified."""
    day_of = ((pd.to_datetime(episodes["detected_at"]) - days[0]).dt.days).to_numpy()
    rows = []
    for p in truth:
        hit = episodes[
            (episodes["series"] == p.series) & (day_of >= p.onset) & (day_of <= p.end + MATCH_AFTER)
        ]
        if len(hit):
            rows.append({"planted": p.shape, "reported": hit.iloc[0]["kind"]})
    if not rows:
        return pd.DataFrame()
    return pd.crosstab(pd.DataFrame(rows)["planted"], pd.DataFrame(rows)["reported"])


def run_single(frame, truth, hol, days, args) -> dict:
    """detect_spikes, one series at a time, at each sensitivity, on a sample of series."""
    anomalous = {p.series: p for p in truth}
    clean = [s for s in range(args.series) if s not in anomalous][: args.single]
    planted = list(anomalous.values())[: args.single]
    region = frame.drop_duplicates("series").set_index("series")["region"]
    by_series = dict(tuple(frame.groupby("series")))

    def run(s: int, sensitivity: str) -> pd.DataFrame:
        counts = by_series[s].set_index("period")["count"].reindex(days, fill_value=0)
        return detect_spikes(counts, holidays=hol[region[s]], sensitivity=sensitivity)

    rows, t_total, n_runs = [], 0.0, 0
    years = len(clean) * (len(days) - COUNT_FROM) / 365.25
    for sensitivity in ("low", "medium", "high"):
        t0 = time.perf_counter()
        false = sum(
            int((run(s, sensitivity)["detected_at"] >= days[COUNT_FROM]).sum()) for s in clean
        )
        hits, leads = 0, []
        for p in planted:
            found = run(p.series, sensitivity)
            day = (pd.to_datetime(found["detected_at"]) - days[0]).dt.days
            ok = day[(day >= p.onset) & (day <= p.end + MATCH_AFTER)]
            hits += len(ok) > 0
            if len(ok):
                leads.append(int(ok.min()) - p.onset)
        t_total += time.perf_counter() - t0
        n_runs += len(clean) + len(planted)
        rows.append(
            {
                "sensitivity": sensitivity,
                "false windows per series-year": false / years,
                "recall (all shapes)": hits / max(len(planted), 1),
                "median lead (days)": float(np.median(leads)) if leads else np.nan,
            }
        )
    return {
        "table": pd.DataFrame(rows),
        "clean": len(clean),
        "planted": len(planted),
        "ms_per_series": 1000 * t_total / max(n_runs, 1),
    }


def run_hourly(args) -> dict:
    rng = np.random.default_rng(args.seed + 1)
    n, n_days = args.hourly_series, 84
    idx = pd.date_range(START, periods=n_days * 24, freq="1h")
    volume = np.array([24.0, 240.0, 2400.0])[np.arange(n) % 3]
    peak = rng.uniform(12, 18, n)
    hours = np.arange(24)
    profile = np.exp(-0.5 * ((hours[None, :] - peak[:, None]) / 3.5) ** 2) + 0.15
    profile /= profile.sum(axis=1, keepdims=True)
    week = np.array([1.2, 1.05, 1.0, 1.0, 0.95, 0.7, 0.6])
    rate = volume[:, None] * week[idx.day_of_week][None, :] * profile[:, idx.hour]
    truth = []
    for k, s in enumerate(rng.permutation(n)[: n // 3]):
        shape = ("spike", "level_shift")[k % 2]
        onset = int(rng.integers(40 * 24, (n_days - 7) * 24))
        if shape == "spike":
            onset = onset - onset % 24 + int(rng.integers(9, 20))
            span = np.arange(onset, onset + 3)
            rate[s, span] += np.maximum(2.0 * rate[s, span], 4)
            end = onset + 2
        else:
            rate[s, onset:] *= 1.8
            end = onset + 28 * 24  # the baseline takes weeks to adopt a new level
        truth.append((s, shape, volume[s], onset, end))
    counts = rng.poisson(rate * rng.gamma(50, 1 / 50, rate.shape))
    frame = pd.DataFrame(
        {
            "series": np.repeat(np.arange(n), len(idx)),
            "period": np.tile(idx, n),
            "count": counts.ravel(),
        }
    )
    frame = frame[frame["count"] > 0]
    t0 = time.perf_counter()
    episodes = backtest_scan(frame, keys=["series"])
    elapsed = time.perf_counter() - t0
    hour_of = ((pd.to_datetime(episodes["detected_at"]) - idx[0]) // pd.Timedelta("1h")).to_numpy()
    ser = episodes["series"].to_numpy()
    matched = np.zeros(len(episodes), dtype=bool)
    rows = []
    for s, shape, vol, onset, end in truth:
        hit = np.flatnonzero((ser == s) & (hour_of >= onset) & (hour_of <= end + 24))
        matched[hit] = True
        rows.append(
            {
                "shape": shape,
                "volume": vol,
                "found": len(hit) > 0,
                "lead_h": hour_of[hit].min() - onset if len(hit) else np.nan,
            }
        )
    found = pd.DataFrame(rows)
    counted = hour_of >= COUNT_FROM * 24 // 3  # ~3 weeks of warm-up
    weeks = (len(idx) - COUNT_FROM * 24 // 3) / (24 * 7)
    clean = set(range(n)) - {t[0] for t in truth}
    false = (~matched) & counted
    table = (
        found.groupby(["shape", "volume"])
        .agg(
            planted=("found", "size"),
            recall=("found", "mean"),
            median_lead_hours=("lead_h", "median"),
        )
        .reset_index()
    )
    return {
        "table": table,
        "false_per_week_scan": float(false.sum() / weeks),
        "false_per_week_per_1k_clean": float(
            (false & np.isin(ser, list(clean))).sum() / weeks / (len(clean) / 1000)
        ),
        "precision": float((matched & counted).sum() / max(counted.sum(), 1)),
        "seconds": elapsed,
        "series": n,
    }


def _split(text: str) -> list[str]:
    return text.split()


WORDS = _split(
    "account video live stream report harassment comment spam follower creator payment "
    "refund appeal muted copyright music upload login password verify badge wallet gift "
    "coins ban shadowban reach views duet filter camera crash update notification message "
    "block scam fake giveaway link bio profile hacked recovery email phone code support "
    "agent review"
)
FOREIGN = _split(
    "cuenta bloqueada estafa apelación conta banida golpe recuperar akun diblokir "
    "penipuan pemulihan verifikasi"
)


def make_texts(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Case texts over 70 days with Zipf-distributed words and a hashtag planted late."""
    rng = np.random.default_rng(seed)
    vocab = np.array(WORDS + FOREIGN + [f"w{i}" for i in range(3000)])
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    lengths = rng.integers(8, 30, n)
    flat = rng.choice(vocab, lengths.sum(), p=weights)
    cuts = np.cumsum(lengths)[:-1]
    texts = np.array([" ".join(words) for words in np.split(flat, cuts)], dtype=object)
    created = START + pd.to_timedelta(rng.uniform(0, 70, n), unit="D")
    region = rng.choice(list(COUNTRY), n)
    late = np.asarray(created > START + pd.Timedelta(days=66))
    planted = late & (region == "LATAM") & (rng.random(n) < 0.1)
    texts[planted] = texts[planted] + " #SalvaMiCuenta Garena Free Fire v35.1"
    return pd.DataFrame({"created_at": created, "text": texts, "region": region}), planted


def run_terms(args) -> pd.DataFrame:
    from sklearn.feature_extraction.text import CountVectorizer

    rows = []
    for n in args.text_sizes:
        cases, planted = make_texts(n, args.seed + 2)
        t0 = time.perf_counter()
        found = emerging_terms(cases)
        t_terms = time.perf_counter() - t0
        t0 = time.perf_counter()
        CountVectorizer(binary=True, min_df=5).fit_transform(cases["text"])
        t_cv = time.perf_counter() - t0
        terms = set(found["term"])
        planted_found = {"#salvamicuenta", "Garena Free Fire", "v35.1"} <= terms
        rows.append(
            {
                "texts": n,
                "emerging_terms (s)": t_terms,
                "texts/s": n / t_terms,
                "CountVectorizer unigrams (s)": t_cv,
                "ratio": t_terms / t_cv,
                "planted (3 terms) found": planted_found,
                "other terms reported": len(
                    terms - {"#salvamicuenta", "Garena Free Fire", "v35.1"}
                ),
                "planted cases": int(planted.sum()),
            }
        )
    return pd.DataFrame(rows)


def fmt(df: pd.DataFrame, digits: int = 2) -> str:
    def cell(v):
        if isinstance(v, float | np.floating):
            return "n/a" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def report(args, daily, hourly, terms) -> str:
    fig = daily["figures"]
    vol = daily["volumes"].reset_index(names="volume")
    cmd = "bench/bench_trends_synthetic.py" + (" --quick" if args.quick else "")
    kinds = daily["kinds"].reset_index() if len(daily["kinds"]) else pd.DataFrame()
    single = daily["single"]
    return f"""# Trend detection on synthetic series

Reproduce: `.venv/bin/python {cmd}` (seed {args.seed}; every number below except the
timings is deterministic). Machine: {platform.machine()}, Python {platform.python_version()},
numpy {np.__version__}, pandas {pd.__version__}; shared 2-core box, so timings are medians
and reported as ratios to a plain baseline measured in the same run.

## Data

{args.series:,} daily series x {args.days} days ({daily["frame_rows"]:,} non-zero long rows), volumes
{", ".join(f"{v:g}" for v in VOLUMES)} cases/day (equal shares), random weekly profiles (Monday up
to +40 %, weekends 35-110 % of weekdays), a slow AR(1) random-walk drift (sd up to 2 % a day)
and a +-30 % trend over the period, Poisson or negative-binomial noise (alpha 0, 0.02 or
0.05), and the public holidays of each series' region (APAC=ID, EMEA=DE, LATAM=BR, NA=US,
from the `holidays` package) as dips to 30-60 %. A quarter of the series carry one planted
shape, starting on a random day after day 150: *spike* (1-2 days at 2.5-4x, at least +12
cases/day), *ramp* (linear over 10 days to 2.5-3.5x, at least +15/day, then two weeks
high), *level_shift* (permanent 1.8-2.5x, at least +8/day), *weekend_surge* (four
consecutive weekends at 2.5-3.5x, at least +10/day). The rest are clean.

## How it is measured

`backtest_scan` runs once over everything with its defaults (fdr 0.01, min_volume 10,
windows 1/3/7 days, holidays per region). Every period is judged only on earlier data and
alerts are merged per series into episodes; `detected_at` is when a daily run would first
have alerted. An episode is **true** if it is detected between the planted onset and
{MATCH_AFTER} days after the planted end (28 days after onset for level shifts), otherwise
**false** (including alerts on planted series outside that span). Counting starts on day
{COUNT_FROM}. *Lead* = detected_at - onset in days (0 = on the first anomalous day).
*Visible* = the first day on which the planted excess of that single day exceeds two noise
standard deviations (sqrt(mu + alpha mu^2)): "counts meaningfully above baseline"; shapes
that never get there (small multiples of sparse series) are excluded from the visible columns.

**False alerts per week** is false episodes / weeks ({fig["weeks"]:.0f} weeks counted). BH
per day bounds the chance of *any* alert on a day with no real anomaly by the fdr, i.e.
at most 0.07 a week at fdr 0.01 for the whole scan whatever its size, if the p-values are
calibrated; the measured figure shows how well they are.

## Results: daily scan, {args.series:,} series

{fmt(daily["shapes"])}

- Precision (true episodes / all episodes from day {COUNT_FROM}): **{fig["precision"]:.3f}**
  ({fig["true_alerts"]} true, {fig["false_alerts"]} false).
- False alerts per week for this whole scan: **{fig["false_per_week_scan"]:.2f}**; per 1,000
  clean series: **{fig["false_per_week_per_1k_clean"]:.2f}** ({fig["n_clean"]} clean series).

Recall by volume (share of planted shapes detected):

{fmt(vol)}

How the first alert of each detected shape was classified (`kind`):

{fmt(kinds) if len(kinds) else "(none)"}

### Runtime

| step | seconds |
|---|---|
| `backtest_scan` (all periods of all series, BH per day, episodes) | {daily["t_scan"]:.2f} |
| `scan_series` (alerts of the last 7 days; tests the last 5 weeks) | {daily["t_current"]:.2f} |
| pandas `groupby(["region", "series", "period"]).sum()` of the same long rows | {daily["t_groupby"]:.3f} |
| numpy `bincount` pivot of the same rows | {daily["t_numpy"]:.3f} |

Full backtest / groupby sum = **{daily["t_scan"] / daily["t_groupby"]:.0f}x**; / numpy pivot =
{daily["t_scan"] / daily["t_numpy"]:.0f}x; the current scan / groupby sum = {daily["t_current"] / daily["t_groupby"]:.0f}x.

### Variants (same data)

{fmt(daily["variants"])}

### One series at a time (`detect_spikes`)

{single["clean"]} clean and {single["planted"]} planted series of the same data, one call each
({single["ms_per_series"]:.0f} ms per series of {args.days} days); no correction across series.

{fmt(single["table"], 3)}

## Hourly scan

{hourly["series"]} hourly series x 12 weeks, 1 / 10 / 100 cases per hour on average, hour-of-day peak
between noon and 6 pm, weekly profile, slight overdispersion; a third carry a 3-hour surge
(3x, at least +4/hour) or a level shift (1.8x). Backtest in {hourly["seconds"]:.1f} s.

{fmt(hourly["table"])}

Precision {hourly["precision"]:.3f}; false alerts per week for the scan
{hourly["false_per_week_scan"]:.2f}, per 1,000 clean series {hourly["false_per_week_per_1k_clean"]:.2f}.

## Emerging terms

Synthetic case texts (8-29 Zipf-distributed words from ~3,000, a few Spanish/Portuguese/
Indonesian words) over 70 days in four regions; from day 66, 10 % of LATAM cases add
"#SalvaMiCuenta Garena Free Fire v35.1". `emerging_terms` with defaults (7-day recent vs
56-day baseline, min_df 5, BH 0.01, ratio >= 3), compared with a plain scikit-learn
`CountVectorizer(binary=True, min_df=5)` unigram fit over all texts:

{fmt(terms)}

## Reading the numbers

{reading(args, daily, hourly, terms)}

## What the detector cannot see (by design or measured)

- **Drops.** The test is one-sided (surges only); holiday dips never alert, but neither
  does a collapse in reports (an intake outage shows as nothing).
- **Small changes in noisy series.** A series whose daily counts wander by 20 % needs
  roughly a doubling for one day, or +50 % for several days, before it alerts: the
  variance is learnt from the series' own past (negative binomial with a robustly
  estimated overdispersion), which is what keeps false alerts near the bound.
- **Slow ramps are caught a few days in, not on day one.** Detection waits until the
  accumulated excess is ~4-5 standard deviations (BH over thousands of series asks for
  p ~ 1e-5..1e-6); see the ramp row and the visible-onset columns.
- **The first two to four weeks of a series** (and of a new series, which warms up from
  its first case) are never tested; new series are the job of `emerging_terms`.
- **Sparse series** alert on counts, not percentages: a 0.5/day series needs about 10
  cases in a day or two. Spikes that land on a listed holiday are compared with a
  normal day's forecast, so a surge that only restores normal volume is missed.
- **Level shifts are reported once and then learnt**: after ~2-4 weeks the new level is
  the baseline, so a sustained problem stops alerting (its episode row keeps the
  growth against the pre-shift baseline). A new weekly pattern is learnt within the
  season window (8-32 weeks depending on volume).
- **Calibration is only as good as the noise model.** Day-to-day correlation beyond
  what the 3- and 7-day residuals show, or a change of variance, makes p-values too small;
  the false-alert figures above are on synthetic data with drift and overdispersion, not
  on real history.
"""


def reading(args, daily: dict, hourly: dict, terms: pd.DataFrame) -> str:
    fig, shapes = daily["figures"], daily["shapes"].set_index("shape")
    ramp = shapes.loc["ramp"]
    fast = shapes.drop(index="ramp")
    single = daily["single"]["table"].set_index("sensitivity")
    vol = daily["volumes"]
    weak = [
        f"{shape} at {level}: {vol.loc[level, shape]:.2f}"
        for shape in vol.columns
        for level in vol.index
        if vol.loc[level, shape] < 0.8
    ]
    big = terms.iloc[-1]
    lines = [
        f"- **False alerts**: {fig['false_per_week_scan']:.2f} a week for the whole "
        f"{args.series:,}-series scan (target: at most 1), "
        f"{fig['false_per_week_per_1k_clean']:.2f} a week per 1,000 clean series; precision "
        f"{fig['precision']:.2f}.",
        "- **Spikes, level shifts, weekend surges**: median lead "
        + ", ".join(f"{k} {v:.0f}" for k, v in fast["median lead (days)"].items())
        + " days; detected within 2 days of onset in "
        + ", ".join(f"{k} {v:.0%}" for k, v in fast["<= 2 days of onset"].items())
        + " of the detected cases.",
        f"- **Ramps**: recall {ramp['recall']:.2f}, median {ramp['median lead (days)']:.0f} days "
        f"from onset (p90 {ramp['p90 lead']:.0f}), {ramp['<= 2 days of onset']:.0%} within 2 days "
        f"of onset; counted from the first *visible* day the median is "
        f"{ramp['median lead from visible']:.0f} days and {ramp['<= 2 days of visible']:.0%} are "
        "within 2 days: the 2-day target holds for jumps, not reliably for ramps.",
        "- **Weak cells** (recall below 0.8): " + ("; ".join(weak) if weak else "none") + ".",
        f"- **Runtime**: the full walk-forward backtest costs "
        f"{daily['t_scan'] / daily['t_groupby']:.0f}x a pandas groupby-sum of the same rows "
        f"({daily['t_scan']:.1f} s for {args.series:,} series x {args.days} days).",
        "- **One series at a time** (`detect_spikes`): "
        + ", ".join(
            f"{name} {row['false windows per series-year']:.3f} false windows per series-year "
            f"(recall {row['recall (all shapes)']:.2f})"
            for name, row in single.iterrows()
        )
        + ".",
        f"- **Hourly**: precision {hourly['precision']:.2f}, "
        f"{hourly['false_per_week_scan']:.2f} false alerts a week for the scan; the sparse "
        "hourly series (1 case/hour) are the weak spot.",
        f"- **Emerging terms**: {big['texts/s']:,.0f} texts/s at {int(big['texts']):,} texts "
        f"({big['emerging_terms (s)']:.0f} s; {big['ratio']:.1f}x a plain unigram "
        "CountVectorizer); the planted hashtag, name and version were found at "
        + ("every size" if terms["planted (3 terms) found"].all() else "NOT every size")
        + f"; other terms reported: {', '.join(map(str, terms['other terms reported']))}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small run (~1 minute)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="Markdown report to write")
    args = parser.parse_args()
    if args.out is None:  # a quick run must not overwrite the published full figures
        args.out = ROOT / (
            "bench/out/trends_synthetic_quick.md"
            if args.quick
            else "docs/benchmarks/trends_synthetic.md"
        )
    args.series = 300 if args.quick else 2000
    args.days = 550
    args.repeats = 1 if args.quick else 3
    args.single = 30 if args.quick else 200
    args.hourly_series = 30 if args.quick else 150
    args.text_sizes = (20_000,) if args.quick else (50_000, 200_000, 1_000_000)
    t0 = time.perf_counter()
    daily = run_daily(args)
    print(f"daily done in {time.perf_counter() - t0:.0f} s", flush=True)
    hourly = run_hourly(args)
    print(f"hourly done in {time.perf_counter() - t0:.0f} s", flush=True)
    terms = run_terms(args)
    print(f"terms done in {time.perf_counter() - t0:.0f} s", flush=True)
    text = report(args, daily, hourly, terms)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
