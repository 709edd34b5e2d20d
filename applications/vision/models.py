"""Image classifiers, built with the Functional API and keras.layers only (any backend).

Both builders take raw pixel values (0..255, any float dtype) and rescale inside the model, so a
saved model needs no preprocessing outside it. The output layer computes in float32 under any
mixed-precision policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from applications.vision import efficientnet_lite

# Moving statistics settle within ~50 steps instead of keras' default ~500 (momentum 0.99), so
# small datasets (the 1,437 training digits are 23 steps an epoch) evaluate well early.
BN_MOMENTUM = 0.9


def residual_block(x, filters: int, stride: int, name: str):
    """Pre-activation residual block (He et al. 2016): BN-ReLU-conv3x3-BN-ReLU-conv3x3 + shortcut.

    [B, H, W, C] -> [B, H / stride, W / stride, filters]
    """
    shortcut = x
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    if stride != 1 or shortcut.shape[-1] != filters:
        # Project the shortcut from the pre-activated tensor, as in the pre-activation ResNet.
        shortcut = layers.Conv2D(
            filters, 1, strides=stride, use_bias=False, name=f"{name}_proj"
        )(x)
    x = layers.Conv2D(
        filters, 3, strides=stride, padding="same", use_bias=False,
        name=f"{name}_conv1",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn2")(x)
    x = layers.ReLU(name=f"{name}_relu2")(x)
    x = layers.Conv2D(
        filters, 3, padding="same", use_bias=False, name=f"{name}_conv2"
    )(x)
    return layers.Add(name=f"{name}_add")([shortcut, x])


def build_residual_cnn(
    *,
    input_shape: Sequence[int],
    num_classes: int,
    widths: Sequence[int] = (32, 64, 128),
    blocks_per_stage: int = 1,
    dropout_rate: float = 0.2,
) -> keras.Model:
    """A small pre-activation ResNet: stem conv, one stage per width (stride 2 after the first),
    global average pooling, dropout, softmax.

    [B, H, W, C] raw pixels -> [B, num_classes] probabilities
    """
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(x)
    for stage, filters in enumerate(widths):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = residual_block(x, filters, stride, name=f"stage{stage + 1}_block{block + 1}")
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="final_bn")(x)
    x = layers.ReLU(name="final_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)  # [B, widths[-1]]
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="residual_cnn")


# Backbone constructors (a keras.applications name, or None for efficientnet_lite.py's Lite0,
# whose ImageNet weights load offline) and the smallest input side each accepts.
_BACKBONES = {
    "mobilenet_v3_small": ("MobileNetV3Small", 32),
    "efficientnet_b0": ("EfficientNetB0", 32),
    "efficientnet_lite0": (None, 32),
}


def build_transfer_model(
    *,
    input_shape: Sequence[int],
    num_classes: int,
    backbone: str = "mobilenet_v3_small",
    weights: str | None = None,
    freeze_backbone: bool = True,
    dropout_rate: float = 0.2,
    min_side: int = 96,
) -> keras.Model:
    """A pretrained backbone (keras.applications, or EfficientNet-Lite0) with a new classification head.

    Images smaller than ``min_side`` are upsampled, and grayscale images repeated to 3 channels,
    inside the model. ``weights`` is None (random init), 'imagenet' or a weights file path.

    [B, H, W, C] raw pixels -> [B, num_classes] probabilities
    """
    if backbone not in _BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}; expected one of {sorted(_BACKBONES)}.")
    constructor_name, smallest = _BACKBONES[backbone]
    height, width, channels = input_shape
    side = max(min_side, smallest, height, width)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    if (height, width) != (side, side):
        x = layers.Resizing(side, side, name="resize")(x)  # [B, side, side, C]
    if channels == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])  # [B, side, side, 3]
    if constructor_name is None:
        # Rescales 0..255 inputs itself; 'imagenet' reads the installed package's file, offline.
        base = efficientnet_lite.build_efficientnet_lite0(
            input_shape=(side, side, 3), include_top=False, pooling="avg", weights=weights
        )  # [B, side, side, 3] -> [B, 1280]
    else:
        constructor = getattr(keras.applications, constructor_name)
        # Both rescale 0..255 inputs themselves (include_preprocessing defaults to True).
        base = constructor(include_top=False, weights=weights, input_shape=(side, side, 3), pooling="avg")
    base.trainable = not freeze_backbone
    x = base(x, training=False if freeze_backbone else None)  # [B, features]
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"{backbone}_transfer")
