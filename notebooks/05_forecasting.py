# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Forecasting: deep models against honest baselines
#
# This tutorial runs the forecasting example of keras-applied and reads what it wrote. Every
# step calls the package (`applications.forecasting`), so the notebook and the command
# `keras-applied run forecasting` are the same code.
#
# You will see:
# 1. how a series is cleaned (gaps, duplicates, irregular spacing) and cut into windows;
# 2. the baselines every model is judged against, on exactly the same test windows:
#    persistence, seasonal naive, SARIMA and Holt-Winters;
# 3. three forecasters (LSTM, temporal convolution network, Transformer encoder) trained
#    through the shared `fit()` setup, and their forecasts with prediction intervals;
# 4. the financial task (next-day returns and volatility from OHLCV prices, against the random
#    walk) and the anomaly task (a convolutional autoencoder).
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). With `KERAS_APPLIED_DATA_DIR` pointing at the shared data the main series is Beijing
# PM2.5 (hourly, with weather); without it, statsmodels' bundled weekly CO2 series.

# %%
import os
import tempfile

import numpy as np
from IPython.display import Image, display

from applications.forecasting import baselines, data, models, predict, train
from applications.forecasting.config import ForecastingConfig
from common import plots

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = ForecastingConfig.from_preset(PRESET)
print(config.command("forecasting"))

# %% [markdown]
# ## 1. The series, cleaned
#
# `data.load` resolves the dataset (a local folder, an online URL, or a series bundled with an
# installed package), then puts it on a regular time grid. Short gaps are interpolated; longer
# ones stay missing and split the series, so no window ever bridges them. Every repair is
# counted (and lands in `metrics.json`).

# %%
series = train.load_series(config)
problem = train.resolve_problem(config, series.name, series.season)
print(series.name, "from the", series.source, "source:", len(series.frame), "rows at frequency", series.frequency)
print("inputs:", series.input_columns)
print("skipped:", series.skipped.to_dict())
print("repaired:", series.repaired.to_dict())
target = series.frame[series.target_columns[0]]
plots.forecast(target.index, target.to_numpy(), {}, title=f"{series.name}: {series.target_columns[0]}",
               ylabel=series.target_columns[0])

# %% [markdown]
# ## 2. Windows and baselines
#
# A window is `window` rows of inputs ending at an origin and the `horizon` rows after it as the
# target. The split is chronological (70 / 10 / 20 %); a window belongs to the split its targets
# fall in. Scaling statistics come from the training span only. The baselines forecast the very
# same test origins.

# %%
complete = np.isfinite(series.values).all(axis=1)
windows = data.make_windows(complete, window=problem.window, horizon=problem.horizon,
                            eval_stride=problem.eval_stride, what=series.name)
print(f"window {problem.window}, horizon {problem.horizon}:",
      {split: len(getattr(windows, split)) for split in ("train", "validation", "test")})
y = series.targets[:, 0].astype(float)
y_true = data.gather_targets(series.targets[:, :1], windows.test, problem.horizon)[..., 0]
for name, forecast in {
    "persistence": baselines.persistence(y, windows.test, problem.horizon),
    "seasonal naive": baselines.seasonal_naive(y, windows.test, problem.horizon, problem.season),
}.items():
    print(f"{name:>15}: test MAE {np.mean(np.abs(forecast - y_true)):.4g}")

# %% [markdown]
# ## 3. The forecasters
#
# All three map `[batch, window, features]` to a direct multi-step forecast
# `[batch, horizon, targets]`. With the residual connection the network learns the change from
# each target's last value (the persistence forecast it has to beat). The Transformer computes
# its sinusoidal position encoding inside a layer's `call()`, so it works on every backend.

# %%
for name in models.MODELS:
    model = train.build_forecaster(config, name, window=problem.window, num_features=len(series.input_columns),
                                   horizon=problem.horizon, num_targets=1, residual=True)
    print(f"{name:>12}: {model.count_params():,} parameters")
model.summary(line_length=100)

# %% [markdown]
# ## 4. Train and evaluate
#
# `train.train_and_evaluate` is the one entry point the command line, this notebook and the
# tests share. It fits SARIMA and Holt-Winters once on the training span and forecasts every
# origin by running their Kalman filter on with fixed parameters; then it trains the model(s)
# and writes `results/forecasting/<dataset>/<preset>-<model>/`.

# %%
metrics = train.train_and_evaluate(config)
print(f"{metrics['model']}: test MAE {metrics['test_mae']:.4g}; best baseline {metrics['best_baseline']} "
      f"{metrics['best_baseline_mae']:.4g} (ratio {metrics['mae_ratio_to_best_baseline']:.3f})")
metrics["baselines"]

# %%
run_dir = metrics["results_dir"]
for name in ("forecast", "error_by_horizon", "mae_vs_baselines"):
    display(Image(filename=os.path.join(run_dir, "plots", f"{name}.png")))

# %% [markdown]
# ## 5. Forecast from a CSV with the saved model
#
# `predict.predict_csv` cleans a CSV the way training data was cleaned, forecasts the next
# horizon from its last window and adds intervals from the validation residual quantiles.

# %%
folder = tempfile.mkdtemp()
csv_path = os.path.join(folder, "recent.csv")
raw = data.read_local(series.name, config.data_dir) if series.source == "local" else data.read_bundled(series.name)
raw.iloc[-10 * problem.window:].to_csv(csv_path, index=False)  # the raw file layout: time + value columns
table, figure, card = predict.predict_csv(metrics["model_path"], csv_path)
print(table.head())
display(figure)

# %% [markdown]
# ## 6. Financial series: returns and volatility
#
# From daily OHLCV prices (matplotlib bundles GOOG 2004-2008; any CSV with Date, Open, High,
# Low, Close, Volume works) the model forecasts tomorrow's log return and the realised volatility
# of the next days. Beating the random walk on returns is not expected; the directional accuracy
# is shown beside the share of up days.

# %%
financial = train.train_and_evaluate(config.replace(task="financial", dataset="goog"))
print(f"return MAE {financial['test_mae']:.5f} vs random walk {financial['random_walk_mae']:.5f}; "
      f"directional accuracy {financial['directional_accuracy']:.3f}")
print(f"volatility MAE {financial['volatility_mae']:.5f} vs EWMA {financial['ewma_volatility_mae']:.5f}")
display(Image(filename=os.path.join(financial["results_dir"], "plots", "volatility.png")))

# %% [markdown]
# ## 7. Anomaly detection
#
# A convolutional autoencoder learns normal windows; points it reconstructs badly are flagged,
# with the threshold set on validation data. Detection is measured with spikes injected into a
# copy of the test span, beside a rolling robust z-score detector.

# %%
anomalies = train.train_and_evaluate(config.replace(task="anomaly"))
print(f"injected-spike F1 {anomalies['injected_f1']:.3f} (rolling z-score {anomalies['rolling_zscore_f1']:.3f}); "
      f"{anomalies['test_points_flagged']} real test points flagged")
display(Image(filename=os.path.join(anomalies["results_dir"], "plots", "injected_spikes.png")))

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run forecasting --preset full` trains all three
#   models on PM2.5 (and their mean), each reported beside the four baselines.
# - `--dataset csv --csv-path FILE --time-column C --target-columns Y` forecasts your own series;
#   `--frequency h` resamples irregular timestamps.
# - `keras-applied benchmark forecasting` times the statistical fits (fit once and filter vs
#   refit per origin) and the models' training and inference speed.
