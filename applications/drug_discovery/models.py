"""Molecular property models: a message-passing neural network and a fingerprint MLP.

Written with keras.layers and keras.ops only, so they run on TensorFlow, JAX and PyTorch. The
graph layers are written by hand because no maintained Keras 3 graph library exists (TF-GNN and
Spektral target Keras 2 / tf.keras only).

Inputs are padded graphs (see ``featurize.pad_graphs``):

- ``atom_features``    float [B, N, ATOM_FEATURES]: all-zero rows are padding atoms;
- ``neighbor_indices`` int   [B, N, D]: for each atom, the indices of its bonded atoms;
- ``bond_features``    float [B, N, D, BOND_FEATURES]: all-zero where a neighbour slot is padding;
- ``global_features``  float [B, G] (optional): whole-molecule RDKit descriptors.

Models output one raw score per task, ``[B, tasks]`` in float32: a standardised value for
regression, a logit for classification. :func:`build_ensemble` wraps trained members into the
model that is saved: it turns scores back into target units (or probabilities) and stacks the
members, ``[B, members, tasks]``, so a prediction carries its ensemble spread.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

PACKAGE = "keras_applied"


# ---------------------------------------------------------------------------------------------
# Graph layers
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=PACKAGE)
class AtomMask(layers.Layer):
    """[B, N, F] atom features -> [B, N] mask: 1 for a real atom, 0 for padding (an all-zero row)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, atom_features):
        return ops.cast(ops.max(ops.abs(atom_features), axis=-1) > 0, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])


def gather_neighbors(states, neighbor_indices):
    """[B, N, H] atom states, [B, N, D] indices -> [B, N, D, H] the states of each atom's neighbours.

    The batch is flattened to [B * N, H] and indices are offset per molecule, so one ``take``
    serves every backend.
    """
    shape = ops.shape(neighbor_indices)
    batch, atoms, degree = shape[0], shape[1], shape[2]
    units = states.shape[-1]
    offsets = ops.reshape(ops.arange(batch, dtype="int32") * ops.cast(atoms, "int32"), (-1, 1, 1))
    flat_indices = ops.reshape(ops.cast(neighbor_indices, "int32") + offsets, (-1,))
    gathered = ops.take(ops.reshape(states, (-1, units)), flat_indices, axis=0)
    return ops.reshape(gathered, (batch, atoms, degree, units))


