"""Dataset sources, canonical-format readers, seeded splits and tf.data pipelines.

Every domain resolves a dataset the same way (see CONVENTIONS.md, "Data sources, in order"):

1. a local folder the user names (``--data-dir`` or $KERAS_APPLIED_DATA_DIR), holding the dataset
   in its canonical published format, either directly or under ``<domain>/<name>`` or ``<name>``;
   then the copy the repository ships under ``data/<domain>/<name>/`` (same layout, with MANIFEST);
2. the standard online source (TensorFlow Datasets, or an official URL checked by SHA-256), cached;
3. a real dataset that ships inside an installed dependency, as the offline default.

:func:`resolve` tries the sources a domain lists in that order and, when none can provide the
data, raises :class:`DataNotFoundError` that says what each source needed. Online sources fail
fast when the network is unreachable (a plain ``tfds.load`` would retry for minutes).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import gzip
import logging
import os
import socket
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from common import paths
from common.errors import DataError, DataNotFoundError

__all__ = [
    "DataError",
    "DataNotFoundError",
    "SourceUnavailable",
    "Source",
    "Skipped",
    "resolve",
    "find_dataset_dir",
    "is_online",
    "load_tfds",
    "download",
    "describe_os_error",
    "unreadable",
    "read_bytes",
    "read_idx",
    "read_table",
    "require_columns",
    "list_class_folders",
    "split_indices",
    "stratified_split_indices",
    "make_pipeline",
]

log = logging.getLogger("keras_applied.data")

# TFDS data and most prepared datasets are served from Google Cloud Storage. Package registries
# may be reachable where dataset hosts are not, so they prove nothing and are never probed.
TFDS_HOST = "storage.googleapis.com"


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
class SourceUnavailable(Exception):
    """Raised by a source loader that cannot provide the data; the message says why."""


@dataclasses.dataclass(frozen=True)
class Source:
    """One place a dataset can come from.

    ``load`` returns the data or raises :class:`SourceUnavailable`; ``how`` tells the user what
    to provide for this source to work (shown when every source failed).
    """

    kind: str  # "local", "online" or "bundled": the order of CONVENTIONS.md
    load: Callable[[], Any]
    how: str


def resolve(dataset: str, sources: Sequence[Source]) -> tuple[Any, str]:
    """The data from the first source that can provide it, and that source's kind.

    Raises :class:`DataNotFoundError` listing, for every source, why it failed and what to do.
    """
    reasons = []
    for source in sources:
        try:
            data = source.load()
        except SourceUnavailable as why:
            reasons.append(f"  - {source.kind}: {why} To use it: {source.how}")
            continue
        except OSError as error:
            if error.filename is None:  # no file involved: a network failure; try the next source
                reasons.append(f"  - {source.kind}: failed ({describe_os_error(error)}). To use it: {source.how}")
                continue
            # A file or folder of this source that the system would not read (permission denied
            # on the user's folder): say so, rather than a traceback or a silent fall-back.
            raise DataError(
                f"Cannot read {str(error.filename)!r} ({describe_os_error(error)}) while looking for the dataset "
                f"{dataset!r}; expected readable files there. To use it: {source.how}"
            ) from error
        log.info("dataset %s: using the %s source", dataset, source.kind)
        return data, source.kind
    raise DataNotFoundError(
        f"No source could provide the dataset {dataset!r}. Tried, in order:\n" + "\n".join(reasons)
    )


def find_dataset_dir(
    data_dir: str | os.PathLike | None,
    names: Sequence[str],
    required: Sequence[str],
    domain: str | None = None,
) -> Path:
    """The folder that holds all ``required`` files (globs allowed) for one dataset.

    Looks under the folder the user named (``data_dir``, else $KERAS_APPLIED_DATA_DIR) first, then
    under the copy the repository ships (``data/``, see :func:`common.paths.shipped_data_dir`).
    Under each root it tries the root itself, then ``<root>/<domain>/<name>`` and ``<root>/<name>``
    for each of ``names``, so users may point at the dataset folder or at a parent of many. Raises
    :class:`SourceUnavailable` naming the folders searched and the files expected.
    """
    user_root = paths.data_dir(data_dir)
    shipped_root = paths.shipped_data_dir()
    searched: list[str] = []
    for root in (user_root, shipped_root):
        if root is None:
            continue
        if not _exists(root):
            searched.append(f"{str(root)!r} (does not exist)")
            continue
        candidates = [root]
        for name in names:
            if domain:
                candidates.append(root / domain / name)
            candidates.append(root / name)
        for folder in candidates:
            if _is_readable_dir(folder) and all(any(folder.glob(pattern)) for pattern in required):
                if root is shipped_root and user_root is not None:
                    log.warning("%s not found under %s; using the copy the repository ships at %s.",
                                names[0] if names else "the dataset", user_root, folder)
                elif root is shipped_root:
                    log.info("reading the copy the repository ships at %s", folder)
                return folder
        searched.extend(str(c) for c in candidates if _exists(c))
        if not any(_exists(c) for c in candidates):
            searched.append(str(root))
    if user_root is None and shipped_root is None:
        raise SourceUnavailable(
            f"no local folder given (--data-dir or ${paths.DATA_DIR_ENV}) and no shipped data/ folder."
        )
    raise SourceUnavailable(f"none of {searched} holds {list(required)}.")


def _exists(path: Path) -> bool:
    """``path.exists()`` that answers False for a path inside a folder we may not read."""
    try:
        return path.exists()
    except OSError:
        return False


def _is_readable_dir(folder: Path) -> bool:
    """A folder we may list (a folder without read permission is skipped, not a traceback)."""
    try:
        return folder.is_dir() and os.access(folder, os.R_OK | os.X_OK)
    except OSError:
        return False


@functools.lru_cache(maxsize=16)
def _reachable(host: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_online(host: str = TFDS_HOST, port: int = 443) -> bool:
    """Can ``host`` be reached? False at once when $KERAS_APPLIED_OFFLINE is set.

    One quick TCP connection (cached per host), so offline runs fail in seconds instead of
    retrying downloads for minutes.
    """
    if os.environ.get(paths.OFFLINE_ENV, "").lower() in ("1", "true", "yes"):
        return False
    return _reachable(host, port)


def load_tfds(name: str, *, split: str | Sequence[str], **kwargs: Any) -> Any:
    """``tfds.load`` that fails fast offline instead of retrying downloads for minutes.

    Data already prepared in the TFDS data dir is read without the network; otherwise the
    download runs only when the TFDS host is reachable, and offline raises
    :class:`SourceUnavailable` at once.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:  # pragma: no cover - a core dependency
        raise SourceUnavailable(f"tensorflow-datasets cannot be imported ({error}).") from error
    try:
        return tfds.load(name, split=split, download=False, **kwargs)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError) as error:
        # AssertionError / FileNotFoundError: known dataset, not prepared in the TFDS data dir.
        if isinstance(error, tfds.core.registered.DatasetNotFoundError):
            raise SourceUnavailable(f"TFDS has no dataset {name!r}.") from error
    if not is_online():
        raise SourceUnavailable(f"TFDS {name!r} is not prepared locally and {TFDS_HOST} is unreachable.")
    return tfds.load(name, split=split, download=True, **kwargs)


