"""Time-series forecasting: LSTM, temporal convolution network and Transformer encoder against
persistence, seasonal naive and statsmodels baselines; financial returns and volatility from
OHLCV prices; anomaly detection with a convolutional autoencoder."""

from applications.registry import Domain

DOMAIN = Domain(
    name="forecasting",
    order=5,
    summary="Time-series forecasting (LSTM / TCN / Transformer vs persistence, seasonal naive, SARIMA, "
    "Holt-Winters), financial returns and volatility, autoencoder anomaly detection.",
    config_class="applications.forecasting.config:ForecastingConfig",
    extra="forecasting",
    requires=("statsmodels",),
    fallback=("--dataset", "auto"),
    run_all=(
        ("--dataset", "pollution"),
        ("--dataset", "daily_min_temperatures"),
        ("--task", "financial"),
        ("--task", "anomaly"),
    ),
)
