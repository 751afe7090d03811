"""Where analytical reads run: an Ibis table of cases on DuckDB (default) or another engine.

Every analytical function in ``analytics`` takes an ``ibis.Table`` of cases, so
the same code runs on the local DuckDB store or, later, on a distributed
engine. :func:`cases_table` builds that table for a DuckDB connection.

DuckDB connections refuse use from a second thread, and Streamlit runs each
browser session in its own thread: each call here therefore opens an Ibis
backend on a fresh ``con.cursor()`` (about 5 ms), never on the shared connection.
"""

from __future__ import annotations

import duckdb
import ibis


def backend(con: duckdb.DuckDBPyConnection):
    """An Ibis DuckDB backend on a new cursor of ``con`` (safe to use from this thread)."""
    return ibis.duckdb.from_connection(con.cursor())


def cases_table(con: duckdb.DuckDBPyConnection) -> ibis.Table:
    """The ``cases`` table as an Ibis expression bound to a thread-local cursor."""
    return backend(con).table("cases")


def table(con: duckdb.DuckDBPyConnection, name: str) -> ibis.Table:
    """Any store table (events, alerts...) as an Ibis expression."""
    return backend(con).table(name)
