"""Property-based tests: the row-count identity and idempotent re-import hold for any input."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest import import_file
from analytics.store import connect

ids = st.one_of(
    st.sampled_from(["A", "B", "C", "", " ", "a,b", 'q"x']), st.text(min_size=0, max_size=6)
)
stamps = st.one_of(
    st.sampled_from(
        [
            "2026-01-01 10:00:00",
            "2026-01-02T03:04:05Z",
            "01/02/2026 10:00",
            "garbage",
            "",
            "2026-13-45",
            "1999-01-01",
            "2026-02-03 10:00:00+05:30",
            "1767225600",
        ]
    ),
    st.datetimes(
        min_value=__import__("datetime").datetime(2001, 1, 1),
        max_value=__import__("datetime").datetime(2026, 11, 1),
    ).map(str),
)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
row = st.tuples(ids, stamps, stamps, texts, texts, st.sampled_from(["open", "Solved", "", "weird"]))
junk_lines = st.lists(
    st.sampled_from(['x,"unterminated', "a,b,c,d,e,f,g,h,i", "only-one-field"]), max_size=2
)


def _render(rows, junk) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["case_id", "created_at", "updated_at", "subject", "description", "status"])
    for r in rows:
        w.writerow(r)
    text = out.getvalue()
    for line in junk:
        text += line + "\n"
    return text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row, min_size=1, max_size=25), junk=junk_lines)
def test_row_identity_and_idempotence(tmp_path_factory, rows, junk):
    path = tmp_path_factory.mktemp("prop") / "export.csv"
    path.write_text(_render(rows, junk), encoding="utf-8", newline="")
    con = connect(":memory:")
    try:
        first = import_file(con, path)
        assert (
            first.rows_read == first.inserted + first.updated + first.unchanged + first.quarantined
        )
        assert first.updated == first.unchanged == 0
        n_cases = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        assert n_cases == first.inserted
        assert con.execute("SELECT count(DISTINCT case_id) FROM cases").fetchone()[0] == n_cases
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        assert quarantined == first.quarantined

        second = import_file(con, path)
        assert second.rows_read == first.rows_read
        assert (second.inserted, second.updated) == (0, 0)
        assert second.unchanged == first.inserted and second.quarantined == first.quarantined
        assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == n_cases
    finally:
        con.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=st.lists(row, min_size=1, max_size=15), b=st.lists(row, min_size=1, max_size=15))
def test_overlapping_exports_never_duplicate(tmp_path_factory, a, b):
    folder = tmp_path_factory.mktemp("overlap")
    pa, pb = folder / "a.csv", folder / "b.csv"
    pa.write_text(_render(a, []), encoding="utf-8", newline="")
    pb.write_text(_render(a[: len(a) // 2] + b, []), encoding="utf-8", newline="")
    con = connect(":memory:")
    try:
        for p in (pa, pb, pa):
            r = import_file(con, p)
            assert r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT case_id) FROM cases"
        ).fetchone()
        assert total == distinct
    finally:
        con.close()
