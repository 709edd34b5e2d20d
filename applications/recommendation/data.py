"""Ratings files -> cleaned interactions -> splits -> tf.data pipelines.

Every source ends as :class:`Interactions`: one row per (user, item) pair with a rating and,
where the source has one, a timestamp; users and items are re-indexed 0..n-1 (the raw ids are
kept for display and for ``predict.py``), and every item carries its title and genres when the
source has them.

Sources, in the order of CONVENTIONS.md:

- ``movielens_latest_small``: ``ratings.csv`` (+ ``movies.csv``) of ml-latest-small in a local
  folder; TFDS ``movielens/latest-small-ratings`` online.
- ``movielens_100k``: ``u.data`` (tab-separated ``user item rating timestamp``, no header)
  (+ ``u.item``) of ml-100k locally; TFDS ``movielens/100k-ratings`` online.
- ``csv``: any CSV/TSV of (user, item, rating[, timestamp]) named by ``--ratings-file``, with
  column names by flags (or recognised among common names), and an optional items file with
  titles and genres.

No dataset of ratings ships inside an installed dependency, so there is no offline default.

Cleaning (every dropped row is counted in ``skipped``, never silently): rows with a missing or
non-numeric id (where ids are numeric), a missing or non-numeric rating or one outside the
declared rating scale, and duplicate (user, item) rows (the latest is kept).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common import data as data_lib
from common.data import Skipped, Source
from common.errors import ConfigError, DataError

log = logging.getLogger("keras_applied.recommendation")

DATASETS = ("auto", "movielens_latest_small", "movielens_100k", "csv")
SPLITS = ("auto", "random", "temporal")
# Column names recognised when a flag does not name one (first match wins, case-insensitive).
COLUMN_CANDIDATES = {
    "user": ("user", "user_id", "userid", "user id", "uid", "customer_id"),
    "item": ("item", "item_id", "itemid", "movie_id", "movieid", "movie", "product_id", "iid"),
    "rating": ("rating", "user_rating", "score", "stars", "value"),
    "timestamp": ("timestamp", "time", "datetime", "date", "unix_timestamp", "ts"),
    "title": ("title", "movie_title", "name", "item_name"),
    "genres": ("genres", "genre", "movie_genres", "categories", "category", "tags"),
}
ML100K_GENRES = (
    "Unknown", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)
NO_GENRE = "(no genres listed)"
TOKEN_PATTERN = re.compile(r"[a-z0-9]+")
YEAR_PATTERN = re.compile(r"\((\d{4})\)\s*$")


@dataclasses.dataclass
class Interactions:
    """Cleaned ratings with users and items re-indexed from 0 (``user``/``item`` index ``users``/``items``)."""

    name: str
    source: str  # "local" or "online"
    users: np.ndarray  # raw user ids as strings, [num_users]
    items: np.ndarray  # raw item ids as strings, [num_items]
    user: np.ndarray  # int32 [num_ratings]
    item: np.ndarray  # int32 [num_ratings]
    rating: np.ndarray  # float32 [num_ratings]
    timestamp: np.ndarray | None  # int64 [num_ratings] seconds, or None when the source has none
    titles: list[str]  # per item ("" when unknown)
    genres: list[list[str]]  # per item ([] when unknown)
    rating_scale: tuple[float, float]
    skipped: Skipped = dataclasses.field(default_factory=Skipped)

    @property
    def num_users(self) -> int:
        return len(self.users)

    @property
    def num_items(self) -> int:
        return len(self.items)

    def __len__(self) -> int:
        return len(self.rating)

    def subset(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The (user, item, rating) arrays of ``rows``."""
        return {"user": self.user[rows], "item": self.item[rows], "rating": self.rating[rows]}

    def item_label(self, index: int) -> str:
        title = self.titles[index] if index < len(self.titles) else ""
        return f"{title} [{self.items[index]}]" if title else f"item {self.items[index]}"


@dataclasses.dataclass
class Split:
    """Row indices of each part of a split, and what was adjusted to make it."""

    kind: str  # "random" or "temporal"
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    notes: Skipped = dataclasses.field(default_factory=lambda: Skipped("noted"))

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


