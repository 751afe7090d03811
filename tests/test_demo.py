"""The demo history: deterministic, realistic, and the planted scenarios are really there."""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.demo import SCENARIOS, generate


def test_deterministic(small_demo):
    again = generate(rows=6_000, seed=11)
    pd.testing.assert_frame_equal(small_demo.cases, again.cases)
    assert small_demo.manifest == again.manifest
    other = generate(rows=6_000, seed=12)
    assert not small_demo.cases["description"].equals(other.cases["description"])


def test_shape_and_vocabulary(small_demo):
    c = small_demo.cases
    assert abs(len(c) - 6_000) < 50
    assert set(c["region"]) == {"APAC", "EMEA", "LATAM", "NA"}
    assert {"en", "es", "pt", "id"} <= set(c["language"])
    assert c["case_id"].is_unique
    span = c["created_at"].max() - c["created_at"].min()
    assert span.days >= 540  # about 18 months
    # Weekly seasonality: weekends are quieter than weekdays.
    dow = c["created_at"].dt.day_of_week.value_counts()
    assert dow.loc[[5, 6]].mean() < 0.85 * dow.loc[[0, 1, 2]].mean()
    # Personal data is present in the text (so redaction has something to do).
    assert c["description"].str.contains(r"@\w+", regex=True).mean() > 0.1


def _in_window(c, spec, key):
    s, e = pd.Timestamp(spec["onset"]), pd.Timestamp(spec["end"])
    return c[(c["created_at"] >= s) & (c["created_at"] < e + pd.Timedelta(days=1))], key


def test_viral_challenge_ramps_in_latam(small_demo):
    c, t = small_demo.cases, small_demo.truth
    spec = small_demo.manifest["scenarios"]["viral_challenge"]
    cases = c[t["scenario"].eq("viral_challenge").values]
    assert len(cases) == spec["cases"] > 50
    assert set(cases["region"]) == {"LATAM"}
    assert cases["description"].str.contains("#RetoApagon").mean() > 0.6
    assert pd.Timestamp(spec["onset"]) - pd.Timedelta(days=1) <= cases["created_at"].min()
    daily = cases.set_index("created_at").resample("D").size()
    onset = pd.Timestamp(spec["onset"])
    # It ramps: the second half of the ramp has more cases than the first.
    first = daily[onset : onset + pd.Timedelta(days=4)].sum()
    second = daily[onset + pd.Timedelta(days=5) : onset + pd.Timedelta(days=9)].sum()
    assert second > first
    # The hashtag never appears before the onset.
    before = c[c["created_at"] < onset - pd.Timedelta(days=1)]
    assert not before["description"].str.contains("RetoApagon").any()


def test_impersonation_wave_is_concentrated(small_demo):
    c, t = small_demo.cases, small_demo.truth
    wave = c[t["scenario"].eq("impersonation_wave").values]
    assert len(wave) > 50
    assert (wave["region"] == "APAC").all() and (wave["product_surface"] == "profile").all()
    assert (wave["app_version"] == "36.2.0").all()
    assert wave["created_at"].min() >= pd.Timestamp(SCENARIOS["impersonation_wave"]["release"])


def test_dsa_holiday_breaches(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        rate = dict(
            con.execute(
                """SELECT created_at BETWEEN '2025-12-20' AND '2026-01-04' AS holiday, avg(sla_breached::INT)
               FROM cases WHERE queue = 'Regulatory/DSA' AND created_at BETWEEN '2025-10-01' AND '2026-02-28'
               GROUP BY 1"""
            ).fetchall()
        )
    finally:
        con.close()
    assert rate[True] > 0.5 and rate[False] < 0.25


def test_grey_area_policy_is_inconsistent(small_demo):
    c = small_demo.cases
    grey = c[c["policy"] == SCENARIOS["grey_area_policy"]["policy"]]
    clear = c[c["policy"] == "Impersonation"]

    def top_share(df):
        return df["outcome"].value_counts(normalize=True).iloc[0]

    assert top_share(grey) < 0.65 and top_share(clear) > 0.75

    def over(df):
        decided = df["appeal_outcome"].isin(["overturned", "upheld"]).sum()
        return (df["appeal_outcome"] == "overturned").sum() / decided

    assert over(grey) > 0.25 > over(clear)
    assert (
        grey["agent_notes"]
        .str.contains("unclear|Unclear|not covered|Borderline|claro|jelas|Grey|Hesitant|ambiguous")
        .mean()
        > 0.4
    )


def test_release_bug_until_fix(small_demo):
    c, t = small_demo.cases, small_demo.truth
    bug = c[t["scenario"].eq("release_bug").values]
    spec = SCENARIOS["release_bug"]
    assert len(bug) > 30 and (bug["linked_ticket"] == "BUG-4821").all()
    assert (bug["app_version"] == "37.1.0").all()
    assert bug["created_at"].max() < pd.Timestamp(spec["fix"]) + pd.Timedelta(days=1)
    assert not (bug["channel"] == "in-app report").any()  # the in-app reporting is what broke


def test_steady_pain_point_is_large_and_flat(small_demo):
    c, t = small_demo.cases, small_demo.truth
    steady = c[t["topic"].eq("appeal_not_answered").values]
    assert len(steady) / len(c) > 0.07
    monthly = steady.set_index("created_at").resample("MS").size().iloc[1:-1]
    assert monthly.std() / monthly.mean() < 0.35


def test_load_demo_records_truth_events_and_manifest(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        assert (
            con.execute("SELECT count(*) FROM demo_truth").fetchone()[0]
            == con.execute("SELECT count(*) FROM cases").fetchone()[0]
        )
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] >= 4
        assert con.execute("SELECT bool_and(is_demo) FROM imports").fetchone()[0]
        assert (
            "viral_challenge"
            in con.execute("SELECT value FROM meta WHERE key='demo_manifest'").fetchone()[0]
        )
    finally:
        con.close()
