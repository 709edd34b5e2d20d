"""Spoken-word datasets -> fixed-length float32 waveforms -> tf.data pipelines.

Every source ends as a :class:`Corpus`: clips of exactly ``window`` samples at one sample rate
(float32 in [-1, 1]), int32 labels, a speaker name per clip ('' where unknown) and the split a
clip belongs to where the dataset publishes one. :func:`load` cuts it into train / validation /
test (:class:`AudioData`); the leave-one-speaker-out and few-shot protocols cut it their own way
(:func:`leave_one_speaker_out`, :func:`few_shot`). The model computes its own spectrogram, so
the waveforms go into it as they are and ``predict.py`` needs no preprocessing of its own.

Sources, in the order of CONVENTIONS.md:

- ``fsdd``: the Free Spoken Digit Dataset, ``recordings/{digit}_{speaker}_{index}.wav`` in a local
  folder (official split: index 0-4 is test); TFDS ``spoken_digit`` online.
- ``speech_commands``: the extracted Speech Commands archive (``<word>/<speaker>_nohash_<n>.wav``
  with ``validation_list.txt`` / ``testing_list.txt``); TFDS ``speech_commands`` online. The ten
  command words are the classes; other words and TFDS' _silence_ / _unknown_ are skipped (counted).
- ``folder``: class subfolders of WAV files (keras' ``audio_dataset_from_directory`` convention),
  or ``train/`` + ``test/`` pairs of them.
- ``synthetic``: words synthesized with eSpeak NG (see :mod:`applications.speech.synthesis`),
  with random gain and background noise: the offline default that needs no files.

Files that cannot be used (not WAV, corrupt, empty, silent) are skipped and counted; clips that
were converted (other rate, stereo, 8/24/32-bit or float) or trimmed/padded to the window are
used and counted.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from applications.speech import audio, synthesis
from applications.speech.config import DATASETS
from common import data as data_lib
from common.data import Skipped, Source, SourceUnavailable
from common.errors import DataError

log = logging.getLogger("keras_applied.speech")

DIGIT_CLASSES = [str(d) for d in range(10)]
COMMAND_WORDS = list(synthesis.WORDS["commands"])
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$", re.IGNORECASE)
FSDD_TEST_INDICES = range(0, 5)  # the FSDD README: recordings 0-4 of each digit and speaker are test


@dataclasses.dataclass
class Clips:
    """Fixed-length clips: waveforms float32 [N, window], labels int32 [N], speakers str [N]."""

    waveforms: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> Clips:
        return Clips(self.waveforms[indices], self.labels[indices], self.speakers[indices])

    @staticmethod
    def concatenate(parts: Iterable[Clips]) -> Clips:
        parts = list(parts)
        return Clips(np.concatenate([p.waveforms for p in parts]), np.concatenate([p.labels for p in parts]),
                     np.concatenate([p.speakers for p in parts]))


@dataclasses.dataclass
class Corpus:
    """Every usable clip of a dataset, with the split each belongs to ('' where none is published)."""

    name: str
    source: str  # "local", "online" or "bundled"
    class_names: list[str]
    sample_rate: int
    clips: Clips
    split: np.ndarray  # str [N]: "train", "validation", "test" or ""
    skipped: Skipped = dataclasses.field(default_factory=Skipped)  # not used
    adjusted: Skipped = dataclasses.field(default_factory=data_lib.adjusted)  # converted, still used

    @property
    def speaker_names(self) -> list[str]:
        return sorted(s for s in set(self.clips.speakers.tolist()) if s)


@dataclasses.dataclass
class AudioData:
    """A corpus cut into train / validation / test."""

    name: str
    source: str
    class_names: list[str]
    sample_rate: int
    train: Clips
    validation: Clips
    test: Clips
    skipped: Skipped = dataclasses.field(default_factory=Skipped)
    adjusted: Skipped = dataclasses.field(default_factory=data_lib.adjusted)

    @property
    def window(self) -> int:
        return int(self.train.waveforms.shape[1])


# ---------------------------------------------------------------------------------------------
# Clip collection: read, convert, fit to the window, count
# ---------------------------------------------------------------------------------------------
class ClipCollector:
    """Accumulates clips fitted to ``window`` samples, counting what was skipped or changed."""

    def __init__(self, sample_rate: int, window: int) -> None:
        self.sample_rate, self.window = sample_rate, window
        self.waveforms: list[np.ndarray] = []
        self.labels: list[int] = []
        self.speakers: list[str] = []
        self.splits: list[str] = []
        self.skipped, self.adjusted = Skipped(), data_lib.adjusted()

    def add_samples(self, samples: np.ndarray, label: int, speaker: str = "", split: str = "", name: str = "") -> bool:
        """Add float samples already at the sample rate; False (and counted) when unusable."""
        if samples.size == 0:
            self.skipped.add("empty clip", name)
            return False
        if audio.is_silent(samples):
            self.skipped.add("silent clip (peak below -80 dBFS)", name)
            return False
        fitted, change = audio.fit_to_window(samples, self.window)
        if change == "trimmed":
            self.adjusted.add(f"longer than the {self.window / self.sample_rate:g} s window: loudest part kept", name)
        self.waveforms.append(fitted)
        self.labels.append(label)
        self.speakers.append(speaker)
        self.splits.append(split)
        return True

    def add_file(self, path: Path, label: int, speaker: str = "", split: str = "", name: str = "") -> bool:
        name = name or path.name
        try:
            samples, info = audio.read_wav(path, self.sample_rate)
        except DataError as error:
            reason = "empty WAV file" if "no audio samples" in str(error) else "not a readable WAV file"
            if isinstance(error.__cause__, (PermissionError, IsADirectoryError)):
                reason = f"unreadable: {data_lib.describe_os_error(error.__cause__)}"
            self.skipped.add(reason, name)
            return False
        if info["source_rate"] != self.sample_rate:
            self.adjusted.add(f"resampled from {info['source_rate']} Hz to {self.sample_rate} Hz", name)
        if info["channels"] != 1:
            self.adjusted.add(f"mixed down from {info['channels']} channels", name)
        if info["bits"] != 16:
            self.adjusted.add(f"converted from {info['bits']}-bit samples", name)
        return self.add_samples(samples, label, speaker, split, name)

    def corpus(self, name: str, source: str, class_names: list[str]) -> Corpus:
        if not self.labels:
            raise DataError(f"{name}: no usable clips (skipped: {dict(self.skipped.counts)}).")
        self.skipped.log(f"{name} clips")
        self.adjusted.log(f"{name} clips (converted, still used)")
        clips = Clips(np.stack(self.waveforms), np.asarray(self.labels, np.int32), np.asarray(self.speakers, dtype=str))
        return Corpus(name, source, list(class_names), self.sample_rate, clips, np.asarray(self.splits, dtype=str),
                      self.skipped, self.adjusted)


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------
def read_fsdd_folder(folder: Path, sample_rate: int, window: int) -> Corpus:
    """``{digit}_{speaker}_{index}.wav`` files (in ``folder`` or ``folder/recordings``)."""
    recordings = folder / "recordings" if (folder / "recordings").is_dir() else folder
    collector = ClipCollector(sample_rate, window)
    for path in sorted(p for p in recordings.iterdir() if p.is_file() and not p.name.startswith(".")):
        match = FSDD_NAME.match(path.name)
        if match is None:
            reason = "name not {digit}_{speaker}_{index}.wav" if path.suffix.lower() == ".wav" else "not a .wav file"
            collector.skipped.add(reason, path.name)
            continue
        digit, speaker, index = int(match[1]), match[2].lower(), int(match[3])
        collector.add_file(path, digit, speaker, "test" if index in FSDD_TEST_INDICES else "train")
    return collector.corpus("fsdd", "local", DIGIT_CLASSES)


def _fsdd_local(data_dir: str | None, sample_rate: int, window: int) -> Corpus:
    names = ["fsdd", "free-spoken-digit-dataset", "free_spoken_digit_dataset"]
    try:
        folder = data_lib.find_dataset_dir(data_dir, names, ["recordings/*.wav"], "speech")
    except SourceUnavailable:
        folder = data_lib.find_dataset_dir(data_dir, [*names, "recordings"], ["[0-9]_*_*.wav"], "speech")
    return read_fsdd_folder(folder, sample_rate, window)


def _fsdd_tfds(sample_rate: int, window: int) -> Corpus:
    """TFDS ``spoken_digit`` (one 'train' split); speaker and index come from the file names."""
    import tensorflow_datasets as tfds

    dataset = data_lib.load_tfds("spoken_digit", split="train")
    collector = ClipCollector(sample_rate, window)
    for example in tfds.as_numpy(dataset):
        filename = Path(example["audio/filename"].decode()).name
        match = FSDD_NAME.match(filename)
        speaker, split = (match[2].lower(), "test" if int(match[3]) in FSDD_TEST_INDICES else "train") if match else ("", "")
        samples = audio.resample(audio.to_float(np.asarray(example["audio"])), 8000, sample_rate)
        collector.add_samples(samples, int(example["label"]), speaker, split, filename)
    if sample_rate != 8000:
        collector.adjusted.add(f"resampled from 8000 Hz to {sample_rate} Hz", count=len(collector.labels))
    return collector.corpus("fsdd", "online", DIGIT_CLASSES)


def read_speech_commands_folder(folder: Path, sample_rate: int, window: int, words: list[str]) -> Corpus:
    """The extracted Speech Commands archive: ``<word>/<speaker>_nohash_<n>.wav`` + split lists."""
    def listed(name: str) -> set[str]:
        file = folder / name
        return set(file.read_text(encoding="utf-8").split()) if file.exists() else set()

    validation, testing = listed("validation_list.txt"), listed("testing_list.txt")
    collector = ClipCollector(sample_rate, window)
    for word_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(word_dir.glob("*.wav"))
        if word_dir.name not in words:
            collector.skipped.add("word not in the vocabulary", word_dir.name, count=len(files))
            continue
        for path in files:
            relative = f"{word_dir.name}/{path.name}"
            split = "test" if relative in testing else "validation" if relative in validation else "train"
            collector.add_file(path, words.index(word_dir.name), path.name.split("_nohash_")[0], split, relative)
    return collector.corpus("speech_commands", "local", words)


def _speech_commands_tfds(sample_rate: int, window: int, words: list[str]) -> Corpus:
    """TFDS ``speech_commands`` (16 kHz; its 12 labels include _silence_ and _unknown_)."""
    import tensorflow_datasets as tfds

    splits = ("train", "validation", "test")
    datasets, info = data_lib.load_tfds("speech_commands", split=list(splits), with_info=True)
    label_names = info.features["label"].names
    collector = ClipCollector(sample_rate, window)
    for split, dataset in zip(splits, datasets):
        for example in tfds.as_numpy(dataset):
            word = label_names[int(example["label"])]
            if word not in words:
                collector.skipped.add("word not in the vocabulary", word)
                continue
            samples = audio.resample(audio.to_float(np.asarray(example["audio"])), 16000, sample_rate)
            collector.add_samples(samples, words.index(word), "", split)
    if sample_rate != 16000 and collector.labels:
        collector.adjusted.add(f"resampled from 16000 Hz to {sample_rate} Hz", count=len(collector.labels))
    return collector.corpus("speech_commands", "online", words)


def read_class_folder(root: Path, sample_rate: int, window: int) -> Corpus:
    """Class subfolders of WAV files, or ``train/`` + ``test/`` pairs of them (same classes)."""
    parts = {"train": root / "train", "test": root / "test"}
    layout = parts if all(data_lib.is_dir(p) for p in parts.values()) else {"": root}
    collector, names = ClipCollector(sample_rate, window), None
    for split, folder in layout.items():
        listing = data_lib.list_class_folders(folder, (".wav",))
        if names is not None and listing.class_names != names:
            raise DataError(f"{root}: train/ has classes {names} but test/ has {listing.class_names}; expected the same.")
        names = listing.class_names
        collector.skipped.merge(listing.skipped)
        for path, label in zip(listing.files, listing.labels):
            collector.add_file(path, int(label), "", split, str(path.relative_to(root)))
    return collector.corpus("folder", "local", names)


def synthetic_corpus(vocabulary: str, per_class: int, seed: int, sample_rate: int, window: int) -> Corpus:
    """eSpeak NG utterances with a random gain and background noise (seeded), fitted to the window.

    Noise is white or brown (integrated white), at 5-40 dB SNR, on 80% of the clips and over
    the whole window, so the padding around a word is not always exact silence.
    """
    raw = synthesis.synthesize(vocabulary, per_class, seed, sample_rate)
    rng = np.random.default_rng([seed, 2])
    collector = ClipCollector(sample_rate, window)
    offsets = np.concatenate([[0], np.cumsum(raw["lengths"])])
    for index, (label, voice) in enumerate(zip(raw["labels"], raw["voices"])):
        samples = audio.to_float(raw["samples"][offsets[index] : offsets[index + 1]])
        if not collector.add_samples(samples, int(label), str(voice), "", f"utterance {index} ({voice})"):
            continue
        clip = collector.waveforms[-1] * np.float32(10 ** (rng.uniform(-20, 0) / 20))
        if rng.uniform() < 0.8:
            noise = rng.standard_normal(window)
            if rng.uniform() < 0.5:
                noise = np.cumsum(noise)
                noise -= np.linspace(noise[0], noise[-1], window)  # no drift: brown noise, zero mean
            speech = clip[np.abs(clip) > 1e-4]
            signal_rms = np.sqrt(np.mean(np.square(speech))) if speech.size else 0.0
            noise *= signal_rms / (np.sqrt(np.mean(np.square(noise))) + 1e-12) / 10 ** (rng.uniform(5, 40) / 20)
            clip = clip + noise.astype(np.float32)
        collector.waveforms[-1] = np.clip(clip, -1.0, 1.0).astype(np.float32)
    name = f"synthetic_{vocabulary}"
    return collector.corpus(name, "bundled", synthesis.CLASS_NAMES[vocabulary])


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
def load_corpus(
    dataset: str,
    *,
    data_dir: str | None = None,
    sample_rate: int = 8000,
    clip_seconds: float = 1.0,
    vocabulary: str = "digits",
    synthetic_per_class: int = 300,
    seed: int = 0,
) -> Corpus:
    """Resolve ``dataset`` to a :class:`Corpus` (``auto``: FSDD where found, else synthetic digits)."""
    window = int(round(sample_rate * clip_seconds))
    if dataset == "auto":
        try:
            return load_corpus("fsdd", data_dir=data_dir, sample_rate=sample_rate, clip_seconds=clip_seconds)
        except data_lib.DataNotFoundError as why:
            log.warning("FSDD not found (%s); using synthesized digits.", why)
            dataset, vocabulary = "synthetic", "digits"
    if dataset == "fsdd":
        sources = [
            Source("local", lambda: _fsdd_local(data_dir, sample_rate, window),
                   "point --data-dir at the FSDD folder (recordings/{digit}_{speaker}_{index}.wav) or a parent of speech/fsdd."),
            Source("online", lambda: _fsdd_tfds(sample_rate, window), "be online for TFDS 'spoken_digit' (cached afterwards)."),
        ]
        corpus, _ = data_lib.resolve("fsdd", sources)
    elif dataset == "speech_commands":
        names = ["speech_commands", "speech_commands_v0.02", "speech_commands_v0.01", "speech-commands"]
        sources = [
            Source("local", lambda: read_speech_commands_folder(
                data_lib.find_dataset_dir(data_dir, names, ["testing_list.txt", "validation_list.txt"], "speech"),
                sample_rate, window, COMMAND_WORDS),
                "point --data-dir at the extracted Speech Commands archive (word folders + testing_list.txt)."),
            Source("online", lambda: _speech_commands_tfds(sample_rate, window, COMMAND_WORDS),
                   "be online for TFDS 'speech_commands' (about 2.4 GB, cached afterwards)."),
        ]
        corpus, _ = data_lib.resolve("speech_commands", sources)
    elif dataset == "folder":
        root = data_lib.paths.data_dir(data_dir)
        if root is None:
            raise DataError("--dataset folder needs --data-dir pointing at a folder of class subfolders of WAV files.")
        corpus = read_class_folder(root, sample_rate, window)
    elif dataset == "synthetic":
        corpus = synthetic_corpus(vocabulary, synthetic_per_class, seed, sample_rate, window)
    else:
        raise DataError(f"Unknown speech dataset {dataset!r}; expected one of {list(DATASETS)}.")
    log.info("%s (%s): %d clips of %d samples at %d Hz, %d classes, %d speakers", corpus.name, corpus.source,
             len(corpus.clips), window, sample_rate, len(corpus.class_names), len(corpus.speaker_names))
    return corpus


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------
def _stratified(clips: Clips, fraction: float, seed: int) -> tuple[Clips, Clips]:
    """(kept, held out): ``fraction`` of every class held out, seeded."""
    keep, held_out = data_lib.stratified_split_indices(clips.labels, [1 - fraction, fraction], seed)
    if len(held_out) == 0 and len(clips) > 1:  # too few clips per class to hold any out: not stratified
        keep, held_out = data_lib.split_indices(len(clips), [1 - fraction, fraction], seed)
        if len(held_out) == 0:
            keep, held_out = keep[1:], keep[:1]
    return clips.subset(keep), clips.subset(held_out)


def official_split(corpus: Corpus, *, validation_fraction: float, seed: int, test_fraction: float = 0.2) -> tuple[Clips, Clips, Clips]:
    """The dataset's published train / validation / test; a stratified hold-out where it has none."""
    split = corpus.split
    if (split == "test").any():
        test = corpus.clips.subset(np.flatnonzero(split == "test"))
        rest = corpus.clips.subset(np.flatnonzero(split != "test"))
    else:
        rest, test = _stratified(corpus.clips, test_fraction, seed)
    if (corpus.split == "validation").any():
        train = corpus.clips.subset(np.flatnonzero(corpus.split == "train"))
        validation = corpus.clips.subset(np.flatnonzero(corpus.split == "validation"))
    else:
        train, validation = _stratified(rest, validation_fraction, seed + 1)
    return train, validation, test


