"""``keras-applied predict forecasting --model PATH --csv FILE``: forecast what comes next.

The saved model's card (model.json) says which task it was trained for, and so what it does with
the CSV:

- forecast: the next ``horizon`` steps after the last row, with prediction intervals from the
  validation residual quantiles; writes ``<name>.csv`` (time, forecast, lower, upper) and
  ``<name>.png`` (recent history, forecast and interval);
- financial (an OHLCV CSV): the next day's log return and the realised volatility of the next
  days, with intervals, and the implied next close;
- anomaly: a score and a flag for every row of the CSV, and a plot of the flagged points.

The CSV is cleaned the way training data was (sorted, deduplicated, short gaps interpolated, the
model's frequency); the last ``window`` rows must then be complete.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from applications.forecasting import (
    data,
    models,  # noqa: F401 - registers the custom layers for loading
)
from common import cli, plots, saving
from common import data as data_lib
from common.errors import ConfigError, DataError, ModelFileError, UserInputError

DOMAIN = "forecasting"
log = logging.getLogger("keras_applied.forecasting")
EXIT_STATUS = (
    "Exit status: 0 when the forecast (or anomaly table) was printed and written; 1 when the model, "
    "the CSV or the output folder cannot be used (one line on stderr says why); 2 for a bad flag; "
    "130 when interrupted."
)


def read_series(path: str | Path, metadata: dict[str, Any], time_column: str | None,
                columns: Sequence[str], categorical: Sequence[str] = ()) -> pd.DataFrame:
    """The CSV's timestamp and ``columns`` as a raw frame; the timestamp is ``time_column``,
    the model card's one, a year/month/day[/hour] set (the PM2.5 layout) or the first column."""
    header = list(data_lib.read_table(path, nrows=1).columns)
    chosen = time_column or metadata.get("time_column")
    if not chosen and {"year", "month", "day"} <= set(header) and metadata.get("dataset") == "pollution":
        return data.read_pollution(path)
    if not chosen and {"year", "month", "day"} <= set(header):
        frame = data_lib.read_table(path, required=[*columns, *categorical], dtype=str, keep_default_na=False)
        parts = {k: pd.to_numeric(frame[k], errors="coerce") for k in ("year", "month", "day", "hour") if k in frame}
        raw = frame[[*columns, *categorical]].copy()
        raw.insert(0, "time", pd.to_datetime(pd.DataFrame(parts), errors="coerce"))
        return raw
    return data.read_csv_series(path, time_column=chosen or header[0], value_columns=[*columns, *categorical])


def _last_window(table: pd.DataFrame, window: int, what: str) -> np.ndarray:
    if len(table) < window:
        raise DataError(f"{what}: {len(table)} rows after cleaning; the model needs the last {window} (its window).")
    last = table.iloc[-window:]
    missing = [c for c in last.columns if last[c].isna().any()]
    if missing:
        raise DataError(f"{what}: the last {window} rows still have missing values in {missing} after filling gaps "
                        f"of <= --max-gap; expected {window} complete rows at the end of the file.")
    return last.to_numpy(np.float32)


def future_index(index: pd.DatetimeIndex, frequency: str, steps: int) -> pd.DatetimeIndex:
    if frequency == data.ROWS:
        return pd.bdate_range(index[-1], periods=steps + 1)[1:]  # next trading days (weekends skipped)
    return pd.date_range(index[-1], periods=steps + 1, freq=frequency)[1:]