# ---------------------------------------------------------------------------------------------
# Cleaning a table of ratings
# ---------------------------------------------------------------------------------------------
def pick_column(columns: Sequence[str], role: str, given: str | None, source: str, required: bool = True) -> str | None:
    """The column for ``role`` (user, item, rating ...): the one named by a flag, or a known name.

    Raises :class:`DataError` listing the columns found when it cannot be found.
    """
    columns = [str(c) for c in columns]
    if given:
        data_lib.require_columns(columns, [given], source)
        return given
    lowered = {c.lower().strip(): c for c in columns}
    for candidate in COLUMN_CANDIDATES[role]:
        if candidate in lowered:
            return lowered[candidate]
    if required:
        raise DataError(
            f"{source}: expected a {role} column (one of {list(COLUMN_CANDIDATES[role])}, or name it "
            f"with --{role}-column). Received columns: {columns}."
        )
    return None


def _ids(values, role: str, numeric: bool | None, skipped: Skipped) -> tuple[np.ndarray, np.ndarray]:
    """Ids as clean strings, and a mask of usable rows.

    ``numeric``: True when ids must be integers (MovieLens formats); None decides from the data
    (integer ids when at least 90% parse as integers, so a few corrupt rows are skipped rather
    than turning every id into a string).
    """
    import pandas as pd

    text = pd.Series(values).astype("string").str.strip()
    missing = text.isna() | (text == "")
    if missing.any():
        skipped.add(f"missing {role} id", f"row {int(np.flatnonzero(missing.to_numpy())[0]) + 2}", int(missing.sum()))
    as_number = pd.to_numeric(text, errors="coerce")
    integral = as_number.notna() & (as_number == np.floor(as_number.fillna(0)))
    if numeric is None:
        numeric = bool(integral[~missing].mean() >= 0.9) if (~missing).any() else True
    usable = ~missing
    if numeric:
        bad = usable & ~integral
        if bad.any():
            first = np.flatnonzero(bad.to_numpy())[:3]
            skipped.add(f"non-numeric {role} id", ", ".join(repr(text.iloc[j]) for j in first), int(bad.sum()))
        usable &= integral
        text = as_number.astype("Int64").astype("string")
    return text.fillna("").to_numpy(dtype=object).astype(str), usable.to_numpy(dtype=bool)


