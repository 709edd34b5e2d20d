"""Forecasters and an anomaly autoencoder: Functional API, keras.layers and keras.ops only.

Every forecaster maps an input window to a direct multi-step forecast:

    [B, window, features] (scaled)  ->  [B, horizon, targets] (scaled, float32)

The targets are the first ``targets`` input features (scaled the same way), so with
``residual=True`` a :class:`LastValueResidual` layer adds each target's last observed value to
the network's output: the network learns the change from persistence, which it must beat anyway.
With ``center=True`` the network also sees the targets relative to their last value
(:class:`LastValueCentering`), for series whose level drifts out of the training range.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers, ops

MODELS = ("lstm", "tcn", "transformer")


# ---------------------------------------------------------------------------------------------
# Custom layers
# ---------------------------------------------------------------------------------------------
# Its own package: speech registers a different layer of the same class name.
@keras.saving.register_keras_serializable(package="keras_applied.forecasting")
class SinusoidalPositionEncoding(layers.Layer):
    """Adds the sine/cosine position encoding of Vaswani et al. (2017) to a sequence.

    The encoding is computed inside ``call()`` from the input's length, never stored at build
    time (a constant built once was silently frozen under TF/JAX and crashed under PyTorch).

    [B, T, D] -> [B, T, D]
    """

    def __init__(self, max_wavelength: float = 10_000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = float(max_wavelength)

    def call(self, inputs):
        length = ops.shape(inputs)[1]
        dim = inputs.shape[-1]
        positions = ops.cast(ops.arange(length), "float32")[:, None]  # [T, 1]
        pair_index = ops.cast(ops.arange(dim) // 2, "float32")  # [D]
        frequencies = ops.power(self.max_wavelength, -2.0 * pair_index / float(dim))  # [D]
        angles = positions * frequencies[None, :]  # [T, D]
        even = ops.cast(ops.arange(dim) % 2 == 0, "float32")
        encoding = even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)
        return inputs + ops.cast(encoding, inputs.dtype)[None, :, :]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


@keras.saving.register_keras_serializable(package="keras_applied")
class LastValueResidual(layers.Layer):
    """Adds the last input value of the target features to every step of a forecast.

    (window [B, W, F], forecast [B, H, T]) -> [B, H, T], where the targets are input features
    ``feature_indices`` (length T).
    """

    def __init__(self, feature_indices: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.feature_indices = [int(i) for i in feature_indices]

    def call(self, inputs):
        window, forecast = inputs
        last = ops.take(window[:, -1, :], self.feature_indices, axis=-1)  # [B, T]
        return forecast + ops.cast(last, forecast.dtype)[:, None, :]

    def compute_output_shape(self, input_shapes):
        return input_shapes[1]

    def get_config(self):
        return {**super().get_config(), "feature_indices": self.feature_indices}


@keras.saving.register_keras_serializable(package="keras_applied")
class LastValueCentering(layers.Layer):
    """Subtracts each target feature's last value from that feature over the whole window, so
    the network sees the shape of the recent past, not its level: a trending series (CO2,
    passengers) then never shows the network levels it was not trained on. Other features pass.

    [B, W, F] -> [B, W, F]
    """

    def __init__(self, feature_indices: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.feature_indices = [int(i) for i in feature_indices]

    def call(self, window):
        num_features = window.shape[-1]
        mask = ops.convert_to_tensor([1.0 if i in self.feature_indices else 0.0 for i in range(num_features)],
                                     dtype=window.dtype)  # [F]
        return window - window[:, -1:, :] * mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "feature_indices": self.feature_indices}


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------
def network_input(inputs, *, num_targets: int, center: bool):
    """The window the network sees: as given, or with the targets centred on their last value."""
    if center:
        return LastValueCentering(list(range(num_targets)), name="center_targets")(inputs)
    return inputs


def forecast_head(features, inputs, *, horizon: int, num_targets: int, residual: bool, name: str):
    """[B, D] -> [B, horizon, num_targets] float32, plus the last target values if ``residual``."""
    x = layers.Dense(horizon * num_targets, dtype="float32", name=f"{name}_dense")(features)
    x = layers.Reshape((horizon, num_targets), name=f"{name}_reshape")(x)
    if residual:
        x = LastValueResidual(list(range(num_targets)), dtype="float32", name=f"{name}_residual")([inputs, x])
    return x


# ---------------------------------------------------------------------------------------------
# Forecasters
# ---------------------------------------------------------------------------------------------
def build_lstm(
    *,
    window: int,
    num_features: int,
    horizon: int,
    num_targets: int = 1,
    units: int = 64,
    num_layers: int = 2,
    dropout_rate: float = 0.1,
    residual: bool = True,
    center: bool = False,
) -> keras.Model:
    """Stacked LSTM; the last layer's final state feeds a dense direct multi-step head.

    [B, W, F] -> [B, H, T]
    """
    inputs = keras.Input(shape=(window, num_features), name="window")
    x = network_input(inputs, num_targets=num_targets, center=center)
    for index in range(num_layers):
        last = index == num_layers - 1
        x = layers.LSTM(units, return_sequences=not last, name=f"lstm_{index + 1}")(x)  # [B, W, U] / [B, U]
        x = layers.Dropout(dropout_rate, name=f"dropout_{index + 1}")(x)
    outputs = forecast_head(x, inputs, horizon=horizon, num_targets=num_targets, residual=residual, name="forecast")
    return keras.Model(inputs, outputs, name="lstm")


def tcn_block(x, filters: int, kernel_size: int, dilation: int, dropout_rate: float, name: str):
    """Residual block of two dilated causal convolutions (Bai et al. 2018), layer-normalised.

    [B, W, C] -> [B, W, filters]; output step t sees inputs t - 2 * (kernel_size - 1) * dilation .. t.
    """
    shortcut = x
    for part in (1, 2):
        x = layers.Conv1D(filters, kernel_size, padding="causal", dilation_rate=dilation, name=f"{name}_conv{part}")(x)
        x = layers.LayerNormalization(name=f"{name}_norm{part}")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu{part}")(x)
        x = layers.SpatialDropout1D(dropout_rate, name=f"{name}_dropout{part}")(x)
    if shortcut.shape[-1] != filters:
        shortcut = layers.Conv1D(filters, 1, name=f"{name}_project")(shortcut)
    return layers.Add(name=f"{name}_add")([shortcut, x])


def tcn_receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    """Input steps the last output step of a TCN of :func:`tcn_block` sees."""
    return 1 + 2 * (kernel_size - 1) * sum(dilations)


def build_tcn(
    *,
    window: int,
    num_features: int,
    horizon: int,
    num_targets: int = 1,
    filters: int = 64,
    kernel_size: int = 3,
    dilations: Sequence[int] = (1, 2, 4, 8, 16),
    dropout_rate: float = 0.1,
    residual: bool = True,
    center: bool = False,
) -> keras.Model:
    """Temporal convolution network: dilated causal residual blocks; the last step's features
    feed the head.

    [B, W, F] -> [B, H, T]
    """
    inputs = keras.Input(shape=(window, num_features), name="window")
    x = network_input(inputs, num_targets=num_targets, center=center)
    for index, dilation in enumerate(dilations):
        x = tcn_block(x, filters, kernel_size, dilation, dropout_rate, name=f"tcn_{index + 1}")  # [B, W, filters]
    x = layers.Cropping1D((window - 1, 0), name="last_step")(x)  # [B, 1, filters]
    x = layers.Flatten(name="flatten")(x)  # [B, filters]
    outputs = forecast_head(x, inputs, horizon=horizon, num_targets=num_targets, residual=residual, name="forecast")
    return keras.Model(inputs, outputs, name="tcn")


def transformer_block(x, model_dim: int, heads: int, ff_dim: int, dropout_rate: float, name: str):
    """Pre-norm Transformer encoder block: self-attention and a feed-forward layer, each residual.

    [B, W, D] -> [B, W, D]
    """
    attended = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)
    attended = layers.MultiHeadAttention(heads, model_dim // heads, dropout=dropout_rate, name=f"{name}_attention")(
        attended, attended
    )
    x = layers.Add(name=f"{name}_add1")([x, layers.Dropout(dropout_rate, name=f"{name}_dropout1")(attended)])
    fed = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x)
    fed = layers.Dense(ff_dim, activation="gelu", name=f"{name}_ff1")(fed)
    fed = layers.Dense(model_dim, name=f"{name}_ff2")(fed)
    return layers.Add(name=f"{name}_add2")([x, layers.Dropout(dropout_rate, name=f"{name}_dropout2")(fed)])


def build_transformer(
    *,
    window: int,
    num_features: int,
    horizon: int,
    num_targets: int = 1,
    model_dim: int = 64,
    heads: int = 4,
    num_layers: int = 2,
    ff_dim: int = 128,
    dropout_rate: float = 0.1,
    residual: bool = True,
    center: bool = False,
) -> keras.Model:
    """A small Transformer encoder over the window (one token per time step, sinusoidal
    positions); the last token and the mean over tokens feed the head.

    [B, W, F] -> [B, H, T]
    """
    if model_dim % heads:
        raise ValueError(f"model_dim ({model_dim}) must be divisible by heads ({heads}).")
    inputs = keras.Input(shape=(window, num_features), name="window")
    x = network_input(inputs, num_targets=num_targets, center=center)
    x = layers.Dense(model_dim, name="embed")(x)  # [B, W, D]
    x = SinusoidalPositionEncoding(name="positions")(x)
    x = layers.Dropout(dropout_rate, name="embed_dropout")(x)
    for index in range(num_layers):
        x = transformer_block(x, model_dim, heads, ff_dim, dropout_rate, name=f"encoder_{index + 1}")
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    last = layers.Flatten(name="last_token")(layers.Cropping1D((window - 1, 0), name="last_step")(x))  # [B, D]
    mean = layers.GlobalAveragePooling1D(name="mean_token")(x)  # [B, D]
    x = layers.Concatenate(name="summary")([last, mean])  # [B, 2D]
    outputs = forecast_head(x, inputs, horizon=horizon, num_targets=num_targets, residual=residual, name="forecast")
    return keras.Model(inputs, outputs, name="transformer")


def build_forecaster(name: str, **kwargs) -> keras.Model:
    """One of :data:`MODELS` by name; ``kwargs`` are that builder's keyword arguments."""
    builders = {"lstm": build_lstm, "tcn": build_tcn, "transformer": build_transformer}
    if name not in builders:
        raise ValueError(f"Unknown forecaster {name!r}; expected one of {list(builders)}.")
    return builders[name](**kwargs)