def download(url: str, sha256: str | None, *, cache_subdir: str, filename: str | None = None) -> Path:
    """A file from an official URL, cached under the keras-applied cache and checked by SHA-256.

    A cached file is used offline; otherwise, offline raises :class:`SourceUnavailable` at once.
    """
    from urllib.parse import urlparse

    import keras

    folder = paths.cache_dir("downloads", cache_subdir)
    filename = filename or url.rsplit("/", 1)[-1]
    target = folder / filename
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not target.exists() and not is_online(parsed.hostname or "", port):
        raise SourceUnavailable(f"{url} is not cached in {folder} and {parsed.hostname} is unreachable.")
    path = keras.utils.get_file(
        fname=filename, origin=url, file_hash=sha256, hash_algorithm="sha256", cache_dir=str(folder),
        cache_subdir=".",
    )
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Counting what could not be used
# ---------------------------------------------------------------------------------------------
class Skipped:
    """Counts of input rows/files skipped (or repaired), by reason, with a few examples each.

    ``verb`` says what happened to the counted items, for the log: ``"skipped"`` (not used) or,
    for items that were changed and still used, ``"adjusted"`` / ``"repaired"``, so a resized
    image is never logged as skipped. Recorded in metrics.json (under ``"skipped"``, beside its
    ``"adjusted"`` / ``"repaired"`` twin) and logged, so nothing is dropped silently.
    """

    def __init__(self, verb: str = "skipped") -> None:
        self.verb = verb
        self.counts: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, list[str]] = collections.defaultdict(list)

    def add(self, reason: str, example: Any = None, count: int = 1) -> None:
        self.counts[reason] += count
        if example is not None and len(self.examples[reason]) < 5:
            self.examples[reason].append(str(example))

    def merge(self, other: Skipped) -> Skipped:
        for reason, count in other.counts.items():
            self.counts[reason] += count
            for example in other.examples.get(reason, []):
                if len(self.examples[reason]) < 5:
                    self.examples[reason].append(example)
        return self

    def __bool__(self) -> bool:
        return bool(self.counts)

    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            reason: {"count": count, "examples": self.examples.get(reason, [])}
            for reason, count in sorted(self.counts.items())
        }

    def log(self, what: str) -> None:
        for reason, count in sorted(self.counts.items()):
            examples = ", ".join(self.examples.get(reason, [])[:3])
            log.warning("%s: %s %d (%s)%s", what, self.verb, count, reason, f": {examples}" if examples else "")


