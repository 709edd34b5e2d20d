"""Time series -> a clean, regular table -> windows -> tf.data pipelines.

Every source ends as :class:`TimeSeries`: a pandas DataFrame on a regular DatetimeIndex holding
the target column(s), numeric covariates, one-hot categorical covariates and calendar encodings,
with NaN wherever a value is missing and could not be repaired. Windows are cut from it by
position: the input is ``window`` rows ending at an origin ``t``, the target the ``horizon`` rows
after it. A window is used only when all its rows are complete and belong to one contiguous
segment, so a long gap splits the series instead of being bridged.

Repairs, each counted in metrics.json (``skipped`` / ``repaired``):

- rows whose timestamp cannot be parsed are skipped; non-numeric values in value columns become
  missing values;
- unsorted timestamps are sorted, duplicate timestamps keep their first row;
- irregular spacing is resampled (mean per period) to a declared ``frequency``; without one it is
  an error that says to declare it; a regular series with missing periods is reindexed (the
  missing periods become missing values);
- gaps of at most ``max_gap`` consecutive missing values are linearly interpolated; longer gaps
  stay missing and split the series into segments; segments shorter than window + horizon are
  dropped.

Sources (CONVENTIONS.md order): a local folder (``--data-dir``, e.g. ``<data-dir>/forecasting/
pollution/pollution.csv``), the official URL online (Jena climate), a series bundled with an
installed package (statsmodels' co2 / sunspots / macrodata / nile; matplotlib's GOOG daily
prices for the financial task), or any CSV (``--dataset csv --csv-path FILE``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common import data as data_lib
from common import paths
from common.data import Skipped, Source, SourceUnavailable
from common.errors import DataError

log = logging.getLogger("keras_applied.forecasting")

JENA_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip"
# No checksum could be pinned while building (no network); the published archive is 13,568,290
# bytes, which is checked instead. Put the SHA-256 here once verified.
JENA_SHA256: str | None = None
JENA_BYTES = 13_568_290
# The "frequency" of series whose rows are the steps whatever their dates (trading days).
ROWS = "rows"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a named dataset is and the forecasting problem the presets pose on it."""

    frequency: str  # pandas offset alias of the regular grid
    season: int  # seasonal period in steps (seasonal naive, MASE, SARIMA); 1 = none
    targets: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    window: int = 24  # default input window
    horizon: int = 1  # default horizon
    eval_stride: int = 1  # default spacing of validation/test origins
    arima_order: tuple[int, int, int] = (1, 0, 1)
    seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0)
    transform: str = "none"  # default target transform
    center: bool = False  # default: show the network targets relative to their last value (trends)
    description: str = ""


SPECS: dict[str, DatasetSpec] = {
    "pollution": DatasetSpec(
        "h", 24, ("pm2.5",), ("DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"), ("cbwd",),
        window=72, horizon=24, eval_stride=24, arima_order=(1, 0, 1), seasonal_order=(1, 0, 1, 24),
        transform="log1p", description="Beijing PM2.5 hourly 2010-2014 with weather (UCI)",
    ),
    "daily_min_temperatures": DatasetSpec(
        "D", 365, ("Temp",), window=60, horizon=1, arima_order=(2, 0, 1),
        description="Melbourne daily minimum temperature 1981-1990",
    ),
    "monthly_sunspots": DatasetSpec(
        "MS", 132, ("Sunspots",), window=120, horizon=12, eval_stride=1, arima_order=(2, 0, 1),
        description="Zurich monthly sunspot numbers 1749-1983",
    ),
    "airline_passengers": DatasetSpec(
        "MS", 12, ("Passengers",), window=24, horizon=12, eval_stride=1, arima_order=(0, 1, 1),
        seasonal_order=(0, 1, 1, 12), transform="log1p", center=True,
        description="International airline passengers 1949-1960",
    ),
    "co2": DatasetSpec(
        # A 52-week seasonal ARIMA has over 100 states (minutes per fit): the season is left to
        # Holt-Winters and seasonal naive here.
        "W-SAT", 52, ("co2",), window=104, horizon=13, eval_stride=1, arima_order=(2, 1, 1), center=True, description="Mauna Loa weekly CO2 1958-2001 (statsmodels)",
    ),
    "sunspots": DatasetSpec(
        "YS", 11, ("SUNACTIVITY",), window=30, horizon=5, arima_order=(2, 0, 1),
        description="Yearly sunspot activity 1700-2008 (statsmodels)",
    ),
    "macrodata": DatasetSpec(
        "QS", 4, ("infl",), ("realgdp", "realcons", "realinv", "unemp", "tbilrate"), window=16,
        horizon=4, arima_order=(1, 0, 1), description="US quarterly macro data 1959-2009 (statsmodels)",
    ),
    "nile": DatasetSpec(
        "YS", 1, ("volume",), window=20, horizon=5, arima_order=(0, 1, 1), center=True,
        description="Nile river flow 1871-1970 (statsmodels)",
    ),
    "jena_climate": DatasetSpec(
        "h", 24, ("T (degC)",), ("p (mbar)", "rh (%)", "VPdef (mbar)", "wv (m/s)"), window=72,
        horizon=24, eval_stride=24, arima_order=(1, 0, 1), seasonal_order=(1, 0, 1, 24),
        description="Jena climate 2009-2016, resampled hourly (online)",
    ),
    "goog": DatasetSpec(
        ROWS, 5, ("Close",), ("Open", "High", "Low", "Volume"), window=20, horizon=1,
        description="GOOG daily OHLCV 2004-2008 (bundled with matplotlib)",
    ),
}
LOCAL_FILES = {
    "pollution": ("pollution", "pollution.csv"),
    "daily_min_temperatures": ("daily-min-temperatures", "daily-min-temperatures.csv"),
    "monthly_sunspots": ("monthly-sunspots", "monthly-sunspots.csv"),
    "airline_passengers": ("airline-passengers", "airline-passengers.csv"),
}
BUNDLED = ("co2", "sunspots", "macrodata", "nile", "goog")
OHLCV_COLUMNS = ("Date", "Open", "High", "Low", "Close", "Volume")


