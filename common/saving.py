"""Saved models with a small metadata card beside them (class names, input size, domain ...).

``save_model(model, "model.keras", metadata)`` writes ``model.keras`` and ``model.json``;
``load_model`` reads both back and refuses, with a one-line message, a file that is not a Keras
model, a damaged or unreadable one, a missing or broken card, a model made by another domain, and a
model that does not match its card.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
import zlib
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


def load_model(
    path: str | Path, *, domain: str, compile: bool = False, require_card: bool = True
) -> tuple[keras.Model, dict[str, Any]]:
    """The model and its metadata card. Raises :class:`ModelFileError` for anything unusable.

    Every message is one line that says what was found and what was expected: a missing or
    unreadable file, a file that is not a ``.keras`` archive, a damaged one, a missing or broken
    card (``model.json``, written beside every model by :func:`save_model`), a model of another
    domain, or a model that does not match its card (the two files of different runs).
    ``require_card=False`` accepts a model saved without a card (a bare ``model.save`` file, such
    as a training checkpoint); its metadata is then ``{}``.
    """
    path = Path(path)
    made_by = f"the model.keras that `keras-applied run {domain}` writes into its workdir"
    _check_model_file(path, made_by)
    metadata = read_card(path, domain) if require_card or metadata_path(path).exists() else {}
    if metadata.get("domain") not in (None, domain):
        raise ModelFileError(
            f"{str(path)!r} is a {metadata['domain']!r} model; expected a {domain!r} model "
            f"(its card {metadata_path(path).name} says domain {metadata['domain']!r})."
        )
    try:
        model = keras.saving.load_model(path, compile=compile)
    except Exception as error:  # noqa: BLE001 - keras raises many types for a bad archive
        raise ModelFileError(f"Cannot load {str(path)!r} as a {domain} model: {_load_failure(error, domain)}") from error
    _check_model_matches_card(model, metadata, path)
    return model, metadata


def read_card(path: str | Path, domain: str) -> dict[str, Any]:
    """The metadata card (``model.json``) beside the model file ``path``, as a dict.

    Raises :class:`ModelFileError` when the card is missing, unreadable, not valid JSON or not a
    JSON object: without it the model's classes, columns or game are unknown.
    """
    card = metadata_path(path)
    expected = f"the model card `keras-applied run {domain}` writes beside {Path(path).name}"
    try:
        text = card.read_bytes().decode("utf-8")
    except FileNotFoundError as error:
        raise ModelFileError(
            f"{str(path)!r} has no model card: {str(card)!r} is missing. Expected the {card.name} that "
            f"`keras-applied run {domain}` writes beside {Path(path).name} in its workdir; copy both files together."
        ) from error
    except OSError as error:
        raise ModelFileError(f"Cannot read the model card {str(card)!r} ({_os_reason(error)}); expected {expected}.") from error
    except UnicodeDecodeError as error:
        raise ModelFileError(f"The model card {str(card)!r} is not UTF-8 text; expected {expected} (JSON).") from error
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"The model card {str(card)!r} is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); expected {expected} (a JSON object)."
        ) from error
    if not isinstance(metadata, dict):
        raise ModelFileError(
            f"The model card {str(card)!r} holds a JSON {type(metadata).__name__}, not an object; expected {expected} "
            '(a JSON object such as {"domain": ...}).'
        )
    return metadata


# ---------------------------------------------------------------------------------------------
# What exactly is wrong with a model file, in one line
# ---------------------------------------------------------------------------------------------
def _os_reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "it is a folder"
    return (error.strerror or str(error) or type(error).__name__).strip().rstrip(".")


def _check_model_file(path: Path, made_by: str) -> None:
    """Refuse, naming the actual problem, a path that is not a readable Keras v3 archive."""
    try:
        if path.is_dir():
            inside = path / "model.keras"
            hint = f" Did you mean {str(inside)!r}?" if inside.is_file() else ""
            raise ModelFileError(f"Expected a saved model file (.keras); {str(path)!r} is a folder.{hint}")
        if not path.exists():
            raise ModelFileError(f"Expected a saved model file (.keras); {str(path)!r} does not exist.")
        with open(path, "rb") as handle:
            head = handle.read(4)
        is_zip = zipfile.is_zipfile(path)
        names = []
        if is_zip:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
    except OSError as error:
        raise ModelFileError(f"Cannot read {str(path)!r} ({_os_reason(error)}); expected {made_by}.") from error
    except zipfile.BadZipFile as error:
        raise ModelFileError(
            f"{str(path)!r} is a damaged '.keras' archive ({error}); expected {made_by} (copy or save it again)."
        ) from error
    if head.startswith(b"PK") and not is_zip:  # a zip's start without its end: cut short while copied
        raise ModelFileError(
            f"{str(path)!r} is a damaged '.keras' archive: it starts like a zip file but its directory at the end "
            f"is missing (truncated, e.g. an interrupted copy or download); expected {made_by} (copy or save it again)."
        )
    if path.suffix != ".keras" or not is_zip:
        raise ModelFileError(
            f"Expected a Keras model saved as a '.keras' archive; {str(path)!r} is not one "
            f"(suffix {path.suffix!r}, zip archive: {is_zip}); expected {made_by}."
        )
    if "config.json" not in names:
        raise ModelFileError(
            f"Expected a Keras model saved as a '.keras' archive; {str(path)!r} is a zip archive without the "
            f"config.json every Keras model archive holds (it holds {sorted(names)[:5]}); expected {made_by}."
        )


def _load_failure(error: Exception, domain: str) -> str:
    """Keras' reason for refusing a model, in one line (its messages can hold kilobytes of config)."""
    text = str(error)
    missing = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if missing:
        module = re.search(r"'module': 'applications\.([A-Za-z_]+)", text)
        origin = f" of the {module.group(1)!r} domain" if module and module.group(1) != domain else ""
        return (
            f"it is built from the layer {missing.group(1)!r}{origin}, which no {domain} model uses: the file was made "
            f"by another domain or program (its card and the model may come from different runs). Expected a model "
            f"written by `keras-applied run {domain}`."
        )
    if isinstance(error, (zipfile.BadZipFile, EOFError, zlib.error)) or "truncated" in text.lower():
        return f"the archive is damaged ({type(error).__name__}); copy or save it again."
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    first = first.split(" Full object config:")[0].split(" Received config=")[0]
    return first if len(first) <= 300 else first[:297] + "..."


