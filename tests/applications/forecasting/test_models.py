"""Forecasting models: shapes, custom layers (config, save/load, mixed precision), one step per backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from applications.forecasting import models
from common import precision
from tests.helpers import BACKENDS, run_python

BUILD = dict(window=24, num_features=5, horizon=6, num_targets=2)


@pytest.mark.parametrize("name", models.MODELS)
def test_forecasters_map_windows_to_direct_multi_step_forecasts(name):
    small = {"lstm": {"units": 8}, "tcn": {"filters": 8, "dilations": (1, 2)}, "transformer": {"model_dim": 8, "heads": 2, "ff_dim": 16}}
    model = models.build_forecaster(name, **BUILD, **small[name])
    x = np.random.default_rng(0).normal(size=(3, 24, 5)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (3, 6, 2) and y.dtype == np.float32 and np.isfinite(y).all()


def test_last_value_residual_adds_each_targets_last_input():
    window = keras.ops.convert_to_tensor(np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4))
    forecast = keras.ops.zeros((2, 5, 2))
    layer = models.LastValueResidual([0, 2])
    out = keras.ops.convert_to_numpy(layer([window, forecast]))
    assert out.shape == (2, 5, 2)
    np.testing.assert_allclose(out[0, :, 0], 8.0)  # window[0, -1, 0]
    np.testing.assert_allclose(out[1, :, 1], 22.0)  # window[1, -1, 2]
    again = models.LastValueResidual.from_config(layer.get_config())
    assert again.feature_indices == [0, 2]


def test_position_encoding_is_computed_for_each_input_length():
    layer = models.SinusoidalPositionEncoding()
    short = keras.ops.convert_to_numpy(layer(keras.ops.zeros((1, 4, 6))))
    long = keras.ops.convert_to_numpy(layer(keras.ops.zeros((1, 9, 6))))
    np.testing.assert_allclose(long[0, :4], short[0], atol=1e-6)  # the same positions, the same codes
    np.testing.assert_allclose(short[0, 0], [0, 1, 0, 1, 0, 1], atol=1e-6)  # sin(0), cos(0)
    assert not np.allclose(long[0, 5], long[0, 6])
    assert models.SinusoidalPositionEncoding.from_config(layer.get_config()).max_wavelength == 10_000.0


def test_tcn_receptive_field_covers_the_default_window():
    assert models.tcn_receptive_field(3, (1, 2, 4, 8, 16)) == 125 >= 72


def test_outputs_stay_float32_under_mixed_precision_and_models_round_trip(tmp_path):
    with precision.policy_scope("mixed_bfloat16"):
        model = models.build_transformer(**BUILD, model_dim=8, heads=2, ff_dim=16)
    assert model.get_layer("embed").compute_dtype == "bfloat16"
    assert model.get_layer("forecast_residual").compute_dtype == "float32" and model.output.dtype == "float32"
    x = np.random.default_rng(1).normal(size=(2, 24, 5)).astype("float32")
    model.save(tmp_path / "transformer.keras")
    loaded = keras.saving.load_model(tmp_path / "transformer.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_autoencoder_reconstructs_the_window_shape_and_checks_the_window():
    model = models.build_conv_autoencoder(window=32, num_features=2, filters=(8, 4))
    assert model.predict(np.zeros((2, 32, 2), "float32"), verbose=0).shape == (2, 32, 2)
    with pytest.raises(ValueError, match="window \\(30\\) must be divisible by 4"):
        models.build_conv_autoencoder(window=30, num_features=1)


# TensorFlow (the backend of the real runs) trains every model; JAX and PyTorch two each, so every
# model runs on at least two backends and the suite stays within its time budget.
BACKEND_MODELS = {"tensorflow": ("lstm", "tcn", "transformer"), "jax": ("lstm", "transformer"), "torch": ("tcn", "transformer")}


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_and_save_load_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.forecasting import models
        assert keras.backend.backend() == {backend!r}
        rng = np.random.default_rng(0)
        x = rng.normal(size=(8, 16, 3)).astype("float32")
        y = rng.normal(size=(8, 4, 1)).astype("float32")
        small = {{"lstm": {{"units": 4}}, "tcn": {{"filters": 4, "dilations": (1, 2)}},
                 "transformer": {{"model_dim": 4, "heads": 2, "ff_dim": 8}}}}
        for name in {BACKEND_MODELS[backend]!r}:
            model = models.build_forecaster(name, window=16, num_features=3, horizon=4, num_targets=1, **small[name])
            model.compile(optimizer="adamw", loss="mae")
            history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
            assert np.isfinite(history.history["loss"][0]), name
            path = {str(tmp_path)!r} + "/" + name + ".keras"
            model.save(path)
            again = keras.saving.load_model(path)
            expected = keras.ops.convert_to_numpy(model(x, training=False))
            np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x, training=False)), expected, rtol=1e-4, atol=1e-5)
        autoencoder = models.build_conv_autoencoder(window=16, num_features=3, filters=(4, 2))
        autoencoder.compile(optimizer="adam", loss="mse")
        assert np.isfinite(autoencoder.fit(x, x, epochs=1, batch_size=8, verbose=0).history["loss"][0])
        print("ok")
        """,
        backend=backend,
    )