# ---------------------------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------------------------
def build_conv_autoencoder(
    *,
    window: int,
    num_features: int,
    filters: Sequence[int] = (32, 16),
    kernel_size: int = 7,
    dropout_rate: float = 0.1,
) -> keras.Model:
    """1-D convolutional autoencoder: strided convolutions down, transposed convolutions up.

    [B, W, F] -> [B, W, F]; W must be divisible by 2 ** len(filters).
    """
    factor = 2 ** len(filters)
    if window % factor:
        raise ValueError(f"The autoencoder's window ({window}) must be divisible by {factor} (2 ** len(filters)).")
    inputs = keras.Input(shape=(window, num_features), name="window")
    x = inputs
    for index, width in enumerate(filters):
        x = layers.Conv1D(width, kernel_size, strides=2, padding="same", activation="relu", name=f"encode_{index + 1}")(x)
        if index == 0:
            x = layers.Dropout(dropout_rate, name="encode_dropout")(x)
    # x: [B, W / 2 ** len(filters), filters[-1]], the bottleneck
    for index, width in enumerate(reversed(filters)):
        x = layers.Conv1DTranspose(width, kernel_size, strides=2, padding="same", activation="relu", name=f"decode_{index + 1}")(x)
        if index == 0:
            x = layers.Dropout(dropout_rate, name="decode_dropout")(x)
    outputs = layers.Conv1DTranspose(num_features, kernel_size, padding="same", dtype="float32", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="conv_autoencoder")
