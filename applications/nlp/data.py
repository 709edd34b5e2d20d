"""Text datasets -> arrays of strings and int labels -> tf.data pipelines.

Every source ends as :class:`TextData`: texts (a NumPy object array of Python ``str``) and int32
labels for train / validation / test, plus class names. Models take raw strings: the
from-scratch models carry their TextVectorization layer and the pretrained one its tokenizer,
so ``predict.py`` needs no preprocessing of its own.

Sources, in the order of CONVENTIONS.md:

- SST-2: the GLUE TSV folder (``train.tsv``, ``dev.tsv``: ``sentence<TAB>label``) locally; TFDS
  ``glue/sst2`` online. GLUE's test labels are hidden, so the dev set is the test set.
- SMS Spam Collection: the ``SMSSpamCollection`` file (``label<TAB>text``) locally; the UCI zip
  online (its file checked against the published SHA-256). No official split: a seeded,
  stratified share is held out as test.
- IMDB: an ``aclImdb`` folder (``train|test/pos|neg/*.txt``) locally; TFDS ``imdb_reviews`` online.
- a folder of class subfolders of ``.txt`` files (keras ``text_dataset_from_directory`` layout),
  optionally split into ``train/`` and ``test/``.
- any CSV/TSV with a text column and a label column (strings or integers).

Rows that cannot be used are skipped and counted (empty or missing text, missing label, labels
of the test set that training never saw); bytes that are not UTF-8 are decoded with U+FFFD and
counted. Both counts go into metrics.json.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from common import data as data_lib
from common import paths
from common.data import Skipped, Source, SourceUnavailable
from common.errors import DataError

log = logging.getLogger("keras_applied.nlp")

SST2_CLASSES = ["negative", "positive"]
IMDB_CLASSES = ["neg", "pos"]
SMS_URL = "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"
SMS_SHA256 = "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"  # SMSSpamCollection
# For these datasets the headline metric is the F1 of one class (the rare one that matters).
POSITIVE_CLASS = {"sms_spam": "spam"}
REPLACED = "non-UTF-8 bytes replaced with U+FFFD"


@dataclasses.dataclass
class TextData:
    """Texts (object arrays of str, [N]) and labels (int32, [N]) for each split."""

    name: str
    source: str  # "local" or "online"
    class_names: list[str]
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    skipped: Skipped = dataclasses.field(default_factory=Skipped)  # rows not used
    adjusted: Skipped = dataclasses.field(default_factory=data_lib.adjusted)  # rows repaired, still used

    @property
    def positive_class(self) -> str | None:
        """The class whose F1 is the headline (binary tasks with a class of interest)."""
        name = POSITIVE_CLASS.get(self.name)
        return name if name in self.class_names else None

    def sizes(self) -> dict[str, int]:
        return {split: len(getattr(self, split)[1]) for split in ("train", "validation", "test")}


# ---------------------------------------------------------------------------------------------
# Decoding and cleaning
# ---------------------------------------------------------------------------------------------
def decode(raw: bytes, adjusted: Skipped, where: str = "") -> str:
    """UTF-8 text; undecodable bytes become U+FFFD and the text is counted in ``adjusted``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        adjusted.add(REPLACED, where or text[:60])
        return text


def clean_rows(
    texts: Iterable, labels: Iterable, skipped: Skipped, where: str
) -> tuple[list[str], list]:
    """Drop rows with missing/empty text or a missing label (counted); texts are stripped."""
    kept_texts, kept_labels = [], []
    for row, (text, label) in enumerate(zip(texts, labels)):
        if label is None or (isinstance(label, float) and math.isnan(label)) or str(label).strip() == "":
            skipped.add("missing label", f"{where} row {row + 1}")
            continue
        if text is None or (isinstance(text, float) and math.isnan(text)):
            skipped.add("missing text", f"{where} row {row + 1}")
            continue
        text = str(text).strip()
        if not text:
            skipped.add("empty text", f"{where} row {row + 1}")
            continue
        kept_texts.append(text)
        kept_labels.append(label.strip() if isinstance(label, str) else label)
    return kept_texts, kept_labels


def _label_key(label) -> tuple:
    """Sort integer-like labels numerically, others as text."""
    try:
        return (0, float(label), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(label))


def _label_name(label) -> str:
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return str(int(label))
    return str(label)


