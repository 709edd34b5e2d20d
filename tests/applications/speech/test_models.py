"""Speech layers and models: shapes, training-only augmentation, serialization, mixed precision,
and one training step per backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from applications.speech import models
from common import precision
from tests.applications.speech import wavs
from tests.helpers import BACKENDS, run_python

WINDOW, RATE = 4000, 8000


def waveforms(count: int = 4) -> np.ndarray:
    clips = np.zeros((count, WINDOW), np.float32)
    for i in range(count):
        tone = wavs.tone(300.0 + 200.0 * i, 0.3)
        clips[i, 1000 : 1000 + len(tone)] = tone
    return clips


def test_front_end_is_per_clip_and_ignores_loudness():
    model = models.build_cnn(window=WINDOW, sample_rate=RATE, num_classes=3, widths=(4,))
    extractor = keras.Model(model.inputs, model.get_layer("log_mel").output)
    x = waveforms()
    features = extractor.predict(x, verbose=0)
    assert features.shape == (4, 51, 40)  # 1 + 4000 / 80 frames of 40 mel bands
    np.testing.assert_allclose(features.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(features.std(axis=(1, 2)), 1.0, atol=1e-3)
    # 20 dB quieter -> the same features; one clip alone -> the same as inside a batch.
    np.testing.assert_allclose(extractor.predict(x * 0.1, verbose=0), features, atol=1e-3)
    np.testing.assert_allclose(extractor.predict(x[:1], verbose=0)[0], features[0], atol=1e-4)


def test_augmentation_layers_act_only_in_training():
    x = waveforms()
    layer = models.WaveformAugmentation(speed=0.2, max_shift=400, noise_probability=1.0, seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    moved = keras.ops.convert_to_numpy(layer(x, training=True))
    assert moved.shape == x.shape and not np.allclose(moved, x) and np.all(np.isfinite(moved))
    masks = models.SpecAugment(time_masks=2, time_mask_width=5, freq_masks=1, freq_mask_width=3, seed=1)
    features = np.ones((2, 50, 20), np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(masks(features, training=False)), features)
    masked = keras.ops.convert_to_numpy(masks(features, training=True))
    zero_frames = (masked == 0).all(axis=2).sum(axis=1)
    assert np.all(zero_frames <= 10) and set(np.unique(masked)) <= {0.0, 1.0}


def test_speed_perturbation_moves_the_pitch():
    layer = models.WaveformAugmentation(speed=0.3, max_shift=0, noise_probability=0.0, seed=3)
    x = np.tile(wavs.tone(1000.0, 0.5)[None], (8, 1))
    moved = keras.ops.convert_to_numpy(layer(x, training=True))
    peaks = np.argmax(np.abs(np.fft.rfft(moved, axis=1)), axis=1) * RATE / x.shape[1]
    assert np.all((peaks > 690) & (peaks < 1310)) and peaks.std() > 10


@pytest.mark.parametrize("layer", [
    models.WaveformAugmentation(speed=0.05, max_shift=10, noise_probability=0.3, min_snr_db=5, max_snr_db=9, seed=2),
    models.LogMelNormalization(top_db=60.0),
    models.SpecAugment(time_masks=1, time_mask_width=4, freq_masks=3, freq_mask_width=2, seed=5),
    models.SinusoidalPositionEncoding(),
])
def test_custom_layers_round_trip_their_config(layer):
    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    registered = keras.saving.get_registered_name(type(layer))
    assert registered.startswith("keras_applied") and registered.endswith(f">{type(layer).__name__}")
    assert keras.saving.get_registered_object(registered) is type(layer)


def test_position_encoding_values():
    encoded = keras.ops.convert_to_numpy(models.SinusoidalPositionEncoding()(np.zeros((1, 3, 4), np.float32)))
    np.testing.assert_allclose(encoded[0, 0], [0, 1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(encoded[0, 2], [np.sin(2), np.cos(2), np.sin(2 / 100), np.cos(2 / 100)], atol=1e-5)


@pytest.mark.parametrize("builder", [models.build_cnn, models.build_transformer])
def test_models_save_load_and_keep_float32_front_end_and_output_under_mixed_precision(builder, tmp_path):
    options = {"widths": (4, 8)} if builder is models.build_cnn else {"model_dim": 16, "num_heads": 2, "num_layers": 1}
    with precision.policy_scope("mixed_bfloat16"):
        model = builder(window=WINDOW, sample_rate=RATE, num_classes=3, **options)
    assert model.get_layer("mel_spectrogram").compute_dtype == "float32"
    assert model.get_layer("log_mel").compute_dtype == "float32"
    assert model.get_layer("probabilities").compute_dtype == "float32" and model.output.dtype == "float32"
    inner = model.get_layer("stage1a_conv" if builder is models.build_cnn else "block1_ff1")
    assert inner.compute_dtype == "bfloat16"
    x = waveforms(3)
    probabilities = model.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), probabilities, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_and_save_load_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.speech import models
        assert keras.backend.backend() == {backend!r}
        rng = np.random.default_rng(0)
        x = rng.normal(0, 0.1, (8, 1600)).astype("float32")
        y = np.eye(3)[np.arange(8) % 3].astype("float32")
        for name, build, options in (("cnn", models.build_cnn, dict(widths=(4, 8))),
                                     ("transformer", models.build_transformer, dict(model_dim=16, num_heads=2, num_layers=1))):
            model = build(window=1600, sample_rate=8000, num_classes=3, **options)
            model.compile(optimizer="adamw", loss="categorical_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # augmentation runs (training=True)
            assert np.isfinite(history.history["loss"][0]), name
            path = {str(tmp_path)!r} + f"/{{name}}.keras"
            model.save(path)
            again = keras.saving.load_model(path)
            # Direct calls (no predict() compilation): inference mode, augmentation off.
            before = keras.ops.convert_to_numpy(model(x, training=False))
            after = keras.ops.convert_to_numpy(again(x, training=False))
            np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-5)
        print("ok")
        """,
        backend=backend,
    )
