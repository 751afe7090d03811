"""Filters: presets, previous period, URL round trip, and how they narrow a table."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from analytics import cases, engine
from analytics.filters import DIMENSION_FILTERS, Filters
from analytics.ingest import import_file


def test_presets_anchor_on_latest_data():
    anchor = date(2026, 11, 22)
    assert Filters(preset="last_7").resolve(anchor) == Filters(
        preset="last_7", start=date(2026, 11, 16), end=anchor
    )
    assert Filters(preset="quarter").resolve(anchor).start == date(2026, 10, 1)
    assert Filters(preset="all").resolve(anchor, date(2025, 5, 1)).start == date(2025, 5, 1)
    custom = Filters(preset="custom", start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert custom.resolve(anchor) == custom


def test_previous_period_is_equal_length_and_adjacent():
    f = Filters(preset="custom", start=date(2026, 3, 2), end=date(2026, 3, 8))
    prev = f.previous()
    assert (prev.start, prev.end) == (date(2026, 2, 23), date(2026, 3, 1))
    assert prev.days == f.days == 7


names = st.sampled_from(["APAC", "EMEA", "LATAM", "NA", "Regulatory/DSA", "a|b", "x=y", "Ünïcode"])


@given(
    preset=st.sampled_from(["last_7", "last_30", "last_90", "quarter", "all", "custom"]),
    region=st.lists(names.filter(lambda v: "|" not in v), max_size=3, unique=True),
    queue=st.lists(names.filter(lambda v: "|" not in v), max_size=2, unique=True),
    search=st.text(max_size=20).map(str.strip),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)),
    span=st.integers(0, 400),
)
def test_url_round_trip(preset, region, queue, search, start, span):
    from datetime import timedelta

    f = Filters(
        preset=preset,
        region=tuple(region),
        queue=tuple(queue),
        search=search,
        start=start if preset == "custom" else None,
        end=start + timedelta(days=span) if preset == "custom" else None,
    )
    assert Filters.from_query(f.to_query()) == f


def test_from_query_ignores_garbage():
    f = Filters.from_query(
        {
            "range": "forever",
            "from": "yesterday",
            "region": "APAC|EMEA",
            "drill": "created_day=2026-01-01|evil=1|channel=email",
        }
    )
    assert f.preset == "last_90" and f.region == ("APAC", "EMEA")
    assert dict(f.extra) == {"created_day": "2026-01-01", "channel": "email"}
    bad_dates = Filters.from_query({"range": "custom", "from": "2026-02-01", "to": "nope"})
    assert bad_dates.preset == "last_90"


def test_apply_narrows_cases(con, write_csv):
    import_file(
        con,
        write_csv(
            "f.csv",
            (
                "case_id,created_at,subject,description,region,queue,channel\n"
                "1,2026-01-01 10:00,Account hacked,pwd changed,APAC,High Risk,email\n"
                "2,2026-01-02 10:00,Fake profile,impersonator,EMEA,Impersonation,web\n"
                "3,2026-01-03 10:00,Hacked again,HACKED,EMEA,High Risk,email\n"
            ),
        ),
    )
    t = engine.cases_table(con)
    base = Filters(preset="custom", start=date(2026, 1, 1), end=date(2026, 1, 3))
    assert cases.case_count(t, base) == 3
    assert cases.case_count(t, base.__class__(**{**base.__dict__, "region": ("EMEA",)})) == 2
    assert cases.case_count(t, Filters(**{**base.__dict__, "search": "hacked"})) == 2
    assert cases.case_count(t, Filters(**{**base.__dict__, "search": "hacked pwd"})) == 1
    assert cases.case_count(t, base.with_drill(created_day="2026-01-02")) == 1
    assert cases.case_count(t, base.with_drill(queue="High Risk", channel="email")) == 2
    narrow = Filters(preset="custom", start=date(2026, 1, 2), end=date(2026, 1, 2))
    assert cases.case_count(t, narrow) == 1
    assert {name for name, _ in DIMENSION_FILTERS} <= set(t.columns)


def test_case_list_sort_and_detail(con, write_csv):
    import_file(
        con,
        write_csv(
            "s.csv",
            (
                "case_id,created_at,subject,priority,Custom\n"
                "1,2026-01-01 10:00,a,low,x\n2,2026-01-02 10:00,b,urgent,y\n3,2026-01-03 10:00,c,normal,z\n"
            ),
        ),
    )
    t = engine.cases_table(con)
    f = Filters(preset="all").resolve(date(2026, 1, 3), date(2026, 1, 1))
    assert cases.case_list(t, f, sort="newest")["case_id"].tolist() == ["3", "2", "1"]
    assert cases.case_list(t, f, sort="priority")["case_id"].tolist() == ["2", "3", "1"]
    assert cases.case_list(t, f, sort="oldest", limit=1)["case_id"].tolist() == ["1"]
    detail = cases.case_detail(t, "2")
    assert detail["priority"] == "urgent" and detail["extra"] == {"Custom": "y"}
    assert cases.case_detail(t, "nope") is None
