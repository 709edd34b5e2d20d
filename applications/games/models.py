"""The policy-value network, built with the Functional API and keras.layers only (any backend).

Two inputs: ``board`` planes ``[B, H, W, 3]`` (the mover's pieces, the opponent's, ones) and
``legal`` ``[B, A]`` (1 where OpenSpiel allows the action). Two outputs: ``policy`` ``[B, A]``,
a softmax over the legal actions only (illegal ones get exactly 0), and ``value`` ``[B, 1]``, the
expected outcome for the player to move in [-1, 1] (tanh). Both output layers compute in float32.
"""

from __future__ import annotations

import keras
from keras import layers, ops

BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="keras_applied")
class LegalMoveSoftmax(layers.Layer):
    """Softmax over the actions whose mask is 1; masked actions get probability 0.

    ``[B, A]`` logits, ``[B, A]`` mask (0/1) -> ``[B, A]`` probabilities. Computed in float32 so
    the large negative fill stays finite under mixed precision.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, logits, mask):
        logits = ops.cast(logits, "float32")
        mask = ops.cast(mask, "float32")
        # Shift by the largest legal logit, then zero the illegal exponentials exactly.
        masked = ops.where(mask > 0, logits, ops.full_like(logits, -1e9))
        shifted = masked - ops.max(masked, axis=-1, keepdims=True)
        exponentials = ops.exp(shifted) * mask
        return exponentials / ops.maximum(ops.sum(exponentials, axis=-1, keepdims=True), 1e-12)

    def compute_output_shape(self, logits_shape, mask_shape=None):
        return logits_shape


def residual_block(x, filters: int, name: str):
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU (the AlphaZero block). [B, H, W, F] -> same."""
    shortcut = x
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn2")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.ReLU(name=f"{name}_relu2")(x)


def build_policy_value_net(
    *,
    board_shape: tuple[int, int, int],
    num_actions: int,
    filters: int = 64,
    blocks: int = 4,
    value_hidden: int = 64,
    l2: float = 1e-4,
    name: str = "policy_value_net",
) -> keras.Model:
    """Residual tower over the board planes with a policy head and a value head.

    [B, H, W, C] board, [B, A] legal -> {"policy": [B, A], "value": [B, 1]}
    """
    regularizer = keras.regularizers.L2(l2) if l2 else None
    board = keras.Input(shape=tuple(board_shape), name="board")
    legal = keras.Input(shape=(num_actions,), name="legal")
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizer, name="stem_conv")(board)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for block in range(blocks):
        x = residual_block(x, filters, name=f"block{block + 1}")  # [B, H, W, filters]

    # Policy head: 1x1 conv to 2 planes, flatten, one logit per action, softmax over legal ones.
    p = layers.Conv2D(2, 1, use_bias=False, name="policy_conv")(x)
    p = layers.BatchNormalization(momentum=BN_MOMENTUM, name="policy_bn")(p)
    p = layers.ReLU(name="policy_relu")(p)
    p = layers.Flatten(name="policy_flatten")(p)  # [B, H * W * 2]
    logits = layers.Dense(num_actions, kernel_regularizer=regularizer, dtype="float32", name="policy_logits")(p)
    policy = LegalMoveSoftmax(name="policy")(logits, legal)

    # Value head: 1x1 conv to 1 plane, flatten, hidden layer, tanh.
    v = layers.Conv2D(1, 1, use_bias=False, name="value_conv")(x)
    v = layers.BatchNormalization(momentum=BN_MOMENTUM, name="value_bn")(v)
    v = layers.ReLU(name="value_relu")(v)
    v = layers.Flatten(name="value_flatten")(v)  # [B, H * W]
    v = layers.Dense(value_hidden, activation="relu", kernel_regularizer=regularizer, name="value_hidden")(v)
    value = layers.Dense(1, activation="tanh", dtype="float32", name="value")(v)
    return keras.Model({"board": board, "legal": legal}, {"policy": policy, "value": value}, name=name)


def compile_model(model: keras.Model, *, learning_rate: float, value_loss_weight: float = 1.0) -> None:
    """Cross-entropy against the search's visit distribution plus squared error on the outcome."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss={"policy": keras.losses.CategoricalCrossentropy(), "value": keras.losses.MeanSquaredError()},
        loss_weights={"policy": 1.0, "value": value_loss_weight},
    )
