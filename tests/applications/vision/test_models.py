"""Vision models: shapes, mixed precision, serialization, and one training step per backend."""

from __future__ import annotations

import numpy as np
import pytest

from applications.vision import models
from common import precision
from tests.helpers import BACKENDS, run_python


def test_residual_cnn_shapes_and_probabilities():
    model = models.build_residual_cnn(input_shape=(28, 28, 1), num_classes=10, widths=(8, 16, 32))
    probabilities = model.predict(np.zeros((3, 28, 28, 1), "float32") + 100, verbose=0)
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Stages after the first halve the resolution: 28 -> 14 -> 7.
    assert model.get_layer("stage3_block1_add").output.shape[1:3] == (7, 7)


def test_output_stays_float32_under_mixed_precision():
    with precision.policy_scope("mixed_bfloat16"):
        model = models.build_residual_cnn(input_shape=(8, 8, 1), num_classes=3, widths=(4, 8))
    assert model.get_layer("stage1_block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("probabilities").compute_dtype == "float32"
    assert model.output.dtype == "float32"


def test_transfer_model_adapts_small_grayscale_images():
    model = models.build_transfer_model(input_shape=(8, 8, 1), num_classes=4, backbone="mobilenet_v3_small", weights=None)
    assert model.predict(np.zeros((2, 8, 8, 1), "float32"), verbose=0).shape == (2, 4)
    with pytest.raises(ValueError, match="Unknown backbone"):
        models.build_transfer_model(input_shape=(8, 8, 1), num_classes=4, backbone="vgg99")


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_and_save_load_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.vision import models
        assert keras.backend.backend() == {backend!r}
        model = models.build_residual_cnn(input_shape=(8, 8, 1), num_classes=3, widths=(4, 8))
        model.compile(optimizer="adamw", loss="categorical_crossentropy", metrics=["accuracy"])
        x = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 1)).astype("float32")
        y = np.eye(3)[np.arange(16) % 3].astype("float32")
        history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        model.save({str(tmp_path / 'model.keras')!r})
        again = keras.saving.load_model({str(tmp_path / 'model.keras')!r})
        np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
        print("ok")
        """,
        backend=backend,
    )
