"""Forecasting settings and presets.

Three tasks share one config (their knobs are the same windows, models and training):

- ``forecast``: multi-step forecasts of a series' target column(s) by an LSTM, a TCN or a
  Transformer encoder, beside persistence, seasonal naive, SARIMA and Holt-Winters.
- ``financial``: next-day log return and next-days realised volatility from OHLCV prices,
  beside the random walk and EWMA / rolling volatility.
- ``anomaly``: a convolutional autoencoder on normal windows; points whose reconstruction error
  passes a threshold chosen on validation data are flagged.

Window, horizon and evaluation stride default (0) to the dataset's own problem (data.SPECS):
PM2.5 forecasts the next 24 hours from the previous 72, one origin a day; the daily minimum
temperature forecasts the next day.

Presets (measured figures are in results/forecasting/ and the domain README):

- ``smoke``: a slice of the data, one short epoch, no SARIMA; seconds, for tests.
- ``quick``: ``keras-applied run forecasting --preset quick``: the TCN; <= 10 minutes on 2 CPU
  cores. Target: PM2.5 test MAE <= 0.9x the best baseline; daily minimum temperature below SARIMAX.
- ``full``: all three models and their mean (an ensemble), up to 20 epochs each.
"""

from __future__ import annotations

import dataclasses

from common.config import ConfigError, RunConfig, option

TASKS = ("forecast", "financial", "anomaly")
DATASETS = (
    "auto", "pollution", "daily_min_temperatures", "monthly_sunspots", "airline_passengers",
    "co2", "sunspots", "macrodata", "nile", "jena_climate", "goog", "csv",
)
MODELS = ("lstm", "tcn", "transformer", "all")