def _timestamps(values, skipped: Skipped) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch (numbers, or date strings pandas can parse) and a usable mask."""
    import pandas as pd

    series = pd.Series(values)
    seconds = pd.to_numeric(series, errors="coerce")
    if seconds.notna().mean() < 0.5:  # mostly not numbers: dates as text
        parsed = pd.to_datetime(series, errors="coerce", utc=True)
        seconds = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    bad = seconds.isna().to_numpy()
    if bad.any():
        skipped.add("unreadable timestamp", f"{series.iloc[int(np.flatnonzero(bad)[0])]!r}", int(bad.sum()))
    return seconds.fillna(0).to_numpy(dtype=np.int64), ~bad


def from_frame(
    frame,
    *,
    name: str,
    source: str,
    rating_scale: tuple[float, float],
    user_column: str | None = None,
    item_column: str | None = None,
    rating_column: str | None = None,
    timestamp_column: str | None = None,
    numeric_ids: bool | None = None,
    item_metadata: dict[str, tuple[str, list[str]]] | None = None,
    origin: str = "ratings table",
) -> Interactions:
    """Clean a table of ratings into :class:`Interactions` (see the module docstring for the rules)."""
    if len(frame) == 0:
        raise DataError(f"{origin} has no rating rows: expected (user, item, rating[, timestamp]) rows.")
    columns = list(frame.columns)
    user_column = pick_column(columns, "user", user_column, origin)
    item_column = pick_column(columns, "item", item_column, origin)
    rating_column = pick_column(columns, "rating", rating_column, origin)
    timestamp_column = pick_column(columns, "timestamp", timestamp_column, origin, required=False)
    skipped = Skipped()
    users, user_ok = _ids(frame[user_column].to_numpy(), "user", numeric_ids, skipped)
    items, item_ok = _ids(frame[item_column].to_numpy(), "item", numeric_ids, skipped)
    import pandas as pd

    ratings = pd.to_numeric(frame[rating_column], errors="coerce").to_numpy(dtype=np.float64)
    rating_ok = np.isfinite(ratings)
    if (~rating_ok).any():
        first = frame[rating_column].iloc[int(np.flatnonzero(~rating_ok)[0])]
        skipped.add("missing or non-numeric rating", repr(first), int((~rating_ok).sum()))
    low, high = rating_scale
    outside = rating_ok & ((ratings < low) | (ratings > high))
    if outside.any():
        skipped.add(
            f"rating outside the declared scale [{low:g}, {high:g}]",
            ", ".join(f"{v:g}" for v in ratings[outside][:3]),
            int(outside.sum()),
        )
    usable = user_ok & item_ok & rating_ok & ~outside
    timestamps = None
    if timestamp_column is not None:
        timestamps, time_ok = _timestamps(frame[timestamp_column].to_numpy(), skipped)
        usable &= time_ok
    if not usable.any():
        raise DataError(
            f"{origin}: none of its {len(frame)} rows is usable ({dict(skipped.counts)}); expected "
            f"ids and numeric ratings within [{low:g}, {high:g}] (set the scale with --rating-scale)."
        )
    rows = np.flatnonzero(usable)
    # Duplicates of a (user, item) pair: keep the latest (by timestamp, then by position in the file).
    order = rows if timestamps is None else rows[np.argsort(timestamps[rows], kind="stable")]
    pair = pd.Series(users[order]).str.cat(pd.Series(items[order]), sep="\x1f")
    latest = ~pair.duplicated(keep="last").to_numpy()
    if (~latest).any():
        example = order[np.flatnonzero(~latest)[0]]
        skipped.add(
            "duplicate (user, item) row; kept the latest",
            f"user {users[example]} item {items[example]}",
            int((~latest).sum()),
        )
    rows = np.sort(order[latest])
    user_vocabulary, user_index = _vocabulary(users[rows])
    item_vocabulary, item_index = _vocabulary(items[rows])
    metadata = item_metadata or {}
    titles = [metadata.get(raw, ("", []))[0] for raw in item_vocabulary]
    genres = [list(metadata.get(raw, ("", []))[1]) for raw in item_vocabulary]
    skipped.log(origin)
    return Interactions(
        name=name,
        source=source,
        users=user_vocabulary,
        items=item_vocabulary,
        user=user_index,
        item=item_index,
        rating=ratings[rows].astype(np.float32),
        timestamp=None if timestamps is None else timestamps[rows],
        titles=titles,
        genres=genres,
        rating_scale=(float(low), float(high)),
        skipped=skipped,
    )


def _vocabulary(raw_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids (numerically when they are all integers) and each row's index into them."""
    unique = np.unique(raw_ids)
    if all(value.lstrip("-").isdigit() for value in unique):
        unique = unique[np.argsort(unique.astype(np.int64), kind="stable")]
    position = {value: index for index, value in enumerate(unique)}
    return unique, np.fromiter((position[v] for v in raw_ids), dtype=np.int32, count=len(raw_ids))


# ---------------------------------------------------------------------------------------------
# Readers of the canonical formats
# ---------------------------------------------------------------------------------------------
def _split_genres(text) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        return []
    return [g.strip() for g in re.split(r"[|,;]", text) if g.strip() and g.strip() != NO_GENRE]


def read_items_table(path: str | Path, *, item_column=None, title_column=None, genres_column=None) -> dict[str, tuple[str, list[str]]]:
    """An items file (``movies.csv`` layout: item id, title, ``|``-separated genres) as {id: (title, genres)}."""
    frame = data_lib.read_table(path, dtype=str, keep_default_na=False)
    item_column = pick_column(frame.columns, "item", item_column, str(path))
    title_column = pick_column(frame.columns, "title", title_column, str(path), required=False)
    genres_column = pick_column(frame.columns, "genres", genres_column, str(path), required=False)
    ids = frame[item_column].str.strip()
    ids = ids.where(~ids.str.fullmatch(r"-?\d+(\.0+)?"), ids.str.replace(r"\.0+$", "", regex=True))
    titles = frame[title_column].fillna("").tolist() if title_column else [""] * len(frame)
    genres = [_split_genres(g) for g in frame[genres_column]] if genres_column else [[] for _ in range(len(frame))]
    return {i: (t, g) for i, t, g in zip(ids, titles, genres)}


