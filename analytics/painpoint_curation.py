"""Pain points as people see them: stored clusters with renames and merges applied.

Curation (renames, merges) is stored as events in ``pp_curation`` keyed by the stable
pain-point ids, and applied on every read, so it survives refits (see
:mod:`analytics.painpoints`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.errors import WorkflowError

UNASSIGNED = -1


def _curation(cur) -> tuple[dict[int, str], dict[int, int]]:
    renames: dict[int, str] = {}
    merges: dict[int, int] = {}
    for pid, action, value in cur.execute(
        "SELECT pain_point, action, value FROM pp_curation ORDER BY logged_at, rowid"
    ).fetchall():
        if action == "rename":
            renames[int(pid)] = value
        elif action == "merge":
            merges[int(pid)] = int(value)
        elif action == "unmerge":
            merges.pop(int(pid), None)
    return renames, merges


def _resolve(pid: int, merges: dict[int, int]) -> int:
    seen = set()
    while pid in merges and pid not in seen:
        seen.add(pid)
        pid = merges[pid]
    return pid


def pain_points(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current pain points after curation: pain_point, name, auto_name, top_terms, size (cases
    assigned, merges included), representative_case_ids, born_fit, merged_from (ids)."""
    cur = con.cursor()
    df = cur.execute(
        """SELECT pain_point, auto_name, top_terms, representative_case_ids, born_fit
           FROM pain_points WHERE status = 'active'"""
    ).df()
    if df.empty:
        return df.assign(name=[], size=[], merged_from=[])
    renames, merges = _curation(cur)
    df["target"] = [_resolve(int(p), merges) for p in df["pain_point"]]
    merged_from = (
        df[df["target"] != df["pain_point"]].groupby("target")["pain_point"].apply(list).to_dict()
    )
    df = df[df["target"] == df["pain_point"]].copy()
    sizes = assignments(con)["pain_point"].value_counts().to_dict()
    df["size"] = [int(sizes.get(int(p), 0)) for p in df["pain_point"]]
    df["name"] = [
        renames.get(int(p), a) for p, a in zip(df["pain_point"], df["auto_name"], strict=True)
    ]
    df["merged_from"] = [merged_from.get(int(p), []) for p in df["pain_point"]]
    df["top_terms"] = [json.loads(t) for t in df["top_terms"]]
    df["representative_case_ids"] = [json.loads(r) for r in df["representative_case_ids"]]
    df = df.drop(columns="target").sort_values("size", ascending=False)
    return df.reset_index(drop=True)