def adjusted() -> Skipped:
    """A :class:`Skipped` for items that were changed to fit (resized, converted) and still used."""
    return Skipped("adjusted")


def repaired() -> Skipped:
    """A :class:`Skipped` for values that were repaired (filled, merged) and still used."""
    return Skipped("repaired")


# ---------------------------------------------------------------------------------------------
# Readers for canonical formats
# ---------------------------------------------------------------------------------------------
def describe_os_error(error: OSError) -> str:
    """What went wrong, in a few words, for a message that already names the path."""
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(error, NotADirectoryError):
        return "it is a file, not a folder"
    if isinstance(error, FileNotFoundError):
        return "it does not exist"
    return (error.strerror or str(error) or type(error).__name__).strip().rstrip(".")


def unreadable(path: str | os.PathLike, error: OSError, expected: str) -> DataError:
    """A one-line :class:`DataError` for a file or folder the operating system would not read."""
    return DataError(f"Cannot read {str(path)!r} ({describe_os_error(error)}); expected {expected}.")


def read_bytes(path: str | os.PathLike, expected: str = "a readable file") -> bytes:
    """The bytes of a file; an unreadable path (permission, a folder, missing) is a DataError."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise unreadable(path, error, expected) from error


def is_dir(path: str | os.PathLike) -> bool:
    """``Path.is_dir`` that answers False instead of raising for a path it may not look at."""
    try:
        return Path(path).is_dir()
    except OSError:
        return False


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (MNIST layout), optionally gzip-compressed, as a NumPy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            header = handle.read(4)
            if len(header) != 4 or header[0] != 0 or header[1] != 0:
                raise DataError(
                    f"{path} is not an IDX file: expected a header starting with two zero bytes, "
                    f"received {header!r}."
                )
            type_code, rank = header[2], header[3]
            if type_code not in _IDX_DTYPES:
                raise DataError(f"{path}: unknown IDX element type 0x{type_code:02x}.")
            shape = struct.unpack(f">{rank}I", handle.read(4 * rank))
            data = np.frombuffer(handle.read(), dtype=_IDX_DTYPES[type_code])
    except OSError as error:  # permission, a folder, a corrupt gzip stream (BadGzipFile)
        raise DataError(f"Cannot read IDX file {str(path)!r} ({describe_os_error(error)}); expected an IDX file "
                        "(MNIST layout, optionally .gz).") from error
    except (EOFError, struct.error, zlib.error) as error:
        raise DataError(f"{str(path)!r} is a truncated or corrupt IDX file ({error}).") from error
    expected = int(np.prod(shape))
    if data.size != expected:
        raise DataError(f"{path}: header says shape {shape} ({expected} values); file holds {data.size}.")
    return data.reshape(shape)


def require_columns(columns: Iterable[str], required: Iterable[str], source: str) -> None:
    """Raise :class:`DataError` listing the columns found when any required one is missing."""
    columns = list(columns)
    missing = [name for name in required if name not in columns]
    if missing:
        raise DataError(
            f"{source}: expected column(s) {missing}. Received columns: {columns}. "
            "Name the right columns with the domain's column flags."
        )


def read_table(
    path: str | os.PathLike,
    *,
    required: Sequence[str] = (),
    delimiter: str | None = None,
    **read_csv_kwargs: Any,
):
    """A CSV/TSV file as a pandas DataFrame; the delimiter is inferred from the suffix if not given.

    Errors name the file and, for missing columns, list the columns that were found.
    """
    import pandas as pd

    path = Path(path)
    expected = "a CSV/TSV file (a header row, then one row per record)"
    try:
        if path.is_dir():
            raise DataError(f"Expected {expected}; {str(path)!r} is a folder.")
        if not path.is_file():
            raise DataError(f"Expected {expected}; {str(path)!r} does not exist or is not a file.")
        with open(path, "rb") as handle:
            start = handle.read(8192)
    except OSError as error:
        raise unreadable(path, error, expected) from error
    if b"\x00" in start:
        raise DataError(f"{str(path)!r} is not text (it holds NUL bytes: a binary file, or UTF-16); expected "
                        f"{expected}, UTF-8 encoded.")
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding_errors="replace", **read_csv_kwargs)
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{path} is empty: expected a header row and data rows.") from error
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        # ValueError: e.g. a dtype or usecols that the file's columns cannot satisfy.
        reason = " ".join(str(error).split())  # pandas' messages end in newlines: keep one line
        raise DataError(f"Cannot parse {path} as delimited text ({delimiter!r}): {reason}") from error
    except OSError as error:
        raise unreadable(path, error, expected) from error
    if frame.empty:
        raise DataError(f"{path} has a header but no data rows.")
    require_columns(frame.columns, required, str(path))
    return frame


@dataclasses.dataclass
class ClassFolder:
    """Files found in a folder of class subfolders (``root/<class>/<file>``)."""

    files: list[Path]
    labels: np.ndarray  # int32 [num_files], index into class_names
    class_names: list[str]
    skipped: Skipped


def list_class_folders(
    root: str | os.PathLike, extensions: Sequence[str], *, min_classes: int = 2
) -> ClassFolder:
    """Files under ``root/<class_name>/``, the keras ``*_dataset_from_directory`` convention.

    Files whose suffix is not in ``extensions`` are skipped and counted. Raises :class:`DataError`
    for a missing or empty folder, or fewer than ``min_classes`` classes.
    """
    root = Path(root)
    expected = f"a folder of class subfolders (root/<class>/*{'|*'.join(extensions)})"
    try:
        if not root.is_dir():
            what = "is not a folder (it is a file)" if root.exists() else "is not a folder (it does not exist)"
            raise DataError(f"Expected {expected}; {str(root)!r} {what}.")
        with os.scandir(root) as scan:
            entries = sorted((Path(entry.path), entry.is_dir()) for entry in scan)
    except OSError as error:
        raise unreadable(root, error, expected) from error
    class_dirs = [path for path, directory in entries if directory and not path.name.startswith(".")]
    if not class_dirs:
        found = [path.name for path, _ in entries][:10]
        raise DataError(f"Expected {expected}; {str(root)!r} has no subfolders (found: {found}).")
    extensions = tuple(e.lower() for e in extensions)
    skipped = Skipped()
    files, labels, names = [], [], []
    for class_dir in class_dirs:
        members, unreadable_paths = _files_under(class_dir)
        for path in unreadable_paths:
            skipped.add("unreadable: permission denied", path.relative_to(root))
        usable = [p for p in members if p.suffix.lower() in extensions]
        for other in sorted(set(members) - set(usable)):
            skipped.add(f"not one of {list(extensions)}", other.relative_to(root))
        if not usable:
            if class_dir not in unreadable_paths:
                skipped.add("empty class folder", class_dir.name)
            continue
        labels += [len(names)] * len(usable)
        names.append(class_dir.name)
        files += usable
    if len(names) < min_classes:
        raise DataError(
            f"Expected at least {min_classes} class subfolders with {list(extensions)} files in "
            f"{str(root)!r}; received {len(names)} ({names})."
        )
    skipped.log(f"files under {root}")
    return ClassFolder(files, np.asarray(labels, dtype=np.int32), names, skipped)


def _files_under(folder: Path) -> tuple[list[Path], list[Path]]:
    """(the visible files anywhere under ``folder``, sorted; the paths that could not be read).

    ``Path.rglob`` silently leaves out a subfolder it may not read; here each one is reported, so
    the caller can count it instead of training on part of the data without a word.
    """
    failed: list[Path] = []
    files: list[Path] = []
    for parent, _, names in os.walk(folder, onerror=lambda error: failed.append(Path(error.filename or folder))):
        for name in names:
            path = Path(parent) / name
            if name.startswith("."):
                continue
            try:
                if path.is_file():
                    files.append(path)
            except OSError:  # a folder we may list but not look into
                failed.append(path)
    return sorted(files), failed


# ---------------------------------------------------------------------------------------------
# Seeded splits
# ---------------------------------------------------------------------------------------------
def split_indices(num_items: int, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Shuffle ``range(num_items)`` with ``seed`` and cut it by ``fractions`` (summing to 1)."""
    fractions = np.asarray(fractions, dtype=float)
    if np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"Split fractions must be >= 0 and sum to 1; received {list(fractions)}.")
    order = np.random.default_rng(seed).permutation(num_items)
    cuts = np.round(np.cumsum(fractions)[:-1] * num_items).astype(int)
    return [np.sort(part) for part in np.split(order, cuts)]