def read_ml100k_items(path: Path) -> dict[str, tuple[str, list[str]]]:
    """ml-100k ``u.item``: ``id|title|release date|video date|IMDb URL|19 genre flags`` (Latin-1)."""
    items = {}
    for line in data_lib.read_bytes(path, "the ml-100k u.item file").decode("latin-1").splitlines():
        fields = line.strip().split("|")
        if len(fields) < 5 + len(ML100K_GENRES):
            continue
        flags = fields[5 : 5 + len(ML100K_GENRES)]
        items[fields[0]] = (fields[1], [g for g, flag in zip(ML100K_GENRES, flags) if flag == "1" and g != "Unknown"])
    return items


def read_ratings_file(
    path: str | Path,
    *,
    delimiter: str | None = None,
    user_column=None,
    item_column=None,
    rating_column=None,
    timestamp_column=None,
):
    """A CSV/TSV of ratings as a DataFrame (all columns as text, cleaned later).

    A file whose first row is all numbers has no header: its columns are taken as
    ``user, item, rating[, timestamp]`` (the ml-100k ``u.data`` layout).
    """
    path = Path(path)
    expected = "a CSV/TSV of (user, item, rating[, timestamp]) rows"
    try:
        is_file = path.is_file()
        if is_file and path.stat().st_size == 0:
            raise DataError(f"{path} is empty: expected a header row and (user, item, rating[, timestamp]) rows.")
        if delimiter is None and is_file:
            with open(path, encoding="utf-8", errors="replace") as handle:
                first = handle.readline()
    except OSError as error:
        raise data_lib.unreadable(path, error, expected) from error
    if delimiter is None and is_file:
        delimiter = "\t" if "\t" in first else ("," if "," in first else (";" if ";" in first else None))
        if delimiter is None and len(first.split()) > 1:
            delimiter = r"\s+"
    frame = data_lib.read_table(path, delimiter=delimiter, dtype=str, keep_default_na=False, engine="python" if delimiter == r"\s+" else None)
    header = [str(c) for c in frame.columns]
    if all(re.fullmatch(r"-?\d+(\.\d+)?", c.strip()) for c in header):
        names = ["user", "item", "rating", "timestamp"][: len(header)] + [f"column{j}" for j in range(4, len(header))]
        if any(flag is not None for flag in (user_column, item_column, rating_column, timestamp_column)):
            names = [str(j) for j in range(len(header))]
        log.info("%s has no header row; reading its columns as %s", path, names)
        frame = data_lib.read_table(path, delimiter=delimiter, dtype=str, keep_default_na=False, header=None,
                                    names=names, engine="python" if delimiter == r"\s+" else None)
    return frame


def read_movielens_folder(folder: Path, layout: str, rating_scale: tuple[float, float]) -> Interactions:
    """ml-latest-small (``ratings.csv`` + ``movies.csv``) or ml-100k (``u.data`` + ``u.item``)."""
    if layout == "movielens_latest_small":
        frame = read_ratings_file(folder / "ratings.csv")
        movies = folder / "movies.csv"
        metadata = read_items_table(movies) if movies.exists() else None
        origin = str(folder / "ratings.csv")
        columns = {"user_column": "userId", "item_column": "movieId", "rating_column": "rating", "timestamp_column": "timestamp"}
    else:
        frame = read_ratings_file(folder / "u.data", delimiter="\t")
        items = folder / "u.item"
        metadata = read_ml100k_items(items) if items.exists() else None
        origin = str(folder / "u.data")
        columns = {"user_column": "user", "item_column": "item", "rating_column": "rating", "timestamp_column": "timestamp"}
    if metadata is None:
        log.warning("%s: no items file beside the ratings; items have no titles or genres.", folder)
    return from_frame(frame, name=layout, source="local", rating_scale=rating_scale, numeric_ids=True,
                      item_metadata=metadata, origin=origin, **columns)


def _tfds_frame(name: str):
    """A TFDS MovieLens ratings dataset as a DataFrame and its items' metadata."""
    import pandas as pd
    import tensorflow_datasets as tfds

    dataset, info = data_lib.load_tfds(name, split="train", with_info=True)
    genre_names = info.features["movie_genres"].feature.names
    rows, metadata = [], {}
    for example in tfds.as_numpy(dataset):
        movie = example["movie_id"].decode()
        rows.append((example["user_id"].decode(), movie, float(example["user_rating"]), int(example["timestamp"])))
        if movie not in metadata:
            genres = [genre_names[g] for g in example["movie_genres"] if genre_names[g] not in (NO_GENRE, "Unknown")]
            metadata[movie] = (example["movie_title"].decode(errors="replace"), genres)
    return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"]), metadata


