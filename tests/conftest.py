"""Shared fixtures: small stores and exports built in code, seeded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "data" / "samples"
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def con():
    """A fresh in-memory store with the current schema."""
    from analytics.store import connect

    c = connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def db_path(tmp_path):
    """Path of a not-yet-created database file in a temporary folder."""
    return tmp_path / "store.duckdb"


@pytest.fixture
def write_csv(tmp_path):
    """Write text (str) or bytes to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding=encoding, newline="")
        return path

    return _write


@pytest.fixture(scope="session")
def small_demo():
    """A 6,000-case demo history (generated once per test session)."""
    from analytics.demo import generate

    return generate(rows=6_000, seed=11)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, small_demo):
    """A database file holding the 6,000-case demo history; tests must not modify it."""
    from analytics.demo import load_demo
    from analytics.store import connect

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    c = connect(path)
    load_demo(c, rows=6_000, seed=11)
    c.close()
    return path


@pytest.fixture
def app_env(monkeypatch):
    """Point the app at a database of the test's choosing, with fresh Streamlit caches."""
    import streamlit as st

    def use(db_file):
        monkeypatch.setenv("ESC_DB_PATH", str(db_file))
        st.cache_data.clear()
        st.cache_resource.clear()
        return db_file

    yield use
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def demo_copy(tmp_path, demo_db, app_env):
    """The app pointed at a private copy of the session's demo history."""
    import shutil

    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    return app_env(path)