def leave_one_speaker_out(corpus: Corpus, speaker: str, *, validation_fraction: float, seed: int) -> tuple[Clips, Clips, Clips]:
    """Train + validation on every other speaker (all their clips), test on ``speaker``'s clips."""
    if speaker not in corpus.speaker_names:
        raise DataError(f"{corpus.name} has no speaker {speaker!r}; speakers: {corpus.speaker_names}.")
    held_out = corpus.clips.speakers == speaker
    train, validation = _stratified(corpus.clips.subset(np.flatnonzero(~held_out)), validation_fraction, seed)
    return train, validation, corpus.clips.subset(np.flatnonzero(held_out))


def few_shot(clips: Clips, per_class: int, seed: int) -> Clips:
    """``per_class`` clips of every class drawn at random (seeded); 0 keeps them all."""
    if per_class <= 0:
        return clips
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(clips.labels):
        members = np.flatnonzero(clips.labels == label)
        if len(members) < per_class:
            raise DataError(f"class {label} has {len(members)} clips; {per_class} per class were asked for.")
        chosen.append(rng.choice(members, per_class, replace=False))
    return clips.subset(np.sort(np.concatenate(chosen)))


def limit(clips: Clips, count: int, seed: int) -> Clips:
    """At most ``count`` clips (a seeded random subset); 0 keeps them all. For smoke runs."""
    if not count or len(clips) <= count:
        return clips
    return clips.subset(np.sort(np.random.default_rng(seed).choice(len(clips), count, replace=False)))