def stratified_split_indices(labels: np.ndarray, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Like :func:`split_indices`, but every class is cut by the same fractions."""
    labels = np.asarray(labels)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for offset, value in enumerate(np.unique(labels)):
        members = np.flatnonzero(labels == value)
        for part, chosen in zip(parts, split_indices(len(members), fractions, seed + offset)):
            part.append(members[chosen])
    return [np.sort(np.concatenate(p)) if p else np.array([], dtype=int) for p in parts]


# ---------------------------------------------------------------------------------------------
# tf.data pipelines
# ---------------------------------------------------------------------------------------------
def make_pipeline(
    data: Any,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    map_fn: Callable | None = None,
    augment_fn: Callable | None = None,
    batch_map_fn: Callable | None = None,
    cache: bool = True,
    drop_remainder: bool | None = None,
    shuffle_buffer: int | None = None,
):
    """A batched, prefetched ``tf.data.Dataset`` from arrays, a tuple of arrays or a dataset.

    ``map_fn`` runs per example in parallel before caching (decoding, resizing), so it runs once;
    ``augment_fn`` runs per example after shuffling and ``batch_map_fn`` per batch, both anew every
    epoch (random augmentation). ``drop_remainder`` defaults to True for shuffled (training)
    pipelines under JAX data parallelism, whose batches must divide over the devices.
    """
    import tensorflow as tf

    if drop_remainder is None:
        from common import distribute

        drop_remainder = shuffle and distribute.current().mode == "data_parallel"
    dataset = data if isinstance(data, tf.data.Dataset) else tf.data.Dataset.from_tensor_slices(data)
    autotune = tf.data.AUTOTUNE
    if map_fn is not None:
        dataset = dataset.map(map_fn, num_parallel_calls=autotune, deterministic=True)
    if cache:
        dataset = dataset.cache()
    if shuffle:
        cardinality = int(dataset.cardinality())
        buffer = shuffle_buffer or (cardinality if cardinality > 0 else 10_000)
        dataset = dataset.shuffle(min(buffer, 100_000), seed=seed, reshuffle_each_iteration=True)
    if augment_fn is not None:
        dataset = dataset.map(augment_fn, num_parallel_calls=autotune, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if batch_map_fn is not None:
        dataset = dataset.map(batch_map_fn, num_parallel_calls=autotune, deterministic=True)
    return dataset.prefetch(autotune)


def pad_batches_to_multiple(dataset, multiple: int):
    """Pad every batch of an (x, y) dataset to a multiple of ``multiple`` rows by repeating its
    last row, with sample weight 0 on the padding (1 elsewhere), so metrics stay exact.

    Used for validation under JAX data parallelism, where batches must divide over the devices.
    """
    import tensorflow as tf

    def pad(x, y):
        count = tf.shape(tf.nest.flatten(x)[0])[0]
        extra = (multiple - count % multiple) % multiple

        def grow(tensor):
            return tf.concat([tensor, tf.repeat(tensor[-1:], extra, axis=0)], axis=0)

        weights = tf.concat([tf.ones([count]), tf.zeros([extra])], axis=0)
        return tf.nest.map_structure(grow, x), tf.nest.map_structure(grow, y), weights

    return dataset.map(pad)
