"""``keras-applied predict vision --model PATH image.png ...``: top-k classes per image."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from applications.vision import data
from common import saving
from common.errors import ModelFileError, UserInputError

DOMAIN = "vision"


def predict_files(model_path: str, files: Sequence[str], top_k: int = 3) -> list[dict]:
    """Top-k (class, probability) for each image file; unreadable files get an error entry."""
    model, metadata = saving.load_model(model_path, domain=DOMAIN)
    if metadata.get("task") == "gan":
        raise ModelFileError(
            f"{model_path} is a GAN generator (noise and a label in, an image out); expected an image "
            "classifier written by `keras-applied run vision` (its model.keras)."
        )
    height, width, channels = model.input_shape[1:]
    class_names = metadata.get("class_names") or [str(i) for i in range(model.output_shape[-1])]
    predictions = []
    for path in files:
        try:
            image = data.load_image(path, (height, width), channels)
        except UserInputError as error:
            predictions.append({"file": str(path), "error": str(error)})
            continue
        probabilities = np.asarray(model.predict(image[None].astype("float32"), verbose=0))[0]
        best = np.argsort(-probabilities)[:top_k]
        predictions.append(
            {"file": str(path), "top": [(class_names[i], float(probabilities[i])) for i in best]}
        )
    return predictions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="keras-applied predict vision", description="Classify image files with a saved vision model."
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a vision run (its workdir).")
    parser.add_argument("--top-k", type=int, default=3, help="How many classes to print per image.")
    parser.add_argument("images", nargs="+", help="Image files (PNG, JPEG, ...); resized to the model's input.")
    args = parser.parse_args(argv)
    try:
        predictions = predict_files(args.model, args.images, args.top_k)
    except UserInputError as error:
        print(f"keras-applied predict vision: error: {error}", file=sys.stderr)
        return 1
    failures = 0
    for entry in predictions:
        if "error" in entry:
            failures += 1
            print(f"{entry['file']}: skipped: {entry['error']}")
            continue
        ranked = ", ".join(f"{name} {probability:.3f}" for name, probability in entry["top"])
        print(f"{entry['file']}: {ranked}")
    return 1 if failures == len(predictions) else 0


if __name__ == "__main__":
    sys.exit(main())