def _movielens_sources(dataset: str, data_dir: str | None, rating_scale: tuple[float, float]) -> list[Source]:
    folders = {"movielens_latest_small": (["ml-latest-small"], ["ratings.csv"]), "movielens_100k": (["ml-100k"], ["u.data"])}
    names, required = folders[dataset]
    tfds_name = {"movielens_latest_small": "movielens/latest-small-ratings", "movielens_100k": "movielens/100k-ratings"}[dataset]

    def local() -> Interactions:
        folder = data_lib.find_dataset_dir(data_dir, names, required, "recommendation")
        return read_movielens_folder(folder, dataset, rating_scale)

    def online() -> Interactions:
        frame, metadata = _tfds_frame(tfds_name)
        # TFDS stores the ids as strings; they are numeric in the real data, random in mock data.
        return from_frame(frame, name=dataset, source="online", rating_scale=rating_scale, numeric_ids=None,
                          item_metadata=metadata, origin=f"TFDS {tfds_name}")

    return [
        Source("local", local, f"point --data-dir at the {names[0]} folder (holding {required[0]}) or a parent of it."),
        Source("online", online, f"be online for TFDS {tfds_name!r} (cached afterwards)."),
    ]


def load(
    dataset: str,
    *,
    data_dir: str | None = None,
    rating_scale: tuple[float, float] = (0.5, 5.0),
    ratings_file: str | None = None,
    items_file: str | None = None,
    delimiter: str | None = None,
    user_column: str | None = None,
    item_column: str | None = None,
    rating_column: str | None = None,
    timestamp_column: str | None = None,
    max_ratings: int = 0,
    seed: int = 0,
) -> Interactions:
    """Resolve ``dataset`` to cleaned :class:`Interactions`.

    ``auto``: ml-latest-small from the first source that has it, else ml-100k. ``max_ratings``
    keeps a seeded random subset of the rows (smoke runs).
    """
    if dataset == "auto":
        errors = []
        for candidate in ("movielens_latest_small", "movielens_100k"):
            try:
                return load(candidate, data_dir=data_dir, rating_scale=rating_scale, max_ratings=max_ratings, seed=seed)
            except data_lib.DataNotFoundError as why:
                errors.append(str(why))
        raise data_lib.DataNotFoundError(
            "No MovieLens dataset found (and none ships with an installed package); provide one of "
            "them, or your own ratings with --dataset csv --ratings-file FILE.\n" + "\n".join(errors)
        )
    if dataset in ("movielens_latest_small", "movielens_100k"):
        interactions, _ = data_lib.resolve(dataset, _movielens_sources(dataset, data_dir, rating_scale))
    elif dataset == "csv":
        if not ratings_file:
            raise ConfigError("--dataset csv needs --ratings-file PATH (a CSV/TSV of user, item, rating[, timestamp]).")
        frame = read_ratings_file(ratings_file, delimiter=delimiter, user_column=user_column, item_column=item_column,
                                  rating_column=rating_column, timestamp_column=timestamp_column)
        metadata = read_items_table(items_file) if items_file else None
        interactions = from_frame(
            frame, name="csv", source="local", rating_scale=rating_scale, user_column=user_column,
            item_column=item_column, rating_column=rating_column, timestamp_column=timestamp_column,
            item_metadata=metadata, origin=str(ratings_file),
        )
    else:
        raise DataError(f"Unknown recommendation dataset {dataset!r}; expected one of {list(DATASETS)}.")
    if max_ratings and len(interactions) > max_ratings:
        keep = np.sort(np.random.default_rng(seed).choice(len(interactions), max_ratings, replace=False))
        interactions = reindex(interactions, keep)
    log.info("%s (%s): %d ratings by %d users of %d items, scale %s", interactions.name, interactions.source,
             len(interactions), interactions.num_users, interactions.num_items, interactions.rating_scale)
    return interactions


