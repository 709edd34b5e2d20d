"""Saved models with a small metadata card beside them (class names, input size, domain ...).

``save_model(model, "model.keras", metadata)`` writes ``model.keras`` and ``model.json``;
``load_model`` reads both back and refuses, with a clear message, a file that is not a Keras
model or a model made by another domain.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import keras

from common import distribute
from common.errors import ModelFileError
from common.results import to_jsonable


def metadata_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def save_model(model: keras.Model, path: str | Path, metadata: dict[str, Any]) -> Path:
    """Save ``model`` as a ``.keras`` file and ``metadata`` as the JSON card beside it."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"Model files are saved as '.keras'; received {str(path)!r}.")
    if not distribute.is_chief():
        # Every worker must save (reading synchronised variables is a collective operation),
        # but only the chief's file is kept.
        with tempfile.TemporaryDirectory() as scratch:
            model.save(Path(scratch) / path.name)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    metadata_path(path).write_text(json.dumps(to_jsonable(metadata), indent=2) + "\n", encoding="utf-8")
    return path


def load_model(path: str | Path, *, domain: str, compile: bool = False) -> tuple[keras.Model, dict[str, Any]]:
    """The model and its metadata card. Raises :class:`ModelFileError` for anything unusable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Expected a saved model file (.keras); {str(path)!r} does not exist.")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"Expected a Keras model saved as a '.keras' archive; {str(path)!r} is not one "
            f"(suffix {path.suffix!r}, zip archive: {zipfile.is_zipfile(path)})."
        )
    card = metadata_path(path)
    metadata = json.loads(card.read_text(encoding="utf-8")) if card.exists() else {}
    if metadata.get("domain") not in (None, domain):
        raise ModelFileError(
            f"{str(path)!r} is a {metadata['domain']!r} model; expected a {domain!r} model."
        )
    try:
        model = keras.saving.load_model(path, compile=compile)
    except Exception as error:  # noqa: BLE001 - keras raises many types for a bad archive
        raise ModelFileError(f"Cannot load {str(path)!r} as a Keras model: {error}") from error
    return model, metadata
