"""`keras-applied predict vision` on many files: one batched pass, input order, exit status, messages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from applications.vision import predict

CLASSES = ["dark", "mid", "bright"]


class BrightnessModel:
    """Stands in for a classifier: class probabilities from each image's mean brightness, and a
    record of every predict call (how many calls, how many images each)."""

    input_shape = (None, 8, 8, 1)

    def __init__(self):
        self.calls = []

    def predict(self, images, batch_size=None, verbose=0):
        self.calls.append(len(images))
        brightness = images.reshape(len(images), -1).mean(axis=1) / 255.0  # [N]
        scores = np.stack([1 - brightness, 1 - abs(brightness - 0.5) * 2, brightness], axis=1)
        return scores / scores.sum(axis=1, keepdims=True)


def write_image(path, value: int, size: int = 8):
    Image.fromarray(np.full((size, size), value, dtype=np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny real classifier (8x8 grey -> 3 classes) saved with its card, as a vision run saves it."""
    import keras

    from common import saving

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))
    path = tmp_path_factory.mktemp("vision_model") / "model.keras"
    saving.save_model(keras.Model(inputs, outputs), path,
                      {"domain": "vision", "class_names": CLASSES, "image_shape": [8, 8, 1]})
    return str(path)


def test_many_files_go_through_one_predict_call_in_input_order(tmp_path):
    values = [250, 10, 128, 240, 5, 130, 20]
    files = [write_image(tmp_path / f"{i}.png", v) for i, v in enumerate(values)]
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    files.insert(3, str(broken))
    model = BrightnessModel()
    entries = predict.classify_files(model, CLASSES, files, top_k=1, batch_size=4)
    assert model.calls == [7]  # every readable image in one call (batched inside predict), not one call per file
    assert [entry["file"] for entry in entries] == files
    assert "not a readable image" in entries[3]["error"]
    labels = [entry["top"][0][0] for entry in entries if "top" in entry]
    assert labels == ["bright", "dark", "mid", "bright", "dark", "mid", "dark"]


def test_files_are_read_in_chunks_to_bound_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(predict, "READ_CHUNK", 3)
    files = [write_image(tmp_path / f"{i}.png", 20 * i) for i in range(7)]
    model = BrightnessModel()
    entries = predict.classify_files(model, CLASSES, files, top_k=2)
    assert model.calls == [3, 3, 1] and [entry["file"] for entry in entries] == files
    assert all(len(entry["top"]) == 2 for entry in entries)


def test_missing_files_and_folders_are_named_as_such(tmp_path):
    entries = predict.classify_files(BrightnessModel(), CLASSES, [str(tmp_path / "nope.png"), str(tmp_path)], top_k=1)
    assert entries[0]["error"] == f"{tmp_path / 'nope.png'} does not exist."
    assert entries[1]["error"].startswith(f"{tmp_path} is a folder; expected an image file")


def test_exit_status_is_1_when_any_input_fails_and_problems_go_to_stderr(saved_model, tmp_path, capsys):
    good = [write_image(tmp_path / "a.png", 10), write_image(tmp_path / "b.png", 200)]
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert predict.main(["--model", saved_model, *good]) == 0
    captured = capsys.readouterr()
    assert [line.split(":")[0] for line in captured.out.splitlines()] == good and captured.err == ""

    missing = str(tmp_path / "missing.png")
    assert predict.main(["--model", saved_model, good[0], missing, str(empty), good[1]]) == 1
    captured = capsys.readouterr()
    assert [line.split(":")[0] for line in captured.out.splitlines()] == good
    errors = captured.err.splitlines()
    assert f"{missing}: skipped: does not exist." in errors
    assert any(line.startswith(f"{empty}: skipped: is not a readable image") for line in errors)
    assert "2 of 4 inputs could not be used" in errors[-1]


@pytest.mark.parametrize("top_k", ["0", "-2"])
def test_top_k_below_one_is_refused_with_the_valid_range(saved_model, tmp_path, capsys, top_k):
    image = write_image(tmp_path / "a.png", 10)
    with pytest.raises(SystemExit) as exited:
        predict.main(["--model", saved_model, "--top-k", top_k, image])
    assert exited.value.code == 2
    assert f"--top-k must be between 1 and 3 (the model's number of classes); received {top_k}." in capsys.readouterr().err


def test_top_k_above_the_classes_is_clipped_with_a_note(saved_model, tmp_path, capsys):
    image = write_image(tmp_path / "a.png", 10)
    assert predict.main(["--model", saved_model, "--top-k", "7", image]) == 0
    captured = capsys.readouterr()
    assert "note: --top-k 7 is more than the model's 3 classes; showing all 3." in captured.err
    assert captured.out.count(",") == 2  # three classes printed


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        predict.main(["--help"])
    assert "Exit status: 0 when every image was classified; 1 when any input" in " ".join(capsys.readouterr().out.split())