def reindex(interactions: Interactions, rows: np.ndarray) -> Interactions:
    """The ratings of ``rows`` only, with users and items that no longer appear dropped."""
    users, user_index = np.unique(interactions.user[rows], return_inverse=True)
    items, item_index = np.unique(interactions.item[rows], return_inverse=True)
    return dataclasses.replace(
        interactions,
        users=interactions.users[users], items=interactions.items[items],
        user=user_index.astype(np.int32), item=item_index.astype(np.int32), rating=interactions.rating[rows],
        timestamp=None if interactions.timestamp is None else interactions.timestamp[rows],
        titles=[interactions.titles[i] for i in items], genres=[interactions.genres[i] for i in items],
    )


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------
def random_split(interactions: Interactions, fractions: Sequence[float], seed: int) -> Split:
    """Rows shuffled with ``seed`` and cut into train / validation / test by ``fractions``."""
    train, validation, test = data_lib.split_indices(len(interactions), fractions, seed)
    return Split("random", train, validation, test)


def temporal_split(interactions: Interactions, holdout: int) -> Split:
    """Leave-last-n-out per user: each user's last ``holdout`` ratings (by time) are test, the
    ``holdout`` before them validation, the rest training.

    Every training rating of a user is no later than that user's validation ratings, which are
    no later than their test ratings. Users with fewer than ``2 * holdout + 1`` ratings (a single
    rating, say) cannot be split that way: all their ratings stay in training, and they are
    counted in the split's notes.
    """
    if interactions.timestamp is None:
        raise DataError(
            f"{interactions.name}: a temporal split needs a timestamp column, and these ratings have none "
            "(name it with --timestamp-column, or use --split random)."
        )
    # Sort by user, then time, then original row (stable), so ties keep the file's order.
    order = np.lexsort((np.arange(len(interactions)), interactions.timestamp, interactions.user))
    users = interactions.user[order]
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    position_from_end = np.repeat(starts + counts, counts) - np.arange(len(order))  # 1 = the user's last rating
    splittable = np.repeat(counts >= 2 * holdout + 1, counts)
    test = splittable & (position_from_end <= holdout)
    validation = splittable & (position_from_end > holdout) & (position_from_end <= 2 * holdout)
    notes = Skipped("noted")
    too_few = int((counts < 2 * holdout + 1).sum())
    if too_few:
        few_users = interactions.users[users[starts[counts < 2 * holdout + 1]]]
        notes.add(f"users with fewer than {2 * holdout + 1} ratings, kept in training only", ", ".join(few_users[:3]), too_few)
        notes.log(f"temporal split of {interactions.name}")
    return Split(
        "temporal",
        train=np.sort(order[~(test | validation)]),
        validation=np.sort(order[validation]),
        test=np.sort(order[test]),
        notes=notes,
    )


def make_split(interactions: Interactions, kind: str, *, seed: int, fractions=(0.8, 0.1, 0.1), holdout: int = 1) -> Split:
    split = random_split(interactions, fractions, seed) if kind == "random" else temporal_split(interactions, holdout)
    for part, rows in (("train", split.train), ("validation", split.validation), ("test", split.test)):
        if len(rows) == 0:
            raise DataError(
                f"The {kind} split of {interactions.name} ({len(interactions)} ratings by {interactions.num_users} users) "
                f"left no {part} ratings; expected more ratings per user (for a temporal split, at least "
                f"{2 * holdout + 1} for some users)."
            )
    log.info("%s split: %s", kind, split.sizes())
    return split


# ---------------------------------------------------------------------------------------------
# Rating sessions (the time-aware baseline's extra bias)
# ---------------------------------------------------------------------------------------------
def sessions(user: np.ndarray, timestamp: np.ndarray | None, gap_seconds: float) -> np.ndarray:
    """A session id per rating: a user's ratings less than ``gap_seconds`` apart share one.

    Causal: whether a rating opens a new session depends only on the time since the same user's
    previous rating, never on later ratings. Returns int64 ids 0..S-1 ([num_ratings]); without
    timestamps (or with ``gap_seconds`` 0) every rating is its own session.
    """
    if timestamp is None or gap_seconds <= 0:
        return np.arange(len(user), dtype=np.int64)
    order = np.lexsort((np.arange(len(user)), timestamp, user))
    opens = np.r_[True, (np.diff(user[order]) != 0) | (np.diff(timestamp[order]) > gap_seconds)]
    result = np.empty(len(user), np.int64)
    result[order] = np.cumsum(opens) - 1
    return result


