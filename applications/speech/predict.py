"""``keras-applied predict speech --model PATH clip.wav ...``: the spoken word in each WAV file.

Each file is read like the training data (any PCM/float WAV, mixed down to mono, resampled to the
model's rate, trimmed to its loudest window or padded), and the model, which computes its own
spectrogram, gives the label and its probability.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from applications.speech import audio, models  # noqa: F401 - models registers the custom layers
from common import saving
from common.errors import DataError, ModelFileError, UserInputError

DOMAIN = "speech"


def read_clip(path: str, sample_rate: int, window: int) -> tuple[np.ndarray, list[str]]:
    """A WAV file fitted to the model's input, and notes on what was converted."""
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


def predict_files(model_path: str, files: Sequence[str], top_k: int = 1) -> list[dict]:
    """Top-k (label, probability) per file; unusable files get an error entry instead."""
    model, metadata = saving.load_model(model_path, domain=DOMAIN)
    if "sample_rate" not in metadata:
        raise ModelFileError(f"{model_path}: its metadata card ({saving.metadata_path(model_path).name}) has no "
                             "'sample_rate'; expected the model.json a speech run writes beside model.keras.")
    sample_rate, window = int(metadata["sample_rate"]), int(model.input_shape[1])
    class_names = metadata.get("class_names") or [str(i) for i in range(model.output_shape[-1])]
    predictions = []
    for path in files:
        try:
            clip, notes = read_clip(path, sample_rate, window)
        except UserInputError as error:
            predictions.append({"file": str(path), "error": str(error)})
            continue
        probabilities = np.asarray(model.predict(clip[None], verbose=0))[0]
        best = np.argsort(-probabilities)[:top_k]
        predictions.append({"file": str(path), "top": [(class_names[i], float(probabilities[i])) for i in best],
                            "notes": notes})
    return predictions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="keras-applied predict speech",
        description="Recognise the spoken word in WAV files with a saved speech model; prints "
        "'FILE: LABEL PROBABILITY' per file.",
    )
    parser.add_argument("--model", required=True,
                        help="A model.keras written by a speech run (in its work folder, with model.json beside it).")
    parser.add_argument("--top-k", type=int, default=1, help="How many labels to print per file, most likely first.")
    parser.add_argument("wavs", nargs="+",
                        help="WAV files (8/16/24/32-bit PCM or float, any rate, mono or stereo); resampled to the "
                        "model's rate and fitted to its window.")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f"--top-k must be >= 1; received {args.top_k}.")
    try:
        predictions = predict_files(args.model, args.wavs, args.top_k)
    except UserInputError as error:
        print(f"keras-applied predict speech: error: {error}", file=sys.stderr)
        return 1
    failures = 0
    for entry in predictions:
        if "error" in entry:
            failures += 1
            print(f"{entry['file']}: skipped: {entry['error']}")
            continue
        ranked = ", ".join(f"{label} {probability:.3f}" for label, probability in entry["top"])
        notes = f" ({'; '.join(entry['notes'])})" if entry["notes"] else ""
        print(f"{entry['file']}: {ranked}{notes}")
    return 1 if failures == len(predictions) else 0


if __name__ == "__main__":
    sys.exit(main())
