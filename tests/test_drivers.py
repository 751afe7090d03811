"""Tests for analytics.drivers: localization, change decomposition, tree, baselines."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.drivers import (
    RootCause,
    decomposition_children,
    explain_change,
    localize_root_causes,
    rank_next_dimensions,
    root_causes_frame,
    seasonal_expected,
)
from analytics.errors import MappingError

DIMS = {
    "region": ["APAC", "EMEA", "LATAM", "NA", "ANZ", "MEA"],
    "queue": [f"q{i}" for i in range(8)],
    "product_surface": ["profile", "feed", "search", "messages", "ads", "groups"],
    "app_version": ["5.0", "5.1", "5.2", "5.3", "5.4"],
    "channel": ["web", "ios", "android"],
}


def cube(seed: int = 0, mean: float = 12.0) -> pd.DataFrame:
    """4,320 leaves with Poisson actuals around heavy-tailed expected counts."""
    rng = np.random.default_rng(seed)
    leaves = pd.DataFrame(list(itertools.product(*DIMS.values())), columns=list(DIMS))
    leaves["expected"] = rng.gamma(1.5, mean / 1.5, len(leaves))
    leaves["actual"] = rng.poisson(leaves["expected"]).astype(float)
    return leaves


def plant(leaves: pd.DataFrame, where: dict, factor: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mask = np.logical_and.reduce([leaves[k] == v for k, v in where.items()])
    leaves = leaves.copy()
    leaves.loc[mask, "actual"] = rng.poisson(leaves.loc[mask, "expected"] * factor).astype(float)
    return leaves


def slices(causes):
    return [rc.slice for rc in causes]


# --------------------------------------------------------------------------------------------
# explain_change: counts
# --------------------------------------------------------------------------------------------


def test_count_contributions_by_hand():
    # 2 regions x 3 queues; before/after counts chosen so each contribution is easy to check.
    before = pd.DataFrame(
        {
            "region": ["APAC"] * 3 + ["EMEA"] * 3,
            "queue": ["a", "b", "c"] * 2,
            "count": [10, 20, 30, 5, 5, 5],
        }
    )
    after = before.assign(count=[12, 20, 45, 5, 0, 8])
    result = explain_change(before, after, ["region", "queue"])
    table = result.table.set_index(["region", "queue"])
    assert table.loc[("APAC", "c"), "contribution"] == 15
    assert table.loc[("EMEA", "b"), "contribution"] == -5
    assert table.loc[("APAC", "b"), "contribution"] == 0
    assert result.summary.before == 75 and result.summary.after == 90
    assert result.summary.change == 15
    assert result.summary.contributions == pytest.approx(15.0)
    assert table.loc[("APAC", "c"), "share_of_change"] == pytest.approx(1.0)
    # Largest absolute contribution first.
    assert tuple(result.table.iloc[0][["region", "queue"]]) == ("APAC", "c")

    by_region = explain_change(before, after, "region").table.set_index("region")
    assert by_region.loc["APAC", "contribution"] == 17
    assert by_region.loc["EMEA", "contribution"] == -2


def test_count_slice_missing_in_one_window_counts_as_zero():
    before = pd.DataFrame({"region": ["APAC"], "count": [4]})
    after = pd.DataFrame({"region": ["EMEA"], "count": [7]})
    table = explain_change(before, after, "region").table.set_index("region")
    assert table.loc["APAC", "contribution"] == -4
    assert table.loc["EMEA", "contribution"] == 7


# --------------------------------------------------------------------------------------------
# explain_change: rates (mix + rate effects)
# --------------------------------------------------------------------------------------------


def test_rate_decomposition_by_hand():
    # Before: A 100 cases 10 breaches (10 %), B 100 cases 30 (30 %) -> 20 %.
    # After:  A 100 cases 10 breaches (10 %), B 300 cases 90 (30 %) -> 25 %: pure mix.
    before = pd.DataFrame({"s": ["A", "B"], "numerator": [10, 30], "denominator": [100, 100]})
    after = pd.DataFrame({"s": ["A", "B"], "numerator": [10, 90], "denominator": [100, 300]})
    result = explain_change(before, after, "s", metric="rate")
    t = result.table.set_index("s")
    assert result.summary.change == pytest.approx(0.05)
    assert t["rate_effect"].abs().max() == pytest.approx(0.0)
    # w_A: 0.5 -> 0.25, rates unchanged; centred by the mean overall rate 0.225.
    assert t.loc["A", "mix_effect"] == pytest.approx(-0.25 * (0.10 - 0.225))
    assert t.loc["B", "mix_effect"] == pytest.approx(0.25 * (0.30 - 0.225))
    assert result.summary.mix_effect == pytest.approx(0.05)

    # Same volumes, B's rate doubles: pure rate effect, all of it in B.
    after = pd.DataFrame({"s": ["A", "B"], "numerator": [10, 60], "denominator": [100, 100]})
    t = explain_change(before, after, "s", metric="rate").table.set_index("s")
    assert t.loc["B", "rate_effect"] == pytest.approx(0.5 * 0.30)
    assert t["mix_effect"].abs().max() == pytest.approx(0.0)


def test_rate_new_slice_is_all_mix():
    before = pd.DataFrame({"s": ["A"], "numerator": [10], "denominator": [100]})
    after = pd.DataFrame({"s": ["A", "N"], "numerator": [10, 50], "denominator": [100, 100]})
    result = explain_change(before, after, "s", metric="rate")
    t = result.table.set_index("s")
    assert t.loc["N", "rate_effect"] == 0
    assert math.fsum(result.table["contribution"]) == pytest.approx(
        result.summary.change, abs=1e-15
    )


def test_rate_numerator_without_denominator_is_rejected():
    before = pd.DataFrame({"s": ["A"], "numerator": [1], "denominator": [0]})
    after = pd.DataFrame({"s": ["A"], "numerator": [1], "denominator": [5]})
    with pytest.raises(MappingError):
        explain_change(before, after, "s", metric="rate")


slice_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.integers(0, 50),
        st.integers(0, 200),
    ),
    min_size=1,
    max_size=12,
)


def _rate_frame(rows):
    frame = pd.DataFrame(rows, columns=["s", "numerator", "denominator"])
    frame["denominator"] = np.maximum(frame["denominator"], frame["numerator"])
    return frame


@settings(max_examples=60, deadline=None)
@given(slice_rows, slice_rows)
def test_rate_contributions_sum_exactly_to_the_change(rows_before, rows_after):
    before, after = _rate_frame(rows_before), _rate_frame(rows_after)
    if before["denominator"].sum() == 0 or after["denominator"].sum() == 0:
        return
    result = explain_change(before, after, "s", metric="rate")
    total = math.fsum(result.table["mix_effect"]) + math.fsum(result.table["rate_effect"])
    assert total == pytest.approx(result.summary.change, abs=1e-12)
    assert result.summary.contributions == pytest.approx(result.summary.change, abs=1e-12)
    expected = after["numerator"].sum() / after["denominator"].sum() - (
        before["numerator"].sum() / before["denominator"].sum()
    )
    assert result.summary.change == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(slice_rows, slice_rows)
def test_count_contributions_sum_exactly_to_the_change(rows_before, rows_after):
    before = pd.DataFrame(rows_before, columns=["s", "count", "other"])
    after = pd.DataFrame(rows_after, columns=["s", "count", "other"])
    result = explain_change(before, after, "s")
    assert result.table["contribution"].sum() == after["count"].sum() - before["count"].sum()


# --------------------------------------------------------------------------------------------
# explain_change: medians
# --------------------------------------------------------------------------------------------


def test_median_decomposition_adds_up_and_blames_the_moved_slice():
    rng = np.random.default_rng(3)
    before = pd.DataFrame({"q": rng.choice(["x", "y", "z"], 900), "hours": rng.gamma(2, 5, 900)})
    after = pd.DataFrame({"q": rng.choice(["x", "y", "z"], 900), "hours": rng.gamma(2, 5, 900)})
    after.loc[after["q"] == "x", "hours"] *= 2.0  # only x got slower
    result = explain_change(before, after, "q", metric="median", value="hours")
    assert result.summary.before == pytest.approx(np.median(before["hours"]))
    assert result.summary.after == pytest.approx(np.median(after["hours"]))
    assert math.fsum(result.table["contribution"]) == pytest.approx(result.summary.change, abs=1e-9)
    assert result.table.iloc[0]["q"] == "x"
    assert result.table.iloc[0]["share_of_change"] > 0.6
    row = result.table.iloc[0]
    assert row["effect"] == pytest.approx(row["mix_effect"] + row["shift_effect"])


def test_median_single_slice_takes_all_of_the_change():
    before = pd.DataFrame({"q": ["x"] * 4, "hours": [1.0, 2.0, 3.0, 4.0]})
    after = pd.DataFrame({"q": ["x"] * 3, "hours": [5.0, 6.0, 7.0]})
    result = explain_change(before, after, "q", metric="median", value="hours")
    assert result.summary.change == pytest.approx(6.0 - 2.5)
    assert result.table["contribution"].iloc[0] == pytest.approx(3.5)


def test_unknown_metric_is_rejected():
    frame = pd.DataFrame({"s": ["a"], "count": [1]})
    with pytest.raises(MappingError):
        explain_change(frame, frame, "s", metric="mean")


# --------------------------------------------------------------------------------------------
# localize_root_causes
# --------------------------------------------------------------------------------------------


def test_nothing_changed_returns_nothing():
    leaves = cube()
    assert localize_root_causes(leaves.assign(actual=leaves["expected"]), list(DIMS)) == []


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_poisson_noise_alone_returns_nothing(seed):
    assert localize_root_causes(cube(seed), list(DIMS)) == []


def test_planted_two_dimension_cause_is_found_exactly():
    cause = {"region": "APAC", "product_surface": "profile"}
    leaves = plant(cube(), cause, 1.6)
    causes = localize_root_causes(leaves, list(DIMS))
    assert slices(causes) == [cause]
    assert causes[0] == cause  # RootCause compares with a plain dict
    # Neither the parent nor any child is returned.
    assert {"region": "APAC"} not in slices(causes)
    assert not any(set(cause.items()) < set(s.items()) for s in slices(causes))
    rc = causes[0]
    assert rc.relative_change == pytest.approx(0.6, abs=0.1)
    assert 0.5 < rc.share_of_change < 1.5  # the rest of the cube is noisy too
    assert rc.n_leaves == 8 * 5 * 3


def test_planted_drop_in_a_three_dimension_slice():
    cause = {"region": "EMEA", "queue": "q3", "channel": "ios"}
    leaves = plant(cube(mean=25.0), cause, 0.3)
    assert slices(localize_root_causes(leaves, list(DIMS))) == [cause]


def test_multiple_elements_of_one_cause_are_separate_entries():
    leaves = plant(cube(), {"region": "APAC"}, 1.5, seed=4)
    leaves = plant(leaves, {"region": "LATAM"}, 1.5, seed=5)
    found = slices(localize_root_causes(leaves, list(DIMS)))
    assert sorted(found, key=str) == [{"region": "APAC"}, {"region": "LATAM"}]


def test_siblings_under_one_parent_are_not_merged_into_the_parent():
    # 3 of the 6 surfaces of APAC moved: the parent {region: APAC} is half normal.
    leaves = cube(mean=20.0)
    for i, surface in enumerate(["profile", "feed", "search"]):
        leaves = plant(leaves, {"region": "APAC", "product_surface": surface}, 1.8, seed=10 + i)
    found = slices(localize_root_causes(leaves, list(DIMS), max_causes=5))
    expected = [{"region": "APAC", "product_surface": s} for s in ["feed", "profile", "search"]]
    assert sorted(found, key=str) == sorted(expected, key=str)


def test_max_causes_caps_the_list_and_ranks_by_change():
    leaves = plant(cube(), {"region": "APAC"}, 2.0, seed=4)
    leaves = plant(leaves, {"queue": "q1"}, 1.4, seed=5)
    causes = localize_root_causes(leaves, list(DIMS))
    assert slices(causes) == [{"region": "APAC"}, {"queue": "q1"}]
    assert abs(causes[0].change) >= abs(causes[1].change)
    assert slices(localize_root_causes(leaves, list(DIMS), max_causes=1)) == [{"region": "APAC"}]


def rate_leaves(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    leaves = pd.DataFrame(list(itertools.product(*DIMS.values())), columns=list(DIMS))
    leaves["expected_cases"] = rng.gamma(2.0, 20.0, len(leaves))
    rate = rng.beta(2, 18, len(leaves))
    leaves["expected_breaches"] = leaves["expected_cases"] * rate
    volume = leaves["expected_cases"].to_numpy().copy()
    volume[(leaves["product_surface"] == "ads").to_numpy()] *= 2.5  # volume-only decoy
    moved = rate.copy()
    hit = ((leaves["region"] == "NA") & (leaves["channel"] == "web")).to_numpy()
    moved[hit] = np.minimum(rate[hit] * 2.0, 1.0)
    leaves["actual_cases"] = rng.poisson(volume).astype(float)
    leaves["actual_breaches"] = rng.binomial(leaves["actual_cases"].astype(int), moved).astype(
        float
    )
    return leaves


RATE_COLUMNS = {
    "actual": "actual_breaches",
    "expected": "expected_breaches",
    "actual_denominator": "actual_cases",
    "expected_denominator": "expected_cases",
}


def test_rate_change_is_localized_and_volume_shift_is_not():
    leaves = rate_leaves()
    causes = localize_root_causes(leaves, list(DIMS), **RATE_COLUMNS)
    assert slices(causes) == [{"region": "NA", "channel": "web"}]
    assert causes[0].actual == pytest.approx(2 * causes[0].expected, rel=0.2)
    # Counting breaches instead would blame the decoy's extra volume.
    naive = localize_root_causes(
        leaves, list(DIMS), actual="actual_breaches", expected="expected_breaches"
    )
    assert {"product_surface": "ads"} in slices(naive)


def test_rate_without_any_change_returns_nothing():
    leaves = rate_leaves()
    rng = np.random.default_rng(9)
    rate = leaves["expected_breaches"] / leaves["expected_cases"]
    leaves["actual_breaches"] = rng.binomial(leaves["actual_cases"].astype(int), rate).astype(float)
    assert localize_root_causes(leaves, list(DIMS), **RATE_COLUMNS) == []


def test_localization_is_deterministic_and_ignores_row_order():
    leaves = plant(cube(), {"queue": "q2", "app_version": "5.3"}, 1.7)
    first = localize_root_causes(leaves, list(DIMS))
    again = localize_root_causes(leaves, list(DIMS))
    shuffled = localize_root_causes(leaves.sample(frac=1.0, random_state=7), list(DIMS))
    assert first == again
    assert slices(first) == slices(shuffled) == [{"queue": "q2", "app_version": "5.3"}]


def test_duplicate_rows_of_a_leaf_are_added_up():
    leaves = plant(cube(), {"region": "MEA", "queue": "q5"}, 1.8)
    doubled = pd.concat(
        [leaves.assign(actual=leaves["actual"] / 2, expected=leaves["expected"] / 2)] * 2
    )
    assert slices(localize_root_causes(doubled, list(DIMS))) == [{"region": "MEA", "queue": "q5"}]


def test_bad_input_is_rejected_with_a_named_error():
    leaves = cube()
    with pytest.raises(MappingError):
        localize_root_causes(leaves, ["region", "nope"])
    with pytest.raises(MappingError):
        localize_root_causes(leaves.assign(actual=-1.0), list(DIMS))
    with pytest.raises(MappingError):
        localize_root_causes(leaves, list(DIMS), actual_denominator="expected")
    with pytest.raises(MappingError):
        localize_root_causes(leaves, list(DIMS), not_an_option=1)


def test_root_cause_helpers():
    rc = RootCause({"region": "APAC"}, 10.0, 12.0, 8.0, 1.0, 4.0, 0.5, 3, ("region",))
    assert rc == {"region": "APAC"} and dict(rc.slice) == {"region": "APAC"}
    assert rc.label == "region=APAC"
    assert len({rc, rc}) == 1
    frame = root_causes_frame([rc])
    assert list(frame["slice"]) == ["region=APAC"] and frame["rank"].tolist() == [1]


# --------------------------------------------------------------------------------------------
# Decomposition tree
# --------------------------------------------------------------------------------------------


def test_tree_children_add_up_to_the_node_change():
    leaves = plant(cube(), {"region": "APAC", "product_surface": "profile"}, 1.8)
    node = {"region": "APAC"}
    children = decomposition_children(leaves, "product_surface", node)
    in_node = leaves[leaves["region"] == "APAC"]
    assert children["contribution"].sum() == pytest.approx(
        in_node["actual"].sum() - in_node["expected"].sum()
    )
    assert children.iloc[0]["product_surface"] == "profile"
    assert children["share_of_node"].sum() == pytest.approx(1.0)


def test_next_dimension_is_the_one_that_moved():
    leaves = plant(cube(), {"product_surface": "feed"}, 1.8)
    ranking = rank_next_dimensions(leaves, list(DIMS))
    assert ranking.iloc[0]["dimension"] == "product_surface"
    assert ranking.iloc[0]["top_child"] == "feed"
    # Inside the moved node no further split is surprising any more.
    inside = rank_next_dimensions(leaves, list(DIMS), path={"product_surface": "feed"})
    assert "product_surface" not in set(inside["dimension"])
    assert inside["surprise"].max() < ranking.iloc[0]["surprise"] / 5


def test_tree_for_a_rate_splits_mix_and_rate_effects():
    leaves = rate_leaves()
    children = decomposition_children(leaves, "region", {"channel": "web"}, **RATE_COLUMNS)
    assert children.iloc[0]["region"] == "NA"
    assert children["contribution"].sum() == pytest.approx(
        (children["mix_effect"] + children["rate_effect"]).sum(), abs=1e-12
    )
    ranking = rank_next_dimensions(leaves, list(DIMS), **RATE_COLUMNS)
    assert ranking.iloc[0]["dimension"] in {"region", "channel"}


# --------------------------------------------------------------------------------------------
# Seasonal baseline
# --------------------------------------------------------------------------------------------


def test_seasonal_expected_methods_by_hand():
    dates = pd.date_range("2025-01-01", "2026-01-31", freq="D")
    history = pd.DataFrame({"date": dates, "region": "APAC", "count": 1.0})
    # Mark the four weeks before the target with 1, 2, 3, 4 cases a day (oldest first).
    start = pd.Timestamp("2026-01-26")
    for k in range(1, 5):
        week = (history["date"] >= start - pd.Timedelta(days=7 * k)) & (
            history["date"] < start - pd.Timedelta(days=7 * (k - 1))
        )
        history.loc[week, "count"] = float(5 - k)
    history.loc[history["date"] == start - pd.Timedelta(days=364), "count"] = 10.0
    window = (start, start + pd.Timedelta(days=7))

    mean = seasonal_expected(history, window)  # every other column is a dimension
    assert mean.set_index("region").loc["APAC", "expected"] == pytest.approx(7 * 2.5)
    previous = seasonal_expected(history, window, "previous_period", ["region"])
    assert previous.set_index("region").loc["APAC", "expected"] == pytest.approx(7 * 4)
    last_year = seasonal_expected(history, window, "last_year")
    assert last_year.set_index("region").loc["APAC", "expected"] == pytest.approx(10 + 6)
    with pytest.raises(MappingError):
        seasonal_expected(history, window, method="median")


def test_overall_growth_is_one_item_and_local_cause_still_found():
    rng = np.random.default_rng(11)
    leaves = cube()
    leaves["actual"] = rng.poisson(leaves["expected"] * 1.3).astype(float)
    cause = {"region": "APAC", "product_surface": "profile"}
    leaves = plant(leaves, cause, 1.3 * 1.6)
    causes = localize_root_causes(leaves, list(DIMS))
    assert slices(causes) == [{}, cause]
    assert causes[0].label == "(all)" and causes[0].relative_change == pytest.approx(0.3, abs=0.05)
    assert causes[1].relative_change == pytest.approx(0.6, abs=0.15)  # beyond the overall move
    silent = localize_root_causes(leaves, list(DIMS), relative_to_total=True)
    assert slices(silent) == [cause]