def forecast_csv(model, metadata: dict[str, Any], csv_path: str, time_column: str | None) -> tuple[pd.DataFrame, Any]:
    targets = metadata["target_columns"]
    covariates = metadata.get("covariate_columns", [])
    categorical = list(metadata.get("categorical_levels", {}))
    raw = read_series(csv_path, metadata, time_column, [*targets, *covariates], categorical)
    frame, frequency, skipped, repaired = data.clean(
        raw, numeric_columns=[*targets, *covariates], categorical_columns=categorical,
        frequency=metadata["frequency"], max_gap=metadata["max_gap"], what=csv_path)
    table, columns = data.build_features(
        frame, frequency=frequency, targets=targets, covariates=covariates, categorical=categorical,
        categorical_levels=metadata.get("categorical_levels", {}), calendar=metadata["calendar_features"])
    if columns != metadata["input_columns"]:
        raise DataError(f"{csv_path}: built input columns {columns}; the model expects {metadata['input_columns']}.")
    window, horizon = metadata["window"], metadata["horizon"]
    values = _last_window(table, window, csv_path)
    values[:, : len(targets)] = data.apply_transform(values[:, : len(targets)], metadata["transform"])
    scaler = data.Scaler.from_dict(metadata["scaler"])
    output = np.asarray(model.predict(scaler.transform(values)[None], verbose=0), float)[0]  # [H, T]
    forecast = data.invert_transform(scaler.inverse(output, list(range(len(targets)))), metadata["transform"])
    offsets = np.asarray(metadata["interval_offsets"], float)  # [2, H, T]
    times = future_index(table.index, frequency, horizon)
    result = pd.DataFrame({"time": times})
    transformed = data.apply_transform(forecast, metadata["transform"])  # intervals live in this space
    for i, name in enumerate(targets):
        result[name] = forecast[:, i]
        result[f"{name}_lower"] = data.invert_transform(transformed[:, i] + offsets[0, :, i], metadata["transform"])
        result[f"{name}_upper"] = data.invert_transform(transformed[:, i] + offsets[1, :, i], metadata["transform"])
    history = table.iloc[-3 * window:]
    figure = plots.forecast(
        times, None, {f"{metadata['model']} forecast": forecast[:, 0]}, history_time=history.index,
        history=frame[targets[0]].to_numpy()[-len(history):],
        interval=(result[f"{targets[0]}_lower"].to_numpy(), result[f"{targets[0]}_upper"].to_numpy()),
        title=f"Next {horizon} steps of {targets[0]} ({metadata.get('interval_coverage', 0.9):.0%} interval)",
        ylabel=targets[0])
    figure.axes[0].tick_params(axis="x", labelrotation=25)
    return result, figure


def financial_csv(model, metadata: dict[str, Any], csv_path: str, time_column: str | None) -> tuple[pd.DataFrame, Any]:
    from applications.forecasting import financial

    raw = data.read_ohlcv(csv_path, time_column or metadata.get("time_column") or "Date")
    frame, _, _, _ = data.clean(raw, numeric_columns=financial.PRICE_COLUMNS, frequency=data.ROWS,
                                max_gap=metadata["max_gap"], what=csv_path)
    inputs, _ = financial.ohlcv_features(frame, calendar=metadata["calendar_features"],
                                         volatility_horizon=metadata["volatility_horizon"])
    values = _last_window(inputs, metadata["window"], csv_path)
    input_scaler = data.Scaler.from_dict(metadata["input_scaler"])
    target_scaler = data.Scaler.from_dict(metadata["target_scaler"])
    output = np.asarray(model.predict(input_scaler.transform(values)[None], verbose=0), float)[0, 0]  # [2]
    predicted = target_scaler.inverse(output)  # log return, log volatility
    offsets = np.asarray(metadata["interval_offsets"], float).reshape(2, -1)  # [lower/upper, target]
    volatility = np.exp([predicted[1], predicted[1] + offsets[0, 1], predicted[1] + offsets[1, 1]])
    last_close = float(frame["Close"].iloc[-1])
    result = pd.DataFrame([{
        "date": future_index(frame.index, data.ROWS, 1)[0],
        "predicted_log_return": predicted[0], "log_return_lower": predicted[0] + offsets[0, 0],
        "log_return_upper": predicted[0] + offsets[1, 0],
        "predicted_close": last_close * np.exp(predicted[0]),
        "close_lower": last_close * np.exp(predicted[0] + offsets[0, 0]),
        "close_upper": last_close * np.exp(predicted[0] + offsets[1, 0]),
        "predicted_volatility": volatility[0], "volatility_lower": volatility[1], "volatility_upper": volatility[2],
    }])
    history = frame["Close"].iloc[-60:]
    row = result.iloc[0]
    figure = plots.forecast(
        pd.DatetimeIndex([row["date"]]), None, {"predicted close": np.array([row["predicted_close"]])},
        history_time=history.index, history=history.to_numpy(),
        interval=(np.array([row["close_lower"]]), np.array([row["close_upper"]])),
        title=f"Next close (random walk: {last_close:.2f}); next-{metadata['volatility_horizon']}-day volatility "
              f"{volatility[0]:.4f}", ylabel="Close")
    figure.axes[0].errorbar([row["date"]], [row["predicted_close"]],
                            yerr=[[row["predicted_close"] - row["close_lower"]], [row["close_upper"] - row["predicted_close"]]],
                            fmt="o", color="tab:blue", capsize=4)
    return result, figure


