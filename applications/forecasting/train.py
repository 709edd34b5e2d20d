"""Train and evaluate forecasters: the one entry point for the CLI, notebook and tests.

``train_and_evaluate`` dispatches on ``config.task``: ``forecast`` runs here; ``financial`` and
``anomaly`` live in their own modules and reuse the pieces below (windows, compile, fit).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.forecasting import baselines, data, models
from applications.forecasting.config import ForecastingConfig
from common import evaluation, paths, plots, results, saving, training

DOMAIN = "forecasting"
log = logging.getLogger("keras_applied.forecasting")


# ---------------------------------------------------------------------------------------------
# Settings resolved from the config and the dataset
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Problem:
    """The concrete forecasting problem: the config's zeros replaced by the dataset's defaults."""

    window: int
    horizon: int
    eval_stride: int
    transform: str
    center: bool
    season: int
    arima_order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]


def resolve_problem(config: ForecastingConfig, dataset: str, season: int) -> Problem:
    # A user's CSV gets the "airline" SARIMA(1,1,1)x(0,1,1,s): differencing copes with trends and
    # a seasonal unit root with seasons, and it stays cheap for seasons up to 60 steps.
    seasonal = (0, 1, 1, season) if 1 < season <= baselines.MAX_SEASONAL_STATES else (0, 0, 0, 0)
    spec = data.SPECS.get(dataset, data.DatasetSpec("infer", season, (), arima_order=(1, 1, 1), seasonal_order=seasonal))
    seasonal = tuple(config.seasonal_order) or spec.seasonal_order
    return Problem(
        window=config.input_window or spec.window,
        horizon=config.horizon or spec.horizon,
        eval_stride=config.eval_stride or spec.eval_stride,
        transform=spec.transform if config.target_transform == "auto" else config.target_transform,
        # Centred inputs need the residual connection to put the level back.
        center=config.residual and ((spec.center or dataset not in data.SPECS) if config.window_centering == "auto"
                                    else config.window_centering == "last_value"),
        season=max(season, 1),
        arima_order=tuple(config.arima_order) or spec.arima_order,
        seasonal_order=seasonal,
    )


def model_names(config: ForecastingConfig) -> list[str]:
    return list(models.MODELS) if config.model == "all" else [config.model]


def run_name(config: ForecastingConfig, model: str) -> str:
    """Results folder name: ``<preset>-<model>`` (plus the task when it is not forecasting), then the
    values changed from the preset or the run tag. ``config`` is the one the run was started with
    (not the copy whose batch size :func:`for_training_windows` capped)."""
    return config.run_name("" if config.task == "forecast" else config.task, model, named=("task", "model"))


# ---------------------------------------------------------------------------------------------
# Model building and training (shared by the three tasks)
# ---------------------------------------------------------------------------------------------
def build_forecaster(config: ForecastingConfig, name: str, *, window: int, num_features: int, horizon: int,
                     num_targets: int, residual: bool, center: bool = False) -> keras.Model:
    common_args = dict(window=window, num_features=num_features, horizon=horizon, num_targets=num_targets,
                       dropout_rate=config.dropout_rate, residual=residual, center=center)
    if name == "lstm":
        return models.build_lstm(units=config.units, num_layers=config.num_layers, **common_args)
    if name == "tcn":
        return models.build_tcn(filters=config.units, kernel_size=config.kernel_size, dilations=config.dilations,
                                **common_args)
    return models.build_transformer(model_dim=config.units, heads=config.heads, num_layers=config.num_layers,
                                    ff_dim=2 * config.units, **common_args)


def compile_model(model: keras.Model, config: ForecastingConfig, steps_per_epoch: int,
                  learning_rate: float | None = None) -> None:
    """AdamW with a cosine schedule; ``learning_rate`` (default ``config.learning_rate``) is the
    session's, scaled when a distribution strategy had to adjust the global batch size."""
    optimizer = keras.optimizers.AdamW(
        learning_rate=training.cosine_schedule(learning_rate or config.learning_rate, config.epochs * steps_per_epoch),
        weight_decay=config.weight_decay,
        clipnorm=1.0,
    )
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    loss = {"mae": "mean_absolute_error", "mse": "mean_squared_error", "huber": keras.losses.Huber(delta=1.0)}[config.loss]
    model.compile(optimizer=optimizer, loss=loss, metrics=[keras.metrics.MeanAbsoluteError(name="mae")])


