"""Anomaly detection: a convolutional autoencoder trained on normal windows of a series.

1. Windows lying wholly in the training span, each minus its own mean, are the training data,
   less the ones holding a value more than ``ROBUST_Z`` robust standard deviations (median / MAD)
   from the median: the autoencoder should learn what normal looks like.
2. Every point's score is its squared reconstruction error averaged over all the windows (stride 1)
   that cover it.
3. The threshold is the ``anomaly_quantile`` quantile of the validation span's point scores; test
   points above it are flagged (the peak of each run of consecutive ones: one flag per event)
   and plotted on the series.
4. The test span has no labels, so detection quality is measured on a copy of it with
   ``injected_anomalies`` spikes added (3 to 5 training standard deviations, random sign, seeded):
   precision, recall and F1 of the flags (a spike counts as found when a flag lands within one
   step of it), beside a rolling robust z-score detector whose threshold is chosen the same way.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from applications.forecasting import data, models
from applications.forecasting.config import ForecastingConfig
from common import data as data_lib
from common import paths, plots, results, saving, training

DOMAIN = "forecasting"
log = logging.getLogger("keras_applied.forecasting")
ROBUST_Z = 4.0
DEFAULT_WINDOW = 32
TOLERANCE = 1  # steps between an injected spike and a flag that counts as finding it


def window_origins(complete: np.ndarray, window: int) -> np.ndarray:
    """Origins (last row) of every window of complete rows within one segment."""
    ids = data.segment_ids(np.asarray(complete, bool))
    origins = np.arange(window - 1, len(complete))
    first = origins - window + 1
    return origins[(ids[first] >= 0) & (ids[first] == ids[origins])]


def centred_windows(scaled: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """[n, W, F] windows minus their own mean: the autoencoder sees shapes, not levels, so a
    trending series (CO2) is not flagged merely for having risen since training."""
    windows = data.gather_windows(scaled, origins, window)
    return (windows - windows.mean(axis=1, keepdims=True)).astype(np.float32)


def point_scores(model, scaled: np.ndarray, origins: np.ndarray, window: int, batch_size: int) -> np.ndarray:
    """[rows]: mean squared reconstruction error of each point over the windows covering it
    (NaN for points no window covers)."""
    windows = centred_windows(scaled, origins, window)  # [n, W, F]
    dataset = data_lib.make_pipeline(windows, batch_size=batch_size, cache=False)
    reconstructed = np.asarray(training.predict(model, dataset), dtype=float)
    errors = np.mean((reconstructed - windows) ** 2, axis=-1)  # [n, W]
    rows = origins[:, None] + np.arange(-window + 1, 1)[None, :]
    total, count = np.zeros(len(scaled)), np.zeros(len(scaled))
    np.add.at(total, rows, errors)
    np.add.at(count, rows, 1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def rolling_zscore(values: np.ndarray, window: int) -> np.ndarray:
    """|x - centred rolling median| / (1.4826 * rolling MAD): a classical spike detector."""
    import pandas as pd

    series = pd.Series(values)
    median = series.rolling(window, center=True, min_periods=3).median()
    mad = (series - median).abs().rolling(window, center=True, min_periods=3).median()
    return ((series - median).abs() / (1.4826 * mad + 1e-9)).to_numpy()


def inject_spikes(values: np.ndarray, start: int, stop: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``values`` ([rows], scaled) with ``count`` spikes in rows [start, stop)."""
    rng = np.random.default_rng(seed)
    candidates = np.arange(start + 2, stop - 2)
    candidates = candidates[np.isfinite(values[candidates])]
    count = min(count, len(candidates) // 5)
    positions = np.sort(rng.choice(candidates, size=count, replace=False)) if count else np.array([], int)
    injected = values.copy()
    injected[positions] += rng.choice([-1.0, 1.0], size=count) * rng.uniform(3.0, 5.0, size=count)
    return injected, positions


def peak_flags(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Points above ``threshold``, one per run of consecutive ones (its highest score): a spike
    raises the error of its neighbours too, and one event should be one flag."""
    above = np.nan_to_num(scores, nan=-np.inf) > threshold
    flags = np.zeros_like(above)
    start = None
    for index, flag in enumerate(np.append(above, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            flags[start + int(np.argmax(scores[start:index]))] = True
            start = None
    return flags


def detection_scores(flags: np.ndarray, positions: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """Precision / recall / F1 of flagged rows against injected positions (within TOLERANCE)."""
    flagged = rows[flags]
    found = np.array([np.any(np.abs(flagged - p) <= TOLERANCE) for p in positions]) if len(positions) else np.array([])
    near = np.array([np.any(np.abs(positions - f) <= TOLERANCE) for f in flagged]) if len(flagged) else np.array([])
    recall = float(found.mean()) if len(found) else float("nan")
    precision = float(near.mean()) if len(near) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "flagged": int(len(flagged)), "injected": int(len(positions))}


def flagged_figure(time_axis, values, flags, title: str, ylabel: str, injected=None):
    figure = plots.forecast(time_axis, values, {}, title=title, ylabel=ylabel)
    axis = figure.axes[0]
    if injected is not None and len(injected):
        axis.scatter(time_axis[injected], values[injected], s=60, facecolors="none", edgecolors="tab:orange",
                     label="injected spike", zorder=3)
    axis.scatter(time_axis[flags], values[flags], s=14, color="tab:red", label="flagged", zorder=4)
    axis.legend(fontsize=8)
    axis.tick_params(axis="x", labelrotation=25)
    return figure


def train_and_evaluate(config: ForecastingConfig, workdir: str | Path | None = None,
                       results_dir: str | Path | None = None) -> dict[str, Any]:
    from applications.forecasting import train as train_lib

    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    dataset = data.resolve_auto(config.dataset, config.data_dir, default="daily_min_temperatures")
    series = data.load(
        dataset, data_dir=config.data_dir, csv_path=config.csv_path, time_column=config.time_column,
        target_columns=config.target_columns, frequency=config.frequency, max_gap=config.max_gap,
        calendar=False, use_covariates=False,
    )
    window = config.input_window or DEFAULT_WINDOW
    values = series.targets.astype(float)  # [rows, targets]
    complete = np.isfinite(values).all(axis=1)
    validation_start, test_start = data.split_bounds(
        len(values), (1 - config.validation_fraction - config.test_fraction, config.validation_fraction, config.test_fraction))
    scaler = data.Scaler.fit(values[:validation_start])
    scaled = scaler.transform(values)
    origins = window_origins(complete, window)
    if len(origins) == 0:
        raise data.DataError(f"{series.name}: no stretch of complete rows is as long as the window ({window}).")
    train_origins = origins[origins < validation_start]
    windows = centred_windows(scaled, train_origins, window)
    median = np.median(windows, axis=(0, 1))
    mad = 1.4826 * np.median(np.abs(windows - median), axis=(0, 1)) + 1e-9
    normal = np.max(np.abs(windows - median) / mad, axis=(1, 2)) <= ROBUST_Z
    excluded = int((~normal).sum())
    train_origins = train_lib.latest(train_origins[normal], config.max_train_windows)
    if len(train_origins) < 8:
        raise data.DataError(f"{series.name}: only {len(train_origins)} normal training windows of {window} rows; "
                             "expected at least 8. Use a shorter --input-window or a longer series.")
    log.info("%s: window %d; %d normal training windows (%d left out as abnormal)", series.name, window,
             len(train_origins), excluded)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(train_origins))
    cut = max(1, len(order) // 10)  # a tenth of the normal windows checks the fit (early stopping)
    fit_origins, check_origins = np.sort(train_origins[order[cut:]]), np.sort(train_origins[order[:cut]])
    config = train_lib.for_training_windows(config, len(fit_origins))

    started = time.perf_counter()
    with training.session_for(config) as session:
        batch_size = session.batch_size(config.batch_size)  # global, a multiple of the replicas
        # Named by the config as given (recorder.config), not the copy with a capped batch size.
        model_workdir = paths.work_dir(DOMAIN, recorder.config.dataset_folder(series.name),
                                       train_lib.run_name(recorder.config, "autoencoder"), workdir)
        fit_windows = centred_windows(scaled, fit_origins, window)
        check_windows = centred_windows(scaled, check_origins, window)
        train_ds = data_lib.make_pipeline((fit_windows, fit_windows), batch_size=batch_size, shuffle=True, seed=config.seed)
        check_ds = data_lib.make_pipeline((check_windows, check_windows), batch_size=batch_size)
        model = models.build_conv_autoencoder(window=window, num_features=scaled.shape[1],
                                              filters=(config.units // 2, config.units // 4) if config.units >= 8 else (4, 2),
                                              kernel_size=max(config.kernel_size, 7), dropout_rate=config.dropout_rate)
        train_lib.compile_model(model, config.replace(loss="mse") if config.loss == "mae" else config,
                                math.ceil(len(fit_origins) / batch_size),
                                session.learning_rate(config.learning_rate, config.batch_size))
        history = train_lib.fit(model, config, train_ds, check_ds, model_workdir)
        train_seconds = time.perf_counter() - started

        scores = point_scores(model, scaled, origins, window, batch_size)
        validation_rows = np.arange(validation_start, test_start)
        test_rows = np.arange(test_start, len(scaled))
        validation_scores = scores[validation_rows]
        threshold = float(np.nanquantile(validation_scores, config.anomaly_quantile))
        test_scores = scores[test_rows]
        flags = peak_flags(test_scores, threshold)

        # Injected spikes in a copy of the test span (targets' first column).
        injected_values, positions = inject_spikes(scaled[:, 0], test_start, len(scaled), config.injected_anomalies, config.seed)
        injected_scaled = scaled.copy()
        injected_scaled[:, 0] = injected_values
        injected_scores = point_scores(model, injected_scaled, origins, window, batch_size)[test_rows]
        injected_flags = peak_flags(injected_scores, threshold)
        model_detection = detection_scores(injected_flags, positions, test_rows)

        metadata = {
            "domain": DOMAIN, "task": "anomaly", "dataset": series.name, "preset": config.preset, "model": "autoencoder",
            "window": window, "target_columns": series.target_columns, "frequency": series.frequency,
            "max_gap": config.max_gap, "scaler": scaler.to_dict(), "threshold": threshold,
            "anomaly_quantile": config.anomaly_quantile, "time_column": config.time_column or None,
        }
        model_path = saving.save_model(model, Path(model_workdir) / "model.keras", metadata)

    # The classical detector, thresholded the same way.
    z_window = max(5, window // 2 * 2 + 1)
    z_scores = rolling_zscore(scaled[:, 0], z_window)
    z_threshold = float(np.nanquantile(z_scores[validation_rows], config.anomaly_quantile))
    z_injected = rolling_zscore(injected_values, z_window)[test_rows]
    z_detection = detection_scores(peak_flags(z_injected, z_threshold), positions, test_rows)
    z_real_flags = int(np.sum(peak_flags(z_scores[test_rows], z_threshold)))

    label = series.target_columns[0]
    test_time = series.frame.index[test_rows]
    raw_test = values[test_rows, 0]
    injected_raw = scaler.inverse(injected_values[test_rows], [0])
    figures = {
        "flagged_test_points": flagged_figure(test_time, raw_test, flags,
                                              f"Autoencoder flags on the {series.name} test span", label),
        "injected_spikes": flagged_figure(test_time, injected_raw, injected_flags,
                                          f"Injected spikes and autoencoder flags ({series.name} test span)", label,
                                          injected=positions - test_start),
        "validation_errors": plots.histogram({"validation points": validation_scores[np.isfinite(validation_scores)],
                                              "test points": test_scores[np.isfinite(test_scores)]},
                                             xlabel="reconstruction error (scaled units squared)",
                                             title=f"Point scores; threshold {threshold:.3g} (q={config.anomaly_quantile})"),
    }
    figures["validation_errors"].axes[0].axvline(threshold, color="tab:red", linestyle="--")
    figures["validation_errors"].axes[0].set_yscale("log")
    if history:
        figures["learning_curves"] = plots.learning_curves(history, title=f"Autoencoder on {series.name}")
    metrics = {
        "injected_f1": model_detection["f1"], "injected_precision": model_detection["precision"],
        "injected_recall": model_detection["recall"], "injected_flagged": model_detection["flagged"],
        "injected_spikes": model_detection["injected"], "threshold": threshold,
        "anomaly_quantile": config.anomaly_quantile, "test_points": len(test_rows),
        "test_points_flagged": int(flags.sum()), "test_flagged_share": float(flags.mean()),
        "flagged_times": [str(t) for t in test_time[flags][:200]],
        "rolling_zscore_test_points_flagged": z_real_flags,
        "beats_rolling_zscore": bool(model_detection["f1"] > z_detection["f1"]),
        "window": window, "train_windows": len(fit_origins), "check_windows": len(check_origins),
        "batch_size": batch_size, "replicas": session.distribution.replicas,
        "abnormal_training_windows_left_out": excluded, "parameters": model.count_params(),
        "epochs_run": len(history.get("loss", [])), "train_seconds": round(train_seconds, 1),
        "data_source": series.source, "target": label,
    }
    log.info("autoencoder: threshold %.4g; %d of %d test points flagged; injected spikes F1 %.3f "
             "(precision %.3f, recall %.3f) vs rolling z-score F1 %.3f", threshold, int(flags.sum()), len(test_rows),
             model_detection["f1"], model_detection["precision"], model_detection["recall"], z_detection["f1"])
    run_dir = recorder.save(
        dataset=recorder.config.dataset_folder(series.name), run_name=train_lib.run_name(recorder.config, "autoencoder"),
        model=f"conv_autoencoder(window={window})",
        headline=results.headline("f1", model_detection["f1"], higher_is_better=True, split="test (injected spikes)"),
        metrics=metrics, baselines={"rolling_zscore": {k: z_detection[k] for k in ("f1", "precision", "recall")}},
        history=history, skipped={"skipped": series.skipped.to_dict(), "repaired": series.repaired.to_dict()},
        figures=figures,
        tables={"flagged_test_points": [{"time": str(t), label: float(v), "score": float(s)}
                                        for t, v, s in zip(test_time[flags], raw_test[flags], test_scores[flags])]},
        policy=session.policy, extra={"model_path": str(model_path)},
    )
    return {"model": "autoencoder", "injected_f1": model_detection["f1"], "rolling_zscore_f1": z_detection["f1"],
            "test_points_flagged": int(flags.sum()), "threshold": threshold, "results_dir": str(run_dir),
            "model_path": str(model_path), "wall_time_seconds": recorder.elapsed()}