def anomaly_csv(model, metadata: dict[str, Any], csv_path: str, time_column: str | None) -> tuple[pd.DataFrame, Any]:
    from applications.forecasting import anomaly

    targets = metadata["target_columns"]
    raw = read_series(csv_path, metadata, time_column, targets)
    frame, _, _, _ = data.clean(raw, numeric_columns=targets, frequency=metadata["frequency"],
                                max_gap=metadata["max_gap"], what=csv_path)
    values = frame[targets].to_numpy(float)
    scaled = data.Scaler.from_dict(metadata["scaler"]).transform(values)
    window = metadata["window"]
    origins = anomaly.window_origins(np.isfinite(values).all(axis=1), window)
    if len(origins) == 0:
        raise DataError(f"{csv_path}: no stretch of {window} complete rows (the model's window).")
    scores = anomaly.point_scores(model, scaled, origins, window, 256)
    flags = anomaly.peak_flags(scores, metadata["threshold"])
    result = pd.DataFrame({"time": frame.index, targets[0]: values[:, 0], "score": scores, "anomaly": flags})
    figure = anomaly.flagged_figure(frame.index, values[:, 0], flags, f"Flagged points in {Path(csv_path).name}", targets[0])
    return result, figure


class _Card(dict):
    """A model card whose missing fields are a :class:`ModelFileError` naming the field, not a KeyError."""

    def __init__(self, fields: dict[str, Any], model_path: str) -> None:
        super().__init__(fields)
        self.model_path = model_path

    def __missing__(self, key: str):
        raise ModelFileError(f"{self.model_path}: its model card ({saving.metadata_path(self.model_path).name}) has no "
                             f"{key!r}; expected the card a `keras-applied run forecasting` writes beside model.keras.")


def predict_csv(model_path: str, csv_path: str, time_column: str | None = None) -> tuple[pd.DataFrame, Any, dict]:
    """(result table, figure, model card) for ``csv_path`` with the saved model."""
    model, metadata = saving.load_model(model_path, domain=DOMAIN)
    metadata = _Card(metadata, model_path)
    task = metadata.get("task", "forecast")
    if task not in ("forecast", "financial", "anomaly"):
        raise ModelFileError(f"{model_path}: its model card names the task {task!r}; expected 'forecast', "
                             "'financial' or 'anomaly'.")
    handler = {"forecast": forecast_csv, "financial": financial_csv, "anomaly": anomaly_csv}[task]
    table, figure = handler(model, metadata, csv_path, time_column)
    return table, figure, metadata


def check_output(output_dir: str, name: str) -> tuple[Path, Path]:
    """The CSV and PNG paths to write, refused before any work when they cannot be written: a
    name with a folder in it, an output folder that is a file or lies under one, an existing
    folder in the way of a file, or a folder without write permission."""
    if not name or Path(name).name != name or name in (".", ".."):
        raise ConfigError(f"--name must be a plain file name without folders; received {name!r}.")
    folder = Path(output_dir)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--output-dir {output_dir!r} cannot be a folder: {str(existing)!r} is a file. "
                          "Expected a folder (it is created if missing).")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--output-dir {output_dir!r} is not writable (no write permission on {str(existing)!r}).")
    paths = folder / f"{name}.csv", folder / f"{name}.png"
    for path in paths:
        if path.is_dir():
            raise ConfigError(f"Cannot write {str(path)!r}: a folder of that name is in the way; choose another --name.")
    return paths


def write_outputs(table: pd.DataFrame, figure, csv_path: Path, png_path: Path) -> None:
    try:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv_path, index=False)
        figure.savefig(png_path, dpi=110)
    except OSError as error:
        raise ConfigError(f"Cannot write the forecast to --output-dir {str(csv_path.parent)!r}: "
                          f"{error.strerror or error} ({error.filename or csv_path}).") from error


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict forecasting",
        description="Forecast the next horizon of a CSV series (with prediction intervals), the next day's return "
        "and volatility of an OHLCV CSV, or flag anomalies, with a saved forecasting model.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a forecasting run (in its workdir); "
                        "its model.json card says the task, columns, window and scaling.")
    parser.add_argument("--csv", required=True, help="The series: a CSV with a timestamp column and the columns the "
                        "model was trained on (an OHLCV CSV for a financial model), ending where the forecast starts.")
    parser.add_argument("--time-column", default=None, help="Timestamp column (default: the model's, else the first).")
    parser.add_argument("--output-dir", default=".", help="Folder for <name>.csv and <name>.png (created if missing).")
    parser.add_argument("--name", default="forecast", help="Base name of the written files.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        csv_path, png_path = check_output(args.output_dir, args.name)
        table, figure, metadata = predict_csv(args.model, args.csv, args.time_column)
        write_outputs(table, figure, csv_path, png_path)
    except UserInputError as error:
        print(f"keras-applied predict forecasting: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict forecasting: interrupted.", file=sys.stderr)
        return 130
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.tail(30).to_string(index=False) if metadata.get("task") != "anomaly"
              else table[table["anomaly"]].to_string(index=False))
    print(f"wrote {csv_path} and {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
