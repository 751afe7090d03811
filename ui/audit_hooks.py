"""Callbacks that write to the audit log from widgets (downloads, reveals)."""

from __future__ import annotations

from analytics import audit
from analytics.access import User
from ui import resources


def log_export(user: User | None, name: str, fmt: str, rows: int) -> None:
    audit.record(resources.connection(), user, "export", name, f"{rows} rows as {fmt}")


def log_reveal(user: User | None, case_id: str) -> None:
    audit.record(
        resources.connection(), user, "reveal", case_id, "personal data and sensitive text"
    )
