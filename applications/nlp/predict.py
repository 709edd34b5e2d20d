"""``keras-applied predict nlp --model PATH "some text" ...``: label and probability per text."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common import saving
from common.errors import DataError, UserInputError

DOMAIN = "nlp"


def load(model_path: str):
    """The saved model (either family) and its metadata card."""
    # Importing these registers the custom layers and the keras-hub task with Keras' loader.
    from applications.nlp import models, pretrained  # noqa: F401

    with warnings.catch_warnings():
        # A keras-hub task compiles itself when rebuilt; the file holds no optimizer state to load.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return saving.load_model(model_path, domain=DOMAIN)


def read_texts(path: str | Path) -> list[str]:
    """One text per line of a UTF-8 file (bad bytes replaced); blank lines are left out."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--file {str(path)!r} does not exist; expected a text file with one text per line.")
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip()]


def predict_texts(model_path: str, texts: Sequence[str]) -> list[dict]:
    """Predicted label and its probability (plus all class probabilities) for each text.

    Empty texts get an error entry instead of a prediction.
    """
    from applications.nlp import models

    model, metadata = load(model_path)
    probabilities_shape = model.output_shape[-1]
    class_names = metadata.get("class_names") or [str(i) for i in range(probabilities_shape)]
    usable = [i for i, text in enumerate(texts) if text.strip()]
    probabilities = models.predict_texts(model, [texts[i].strip() for i in usable]) if usable else np.zeros((0, len(class_names)))
    predictions = [{"text": text, "error": "empty text"} for text in texts]
    for row, index in enumerate(usable):
        best = int(np.argmax(probabilities[row]))
        predictions[index] = {
            "text": texts[index], "label": class_names[best], "probability": float(probabilities[row, best]),
            "probabilities": {name: float(p) for name, p in zip(class_names, probabilities[row])},
        }
    return predictions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="keras-applied predict nlp",
        description="Classify texts with a saved nlp model (either family); prints label and probability per text.",
    )
    parser.add_argument("--model", required=True,
                        help="A model.keras written by an nlp run (in its workdir); it takes raw strings.")
    parser.add_argument("--file", default=None, help="A UTF-8 text file with one text per line (blank lines skipped).")
    parser.add_argument("texts", nargs="*", help="Texts to classify (quote each one).")
    args = parser.parse_args(argv)
    try:
        texts = list(args.texts) + (read_texts(args.file) if args.file else [])
        if not texts:
            raise DataError("Expected texts to classify: give them as arguments or with --file PATH.")
        predictions = predict_texts(args.model, texts)
    except UserInputError as error:
        print(f"keras-applied predict nlp: error: {error}", file=sys.stderr)
        return 1
    failures = 0
    for entry in predictions:
        shown = entry["text"] if len(entry["text"]) <= 80 else entry["text"][:77] + "..."
        if "error" in entry:
            failures += 1
            print(f"skipped ({entry['error']}): {shown!r}")
            continue
        print(f"{entry['label']}\t{entry['probability']:.3f}\t{shown}")
    return 1 if failures == len(predictions) else 0


if __name__ == "__main__":
    sys.exit(main())