def session_index(session_ids: np.ndarray, train_rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Session ids -> model indices: 1..S for sessions with training ratings, 0 for any other
    (their bias is unknown). Returns (int32 index per rating, S)."""
    known = np.unique(session_ids[train_rows])
    position = np.searchsorted(known, session_ids)
    found = (position < len(known)) & (known[np.minimum(position, len(known) - 1)] == session_ids)
    return np.where(found, position + 1, 0).astype(np.int32), len(known)


# ---------------------------------------------------------------------------------------------
# Item features: genres (multi-hot), title tokens, release year
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class ItemFeatures:
    """Dense item feature tables, one row per item index."""

    genre_names: list[str]
    genres: np.ndarray  # float32 [num_items, num_genres], multi-hot
    token_vocabulary: list[str]  # index 0 is padding, 1 out-of-vocabulary
    title_tokens: np.ndarray  # int32 [num_items, max_tokens], 0-padded
    year_buckets: np.ndarray  # int32 [num_items], 0 = unknown, else 1 + decade index
    year_bucket_names: list[str]

    @property
    def num_genres(self) -> int:
        return len(self.genre_names)


def tokenize_title(title: str) -> list[str]:
    """Lower-case word tokens of a title, without the trailing "(year)"."""
    return TOKEN_PATTERN.findall(YEAR_PATTERN.sub("", title).lower())


def item_features(
    interactions: Interactions, *, max_tokens: int = 8, vocabulary_size: int = 2000, min_count: int = 2
) -> ItemFeatures:
    """Genre multi-hot vectors, title token ids and release-decade buckets of every item.

    The token vocabulary keeps the ``vocabulary_size`` most frequent title words that occur in at
    least ``min_count`` titles; rarer words map to the out-of-vocabulary id 1.
    """
    genre_names = sorted({g for genres in interactions.genres for g in genres}) or ["(none)"]
    genre_index = {g: j for j, g in enumerate(genre_names)}
    genres = np.zeros((interactions.num_items, len(genre_names)), np.float32)
    for row, item_genres in enumerate(interactions.genres):
        for genre in item_genres:
            genres[row, genre_index[genre]] = 1.0
    tokens = [tokenize_title(t) for t in interactions.titles]
    counts: dict[str, int] = {}
    for words in tokens:
        for word in set(words):
            counts[word] = counts.get(word, 0) + 1
    frequent = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))[:vocabulary_size]
    vocabulary = ["[pad]", "[oov]", *frequent]
    token_index = {w: j for j, w in enumerate(vocabulary)}
    title_tokens = np.zeros((interactions.num_items, max_tokens), np.int32)
    for row, words in enumerate(tokens):
        ids = [token_index.get(w, 1) for w in words][:max_tokens]
        title_tokens[row, : len(ids)] = ids
    years = np.array([int(m.group(1)) if (m := YEAR_PATTERN.search(t.strip())) else 0 for t in interactions.titles])
    decades = sorted({y // 10 * 10 for y in years if y})
    decade_index = {d: j + 1 for j, d in enumerate(decades)}
    year_buckets = np.array([decade_index.get(y // 10 * 10, 0) if y else 0 for y in years], np.int32)
    return ItemFeatures(genre_names, genres, vocabulary, title_tokens, year_buckets, ["unknown", *[f"{d}s" for d in decades]])


# ---------------------------------------------------------------------------------------------
# Histories (the retrieval model's user features)
# ---------------------------------------------------------------------------------------------
def history_matrix(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray | None, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For every interaction, the same user's ``length`` previous items (most recent first).

    Returns ``(order, histories)``: ``order`` sorts the interactions by (user, time) and
    ``histories[j]`` (int32 [length], item index + 1, 0-padded) belongs to ``order[j]``. Only
    earlier interactions enter a history, so no example sees its own target or later ones.
    """
    times = timestamp if timestamp is not None else np.zeros(len(user), np.int64)
    order = np.lexsort((np.arange(len(user)), times, user))
    users, items = user[order], item[order] + 1
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1] if len(users) else np.array([], int)
    first_of_user = np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    histories = np.zeros((len(order), length), np.int32)
    for lag in range(1, length + 1):
        source = np.arange(len(order)) - lag
        valid = source >= first_of_user
        histories[valid, lag - 1] = items[source[valid]]
    return order, histories


