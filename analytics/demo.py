"""A realistic, deterministic demo escalation history with planted, known scenarios.

``generate(rows, seed)`` returns the cases, the ground truth per case and a
manifest describing six planted scenarios (see :data:`SCENARIOS`). Everything is
derived from the seed, so tests and benchmarks can check what the analytics
find against what was planted. ``load_demo`` writes a history into a store
through the regular importer, so demo data takes the same path as a real export.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics import demo_text
from analytics.config import sla_hours_for
from analytics.demo_text import TOPIC_BY_KEY, TOPICS

DEFAULT_ROWS = 50_000
DEFAULT_END = date(2026, 11, 22)
DAYS = 548  # about 18 months

REGION_SHARE = {"APAC": 0.35, "EMEA": 0.30, "LATAM": 0.20, "NA": 0.15}
REGION_UTC_OFFSET = {"APAC": 7, "EMEA": 1, "LATAM": -3, "NA": -5}
COUNTRIES = {
    "APAC": (
        ("ID", 0.28),
        ("PH", 0.16),
        ("JP", 0.12),
        ("TH", 0.1),
        ("VN", 0.1),
        ("IN", 0.08),
        ("AU", 0.06),
        ("KR", 0.05),
        ("MY", 0.05),
    ),
    "EMEA": (
        ("GB", 0.2),
        ("DE", 0.18),
        ("FR", 0.14),
        ("ES", 0.1),
        ("IT", 0.1),
        ("NL", 0.06),
        ("PL", 0.06),
        ("TR", 0.06),
        ("SA", 0.04),
        ("NG", 0.03),
        ("ZA", 0.03),
    ),
    "LATAM": (("BR", 0.45), ("MX", 0.25), ("AR", 0.1), ("CO", 0.1), ("CL", 0.05), ("PE", 0.05)),
    "NA": (("US", 0.85), ("CA", 0.15)),
}
LANGUAGE_BY_COUNTRY = {
    "ID": "id",
    "BR": "pt",
    "MX": "es",
    "AR": "es",
    "CO": "es",
    "CL": "es",
    "PE": "es",
    "ES": "es",
}
#: Country whose public holidays shape each region's load.
HOLIDAY_COUNTRIES = {"APAC": ("ID",), "EMEA": ("GB", "DE"), "LATAM": ("BR",), "NA": ("US",)}
#: Topics that concentrate in a region (others follow REGION_SHARE).
TOPIC_REGIONS = {
    "dsa_notice": {"EMEA": 1.0},
    "data_request": {"EMEA": 0.8, "NA": 0.1, "APAC": 0.1},
    "law_enforcement": {"NA": 0.5, "EMEA": 0.3, "APAC": 0.1, "LATAM": 0.1},
    "viral_challenge": {"LATAM": 1.0},
}
WEEKDAY_FACTOR = np.array([1.12, 1.06, 1.0, 1.0, 0.96, 0.74, 0.7])
HOUR_WEIGHTS = np.array(
    [
        2,
        1.2,
        0.8,
        0.6,
        0.6,
        0.8,
        1.5,
        2.5,
        3.5,
        4.2,
        4.6,
        4.8,
        5.0,
        5.0,
        5.0,
        5.1,
        5.3,
        5.6,
        6.0,
        6.3,
        6.2,
        5.4,
        4.2,
        3.0,
    ]
)

# Planted scenarios. Dates are fixed so the history is the same on every machine.
SCENARIOS = {
    "viral_challenge": {
        "title": "#RetoApagon: a dangerous viral challenge spreading in LATAM",
        "kind": "ramp",
        "onset": "2026-09-08",
        "peak": "2026-09-17",
        "end": "2026-10-10",
        "topic": "viral_challenge",
        "slice": {"region": "LATAM", "category": "Dangerous acts"},
        "terms": ["#retoapagon"],
        "peak_per_day": 45,
        "event_id": "EVT-2026-RETO",
    },
    "impersonation_wave": {
        "title": "Impersonation wave against APAC creators after handle editing shipped in 36.2.0",
        "kind": "level_shift",
        "onset": "2026-06-12",
        "peak": "2026-06-20",
        "end": "2026-07-10",
        "topic": "impersonation",
        "slice": {"region": "APAC", "product_surface": "profile", "app_version": "36.2.0"},
        "release": "2026-06-10",
        "fix": "2026-07-10",
        "app_version": "36.2.0",
        "linked_ticket": "PROD-3310",
        "peak_per_day": 28,
        "event_id": "EVT-2026-IMPERSONATION",
    },
    "dsa_holiday_sla": {
        "title": "Regulatory/DSA queue breaches its SLA over the Christmas holidays",
        "kind": "sla",
        "onset": "2025-12-20",
        "peak": "2025-12-27",
        "end": "2026-01-04",
        "slice": {"queue": "Regulatory/DSA"},
        "holiday": "Christmas 2025",
        "metric": "sla_breach_rate",
        "handling_factor": 6.0,
    },
    "grey_area_policy": {
        "title": "Public-figure satire: similar cases, different outcomes, frequent overturns",
        "kind": "sop",
        "topic": "satire_public_figures",
        "policy": "Public-figure satire",
        "share": 0.015,
    },
    "release_bug": {
        "title": "Report button broken in 37.1.0 (BUG-4821) until the fix",
        "kind": "spike",
        "onset": "2026-10-06",
        "peak": "2026-10-09",
        "end": "2026-10-20",
        "topic": "report_button_bug",
        "slice": {"category": "Product issue", "app_version": "37.1.0"},
        "release": "2026-10-05",
        "fix": "2026-10-20",
        "app_version": "37.1.0",
        "linked_ticket": "BUG-4821",
        "peak_per_day": 32,
        "event_id": "EVT-2026-REPORTBUG",
    },
    "steady_pain_point": {
        "title": "Appeals not answered: a large, steady pain point",
        "kind": "steady",
        "topic": "appeal_not_answered",
    },
}

# App releases: (version, release date). 36.2.0 and 37.1.0 are the planted ones.
RELEASES = [
    ("33.0.0", "2025-04-28"),
    ("33.1.0", "2025-05-19"),
    ("33.2.0", "2025-06-09"),
    ("33.3.0", "2025-06-30"),
    ("34.0.0", "2025-07-21"),
    ("34.1.0", "2025-08-11"),
    ("34.2.0", "2025-09-01"),
    ("34.3.0", "2025-09-22"),
    ("35.0.0", "2025-10-13"),
    ("35.1.0", "2025-11-03"),
    ("35.2.0", "2025-11-24"),
    ("35.3.0", "2025-12-15"),
    ("35.4.0", "2026-01-12"),
    ("36.0.0", "2026-02-02"),
    ("36.0.1", "2026-02-23"),
    ("36.1.0", "2026-03-16"),
    ("36.1.1", "2026-04-06"),
    ("36.1.2", "2026-04-27"),
    ("36.1.3", "2026-05-18"),
    ("36.2.0", "2026-06-10"),
    ("36.3.0", "2026-07-13"),
    ("36.4.0", "2026-08-03"),
    ("36.5.0", "2026-08-24"),
    ("37.0.0", "2026-09-14"),
    ("37.1.0", "2026-10-05"),
    ("37.1.1", "2026-10-20"),
    ("37.2.0", "2026-11-09"),
]

EVENTS = [
    {
        "event_id": "REL-36.2.0",
        "title": "App release 36.2.0: creators can edit their handle",
        "kind": "release",
        "starts_at": "2026-06-10",
    },
    {
        "event_id": "FIX-PROD-3310",
        "title": "Handle-change verification added (PROD-3310)",
        "kind": "fix",
        "starts_at": "2026-07-10",
    },
    {
        "event_id": "REL-37.1.0",
        "title": "App release 37.1.0: new reporting flow",
        "kind": "release",
        "starts_at": "2026-10-05",
    },
    {
        "event_id": "FIX-BUG-4821",
        "title": "37.1.1 fixes the report button (BUG-4821)",
        "kind": "fix",
        "starts_at": "2026-10-20",
    },
    {
        "event_id": "EVT-2026-RETO",
        "title": "#RetoApagon challenge in LATAM",
        "kind": "major_event",
        "starts_at": "2026-09-08",
        "ends_at": "2026-10-10",
    },
]


@dataclass(frozen=True)
class DemoHistory:
    """Generated cases (export-shaped), per-case truth, and the scenario manifest."""

    cases: pd.DataFrame
    truth: pd.DataFrame  # case_id, topic, scenario
    manifest: dict


def _holiday_days(start: date, end: date) -> dict[str, set[date]]:
    import holidays

    years = list(range(start.year, end.year + 1))
    out: dict[str, set[date]] = {}
    for region, countries in HOLIDAY_COUNTRIES.items():
        days: set[date] = set()
        for c in countries:
            days |= set(holidays.country_holidays(c, years=years).keys())
        out[region] = days
    return out


def _scenario_curve(days: pd.DatetimeIndex, spec: dict, scale: float) -> np.ndarray:
    """Expected cases per day for a planted scenario (ramp / level shift / spike shapes)."""
    onset, peak, end = (pd.Timestamp(spec[k]) for k in ("onset", "peak", "end"))
    d = days.values.astype("datetime64[D]")
    x = np.zeros(len(days))
    top = spec["peak_per_day"] * scale
    t_on, t_peak, t_end = (np.datetime64(v.date()) for v in (onset, peak, end))
    rising = (d >= t_on) & (d < t_peak)
    span = max((t_peak - t_on).astype(int), 1)
    x[rising] = top * ((d[rising] - t_on).astype(int) + 1) / (span + 1)
    plateau = (d >= t_peak) & (d < t_end)
    x[plateau] = top
    if spec["kind"] == "ramp":  # a viral trend fades slowly after its peak
        after = d >= t_peak + np.timedelta64(6, "D")
        x[after] = top * np.exp(-((d[after] - (t_peak + np.timedelta64(6, "D"))).astype(int)) / 6.0)
    else:  # a bug or a product gap stops when it is fixed
        x[d >= t_end] = 0.0
    return x


def generate(rows: int = DEFAULT_ROWS, seed: int = 7, end: date = DEFAULT_END) -> DemoHistory:
    """Generate a demo history of about ``rows`` cases ending on ``end``."""
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=DAYS - 1)
    days = pd.date_range(start, end, freq="D")
    n_days = len(days)
    scale = rows / DEFAULT_ROWS
    holidays_by_region = _holiday_days(start, end)

    # Scenario volumes first; the background gets the rest of the rows.
    scenario_days: dict[str, np.ndarray] = {}
    for key in ("viral_challenge", "impersonation_wave", "release_bug"):
        expected = _scenario_curve(days, SCENARIOS[key], scale)
        scenario_days[key] = rng.poisson(expected)
    n_scenario = int(sum(v.sum() for v in scenario_days.values()))
    n_background = max(rows - n_scenario, 0)

    # Background: day x region expected load with weekly seasonality, growth and holiday dips.
    regions = list(REGION_SHARE)
    weekday = days.dayofweek.values
    growth = 1.0 + 0.25 * np.arange(n_days) / n_days
    weights = np.zeros((n_days, len(regions)))
    for j, region in enumerate(regions):
        hol = np.array([d.date() in holidays_by_region[region] for d in days])
        weights[:, j] = (
            REGION_SHARE[region] * WEEKDAY_FACTOR[weekday] * growth * np.where(hol, 0.6, 1.0)
        )
    cell = rng.choice(weights.size, size=n_background, p=(weights / weights.sum()).ravel())
    bg_day, bg_region_idx = np.divmod(cell, len(regions))
    bg_region = np.array(regions)[bg_region_idx]

    # Background topics by share; region-concentrated topics override the region.
    bg_topics = [t for t in TOPICS if t.share > 0]
    shares = np.array([t.share for t in bg_topics])
    grey = SCENARIOS["grey_area_policy"]
    bg_topics.append(TOPIC_BY_KEY[grey["topic"]])
    shares = np.append(shares, grey["share"])
    topic_idx = rng.choice(len(bg_topics), size=n_background, p=shares / shares.sum())
    topic_key = np.array([t.key for t in bg_topics])[topic_idx]
    for key, region_p in TOPIC_REGIONS.items():
        mask = topic_key == key
        if mask.any():
            bg_region[mask] = rng.choice(list(region_p), size=mask.sum(), p=list(region_p.values()))

    # Scenario cases.
    parts_day, parts_region, parts_topic, parts_scn = (
        [bg_day],
        [bg_region],
        [topic_key],
        [np.full(n_background, "", dtype=object)],
    )
    for key, per_day in scenario_days.items():
        spec = SCENARIOS[key]
        d = np.repeat(np.arange(n_days), per_day)
        n = len(d)
        if key == "viral_challenge":
            reg = np.full(n, "LATAM", dtype=object)
        elif key == "impersonation_wave":
            reg = np.full(n, "APAC", dtype=object)
        else:
            reg = rng.choice(regions, size=n, p=list(REGION_SHARE.values())).astype(object)
        parts_day.append(d)
        parts_region.append(reg)
        parts_topic.append(np.full(n, spec["topic"], dtype=object))
        parts_scn.append(np.full(n, key, dtype=object))
    day_i = np.concatenate(parts_day)
    region = np.concatenate(parts_region).astype(object)
    topic = np.concatenate(parts_topic).astype(object)
    scenario = np.concatenate(parts_scn).astype(object)
    scenario[(topic == grey["topic"])] = "grey_area_policy"
    scenario[(topic == "appeal_not_answered")] = "steady_pain_point"
    n = len(day_i)

    frame = _attributes(rng, days, day_i, region, topic, scenario, holidays_by_region, end)
    order = np.argsort(frame["created_at"].values, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "case_id", [f"ESC-{i + 1:07d}" for i in range(n)])
    truth = pd.DataFrame(
        {
            "case_id": frame["case_id"],
            "topic": frame.pop("_topic"),
            "scenario": frame.pop("_scenario").replace("", None),
        }
    )
    manifest = _manifest(rows, seed, start, end, truth, frame)
    return DemoHistory(frame, truth, manifest)


def _app_version(rng: np.random.Generator, created: pd.Series) -> np.ndarray:
    """Versions users run on a date: mostly the latest release, some on older ones."""
    rel_dates = np.array([np.datetime64(d) for _, d in RELEASES])
    versions = np.array([v for v, _ in RELEASES])
    latest = np.searchsorted(rel_dates, created.values.astype("datetime64[D]"), side="right") - 1
    lag = rng.choice([0, 1, 2, 3], size=len(created), p=[0.6, 0.25, 0.1, 0.05])
    return versions[np.clip(latest - lag, 0, len(versions) - 1)]


def _attributes(rng, days, day_i, region, topic, scenario, holidays_by_region, end) -> pd.DataFrame:
    n = len(day_i)
    # Time of day: a local-time diurnal curve, shifted to UTC per region.
    hour_local = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    offset = np.array([REGION_UTC_OFFSET[r] for r in region])
    seconds = rng.integers(0, 3600, size=n)
    created = (
        days.values[day_i]
        + (hour_local - offset).astype("timedelta64[h]")
        + seconds.astype("timedelta64[s]")
    )
    created = pd.Series(created).dt.floor("s")

    country = np.empty(n, dtype=object)
    for r, options in COUNTRIES.items():
        mask = region == r
        codes, p = zip(*options, strict=True)
        country[mask] = rng.choice(codes, size=mask.sum(), p=np.array(p) / sum(p))
    scenario_challenge = scenario == "viral_challenge"
    country[scenario_challenge] = rng.choice(
        ["BR", "MX", "AR", "CO"], size=scenario_challenge.sum(), p=[0.45, 0.3, 0.15, 0.1]
    )
    language = np.array([LANGUAGE_BY_COUNTRY.get(c, "en") for c in country], dtype=object)
    english = rng.random(n) < 0.15
    language[english & (language != "en")] = "en"

    topics = [TOPIC_BY_KEY[k] for k in topic]
    queue = np.array([t.queue for t in topics], dtype=object)
    category = np.array([t.category for t in topics], dtype=object)
    policy = np.array([t.policy for t in topics], dtype=object)
    surface = np.array(
        [
            t.surfaces[i % len(t.surfaces)]
            for t, i in zip(topics, rng.integers(0, 99, n), strict=True)
        ],
        dtype=object,
    )
    channel = np.array(
        [
            t.channels[i % len(t.channels)]
            for t, i in zip(topics, rng.integers(0, 99, n), strict=True)
        ],
        dtype=object,
    )
    prio_u = rng.random(n)
    priority = np.array(
        [
            ["low", "normal", "high", "urgent"][int(np.searchsorted(np.cumsum(t.priority), u))]
            if u < sum(t.priority)
            else "urgent"
            for t, u in zip(topics, prio_u, strict=True)
        ],
        dtype=object,
    )
    app_version = _app_version(rng, created)

    # Planted slices.
    imp = scenario == "impersonation_wave"
    surface[imp] = "profile"
    app_version[imp] = "36.2.0"
    bug = scenario == "release_bug"
    app_version[bug] = "37.1.0"
    surface[bug] = "in-app reporting"
    channel[bug] = rng.choice(["web form", "email", "social"], size=bug.sum(), p=[0.6, 0.3, 0.1])

    # Lifecycle: handling time depends on the topic, weekends, holidays and the DSA backlog.
    day_dates = days.date[day_i]
    weekend = days.dayofweek.values[day_i] >= 5
    holiday = np.array([d in holidays_by_region[r] for d, r in zip(day_dates, region, strict=True)])
    factor = np.where(weekend, 1.35, 1.0) * np.where(holiday, 2.0, 1.0)
    dsa = SCENARIOS["dsa_holiday_sla"]
    in_dsa = (
        (queue == "Regulatory/DSA")
        & (created >= pd.Timestamp(dsa["onset"])).values
        & (created < pd.Timestamp(dsa["end"]) + pd.Timedelta(days=1)).values
    )
    factor = factor * np.where(in_dsa, dsa["handling_factor"], 1.0)
    grey = scenario == "grey_area_policy"
    factor = factor * np.where(grey, 1.6, 1.0)
    # Median handling time sits well inside the SLA target (about 10% of cases breach on a
    # normal weekday); topics marked slow, weekends, holidays and the DSA backlog push it out.
    target_h = np.array([sla_hours_for(q, p) for q, p in zip(queue, priority, strict=True)])
    median_h = target_h / 3.0 * np.array([t.slowness for t in topics])
    resolve_h = median_h * factor * np.exp(rng.normal(0, 0.7, n))
    first_h = np.clip(median_h * 0.12, 0.2, 20) * factor * np.exp(rng.normal(0, 0.8, n))
    first_h = np.minimum(first_h, resolve_h * 0.9)
    end_ts = pd.Timestamp(end) + pd.Timedelta(days=1)
    first_response = created + pd.to_timedelta(first_h, unit="h")
    resolved = created + pd.to_timedelta(resolve_h, unit="h")
    first_response = first_response.dt.floor("s").where(first_response < end_ts)
    is_resolved = (resolved < end_ts).values
    resolved = resolved.dt.floor("s").where(is_resolved)

    reopen_p = np.array([t.reopen for t in topics])
    reopen_count = (rng.random(n) < reopen_p).astype(int) + (rng.random(n) < reopen_p / 5).astype(
        int
    )
    status = np.where(
        is_resolved,
        np.where(rng.random(n) < 0.6, "closed", "resolved"),
        np.where(rng.random(n) < 0.7, "open", "pending"),
    ).astype(object)
    status[is_resolved & (reopen_count > 0) & (created > end_ts - pd.Timedelta(days=10)).values] = (
        "reopened"
    )
    updated = pd.concat([created, first_response, resolved], axis=1).max(axis=1) + pd.to_timedelta(
        rng.integers(0, 7200, n), unit="s"
    )
    updated = updated.dt.floor("s").where(updated < end_ts, end_ts - pd.Timedelta(seconds=1))

    # Decisions: similar cases (same text template) get the same outcome on clear policies;
    # on the grey-area policy the outcome is a coin flip whatever the text says.
    body_idx = rng.integers(0, 10_000, n)
    noise = rng.random(n)
    outcome = np.empty(n, dtype=object)
    for i, t in enumerate(topics):
        names = [o for o, _ in t.outcomes]
        if t.key == "satire_public_figures":
            outcome[i] = names[int(noise[i] * len(names))]
        elif noise[i] < 0.92:
            template = body_idx[i] % len(_bodies(t, language[i]))
            outcome[i] = names[0] if template % 4 != 3 else names[min(1, len(names) - 1)]
        else:
            p = np.array([w for _, w in t.outcomes])
            outcome[i] = names[rng.choice(len(names), p=p / p.sum())]
    appealed = rng.random(n) < np.array([t.appeal for t in topics])
    over = rng.random(n) < np.array([t.overturn for t in topics])
    appeal_outcome = np.where(appealed, np.where(over, "overturned", "upheld"), None).astype(object)
    appeal_outcome[appealed & ~is_resolved] = "pending"
    qa = np.clip(np.where(grey, rng.normal(74, 10, n), rng.normal(90, 5, n)), 0, 100).round(0)
    qa = np.where(rng.random(n) < 0.3, qa, np.nan)
    csat = np.clip(
        np.round(
            4.4 - 0.35 * np.log1p(resolve_h / 24) - 0.6 * (status == "open") + rng.normal(0, 0.9, n)
        ),
        1,
        5,
    )
    csat = np.where(rng.random(n) < 0.35, csat, np.nan)
    sensitive = rng.random(n) < np.array([t.sensitive for t in topics])

    region_code = {"APAC": "ap", "EMEA": "em", "LATAM": "la", "NA": "na"}
    agent_id = np.array(
        [
            f"agt-{region_code[r]}-{k:03d}"
            for r, k in zip(region, rng.integers(1, 60, n), strict=True)
        ],
        dtype=object,
    )
    team = np.array([f"T&S {r}" for r in region], dtype=object)
    linked = np.where(
        rng.random(n) < 0.01, [f"BUG-{k}" for k in rng.integers(3000, 4800, n)], None
    ).astype(object)
    linked[bug] = "BUG-4821"
    linked[imp & (rng.random(n) < 0.6)] = "PROD-3310"
    event_id = np.full(n, None, dtype=object)
    for key in ("viral_challenge", "impersonation_wave", "release_bug"):
        spec = SCENARIOS[key]
        tagged = (scenario == key) & (
            created >= pd.Timestamp(spec["onset"]) + pd.Timedelta(days=3)
        ).values
        event_id[tagged & (rng.random(n) < 0.8)] = spec["event_id"]

    subject, description, notes, tags = _texts(
        rng, topics, language, scenario, body_idx, app_version
    )
    resolution_notes = np.where(is_resolved, np.char.add("Closed: ", outcome.astype(str)), None)
    return pd.DataFrame(
        {
            "created_at": created,
            "status": status,
            "first_response_at": first_response,
            "resolved_at": resolved,
            "updated_at": updated,
            "reopen_count": reopen_count,
            "channel": channel,
            "region": region,
            "country": country,
            "language": language,
            "queue": queue,
            "priority": priority,
            "category": category,
            "policy": policy,
            "product_surface": surface,
            "app_version": app_version,
            "subject": subject,
            "description": description,
            "agent_notes": notes,
            "resolution_notes": resolution_notes,
            "tags": tags,
            "outcome": outcome,
            "appeal_outcome": appeal_outcome,
            "qa_score": qa,
            "csat": csat,
            "agent_id": agent_id,
            "team": team,
            "linked_ticket": linked,
            "event_id": event_id,
            "sensitive": sensitive,
            "_topic": topic,
            "_scenario": scenario,
            "reporter_type": np.array([t.reporter for t in topics], dtype=object),
        }
    )


def _bodies(t, lang: str) -> tuple[str, ...]:
    return t.bodies.get(lang) or t.bodies["en" if "en" in t.bodies else next(iter(t.bodies))]


def _texts(rng, topics, language, scenario, body_idx, app_version):
    n = len(topics)
    subjects, bodies, notes, tags = [], [], [], []
    pick = rng.integers(0, 10_000, size=(n, 8))
    filler_en = (
        "I reported this before.",
        "My friends are reporting it too.",
        "This is really affecting me.",
        "Please look into it.",
        "It started last week.",
    )
    for i, t in enumerate(topics):
        lang = language[i]
        subj_opts = (
            t.subjects.get(lang)
            or t.subjects["en" if "en" in t.subjects else next(iter(t.subjects))]
        )
        body_opts = _bodies(t, lang)
        if lang not in t.bodies:
            lang = "en" if "en" in t.bodies else next(iter(t.bodies))
        k = pick[i]
        name = demo_text.FIRST_NAMES[k[0] % len(demo_text.FIRST_NAMES)]
        handle = f"@{name.lower()}{k[1] % 997}"
        email = f"{name.lower()}.{k[2] % 89}@example.com"
        phone = f"+{(k[3] % 89) + 10} {k[4] % 900 + 100} {k[5] % 9000 + 1000} {k[6] % 900 + 100}"
        body = body_opts[body_idx[i] % len(body_opts)]
        opener = demo_text.OPENERS[lang][k[0] % len(demo_text.OPENERS[lang])]
        closer = demo_text.CLOSERS[lang][k[2] % len(demo_text.CLOSERS[lang])]
        text = (opener + body + closer).format(
            handle=handle,
            email=email,
            phone=phone,
            name=name,
            days=(k[5] % 40) + 3,
            version=app_version[i],
        )
        if lang == "en" and k[6] % 5 == 0:
            text += " " + filler_en[k[4] % len(filler_en)]
        if k[3] % 10 == 0:
            text = text.lower()
        subjects.append(subj_opts[k[1] % len(subj_opts)])
        bodies.append(text)
        hesitant_p = 0.6 if t.key == "satire_public_figures" else 0.03
        pool = demo_text.AGENT_NOTES["hesitant" if rng.random() < hesitant_p else "clear"]
        notes.append(pool[k[4] % len(pool)])
        tag = [t.key.replace("_", "-")]
        if scenario[i] == "viral_challenge":
            tag.append("retoapagon")
        if t.queue == "High Risk":
            tag.append("high-risk")
        tags.append(", ".join(tag))
    return (
        np.array(subjects, dtype=object),
        np.array(bodies, dtype=object),
        np.array(notes, dtype=object),
        np.array(tags, dtype=object),
    )


def _manifest(rows, seed, start, end, truth: pd.DataFrame, frame: pd.DataFrame) -> dict:
    counts = truth["scenario"].value_counts().to_dict()
    scenarios = {}
    for key, spec in SCENARIOS.items():
        scenarios[key] = {**spec, "cases": int(counts.get(key, 0))}
    topic_counts = truth["topic"].value_counts().to_dict()
    return {
        "generator": "analytics.demo",
        "version": 1,
        "seed": seed,
        "rows": int(len(frame)),
        "requested_rows": rows,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "scenarios": scenarios,
        "topics": {
            t.key: {
                "name": t.name,
                "policy": t.policy,
                "category": t.category,
                "cases": int(topic_counts.get(t.key, 0)),
            }
            for t in TOPICS
        },
        "events": EVENTS,
    }


def write_export(history: DemoHistory, path: Path) -> Path:
    """Write the demo cases as a Parquet export the importer reads."""
    cases = history.cases.copy()
    for col in ("qa_score", "csat"):
        cases[col] = cases[col].astype("Float64")  # NaN would be written as NaN, not as missing
    cases.to_parquet(path, index=False)
    return path


def load_demo(
    con: duckdb.DuckDBPyConnection,
    rows: int = DEFAULT_ROWS,
    seed: int = 7,
    *,
    progress=None,
    user: str | None = None,
):
    """Generate a history and import it (marked as demo), with its truth, events and manifest."""
    from analytics.ingest import import_file
    from analytics.store import set_meta, transaction

    report = progress or (lambda stage, fraction: None)
    report("Generating the demo history", 0.02)
    history = generate(rows, seed)
    with tempfile.TemporaryDirectory(prefix="esc_demo_") as tmp:
        path = write_export(history, Path(tmp) / f"demo_{rows}_seed{seed}.parquet")
        result = import_file(
            con,
            path,
            preset="generic",
            is_demo=True,
            user=user or "demo",
            as_of=datetime.combine(DEFAULT_END + timedelta(days=1), datetime.min.time()),
            progress=lambda stage, f: report(stage, 0.1 + 0.85 * f),
        )
    cur = con.cursor()
    with transaction(cur):
        cur.execute("DELETE FROM demo_truth")
        cur.register("_truth", history.truth)
        cur.execute("INSERT INTO demo_truth SELECT case_id, topic, scenario FROM _truth")
        cur.unregister("_truth")
        for ev in EVENTS:
            cur.execute(
                """INSERT OR REPLACE INTO events (event_id, title, kind, starts_at, ends_at, created_by)
                   VALUES (?, ?, ?, ?, ?, 'demo')""",
                [ev["event_id"], ev["title"], ev["kind"], ev["starts_at"], ev.get("ends_at")],
            )
        set_meta(cur, "demo_manifest", json.dumps(history.manifest))
    cur.close()
    report("Demo history loaded", 1.0)
    return result, history.manifest


def stored_manifest(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The manifest of the demo history in this store, if it holds one."""
    from analytics.store import get_meta

    raw = get_meta(con.cursor(), "demo_manifest")
    return json.loads(raw) if raw else None
