"""Forecasting data: cleaning rules, windows, scaling and pipelines on tiny series (and the real files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from applications.forecasting import data
from common.errors import DataError


def raw_frame(times, **columns) -> pd.DataFrame:
    return pd.DataFrame({"time": pd.to_datetime(times), **columns})


def test_unsorted_and_duplicate_timestamps_are_sorted_and_counted():
    raw = raw_frame(["2020-01-03", "2020-01-01", "2020-01-02", "2020-01-02", "2020-01-04"],
                    value=["3", "1", "2", "99", "4"])
    frame, frequency, skipped, repaired = data.clean(raw, numeric_columns=["value"])
    assert frequency == "D" and frame["value"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert repaired.counts["timestamp out of order (sorted)"] == 1
    assert skipped.counts["duplicate timestamp (first row kept)"] == 1


def test_non_numeric_values_become_missing_and_are_counted():
    raw = raw_frame(pd.date_range("2020-01-01", periods=6, freq="h"), value=["1", "2", "oops", "4", "NA", "6"])
    frame, _, skipped, repaired = data.clean(raw, numeric_columns=["value"], max_gap=1)
    assert repaired.counts["non-numeric value in 'value' (treated as missing)"] == 1
    # "oops" and "NA" are single-value gaps: both interpolated.
    assert frame["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert repaired.counts["missing 'value' value filled (gaps of <= 1)"] == 2


def test_a_column_without_numbers_is_an_error_naming_it():
    raw = raw_frame(pd.date_range("2020-01-01", periods=4, freq="D"), city=["a", "b", "c", "d"])
    with pytest.raises(DataError, match="column 'city' holds no numbers"):
        data.clean(raw, numeric_columns=["city"])


def test_short_gaps_are_interpolated_and_long_gaps_split_the_series():
    values = np.arange(20, dtype=float)
    values[3] = np.nan  # short gap: filled
    values[10:15] = np.nan  # long gap: stays, splits the series
    raw = raw_frame(pd.date_range("2020-01-01", periods=20, freq="h"), value=values)
    frame, _, skipped, repaired = data.clean(raw, numeric_columns=["value"], max_gap=2)
    assert frame["value"].iloc[3] == 3.0 and frame["value"].iloc[10:15].isna().all()
    assert skipped.counts["missing 'value' value in a gap longer than 2 (series split there)"] == 5
    ids = data.segment_ids(frame["value"].notna().to_numpy())
    assert ids[:10].tolist() == [0] * 10 and ids[15:].tolist() == [1] * 5 and (ids[10:15] == -1).all()


def test_missing_periods_of_a_regular_series_are_added_as_missing():
    times = pd.date_range("2000-01-01", periods=24, freq="MS").delete([5, 6, 7, 8])
    raw = raw_frame(times, value=np.arange(20.0))
    frame, frequency, skipped, repaired = data.clean(raw, numeric_columns=["value"], max_gap=2)
    assert frequency == "MS" and len(frame) == 24
    assert repaired.counts["missing period (added as missing values)"] == 4
    assert frame["value"].isna().sum() == 4  # a 4-month gap is longer than max_gap


def test_irregular_spacing_is_an_error_unless_a_frequency_is_declared():
    times = pd.to_datetime(["2020-01-01 00:00", "2020-01-01 00:07", "2020-01-01 00:31", "2020-01-01 01:02",
                            "2020-01-01 01:40", "2020-01-01 02:15"])
    raw = raw_frame(times, value=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    with pytest.raises(DataError, match="irregularly spaced.*--frequency"):
        data.clean(raw, numeric_columns=["value"])
    frame, frequency, _, repaired = data.clean(raw, numeric_columns=["value"], frequency="h")
    assert frequency == "h" and frame["value"].tolist() == [2.0, 4.5, 6.0]
    assert repaired.counts["rows resampled to frequency 'h' (mean per period)"] == 6


def test_windows_never_cross_a_gap_and_splits_share_no_targets():
    complete = np.ones(200, bool)
    complete[90:95] = False
    windows = data.make_windows(complete, window=10, horizon=5, fractions=(0.6, 0.2, 0.2), eval_stride=1)
    for split in ("train", "validation", "test"):
        for origin in getattr(windows, split):
            assert complete[origin - 9: origin + 6].all()
    assert windows.train.max() + 5 < windows.bounds[0] <= windows.validation.min() + 1
    assert windows.validation.max() + 5 < windows.bounds[1] <= windows.test.min() + 1
    aligned = data.make_windows(complete, window=10, horizon=5, fractions=(0.6, 0.2, 0.2), eval_stride=24)
    assert aligned.test.tolist() == [167, 191] and ((aligned.validation + 1) % 24 == 0).all()


def test_a_series_shorter_than_window_plus_horizon_is_refused():
    with pytest.raises(DataError, match="shorter than window \\+ horizon \\(72 \\+ 24\\)"):
        data.make_windows(np.ones(50, bool), window=72, horizon=24)
    gappy = np.ones(300, bool)
    gappy[::40] = False
    with pytest.raises(DataError, match="no stretch of complete rows is as long as window \\+ horizon"):
        data.make_windows(gappy, window=72, horizon=24)


def test_scaler_is_fitted_on_training_rows_only_and_windows_have_the_right_rows():
    values = np.arange(100, dtype=np.float32)[:, None] * np.array([[1.0, 10.0]], np.float32)
    scaler = data.Scaler.fit(values[:70])
    assert np.allclose(scaler.mean, [34.5, 345.0])
    assert np.allclose(scaler.inverse(scaler.transform(values)), values, atol=1e-3)
    origins = np.array([9, 50])
    x = data.gather_windows(values, origins, 4)
    y = data.gather_targets(values[:, :1], origins, 3)
    assert x.shape == (2, 4, 2) and x[0, :, 0].tolist() == [6, 7, 8, 9]
    assert y.shape == (2, 3, 1) and y[1, :, 0].tolist() == [51, 52, 53]
    dataset = data.pipeline(values, values[:, :1], origins, window=4, horizon=3, batch_size=2)
    batch_x, batch_y = next(iter(dataset))
    assert batch_x.dtype.name == "float32" and np.allclose(batch_x.numpy(), x) and np.allclose(batch_y.numpy(), y)


def test_calendar_features_follow_the_frequency():
    hourly = data.calendar_features(pd.date_range("2020-01-01", periods=48, freq="h"), "h")
    assert list(hourly.columns) == ["hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "yearday_sin", "yearday_cos"]
    assert np.allclose(hourly["hour_sin"].iloc[0], 0.0) and np.allclose(hourly["hour_sin"].iloc[6], 1.0)
    monthly = data.calendar_features(pd.date_range("2020-01-01", periods=12, freq="MS"), "MS")
    assert list(monthly.columns) == ["month_sin", "month_cos"]


def test_user_csv_loads_with_named_columns_and_categories(tmp_path):
    times = pd.date_range("2021-01-01", periods=120, freq="h")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"when": times.astype(str), "load": rng.normal(50, 5, 120).round(2).astype(str),
                          "temp": rng.normal(10, 2, 120).round(2), "wind": rng.choice(["N", "S"], 120)})
    frame.loc[7, "load"] = "bad"
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    series = data.load("csv", csv_path=str(path), time_column="when", target_columns=["load"],
                       covariate_columns=["temp"], categorical_columns=["wind"])
    assert series.source == "csv" and series.frequency == "h" and series.target_columns == ["load"]
    assert series.input_columns[:4] == ["load", "temp", "wind=N", "wind=S"]
    assert series.repaired.counts["non-numeric value in 'load' (treated as missing)"] == 1
    with pytest.raises(DataError, match="expected column\\(s\\) \\['price'\\]"):
        data.load("csv", csv_path=str(path), time_column="when", target_columns=["price"])


def test_bundled_series_are_the_offline_default():
    co2 = data.load("co2")
    assert co2.source == "bundled" and co2.frequency == "W-SAT" and len(co2.frame) == 2284
    assert co2.skipped.total() + co2.repaired.total() == 59  # the 59 missing weeks, each counted
    goog = data.read_goog()
    assert len(goog) == 1047 and list(goog.columns) == ["time", "Open", "High", "Low", "Close", "Volume"]


def test_unknown_dataset_and_missing_local_files_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="Unknown forecasting dataset 'weather'"):
        data.load("weather")
    with pytest.raises(DataError, match="(?s)local:.*pollution/pollution.csv"):
        data.load("pollution", data_dir=str(tmp_path))
    assert data.resolve_auto("auto", str(tmp_path)) == "co2"
    with pytest.raises(DataError, match="(?s)online:.*unreachable.*jena_climate_2009_2016"):
        data.load("jena_climate")  # the tests run offline


def test_real_pollution_and_temperature_files(real_data_dir):
    pollution = data.load("pollution", data_dir=str(real_data_dir))
    assert len(pollution.frame) == 43824 and pollution.frequency == "h"
    # 2,067 missing pm2.5 values: each either filled (short gap) or left missing (long gap).
    assert pollution.skipped.total() + pollution.repaired.total() == 2067
    assert "cbwd=NW" in pollution.input_columns and "hour_sin" in pollution.input_columns
    temperatures = data.load("daily_min_temperatures", data_dir=str(real_data_dir))
    assert len(temperatures.frame) == 3652  # 3,650 rows + the two missing New Year's Eves
    assert temperatures.repaired.counts["missing period (added as missing values)"] == 2
