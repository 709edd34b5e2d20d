"""From-scratch text classifiers, built with the Functional API and keras.layers / keras.ops only.

A from-scratch model is two parts joined into one saved model that takes raw strings:

    text [B] (string) -> "vectorizer" (TextVectorization) -> token ids [B, T]
                      -> "classifier" (Transformer encoder or BiLSTM) -> probabilities [B, C]

Training feeds the classifier token ids that tf.data computed with the same vectorizer (that
works under every backend and tokenises once). Keras can only put strings through a model's
graph on the TensorFlow backend, so :func:`predict_texts` calls the whole model there and, on
JAX and PyTorch, runs the saved model's own vectorizer eagerly and then its classifier.

Padding is token id 0: the embedding layers emit a padding mask that attention and pooling use.
The output layer computes in float32 under any mixed-precision policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

PACKAGE = "keras_applied"


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenAndPositionEmbedding(layers.Layer):
    """Token embedding plus a learned position embedding, with the padding mask (id 0; the
    first position always counts, so an all-padding text still has one position to pool).

    The positions are computed in ``call()`` from the input's length, never stored as a constant
    at build time (a constant built once was silently frozen under TF/JAX and crashed PyTorch).

    [B, T] int token ids -> [B, T, embedding_dim]
    """

    def __init__(self, vocabulary_size: int, sequence_length: int, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.token_embedding = layers.Embedding(vocabulary_size, embedding_dim, dtype=self.dtype_policy,
                                                name="token_embedding")
        self.position_embedding = layers.Embedding(sequence_length, embedding_dim, dtype=self.dtype_policy,
                                                   name="position_embedding")
        self.supports_masking = True

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.position_embedding.build((input_shape[-1],))
        self.built = True

    def call(self, token_ids):
        positions = ops.arange(ops.shape(token_ids)[-1], dtype="int32")  # [T]
        # [B, T, D] + [1, T, D]
        return self.token_embedding(token_ids) + ops.expand_dims(self.position_embedding(positions), 0)

    def compute_mask(self, token_ids, mask=None):
        # Real tokens, and always the first position: a text with no known-or-unknown word left
        # (e.g. "(" after punctuation is stripped) must not pool over nothing (0 / 0 = NaN).
        first = ops.equal(ops.cumsum(ops.ones_like(token_ids), axis=-1), 1)  # [B, T], True at position 0
        return ops.logical_or(ops.not_equal(token_ids, 0), first)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "embedding_dim": self.embedding_dim}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TransformerEncoderBlock(layers.Layer):
    """Pre-norm Transformer encoder block: x + MHA(LN(x)), then x + FFN(LN(x)).

    Padded positions (mask False) are never attended to.

    [B, T, D] -> [B, T, D]
    """

    def __init__(self, num_heads: int, feed_forward_dim: int, dropout_rate: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.feed_forward_dim = feed_forward_dim
        self.dropout_rate = dropout_rate
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        policy = self.dtype_policy
        self.attention_norm = layers.LayerNormalization(epsilon=1e-6, dtype=policy, name="attention_norm")
        self.attention = layers.MultiHeadAttention(
            self.num_heads, dim // self.num_heads, dropout=self.dropout_rate, dtype=policy, name="attention"
        )
        self.feed_forward_norm = layers.LayerNormalization(epsilon=1e-6, dtype=policy, name="feed_forward_norm")
        self.feed_forward_in = layers.Dense(self.feed_forward_dim, activation="gelu", dtype=policy, name="feed_forward_in")
        self.feed_forward_out = layers.Dense(dim, dtype=policy, name="feed_forward_out")
        self.dropout = layers.Dropout(self.dropout_rate, dtype=policy)
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.feed_forward_norm.build(input_shape)
        self.feed_forward_in.build(input_shape)
        self.feed_forward_out.build((*input_shape[:-1], self.feed_forward_dim))
        self.built = True

    def call(self, x, mask=None, training=None):
        attention_mask = None
        if mask is not None:
            keys = ops.expand_dims(ops.cast(mask, "int32"), 1)  # [B, 1, T]
            queries = ops.expand_dims(ops.ones_like(ops.cast(mask, "int32")), 2)  # [B, T, 1]
            attention_mask = ops.cast(queries * keys, "bool")  # [B, T, T]: may query i attend key j
        normed = self.attention_norm(x)
        attended = self.attention(normed, normed, attention_mask=attention_mask, training=training)
        x = x + self.dropout(attended, training=training)
        hidden = self.feed_forward_out(self.feed_forward_in(self.feed_forward_norm(x)))
        return x + self.dropout(hidden, training=training)

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "feed_forward_dim": self.feed_forward_dim,
                "dropout_rate": self.dropout_rate}


# ---------------------------------------------------------------------------------------------
# Vectorizer and classifiers
# ---------------------------------------------------------------------------------------------
def build_vectorizer(texts: Sequence[str], *, vocabulary_size: int, sequence_length: int) -> layers.TextVectorization:
    """A TextVectorization layer (lower-case, strip punctuation, split on whitespace) adapted to
    ``texts``: the ``vocabulary_size - 2`` most frequent words, id 0 padding, id 1 unknown.

    [B] strings -> [B, sequence_length] int64 token ids
    """
    import tensorflow as tf

    vectorizer = layers.TextVectorization(
        max_tokens=vocabulary_size, output_sequence_length=sequence_length, name="vectorizer"
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts).astype(str)).batch(1024))
    return vectorizer


def build_transformer_classifier(
    *,
    vocabulary_size: int,
    sequence_length: int,
    num_classes: int,
    embedding_dim: int = 128,
    num_layers: int = 1,
    num_heads: int = 4,
    feed_forward_dim: int = 256,
    dropout_rate: float = 0.3,
) -> keras.Model:
    """Token + position embeddings, ``num_layers`` encoder blocks, masked mean pooling, softmax.

    [B, T] int token ids -> [B, num_classes] probabilities
    """
    # Any length up to sequence_length: batches are trimmed to their longest text.
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = TokenAndPositionEmbedding(vocabulary_size, sequence_length, embedding_dim, name="embedding")(token_ids)
    x = layers.Dropout(dropout_rate, name="embedding_dropout")(x)
    for index in range(num_layers):
        x = TransformerEncoderBlock(num_heads, feed_forward_dim, dropout_rate, name=f"encoder_{index + 1}")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)  # [B, D], padded positions left out
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(token_ids, outputs, name="classifier")


def build_lstm_classifier(
    *,
    vocabulary_size: int,
    sequence_length: int,
    num_classes: int,
    embedding_dim: int = 128,
    lstm_units: int = 64,
    dropout_rate: float = 0.3,
) -> keras.Model:
    """Embedding (padding masked), a bidirectional LSTM's final states, dropout, softmax.

    [B, T] int token ids -> [B, num_classes] probabilities
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")(token_ids)
    x = layers.Dropout(dropout_rate, name="embedding_dropout")(x)
    x = layers.Bidirectional(layers.LSTM(lstm_units), name="bilstm")(x)  # [B, 2 * lstm_units]
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(token_ids, outputs, name="classifier")


