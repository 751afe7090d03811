"""Where analytical reads run: an Ibis table of cases on DuckDB (default) or Apache Spark.

Every analytical function in ``analytics`` takes an ``ibis.Table`` of cases, so the same
code runs on the local DuckDB store or on Spark. ``ESC_BACKEND`` chooses (see
:mod:`analytics.spark` and docs/SPARK.md); :func:`cases_table` returns the table of the
configured engine. App state (alerts, reviews, audit log, ...) always stays in the DuckDB
store: :func:`table` reads it there whatever the engine.

DuckDB connections refuse use from a second thread, and Streamlit runs each browser
session in its own thread: each DuckDB call here therefore opens an Ibis backend on a fresh
``con.cursor()`` (about 5 ms), never on the shared connection. The Spark table is built once
per process and shared (a SparkSession takes concurrent queries from many threads).
"""

from __future__ import annotations

from functools import lru_cache

import duckdb
import ibis
import ibis.expr.operations as ops
import pandas as pd

from analytics.config import get_settings


def backend(con: duckdb.DuckDBPyConnection):
    """An Ibis DuckDB backend on a new cursor of ``con`` (safe to use from this thread)."""
    return ibis.duckdb.from_connection(con.cursor())


@lru_cache(maxsize=8)
def _target(value: str):
    from analytics.spark import parse_backend

    return parse_backend(value)


def kind() -> str:
    """``"duckdb"`` or ``"spark"``: the engine ``ESC_BACKEND`` chooses."""
    value = get_settings().backend
    return "duckdb" if value == "duckdb" or _target(value) is None else "spark"


def cases_table(con: duckdb.DuckDBPyConnection) -> ibis.Table:
    """The cases as an Ibis expression on the configured engine.

    DuckDB: the store's ``cases`` table on a thread-local cursor of ``con``. Spark: the
    cached table of :func:`analytics.spark.cases_table` (``con`` is not used for it).
    """
    value = get_settings().backend
    if value == "duckdb":
        return backend(con).table("cases")
    target = _target(value)
    if target is None:
        return backend(con).table("cases")
    from analytics import spark

    t = spark.cases_table(target)
    _sync_assignments(con, target)
    return t


def _sync_assignments(con: duckdb.DuckDBPyConnection, target) -> None:
    """Pain-point assignments (kept in the store) as a Spark view, refreshed after a change."""
    from analytics import painpoints, spark

    try:
        version = painpoints.state_version(con)
    except duckdb.Error:  # a store from before the pain-point tables
        return

    def load():
        frame = con.cursor().execute("SELECT case_id, pain_point FROM pain_point_assignments").df()
        return frame, "case_id string, pain_point int"

    spark.sync_store_table(target, "pain_point_assignments", version, load)


def table(con: duckdb.DuckDBPyConnection, name: str) -> ibis.Table:
    """Any store table (events, alerts...) as an Ibis expression, always on DuckDB."""
    return backend(con).table(name)


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """A token that changes when the cases change: the store's imports and, on Spark, the
    source's files (new partitions written by a pipeline). Use it as the cache key."""
    from analytics.store import data_version as store_version

    version = store_version(con.cursor())
    value = get_settings().backend
    if value == "duckdb" or (target := _target(value)) is None:
        return version
    from analytics import spark

    return f"{version}|{spark.source_version(target)}"


def describe(con: duckdb.DuckDBPyConnection):
    """:func:`analytics.store.describe`, with the cases' count and dates read from the engine.

    On Spark the store may hold no cases at all (the history lives in the lake): the count
    and dates the pages check before querying must come from the engine.
    """
    from dataclasses import replace

    from analytics.store import describe as store_describe

    info = store_describe(con)
    if kind() == "duckdb":
        return info
    t = cases_table(con)
    row = t.aggregate(n=t.count(), first=t.created_at.min(), last=t.created_at.max()).execute()
    n, first, last = row.iloc[0]["n"], row.iloc[0]["first"], row.iloc[0]["last"]
    return replace(
        info,
        cases=int(n),
        first_case=None if pd.isna(first) else pd.Timestamp(first).to_pydatetime(),
        last_case=None if pd.isna(last) else pd.Timestamp(last).to_pydatetime(),
    )


def same_engine(data: ibis.Table | pd.DataFrame, cases: ibis.Table) -> ibis.Table:
    """``data`` as a table that can be joined with ``cases``.

    Results kept in the store (pain-point assignments, demo truth) live on DuckDB; on Spark
    they cannot be joined with the cases directly, so they travel as an in-memory table.
    """
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    # Ibis backends compare equal when they reach the same database (cursors of one store).
    sources = {t.source for t in data.op().find(ops.DatabaseTable)}
    targets = {t.source for t in cases.op().find(ops.DatabaseTable)}
    if not sources or sources <= targets:  # in memory already, or on the same engine
        return data
    return ibis.memtable(data.to_pyarrow())