def load(
    dataset: str,
    *,
    data_dir: str | None = None,
    sample_rate: int = 8000,
    clip_seconds: float = 1.0,
    vocabulary: str = "digits",
    synthetic_per_class: int = 300,
    validation_fraction: float = 0.1,
    max_train_examples: int = 0,
    seed: int = 0,
) -> AudioData:
    """``dataset`` cut by its official split (see :func:`official_split`)."""
    corpus = load_corpus(dataset, data_dir=data_dir, sample_rate=sample_rate, clip_seconds=clip_seconds,
                         vocabulary=vocabulary, synthetic_per_class=synthetic_per_class, seed=seed)
    return cut(corpus, *official_split(corpus, validation_fraction=validation_fraction, seed=seed),
               max_train_examples=max_train_examples, seed=seed)


def cut(corpus: Corpus, train: Clips, validation: Clips, test: Clips, *, max_train_examples: int = 0, seed: int = 0) -> AudioData:
    """An :class:`AudioData` from three clip sets (limited in size for smoke runs)."""
    if max_train_examples:
        train = limit(train, max_train_examples, seed)
        validation = limit(validation, max(max_train_examples // 4, 1), seed)
        test = limit(test, max(max_train_examples // 2, 1), seed)
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        if len(part) == 0:
            raise DataError(f"{corpus.name}: the {name} split is empty; expected clips in every split.")
    log.info("%s: %d train / %d validation / %d test clips", corpus.name, len(train), len(validation), len(test))
    return AudioData(corpus.name, corpus.source, corpus.class_names, corpus.sample_rate, train, validation, test,
                     corpus.skipped, corpus.adjusted)


# ---------------------------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------------------------
def pipeline(clips: Clips, *, num_classes: int, batch_size: int, seed: int, train: bool,
             min_examples_per_epoch: int = 0):
    """A tf.data pipeline of (waveforms [B, window] float32, one-hot labels [B, classes]).

    Augmentation happens inside the model (active in training only). A small training set is
    repeated to at least ``min_examples_per_epoch`` clips an epoch, so few-shot runs take enough
    steps per epoch for the augmentation to vary.
    """
    waveforms, labels = clips.waveforms, clips.labels
    if train and min_examples_per_epoch and len(labels) < min_examples_per_epoch:
        repeats = int(np.ceil(min_examples_per_epoch / len(labels)))
        waveforms, labels = np.tile(waveforms, (repeats, 1)), np.tile(labels, repeats)
    one_hot = np.eye(num_classes, dtype=np.float32)[labels]
    return data_lib.make_pipeline((waveforms, one_hot), batch_size=batch_size, shuffle=train, seed=seed)
