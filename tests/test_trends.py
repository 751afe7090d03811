"""Tests of the spike/ramp/level-shift detector and of scans across series.

Covers analytics.trends, analytics.trends_baseline and analytics.trends_scan. Series are
seeded synthetic counts with weekly (and for sub-daily series hour-of-day) seasonality,
so every expectation below is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.errors import EscalationInsightsError
from analytics.trend_sources import long_counts
from analytics.trends import CountsError, IrregularSeriesError, detect_spikes, make_grid
from analytics.trends_baseline import BaselineConfig, evaluate
from analytics.trends_scan import backtest_scan, benjamini_hochberg, scan_series

WEEK = np.array([1.3, 1.1, 1.0, 1.0, 0.95, 0.55, 0.5])  # Monday peak, quiet weekend
HOUR = np.exp(-0.5 * ((np.arange(24) - 15) / 3.5) ** 2) + 0.1  # 3 pm peak
HOUR = HOUR / HOUR.mean()


def daily(base: float, days: int = 400, seed: int = 0, start: str = "2024-09-02", mult=None):
    """Poisson counts with weekly seasonality; ``mult`` multiplies the rate per day."""
    idx = pd.date_range(start, periods=days, freq="D")
    rate = base * WEEK[idx.day_of_week] * (1.0 if mult is None else mult)
    return pd.Series(np.random.default_rng(seed).poisson(rate), index=idx)


def overlaps(row: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> bool:
    return row["start"] <= last and row["end"] >= first


# --- detect_spikes: known anomalies ------------------------------------------------------


def test_spike_is_detected_on_its_day_and_reported_once():
    counts = daily(60, seed=1)
    day = counts.index[300]
    counts.iloc[300] += 180
    found = detect_spikes(counts)
    assert len(found) == 1
    row = found.iloc[0]
    assert overlaps(row, day, day)
    assert row["detected_at"] == day
    assert row["kind"] == "spike"
    assert row["observed"] > 2 * row["expected"]
    assert row["score"] == pytest.approx(-np.log10(row["p_value"]))


def test_ramp_is_detected_within_two_days_of_onset():
    days = 400
    onset = 300  # the rate is 1.25x on day 300, 1.5x on 301, ... 3.5x after ten days
    mult = 1 + np.clip((np.arange(days) - onset + 1) * 0.25, 0, 2.5)
    counts = daily(200, days=days, seed=2, mult=mult)
    found = detect_spikes(counts)
    assert len(found) == 1
    row = found.iloc[0]
    assert overlaps(row, counts.index[onset], counts.index[-1])
    assert row["detected_at"] <= counts.index[onset + 2]
    assert row["kind"] == "ramp"


def test_level_shift_is_one_window_and_becomes_the_new_baseline():
    days = 400
    mult = np.where(np.arange(days) >= 250, 2.2, 1.0)
    counts = daily(40, days=days, seed=3, mult=mult)
    found = detect_spikes(counts)
    assert len(found) == 1  # not one alert per elevated day
    row = found.iloc[0]
    assert overlaps(row, counts.index[250], counts.index[260])
    assert row["detected_at"] <= counts.index[252]
    assert row["kind"] == "level_shift"
    assert row["growth"] == pytest.approx(2.2, rel=0.15)
    assert not row["ongoing"]  # 150 days later the new level is the baseline
    assert row["end"] < counts.index[250 + 60]


@pytest.mark.parametrize("base", [3, 30, 300])
def test_clean_seasonal_series_raise_no_alert(base):
    for seed in range(5):
        assert detect_spikes(daily(base, seed=seed)).empty


def test_weekly_peak_is_forecast_not_flagged():
    counts = daily(80, seed=4)
    assert detect_spikes(counts).empty
    grid, _, _ = make_grid(counts.index, pd.Timedelta(days=1))
    ev = evaluate(
        counts.to_numpy(dtype=float)[None, :],
        np.zeros((1, grid.layout.n_days), bool),
        grid.layout,
        (1, 3, 7),
        BaselineConfig(),
        min_count=5,
        min_ratio=1.2,
    )
    forecast = pd.Series(ev.forecast[0], index=counts.index).iloc[100:]
    by_day = forecast.groupby(forecast.index.day_of_week).mean()
    np.testing.assert_allclose(by_day / by_day.mean(), WEEK / WEEK.mean(), rtol=0.1)


@pytest.mark.parametrize(("freq", "days"), [("1h", 70), ("5min", 24)])
def test_hour_of_day_seasonality_is_not_flagged_but_a_surge_is(freq, days):
    step = pd.Timedelta(freq)
    per_day = pd.Timedelta(days=1) // step
    idx = pd.date_range("2025-02-03", periods=days * per_day, freq=freq)
    rate = 150 / per_day * WEEK[idx.day_of_week] * HOUR[idx.hour]
    rng = np.random.default_rng(5)
    clean = pd.Series(rng.poisson(rate), index=idx)
    assert detect_spikes(clean, config=BaselineConfig(min_history_days=14)).empty

    surge_at = (days - 3) * per_day + 13 * per_day // 24  # 1 pm, three days before the end
    boosted = rate.copy()
    boosted[surge_at : surge_at + per_day // 8] *= 4  # three hours at 4x
    found = detect_spikes(pd.Series(rng.poisson(boosted), index=idx))
    assert len(found) == 1
    assert overlaps(found.iloc[0], idx[surge_at], idx[surge_at + per_day // 8 - 1])


def test_holiday_dips_do_not_alert_nor_inflate_the_following_weeks():
    hol = pd.date_range("2024-12-23", "2025-01-03", freq="D")
    idx = pd.date_range("2024-09-02", periods=300, freq="D")
    for seed in range(4):
        counts = daily(80, days=300, seed=seed, mult=np.where(idx.isin(hol), 0.25, 1.0))
        assert detect_spikes(counts, holidays=hol).empty
        assert detect_spikes(counts, holidays=set(hol.date)).empty  # dates work too
    # Without the holiday list the dip drags the baseline down and normal January
    # counts look like a surge: this is what the holiday handling prevents.
    assert not detect_spikes(counts).empty


def test_sparse_noise_is_quiet_but_a_real_sparse_burst_is_caught():
    alerts = sum(len(detect_spikes(daily(0.5, seed=seed))) for seed in range(50))
    assert alerts == 0
    counts = daily(0.5, seed=7)
    jump = counts.copy()
    jump.iloc[320] = 3  # 0 -> 3 in a series averaging 0.5 is noise
    assert detect_spikes(jump).empty
    jump.iloc[320] = 15  # 0 -> 15 is not
    found = detect_spikes(jump)
    assert len(found) == 1
    assert found.iloc[0]["detected_at"] == counts.index[320]


def test_empty_short_and_missing_values():
    assert detect_spikes(pd.Series([], index=pd.DatetimeIndex([]), dtype=float)).empty
    short = daily(50, days=10)
    short.iloc[-1] = 500
    assert detect_spikes(short).empty  # too little history to judge
    counts = daily(50, seed=8).astype(float)
    counts.iloc[100:110] = np.nan  # an outage: not observed, not zero
    assert detect_spikes(counts).empty


def test_gappy_index_needs_freq_and_counts_gaps_as_zero():
    counts = daily(50, seed=9)
    gappy = counts.drop(counts.index[[50, 51]])
    with pytest.raises(IrregularSeriesError, match="irregular"):
        detect_spikes(gappy)
    assert detect_spikes(gappy, freq="D").empty


@pytest.mark.parametrize(
    "index",
    [
        pd.DatetimeIndex(["2025-01-01", "2025-01-02", "2025-01-04", "2025-01-05 03:00"]),
        pd.date_range("2025-01-01", periods=20, freq="7D"),  # weekly: not a divisor of a day
        pd.date_range("2025-01-01", periods=20, freq="7min"),  # does not divide a day
        pd.RangeIndex(20),
    ],
)
def test_irregular_index_raises_the_named_error(index):
    counts = pd.Series(np.ones(len(index)), index=index)
    with pytest.raises(IrregularSeriesError) as info:
        detect_spikes(counts)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, EscalationInsightsError)


def test_time_zone_aware_daily_series_across_dst():
    counts = daily(50, seed=10)
    counts.index = counts.index.tz_localize("Europe/Berlin")
    counts.iloc[350] += 200
    found = detect_spikes(counts)
    assert len(found) == 1
    assert found.iloc[0]["detected_at"] == counts.index[350]


def test_hourly_series_across_both_dst_changes():
    idx = pd.date_range("2025-02-03", "2025-11-20", freq="1h", tz="Europe/Berlin")
    rate = 240 / 24 * WEEK[idx.day_of_week] * HOUR[idx.hour]
    counts = pd.Series(np.random.default_rng(12).poisson(rate), index=idx)
    assert detect_spikes(counts).empty  # the 23- and 25-hour days are not anomalies


def test_negative_counts_and_missing_columns_raise_the_named_error():
    counts = daily(5, days=30)
    counts.iloc[3] = -1
    with pytest.raises(CountsError):
        detect_spikes(counts)
    with pytest.raises(CountsError, match="count"):
        scan_series(pd.DataFrame({"series": ["a"], "period": [pd.Timestamp("2025-01-01")]}))


def test_baseline_uses_only_the_past():
    rng = np.random.default_rng(11)
    values = rng.poisson(30 * np.tile(WEEK, 60)[None, :] * np.ones((3, 1))).astype(float)
    values[1, 300:] *= 3  # the future must not change the past
    idx = pd.date_range("2024-01-01", periods=values.shape[1], freq="D")
    grid, _, _ = make_grid(idx, pd.Timedelta(days=1))
    cut = 280
    short_grid, _, _ = make_grid(idx[:cut], pd.Timedelta(days=1))
    kw = {"min_count": 5, "min_ratio": 1.2}
    full = evaluate(
        values,
        np.zeros((3, grid.layout.n_days), bool),
        grid.layout,
        (1, 3, 7),
        BaselineConfig(),
        **kw,
    )
    part = evaluate(
        values[:, :cut],
        np.zeros((3, cut), bool),
        short_grid.layout,
        (1, 3, 7),
        BaselineConfig(),
        **kw,
    )
    np.testing.assert_array_equal(full.p_value[:, :cut], part.p_value)
    np.testing.assert_array_equal(full.forecast[:, :cut], part.forecast)


# --- Benjamini–Hochberg ----------------------------------------------------------------------


def test_benjamini_hochberg_matches_a_hand_computed_example():
    p = np.array([0.01, 0.039, 0.029, 0.005, 0.20])
    rejected, q = benjamini_hochberg(p, 0.05)
    # sorted: .005 .01 .029 .039 .2 vs thresholds .01 .02 .03 .04 .05 -> the first four
    np.testing.assert_array_equal(rejected, [True, True, True, True, False])
    np.testing.assert_allclose(q, [0.025, 0.04875, 5 * 0.029 / 3, 0.025, 0.2])


def test_benjamini_hochberg_steps_up_ignores_nan_and_works_per_column():
    # 0.02 fails its own threshold (0.0125) but is rejected because 0.024 <= 2 * 0.05 / 4.
    p = np.array([0.02, np.nan, 0.024, 0.9, 0.9])
    rejected, q = benjamini_hochberg(p, 0.05)
    np.testing.assert_array_equal(rejected, [True, False, True, False, False])
    assert np.isnan(q[1])
    assert q[0] == pytest.approx(0.048)
    both, _ = benjamini_hochberg(np.stack([p, np.full(5, 0.5)], axis=1), 0.05)
    np.testing.assert_array_equal(both[:, 0], rejected)
    assert not both[:, 1].any()


# --- scans across many series ------------------------------------------------------------


def long_frame(n_series: int, days: int = 365, seed: int = 0, spikes: dict | None = None):
    """Long counts for series s0..s{n-1} with volumes from 0.5 to 300 a day."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2025-01-01", periods=days, freq="D")
    base = np.exp(np.linspace(np.log(0.5), np.log(300), n_series))
    rate = base[:, None] * WEEK[idx.day_of_week][None, :]
    values = rng.poisson(rng.gamma(50.0, rate / 50.0))  # mildly overdispersed
    for series, (day, extra) in (spikes or {}).items():
        values[series, day] += extra
    frame = pd.DataFrame(
        {
            "region": np.repeat([f"R{i % 4}" for i in range(n_series)], days),
            "series": np.repeat([f"s{i}" for i in range(n_series)], days),
            "period": np.tile(idx, n_series),
            "count": values.ravel(),
        }
    )
    return frame[frame["count"] > 0], idx  # long tables leave out zero rows