@dataclasses.dataclass
class TimeSeries:
    """A regular, cleaned multivariate series ready to be windowed."""

    name: str
    source: str  # "local", "online", "bundled" or "csv"
    frame: pd.DataFrame  # regular DatetimeIndex; float columns; NaN where unusable
    frequency: str
    season: int
    target_columns: list[str]
    input_columns: list[str]  # model inputs: targets first, then covariates and encodings
    categorical_levels: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    skipped: Skipped = dataclasses.field(default_factory=Skipped)
    repaired: Skipped = dataclasses.field(default_factory=data_lib.repaired)

    @property
    def values(self) -> np.ndarray:
        return self.frame[self.input_columns].to_numpy(np.float32)

    @property
    def targets(self) -> np.ndarray:
        return self.frame[self.target_columns].to_numpy(np.float32)


# ---------------------------------------------------------------------------------------------
# Readers: each returns a raw frame with a "time" column and value columns
# ---------------------------------------------------------------------------------------------
def read_csv_series(
    path: str | Path,
    *,
    time_column: str,
    value_columns: Sequence[str],
    time_format: str | None = None,
) -> pd.DataFrame:
    """A CSV with a timestamp column and value columns, as a raw frame (not yet cleaned)."""
    frame = data_lib.read_table(path, required=[time_column, *value_columns], dtype=str, keep_default_na=False)
    raw = frame[[*value_columns]].copy()
    raw.insert(0, "time", _parse_times(frame[time_column], time_format))
    return raw


def _parse_times(values: pd.Series, time_format: str | None = None) -> pd.Series:
    if time_format:
        return pd.to_datetime(values, format=time_format, errors="coerce")
    try:
        return pd.to_datetime(values, format="mixed", errors="coerce")
    except (TypeError, ValueError):  # older pandas without format="mixed"
        return pd.to_datetime(values, errors="coerce")


def read_pollution(path: str | Path) -> pd.DataFrame:
    """The UCI Beijing PM2.5 CSV (year, month, day, hour, pm2.5, weather ...) as a raw frame."""
    spec = SPECS["pollution"]
    columns = [*spec.targets, *spec.covariates, *spec.categorical]
    frame = data_lib.read_table(path, required=["year", "month", "day", "hour", *columns], dtype=str,
                                keep_default_na=False)
    parts = {key: pd.to_numeric(frame[key], errors="coerce") for key in ("year", "month", "day", "hour")}
    time = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
    raw = frame[columns].copy()
    raw.insert(0, "time", time)
    return raw