def latest_histories(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray | None, num_users: int, length: int) -> np.ndarray:
    """Each user's ``length`` most recent items (index + 1, most recent first, 0-padded): int32 [num_users, length]."""
    times = timestamp if timestamp is not None else np.zeros(len(user), np.int64)
    order = np.lexsort((np.arange(len(user)), times, user))
    users, items = user[order], item[order] + 1
    result = np.zeros((num_users, length), np.int32)
    if not len(users):
        return result
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    ends = np.r_[starts[1:], len(users)] - 1  # each user's last interaction
    for lag in range(length):
        source = ends - lag
        valid = source >= starts
        result[users[ends[valid]], lag] = items[source[valid]]
    return result


# ---------------------------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------------------------
def rating_pipeline(inputs: dict[str, np.ndarray], targets: np.ndarray, *, batch_size: int, shuffle: bool = False, seed: int = 0):
    """(features dict, rating) batches for the rating models."""
    return data_lib.make_pipeline((inputs, targets.astype(np.float32)), batch_size=batch_size, shuffle=shuffle, seed=seed)


def retrieval_pipeline(inputs: dict[str, np.ndarray], *, batch_size: int, shuffle: bool = False, seed: int = 0):
    """(features dict, dummy target) batches for in-batch softmax training.

    The loss builds its labels from the batch itself (example j's positive is candidate j), so
    the target is a placeholder of zeros. Batches are full-sized (the remainder is dropped while
    training) so each example meets the same number of in-batch negatives.
    """
    count = len(next(iter(inputs.values())))
    return data_lib.make_pipeline(
        (inputs, np.zeros(count, np.float32)), batch_size=batch_size, shuffle=shuffle, seed=seed,
        drop_remainder=shuffle and count >= batch_size,
    )


# ---------------------------------------------------------------------------------------------
# The catalogue a saved model recommends from
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Catalogue:
    """What ``predict.py`` needs beside the model: ids, titles, genres, popularity, what each
    user has rated (never recommended again) and each user's latest items (the retrieval query)."""

    users: np.ndarray  # raw ids [num_users]
    items: np.ndarray  # raw ids [num_items]
    titles: np.ndarray  # [num_items]
    genres: np.ndarray  # "|"-joined [num_items]
    popularity: np.ndarray  # int64 ratings per item [num_items]
    seen_offsets: np.ndarray  # int64 [num_users + 1]: user u rated seen_items[offsets[u]:offsets[u + 1]]
    seen_items: np.ndarray  # int32
    histories: np.ndarray  # int32 [num_users, history_length], item index + 1, most recent first

    @classmethod
    def from_interactions(cls, interactions: Interactions, history_length: int) -> Catalogue:
        order = np.lexsort((interactions.item, interactions.user))
        offsets = np.searchsorted(interactions.user[order], np.arange(interactions.num_users + 1))
        return cls(
            users=interactions.users.astype(str), items=interactions.items.astype(str),
            titles=np.asarray(interactions.titles, dtype=str), genres=np.asarray(["|".join(g) for g in interactions.genres], dtype=str),
            popularity=np.bincount(interactions.item, minlength=interactions.num_items).astype(np.int64),
            seen_offsets=offsets.astype(np.int64), seen_items=interactions.item[order].astype(np.int32),
            histories=latest_histories(interactions.user, interactions.item, interactions.timestamp, interactions.num_users, history_length),
        )

    def seen(self, user: int) -> np.ndarray:
        return self.seen_items[self.seen_offsets[user] : self.seen_offsets[user + 1]]

    def label(self, item: int) -> str:
        title = str(self.titles[item])
        return f"{title} [{self.items[item]}]" if title else f"item {self.items[item]}"

    def save(self, path: str | Path) -> Path:
        np.savez_compressed(path, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Catalogue:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"Expected the catalogue saved beside the model at {str(path)!r}; it does not exist. Re-run training to write it.")
        with np.load(path, allow_pickle=False) as arrays:
            return cls(**{f.name: arrays[f.name] for f in dataclasses.fields(cls)})


def catalogue_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".catalogue.npz")