def encode_labels(labels: Sequence, class_names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Labels as int32 indices into class names (sorted unique labels when not given)."""
    names = [_label_name(label) for label in labels]
    if class_names is None:
        unique = sorted(set(labels), key=_label_key)
        class_names = list(dict.fromkeys(_label_name(label) for label in unique))
    index = {name: i for i, name in enumerate(class_names)}
    return np.asarray([index.get(name, -1) for name in names], dtype=np.int32), list(class_names)


def _as_array(texts: Sequence[str]) -> np.ndarray:
    array = np.empty(len(texts), dtype=object)
    array[:] = list(texts)
    return array


# ---------------------------------------------------------------------------------------------
# Readers for canonical formats
# ---------------------------------------------------------------------------------------------
def read_tsv_lines(path: Path, adjusted: Skipped, skipped: Skipped, *, label_first: bool, header: bool) -> tuple[list[str], list[str]]:
    """Tab-separated ``text<TAB>label`` (or ``label<TAB>text``) lines, decoded line by line.

    No quoting rules apply (SST-2 and SMS texts contain quote characters). Lines without a tab
    are skipped and counted.
    """
    texts, labels = [], []
    expected = "a tab-separated file, " + ("label<TAB>text" if label_first else "text<TAB>label") + " per line"
    lines = data_lib.read_bytes(path, expected).split(b"\n")
    if header:
        lines = lines[1:]
    for number, raw in enumerate(lines, start=2 if header else 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        line = decode(raw, adjusted, f"{path.name} line {number}")
        if "\t" not in line:
            skipped.add("line without a tab", f"{path.name} line {number}")
            continue
        if label_first:
            label, text = line.split("\t", 1)
        else:
            text, label = line.rsplit("\t", 1)
        texts.append(text)
        labels.append(label.strip())
    return texts, labels


def read_sst2_folder(folder: Path, adjusted: Skipped, skipped: Skipped) -> dict[str, tuple[list, list]]:
    splits = {}
    for split, name in (("train", "train.tsv"), ("test", "dev.tsv")):
        texts, labels = read_tsv_lines(folder / name, adjusted, skipped, label_first=False, header=True)
        splits[split] = clean_rows(texts, labels, skipped, name)
    return splits


def read_sms_file(path: Path, adjusted: Skipped, skipped: Skipped) -> dict[str, tuple[list, list]]:
    texts, labels = read_tsv_lines(path, adjusted, skipped, label_first=True, header=False)
    return {"all": clean_rows(texts, labels, skipped, path.name)}


def read_text_files(files: Sequence[Path], labels: Sequence, root: Path, adjusted: Skipped, skipped: Skipped) -> tuple[list, list]:
    """One text per file (decoded with replacement); empty or unreadable files are skipped and counted."""
    kept_texts, kept_labels = [], []
    for path, label in zip(files, labels):
        name = str(path.relative_to(root))
        try:
            raw = path.read_bytes()
        except OSError as error:
            skipped.add(f"unreadable: {data_lib.describe_os_error(error)}", name)
            continue
        text = decode(raw, adjusted, name)
        if not text.strip():
            skipped.add("empty text", name)
            continue
        kept_texts.append(text.strip())
        kept_labels.append(label)
    return kept_texts, kept_labels


def read_class_folder(root: Path, adjusted: Skipped, skipped: Skipped, class_names: Sequence[str] | None = None) -> tuple[list, list]:
    """``root/<class>/*.txt``: all class subfolders, or only ``class_names`` (aclImdb has unsup/)."""
    if class_names is None:
        listing = data_lib.list_class_folders(root, (".txt",))
        skipped.merge(listing.skipped)
        files, labels = listing.files, [listing.class_names[i] for i in listing.labels]
    else:
        files, labels = [], []
        for name in class_names:
            folder = root / name
            try:
                with os.scandir(folder) as scan:
                    members = sorted(Path(e.path) for e in scan if e.name.endswith(".txt") and not e.name.startswith("."))
            except OSError as error:
                raise data_lib.unreadable(folder, error, f"a folder of {name!r} reviews (.txt files)") from error
            files += members
            labels += [name] * len(members)
    return read_text_files(files, labels, root, adjusted, skipped)


def read_csv(path: str | Path, text_column: str, label_column: str, adjusted: Skipped, skipped: Skipped) -> tuple[list, list]:
    """A CSV/TSV file's text and label columns (missing columns: the error lists those found)."""
    path = Path(path)
    frame = data_lib.read_table(path, required=[text_column, label_column], keep_default_na=False,
                                na_values=[""], dtype={text_column: str})
    if not _is_utf8(path):
        for row, text in enumerate(frame[text_column]):
            if isinstance(text, str) and "\ufffd" in text:
                adjusted.add(REPLACED, f"{path.name} row {row + 1}")
    return clean_rows(frame[text_column].tolist(), frame[label_column].tolist(), skipped, path.name)


def _is_utf8(path: Path) -> bool:
    try:
        data_lib.read_bytes(path, "a CSV/TSV file").decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
def _tfds_texts(name: str, splits: Sequence[str], text_key: str | None, adjusted: Skipped, skipped: Skipped) -> list[tuple[list, list]]:
    """Splits of a TFDS text dataset as (texts, labels) lists."""
    import tensorflow_datasets as tfds

    loaded = data_lib.load_tfds(name, split=list(splits), as_supervised=text_key is None)
    result = []
    for split, dataset in zip(splits, loaded):
        texts, labels = [], []
        for example in tfds.as_numpy(dataset):
            text, label = (example if text_key is None else (example[text_key], example["label"]))
            texts.append(decode(bytes(text), adjusted, f"{name}/{split}"))
            labels.append(int(label))
        result.append(clean_rows(texts, labels, skipped, f"{name}/{split}"))
    return result


def _sst2_sources(data_dir, adjusted: Skipped, skipped: Skipped) -> list[Source]:
    def local():
        folder = data_lib.find_dataset_dir(data_dir, ["sst2", "SST-2"], ["train.tsv", "dev.tsv"], "nlp")
        return read_sst2_folder(folder, adjusted, skipped)

    def online():
        train, test = _tfds_texts("glue/sst2", ["train", "validation"], "sentence", adjusted, skipped)
        return {"train": train, "test": test}

    return [
        Source("local", local, "point --data-dir at the GLUE SST-2 folder (train.tsv, dev.tsv)."),
        Source("online", online, "be online for TFDS 'glue/sst2' (cached afterwards)."),
    ]


def _sms_sources(data_dir, adjusted: Skipped, skipped: Skipped) -> list[Source]:
    def local():
        folder = data_lib.find_dataset_dir(
            data_dir, ["sms_spam_collection", "smsspamcollection", "sms_spam"], ["SMSSpamCollection"], "nlp"
        )
        return read_sms_file(folder / "SMSSpamCollection", adjusted, skipped)

    def online():
        archive = data_lib.download(SMS_URL, None, cache_subdir="sms_spam")
        target = archive.parent / "SMSSpamCollection"
        if not target.exists():
            with zipfile.ZipFile(archive) as handle:
                target.write_bytes(handle.read("SMSSpamCollection"))
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        if digest != SMS_SHA256:
            raise SourceUnavailable(f"{target} has SHA-256 {digest}; expected {SMS_SHA256}.")
        return read_sms_file(target, adjusted, skipped)

    return [
        Source("local", local, "point --data-dir at the folder holding SMSSpamCollection."),
        Source("online", online, f"be online for {SMS_URL}."),
    ]


def _imdb_sources(data_dir, adjusted: Skipped, skipped: Skipped) -> list[Source]:
    def local():
        folder = data_lib.find_dataset_dir(
            data_dir, ["aclImdb", "imdb"], ["train/pos", "train/neg", "test/pos", "test/neg"], "nlp"
        )
        return {
            split: read_class_folder(folder / split, adjusted, skipped, IMDB_CLASSES) for split in ("train", "test")
        }

    def online():
        splits = _tfds_texts("imdb_reviews", ["train", "test"], None, adjusted, skipped)
        # TFDS labels are 0 (negative) and 1 (positive): name them as the aclImdb folders do.
        train, test = ((texts, [IMDB_CLASSES[label] for label in labels]) for texts, labels in splits)
        return {"train": train, "test": test}

    return [
        Source("local", local, "point --data-dir at the extracted aclImdb folder (train/ and test/ with pos/ and neg/)."),
        Source("online", online, "be online for TFDS 'imdb_reviews' (cached afterwards)."),
    ]


def _folder(data_dir, adjusted: Skipped, skipped: Skipped) -> dict[str, tuple[list, list]]:
    root = paths.data_dir(data_dir)
    if root is None:
        raise DataError("--dataset folder needs --data-dir pointing at a folder of class subfolders of .txt files.")
    parts = {"train": root / "train", "test": root / "test"}
    layout = parts if all(data_lib.is_dir(p) for p in parts.values()) else {"all": root}
    return {split: read_class_folder(folder, adjusted, skipped) for split, folder in layout.items()}


# ---------------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------------
def _split_off(texts: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    keep, held_out = data_lib.stratified_split_indices(labels, [1 - fraction, fraction], seed)
    return (texts[keep], labels[keep]), (texts[held_out], labels[held_out])


def _subset(texts: np.ndarray, labels: np.ndarray, size: int, seed: int):
    if not size or len(labels) <= size:
        return texts, labels
    chosen = np.sort(np.random.default_rng(seed).choice(len(labels), size, replace=False))
    return texts[chosen], labels[chosen]


def load(
    dataset: str,
    *,
    data_dir: str | None = None,
    data_file: str | None = None,
    test_file: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    seed: int = 0,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    max_train_examples: int = 0,
    max_test_examples: int = 0,
) -> TextData:
    """Resolve ``dataset`` to texts and labels, split into train / validation / test.

    Raises :class:`DataError` for a dataset with fewer than two classes, and when no test
    example has a label seen in training.
    """
    dataset = "sst2" if dataset == "auto" else dataset
    adjusted, skipped = data_lib.adjusted(), Skipped()
    class_names = None
    if dataset == "sst2":
        splits, source = data_lib.resolve(dataset, _sst2_sources(data_dir, adjusted, skipped))
        class_names = SST2_CLASSES
    elif dataset == "sms_spam":
        splits, source = data_lib.resolve(dataset, _sms_sources(data_dir, adjusted, skipped))
    elif dataset == "imdb":
        splits, source = data_lib.resolve(dataset, _imdb_sources(data_dir, adjusted, skipped))
    elif dataset == "folder":
        splits, source = _folder(data_dir, adjusted, skipped), "local"
    elif dataset == "csv":
        if not data_file:
            raise DataError("--dataset csv needs --data-file PATH (a CSV/TSV with a text and a label column).")
        splits = {"train" if test_file else "all": read_csv(data_file, text_column, label_column, adjusted, skipped)}
        if test_file:
            splits["test"] = read_csv(test_file, text_column, label_column, adjusted, skipped)
        source = "local"
    else:
        raise DataError(f"Unknown nlp dataset {dataset!r}; expected one of {['auto', 'sst2', 'sms_spam', 'imdb', 'folder', 'csv']}.")

    first = splits.get("train") or splits.get("all")
    if not first[0]:
        raise DataError(f"{dataset}: no usable rows (skipped: {dict(skipped.counts)}).")
    # SST-2 labels are 0/1 with known names; other datasets name classes by their labels.
    raw_train_labels = first[1]
    if class_names is not None:
        train_labels = np.asarray([int(label) for label in raw_train_labels], dtype=np.int32)
    else:
        train_labels, class_names = encode_labels(raw_train_labels)
    if len(set(train_labels.tolist())) < 2:
        found = sorted({class_names[i] for i in train_labels.tolist()})
        raise DataError(
            f"{dataset}: expected at least 2 classes to classify; received {len(found)} ({found}) "
            f"in {len(train_labels)} usable rows."
        )
    train_texts = _as_array(first[0])

    if "all" in splits:  # no official test split: hold out a stratified share
        (train_texts, train_labels), test = _split_off(train_texts, train_labels, test_fraction, seed)
    else:
        test_texts, test_labels = splits["test"]
        if dataset == "sst2":
            encoded = np.asarray([int(label) for label in test_labels], dtype=np.int32)
        else:
            encoded, _ = encode_labels(test_labels, class_names)
        unseen = encoded < 0
        for label in np.asarray([_label_name(x) for x in test_labels], dtype=object)[unseen]:
            skipped.add("test label not seen in training", label)
        if unseen.all():
            raise DataError(
                f"{dataset}: none of the {len(encoded)} test labels is a class seen in training "
                f"{class_names}; test labels include {sorted({_label_name(x) for x in test_labels})[:10]}."
            )
        test = (_as_array(test_texts)[~unseen], encoded[~unseen])
    train, validation = _split_off(train_texts, train_labels, validation_fraction, seed + 1)
    if max_train_examples:
        train = _subset(*train, max_train_examples, seed)
        validation = _subset(*validation, max(max_train_examples // 5, 32), seed)
    test = _subset(*test, max_test_examples, seed)
    result = TextData(dataset, source, list(class_names), train, validation, test, skipped, adjusted)
    empty = [split for split, size in result.sizes().items() if size == 0]
    if empty:
        raise DataError(
            f"{dataset}: {len(train_labels) + len(test[1])} usable rows in {len(class_names)} classes leave the "
            f"{' and '.join(empty)} split(s) empty ({result.sizes()}); expected enough rows per class for a "
            "stratified train / validation / test split (at least about 10 each)."
        )
    skipped.log(f"{dataset} rows")
    adjusted.log(f"{dataset} rows (repaired, still used)")
    log.info("%s (%s): %s examples, classes %s", dataset, source, result.sizes(), class_names)
    return result


# ---------------------------------------------------------------------------------------------
# Sequence length and pipelines
# ---------------------------------------------------------------------------------------------
def choose_sequence_length(texts: Sequence[str], requested: int = 0, *, subword_factor: float = 1.0) -> int:
    """``requested``, or the 99th percentile of whitespace-token counts (times ``subword_factor``
    for subword tokenizers, plus 2 special tokens then), rounded up to a multiple of 8 in [16, 256]."""
    if requested:
        return requested
    counts = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
    length = float(np.percentile(counts, 99)) * subword_factor + (2 if subword_factor != 1.0 else 0)
    return int(min(256, max(16, math.ceil(length / 8) * 8)))


def real_length(features):
    """Tokens that are not padding in one example's features (token ids [T] or a keras-hub dict)."""
    import tensorflow as tf

    if isinstance(features, dict):
        return tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32))
    return tf.reduce_sum(tf.cast(tf.not_equal(features, 0), tf.int32))


def trim_batch(features, labels):
    """Cut a batch's padding down to its longest real sequence (at least 1 position).

    Short texts then cost short sequences: on SST-2's phrases (median ~8 words) this is several
    times less work than padding every batch to the full sequence length.
    """
    import tensorflow as tf

    if isinstance(features, dict):
        mask = tf.cast(features["padding_mask"], tf.int32)
    else:
        mask = tf.cast(tf.not_equal(features, 0), tf.int32)
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(mask, axis=1)), 1)
    trimmed = tf.nest.map_structure(lambda tensor: tensor[:, :length], features)
    return trimmed, labels


def pipelines(data: TextData, featurize, *, batch_size: int, seed: int, sequence_length: int):
    """(train, validation, test) tf.data pipelines of (model features, int labels [B]).

    ``featurize`` maps one raw string to the model's input: the TextVectorization layer of a
    from-scratch model (int token ids [T]) or a keras-hub preprocessor (a dict of token ids,
    segment ids and padding mask, [T] each). It runs in tf.data, once (the result is cached),
    which works under every Keras backend; the saved model carries the same layer and takes raw
    strings. Training batches group texts of similar length (``bucket_by_sequence_length``) and
    every batch is trimmed to its longest text; validation and test keep their order.
    """
    import tensorflow as tf

    def featurize_example(text, label):
        return featurize(text), label

    def examples(split):
        texts, labels = split
        dataset = tf.data.Dataset.from_tensor_slices((tf.constant(texts.astype(str)), labels))
        return dataset.map(featurize_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).cache()

    boundaries = [b for b in (8, 16, 24, 32, 48, 64, 96, 128, 192) if b < sequence_length]
    bucket_boundaries = [b + 1 for b in boundaries]
    train_examples = examples(data.train)
    # Bucketing hides the number of batches from tf.data; it is fixed all the same (each bucket
    # holds the same texts every epoch, whatever the shuffle), so count it once (this pass also
    # fills the cache) and state it: Keras then knows the epoch length from the first epoch on.
    lengths = np.fromiter(
        train_examples.map(lambda features, label: real_length(features)).as_numpy_iterator(), dtype=np.int64
    )
    buckets = np.bincount(np.searchsorted(bucket_boundaries, lengths, side="right"),
                          minlength=len(bucket_boundaries) + 1)
    num_batches = int(np.sum(-(-buckets // batch_size)))
    train = (
        train_examples
        .shuffle(len(data.train[1]), seed=seed, reshuffle_each_iteration=True)
        .bucket_by_sequence_length(
            lambda features, label: real_length(features), bucket_boundaries,
            [batch_size] * (len(boundaries) + 1),
        )
        .apply(tf.data.experimental.assert_cardinality(num_batches))
        .map(trim_batch, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )

    def ordered(split):
        return examples(split).batch(batch_size).map(trim_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE
        )

    return train, ordered(data.validation), ordered(data.test)
