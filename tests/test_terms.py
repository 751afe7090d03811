"""Tests of emerging-term detection (analytics.terms) on seeded synthetic case texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.terms import RESULT_COLUMNS, emerging_terms, extract_terms, term_counts_by_day


def _split(text: str) -> list[str]:
    return text.split()


COMMON = _split(
    "account video live stream report harassment comment spam follower creator payment "
    "refund appeal muted copyright music upload login password verify badge wallet"
)
SPANISH = _split("la cuenta del video en vivo fue bloqueada por acoso y no puedo apelar")


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """70 days of cases; from day 63 twice as many per day, and a LATAM hashtag appears."""
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2025-03-01")
    per_day = np.where(np.arange(70) >= 63, 160, 80)
    day = np.repeat(np.arange(70), per_day)
    n = len(day)
    created = (
        start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(rng.uniform(0, 86400, n), unit="s")
    )
    region = rng.choice(["APAC", "EMEA", "LATAM", "NA"], n)
    texts = []
    for i in range(n):
        words = rng.choice(COMMON, rng.integers(6, 12))
        text = " ".join(words)
        if region[i] == "LATAM" and rng.random() < 0.3:
            text = " ".join(SPANISH) + " " + text
        texts.append(text)
    frame = pd.DataFrame({"created_at": created, "text": texts, "region": region})
    # "wallet drained" exists at a low rate, then accelerates
    drained = rng.random(n) < np.where(day >= 63, 0.05, 0.005)
    frame.loc[drained, "text"] += " my wallet drained overnight"
    # a new hashtag from day 65, LATAM only
    tag = (day >= 65) & (region == "LATAM") & (rng.random(n) < 0.2)
    frame.loc[tag, "text"] += " #SalvaMiCuenta"
    # a one-off typo, twice
    frame.loc[frame.index[-3:-1], "text"] += " acount hackked"
    frame.attrs["tag_rows"] = frame.index[tag]
    return frame


def test_planted_hashtag_is_new_in_its_region(cases):
    found = emerging_terms(cases)
    assert list(found.columns) == list(RESULT_COLUMNS)
    row = found.set_index("term").loc["#salvamicuenta"]
    tagged = cases.loc[cases.attrs["tag_rows"]]
    assert row["kind"] == "hashtag"
    assert row["status"] == "new"
    assert row["recent_count"] == len(tagged)
    assert row["baseline_count"] == 0
    assert row["first_seen"] == tagged["created_at"].min()
    assert row["regions"] == {"LATAM": len(tagged)}
    assert row["top_region_share"] == 1.0
    assert set(row["examples"]) <= set(tagged.index)
    assert len(row["examples"]) == 5
    assert row["q_value"] <= 0.01


def test_accelerating_phrase_is_found_once(cases):
    found = emerging_terms(cases)
    hits = found[found["term"].str.contains("drained")]
    assert len(hits) == 1  # "wallet drained overnight", not also "drained", "wallet drained"...
    row = hits.iloc[0]
    assert row["status"] == "accelerating"
    assert row["kind"] == "ngram"
    assert row["ratio"] > 5
    assert row["baseline_count"] > 0


def test_stable_common_terms_and_typos_are_not_flagged(cases):
    found = emerging_terms(cases)
    assert not found["term"].isin(["account", "video", "cuenta", "acount", "hackked"]).any()
    everything = emerging_terms(cases, emerging_only=False)
    account = everything.set_index("term").loc["account"]
    assert account["status"] == "stable"
    # twice the cases per day recently, but the same rate per case
    assert account["ratio"] == pytest.approx(1.0, abs=0.15)
    assert "acount" not in set(everything["term"])  # below min_df
    assert not found["term"].isin(["la", "del", "por", "que"]).any()


def test_window_before_the_hashtag_sees_nothing(cases):
    found = emerging_terms(cases, as_of=pd.Timestamp("2025-05-04"))  # day 64
    assert "#salvamicuenta" not in set(found["term"])


def test_extract_terms_kinds_unicode_and_stop_words():
    text = (
        "Hola, la cuenta fue hackeada en Garena Free Fire después de actualizar a la versión 35.2 "
        "#SalvaMiCuenta #ÁguaViva #2024 and the TikTok LIVE on my iPhone crashed on v35.1 "
        "yang tidak bisa dibuka"
    )
    terms = extract_terms(text)
    by_kind: dict[str, set[str]] = {}
    for term, kind in terms:
        by_kind.setdefault(kind, set()).add(term)
    assert by_kind["hashtag"] == {"#salvamicuenta", "#águaviva"}  # "#2024" has no letter
    assert {
        "Garena Free",
        "Free Fire",
        "Garena Free Fire",
        "TikTok",
        "iPhone",
        "v35.1",
        "v35.2",
    } <= by_kind["name"]
    words = {t for t, k in terms if k == "ngram" and " " not in t}
    assert {"cuenta", "hackeada", "crashed", "dibuka"} <= words
    assert not words & {
        "hola",
        "la",
        "fue",
        "en",
        "de",
        "the",
        "and",
        "on",
        "my",
        "yang",
        "tidak",
        "bisa",
    }
    assert "salvamicuenta" not in words  # hashtags are not also counted as words
    assert "cuenta hackeada" in {t for t, k in terms if k == "ngram"}


def test_term_counts_by_day(cases):
    counts = term_counts_by_day(cases, ["#salvamicuenta", "account"])
    assert list(counts.columns) == ["#salvamicuenta", "account"]
    assert counts["#salvamicuenta"].sum() == len(cases.attrs["tag_rows"])
    assert counts["#salvamicuenta"].loc[: pd.Timestamp("2025-05-04")].sum() == 0


def test_empty_and_tiny_inputs():
    empty = pd.DataFrame({"created_at": pd.to_datetime([]), "text": pd.Series([], dtype="str")})
    assert emerging_terms(empty).empty
    one = pd.DataFrame({"created_at": [pd.Timestamp("2025-01-01")], "text": ["hello world"]})
    assert emerging_terms(one).empty