def read_local(dataset: str, data_dir: str | None) -> pd.DataFrame:
    folder_name, file_name = LOCAL_FILES[dataset]
    folder = data_lib.find_dataset_dir(data_dir, [folder_name], [file_name], "forecasting")
    path = folder / file_name
    if dataset == "pollution":
        return read_pollution(path)
    header = data_lib.read_table(path, nrows=1).columns
    return read_csv_series(path, time_column=header[0], value_columns=list(SPECS[dataset].targets))


def read_bundled(dataset: str) -> pd.DataFrame:
    """Series shipped inside installed packages (statsmodels datasets, matplotlib sample data)."""
    if dataset == "goog":
        return read_goog()
    try:
        import statsmodels.api as sm
    except ImportError as error:
        raise SourceUnavailable("statsmodels is not installed (pip install 'keras-applied[forecasting]').") from error
    if dataset == "co2":
        frame = sm.datasets.co2.load_pandas().data
        return pd.DataFrame({"time": frame.index, "co2": frame["co2"].to_numpy()})
    if dataset == "sunspots":
        frame = sm.datasets.sunspots.load_pandas().data
        years = frame["YEAR"].astype(int).astype(str)
        return pd.DataFrame({"time": pd.to_datetime(years + "-01-01"), "SUNACTIVITY": frame["SUNACTIVITY"]})
    if dataset == "nile":
        frame = sm.datasets.nile.load_pandas().data
        years = frame["year"].astype(int).astype(str)
        return pd.DataFrame({"time": pd.to_datetime(years + "-01-01"), "volume": frame["volume"]})
    if dataset == "macrodata":
        frame = sm.datasets.macrodata.load_pandas().data
        months = (frame["quarter"].astype(int) - 1) * 3 + 1
        time = pd.to_datetime(pd.DataFrame({"year": frame["year"].astype(int), "month": months, "day": 1}))
        spec = SPECS["macrodata"]
        return pd.concat([time.rename("time"), frame[[*spec.targets, *spec.covariates]]], axis=1)
    raise DataError(f"No bundled dataset {dataset!r}; expected one of {list(BUNDLED)}.")


def read_goog() -> pd.DataFrame:
    """GOOG daily OHLCV 2004-08-19 .. 2008-10-14 (1,047 days) from matplotlib's sample data."""
    from matplotlib import cbook

    try:
        with cbook.get_sample_data("goog.npz") as handle:
            prices = handle["price_data"]
    except (OSError, KeyError, ValueError) as error:
        raise SourceUnavailable(f"matplotlib's sample file goog.npz is not available ({error}).") from error
    return pd.DataFrame({
        "time": pd.to_datetime(prices["date"]), "Open": prices["open"], "High": prices["high"],
        "Low": prices["low"], "Close": prices["close"], "Volume": prices["volume"].astype(float),
    })


def read_jena() -> pd.DataFrame:
    import zipfile

    if not data_lib.is_online("storage.googleapis.com"):
        cached = paths.cache_dir("downloads", "forecasting") / JENA_URL.rsplit("/", 1)[-1]
        if not cached.exists():
            raise SourceUnavailable("storage.googleapis.com is unreachable and the archive is not cached.")
    archive = data_lib.download(JENA_URL, JENA_SHA256, cache_subdir="forecasting")
    if JENA_SHA256 is None and archive.stat().st_size != JENA_BYTES:
        raise DataError(f"{archive}: expected {JENA_BYTES:,} bytes (the published archive); found "
                        f"{archive.stat().st_size:,}. Delete it to download again.")
    with zipfile.ZipFile(archive) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith(".csv") and not n.startswith("__"))
        with bundle.open(name) as handle:
            frame = pd.read_csv(handle)
    spec = SPECS["jena_climate"]
    raw = frame[[*spec.targets, *spec.covariates]].copy()
    raw.insert(0, "time", pd.to_datetime(frame["Date Time"], format="%d.%m.%Y %H:%M:%S", errors="coerce"))
    return raw


def read_ohlcv(path: str | Path, time_column: str = "Date") -> pd.DataFrame:
    """An OHLCV CSV (Date, Open, High, Low, Close, Volume; 'Adj Close' ignored) as a raw frame."""
    frame = data_lib.read_table(path, dtype=str, keep_default_na=False)
    renamed = {c: c.strip() for c in frame.columns}
    lower = {c.lower(): c for c in renamed.values()}
    frame = frame.rename(columns=renamed)
    wanted = [time_column, *OHLCV_COLUMNS[1:]]
    missing = [c for c in wanted if c not in frame.columns and c.lower() not in lower]
    if missing:
        raise DataError(f"{path}: expected an OHLCV CSV with columns {wanted}; missing {missing}. "
                        f"Received columns: {list(frame.columns)}.")
    frame = frame.rename(columns={lower[c.lower()]: c for c in wanted if c not in frame.columns})
    raw = frame[list(OHLCV_COLUMNS[1:])].copy()
    raw.insert(0, "time", _parse_times(frame[time_column]))
    return raw