def test_scan_controls_false_alerts_across_clean_series():
    frame, _ = long_frame(300, seed=1)
    strict = backtest_scan(frame, fdr=0.01)
    assert len(strict) <= 2  # ~300 series-years: BH keeps it near zero
    loose = backtest_scan(frame, fdr=0.5)
    assert len(loose) > len(strict) + 5  # the correction is what keeps it quiet


def test_scan_finds_planted_spikes_and_reports_first_detection():
    spikes = {40: (300, 60), 150: (302, 400), 280: (304, 2000)}
    frame, idx = long_frame(300, seed=2, spikes=spikes)
    found = scan_series(frame, as_of=idx[306], fdr=0.01)
    assert set(found["series"]) == {"s40", "s150", "s280"}
    assert found["alert"].all()
    by_series = found.set_index("series")
    for series, (day, _) in spikes.items():
        assert by_series.loc[f"s{series}", "detected_at"] == idx[day]
        assert by_series.loc[f"s{series}", "kind"] == "spike"
    assert (found["q_value"] <= 0.01).all()
    everything = scan_series(frame, as_of=idx[306], alerts_only=False)
    assert len(everything) == 300
    assert everything["alert"].sum() == 3


def test_current_scan_agrees_with_the_backtest_on_a_long_history():
    spikes = {5: (495, 40), 30: (497, 300)}
    frame, idx = long_frame(40, days=500, seed=7, spikes=spikes)
    current = scan_series(frame)  # tests only the last 5 weeks, on trimmed history
    past = backtest_scan(frame)
    recent = past[past["detected_at"] > idx[-8]]
    assert set(current["series"]) == set(recent["series"]) == {"s5", "s30"}
    merged = current.merge(recent, on="series", suffixes=("", "_bt"))
    assert (merged["detected_at"] == merged["detected_at_bt"]).all()
    np.testing.assert_allclose(merged["p_value"], merged["p_value_bt"], rtol=1e-3)