def fit(model: keras.Model, config: ForecastingConfig, train_ds, validation_ds, workdir: Path) -> dict[str, list[float]]:
    return training.fit(
        model, train_ds, validation_ds, epochs=config.epochs, workdir=workdir, monitor="val_loss", mode="min",
        patience=config.patience or None,
    )


MIN_STEPS_PER_EPOCH = 20


def for_training_windows(config: ForecastingConfig, count: int) -> ForecastingConfig:
    """``config`` with the batch size capped so an epoch has at least MIN_STEPS_PER_EPOCH steps:
    small series (GOOG's 700 training days, 66 airline windows) would otherwise train a few steps
    an epoch. The batch size used is recorded in metrics.json."""
    batch_size = max(1, min(config.batch_size, count // MIN_STEPS_PER_EPOCH))
    if batch_size != config.batch_size:
        log.info("batch size %d -> %d so that %d training windows make %d steps an epoch", config.batch_size,
                 batch_size, count, math.ceil(count / batch_size))
    return config.replace(batch_size=batch_size)


def latest(origins: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` origins, the latest ones (0: all)."""
    return origins[-limit:] if limit and len(origins) > limit else origins


def interval_offsets(residuals: np.ndarray, coverage: float) -> np.ndarray:
    """[2, horizon, targets]: lower and upper residual quantiles per step from validation."""
    low, high = (1 - coverage) / 2, (1 + coverage) / 2
    return np.stack([np.nanquantile(residuals, low, axis=0), np.nanquantile(residuals, high, axis=0)])


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((actual >= lower) & (actual <= upper)))


def tiled_origins(origins: np.ndarray, horizon: int, count: int) -> np.ndarray:
    """Up to ``count`` of the latest origins exactly ``horizon`` apart, so that their forecasts
    tile one unbroken stretch of the test span (for plots)."""
    available = set(int(o) for o in origins)
    chosen = [int(origins[-1])]
    while len(chosen) < count and chosen[-1] - horizon in available:
        chosen.append(chosen[-1] - horizon)
    return np.array(chosen[::-1], dtype=int)


def forecast_figure(series: data.TimeSeries, origins: np.ndarray, horizon: int, forecasts: dict[str, np.ndarray],
                    all_origins: np.ndarray, interval: tuple[np.ndarray, np.ndarray] | None, title: str, ylabel: str):
    """Consecutive test forecasts laid end to end against the actual values."""
    positions = {int(o): i for i, o in enumerate(all_origins)}
    rows = np.concatenate([np.arange(o + 1, o + horizon + 1) for o in origins])
    pick = [positions[int(o)] for o in origins]
    time_axis = series.frame.index[rows]
    actual = series.frame[series.target_columns[0]].to_numpy()[rows]
    lines = {name: values[pick].reshape(-1) for name, values in forecasts.items()}
    band = None if interval is None else (interval[0][pick].reshape(-1), interval[1][pick].reshape(-1))
    history_rows = np.arange(max(0, rows[0] - horizon * 2), rows[0])
    figure = plots.forecast(
        time_axis, actual, lines, history_time=series.frame.index[history_rows],
        history=series.frame[series.target_columns[0]].to_numpy()[history_rows], interval=band, title=title,
        ylabel=ylabel,
    )
    figure.axes[0].tick_params(axis="x", labelrotation=25)
    return figure


# ---------------------------------------------------------------------------------------------
# Forecasting
# ---------------------------------------------------------------------------------------------
def load_series(config: ForecastingConfig, default: str = "pollution") -> data.TimeSeries:
    dataset = data.resolve_auto(config.dataset, config.data_dir, default=default)
    return data.load(
        dataset, data_dir=config.data_dir, csv_path=config.csv_path, time_column=config.time_column,
        target_columns=config.target_columns, covariate_columns=config.covariate_columns,
        categorical_columns=config.categorical_columns, frequency=config.frequency, max_gap=config.max_gap,
        calendar=config.calendar_features, use_covariates=config.use_covariates,
    )


def evaluate_baselines(config: ForecastingConfig, series: data.TimeSeries, problem: Problem, windows: data.Windows,
                       y_true: dict[str, np.ndarray]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Forecasts of every baseline for the validation and test origins of the first target.

    Returns ({baseline: {split: [n, horizon]}}, info about the statistical fits).
    """
    y = series.targets[:, 0].astype(float)
    fit_end = windows.bounds[0]
    forecasts: dict[str, dict[str, np.ndarray]] = {"persistence": {}, "seasonal_naive": {}}
    for split in ("validation", "test"):
        origins = getattr(windows, split)
        forecasts["persistence"][split] = baselines.persistence(y, origins, problem.horizon)
        if problem.season > 1:
            forecasts["seasonal_naive"][split] = baselines.seasonal_naive(y, origins, problem.horizon, problem.season)
    if problem.season <= 1:
        forecasts.pop("seasonal_naive")
    info: dict[str, Any] = {}
    if config.statistical_baselines:
        both = np.concatenate([windows.validation, windows.test])
        for kind in ("sarima", "holt_winters"):
            try:
                predicted, fit_info = baselines.statespace_forecasts(
                    y, both, problem.horizon, fit_end=fit_end, kind=kind, order=problem.arima_order,
                    seasonal_order=problem.seasonal_order, season=problem.season, fit_rows=config.baseline_fit_rows,
                )
            except (np.linalg.LinAlgError, ValueError) as error:
                log.warning("%s baseline failed (%s); left out", kind, error)
                info[kind] = {"error": str(error)}
                continue
            count = len(windows.validation)
            forecasts[kind] = {"validation": predicted[:count], "test": predicted[count:]}
            info[kind] = fit_info
    return forecasts, info


def train_and_evaluate(
    config: ForecastingConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train ``config``'s model(s), evaluate against the baselines, write results; returns metrics
    (of the best model when several are trained)."""
    if config.task == "financial":
        from applications.forecasting import financial

        return financial.train_and_evaluate(config, workdir, results_dir)
    if config.task == "anomaly":
        from applications.forecasting import anomaly

        return anomaly.train_and_evaluate(config, workdir, results_dir)

    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    series = load_series(config)
    problem = resolve_problem(config, series.name, series.season)
    num_targets = len(series.target_columns)
    values = series.values.copy()
    values[:, :num_targets] = data.apply_transform(values[:, :num_targets], problem.transform)
    complete = np.isfinite(values).all(axis=1)
    fractions = (1 - config.validation_fraction - config.test_fraction, config.validation_fraction, config.test_fraction)
    windows = data.make_windows(complete, window=problem.window, horizon=problem.horizon, fractions=fractions,
                                stride=config.stride, eval_stride=problem.eval_stride, what=series.name)
    windows.train = latest(windows.train, config.max_train_windows)
    config = for_training_windows(config, len(windows.train))
    scaler = data.Scaler.fit(values[: windows.bounds[0]])
    scaled = scaler.transform(values)
    raw_targets = series.targets.astype(float)  # [rows, targets], untransformed
    y_true = {split: data.gather_targets(raw_targets, getattr(windows, split), problem.horizon)
              for split in ("validation", "test")}  # [n, horizon, targets]
    y_train = raw_targets[: windows.bounds[0], 0]
    y_train = y_train[np.isfinite(y_train)]
    log.info("%s: window %d, horizon %d; %d train / %d validation / %d test windows", series.name, problem.window,
             problem.horizon, len(windows.train), len(windows.validation), len(windows.test))

    baseline_started = time.perf_counter()
    baseline_forecasts, baseline_info = evaluate_baselines(config, series, problem, windows, y_true)
    baseline_seconds = time.perf_counter() - baseline_started
    baseline_reports = {
        name: evaluation.forecast_report(y_true["test"][..., 0], split_forecasts["test"], y_train, problem.season)
        for name, split_forecasts in baseline_forecasts.items()
    }
    best_baseline = min(baseline_reports, key=lambda name: baseline_reports[name]["mae"])
    for name, report in baseline_reports.items():
        log.info("baseline %-15s test MAE %.4g", name, report["mae"])

    trained = [_train_one(config, name, series, problem, windows, scaled, scaler, y_true, y_train, workdir,
                          named_by=recorder.config)
               for name in model_names(config)]
    if len(trained) > 1:
        trained.append(ensemble(trained, config))
    outcomes = [_report(config, one, series, problem, windows, y_true, y_train, baseline_forecasts, baseline_reports,
                        best_baseline, baseline_info, baseline_seconds, recorder) for one in trained]
    # "Best" is chosen on validation MAE, never on the test set.
    validation_mae = {one["name"]: evaluation.mae(y_true["validation"], one["forecast"]["validation"]) for one in trained}
    best = next(o for o in outcomes if o["model"] == min(validation_mae, key=validation_mae.get))
    return {**best, "models": {o["model"]: o["test_mae"] for o in outcomes},
            "baselines": {name: r["mae"] for name, r in baseline_reports.items()},
            "wall_time_seconds": recorder.elapsed()}


def _train_one(config, name, series, problem, windows, scaled, scaler, y_true, y_train, workdir, *,
               named_by: ForecastingConfig) -> dict[str, Any]:
    """Train one forecaster, save it with its card; returns its forecasts and training facts.
    ``named_by``: the config as given, which names the work folder."""
    num_targets = len(series.target_columns)
    target_columns = list(range(num_targets))
    started = time.perf_counter()
    # The session (seed, precision, distribution strategy) wraps pipelines, building and compiling.
    with training.session_for(config) as session:
        batch_size = session.batch_size(config.batch_size)  # global, a multiple of the replicas
        model_workdir = paths.work_dir(DOMAIN, named_by.dataset_folder(series.name), run_name(named_by, name),
                                       workdir if config.model != "all" else None)
        if workdir and config.model == "all":
            model_workdir = Path(workdir) / name
        make = lambda origins, shuffle=False: data.pipeline(  # noqa: E731
            scaled, scaled[:, :num_targets], origins, window=problem.window, horizon=problem.horizon,
            batch_size=batch_size, shuffle=shuffle, seed=config.seed)
        train_ds, validation_ds, test_ds = make(windows.train, True), make(windows.validation), make(windows.test)
        model = build_forecaster(config, name, window=problem.window, num_features=scaled.shape[1],
                                 horizon=problem.horizon, num_targets=num_targets, residual=config.residual,
                                 center=problem.center)
        compile_model(model, config, math.ceil(len(windows.train) / batch_size),
                      session.learning_rate(config.learning_rate, config.batch_size))
        log.info("model %s: %s parameters, dtype policy %s", model.name, f"{model.count_params():,}", session.policy)
        history = fit(model, config, train_ds, validation_ds, model_workdir)
        train_seconds = time.perf_counter() - started

        def predict(dataset) -> np.ndarray:
            """Scaled model outputs -> forecasts in the series' units, [n, horizon, targets]."""
            output = np.asarray(training.predict(model, dataset), dtype=float)
            return data.invert_transform(scaler.inverse(output, target_columns), problem.transform)

        forecast = {"validation": predict(validation_ds), "test": predict(test_ds)}
        offsets = interval_offsets_for(forecast, y_true, problem.transform, config.interval_coverage)
        metadata = {
            "domain": DOMAIN, "task": "forecast", "dataset": series.name, "preset": config.preset, "model": name,
            "target_columns": series.target_columns, "input_columns": series.input_columns,
            "categorical_levels": series.categorical_levels, "frequency": series.frequency,
            "calendar_features": config.calendar_features, "use_covariates": config.use_covariates,
            "covariate_columns": [c for c in series.input_columns[num_targets:] if c in series.frame.columns
                                  and not c.endswith(("_sin", "_cos")) and "=" not in c],
            "max_gap": config.max_gap, "window": problem.window, "horizon": problem.horizon,
            "transform": problem.transform, "scaler": scaler.to_dict(), "interval_coverage": config.interval_coverage,
            "interval_offsets": offsets.tolist(), "time_column": config.time_column or None,
        }
        model_path = saving.save_model(model, Path(model_workdir) / "model.keras", metadata)
    return {"name": name, "forecast": forecast, "history": history, "parameters": model.count_params(),
            "train_seconds": train_seconds, "model_path": str(model_path), "policy": session.policy,
            "batch_size": batch_size, "replicas": session.distribution.replicas,
            "description": f"{name}(units={config.units})"}


def interval_offsets_for(forecast: dict[str, np.ndarray], y_true: dict[str, np.ndarray], transform: str,
                         coverage_wanted: float) -> np.ndarray:
    """[2, horizon, targets] validation residual quantiles, in the transformed space (log1p keeps
    a positive series' bounds positive)."""
    residuals = data.apply_transform(y_true["validation"], transform) - data.apply_transform(forecast["validation"], transform)
    return interval_offsets(residuals, coverage_wanted)


def ensemble(trained: list[dict[str, Any]], config: ForecastingConfig) -> dict[str, Any]:
    """The mean forecast of several trained models (no model file: it is their average)."""
    names = [t["name"] for t in trained]
    return {
        "name": "ensemble",
        "forecast": {split: np.mean([t["forecast"][split] for t in trained], axis=0) for split in ("validation", "test")},
        "history": {}, "parameters": sum(t["parameters"] for t in trained),
        "train_seconds": sum(t["train_seconds"] for t in trained), "model_path": None, "policy": trained[0]["policy"],
        "batch_size": trained[0]["batch_size"], "replicas": trained[0]["replicas"],
        "description": f"mean of {'+'.join(names)}(units={config.units})",
    }


def _report(config, trained, series, problem, windows, y_true, y_train, baseline_forecasts, baseline_reports,
            best_baseline, baseline_info, baseline_seconds, recorder) -> dict[str, Any]:
    """Metrics, figures and the results folder of one trained model (or the ensemble)."""
    name, forecast, history = trained["name"], trained["forecast"], trained["history"]
    offsets = interval_offsets_for(forecast, y_true, problem.transform, config.interval_coverage)
    transformed = data.apply_transform(forecast["test"], problem.transform)
    lower = data.invert_transform(transformed + offsets[0], problem.transform)
    upper = data.invert_transform(transformed + offsets[1], problem.transform)
    report = evaluation.forecast_report(y_true["test"][..., 0], forecast["test"][..., 0], y_train, problem.season)

    # Figures: forecasts against actuals, error by horizon step, learning curves.
    shown = tiled_origins(windows.test, problem.horizon, max(10, 120 // problem.horizon))
    label = series.target_columns[0]
    lines = {name: forecast["test"][..., 0], "persistence": baseline_forecasts["persistence"]["test"]}
    statistical = [b for b in ("sarima", "holt_winters") if b in baseline_forecasts]
    if statistical:
        best_statistical = min(statistical, key=lambda b: baseline_reports[b]["mae"])
        lines[best_statistical] = baseline_forecasts[best_statistical]["test"]
    figures = {
        "forecast": forecast_figure(series, shown, problem.horizon, lines, windows.test,
                                    (lower[..., 0], upper[..., 0]), f"{name} on {series.name} (test)", label),
        "error_by_horizon": plots.lines(
            {n: (np.arange(1, problem.horizon + 1), r["per_step"]["mae"])
             for n, r in {name: report, **baseline_reports}.items()},
            xlabel="horizon step", ylabel=f"MAE ({label})", title=f"Test MAE by horizon step on {series.name}"),
        "mae_vs_baselines": plots.bars({name: report["mae"], **{n: r["mae"] for n, r in baseline_reports.items()}},
                                       ylabel=f"test MAE ({label})", title="Model vs baselines (same test windows)"),
    }
    if history:
        figures["learning_curves"] = plots.learning_curves(history, title=f"{name} on {series.name}")
    best_value = baseline_reports[best_baseline]["mae"]
    per_step_rows = [
        {"step": step + 1, name: report["per_step"]["mae"][step],
         **{n: r["per_step"]["mae"][step] for n, r in baseline_reports.items()}}
        for step in range(problem.horizon)
    ]
    metrics = {
        "test_mae": report["mae"], "test_rmse": report["rmse"], "test_mase": report["mase"],
        "test_smape": report["smape"], "per_step": report["per_step"],
        "validation_mae": evaluation.mae(y_true["validation"][..., 0], forecast["validation"][..., 0]),
        "best_baseline": best_baseline, "best_baseline_mae": best_value,
        "mae_ratio_to_best_baseline": report["mae"] / best_value if best_value else None,
        "beats_every_baseline": bool(all(report["mae"] < r["mae"] for r in baseline_reports.values())),
        "interval_coverage_target": config.interval_coverage,
        "test_interval_coverage": coverage(y_true["test"], lower, upper),
        "target": label, "targets": series.target_columns, "input_columns": series.input_columns,
        "window": problem.window, "horizon": problem.horizon, "eval_stride": problem.eval_stride,
        "train_stride": config.stride, "transform": problem.transform, "season": problem.season,
        "window_centering": "last_value" if problem.center else "none",
        "frequency": series.frequency, "split_rows": {"validation_start": windows.bounds[0], "test_start": windows.bounds[1],
                                                      "rows": len(series.frame)},
        "test_period": [str(series.frame.index[windows.test[0] + 1]), str(series.frame.index[windows.test[-1] + problem.horizon])],
        "train_windows": len(windows.train), "validation_windows": len(windows.validation),
        "test_windows": len(windows.test), "segments_dropped": windows.dropped_segments,
        "batch_size": trained.get("batch_size", config.batch_size), "replicas": trained.get("replicas", 1),
        "parameters": trained["parameters"], "epochs_run": len(history.get("loss", [])),
        "train_seconds": round(trained["train_seconds"], 1), "baseline_seconds": round(baseline_seconds, 1),
        "statistical_baselines": baseline_info, "data_source": series.source,
    }
    verdict = "beats" if metrics["beats_every_baseline"] else "does NOT beat"
    log.info("%s test MAE %.4g; best baseline %s %.4g (ratio %.3f): %s every baseline", name, report["mae"],
             best_baseline, best_value, metrics["mae_ratio_to_best_baseline"], verdict)
    run_dir = recorder.save(
        dataset=recorder.config.dataset_folder(series.name),
        run_name=run_name(recorder.config, name),
        model=trained["description"],
        headline=results.headline("mae", report["mae"], higher_is_better=False),
        metrics=metrics,
        baselines={n: {k: r[k] for k in ("mae", "rmse", "mase", "smape")} for n, r in baseline_reports.items()},
        history=history,
        skipped={"skipped": series.skipped.to_dict(), "repaired": series.repaired.to_dict()},
        figures=figures,
        tables={"error_by_horizon": per_step_rows},
        policy=trained["policy"],
        extra={"model_path": trained["model_path"]} if trained["model_path"] else None,
    )
    return {"model": name, "test_mae": report["mae"], "best_baseline": best_baseline, "best_baseline_mae": best_value,
            "mae_ratio_to_best_baseline": metrics["mae_ratio_to_best_baseline"],
            "results_dir": str(run_dir), "model_path": trained["model_path"]}