def assignments(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per case: case_id, pain_point (-1 = unassigned), name (curated)."""
    cur = con.cursor()
    df = cur.execute("SELECT case_id, pain_point FROM pain_point_assignments").df()
    if df.empty:
        return df.assign(name=pd.Series(dtype=object))
    renames, merges = _curation(cur)
    names = dict(cur.execute("SELECT pain_point, auto_name FROM pain_points").fetchall())
    if merges:
        df["pain_point"] = [_resolve(int(p), merges) for p in df["pain_point"]]
    df["name"] = [
        renames.get(int(p), names.get(int(p))) if p != UNASSIGNED else "(unassigned)"
        for p in df["pain_point"]
    ]
    return df


def fitted(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The last fit: fit_id, fitted_at, representation, n_cases, n_clusters, unassigned,
    seconds, user_name, granularity."""
    row = (
        con.cursor()
        .execute(
            "SELECT fit_id, fitted_at, representation, n_cases, n_clusters, unassigned, seconds, "
            "user_name, json_extract_string(params, '$.granularity') "
            "FROM pp_fits ORDER BY fit_id DESC LIMIT 1"
        )
        .fetchone()
    )
    if row is None:
        return None
    keys = (
        "fit_id",
        "fitted_at",
        "representation",
        "n_cases",
        "n_clusters",
        "unassigned",
        "seconds",
        "user_name",
        "granularity",
    )
    return dict(zip(keys, row, strict=True))


def lineage_of(con: duckdb.DuckDBPyConnection, pain_point: int) -> pd.DataFrame:
    """Lineage events that involve a pain point, oldest first."""
    return (
        con.cursor()
        .execute(
            """SELECT fit_id, kind, old_ids, new_ids, n_items, logged_at FROM pp_lineage
           WHERE list_contains(old_ids::INTEGER[], ?) OR list_contains(new_ids::INTEGER[], ?)
           ORDER BY fit_id, kind""",
            [pain_point, pain_point],
        )
        .df()
    )


# --- Curation -----------------------------------------------------------------------------------
def rename(con: duckdb.DuckDBPyConnection, user: User, pain_point: int, name: str) -> None:
    """Give a pain point a name people understand; kept across refits."""
    require(user, "curate_pain_points")
    name = " ".join(name.split())
    if not name:
        raise WorkflowError("A pain point needs a name.")
    _check_exists(con, pain_point)
    _curate(con, user, pain_point, "rename", name[:120])


def merge(con: duckdb.DuckDBPyConnection, user: User, sources: list[int], into: int) -> None:
    """Merge pain points into another; kept across refits while the clusters exist."""
    require(user, "curate_pain_points")
    _check_exists(con, into)
    for s in sources:
        if s == into:
            continue
        _check_exists(con, s)
        _curate(con, user, s, "merge", str(into))


def unmerge(con: duckdb.DuckDBPyConnection, user: User, pain_point: int) -> None:
    require(user, "curate_pain_points")
    _curate(con, user, pain_point, "unmerge", "")


def _check_exists(con, pain_point: int) -> None:
    if (
        not con.cursor()
        .execute("SELECT count(*) FROM pain_points WHERE pain_point = ?", [pain_point])
        .fetchone()[0]
    ):
        raise WorkflowError(f"There is no pain point {pain_point}.")


def _curate(con, user: User, pain_point: int, action: str, value: str) -> None:
    con.cursor().execute(
        "INSERT INTO pp_curation VALUES (?, ?, ?, ?, ?)",
        [pain_point, action, value, user.name, datetime.now(UTC).replace(tzinfo=None)],
    )
    audit.record(con, user, f"painpoint_{action}", str(pain_point), value)


def curation_state(con: duckdb.DuckDBPyConnection) -> tuple[dict[int, str], dict[int, int]]:
    """(renames, merges) as people recorded them: id -> name, merged id -> target id."""
    return _curation(con.cursor())


def members(con: duckdb.DuckDBPyConnection, pain_point: int) -> list[int]:
    """The stored cluster ids that make up a (possibly merged) pain point."""
    _renames, merges = _curation(con.cursor())
    ids = (
        con.cursor()
        .execute("SELECT pain_point FROM pain_points WHERE status = 'active'")
        .fetchall()
    )
    return [int(p) for (p,) in ids if _resolve(int(p), merges) == pain_point]


def centroids(con: duckdb.DuckDBPyConnection) -> dict[int, np.ndarray]:
    """Centroid of every active stored cluster."""
    rows = (
        con.cursor()
        .execute("SELECT pain_point, centroid FROM pain_points WHERE status = 'active'")
        .fetchall()
    )
    return {int(p): np.asarray(c, dtype=np.float32) for p, c in rows}


def state_version(con: duckdb.DuckDBPyConnection) -> str:
    """Changes after a fit, a curation (rename, merge) or new assignments: a cache key."""
    cur = con.cursor()
    fit = cur.execute("SELECT coalesce(max(fit_id), 0) FROM pp_fits").fetchone()[0]
    curated = cur.execute("SELECT count(*) FROM pp_curation").fetchone()[0]
    assigned = cur.execute("SELECT count(*) FROM pain_point_assignments").fetchone()[0]
    return f"{fit}-{curated}-{assigned}"
