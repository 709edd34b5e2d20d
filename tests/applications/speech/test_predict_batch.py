"""`keras-applied predict speech` on many files: one batched pass, input order, exit status, messages."""

from __future__ import annotations

import numpy as np
import pytest

from applications.speech import predict
from tests.applications.speech import wavs

CLASSES = ["quiet", "loud"]
WINDOW = 800


class LoudnessModel:
    """Stands in for the model: 'loud' when a clip's peak is above 0.3, and a record of calls."""

    input_shape = (None, WINDOW)

    def __init__(self):
        self.calls = []

    def predict(self, clips, batch_size=None, verbose=0):
        self.calls.append(clips.shape)
        loud = (np.abs(clips).max(axis=1) > 0.3).astype(np.float32)  # [N]
        return np.stack([1 - loud * 0.8 - 0.1, loud * 0.8 + 0.1], axis=1)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny real model (800 samples -> 2 classes) saved with its card, as a speech run saves it."""
    import keras

    from common import saving

    inputs = keras.Input((WINDOW,))
    outputs = keras.layers.Dense(2, activation="softmax")(inputs)
    path = tmp_path_factory.mktemp("speech_model") / "model.keras"
    saving.save_model(keras.Model(inputs, outputs), path,
                      {"domain": "speech", "sample_rate": 8000, "window": WINDOW, "class_names": CLASSES})
    return str(path)


def test_many_files_go_through_one_predict_call_in_input_order(tmp_path):
    amplitudes = [0.9, 0.1, 0.8, 0.05, 0.7]
    files = [str(wavs.write(tmp_path / f"{i}.wav", wavs.tone(440.0, 0.1, amplitude=a))) for i, a in enumerate(amplitudes)]
    silent = str(wavs.write(tmp_path / "silent.wav", np.zeros(400)))
    files.insert(2, silent)
    model = LoudnessModel()
    entries = predict.recognise_files(model, 8000, WINDOW, CLASSES, files)
    assert model.calls == [(5, WINDOW)]  # one stacked batch, not one call per file
    assert [entry["file"] for entry in entries] == files
    assert "is silent" in entries[2]["error"]
    assert [entry["top"][0][0] for entry in entries if "top" in entry] == ["loud", "quiet", "loud", "quiet", "loud"]


def test_missing_files_and_folders_are_named_as_such(tmp_path):
    entries = predict.recognise_files(LoudnessModel(), 8000, WINDOW, CLASSES, [str(tmp_path / "nope.wav"), str(tmp_path)])
    assert entries[0]["error"] == f"{tmp_path / 'nope.wav'} does not exist."
    assert entries[1]["error"].startswith(f"{tmp_path} is a folder; expected a WAV file")


def test_exit_status_is_1_when_any_input_fails_and_problems_go_to_stderr(saved_model, tmp_path, capsys):
    good = [str(wavs.write(tmp_path / f"{i}.wav", wavs.tone(440.0, 0.1))) for i in range(2)]
    assert predict.main(["--model", saved_model, *good]) == 0
    captured = capsys.readouterr()
    assert [line.split(":")[0] for line in captured.out.splitlines()] == good and captured.err == ""

    missing = str(tmp_path / "missing.wav")
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    assert predict.main(["--model", saved_model, good[0], missing, str(broken), good[1], "--top-k", "5"]) == 1
    captured = capsys.readouterr()
    assert [line.split(":")[0] for line in captured.out.splitlines()] == good
    errors = captured.err.splitlines()
    assert "note: --top-k 5 is more than the model's 2 classes; showing all 2." in errors
    assert f"{missing}: skipped: does not exist." in errors
    assert any(line.startswith(f"{broken}: skipped: is not a readable WAV file") for line in errors)
    assert "2 of 4 inputs could not be used" in errors[-1]


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        predict.main(["--help"])
    assert "Exit status: 0 when every file was recognised; 1 when any input" in " ".join(capsys.readouterr().out.split())
