"""Case batches and deterministic samples for per-case work (DuckDB; Spark in test_spark.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics import batches, engine
from analytics.store import connect


@pytest.fixture
def cases(demo_db):
    con = connect(demo_db, read_only=True)
    yield engine.backend(con).table("cases")
    con.close()


def test_batches_cover_every_case_once_in_exact_sizes(cases):
    calls = []
    frames = list(
        batches.iter_case_batches(
            cases,
            ["case_id", "description"],
            batch_size=1000,
            progress=lambda s, f: calls.append(f),
        )
    )
    total = int(cases.count().execute())
    assert [len(f) for f in frames[:-1]] == [1000] * (len(frames) - 1)
    assert sum(len(f) for f in frames) == total
    ids = pd.concat(frames)["case_id"]
    assert ids.is_unique and list(frames[0].columns) == ["case_id", "description"]
    assert calls[0] == 0.0 and calls[-1] == 1.0 and calls == sorted(calls)


def test_samples_are_deterministic_and_nested(cases):
    def ids(sample):
        frames = batches.iter_case_batches(cases, ["case_id"], 500, sample=sample)
        return set(pd.concat(list(frames))["case_id"])

    small, large = ids(0.05), ids(0.2)
    total = int(cases.count().execute())
    assert small == ids(0.05)
    assert small < large
    assert 0.035 * total < len(small) < 0.065 * total
    assert 0.17 * total < len(large) < 0.23 * total
    by_count = ids(1000)  # a number of cases: about that many
    assert 850 < len(by_count) < 1150
    assert len(ids(1.0)) == total


def test_filtered_tables_and_empty_results(cases):
    latam = cases.filter(cases.region == "LATAM")
    got = pd.concat(list(batches.iter_case_batches(latam, ["case_id", "region"], 300)))
    assert set(got["region"]) == {"LATAM"}
    assert list(batches.iter_case_batches(cases.filter(cases.case_id == "nope"), ["case_id"])) == []
    with pytest.raises(ValueError):
        next(batches.iter_case_batches(cases, ["case_id"], 0))
