"""Financial series from OHLCV prices: next-day log return and next-days realised volatility.

From daily Open, High, Low, Close, Volume rows (one step per trading day, whatever the dates)
the inputs are the log return, the high-low range, the open-close body, the overnight gap and the
volume change; the two targets at the row after an origin are

- ``log_return``: log(Close[t+1] / Close[t]);
- ``future_volatility``: sqrt(mean(log_return[t+1 .. t+K] ** 2)), the realised volatility of the
  next K = ``volatility_horizon`` daily returns, learnt as its logarithm (so forecasts and their
  intervals stay positive).

Baselines on the same test days: the random walk (a zero return; the price stays where it is),
the training-mean drift, and for volatility the RiskMetrics EWMA (lambda 0.94), the rolling
20-day standard deviation and the training standard deviation. Beating the random walk on
returns is not expected (markets are close to efficient); the directional accuracy is reported
beside the share of up days, the accuracy of always guessing "up".
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from applications.forecasting import baselines, data
from applications.forecasting.config import ForecastingConfig
from common import evaluation, paths, plots, results, saving, training

DOMAIN = "forecasting"
log = logging.getLogger("keras_applied.forecasting")
FEATURES = ("log_return", "high_low", "close_open", "overnight", "volume_change")
TARGETS = ("log_return", "future_volatility")  # what is reported; the model learns log volatility
VOLATILITY_FLOOR = 1e-6  # five unchanged closes in a row have zero volatility; its log needs a floor
PRICE_COLUMNS = ("Open", "High", "Low", "Close", "Volume")


def load_prices(config: ForecastingConfig) -> tuple[pd.DataFrame, str, str, Any, Any]:
    """(clean OHLCV frame, dataset name, source, skipped, repaired) for goog or a user CSV."""
    if config.dataset == "csv":
        raw = data.read_ohlcv(config.csv_path, config.time_column or "Date")
        name, source = Path(config.csv_path).stem, "csv"
    else:
        raw, source = data.read_goog(), "bundled"
        name = "goog"
    frame, _, skipped, repaired = data.clean(raw, numeric_columns=PRICE_COLUMNS, frequency=data.ROWS,
                                             max_gap=config.max_gap, what=name)
    prices = frame[["Open", "High", "Low", "Close"]]
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        skipped.add("non-positive price (row treated as missing)", frame.index[bad][0], int(bad.sum()))
        frame.loc[bad, list(PRICE_COLUMNS)] = np.nan
    return frame, name, source, skipped, repaired


def ohlcv_features(frame: pd.DataFrame, *, calendar: bool, volatility_horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(inputs, targets) tables of an OHLCV frame; see the module docstring."""
    close, open_ = frame["Close"], frame["Open"]
    log_return = np.log(close / close.shift(1))
    inputs = pd.DataFrame({
        "log_return": log_return,
        "high_low": np.log(frame["High"] / frame["Low"]),
        "close_open": np.log(close / open_),
        "overnight": np.log(open_ / close.shift(1)),
        "volume_change": np.log1p(frame["Volume"].clip(lower=0)).diff(),
    }, index=frame.index)
    if calendar:
        weekday = frame.index.dayofweek.to_numpy()
        inputs["weekday_sin"] = np.sin(2 * np.pi * weekday / 7)
        inputs["weekday_cos"] = np.cos(2 * np.pi * weekday / 7)
    squared = (log_return**2).to_numpy()
    # future_volatility[i]: realised volatility of returns i .. i + K - 1 (the K days after origin i - 1).
    window_mean = pd.Series(squared[::-1]).rolling(volatility_horizon, min_periods=volatility_horizon).mean().to_numpy()[::-1]
    log_volatility = 0.5 * np.log(np.maximum(window_mean, VOLATILITY_FLOOR**2))
    targets = pd.DataFrame({"log_return": log_return, "log_future_volatility": log_volatility}, index=frame.index)
    return inputs.astype(np.float32), targets.astype(np.float32)


def to_reported(values: np.ndarray) -> np.ndarray:
    """[n, 2] model targets (log return, log volatility) -> (log return, volatility)."""
    values = np.array(values, dtype=float, copy=True)
    values[:, 1] = np.exp(values[:, 1])
    return values


