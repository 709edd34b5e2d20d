"""The conditional GAN example: the split-gradient loss, one step per backend, and a CLI run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from applications.vision.gan import models
from tests.helpers import BACKENDS, run_cli, run_python


def _tiny_gan():
    return models.build_gan(latent_dim=4, num_classes=3, image_shape=(8, 8, 1), generator_width=4,
                            discriminator_width=4, learning_rate=1e-3, seed=0)


def _gradients(gan, loss_fn, inputs):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(loss_fn(None, gan(inputs, training=True)))
    variables = gan.generator.trainable_variables + gan.discriminator.trainable_variables
    grads = tape.gradient(loss, variables)
    count = len(gan.generator.trainable_variables)
    zero = [np.zeros(v.shape) if g is None else np.asarray(tf.convert_to_tensor(g)) for v, g in zip(variables, grads)]
    return zero[:count], zero[count:]


def test_gan_loss_sends_each_network_its_own_objective():
    """The combined loss gives D exactly d_loss's gradient and G exactly g_loss's gradient."""
    gan = _tiny_gan()
    rng = np.random.default_rng(0)
    inputs = {"image": rng.uniform(-1, 1, (6, 8, 8, 1)).astype("float32"), "label": np.arange(6, dtype="int32") % 3}

    def run(loss_fn):  # the same noise each call: re-seed the model's generator
        gan.noise_seed.state.assign(np.array([0, 0], dtype=gan.noise_seed.state.dtype))
        return _gradients(gan, loss_fn, inputs)

    g_combined, d_combined = run(models.gan_loss)
    g_only, d_from_g = run(models.g_loss)
    _, d_only = run(models.d_loss)
    for combined, expected in zip(d_combined, d_only):
        np.testing.assert_allclose(combined, expected, atol=1e-6)
    for combined, expected in zip(g_combined, g_only):
        np.testing.assert_allclose(combined, expected, atol=1e-6)
    # Guard that the test can fail: g_loss alone does push on D's weights, and the split removes it.
    assert max(np.abs(d).max() for d in d_from_g) > 1e-4
    assert max(np.abs(g).max() for g in g_only) > 1e-6


def test_generator_rejects_sides_not_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        models.build_generator(latent_dim=4, num_classes=2, image_shape=(10, 10, 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_gan_training_step_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.vision.gan import models
        assert keras.backend.backend() == {backend!r}
        gan = models.build_gan(latent_dim=4, num_classes=3, image_shape=(8, 8, 1), generator_width=4,
                               discriminator_width=4, learning_rate=1e-3)
        rng = np.random.default_rng(0)
        x = {{"image": rng.uniform(-1, 1, (16, 8, 8, 1)).astype("float32"), "label": np.arange(16, dtype="int32") % 3}}
        before = [np.array(w) for w in gan.generator.get_weights()]
        history = gan.fit(x, np.zeros(16, "float32"), epochs=1, batch_size=8, verbose=0)
        assert all(np.isfinite(history.history[k][0]) for k in ("loss", "d_loss", "g_loss"))
        assert any(not np.allclose(a, b) for a, b in zip(before, gan.generator.get_weights()))
        path = {str(tmp_path / 'generator.keras')!r}
        gan.generator.save(path)
        again = keras.saving.load_model(path)
        z, labels = rng.normal(size=(4, 4)).astype("float32"), np.arange(4, dtype="int32") % 3
        np.testing.assert_allclose(again.predict([z, labels], verbose=0), gan.generator.predict([z, labels], verbose=0), atol=1e-5)
        print("ok")
        """,
        backend=backend,
    )


def test_cli_smoke_run_scores_samples_against_references(tmp_path):
    run_cli("run", "vision", "gan", "--preset", "smoke", "--workdir", str(tmp_path / "work"),
            "--results-dir", str(tmp_path / "results"))
    run_dir = tmp_path / "results" / "vision" / "digits" / "smoke-gan"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "judge_fid" and metrics["headline"]["value"] >= 0
    assert set(metrics["baselines"]) == {"real_training_images", "untrained_generator"}
    assert 0 <= metrics["metrics"]["conditional_accuracy"] <= 1
    # Real images are far closer to the real test set than the untrained generator's output.
    assert metrics["baselines"]["real_training_images"]["judge_fid"] < metrics["baselines"]["untrained_generator"]["judge_fid"]
    assert {p.name for p in (run_dir / "plots").iterdir()} >= {"samples.png", "learning_curves.png", "judge_fid_by_epoch.png"}
    assert (tmp_path / "work" / "generator.keras").is_file()
    # The generator is not a classifier: `predict vision` says so instead of failing on shapes.
    result = run_cli("predict", "vision", "--model", str(tmp_path / "work" / "generator.keras"), "x.png", check=False)
    assert result.returncode == 1 and "is a GAN generator" in result.stderr
