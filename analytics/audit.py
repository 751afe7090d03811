"""The audit log: who revealed, exported, imported or edited what, and when."""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.access import User, require


def record(
    con: duckdb.DuckDBPyConnection,
    user: User | None,
    action: str,
    target: str = "",
    detail: str = "",
) -> None:
    """Append one entry. Never raises for a full log; the entry is small."""
    who = user.name if user else "unknown"
    role = user.role if user else ""
    con.cursor().execute(
        "INSERT INTO audit_log (user_name, role, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        [who, role, action, target[:500], detail[:2000]],
    )


def audit_log(
    con: duckdb.DuckDBPyConnection, user: User, limit: int = 1000, action: str | None = None
) -> pd.DataFrame:
    """Latest entries first (admins only)."""
    require(user, "view_audit")
    sql = "SELECT audit_id, logged_at, user_name, role, action, target, detail FROM audit_log"
    params: list = []
    if action:
        sql += " WHERE action = ?"
        params.append(action)
    sql += " ORDER BY audit_id DESC LIMIT ?"
    params.append(limit)
    return con.cursor().execute(sql, params).df()