# ---------------------------------------------------------------------------------------------
# Cleaning
# ---------------------------------------------------------------------------------------------
def infer_frequency(index: pd.DatetimeIndex) -> str | None:
    """The offset alias of a grid holding every timestamp of ``index`` (sorted, unique), or None.

    Gaps are allowed (missing periods); timestamps off every candidate grid make it irregular.
    """
    if len(index) < 3:
        return None
    inferred = pd.infer_freq(index)
    if inferred:
        return inferred
    deltas = np.diff(index.asi8)
    step = pd.Timedelta(int(pd.Series(deltas).mode().iloc[0]), unit=str(index.unit) if hasattr(index, "unit") else "ns")
    days = step / pd.Timedelta(days=1)
    candidates = []
    if 28 <= days <= 31:
        candidates += ["MS", "ME"]
    elif 89 <= days <= 92:
        candidates += ["QS", "QE"]
    elif 365 <= days <= 366:
        candidates += ["YS", "YE"]
    elif days == 7:
        candidates += [f"W-{index[0].day_name()[:3].upper()}"]
    elif days == 1:
        candidates += ["D"]
    candidates.append(pd.tseries.frequencies.to_offset(step).freqstr)
    for candidate in candidates:
        try:
            grid = pd.date_range(index[0], index[-1], freq=candidate)
        except ValueError:
            continue
        if index.isin(grid).all():
            return candidate
    return None


def _on_grid(index: pd.DatetimeIndex, frequency: str) -> bool:
    """Is every timestamp on the ``frequency`` grid that starts at the first one?"""
    try:
        grid = pd.date_range(index[0], index[-1], freq=frequency)
    except ValueError as error:
        raise DataError(f"--frequency {frequency!r} is not a pandas offset alias ({error}); "
                        "expected e.g. 'h', 'D', 'W-SUN', 'MS'.") from error
    return bool(index.isin(grid).all())