def test_scan_volume_floor_and_as_of():
    # a 0.5/day series jumps to 8: surprising, but below a floor of 10 cases
    frame, idx = long_frame(40, seed=3, spikes={0: (300, 8)})
    assert "s0" not in set(backtest_scan(frame, min_volume=10)["series"])
    assert "s0" in set(backtest_scan(frame, min_volume=5)["series"])
    # as_of before the spike: nothing to see yet (no look-ahead)
    assert "s0" not in set(scan_series(frame, as_of=idx[299], min_volume=5)["series"])
    assert "s0" in set(scan_series(frame, as_of=idx[301], min_volume=5)["series"])


def test_scan_holidays_per_region():
    frame, idx = long_frame(40, seed=4)
    hol = pd.date_range("2025-06-02", periods=9, freq="D")
    dip = frame["period"].isin(hol) & (frame["region"] == "R1")
    frame.loc[dip, "count"] = (frame.loc[dip, "count"] * 0.2).round()
    with_hol = backtest_scan(frame, holidays={"R1": hol}, holiday_key="region")
    without = backtest_scan(frame)
    after = (without["region"] == "R1") & (without["detected_at"] > hol[-1])
    assert after.sum() >= 2  # the rebound after an unlisted dip looks like a surge
    assert not (with_hol["region"] == "R1").any()

    # Other regions' alerts are unchanged (their q-values may move: the family changed).
    def others(found):
        return found[found["region"] != "R1"].drop(columns="q_value").reset_index(drop=True)

    pd.testing.assert_frame_equal(others(with_hol), others(without))