@dataclasses.dataclass(frozen=True)
class ForecastingConfig(RunConfig):
    task: str = option("forecast", "'forecast' (multi-step forecasting), 'financial' (OHLCV returns "
                       "and volatility) or 'anomaly' (autoencoder anomaly detection).", choices=TASKS)
    dataset: str = option(
        "auto",
        "'pollution', 'daily_min_temperatures', 'monthly_sunspots', 'airline_passengers' (CSV files "
        "under --data-dir); 'co2', 'sunspots', 'macrodata', 'nile' (bundled with statsmodels); "
        "'goog' (daily OHLCV bundled with matplotlib); 'jena_climate' (downloaded when online); "
        "'csv' (--csv-path); 'auto': pollution where found, else co2 (financial: goog; anomaly: "
        "daily_min_temperatures where found, else co2).",
        choices=DATASETS,
    )
    csv_path: str = option("", "A CSV file for --dataset csv: a timestamp column and value columns "
                           "(financial: Date, Open, High, Low, Close, Volume); its name names the "
                           "results folder (results/forecasting/<file stem>/).", role="data")
    time_column: str = option("", "Timestamp column of --csv-path ('' = the first column).")
    target_columns: tuple[str, ...] = option((), "Column(s) to forecast ('' = the dataset's own).")
    covariate_columns: tuple[str, ...] = option((), "Numeric input-only columns (with --target-columns).")
    categorical_columns: tuple[str, ...] = option((), "Categorical input columns, one-hot encoded.")
    frequency: str = option("", "Pandas frequency alias ('h', 'D', 'W-SUN', 'MS' ...). Irregular "
                            "timestamps are resampled (mean) to it; '' infers it and refuses irregular spacing.")
    use_covariates: bool = option(True, "Feed the dataset's covariates (weather for PM2.5) to the models.")
    calendar_features: bool = option(True, "Add sine/cosine encodings of hour, weekday and day of year.")
    max_gap: int = option(3, "Interpolate gaps of at most this many missing values; longer gaps split the series.", minimum=0)
    input_window: int = option(0, "Input steps per window (0: the dataset's default, e.g. 72 hours).", minimum=0)
    horizon: int = option(0, "Steps forecast from each origin (0: the dataset's default, e.g. 24 hours).", minimum=0)
    stride: int = option(1, "Spacing of training origins (1: every step).", minimum=1)
    eval_stride: int = option(0, "Spacing of validation/test origins (0: the dataset's default; 24 "
                              "for hourly data = one forecast a day).", minimum=0)
    validation_fraction: float = option(0.1, "Chronological share of the series for validation.", minimum=0.01)
    test_fraction: float = option(0.2, "Chronological share at the end of the series for testing.", minimum=0.01)
    target_transform: str = option("auto", "Transform of the targets before scaling: 'log1p' for skewed "
                                   "positive series, 'none', or 'auto' (the dataset's default).",
                                   choices=("auto", "none", "log1p"))
    max_train_windows: int = option(0, "Use at most this many training windows, the latest ones (0: all); for smoke runs.", minimum=0)
    model: str = option("tcn", "'lstm', 'tcn', 'transformer', or 'all' (one results folder per model).", choices=MODELS)
    units: int = option(64, "LSTM units / TCN filters / Transformer model width.", minimum=1)
    num_layers: int = option(2, "LSTM layers / Transformer encoder blocks.", minimum=1)
    dilations: tuple[int, ...] = option((1, 2, 4, 8, 16), "TCN dilation per residual block.", minimum=1)
    kernel_size: int = option(3, "TCN kernel size (autoencoder: 7).", minimum=2)
    heads: int = option(4, "Transformer attention heads.", minimum=1)
    dropout_rate: float = option(0.1, "Dropout rate.", minimum=0.0)
    residual: bool = option(True, "Forecast the change from each target's last value (a persistence skip connection).")
    window_centering: str = option("auto", "'last_value': the network sees the targets relative to their last value "
                                   "(for trending series); 'none'; 'auto': the dataset's default (csv: last_value).",
                                   choices=("auto", "none", "last_value"))
    loss: str = option("mae", "Training loss on scaled targets.", choices=("mae", "mse", "huber"))
    weight_decay: float = option(1e-4, "AdamW decoupled weight decay.", minimum=0.0)
    patience: int = option(4, "Stop after this many epochs without validation improvement (0: never).", minimum=0)
    statistical_baselines: bool = option(True, "Fit SARIMA and Holt-Winters baselines (statsmodels).")
    baseline_fit_rows: int = option(5000, "Fit the statistical baselines on the last this many training rows (0: all).", minimum=0)
    arima_order: tuple[int, ...] = option((), "SARIMA (p, d, q) ('' = the dataset's default).", minimum=0)
    seasonal_order: tuple[int, ...] = option((), "SARIMA seasonal (P, D, Q, s) ('' = the dataset's default).", minimum=0)
    interval_coverage: float = option(0.9, "Central coverage of the prediction intervals (from validation residual quantiles).", minimum=0.5)
    volatility_horizon: int = option(5, "Financial: days of future returns whose realised volatility is forecast.", minimum=1)
    anomaly_quantile: float = option(0.995, "Anomaly: the threshold is this quantile of the validation reconstruction errors.", minimum=0.5)
    injected_anomalies: int = option(20, "Anomaly: spikes injected into a copy of the test span to measure recall/precision.", minimum=0)

    def validate(self) -> None:
        super().validate()
        if self.validation_fraction + self.test_fraction >= 0.6:
            raise ConfigError(
                f"validation_fraction + test_fraction must be < 0.6 (received {self.validation_fraction} + "
                f"{self.test_fraction}); the training span would be too short."
            )
        if self.dropout_rate >= 1:
            raise ConfigError(f"ForecastingConfig.dropout_rate must be < 1; received {self.dropout_rate}.")
        if self.interval_coverage >= 1 or self.anomaly_quantile >= 1:
            raise ConfigError("interval_coverage and anomaly_quantile must be < 1; received "
                              f"{self.interval_coverage} and {self.anomaly_quantile}.")
        if self.window_centering == "last_value" and not self.residual:
            raise ConfigError("--window-centering last_value needs --residual (the level is added back by it).")
        if self.dataset == "csv" and not self.csv_path:
            raise ConfigError("--dataset csv needs --csv-path FILE.")
        if self.csv_path and self.dataset != "csv":
            raise ConfigError(f"--csv-path is read only with --dataset csv; received --dataset {self.dataset!r}.")
        if self.arima_order and len(self.arima_order) != 3:
            raise ConfigError(f"--arima-order takes 3 numbers (p d q); received {list(self.arima_order)}.")
        if self.seasonal_order and len(self.seasonal_order) != 4:
            raise ConfigError(f"--seasonal-order takes 4 numbers (P D Q s); received {list(self.seasonal_order)}.")
        if self.model == "transformer" and self.units % self.heads:
            raise ConfigError(f"--units ({self.units}) must be divisible by --heads ({self.heads}) for the Transformer.")
        if self.task == "financial" and self.dataset not in ("auto", "goog", "csv"):
            raise ConfigError(f"--task financial reads OHLCV prices: --dataset goog (bundled) or csv; received {self.dataset!r}.")

    # batch_size is capped at a twentieth of the training windows (at least 20 steps an epoch).

    @classmethod
    def smoke(cls) -> ForecastingConfig:
        return cls(preset="smoke", epochs=1, batch_size=64, max_train_windows=512, units=16, num_layers=1,
                   dilations=(1, 2, 4), statistical_baselines=False, patience=0)

    @classmethod
    def quick(cls) -> ForecastingConfig:
        return cls(preset="quick", epochs=12, batch_size=256, learning_rate=2e-3, units=64, patience=3)

    @classmethod
    def full(cls) -> ForecastingConfig:
        # All three models and their mean, each in its own results folder, beside the same baselines.
        return cls(preset="full", model="all", epochs=20, batch_size=256, learning_rate=2e-3, units=64, patience=4)