def _shape(shape: Any) -> tuple | None:
    """A single tensor's shape as a tuple, or None for several inputs/outputs."""
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return shape
    return None


def _check_model_matches_card(model: keras.Model, metadata: dict[str, Any], path: Path) -> None:
    """The card's recorded shapes (image size, class count, window x columns) against the model's,
    so a model.keras paired with another run's model.json is refused before it mispredicts."""
    try:
        input_shape, output_shape = _shape(model.input_shape), _shape(model.output_shape)
    except (AttributeError, ValueError, RuntimeError):  # a model without defined shapes: nothing to compare
        return
    card = metadata_path(path).name
    what = ", ".join(f"{key} {metadata[key]!r}" for key in ("domain", "task", "dataset") if metadata.get(key)) or "no domain"
    checks = []
    if metadata.get("image_shape") and input_shape is not None and len(input_shape) == 4:
        checks.append(("input shape", tuple(metadata["image_shape"]), tuple(input_shape[1:])))
    if metadata.get("window") and metadata.get("input_columns") and input_shape is not None and len(input_shape) == 3:
        checks.append(("input shape", (metadata["window"], len(metadata["input_columns"])), tuple(input_shape[1:])))
    if metadata.get("class_names") and output_shape is not None and len(output_shape) == 2:
        checks.append(("number of classes", len(metadata["class_names"]), output_shape[-1]))
    for name, expected, received in checks:
        if expected != received:
            raise ModelFileError(
                f"{str(path)!r} does not match its card {card} ({what}): the card expects {name} {expected}, the "
                f"model has {received}. The two files come from different runs; use the model.keras and model.json "
                "of one run."
            )