def directional_accuracy(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of days with a non-zero return whose sign the forecast got right (0 counts as wrong)."""
    moved = actual != 0
    return float(np.mean(np.sign(predicted[moved]) == np.sign(actual[moved]))) if moved.any() else float("nan")


def return_report(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"mae": evaluation.mae(actual, predicted), "rmse": evaluation.rmse(actual, predicted),
            "directional_accuracy": directional_accuracy(actual, predicted)}


def volatility_report(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"volatility_mae": evaluation.mae(actual, predicted), "volatility_rmse": evaluation.rmse(actual, predicted),
            "volatility_correlation": float(np.corrcoef(actual, predicted)[0, 1]) if np.std(predicted) > 0 else float("nan")}


def train_and_evaluate(config: ForecastingConfig, workdir: str | Path | None = None,
                       results_dir: str | Path | None = None) -> dict[str, Any]:
    from applications.forecasting import train as train_lib

    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    frame, name, source, skipped, repaired = load_prices(config)
    inputs, targets = ohlcv_features(frame, calendar=config.calendar_features, volatility_horizon=config.volatility_horizon)
    window = config.input_window or data.SPECS["goog"].window
    complete = inputs.notna().all(axis=1).to_numpy() & targets.notna().all(axis=1).to_numpy()
    fractions = (1 - config.validation_fraction - config.test_fraction, config.validation_fraction, config.test_fraction)
    windows = data.make_windows(complete, window=window, horizon=1, fractions=fractions, stride=config.stride,
                                eval_stride=1, what=name)
    windows.train = train_lib.latest(windows.train, config.max_train_windows)
    config = train_lib.for_training_windows(config, len(windows.train))
    train_rows = slice(0, windows.bounds[0])
    input_scaler = data.Scaler.fit(inputs.to_numpy()[train_rows])
    target_scaler = data.Scaler.fit(targets.to_numpy()[train_rows])
    scaled_inputs = input_scaler.transform(inputs.to_numpy())
    scaled_targets = target_scaler.transform(targets.to_numpy())
    returns = targets["log_return"].to_numpy(float)
    # [n, 2] per split: in the model's space (log volatility) and as reported (volatility).
    actual_model = {split: targets.to_numpy(float)[getattr(windows, split) + 1] for split in ("validation", "test")}
    actual = {split: to_reported(values) for split, values in actual_model.items()}
    log.info("%s: %d trading days; window %d; %d train / %d validation / %d test days", name, len(frame), window,
             len(windows.train), len(windows.validation), len(windows.test))

    # Baselines on the test days.
    test = windows.test
    train_returns = returns[train_rows][np.isfinite(returns[train_rows])]
    drift = float(np.mean(train_returns))
    return_baselines = {
        "random_walk": np.zeros(len(test)),
        "drift": np.full(len(test), drift),
    }
    volatility_baselines = {
        "ewma_volatility": baselines.ewma_volatility(returns, test),
        "rolling_volatility": baselines.rolling_volatility(returns, test, 20),
        "train_volatility": np.full(len(test), float(np.std(train_returns))),
    }
    baseline_metrics = {n: return_report(actual["test"][:, 0], p) for n, p in return_baselines.items()}
    baseline_metrics.update({n: volatility_report(actual["test"][:, 1], p) for n, p in volatility_baselines.items()})
    up_share = float(np.mean(actual["test"][:, 0] > 0))

    outcomes = []
    for model_name in train_lib.model_names(config):
        started = time.perf_counter()
        with training.session_for(config) as session:
            batch_size = session.batch_size(config.batch_size)  # global, a multiple of the replicas
            # Named by the config as given (recorder.config), not the copy with a capped batch size.
            model_workdir = Path(workdir) / model_name if workdir and config.model == "all" else \
                paths.work_dir(DOMAIN, recorder.config.dataset_folder(name),
                               train_lib.run_name(recorder.config, model_name), workdir)
            make = lambda origins, shuffle=False, batch_size=batch_size: data.pipeline(  # noqa: E731
                scaled_inputs, scaled_targets, origins, window=window, horizon=1, batch_size=batch_size,
                shuffle=shuffle, seed=config.seed)
            train_ds, validation_ds, test_ds = make(windows.train, True), make(windows.validation), make(windows.test)
            model = train_lib.build_forecaster(config, model_name, window=window, num_features=scaled_inputs.shape[1],
                                               horizon=1, num_targets=len(TARGETS), residual=False)
            train_lib.compile_model(model, config, math.ceil(len(windows.train) / batch_size),
                                    session.learning_rate(config.learning_rate, config.batch_size))
            history = train_lib.fit(model, config, train_ds, validation_ds, model_workdir)
            train_seconds = time.perf_counter() - started

            predicted_model = {  # [n, 2]: log return, log future volatility
                split: target_scaler.inverse(np.asarray(training.predict(model, dataset), dtype=float)[:, 0, :])
                for split, dataset in (("validation", validation_ds), ("test", test_ds))
            }
            predicted = {split: to_reported(values) for split, values in predicted_model.items()}
            offsets = train_lib.interval_offsets(actual_model["validation"] - predicted_model["validation"],
                                                 config.interval_coverage)  # [2, 2] in the model's space
            metadata = {
                "domain": DOMAIN, "task": "financial", "dataset": name, "preset": config.preset, "model": model_name,
                "window": window, "horizon": 1, "volatility_horizon": config.volatility_horizon,
                "calendar_features": config.calendar_features, "max_gap": config.max_gap,
                "input_columns": list(inputs.columns), "target_columns": list(TARGETS),
                "input_scaler": input_scaler.to_dict(), "target_scaler": target_scaler.to_dict(),
                "interval_coverage": config.interval_coverage, "interval_offsets": offsets.tolist(),
                "time_column": config.time_column or "Date",
            }
            model_path = saving.save_model(model, Path(model_workdir) / "model.keras", metadata)

        returns_metrics = return_report(actual["test"][:, 0], predicted["test"][:, 0])
        vol_metrics = volatility_report(actual["test"][:, 1], predicted["test"][:, 1])
        lower, upper = to_reported(predicted_model["test"] + offsets[0]), to_reported(predicted_model["test"] + offsets[1])
        metrics = {
            **{f"return_{k}": v for k, v in returns_metrics.items()}, **vol_metrics,
            "random_walk_mae": baseline_metrics["random_walk"]["mae"],
            "return_mae_ratio_to_random_walk": returns_metrics["mae"] / baseline_metrics["random_walk"]["mae"],
            "beats_random_walk": bool(returns_metrics["mae"] < baseline_metrics["random_walk"]["mae"]),
            "up_day_share": up_share,
            "best_volatility_baseline": min(volatility_baselines, key=lambda n: baseline_metrics[n]["volatility_mae"]),
            "beats_every_volatility_baseline": bool(all(vol_metrics["volatility_mae"] < baseline_metrics[n]["volatility_mae"]
                                                        for n in volatility_baselines)),
            "test_interval_coverage": {t: train_lib.coverage(actual["test"][:, i], lower[:, i], upper[:, i])
                                       for i, t in enumerate(TARGETS)},
            "interval_coverage_target": config.interval_coverage,
            "window": window, "volatility_horizon": config.volatility_horizon,
            "test_period": [str(frame.index[test[0] + 1].date()), str(frame.index[test[-1] + 1].date())],
            "train_windows": len(windows.train), "validation_windows": len(windows.validation), "test_windows": len(test),
            "batch_size": batch_size, "replicas": session.distribution.replicas,
            "parameters": model.count_params(), "epochs_run": len(history.get("loss", [])),
            "train_seconds": round(train_seconds, 1), "data_source": source, "input_columns": list(inputs.columns),
        }
        dates = frame.index[test + 1]
        figures = {
            "returns_parity": plots.parity(actual["test"][:, 0], predicted["test"][:, 0],
                                           title=f"{model_name}: next-day log return (test)", label="log return"),
            "volatility": plots.forecast(
                dates, actual["test"][:, 1], {model_name: predicted["test"][:, 1], **volatility_baselines},
                interval=(lower[:, 1], upper[:, 1]),
                title=f"{config.volatility_horizon}-day realised volatility on {name} (test)", ylabel="daily volatility"),
            "return_mae_vs_baselines": plots.bars(
                {model_name: returns_metrics["mae"], **{n: baseline_metrics[n]["mae"] for n in return_baselines}},
                ylabel="test MAE (log return)", title="Next-day return: model vs random walk"),
            "volatility_mae_vs_baselines": plots.bars(
                {model_name: vol_metrics["volatility_mae"],
                 **{n: baseline_metrics[n]["volatility_mae"] for n in volatility_baselines}},
                ylabel="test MAE (volatility)", title="Realised volatility: model vs baselines"),
        }
        figures["volatility"].axes[0].tick_params(axis="x", labelrotation=25)
        if history:
            figures["learning_curves"] = plots.learning_curves(history, title=f"{model_name} on {name} (financial)")
        verdict = "beats" if metrics["beats_random_walk"] else "does NOT beat"
        log.info("%s return MAE %.5f vs random walk %.5f (%s it); directional accuracy %.3f (up days %.3f); "
                 "volatility MAE %.5f vs EWMA %.5f", model_name, returns_metrics["mae"],
                 baseline_metrics["random_walk"]["mae"], verdict, returns_metrics["directional_accuracy"], up_share,
                 vol_metrics["volatility_mae"], baseline_metrics["ewma_volatility"]["volatility_mae"])
        tables = {"test_predictions": [
            {"date": str(d.date()), "log_return": a[0], "predicted_log_return": p[0], "future_volatility": a[1],
             "predicted_volatility": p[1], "ewma_volatility": e}
            for d, a, p, e in zip(dates, actual["test"], predicted["test"], volatility_baselines["ewma_volatility"])]}
        run_dir = recorder.save(
            dataset=recorder.config.dataset_folder(name), run_name=train_lib.run_name(recorder.config, model_name),
            model=f"{model_name}(units={config.units})",
            headline=results.headline("mae", returns_metrics["mae"], higher_is_better=False),
            metrics=metrics, baselines=baseline_metrics, history=history,
            skipped={"skipped": skipped.to_dict(), "repaired": repaired.to_dict()}, figures=figures, tables=tables,
            policy=session.policy, extra={"model_path": str(model_path)},
        )
        outcomes.append({"model": model_name, "test_mae": returns_metrics["mae"],
                         "directional_accuracy": returns_metrics["directional_accuracy"],
                         "volatility_mae": vol_metrics["volatility_mae"],
                         "random_walk_mae": baseline_metrics["random_walk"]["mae"],
                         "ewma_volatility_mae": baseline_metrics["ewma_volatility"]["volatility_mae"],
                         "results_dir": str(run_dir), "model_path": str(model_path)})
    best = min(outcomes, key=lambda outcome: outcome["test_mae"])
    return {**best, "wall_time_seconds": recorder.elapsed()}


