"""``keras-applied predict vision --model PATH image.png ...``: top-k classes per image.

Every file is read first (a missing, unreadable or non-image file is skipped and named on
stderr), then the readable images go through the model in batches, ``--batch-size`` at a time:
one ``model.predict`` call per chunk of files, not one per file. Results keep the input order.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from applications.vision import data
from common import cli, saving
from common.errors import ConfigError, ModelFileError, UserInputError

DOMAIN = "vision"
BATCH_SIZE = 64
READ_CHUNK = 1024  # files decoded before each predict call: bounds memory on thousands of images
EXIT_STATUS = (
    "Exit status: 0 when every image was classified; 1 when any input could not be used (each is "
    "named on stderr with the reason, the others are still printed on stdout) or the model cannot "
    "be used; 2 for a bad flag; 130 when interrupted."
)


def load_classifier(model_path: str):
    """The saved image classifier and its class names; refuses a GAN generator or a model whose
    input is not an image batch [B, H, W, C]."""
    model, metadata = saving.load_model(model_path, domain=DOMAIN)
    if metadata.get("task") == "gan":
        raise ModelFileError(
            f"{model_path} is a GAN generator (noise and a label in, an image out); expected an image "
            "classifier written by `keras-applied run vision` (its model.keras)."
        )
    input_shape, output_shape = model.input_shape, model.output_shape
    if not (isinstance(input_shape, tuple) and len(input_shape) == 4 and isinstance(output_shape, tuple)
            and len(output_shape) == 2):
        raise ModelFileError(
            f"{model_path} takes inputs of shape {input_shape} and gives {output_shape}; expected an image "
            "classifier ([batch, height, width, channels] in, class probabilities out) written by "
            "`keras-applied run vision`."
        )
    class_names = metadata.get("class_names") or [str(i) for i in range(output_shape[-1])]
    return model, list(class_names)


def check_top_k(top_k: int, num_classes: int) -> tuple[int, str | None]:
    """``top_k`` clipped to the number of classes, and a note when it was; refuses < 1."""
    if top_k < 1:
        raise ConfigError(
            f"--top-k must be between 1 and {num_classes} (the model's number of classes); received {top_k}."
        )
    if top_k > num_classes:
        return num_classes, f"--top-k {top_k} is more than the model's {num_classes} classes; showing all {num_classes}."
    return top_k, None


def _file_problem(path: str) -> str | None:
    """Why ``path`` cannot be an image file before trying to decode it, or None."""
    candidate = Path(path)
    if not candidate.exists():
        return f"{path} does not exist."
    if candidate.is_dir():
        return f"{path} is a folder; expected an image file (pass the images inside it, e.g. {path}/*.png)."
    return None


def classify_files(model, class_names: Sequence[str], files: Sequence[str], top_k: int = 3,
                   batch_size: int = BATCH_SIZE) -> list[dict]:
    """Top-k (class, probability) per file, in input order; unusable files get an error entry."""
    height, width, channels = model.input_shape[1:]
    predictions: list[dict] = [{} for _ in files]
    for start in range(0, len(files), READ_CHUNK):
        images, positions = [], []
        for position in range(start, min(start + READ_CHUNK, len(files))):
            path = str(files[position])
            problem = _file_problem(path)
            if problem is None:
                try:
                    images.append(data.load_image(path, (height, width), channels))
                    positions.append(position)
                    continue
                except UserInputError as error:
                    problem = str(error)
            predictions[position] = {"file": path, "error": problem}
        if not images:
            continue
        batch = np.stack(images).astype("float32")  # [N, H, W, C]
        probabilities = np.asarray(model.predict(batch, batch_size=batch_size, verbose=0))  # [N, classes]
        for row, position in enumerate(positions):
            best = np.argsort(-probabilities[row], kind="stable")[:top_k]
            predictions[position] = {
                "file": str(files[position]),
                "top": [(class_names[i], float(probabilities[row, i])) for i in best],
            }
    return predictions


def predict_files(model_path: str, files: Sequence[str], top_k: int = 3, batch_size: int = BATCH_SIZE) -> list[dict]:
    """Top-k (class, probability) for each image file; unreadable files get an error entry.

    ``top_k`` above the number of classes is clipped to it; below 1 is a :class:`ConfigError`.
    """
    model, class_names = load_classifier(model_path)
    top_k, _ = check_top_k(top_k, len(class_names))
    return classify_files(model, class_names, files, top_k, batch_size)


def _reason(entry: dict) -> str:
    """The error without the file name it starts with (the line already begins with it)."""
    prefix = f"{entry['file']} "
    return entry["error"][len(prefix):] if entry["error"].startswith(prefix) else entry["error"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict vision",
        description="Classify image files with a saved vision model; prints 'FILE: CLASS PROBABILITY, ...' "
        "per image on stdout, in the order given.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a vision run (its workdir).")
    parser.add_argument("--top-k", type=int, default=3,
                        help="How many classes to print per image, 1 to the model's number of classes (more is clipped).")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Images per forward pass.")
    parser.add_argument("images", nargs="+", help="Image files (PNG, JPEG, ...); resized to the model's input.")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1; received {args.batch_size}.")
    try:
        model, class_names = load_classifier(args.model)
        try:
            top_k, note = check_top_k(args.top_k, len(class_names))
        except ConfigError as error:
            parser.error(str(error))  # exits 2, like any other bad flag
        if note:
            print(f"note: {note}", file=sys.stderr)
        predictions = classify_files(model, class_names, args.images, top_k, args.batch_size)
    except UserInputError as error:
        print(f"keras-applied predict vision: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict vision: interrupted.", file=sys.stderr)
        return 130
    failures = 0
    for entry in predictions:
        if "error" in entry:
            failures += 1
            print(f"{entry['file']}: skipped: {_reason(entry)}", file=sys.stderr)
            continue
        ranked = ", ".join(f"{name} {probability:.3f}" for name, probability in entry["top"])
        print(f"{entry['file']}: {ranked}")
    if failures:
        print(f"keras-applied predict vision: {failures} of {len(predictions)} inputs could not be used "
              "(named above); exit status 1.", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