def build_text_model(vectorizer: layers.TextVectorization, classifier: keras.Model, name: str) -> keras.Model:
    """The model that is saved: raw strings in, probabilities out.

    [B] strings -> [B, num_classes] probabilities
    """
    text = keras.Input(shape=(), dtype="string", name="text")
    token_ids = vectorizer(text)
    return keras.Model(text, classifier(token_ids), name=name)


# ---------------------------------------------------------------------------------------------
# Inference on raw strings, whatever the backend and model family
# ---------------------------------------------------------------------------------------------
def predict_texts(model: keras.Model, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Class probabilities [N, C] for raw strings, from a saved model of either family."""
    texts = np.asarray(texts, dtype=object).astype(str)
    if getattr(model, "preprocessor", None) is not None:  # a keras-hub task: it tokenises itself
        return _predict_length_sorted(model, texts, batch_size)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return np.asarray(model.predict(tf.constant(texts), batch_size=batch_size, verbose=0))
    vectorizer, classifier = model.get_layer("vectorizer"), model.get_layer("classifier")
    token_ids = np.concatenate([
        ops.convert_to_numpy(vectorizer(texts[start:start + batch_size])) for start in range(0, len(texts), batch_size)
    ]) if len(texts) else np.zeros((0, classifier.input_shape[-1]), "int32")
    return np.asarray(classifier.predict(token_ids.astype("int32"), batch_size=batch_size, verbose=0))


def _predict_length_sorted(task: keras.Model, texts: np.ndarray, batch_size: int, chunk: int = 4096) -> np.ndarray:
    """A keras-hub task's probabilities, batching texts of similar token length together and
    trimming each batch to its longest text (``data.trim_batch``, as in training).

    Padding every text to the full sequence length costs several times more on short texts
    (SST-2's phrases: median ~10 tokens of 64), which matters when a teacher labels a whole
    training set. The batches go through ``task.predict`` (one compiled function for every
    length) with the preprocessor set aside, since they are tokenised already.
    """
    import tensorflow as tf

    from applications.nlp.data import trim_batch

    if not len(texts):
        return np.zeros((0, task.output_shape[-1]), dtype=np.float32)
    parts = [task.preprocessor(texts[start:start + chunk]) for start in range(0, len(texts), chunk)]
    features = {key: np.concatenate([ops.convert_to_numpy(part[key]) for part in parts]) for key in parts[0]}
    order = np.argsort(features["padding_mask"].astype(bool).sum(axis=1), kind="stable")
    dataset = (
        tf.data.Dataset.from_tensor_slices({key: value[order] for key, value in features.items()})
        .batch(batch_size)
        .map(lambda batch: trim_batch(batch, None)[0])
    )
    preprocessor, task.preprocessor = task.preprocessor, None
    try:
        sorted_probabilities = task.predict(dataset, verbose=0)
    finally:
        task.preprocessor = preprocessor
    probabilities = np.zeros((len(texts), sorted_probabilities.shape[-1]), dtype=np.float32)
    probabilities[order] = sorted_probabilities
    return probabilities
