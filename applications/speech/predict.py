"""``keras-applied predict speech --model PATH clip.wav ...``: the spoken word in each WAV file.

Each file is read like the training data (any PCM/float WAV, mixed down to mono, resampled to the
model's rate, trimmed to its loudest window or padded), and the model, which computes its own
spectrogram, gives the label and its probability. Every file is read first (a missing, unreadable
or silent one is skipped and named on stderr), then the clips go through the model in batches;
results keep the input order.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from applications.speech import audio, models  # noqa: F401 - models registers the custom layers
from common import cli, saving
from common.errors import DataError, ModelFileError, UserInputError

DOMAIN = "speech"
BATCH_SIZE = 64
READ_CHUNK = 1024  # clips read before each predict call: bounds memory on thousands of files
EXIT_STATUS = (
    "Exit status: 0 when every file was recognised; 1 when any input could not be used (each is "
    "named on stderr with the reason, the others are still printed on stdout) or the model cannot "
    "be used; 2 for a bad flag; 130 when interrupted."
)


def read_clip(path: str, sample_rate: int, window: int) -> tuple[np.ndarray, list[str]]:
    """A WAV file fitted to the model's input, and notes on what was converted."""
    candidate = Path(path)
    if not candidate.exists():
        raise DataError(f"{path} does not exist.")
    if candidate.is_dir():
        raise DataError(f"{path} is a folder; expected a WAV file (pass the files inside it, e.g. {path}/*.wav).")
    samples, info = audio.read_wav(path, sample_rate)
    notes = []
    if info["source_rate"] != sample_rate:
        notes.append(f"resampled from {info['source_rate']} Hz")
    if info["channels"] != 1:
        notes.append(f"mixed down from {info['channels']} channels")
    if audio.is_silent(samples):
        raise DataError(f"{path} is silent (peak below -80 dBFS); there is no word to recognise.")
    clip, change = audio.fit_to_window(samples, window)
    if change == "trimmed":
        notes.append(f"longer than {window / sample_rate:g} s: loudest part used")
    return clip, notes


def load_recognizer(model_path: str):
    """The saved model, its sample rate, window (samples) and class names."""
    model, metadata = saving.load_model(model_path, domain=DOMAIN)
    if "sample_rate" not in metadata:
        raise ModelFileError(f"{model_path}: its metadata card ({saving.metadata_path(model_path).name}) has no "
                             "'sample_rate'; expected the model.json a speech run writes beside model.keras.")
    input_shape = model.input_shape
    if not (isinstance(input_shape, tuple) and len(input_shape) == 2 and isinstance(input_shape[1], int)):
        raise ModelFileError(f"{model_path} takes inputs of shape {input_shape}; expected a speech model that takes "
                             "a batch of waveforms [batch, samples], written by `keras-applied run speech`.")
    class_names = metadata.get("class_names") or [str(i) for i in range(model.output_shape[-1])]
    return model, int(metadata["sample_rate"]), int(input_shape[1]), list(class_names)


def recognise_files(model, sample_rate: int, window: int, class_names: Sequence[str], files: Sequence[str],
                    top_k: int = 1, batch_size: int = BATCH_SIZE) -> list[dict]:
    """Top-k (label, probability) per file, in input order; unusable files get an error entry."""
    predictions: list[dict] = [{} for _ in files]
    for start in range(0, len(files), READ_CHUNK):
        clips, positions, notes = [], [], []
        for position in range(start, min(start + READ_CHUNK, len(files))):
            path = str(files[position])
            try:
                clip, clip_notes = read_clip(path, sample_rate, window)
            except UserInputError as error:
                predictions[position] = {"file": path, "error": str(error)}
                continue
            clips.append(clip)
            positions.append(position)
            notes.append(clip_notes)
        if not clips:
            continue
        probabilities = np.asarray(model.predict(np.stack(clips), batch_size=batch_size, verbose=0))  # [N, classes]
        for row, position in enumerate(positions):
            best = np.argsort(-probabilities[row], kind="stable")[:top_k]
            predictions[position] = {"file": str(files[position]), "notes": notes[row],
                                     "top": [(class_names[i], float(probabilities[row, i])) for i in best]}
    return predictions


def predict_files(model_path: str, files: Sequence[str], top_k: int = 1, batch_size: int = BATCH_SIZE) -> list[dict]:
    """Top-k (label, probability) per file; unusable files get an error entry instead."""
    model, sample_rate, window, class_names = load_recognizer(model_path)
    return recognise_files(model, sample_rate, window, class_names, files, top_k, batch_size)


def _reason(entry: dict) -> str:
    """The error without the file name it starts with (the line already begins with it)."""
    prefix = f"{entry['file']} "
    return entry["error"][len(prefix):] if entry["error"].startswith(prefix) else entry["error"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict speech",
        description="Recognise the spoken word in WAV files with a saved speech model; prints "
        "'FILE: LABEL PROBABILITY' per file on stdout, in the order given.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True,
                        help="A model.keras written by a speech run (in its work folder, with model.json beside it).")
    parser.add_argument("--top-k", type=int, default=1, help="How many labels to print per file, most likely first.")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Clips per forward pass.")
    parser.add_argument("wavs", nargs="+",
                        help="WAV files (8/16/24/32-bit PCM or float, any rate, mono or stereo); resampled to the "
                        "model's rate and fitted to its window.")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f"--top-k must be >= 1; received {args.top_k}.")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1; received {args.batch_size}.")
    try:
        model, sample_rate, window, class_names = load_recognizer(args.model)
        if args.top_k > len(class_names):
            print(f"note: --top-k {args.top_k} is more than the model's {len(class_names)} classes; "
                  f"showing all {len(class_names)}.", file=sys.stderr)
        predictions = recognise_files(model, sample_rate, window, class_names, args.wavs, args.top_k, args.batch_size)
    except UserInputError as error:
        print(f"keras-applied predict speech: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict speech: interrupted.", file=sys.stderr)
        return 130
    failures = 0
    for entry in predictions:
        if "error" in entry:
            failures += 1
            print(f"{entry['file']}: skipped: {_reason(entry)}", file=sys.stderr)
            continue
        ranked = ", ".join(f"{label} {probability:.3f}" for label, probability in entry["top"])
        notes = f" ({'; '.join(entry['notes'])})" if entry["notes"] else ""
        print(f"{entry['file']}: {ranked}{notes}")
    if failures:
        print(f"keras-applied predict speech: {failures} of {len(predictions)} inputs could not be used "
              "(named above); exit status 1.", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