def _run_lengths(missing: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of True values it belongs to (0 where False)."""
    lengths = np.zeros(len(missing), dtype=np.int64)
    start = None
    for i, flag in enumerate(np.append(missing, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            lengths[start:i] = i - start
            start = None
    return lengths


def interpolate_short_gaps(column: pd.Series, max_gap: int) -> tuple[pd.Series, int]:
    """Linearly fill runs of at most ``max_gap`` missing values inside the series; returns the
    filled column and how many values were filled. Longer runs (and leading/trailing ones) stay."""
    missing = column.isna().to_numpy()
    if not missing.any() or max_gap <= 0:
        return column, 0
    short = missing & (_run_lengths(missing) <= max_gap)
    filled = column.interpolate(method="linear", limit_area="inside")
    result = column.copy()
    result[short] = filled[short]
    return result, int(result[short].notna().sum())


def clean(
    raw: pd.DataFrame,
    *,
    numeric_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
    frequency: str | None = None,
    max_gap: int = 3,
    what: str = "series",
) -> tuple[pd.DataFrame, str, Skipped, Skipped]:
    """A raw frame ("time" + value columns) -> a regular, numeric frame indexed by time.

    Returns (frame, frequency, skipped, repaired). See the module docstring for the rules.
    """
    skipped, repaired = Skipped(), data_lib.repaired()
    frame = raw.copy()
    bad_time = frame["time"].isna()
    if bad_time.any():
        skipped.add("unparseable timestamp", int(np.flatnonzero(bad_time)[0]), int(bad_time.sum()))
        frame = frame[~bad_time]
    if frame.empty:
        raise DataError(f"{what}: none of the {len(raw)} rows has a parseable timestamp; expected dates or times "
                        "(e.g. 2020-01-31 or 2020-01-31 13:00) in the timestamp column (name it with --time-column).")
    for name in numeric_columns:
        text = frame[name]
        numbers = pd.to_numeric(text, errors="coerce")
        if text.dtype != object and not pd.api.types.is_string_dtype(text):
            frame[name] = numbers.astype(float)
            continue
        stripped = text.astype(str).str.strip()
        blank = stripped.str.upper().isin(["", "NA", "NAN", "NULL", "NONE", "N/A", "-"])
        bad = numbers.isna() & ~blank
        if bad.all():
            raise DataError(f"{what}: column {name!r} holds no numbers (e.g. {stripped.iloc[0]!r}); "
                            "expected numeric values. Name another column with --target-columns / "
                            "--covariate-columns, or --categorical-columns for a category.")
        if bad.any():
            repaired.add(f"non-numeric value in {name!r} (treated as missing)", stripped[bad].iloc[0], int(bad.sum()))
        frame[name] = numbers.astype(float)
    for name in categorical_columns:
        frame[name] = frame[name].astype(str).str.strip().replace({"": np.nan, "NA": np.nan, "nan": np.nan})

    if not frame["time"].is_monotonic_increasing:
        unsorted = int((frame["time"].diff() < pd.Timedelta(0)).sum())
        repaired.add("timestamp out of order (sorted)", None, unsorted)
        frame = frame.sort_values("time", kind="stable")
    duplicated = frame["time"].duplicated(keep="first")
    if duplicated.any():
        skipped.add("duplicate timestamp (first row kept)", frame["time"][duplicated].iloc[0], int(duplicated.sum()))
        frame = frame[~duplicated]
    frame = frame.set_index("time")
    frame.index.name = "time"

    if len(frame) < 3:
        raise DataError(f"{what}: {len(frame)} row(s) with a usable timestamp; expected a series of at least 3 "
                        "rows (training needs more than input window + horizon rows).")
    found = None if frequency == ROWS else infer_frequency(frame.index)
    if frequency == ROWS:
        pass  # one step per row (trading days): no calendar grid, no added rows
    elif frequency is None or frequency == "infer":
        if found is None:
            raise DataError(
                f"{what}: timestamps are irregularly spaced (e.g. {list(frame.index[:3].astype(str))}); "
                "expected a regular series. Declare the frequency to resample to with --frequency "
                "(a pandas alias such as 'h', 'D', 'W-SUN', 'MS')."
            )
        frequency = found
    elif not _on_grid(frame.index, frequency):
        before = len(frame)
        numeric = frame[list(numeric_columns)].resample(frequency).mean()
        if categorical_columns:
            last = frame[list(categorical_columns)].resample(frequency).last()
            numeric = pd.concat([numeric, last], axis=1)
        frame = numeric
        repaired.add(f"rows resampled to frequency {frequency!r} (mean per period)", None, before)
    grid = frame.index if frequency == ROWS else pd.date_range(frame.index[0], frame.index[-1], freq=frequency)
    if len(grid) != len(frame) or not frame.index.equals(grid):
        missing_rows = len(grid.difference(frame.index))
        if missing_rows:
            repaired.add("missing period (added as missing values)", grid.difference(frame.index)[0], missing_rows)
        frame = frame.reindex(grid)
        frame.index.name = "time"
    for name in [*numeric_columns, *categorical_columns]:
        if name in categorical_columns:
            before = frame[name].isna()
            frame[name] = frame[name].ffill(limit=max_gap) if max_gap else frame[name]
            filled = int((before & frame[name].notna()).sum())
        else:
            frame[name], filled = interpolate_short_gaps(frame[name], max_gap)
        if filled:
            repaired.add(f"missing {name!r} value filled (gaps of <= {max_gap})", None, filled)
        left = int(frame[name].isna().sum())
        if left:
            skipped.add(f"missing {name!r} value in a gap longer than {max_gap} (series split there)", None, left)
    return frame, frequency, skipped, repaired


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------
def _step_seconds(frequency: str) -> float | None:
    """Length of one step in seconds for fixed frequencies; None for calendar ones (month, year)."""
    if frequency == ROWS:
        return 86_400.0  # trading days: weekday and yearday encodings still mean something
    offset = pd.tseries.frequencies.to_offset(frequency)
    if isinstance(offset, pd.offsets.Week):
        return 7 * 86_400.0
    if isinstance(offset, pd.offsets.BusinessDay):
        return 86_400.0
    try:
        return pd.Timedelta(offset).total_seconds()
    except (TypeError, ValueError):
        return None


def calendar_features(index: pd.DatetimeIndex, frequency: str) -> pd.DataFrame:
    """Sine/cosine encodings of the time of day, week and year that the frequency resolves."""
    step_seconds = _step_seconds(frequency)
    columns: dict[str, np.ndarray] = {}

    def cyclic(name: str, value: np.ndarray, period: float) -> None:
        columns[f"{name}_sin"] = np.sin(2 * np.pi * value / period)
        columns[f"{name}_cos"] = np.cos(2 * np.pi * value / period)

    if step_seconds is not None and step_seconds < 86_400:
        cyclic("hour", index.hour.to_numpy() + index.minute.to_numpy() / 60.0, 24.0)
    if step_seconds is not None and step_seconds < 7 * 86_400:
        cyclic("weekday", index.dayofweek.to_numpy(), 7.0)
    if step_seconds is not None and step_seconds <= 31 * 86_400:
        cyclic("yearday", index.dayofyear.to_numpy() - 1.0, 365.25)
    elif step_seconds is None and frequency.upper().startswith("M"):
        cyclic("month", index.month.to_numpy() - 1.0, 12.0)
    elif step_seconds is None and frequency.upper().startswith("Q"):
        cyclic("quarter", index.quarter.to_numpy() - 1.0, 4.0)
    return pd.DataFrame(columns, index=index, dtype=np.float32)


def one_hot(column: pd.Series, levels: Sequence[str]) -> pd.DataFrame:
    """One indicator column per level (NaN rows stay NaN, unseen levels are all zeros)."""
    values = column.to_numpy()
    frame = pd.DataFrame(
        {f"{column.name}={level}": (values == level).astype(np.float32) for level in levels}, index=column.index
    )
    frame[column.isna().to_numpy()] = np.nan
    return frame


def apply_transform(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.log1p(np.maximum(values, 0.0))
    return values


def invert_transform(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.expm1(values)
    return values


def build_features(
    frame: pd.DataFrame,
    *,
    frequency: str,
    targets: Sequence[str],
    covariates: Sequence[str],
    categorical: Sequence[str],
    categorical_levels: dict[str, list[str]],
    calendar: bool,
) -> tuple[pd.DataFrame, list[str]]:
    """The model's input table: targets, numeric covariates, one-hot categories, calendar."""
    parts = [frame[[*targets, *[c for c in covariates if c not in targets]]].astype(np.float32)]
    for name in categorical:
        parts.append(one_hot(frame[name], categorical_levels[name]))
    if calendar:
        parts.append(calendar_features(frame.index, frequency))
    table = pd.concat(parts, axis=1)
    return table, list(table.columns)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def default_season(frequency: str) -> int:
    """The usual seasonal period of a frequency: a day of hours, a week of days, a year of
    weeks, months or quarters (1 when none applies)."""
    seconds = _step_seconds(frequency)
    if seconds is not None and seconds < 86_400:
        return max(int(round(86_400 / seconds)), 1)
    if frequency == ROWS or frequency.upper().startswith("B"):
        return 5
    if seconds == 86_400:
        return 7
    if seconds == 7 * 86_400:
        return 52
    upper = frequency.upper()
    if upper.startswith("M"):
        return 12
    if upper.startswith("Q"):
        return 4
    return 1


def _sources(dataset: str, data_dir: str | None) -> list[Source]:
    sources = []
    if dataset in LOCAL_FILES:
        folder, file_name = LOCAL_FILES[dataset]
        sources.append(Source("local", lambda: read_local(dataset, data_dir),
                              f"point --data-dir at a folder holding {folder}/{file_name} "
                              f"(or forecasting/{folder}/{file_name})."))
    if dataset == "jena_climate":
        sources.append(Source("online", read_jena, f"be online to download {JENA_URL} (cached afterwards)."))
    if dataset in BUNDLED:
        sources.append(Source("bundled", lambda: read_bundled(dataset), "install statsmodels / matplotlib."))
    return sources


def resolve_auto(dataset: str, data_dir: str | None, default: str = "pollution", fallback: str = "co2") -> str:
    """'auto': ``default`` when its files are found locally, else the bundled ``fallback``."""
    if dataset != "auto":
        return dataset
    folder, file_name = LOCAL_FILES[default]
    try:
        data_lib.find_dataset_dir(data_dir, [folder], [file_name], "forecasting")
        return default
    except SourceUnavailable as why:
        log.warning("%s not found locally (%s); using the bundled %s series.", default, why, fallback)
        return fallback


def load(
    dataset: str,
    *,
    data_dir: str | None = None,
    csv_path: str = "",
    time_column: str = "",
    target_columns: Sequence[str] = (),
    covariate_columns: Sequence[str] = (),
    categorical_columns: Sequence[str] = (),
    frequency: str = "",
    max_gap: int = 3,
    calendar: bool = True,
    use_covariates: bool = True,
) -> TimeSeries:
    """Resolve ``dataset`` and clean it into a :class:`TimeSeries` (not yet split or scaled).

    ``dataset='csv'`` reads ``csv_path`` with the named columns; for named datasets the column
    flags, when given, replace the dataset's own choice of targets and covariates.
    """
    if dataset == "csv":
        if not csv_path:
            raise DataError("--dataset csv needs --csv-path FILE (a CSV with a timestamp column and value columns).")
        if not target_columns:
            header = list(data_lib.read_table(csv_path, nrows=1).columns)
            raise DataError(f"--dataset csv needs --target-columns; {csv_path} has columns {header}.")
        header = list(data_lib.read_table(csv_path, nrows=1).columns)
        time_column = time_column or header[0]
        spec = DatasetSpec(frequency or "infer", 1, tuple(target_columns), tuple(covariate_columns),
                           tuple(categorical_columns))
        raw = read_csv_series(csv_path, time_column=time_column,
                              value_columns=[*target_columns, *covariate_columns, *categorical_columns])
        source = "csv"
        name = Path(csv_path).stem
    else:
        if dataset not in SPECS:
            raise DataError(f"Unknown forecasting dataset {dataset!r}; expected one of {[*SPECS, 'csv', 'auto']}.")
        spec = SPECS[dataset]
        raw, source = data_lib.resolve(dataset, _sources(dataset, data_dir))
        name = dataset
        if target_columns or covariate_columns or categorical_columns:
            available = [c for c in raw.columns if c != "time"]
            data_lib.require_columns(available, [*target_columns, *covariate_columns, *categorical_columns], dataset)
            spec = dataclasses.replace(
                spec, targets=tuple(target_columns) or spec.targets,
                covariates=tuple(covariate_columns), categorical=tuple(categorical_columns),
            )
    covariates = spec.covariates if use_covariates else ()
    categorical = spec.categorical if use_covariates else ()
    numeric = [*spec.targets, *[c for c in covariates if c not in spec.targets]]
    declared = frequency or (None if spec.frequency == "infer" else spec.frequency)
    if dataset == "jena_climate":
        declared = "h"  # 10-minute readings, averaged per hour
    frame, found_frequency, skipped, repaired = clean(
        raw, numeric_columns=numeric, categorical_columns=categorical, frequency=declared,
        max_gap=max_gap, what=str(csv_path or name),
    )
    season = spec.season if dataset != "csv" else default_season(found_frequency)
    levels = {c: sorted(frame[c].dropna().unique().tolist()) for c in categorical}
    table, input_columns = build_features(
        frame, frequency=found_frequency, targets=spec.targets, covariates=covariates,
        categorical=categorical, categorical_levels=levels, calendar=calendar,
    )
    skipped.log(f"{name} rows")
    repaired.log(f"{name} values (repaired, still used)")
    log.info("%s (%s): %d rows at frequency %s, %d input columns", name, source, len(table), found_frequency, len(input_columns))
    return TimeSeries(name, source, table, found_frequency, season, list(spec.targets), input_columns,
                      levels, skipped, repaired)


# ---------------------------------------------------------------------------------------------
# Splits and windows
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Windows:
    """Window origins (index of the last input row) per split, and how they were cut."""

    window: int
    horizon: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    bounds: tuple[int, int]  # first row of validation and of test (targets after these)
    dropped_segments: int = 0


def segment_ids(complete: np.ndarray) -> np.ndarray:
    """Contiguous runs of complete rows numbered 0, 1, ...; incomplete rows get -1."""
    starts = complete & ~np.r_[False, complete[:-1]]
    ids = np.cumsum(starts) - 1
    return np.where(complete, ids, -1)


def split_bounds(num_rows: int, fractions: Sequence[float]) -> tuple[int, int]:
    """Row positions where validation and test start, for (train, validation, test) fractions."""
    train, validation, _ = fractions
    return int(round(num_rows * train)), int(round(num_rows * (train + validation)))


def make_windows(
    complete: np.ndarray,
    *,
    window: int,
    horizon: int,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    stride: int = 1,
    eval_stride: int = 1,
    what: str = "series",
) -> Windows:
    """Origins t whose rows t-window+1 .. t+horizon are complete and in one segment.

    A window belongs to the split its targets (rows t+1 .. t+horizon) fall in entirely, so no
    target is ever seen by two splits; inputs may reach back into the previous split, as any
    forecaster's history does. Training origins are every ``stride``-th; validation and test
    origins those whose first target row is a multiple of ``eval_stride`` (for hourly data
    starting at midnight and eval_stride 24, one forecast per calendar day).
    """
    complete = np.asarray(complete, bool)
    num_rows = len(complete)
    if num_rows < window + horizon:
        raise DataError(f"{what}: {num_rows} rows is shorter than window + horizon ({window} + {horizon}); "
                        "use a shorter --input-window / --horizon or a longer series.")
    ids = segment_ids(complete)
    origins = np.arange(window - 1, num_rows - horizon)
    first, last = origins - window + 1, origins + horizon
    valid = (ids[first] >= 0) & (ids[first] == ids[last])
    lengths = np.bincount(ids[ids >= 0]) if (ids >= 0).any() else np.array([])
    dropped = int(np.sum(lengths < window + horizon))
    if not valid.any():
        longest = int(lengths.max()) if len(lengths) else 0
        raise DataError(f"{what}: no stretch of complete rows is as long as window + horizon "
                        f"({window} + {horizon}); the longest has {longest} rows. Shorten the window, "
                        "raise --max-gap, or use a longer series.")
    origins = origins[valid]
    validation_start, test_start = split_bounds(num_rows, fractions)
    target_first, target_last = origins + 1, origins + horizon
    in_train = target_last < validation_start
    in_validation = (target_first >= validation_start) & (target_last < test_start)
    in_test = target_first >= test_start
    aligned = (target_first % max(eval_stride, 1)) == 0
    train = origins[in_train]
    train = train[(train - train[0]) % stride == 0] if len(train) and stride > 1 else train
    result = Windows(window, horizon, train, origins[in_validation & aligned], origins[in_test & aligned],
                     (validation_start, test_start), dropped)
    for split in ("train", "validation", "test"):
        if len(getattr(result, split)) == 0:
            raise DataError(f"{what}: the {split} split has no complete window of {window} + {horizon} rows; "
                            "the series is too short (or too gappy) for these settings.")
    return result


@dataclasses.dataclass
class Scaler:
    """Per-column mean and standard deviation fitted on the training rows only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
        return cls(mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def transform(self, values: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
        mean, std = (self.mean, self.std) if columns is None else (self.mean[list(columns)], self.std[list(columns)])
        return ((values - mean) / std).astype(np.float32)

    def inverse(self, values: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
        mean, std = (self.mean, self.std) if columns is None else (self.mean[list(columns)], self.std[list(columns)])
        return values * std + mean

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Scaler:
        return cls(np.asarray(payload["mean"], np.float32), np.asarray(payload["std"], np.float32))


def gather_windows(values: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """[rows, features] -> [len(origins), window, features]: the rows ending at each origin."""
    offsets = np.arange(-window + 1, 1)
    return values[origins[:, None] + offsets[None, :]]


def gather_targets(targets: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """[rows, targets] -> [len(origins), horizon, targets]: the rows after each origin."""
    offsets = np.arange(1, horizon + 1)
    return targets[origins[:, None] + offsets[None, :]]


def pipeline(inputs: np.ndarray, targets: np.ndarray, origins: np.ndarray, *, window: int, horizon: int,
             batch_size: int, shuffle: bool = False, seed: int = 0):
    """A tf.data pipeline that cuts (input window, target window) pairs from whole arrays by
    origin, so the windows are never all materialised at once.

    inputs: [rows, features] scaled; targets: [rows, targets] scaled -> batches of
    ([B, window, features], [B, horizon, targets]).
    """
    import tensorflow as tf

    inputs_tensor = tf.constant(np.nan_to_num(inputs), tf.float32)
    targets_tensor = tf.constant(np.nan_to_num(targets), tf.float32)
    input_offsets = tf.range(-window + 1, 1)
    target_offsets = tf.range(1, horizon + 1)

    def cut(origin):
        return tf.gather(inputs_tensor, origin + input_offsets), tf.gather(targets_tensor, origin + target_offsets)

    dataset = tf.data.Dataset.from_tensor_slices(origins.astype(np.int32))
    return data_lib.make_pipeline(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed, map_fn=cut, cache=False)
