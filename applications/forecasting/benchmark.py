"""``keras-applied benchmark forecasting``: what the forecasting runs spend their time on.

- the statistical baselines: SARIMA / Holt-Winters fit time, and forecasting every test origin
  three ways: one filter pass with fixed parameters (what the runs do), ``extend`` + forecast per
  origin, and refitting per origin (measured on a few origins, extrapolated);
- the window pipeline (windows/s) and each model's training (windows/s) and inference latency.

Writes ``results/benchmarks/forecasting.json``.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np

from common import cli


def statistical_figures(y: np.ndarray, fit_end: int, origins: np.ndarray, horizon: int, order, seasonal_order,
                        season: int, fit_rows: int, refits: int) -> dict:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    from applications.forecasting import baselines

    figures = {"origins": len(origins), "horizon": horizon, "fit_rows": fit_rows}
    for kind in ("sarima", "holt_winters"):
        started = time.perf_counter()
        _, info = baselines.statespace_forecasts(y, origins, horizon, fit_end=fit_end, kind=kind, order=order,
                                                 seasonal_order=seasonal_order, season=season, fit_rows=fit_rows)
        figures[kind] = {"name": info["name"], "fit_seconds": info["fit_seconds"],
                         "all_origins_seconds": info["forecast_seconds"],
                         "total_seconds": round(time.perf_counter() - started, 2)}
    sample = y[fit_end - fit_rows: fit_end]
    offset = float(np.nanmean(sample)) if order[1] == 0 and seasonal_order[1] == 0 else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = SARIMAX(sample - offset, order=order, seasonal_order=seasonal_order, concentrate_scale=True).fit(
            disp=False, maxiter=50)
        chosen = origins[np.linspace(0, len(origins) - 1, refits).astype(int)]
        started = time.perf_counter()
        for origin in chosen:
            fitted.extend(y[fit_end: origin + 1] - offset).get_forecast(horizon)
        per_origin_extend = (time.perf_counter() - started) / refits
        started = time.perf_counter()
        for origin in chosen:
            refit_sample = y[origin + 1 - fit_rows: origin + 1] - offset
            SARIMAX(refit_sample, order=order, seasonal_order=seasonal_order, concentrate_scale=True).fit(
                disp=False, maxiter=50).get_forecast(horizon)
        per_origin_refit = (time.perf_counter() - started) / refits
    figures["sarima"].update({
        "extend_per_origin_seconds": round(per_origin_extend, 3),
        "extend_every_origin_seconds_estimated": round(per_origin_extend * len(origins), 1),
        "refit_per_origin_seconds": round(per_origin_refit, 2),
        "refit_every_origin_seconds_estimated": round(per_origin_refit * len(origins), 1),
        "refits_measured": refits,
    })
    return figures


def model_figures(window: int, features: int, horizon: int, batch_size: int, steps: int, units: int) -> dict:
    import keras

    from applications.forecasting import data, models
    from common import benchmark, precision

    rng = np.random.default_rng(0)
    rows = 20_000
    values = rng.normal(size=(rows, features)).astype(np.float32)
    origins = np.arange(window - 1, rows - horizon)
    pipeline = data.pipeline(values, values[:, :1], origins, window=window, horizon=horizon, batch_size=batch_size,
                             shuffle=True)
    figures: dict = {"window": window, "features": features, "horizon": horizon, "batch_size": batch_size,
                     "pipeline": benchmark.time_pipeline(pipeline.repeat(), batches=50)}
    sizes = {"lstm": {"units": units}, "tcn": {"filters": units}, "transformer": {"model_dim": units, "ff_dim": 2 * units}}
    for policy in ("float32", precision.resolve_policy("auto")):
        for name in models.MODELS:
            with precision.policy_scope(policy):
                model = models.build_forecaster(name, window=window, num_features=features, horizon=horizon,
                                                num_targets=1, **sizes[name])
                model.compile(optimizer="adamw", loss="mae")
                trained = benchmark.time_training(model, pipeline.repeat(), steps=steps)
                single = values[None, :window]
                model.predict_on_batch(single)  # traced once; the timed calls reuse the graph
                started = time.perf_counter()
                for _ in range(20):
                    model.predict_on_batch(single)
                latency = (time.perf_counter() - started) / 20
            figures.setdefault(policy, {})[name] = {
                "parameters": model.count_params(), "train_windows_per_second": round(trained["examples_per_second"], 1),
                "seconds_per_step": round(trained["seconds_per_step"], 4),
                "forward_flops_per_window": benchmark.forward_flops(model),
                "latency_one_window_ms": round(1000 * latency, 2),
            }
            keras.backend.clear_session()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="keras-applied benchmark forecasting", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="Folder holding forecasting/pollution (else the bundled CO2 series).")
    parser.add_argument("--fit-rows", type=int, default=2000, help="Rows the statistical models are fitted on.")
    parser.add_argument("--refits", type=int, default=3, help="Origins refitted to estimate the refit-per-origin cost.")
    parser.add_argument("--steps", type=int, default=20, help="Timed training steps per model.")
    parser.add_argument("--units", type=int, default=64, help="Model width (the quick preset's).")
    parser.add_argument("--skip-models", action="store_true", help="Only the statistical baselines.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    cli.check_at_least(parser, args, fit_rows=1, refits=1, steps=1, units=1)
    cli.check_data_dir_flag(parser, args.data_dir)

    from applications.forecasting import data
    from common import results

    cli.configure_process()
    dataset = data.resolve_auto("auto", args.data_dir)
    series = data.load(dataset, data_dir=args.data_dir)
    spec = data.SPECS[dataset]
    complete = np.isfinite(series.values).all(axis=1)
    windows = data.make_windows(complete, window=spec.window, horizon=spec.horizon, eval_stride=spec.eval_stride)
    figures = {"dataset": dataset, "statistical": statistical_figures(
        series.targets[:, 0].astype(float), windows.bounds[0], windows.test, spec.horizon, spec.arima_order,
        spec.seasonal_order, spec.season, args.fit_rows, args.refits)}
    if not args.skip_models:
        figures["models"] = model_figures(spec.window, len(series.input_columns), spec.horizon, 256, args.steps, args.units)
    results.write_benchmark("forecasting", figures, args.results_dir)
    print(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
