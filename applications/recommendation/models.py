"""Rating models (biased matrix factorisation, NeuMF-style network, their blend) and the
two-tower retrieval model, all Functional Keras on ``keras.layers`` / ``keras.ops``.

Rating models learn a residual on top of the fitted (time-aware) bias baseline: the baseline's
biases sit in frozen embedding tables inside the model (the global mean folded into the item
biases), so a saved model maps (user, item, session) to a rating on its own, and training starts
from the baseline's RMSE instead of from the global mean.

The retrieval model is two towers scored by a scaled cosine similarity and trained with an
in-batch softmax (every other positive in the batch is a negative): the candidate tower embeds
an item from its id, genres, title words and release decade; the query tower embeds a user from
the items they rated last (and optionally their id). keras-rs provides the sampling-probability
(logQ) correction and, at evaluation, brute-force top-k (its accidental-hit removal is a no-op in
0.4.0, so :class:`InBatchSoftmaxLogits` masks those itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

PACKAGE = "keras_applied"
# Far below any real logit yet finite, so softmax gives exactly 0 without inf - inf = NaN.
MOST_NEGATIVE_LOGIT = float(np.finfo(np.float32).min) / 100.0


# ---------------------------------------------------------------------------------------------
# Custom layers
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=PACKAGE)
class TableLookup(layers.Layer):
    """Rows of a fixed (non-trainable) table by index: item features stored inside the model.

    ``table`` sets the initial values when the layer is created in code; a loaded model gets them
    from its weights file, so the config only records the table's shape and dtype.
    """

    def __init__(self, num_rows: int, width: int, table_dtype: str = "float32", table=None, **kwargs: Any) -> None:
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.num_rows = int(num_rows)
        self.width = int(width)
        self.table_dtype = table_dtype
        self._initial = None if table is None else np.asarray(table).reshape(self.num_rows, self.width)

    def build(self, input_shape) -> None:
        initial = self._initial
        self.table = self.add_weight(
            shape=(self.num_rows, self.width),
            dtype=self.table_dtype,
            initializer=(lambda shape, dtype=None: ops.convert_to_tensor(initial, dtype=self.table_dtype))
            if initial is not None else "zeros",
            trainable=False,
            name="table",
            autocast=False,
        )
        self._initial = None
        self.built = True

    def call(self, indices):
        return ops.take(self.table, ops.cast(indices, "int32"), axis=0)  # [B, ...] -> [B, ..., width]

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.width)

    def compute_output_spec(self, indices):
        return keras.KerasTensor((*indices.shape, self.width), dtype=self.table_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_rows": self.num_rows, "width": self.width, "table_dtype": self.table_dtype}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMean(layers.Layer):
    """Mean of vectors over the positions whose id is not 0 (padding); zeros where all are padding.

    Inputs: ``[ids [B, L], vectors [B, L, D]]``; output ``[B, D]``.
    """

    def call(self, inputs):
        ids, vectors = inputs
        mask = ops.cast(ops.greater(ids, 0), vectors.dtype)[..., None]  # [B, L, 1]
        total = ops.sum(vectors * mask, axis=1)  # [B, D]
        count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1.0, vectors.dtype))  # [B, 1]
        return total / count

    def compute_output_shape(self, input_shape):
        return (input_shape[1][0], input_shape[1][2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class InBatchSoftmaxLogits(layers.Layer):
    """Scaled similarities of every query with every candidate of the batch: [B, D] x [B, D] -> [B, B].

    Row j's positive is column j. Other columns holding the same item as row j's positive are
    pushed to a huge negative logit (an accidental hit is not a negative), and, with
    ``logq_correction``, each column's logit is lowered by the log of its item's sampling
    probability (keras-rs ``SamplingProbabilityCorrection``), since popular items turn up as
    negatives more often. keras-rs 0.4.0's ``RemoveAccidentalHits`` adds ``smallest_normal / 100``
    (about 1e-40) instead of a large negative number, which leaves the logits unchanged
    (keras-team/keras-rs PR #206), so the masking is done here.

    Inputs: ``[query, candidate, candidate_ids]`` or, with ``logq_correction``, also
    ``candidate_probability`` [B].
    """

    def __init__(self, temperature: float = 0.05, logq_correction: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import keras_rs

        self.temperature = float(temperature)
        self.logq_correction = bool(logq_correction)
        self.probability_correction = keras_rs.layers.SamplingProbabilityCorrection()

    def build(self, input_shape) -> None:
        self.probability_correction.build(None)
        self.built = True

    def call(self, inputs):
        query, candidate, candidate_ids = inputs[:3]
        query = ops.cast(query, "float32")
        candidate = ops.cast(candidate, "float32")
        logits = ops.matmul(query, ops.transpose(candidate)) / self.temperature  # [B, B]
        if self.logq_correction:
            probability = ops.cast(ops.reshape(inputs[3], (1, -1)), "float32")  # [1, B]
            logits = self.probability_correction(logits, ops.broadcast_to(probability, ops.shape(logits)))
        ids = ops.reshape(candidate_ids, (-1,))
        same_item = ops.equal(ids[:, None], ids[None, :])  # [B, B]
        accidental = ops.logical_and(same_item, ops.logical_not(ops.cast(ops.eye(ops.shape(logits)[0]), "bool")))
        return ops.where(accidental, ops.full_like(logits, MOST_NEGATIVE_LOGIT), logits)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature, "logq_correction": self.logq_correction}


@keras.saving.register_keras_serializable(package=PACKAGE)
def in_batch_softmax_loss(y_true, logits):
    """Softmax cross-entropy of [B, B] logits whose positives are on the diagonal (y_true unused)."""
    labels = ops.eye(ops.shape(logits)[0], dtype=logits.dtype)
    return keras.losses.categorical_crossentropy(labels, logits, from_logits=True)


# ---------------------------------------------------------------------------------------------
# Rating models
# ---------------------------------------------------------------------------------------------
def _rating_inputs() -> dict[str, keras.KerasTensor]:
    """user, item and session indices (session 0: unknown, e.g. a rating made today)."""
    return {
        "user": keras.Input((), dtype="int32", name="user"),
        "item": keras.Input((), dtype="int32", name="item"),
        "session": keras.Input((), dtype="int32", name="session"),
    }


def _frozen_bias(count: int, name: str) -> layers.Embedding:
    return layers.Embedding(count, 1, embeddings_initializer="zeros", trainable=False, dtype="float32", name=name)


def _baseline(inputs, num_users: int, num_items: int, num_sessions: int) -> keras.KerasTensor:
    """mu + b_u + b_i + b_session from frozen float32 tables (filled by :func:`set_baseline`): [B, 1]."""
    return layers.Add(dtype="float32", name="baseline")([
        _frozen_bias(num_users, "baseline_user_bias")(inputs["user"]),
        _frozen_bias(num_items, "baseline_item_bias")(inputs["item"]),
        _frozen_bias(num_sessions + 1, "baseline_session_bias")(inputs["session"]),
    ])


def set_baseline(model: keras.Model, bias_model) -> None:
    """Fill the frozen baseline tables of a rating model from a fitted ``baselines.BiasModel``
    (the global mean goes into the item biases; a model without sessions gets zeros)."""
    model.get_layer("baseline_user_bias").set_weights([np.asarray(bias_model.user_bias, np.float32).reshape(-1, 1)])
    items = np.asarray(bias_model.item_bias, np.float32) + np.float32(bias_model.global_mean)
    model.get_layer("baseline_item_bias").set_weights([items.reshape(-1, 1)])
    table = model.get_layer("baseline_session_bias")
    sessions = np.zeros(table.input_dim, np.float32)
    if bias_model.session_bias is not None:
        sessions[: len(bias_model.session_bias)] = bias_model.session_bias
    table.set_weights([sessions.reshape(-1, 1)])


def _embedding(count: int, dim: int, l2: float, name: str, stddev: float = 0.01) -> layers.Embedding:
    return layers.Embedding(
        count, dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=stddev),
        embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None, name=name,
    )


def _learned_biases(inputs, num_users: int, num_items: int, l2: float):
    regularizer = keras.regularizers.L2(l2) if l2 else None
    user = layers.Embedding(num_users, 1, embeddings_initializer="zeros", embeddings_regularizer=regularizer, dtype="float32", name="user_bias")
    item = layers.Embedding(num_items, 1, embeddings_initializer="zeros", embeddings_regularizer=regularizer, dtype="float32", name="item_bias")
    return user(inputs["user"]), item(inputs["item"])  # [B, 1] each


def build_matrix_factorization(
    *, num_users: int, num_items: int, num_sessions: int = 0, embedding_dim: int = 64, embedding_l2: float = 1e-4,
    name: str = "matrix_factorization",
) -> keras.Model:
    """rating = mu + b_u + b_i + b_session (frozen baseline) + b'_u + b'_i + p_u . q_i.

    ``num_sessions``: rating sessions with a baseline bias (0: none). The output is not clipped
    to the rating scale (clipping happens where ratings are reported), so scores above the
    top of the scale still rank items."""
    inputs = _rating_inputs()
    baseline = _baseline(inputs, num_users, num_items, num_sessions)
    user_factors = _embedding(num_users, embedding_dim, embedding_l2, "user_factors")(inputs["user"])  # [B, D]
    item_factors = _embedding(num_items, embedding_dim, embedding_l2, "item_factors")(inputs["item"])  # [B, D]
    interaction = layers.Dot(axes=-1, dtype="float32", name="factor_dot")([user_factors, item_factors])  # [B, 1]
    user_bias, item_bias = _learned_biases(inputs, num_users, num_items, embedding_l2)
    rating = layers.Add(dtype="float32", name="rating")([baseline, user_bias, item_bias, interaction])  # [B, 1]
    return keras.Model(inputs, rating, name=name)


def build_neumf(
    *, num_users: int, num_items: int, num_sessions: int = 0, embedding_dim: int = 64, mlp_widths: Sequence[int] = (64, 32),
    embedding_l2: float = 1e-4, dropout_rate: float = 0.2, name: str = "neumf",
) -> keras.Model:
    """NeuMF (He et al. 2017) for ratings: a GMF branch (p_u * q_i) and an MLP branch on separate
    user/item embeddings, fused by a linear layer, plus learned biases, on top of the frozen baseline."""
    inputs = _rating_inputs()
    baseline = _baseline(inputs, num_users, num_items, num_sessions)
    user_factors = _embedding(num_users, embedding_dim, embedding_l2, "user_factors")(inputs["user"])  # [B, D]
    item_factors = _embedding(num_items, embedding_dim, embedding_l2, "item_factors")(inputs["item"])  # [B, D]
    gmf = layers.Multiply(name="gmf")([user_factors, item_factors])  # [B, D]
    mlp_dim = max(mlp_widths[0] // 2, 1)
    hidden = layers.Concatenate(name="mlp_input")([
        _embedding(num_users, mlp_dim, embedding_l2, "user_mlp_embedding")(inputs["user"]),
        _embedding(num_items, mlp_dim, embedding_l2, "item_mlp_embedding")(inputs["item"]),
    ])  # [B, 2 * mlp_dim]
    for index, width in enumerate(mlp_widths):
        hidden = layers.Dense(width, activation="relu", kernel_regularizer=keras.regularizers.L2(embedding_l2) if embedding_l2 else None,
                              name=f"mlp_{index + 1}")(hidden)
        hidden = layers.Dropout(dropout_rate, name=f"mlp_dropout_{index + 1}")(hidden)
    # The fusion starts as GMF's plain dot product (NeuMF reaches that by pretraining GMF); a
    # zero-initialised linear layer on [GMF, MLP] learns what the MLP adds, so training starts
    # exactly at the baseline's predictions and small factors still get gradients.
    dot = layers.Dot(axes=-1, dtype="float32", name="factor_dot")([user_factors, item_factors])  # [B, 1]
    fused = layers.Concatenate(name="fusion")([gmf, hidden])  # [B, D + last width]
    correction = layers.Dense(1, kernel_initializer="zeros", dtype="float32", name="fusion_output")(fused)  # [B, 1]
    interaction = layers.Add(dtype="float32", name="interaction")([dot, correction])
    user_bias, item_bias = _learned_biases(inputs, num_users, num_items, embedding_l2)
    rating = layers.Add(dtype="float32", name="rating")([baseline, user_bias, item_bias, interaction])  # [B, 1]
    return keras.Model(inputs, rating, name=name)


def build_blend(members: Sequence[keras.Model], weights: Sequence[float]) -> keras.Model:
    """A weighted average of rating models (weights fitted on validation), as one saved model."""
    inputs = _rating_inputs()
    scaled = [
        layers.Rescaling(float(weight), dtype="float32", name=f"weight_{member.name}")(member(inputs))
        for member, weight in zip(members, weights)
    ]
    blended = layers.Add(dtype="float32", name="rating")(scaled) if len(scaled) > 1 else scaled[0]
    return keras.Model(inputs, blended, name="blend_" + "_".join(m.name for m in members))


# ---------------------------------------------------------------------------------------------
# Retrieval: two towers
# ---------------------------------------------------------------------------------------------
def _dense_stack(x, widths: Sequence[int], output_dim: int, dropout_rate: float, prefix: str):
    for index, width in enumerate(widths):
        x = layers.Dense(width, activation="relu", name=f"{prefix}_dense_{index + 1}")(x)
        if dropout_rate:
            x = layers.Dropout(dropout_rate, name=f"{prefix}_dropout_{index + 1}")(x)
    x = layers.Dense(output_dim, name=f"{prefix}_projection")(x)
    return layers.UnitNormalization(dtype="float32", name=f"{prefix}_normalize")(x)  # [B, output_dim], unit length


def build_candidate_tower(
    *, num_items: int, genres: np.ndarray, title_tokens: np.ndarray, year_buckets: np.ndarray,
    vocabulary_size: int, num_year_buckets: int, embedding_dim: int = 64, widths: Sequence[int] = (64,),
    embedding_l2: float = 0.0, dropout_rate: float = 0.0,
) -> keras.Model:
    """Item index -> unit-length embedding from the item's id, genres, title words and decade.

    The feature tables live inside the tower (frozen :class:`TableLookup` layers), so the saved
    tower embeds any catalogue item from its index alone.
    """
    item = keras.Input((), dtype="int32", name="item")
    id_embedding = _embedding(num_items, embedding_dim, embedding_l2, "candidate_id_embedding", stddev=0.05)(item)  # [B, D]
    genre_vector = TableLookup(num_items, genres.shape[1], "float32", genres, name="genre_table")(item)  # [B, G]
    genre_embedding = layers.Dense(embedding_dim, use_bias=False, name="genre_embedding")(genre_vector)  # [B, D]
    tokens = TableLookup(num_items, title_tokens.shape[1], "int32", title_tokens, name="title_token_table")(item)  # [B, T]
    token_vectors = layers.Embedding(vocabulary_size, embedding_dim, name="title_token_embedding")(tokens)  # [B, T, D]
    title_embedding = MaskedMean(name="title_mean")([tokens, token_vectors])  # [B, D]
    year = TableLookup(num_items, 1, "int32", year_buckets.reshape(-1, 1), name="year_table")(item)  # [B, 1]
    year_embedding = layers.Flatten(name="year_flatten")(layers.Embedding(num_year_buckets, embedding_dim, name="year_embedding")(year))  # [B, D]
    features = layers.Concatenate(name="candidate_features")([id_embedding, genre_embedding, title_embedding, year_embedding])  # [B, 4D]
    outputs = _dense_stack(features, widths, embedding_dim, dropout_rate, "candidate")
    return keras.Model(item, outputs, name="candidate_tower")


def build_query_tower(
    *, num_users: int, num_items: int, history_length: int, embedding_dim: int = 64, widths: Sequence[int] = (64,),
    use_user_id: bool = False, embedding_l2: float = 0.0, dropout_rate: float = 0.0,
) -> keras.Model:
    """(user index, recent items) -> unit-length embedding.

    ``history``: int32 [B, history_length], item index + 1, most recent first, 0 = padding. The
    user is described by the mean embedding of those items and, separately, of the latest three
    (recent taste moves faster than the long-run average).
    """
    user = keras.Input((), dtype="int32", name="user")
    history = keras.Input((history_length,), dtype="int32", name="history")
    item_vectors = _embedding(num_items + 1, embedding_dim, embedding_l2, "history_item_embedding", stddev=0.05)(history)  # [B, H, D]
    parts = [MaskedMean(name="history_mean")([history, item_vectors])]  # [B, D]
    recent = min(3, history_length)
    parts.append(MaskedMean(name="recent_mean")([history[:, :recent], item_vectors[:, :recent]]))  # [B, D]
    if use_user_id:
        parts.append(_embedding(num_users, embedding_dim, embedding_l2, "user_id_embedding", stddev=0.05)(user))
    features = layers.Concatenate(name="query_features")(parts)  # [B, kD]
    outputs = _dense_stack(features, widths, embedding_dim, dropout_rate, "query")
    return keras.Model({"user": user, "history": history}, outputs, name="query_tower")


def build_two_tower(
    *, query_tower: keras.Model, candidate_tower: keras.Model, item_probability: np.ndarray,
    temperature: float = 0.05, logq_correction: bool = True,
) -> keras.Model:
    """The training model: {user, history, item} -> in-batch logits [B, B] (positives on the diagonal)."""
    history_length = query_tower.input["history"].shape[1]
    inputs = {
        "user": keras.Input((), dtype="int32", name="user"),
        "history": keras.Input((history_length,), dtype="int32", name="history"),
        "item": keras.Input((), dtype="int32", name="item"),
    }
    query = query_tower({"user": inputs["user"], "history": inputs["history"]})  # [B, D]
    candidate = candidate_tower(inputs["item"])  # [B, D]
    logits_layer = InBatchSoftmaxLogits(temperature, logq_correction, dtype="float32", name="in_batch_logits")
    if logq_correction:
        probability = TableLookup(len(item_probability), 1, "float32", np.asarray(item_probability).reshape(-1, 1),
                                  name="item_probability_table")(inputs["item"])  # [B, 1]
        logits = logits_layer([query, candidate, inputs["item"], probability])
    else:
        logits = logits_layer([query, candidate, inputs["item"]])
    return keras.Model(inputs, logits, name="two_tower")


# ---------------------------------------------------------------------------------------------
# Reading a trained model
# ---------------------------------------------------------------------------------------------
def find_layer(model: keras.Model, name: str) -> layers.Layer | None:
    """The first layer called ``name`` in ``model`` or any model nested in it."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            found = find_layer(layer, name)
            if found is not None:
                return found
    return None


def item_embeddings(model: keras.Model, num_items: int, batch_size: int = 4096, predict_fn=None) -> np.ndarray:
    """[num_items, D] item vectors: a retrieval model's candidate-tower outputs, or a rating
    model's item factors (of its first member, for a blend). ``predict_fn(tower, ids)`` replaces
    ``tower.predict`` (e.g. to predict under a distribution strategy)."""
    tower = find_layer(model, "candidate_tower")
    if tower is not None:
        ids = np.arange(num_items, dtype=np.int32)
        if predict_fn is not None:
            return np.asarray(predict_fn(tower, ids))
        return np.asarray(tower.predict(ids, batch_size=batch_size, verbose=0))
    factors = find_layer(model, "item_factors")
    if factors is None:
        raise ValueError(f"Model {model.name!r} has neither a candidate tower nor item factors.")
    return np.asarray(keras.ops.convert_to_numpy(factors.embeddings), dtype=np.float32)
