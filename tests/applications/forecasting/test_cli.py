"""The forecasting example through its real command line: train, results, predict, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.helpers import run_cli


def write_co2_csv(path) -> None:
    import statsmodels.api as sm

    frame = sm.datasets.co2.load_pandas().data
    frame.index.name = "week"
    frame.to_csv(path)


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    """A short TCN run on statsmodels' bundled weekly CO2 (59 missing weeks), all baselines on."""
    base = tmp_path_factory.mktemp("forecast_run")
    run_cli(
        "run", "forecasting", "--preset", "smoke", "--dataset", "co2", "--max-train-windows", "0", "--epochs", "4",
        "--learning-rate", "0.003", "--statistical-baselines", "--baseline-fit-rows", "300",
        "--arima-order", "1", "1", "1", "--seasonal-order", "0", "0", "0", "0", "--run-tag", "cli",
        "--workdir", str(base / "work"), "--results-dir", str(base / "results"),
    )
    return base


def test_forecast_run_reports_the_model_beside_every_baseline(forecast_run):
    run_dir = forecast_run / "results" / "forecasting" / "co2" / "smoke-tcn-cli"  # named by --run-tag
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "mae" and metrics["headline"]["higher_is_better"] is False
    assert set(metrics["baselines"]) == {"persistence", "seasonal_naive", "sarima", "holt_winters"}
    persistence = metrics["baselines"]["persistence"]["mae"]
    # 13 weeks ahead, persistence misses the seasonal cycle (several ppm); a trained TCN must not.
    assert metrics["headline"]["value"] < persistence
    assert metrics["metrics"]["horizon"] == 13 and len(metrics["metrics"]["per_step"]["mae"]) == 13
    assert 0.0 <= metrics["metrics"]["test_interval_coverage"] <= 1.0
    assert metrics["skipped"]["skipped"]["missing 'co2' value in a gap longer than 3 (series split there)"]["count"] == 35
    rows = (run_dir / "error_by_horizon.csv").read_text().strip().splitlines()
    assert rows[0].startswith("step,tcn,persistence") and len(rows) == 14
    for name in ("forecast", "error_by_horizon", "mae_vs_baselines", "learning_curves"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000
    assert (forecast_run / "work" / "model.keras").exists() and (forecast_run / "work" / "model.json").exists()


def test_predict_writes_the_next_horizon_with_intervals(forecast_run, tmp_path):
    series = tmp_path / "co2.csv"
    write_co2_csv(series)
    result = run_cli("predict", "forecasting", "--model", str(forecast_run / "work" / "model.keras"),
                     "--csv", str(series), "--output-dir", str(tmp_path / "out"))
    forecast = pd.read_csv(tmp_path / "out" / "forecast.csv", parse_dates=["time"])
    assert len(forecast) == 13 and forecast["time"].iloc[0] == pd.Timestamp("2002-01-05")
    assert (forecast["co2_lower"] <= forecast["co2"]).all() and (forecast["co2"] <= forecast["co2_upper"]).all()
    assert 360 < forecast["co2"].mean() < 385  # ppm around the end of 2001
    assert (tmp_path / "out" / "forecast.png").stat().st_size > 1000 and "wrote" in result.stdout


def write_ohlcv(path, days: int = 420, seed: int = 0) -> pd.DataFrame:
    """A random-walk OHLCV CSV in the usual download layout, newest first, with one duplicate row."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=days)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, days)))
    open_ = close * np.exp(rng.normal(0, 0.004, days))
    frame = pd.DataFrame({
        "Date": dates.strftime("%Y-%m-%d"), "Open": open_.round(4),
        "High": (np.maximum(open_, close) * 1.01).round(4), "Low": (np.minimum(open_, close) * 0.99).round(4),
        "Close": close.round(4), "Adj Close": close.round(4), "Volume": rng.integers(1e5, 1e6, days),
    })
    shuffled = pd.concat([frame.iloc[::-1], frame.iloc[[10]]])
    shuffled.to_csv(path, index=False)
    return frame


def test_financial_run_on_a_user_ohlcv_csv(tmp_path):
    prices = write_ohlcv(tmp_path / "prices.csv")
    run_cli("run", "forecasting", "--preset", "smoke", "--task", "financial", "--dataset", "csv",
            "--csv-path", str(tmp_path / "prices.csv"), "--model", "lstm",
            "--workdir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results"))
    metrics = json.loads((tmp_path / "results" / "forecasting" / "prices" / "smoke-financial-lstm" / "metrics.json").read_text())
    assert metrics["skipped"]["skipped"]["duplicate timestamp (first row kept)"]["count"] == 1
    # Newest first: every one of the 419 steps goes back in time until sorted.
    assert metrics["skipped"]["repaired"]["timestamp out of order (sorted)"]["count"] == 419
    returns = np.diff(np.log(prices["Close"].to_numpy()))
    test_returns = returns[-metrics["metrics"]["test_windows"] - 4: -4]  # the last 4 lack a 5-day volatility
    # The random walk forecasts a zero return: its MAE is the mean absolute test return.
    assert metrics["baselines"]["random_walk"]["mae"] == pytest.approx(np.mean(np.abs(test_returns)), rel=1e-3)
    assert 0.0 <= metrics["metrics"]["return_directional_accuracy"] <= 1.0
    assert {"drift", "ewma_volatility", "rolling_volatility"} <= set(metrics["baselines"])
    result = run_cli("predict", "forecasting", "--model", str(tmp_path / "work" / "model.keras"),
                     "--csv", str(tmp_path / "prices.csv"), "--output-dir", str(tmp_path / "out"), "--name", "next")
    row = pd.read_csv(tmp_path / "out" / "next.csv").iloc[0]
    assert row["date"] == "2021-08-11" and row["close_lower"] <= row["predicted_close"] <= row["close_upper"]
    assert "predicted_volatility" in result.stdout


def test_anomaly_run_finds_injected_spikes(tmp_path):
    run_cli("run", "forecasting", "--preset", "smoke", "--task", "anomaly", "--dataset", "co2", "--epochs", "6",
            "--max-train-windows", "0", "--workdir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results"))
    run_dir = tmp_path / "results" / "forecasting" / "co2" / "smoke-anomaly-autoencoder-epochs6-max_train_windows0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "f1" and metrics["metrics"]["injected_spikes"] == 20
    assert metrics["metrics"]["injected_recall"] >= 0.5  # 3-5 sigma spikes on a smooth seasonal series
    assert "rolling_zscore" in metrics["baselines"]
    plots_dir = run_dir / "plots"
    assert (plots_dir / "flagged_test_points.png").exists() and (plots_dir / "injected_spikes.png").exists()
    # The saved detector scores a user's CSV: a spike added to the series is flagged.
    from applications.forecasting import predict

    series = tmp_path / "co2.csv"
    write_co2_csv(series)
    frame = pd.read_csv(series)
    frame.loc[2000, "co2"] += 8.0  # ppm: a spike far outside the weekly noise
    frame.to_csv(series, index=False)
    table, _, card = predict.predict_csv(str(tmp_path / "work" / "model.keras"), str(series))
    assert card["task"] == "anomaly" and len(table) == 2284
    assert table.loc[table["anomaly"], "time"].astype(str).str.startswith(frame.loc[2000, "week"][:10]).any()


def test_irregular_or_short_series_missing_columns_and_wrong_task_are_refused(tmp_path):
    from applications.forecasting import train
    from applications.forecasting.config import ForecastingConfig
    from common.errors import ConfigError, DataError

    short = tmp_path / "short.csv"
    pd.DataFrame({"day": pd.date_range("2024-01-01", periods=40).strftime("%Y-%m-%d"), "sales": np.arange(40)}).to_csv(short, index=False)
    config = ForecastingConfig.smoke().replace(dataset="csv", csv_path=str(short), target_columns=("sales",),
                                               input_window=30, horizon=14)
    with pytest.raises(DataError, match="40 rows is shorter than window \\+ horizon \\(30 \\+ 14\\)"):
        train.train_and_evaluate(config, workdir=str(tmp_path / "work"), results_dir=str(tmp_path / "results"))
    with pytest.raises(DataError, match="expected column\\(s\\) \\['price'\\].*'sales'"):
        train.train_and_evaluate(config.replace(target_columns=("price",)), results_dir=str(tmp_path / "results"))
    irregular = tmp_path / "irregular.csv"
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(np.random.default_rng(0).integers(1, 90, 300)), unit="min")
    pd.DataFrame({"time": times, "value": np.arange(300.0)}).to_csv(irregular, index=False)
    with pytest.raises(DataError, match="irregularly spaced.*--frequency"):
        train.train_and_evaluate(ForecastingConfig.smoke().replace(dataset="csv", csv_path=str(irregular),
                                                                   target_columns=("value",)))
    with pytest.raises(ConfigError, match="--task financial reads OHLCV prices"):
        ForecastingConfig.smoke().replace(task="financial", dataset="co2")
    assert not (tmp_path / "results").exists()


def test_list_and_help_describe_the_domain():
    listing = run_cli("list").stdout
    assert "forecasting:" in listing and "pollution" in listing and "daily_min_temperatures" in listing
    help_text = run_cli("run", "forecasting", "--help").stdout
    assert "--input-window" in help_text and "--task" in help_text and "--baseline-fit-rows" in help_text
