"""Mutation fuzzing of the importer on every run (the bench runs thousands of cases)."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLES
from tests.fuzz_harness import MUTATIONS, campaign

SOURCES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".csv", ".tsv", ".jsonl", ".json"))


@pytest.mark.slow
def test_damaged_exports_never_crash_or_half_import(tmp_path):
    outcomes = campaign(SOURCES, n=160, seed=1, workdir=tmp_path)
    crashes = [o for o in outcomes if o.status == "crash"]
    assert not crashes, crashes[:5]
    tried = {o.mutation for o in outcomes}
    assert tried == set(MUTATIONS)
    # The harness must exercise both sides: some damage is recoverable, some is not.
    assert any(o.status == "imported" for o in outcomes)
    assert any(o.status == "rejected" for o in outcomes)
