"""The one cached connection, and cached data loaders that take every input as an argument.

Loaders receive ``db_path`` and ``version`` (a token that changes after each import),
so caches refresh by themselves when the data changes, and nothing is shared
between databases (tests open many).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics import cases, engine, metrics, store
from analytics.config import get_settings
from analytics.filters import Filters


def db_path() -> str:
    """The database file this app serves (``ESC_DB_PATH`` or the default)."""
    return str(get_settings().db_path)


@st.cache_resource(show_spinner=False)
def _connection(path: str):
    return store.connect(Path(path))


def connection():
    """The shared DuckDB connection for this database (query through ``con.cursor()``)."""
    return _connection(db_path())


def version() -> str:
    """Changes whenever an import or deletion changes the cases."""
    return engine.data_version(connection())  # on Spark, also the lake's files


def table():
    """An Ibis table of cases bound to a cursor for this script run."""
    return engine.cases_table(connection())


@st.cache_data(show_spinner=False, max_entries=64)
def load_info(path: str, ver: str) -> store.StoreInfo:
    return engine.describe(_connection(path))  # on Spark, cases counted in the lake


@st.cache_data(show_spinner=False, max_entries=64)
def load_bounds(path: str, ver: str):
    return metrics.date_bounds(engine.cases_table(_connection(path)))


@st.cache_data(show_spinner=False, max_entries=256)
def load_dimension_values(path: str, ver: str, column: str) -> list[str]:
    return metrics.dimension_values(engine.cases_table(_connection(path)), column)


@st.cache_data(show_spinner=False, max_entries=256)
def load_kpis(path: str, ver: str, f: Filters):
    return metrics.kpis(engine.cases_table(_connection(path)), f)


@st.cache_data(show_spinner=False, max_entries=256)
def load_trend(path: str, ver: str, f: Filters, by: str | None, freq: str):
    return metrics.volume_trend(engine.cases_table(_connection(path)), f, by, freq)


@st.cache_data(show_spinner=False, max_entries=128)
def load_heatmap(path: str, ver: str, f: Filters):
    return metrics.load_heatmap(engine.cases_table(_connection(path)), f)


@st.cache_data(show_spinner=False, max_entries=128)
def load_day_types(path: str, ver: str, f: Filters):
    return metrics.day_type_load(engine.cases_table(_connection(path)), f)


@st.cache_data(show_spinner=False, max_entries=128)
def load_movers(path: str, ver: str, f: Filters, dimension: str):
    return metrics.top_movers(engine.cases_table(_connection(path)), f, dimension)


@st.cache_data(show_spinner=False, max_entries=128)
def load_regulatory(path: str, ver: str, f: Filters):
    return metrics.regulatory_view(engine.cases_table(_connection(path)), f)


@st.cache_data(show_spinner=False, max_entries=128)
def load_case_list(path: str, ver: str, f: Filters, sort: str, limit: int):
    t = engine.cases_table(_connection(path))
    return cases.case_list(t, f, sort=sort, limit=limit), cases.case_count(t, f)


@st.cache_data(show_spinner=False, max_entries=64)
def load_events(path: str, ver: str, start, end):
    from analytics import events

    return events.events_between(_connection(path), start, end)
