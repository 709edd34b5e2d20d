"""The shared fit() setup (resume after interruption) and model files with metadata."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from common import saving, training
from common.errors import ModelFileError


def tiny_model() -> keras.Model:
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(1, dtype="float32")(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


class StopAfter(keras.callbacks.Callback):
    """Simulates a crash at the end of a given epoch."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_fit_resumes_from_the_last_epoch(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    with training.run_session(seed=0, precision_name="float32"):
        with pytest.raises(KeyboardInterrupt):
            training.fit(tiny_model(), x, (x, y), y=y, epochs=5, workdir=tmp_path, tensorboard=False, verbose=0,
                         extra_callbacks=[StopAfter(2)])
        assert (tmp_path / "backup").exists()
        seen = []

        class Record(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                seen.append(epoch)

        history = training.fit(tiny_model(), x, (x, y), y=y, epochs=5, workdir=tmp_path, tensorboard=False, verbose=0,
                               extra_callbacks=[Record()])
    assert seen == [3, 4]  # epochs 0-2 were done before the interruption
    assert len(history["loss"]) == 5  # the history file spans the whole run
    assert not (tmp_path / "backup").exists()  # removed once training completes


def test_fresh_fit_discards_an_older_history(tmp_path):
    x, y = np.ones((8, 4), "float32"), np.ones((8, 1), "float32")
    for _ in range(2):
        history = training.fit(tiny_model(), x, (x, y), y=y, epochs=2, workdir=tmp_path, tensorboard=False, verbose=0)
    assert len(history["loss"]) == 2


def test_cosine_schedule_warms_up_then_decays():
    schedule = training.cosine_schedule(1e-3, total_steps=100, warmup_fraction=0.1)
    values = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    assert values[0] == pytest.approx(0.0) and values[1] == pytest.approx(5e-4, rel=1e-3)
    assert values[2] == pytest.approx(1e-3, rel=1e-3) and values[2] > values[3] > values[4]


def test_saved_model_round_trip_with_metadata(tmp_path):
    model = tiny_model()
    path = saving.save_model(model, tmp_path / "model.keras", {"domain": "toy", "class_names": ["a"]})
    loaded, metadata = saving.load_model(path, domain="toy")
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert metadata["class_names"] == ["a"]
    with pytest.raises(ModelFileError, match="is a 'toy' model; expected a 'vision' model"):
        saving.load_model(path, domain="vision")


def test_load_model_rejects_files_that_are_not_models(tmp_path):
    text = tmp_path / "model.keras"
    text.write_text("not a model")
    with pytest.raises(ModelFileError, match="is not one"):
        saving.load_model(text, domain="toy")
    with pytest.raises(ModelFileError, match="does not exist"):
        saving.load_model(tmp_path / "missing.keras", domain="toy")
    with pytest.raises(ModelFileError, match="saved as '.keras'"):
        saving.save_model(tiny_model(), tmp_path / "model.h5", {})


def test_step_backup_is_never_taken_after_an_epochs_last_batch(tmp_path):
    """A backup between the last batch and the epoch end would resume into an empty epoch; the
    epoch-end backup covers that point instead."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    backup = training.StepBackup(tmp_path / "backup", save_freq=5)
    backup.set_model(model)
    backup.set_params({"steps": 10, "epochs": 1})
    backup.on_epoch_begin(0)
    for batch in range(10):
        backup.on_train_batch_end(batch)
        if batch == 4:  # a mid-epoch backup is taken
            assert training.StepBackup.read_position(tmp_path / "backup") == (0, 5)
    assert training.StepBackup.read_position(tmp_path / "backup") == (0, 5)  # none at batch 10
    backup.on_epoch_end(0)
    assert training.StepBackup.read_position(tmp_path / "backup") == (1, 0)
