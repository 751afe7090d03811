"""ESC_BACKEND: parsing, and the DuckDB path staying what it was."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics import engine
from analytics.errors import EngineError
from analytics.spark import parse_backend, view_name


@pytest.mark.parametrize(
    ("value", "master", "remote", "source"),
    [
        ("spark-local[2]:/data/cases", "local[2]", None, "parquet:/data/cases"),
        ("spark-local", "local[*]", None, "table:cases"),
        ("spark-local[*]?cases=esc.cases", "local[*]", None, "table:esc.cases"),
        (
            "spark://head:7077:s3a://bucket/cases",
            "spark://head:7077",
            None,
            "parquet:s3a://bucket/cases",
        ),
        (
            "spark://head:7077?cases=lake.esc.cases",
            "spark://head:7077",
            None,
            "table:lake.esc.cases",
        ),
        ("sc://head:15002:delta:s3a://b/cases", None, "sc://head:15002", "delta:s3a://b/cases"),
        ("spark:table:cases", None, None, "table:cases"),
        ("spark-yarn:hdfs:///lake/cases", "yarn", None, "parquet:hdfs:///lake/cases"),
        ("spark-k8s://api:6443?cases=esc.cases", "k8s://https://api:6443", None, "table:esc.cases"),
    ],
)
def test_parse_backend(value, master, remote, source):
    target = parse_backend(value)
    assert (target.master, target.remote, target.source) == (master, remote, source)
    assert target.quantiles == "exact"


def test_parse_backend_options_and_errors(tmp_path):
    assert parse_backend("duckdb") is None and parse_backend("DuckDB") is None
    t = parse_backend(
        "spark-local[2]:rel/dir?quantiles=approx&accuracy=500&conf.spark.driver.memory=4g"
    )
    assert t.source.startswith("parquet:/") and t.source.endswith("/rel/dir")  # made absolute
    assert (t.quantiles, t.accuracy, t.conf) == ("approx", 500, (("spark.driver.memory", "4g"),))
    for bad, match in (
        ("postgres://x", "not understood"),
        ("spark-local?quantiles=fast", "quantiles"),
        ("spark-local?accuracy=high", "accuracy"),
        ("spark-local?colour=blue", "Unknown"),
    ):
        with pytest.raises(EngineError, match=match):
            parse_backend(bad)
    assert view_name(parse_backend("spark:/a")) != view_name(parse_backend("spark:/b"))


def test_duckdb_is_the_default_and_unchanged(monkeypatch, con):
    monkeypatch.delenv("ESC_BACKEND", raising=False)
    assert engine.kind() == "duckdb"
    t = engine.cases_table(con)
    assert t.get_backend().name == "duckdb"
    assert "|" not in engine.data_version(con)
    monkeypatch.setenv("ESC_BACKEND", "not-an-engine")
    with pytest.raises(EngineError):
        engine.cases_table(con)


def test_same_engine_keeps_duckdb_tables_and_wraps_frames(con):
    t = engine.cases_table(con)
    events = engine.table(con, "events")
    assert engine.same_engine(events, t) is events
    frame = pd.DataFrame({"case_id": ["a"], "x": [1]})
    assert engine.same_engine(frame, t).execute().equals(frame)