def test_hourly_scan_finds_a_three_hour_surge():
    rng = np.random.default_rng(6)
    idx = pd.date_range("2025-03-03", periods=42 * 24, freq="1h")
    base = np.array([5.0, 20.0, 80.0, 200.0] * 10)[:, None]  # cases per day
    rate = base / 24 * WEEK[idx.day_of_week][None, :] * HOUR[idx.hour][None, :]
    surge = 40 * 24 + 14  # 2 pm, two days before the end
    rate[7, surge : surge + 3] *= 4
    values = rng.poisson(rate)
    frame = pd.DataFrame(
        {
            "series": np.repeat(np.arange(40), len(idx)),
            "period": np.tile(idx, 40),
            "count": values.ravel(),
        }
    )
    found = backtest_scan(frame[frame["count"] > 0], keys=["series"])
    assert set(found["series"]) == {7}
    assert idx[surge] <= found.iloc[0]["detected_at"] <= idx[surge + 2]


def test_long_counts_builds_dimensions_and_pairs():
    cases = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-01 11:00", "2025-01-02 09:00"]
            ),
            "region": ["NA", "EMEA", "NA"],
            "category": ["Scam", "Scam", None],
        }
    )
    out = long_counts(cases, ["region", ("region", "category")])
    assert set(out.columns) == {"dimension", "value", "period", "count"}
    pair = out[out["dimension"] == "region x category"]
    assert set(pair["value"]) == {"NA / Scam", "EMEA / Scam", "NA / (missing)"}
    assert out.loc[out["value"] == "NA", "count"].sum() == 2
