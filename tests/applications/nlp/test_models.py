"""NLP layers and models: shapes, masking, serialization, mixed precision, one step per backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from applications.nlp import models
from common import precision
from tests.helpers import BACKENDS, run_python


def test_token_and_position_embedding_shapes_mask_and_short_inputs():
    layer = models.TokenAndPositionEmbedding(vocabulary_size=20, sequence_length=8, embedding_dim=6)
    ids = np.array([[3, 4, 5, 0, 0, 0, 0, 0], [7, 0, 0, 0, 0, 0, 0, 0]], "int32")
    out = layer(ids)
    assert tuple(out.shape) == (2, 8, 6)
    expected = ids != 0
    expected[:, 0] = True  # the first position always counts
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.compute_mask(ids)), expected)
    # Positions come from the input's length in call(): a shorter batch is the same prefix.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(ids[:, :3])), keras.ops.convert_to_numpy(out)[:, :3], rtol=1e-6)
    # Position 0 and position 1 of the same token differ: the position embedding is used.
    same = layer(np.array([[5, 5]], "int32"))
    assert not np.allclose(keras.ops.convert_to_numpy(same)[0, 0], keras.ops.convert_to_numpy(same)[0, 1])


def test_config_round_trip_of_the_custom_layers():
    for layer in (models.TokenAndPositionEmbedding(20, 8, 6, name="embed"),
                  models.TransformerEncoderBlock(num_heads=2, feed_forward_dim=12, dropout_rate=0.2, name="block")):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_encoder_block_ignores_padding():
    keras.utils.set_random_seed(0)
    model = models.build_transformer_classifier(vocabulary_size=30, sequence_length=12, num_classes=3,
                                                embedding_dim=8, num_heads=2, feed_forward_dim=16, num_layers=2)
    short = np.array([[4, 9, 2, 0]], "int32")
    longer = np.array([[4, 9, 2, 0, 0, 0, 0, 0, 0, 0]], "int32")
    np.testing.assert_allclose(model.predict(short, verbose=0), model.predict(longer, verbose=0), rtol=1e-5, atol=1e-6)
    other = np.array([[4, 9, 7, 0]], "int32")
    assert not np.allclose(model.predict(short, verbose=0), model.predict(other, verbose=0))


def test_texts_without_any_token_give_finite_probabilities():
    vectorizer = models.build_vectorizer(["a good film", "a bad film"], vocabulary_size=20, sequence_length=6)
    for build, options in ((models.build_transformer_classifier, dict(num_heads=2, feed_forward_dim=8)),
                           (models.build_lstm_classifier, dict(lstm_units=4))):
        classifier = build(vocabulary_size=vectorizer.vocabulary_size(), sequence_length=6, num_classes=2,
                           embedding_dim=8, **options)
        model = models.build_text_model(vectorizer, classifier, name="text_model")
        probabilities = models.predict_texts(model, ["(", "!!!", "a good film"])  # "(" -> no tokens at all
        assert np.isfinite(probabilities).all(), classifier.name


def test_lstm_classifier_shapes_and_probabilities():
    model = models.build_lstm_classifier(vocabulary_size=30, sequence_length=12, num_classes=4, embedding_dim=8, lstm_units=4)
    probabilities = model.predict(np.array([[1, 2, 3, 0], [5, 0, 0, 0]], "int32"), verbose=0)
    assert probabilities.shape == (2, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_output_stays_float32_under_mixed_precision():
    with precision.policy_scope("mixed_bfloat16"):
        model = models.build_transformer_classifier(vocabulary_size=30, sequence_length=12, num_classes=2,
                                                    embedding_dim=8, num_heads=2, feed_forward_dim=16)
    assert model.get_layer("encoder_1").compute_dtype == "bfloat16"
    assert model.get_layer("embedding").compute_dtype == "bfloat16"
    assert model.get_layer("probabilities").compute_dtype == "float32" and model.output.dtype == "float32"


def test_text_model_saves_loads_and_takes_raw_strings(tmp_path):
    texts = ["a good film", "a bad film", "good fun", "dull and bad"]
    vectorizer = models.build_vectorizer(texts, vocabulary_size=20, sequence_length=6)
    classifier = models.build_transformer_classifier(vocabulary_size=vectorizer.vocabulary_size(), sequence_length=6,
                                                     num_classes=2, embedding_dim=8, num_heads=2, feed_forward_dim=8)
    model = models.build_text_model(vectorizer, classifier, name="text_model")
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    expected = classifier.predict(keras.ops.convert_to_numpy(vectorizer(np.array(texts))).astype("int32"), verbose=0)
    np.testing.assert_allclose(models.predict_texts(loaded, texts), expected, rtol=1e-5, atol=1e-6)
    assert loaded.get_layer("vectorizer").get_vocabulary() == vectorizer.get_vocabulary()


SCRIPT = """
import keras, numpy as np, tensorflow as tf
from applications.nlp import data, models, pretrained, train
from applications.nlp.config import NLPConfig
from tests.applications.nlp.conftest import make_tiny_bert_preset, sentiment_texts
assert keras.backend.backend() == {backend!r}
texts, labels = sentiment_texts(64)
index = np.arange(64)
array = np.asarray(texts, dtype=object)
numbers = np.asarray([1 if l == "pos" else 0 for l in labels], np.int32)
split = (array[index % 4 != 0], numbers[index % 4 != 0]), (array[index % 4 == 0], numbers[index % 4 == 0])
text_data = data.TextData("toy", "generated", ["neg", "pos"], split[0], split[1], split[1])
checkpoint = make_tiny_bert_preset({folder!r})
for name in ("transformer", "lstm", "pretrained"):
    config = NLPConfig.from_preset("smoke", model=name, checkpoint=checkpoint, batch_size=16)
    if name == "pretrained":
        featurize, classifier, preprocessor = train.build_pretrained(config, text_data, 16)
    else:
        featurize, classifier, saved = train.build_scratch(config, text_data, 16)
    train_ds, validation_ds, test_ds = data.pipelines(text_data, featurize, batch_size=16, seed=0, sequence_length=16)
    train.compile_model(classifier, config, steps_per_epoch=1)
    history = classifier.fit(train_ds.take(1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]), name
    if name == "pretrained":
        saved = pretrained.export_classifier(classifier, preprocessor)
    expected = classifier.predict(test_ds, verbose=0)
    path = {folder!r} + f"/{{name}}.keras"
    saved.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(models.predict_texts(again, text_data.test[0]), expected, rtol=1e-4, atol=1e-5)
    print(name, "ok")
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_save_and_load_under_each_backend(backend, tmp_path):
    completed = run_python(SCRIPT.format(backend=backend, folder=str(tmp_path)), backend=backend)
    assert completed.stdout.split() == ["transformer", "ok", "lstm", "ok", "pretrained", "ok"]