@keras.saving.register_keras_serializable(package=PACKAGE)
class EdgeConditionedMessagePassing(layers.Layer):
    """``steps`` rounds of message passing with shared weights and a GRU update (Gilmer et al. 2017).

    Message from neighbour w to atom v over bond e_vw (edge-conditioned: the bond sets a
    per-channel filter on the neighbour's state, a diagonal form of Gilmer's edge network that
    costs ``units`` times less, plus a bond-specific term)::

        m_vw = relu(sigmoid(G e_vw + g) * (W h_w) + E e_vw + b)
        m_v  = U (sum_w m_vw) + c
        h_v  = GRU(m_v, h_v)

    Inputs: ``[atom_states [B, N, units], neighbor_indices [B, N, D], bond_features [B, N, D, Fb],
    atom_mask [B, N]]``. Output: atom states [B, N, units], zero on padding atoms.
    """

    def __init__(self, units: int, steps: int = 3, dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if units < 1 or steps < 1:
            raise ValueError(f"units and steps must be >= 1; received units={units}, steps={steps}.")
        self.units = int(units)
        self.steps = int(steps)
        self.dropout_rate = float(dropout_rate)
        # The sublayer shares this layer's dtype policy, also when loaded under another global one.
        self.dropout = layers.Dropout(dropout_rate, dtype=self.dtype_policy)

    def build(self, input_shape):
        states_shape, _, bond_shape, _ = input_shape
        if states_shape[-1] != self.units:
            raise ValueError(
                f"EdgeConditionedMessagePassing expects atom states of width units={self.units}; "
                f"received shape {tuple(states_shape)}."
            )
        bond_width = bond_shape[-1]
        units = self.units
        glorot, zeros = "glorot_uniform", "zeros"
        self.neighbor_kernel = self.add_weight(shape=(units, units), initializer=glorot, name="neighbor_kernel")
        self.gate_kernel = self.add_weight(shape=(bond_width, units), initializer=glorot, name="gate_kernel")
        self.gate_bias = self.add_weight(shape=(units,), initializer="ones", name="gate_bias")
        self.bond_kernel = self.add_weight(shape=(bond_width, units), initializer=glorot, name="bond_kernel")
        self.message_bias = self.add_weight(shape=(units,), initializer=zeros, name="message_bias")
        self.aggregate_kernel = self.add_weight(shape=(units, units), initializer=glorot, name="aggregate_kernel")
        self.aggregate_bias = self.add_weight(shape=(units,), initializer=zeros, name="aggregate_bias")
        # GRU weights in Keras' layout: [update | reset | candidate], reset applied after the matmul.
        self.gru_kernel = self.add_weight(shape=(units, 3 * units), initializer=glorot, name="gru_kernel")
        self.gru_recurrent_kernel = self.add_weight(
            shape=(units, 3 * units), initializer="orthogonal", name="gru_recurrent_kernel"
        )
        self.gru_bias = self.add_weight(shape=(3 * units,), initializer=zeros, name="gru_bias")
        self.gru_recurrent_bias = self.add_weight(shape=(3 * units,), initializer=zeros, name="gru_recurrent_bias")

    def call(self, inputs, training=None):
        states, neighbor_indices, bond_features, atom_mask = inputs
        atom_mask = ops.cast(atom_mask, states.dtype)[..., None]  # [B, N, 1]
        # A neighbour slot is real when its bond has a bond type (one slot of the one-hot is set).
        neighbor_mask = ops.cast(ops.max(ops.abs(bond_features), axis=-1) > 0, states.dtype)[..., None]  # [B, N, D, 1]
        # Bond terms are the same in every step: compute them once.
        gate = ops.sigmoid(ops.matmul(bond_features, self.gate_kernel) + self.gate_bias)  # [B, N, D, H]
        bond_term = ops.matmul(bond_features, self.bond_kernel) + self.message_bias  # [B, N, D, H]
        states = states * atom_mask
        units = self.units
        for _ in range(self.steps):
            projected = ops.matmul(states, self.neighbor_kernel)  # [B, N, H]
            neighbors = gather_neighbors(projected, neighbor_indices)  # [B, N, D, H]
            messages = ops.relu(gate * neighbors + bond_term) * neighbor_mask
            message = ops.matmul(ops.sum(messages, axis=2), self.aggregate_kernel) + self.aggregate_bias  # [B, N, H]
            message = self.dropout(message, training=training)
            x = ops.matmul(message, self.gru_kernel) + self.gru_bias  # [B, N, 3H]
            h = ops.matmul(states, self.gru_recurrent_kernel) + self.gru_recurrent_bias
            update = ops.sigmoid(x[..., :units] + h[..., :units])
            reset = ops.sigmoid(x[..., units : 2 * units] + h[..., units : 2 * units])
            candidate = ops.tanh(x[..., 2 * units :] + reset * h[..., 2 * units :])
            states = (update * states + (1.0 - update) * candidate) * atom_mask
        return states

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "steps": self.steps, "dropout_rate": self.dropout_rate}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionPooling(layers.Layer):
    """Multi-head attention readout: a softmax over each molecule's atoms per head.

    score_vk = w_k . tanh(A h_v + a); alpha = softmax over real atoms; out_k = sum_v alpha_vk h_v.
    Inputs ``[atom_states [B, N, H], atom_mask [B, N]]`` -> [B, heads * H]. The softmax runs in
    float32 under mixed precision.
    """

    def __init__(self, heads: int = 4, attention_units: int = 64, **kwargs):
        super().__init__(**kwargs)
        if heads < 1 or attention_units < 1:
            raise ValueError(f"heads and attention_units must be >= 1; received {heads}, {attention_units}.")
        self.heads = int(heads)
        self.attention_units = int(attention_units)

    def build(self, input_shape):
        width = input_shape[0][-1]
        self.hidden_kernel = self.add_weight(shape=(width, self.attention_units), initializer="glorot_uniform", name="hidden_kernel")
        self.hidden_bias = self.add_weight(shape=(self.attention_units,), initializer="zeros", name="hidden_bias")
        self.score_kernel = self.add_weight(shape=(self.attention_units, self.heads), initializer="glorot_uniform", name="score_kernel")

    def call(self, inputs):
        states, atom_mask = inputs
        scores = ops.matmul(ops.tanh(ops.matmul(states, self.hidden_kernel) + self.hidden_bias), self.score_kernel)
        scores = ops.cast(scores, "float32")  # [B, N, heads]
        mask = ops.cast(atom_mask, "float32")[..., None]
        scores = scores * mask - 1e9 * (1.0 - mask)
        weights = ops.softmax(scores, axis=1) * mask  # [B, N, heads]; all-padding rows stay zero
        pooled = ops.einsum("bnk,bnh->bkh", ops.cast(weights, states.dtype), states)  # [B, heads, H]
        return ops.reshape(pooled, (-1, self.heads * states.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.heads * input_shape[0][-1])

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "attention_units": self.attention_units}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedSumPooling(layers.Layer):
    """Sum of real atoms' states: [B, N, H], [B, N] -> [B, H]. Extensive (grows with molecule
    size), which attention's weighted mean is not."""

    def call(self, inputs):
        states, atom_mask = inputs
        return ops.sum(states * ops.cast(atom_mask, states.dtype)[..., None], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class TargetScaling(layers.Layer):
    """Standardised scores back to target units: ``x * scale + offset`` per task (constants)."""

    def __init__(self, offset: Sequence[float], scale: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.offset = [float(v) for v in np.ravel(offset)]
        self.scale = [float(v) for v in np.ravel(scale)]
        if len(self.offset) != len(self.scale):
            raise ValueError(f"offset and scale need one value per task; received {len(self.offset)} and {len(self.scale)}.")

    def call(self, inputs):
        offset = ops.convert_to_tensor(self.offset, dtype=inputs.dtype)
        scale = ops.convert_to_tensor(self.scale, dtype=inputs.dtype)
        return inputs * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "scale": self.scale}


# ---------------------------------------------------------------------------------------------
# Losses with missing labels (NaN) masked out: Tox21-style multitask data
# ---------------------------------------------------------------------------------------------
def _masked_mean(values, mask):
    """Per-example values such that their batch mean is sum(values * mask) / sum(mask)."""
    batch = ops.cast(ops.shape(values)[0], values.dtype)
    total = ops.maximum(ops.sum(mask), 1.0)
    return ops.sum(values * mask, axis=-1) * batch / total


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMeanSquaredError(keras.losses.Loss):
    """Mean squared error over the labels present; NaN labels contribute nothing."""

    def __init__(self, name: str = "masked_mse", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        mask = ops.cast(ops.logical_not(ops.isnan(y_true)), "float32")
        y_true = ops.where(mask > 0, y_true, 0.0)
        return _masked_mean(ops.square(y_pred - y_true), mask)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy on logits over the labels present; NaN labels contribute nothing."""

    def __init__(self, name: str = "masked_bce", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        mask = ops.cast(ops.logical_not(ops.isnan(y_true)), "float32")
        y_true = ops.where(mask > 0, y_true, 0.0)
        # Stable form of -y log(sigmoid(x)) - (1 - y) log(1 - sigmoid(x)).
        losses = ops.relu(logits) - logits * y_true + ops.log1p(ops.exp(-ops.abs(logits)))
        return _masked_mean(losses, mask)


def loss_for(task_type: str) -> keras.losses.Loss:
    if task_type == "regression":
        return MaskedMeanSquaredError()
    if task_type == "classification":
        return MaskedBinaryCrossentropy()
    raise ValueError(f"task_type must be 'regression' or 'classification'; received {task_type!r}.")


# ---------------------------------------------------------------------------------------------
# Model builders
# ---------------------------------------------------------------------------------------------
def _global_input(num_global_features: int, mean, variance):
    """The optional global-features input, standardised inside the model with training statistics."""
    if not num_global_features:
        return None, None
    inputs = keras.Input(shape=(num_global_features,), name="global_features")
    mean = np.zeros(num_global_features) if mean is None else np.asarray(mean)
    variance = np.ones(num_global_features) if variance is None else np.asarray(variance)
    normalized = layers.Normalization(mean=mean, variance=np.maximum(variance, 1e-6), name="global_normalization")(inputs)
    return inputs, normalized


def _head(x, num_tasks: int, units: Sequence[int], dropout_rate: float):
    for i, width in enumerate(units):
        x = layers.Dense(width, activation="relu", name=f"head_dense_{i + 1}")(x)
        x = layers.Dropout(dropout_rate, name=f"head_dropout_{i + 1}")(x)
    return layers.Dense(num_tasks, dtype="float32", name="scores")(x)


def build_mpnn(
    *,
    num_tasks: int,
    atom_feature_size: int,
    bond_feature_size: int,
    num_global_features: int = 0,
    global_mean=None,
    global_variance=None,
    hidden_units: int = 128,
    message_steps: int = 3,
    attention_heads: int = 4,
    head_units: Sequence[int] = (256, 128),
    dropout_rate: float = 0.1,
    name: str = "mpnn",
) -> keras.Model:
    """Message-passing neural network: atom embedding, edge-conditioned message passing with GRU
    updates, attention + sum readout, optional global descriptors, MLP head.

    padded graphs (+ [B, G] descriptors) -> [B, num_tasks] float32 scores
    """
    atom_features = keras.Input(shape=(None, atom_feature_size), name="atom_features")
    neighbor_indices = keras.Input(shape=(None, None), dtype="int32", name="neighbor_indices")
    bond_features = keras.Input(shape=(None, None, bond_feature_size), name="bond_features")
    inputs = {"atom_features": atom_features, "neighbor_indices": neighbor_indices, "bond_features": bond_features}
    atom_mask = AtomMask(name="atom_mask")(atom_features)  # [B, N]
    states = layers.Dense(hidden_units, activation="relu", name="atom_embedding")(atom_features)  # [B, N, H]
    states = EdgeConditionedMessagePassing(hidden_units, message_steps, dropout_rate, name="message_passing")(
        [states, neighbor_indices, bond_features, atom_mask]
    )
    attention = AttentionPooling(attention_heads, attention_units=hidden_units, name="attention_readout")([states, atom_mask])
    total = MaskedSumPooling(name="sum_readout")([states, atom_mask])
    readout = [attention, total]  # [B, heads * H], [B, H]
    global_inputs, normalized = _global_input(num_global_features, global_mean, global_variance)
    if global_inputs is not None:
        inputs["global_features"] = global_inputs
        readout.append(normalized)
    x = layers.Concatenate(name="readout")(readout)
    outputs = _head(x, num_tasks, head_units, dropout_rate)
    return keras.Model(inputs, outputs, name=name)


def build_fingerprint_mlp(
    *,
    num_tasks: int,
    fingerprint_size: int = 2048,
    num_global_features: int = 0,
    global_mean=None,
    global_variance=None,
    hidden_units: Sequence[int] = (512, 256),
    dropout_rate: float = 0.2,
    name: str = "fingerprint_mlp",
) -> keras.Model:
    """Feed-forward network on Morgan fingerprint bits (+ descriptors).

    [B, fingerprint_size] (+ [B, G]) -> [B, num_tasks] float32 scores
    """
    fingerprint = keras.Input(shape=(fingerprint_size,), name="fingerprint")
    inputs = {"fingerprint": fingerprint}
    x = layers.Dropout(dropout_rate / 2, name="input_dropout")(fingerprint)
    global_inputs, normalized = _global_input(num_global_features, global_mean, global_variance)
    if global_inputs is not None:
        inputs["global_features"] = global_inputs
        x = layers.Concatenate(name="features")([x, normalized])
    outputs = _head(x, num_tasks, hidden_units, dropout_rate)
    return keras.Model(inputs, outputs, name=name)


def build_ensemble(
    members: Sequence[keras.Model], *, task_type: str, target_offset=None, target_scale=None
) -> keras.Model:
    """The saved model: every member's scores in target units, stacked.

    inputs -> [B, members, tasks]: target values (regression, ``x * scale + offset``) or
    probabilities (classification). The mean over axis 1 is the prediction, the standard
    deviation its ensemble spread.
    """
    if not members:
        raise ValueError("build_ensemble needs at least one member model.")
    if not isinstance(members[0].input, dict):
        raise ValueError("build_ensemble expects members built with named (dict) inputs.")
    inputs = {
        key: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=key)
        for key, tensor in members[0].input.items()
    }
    num_tasks = members[0].output.shape[-1]
    stacked = []
    for i, member in enumerate(members):
        scores = member(inputs)  # [B, tasks]
        if task_type == "regression":
            values = TargetScaling(target_offset, target_scale, dtype="float32", name=f"to_target_units_{i}")(scores)
        else:
            values = layers.Activation("sigmoid", dtype="float32", name=f"probability_{i}")(scores)
        stacked.append(layers.Reshape((1, num_tasks), dtype="float32", name=f"stacked_{i}")(values))
    outputs = stacked[0] if len(stacked) == 1 else layers.Concatenate(axis=1, dtype="float32", name="members")(stacked)
    return keras.Model(inputs, outputs, name="ensemble")
