"""Spoken-word classifiers on raw waveforms, built with the Functional API and keras.ops only.

Both models take float32 samples at one fixed rate ([B, window]) and compute everything else
inside, so a saved model needs no preprocessing outside it:

    waveform [B, window]
      -> WaveformAugmentation   speed perturbation, time shift, background noise (training only)
      -> MelSpectrogram         keras.layers.MelSpectrogram, power mel [B, mels, frames]
      -> LogMelNormalization    log power relative to the clip's peak, zero mean / unit variance
                                per clip (so loudness does not matter) -> [B, frames, mels]
      -> SpecAugment            random time and frequency masks (training only)
      -> CNN or Transformer     -> softmax [B, classes] (float32 under mixed precision)

The front end computes in float32 under any dtype policy (an STFT in bfloat16 loses the quiet
parts of a clip); the convolutions / attention follow the policy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import layers, ops

BN_MOMENTUM = 0.9
PACKAGE = "keras_applied"


# ---------------------------------------------------------------------------------------------
# Custom layers
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=PACKAGE)
class WaveformAugmentation(layers.Layer):
    """Random speed change, time shift and additive noise of raw waveforms, in training only.

    Speed perturbation resamples each clip by a factor in [1 - speed, 1 + speed] (like Kaldi's
    speed perturbation it moves pitch and tempo together, a cheap stand-in for another speaker);
    the shift moves it by up to ``max_shift`` samples; with probability ``noise_probability``
    Gaussian noise is added at an SNR drawn from [min_snr_db, max_snr_db] relative to the clip's
    RMS. One linear-interpolation gather does speed and shift together.

    [B, samples] -> [B, samples]
    """

    def __init__(self, speed: float = 0.1, max_shift: int = 800, noise_probability: float = 0.5,
                 min_snr_db: float = 10.0, max_snr_db: float = 40.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.speed, self.max_shift = float(speed), int(max_shift)
        self.noise_probability = float(noise_probability)
        self.min_snr_db, self.max_snr_db = float(min_snr_db), float(max_snr_db)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        inputs = ops.cast(inputs, "float32")
        batch, length = ops.shape(inputs)[0], inputs.shape[-1]
        factor = keras.random.uniform((batch, 1), 1.0 - self.speed, 1.0 + self.speed, seed=self.seed_generator)
        shift = keras.random.uniform((batch, 1), -self.max_shift, self.max_shift + 1e-3, seed=self.seed_generator)
        center = (length - 1) / 2.0
        time = ops.arange(length, dtype="float32")[None, :]
        position = (time - center) * factor + center - shift  # where each output sample reads from
        lower = ops.floor(position)
        fraction = position - lower
        lower = ops.cast(lower, "int32")

        def read(index):  # samples at index, 0 outside the clip
            inside = ops.cast((index >= 0) & (index < length), "float32")
            return ops.take_along_axis(inputs, ops.clip(index, 0, length - 1), axis=1) * inside

        moved = read(lower) * (1.0 - fraction) + read(lower + 1) * fraction
        rms = ops.sqrt(ops.mean(ops.square(moved), axis=1, keepdims=True) + 1e-12)
        snr_db = keras.random.uniform((batch, 1), self.min_snr_db, self.max_snr_db, seed=self.seed_generator)
        add_noise = ops.cast(
            keras.random.uniform((batch, 1), seed=self.seed_generator) < self.noise_probability, "float32")
        noise = keras.random.normal((batch, length), seed=self.seed_generator)
        return moved + noise * rms * ops.power(10.0, -snr_db / 20.0) * add_noise

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "speed": self.speed, "max_shift": self.max_shift,
                "noise_probability": self.noise_probability, "min_snr_db": self.min_snr_db,
                "max_snr_db": self.max_snr_db, "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LogMelNormalization(layers.Layer):
    """Power mel spectrogram -> log scale floored ``top_db`` below the clip's own peak, then
    zero mean and unit variance per clip. Every statistic is per example (keras'
    ``power_to_db`` floors relative to the whole batch's peak, so a clip's features would depend
    on the other clips in its batch), and a change of loudness cancels out.

    [B, mels, frames] -> [B, frames, mels]
    """

    def __init__(self, top_db: float = 80.0, **kwargs):
        super().__init__(**kwargs)
        self.top_db = float(top_db)

    def call(self, inputs):
        inputs = ops.cast(inputs, "float32")
        decibels = 10.0 * ops.log10(ops.maximum(inputs, 1e-10))
        peak = ops.max(decibels, axis=(1, 2), keepdims=True)
        decibels = ops.maximum(decibels, peak - self.top_db)
        mean = ops.mean(decibels, axis=(1, 2), keepdims=True)
        std = ops.std(decibels, axis=(1, 2), keepdims=True)
        normalized = (decibels - mean) / (std + 1e-5)
        return ops.transpose(normalized, (0, 2, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2], input_shape[1])

    def get_config(self):
        return {**super().get_config(), "top_db": self.top_db}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpecAugment(layers.Layer):
    """SpecAugment's masking (Park et al. 2019), in training only: ``time_masks`` bands of up to
    ``time_mask_width`` frames and ``freq_masks`` bands of up to ``freq_mask_width`` mel bins are
    set to 0 (the mean of the normalised features).

    [B, frames, mels] -> [B, frames, mels]
    """

    def __init__(self, time_masks: int = 2, time_mask_width: int = 10, freq_masks: int = 2,
                 freq_mask_width: int = 6, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.time_masks, self.time_mask_width = int(time_masks), int(time_mask_width)
        self.freq_masks, self.freq_mask_width = int(freq_masks), int(freq_mask_width)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _keep(self, batch, size: int, count: int, max_width: int):
        """[B, size] float: 0 inside one of ``count`` random bands, 1 elsewhere."""
        position = ops.arange(size, dtype="float32")[None, :]
        keep = ops.ones((batch, size), "float32")
        for _ in range(count):
            width = ops.floor(keras.random.uniform((batch, 1), 0.0, max_width + 1.0, seed=self.seed_generator))
            start = keras.random.uniform((batch, 1), seed=self.seed_generator) * ops.maximum(size - width, 0.0)
            inside = (position >= start) & (position < start + width)
            keep = keep * (1.0 - ops.cast(inside, "float32"))
        return keep

    def call(self, inputs, training=None):
        if not training:
            return inputs
        batch, frames, mels = ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2]
        keep_time = self._keep(batch, frames, self.time_masks, self.time_mask_width)
        keep_freq = self._keep(batch, mels, self.freq_masks, self.freq_mask_width)
        return inputs * ops.cast(keep_time[:, :, None] * keep_freq[:, None, :], inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "time_masks": self.time_masks, "time_mask_width": self.time_mask_width,
                "freq_masks": self.freq_masks, "freq_mask_width": self.freq_mask_width, "seed": self.seed}


# Its own package: forecasting registers a different layer of the same class name.
@keras.saving.register_keras_serializable(package=f"{PACKAGE}.speech")
class SinusoidalPositionEncoding(layers.Layer):
    """Adds the sinusoidal position encoding of "Attention is all you need".

    Computed inside ``call()`` from the input's shape, so it is a tensor of the running backend
    (one built once at model-build time was a silent constant under TF/JAX and crashed torch).
    [B, T, D] -> [B, T, D]
    """

    def call(self, inputs):
        length, depth = ops.shape(inputs)[1], inputs.shape[-1]
        position = ops.arange(length, dtype="float32")[:, None]  # [T, 1]
        rates = ops.exp(ops.arange(0, depth, 2, dtype="float32") * (-math.log(10000.0) / depth))  # [D/2]
        angles = position * rates[None, :]  # [T, D/2]
        encoding = ops.reshape(ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (length, -1))[:, :depth]
        return inputs + ops.cast(encoding[None], inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


# ---------------------------------------------------------------------------------------------
# Front end and classifiers
# ---------------------------------------------------------------------------------------------
def stft_sizes(sample_rate: int) -> tuple[int, int, int]:
    """(fft_length, window length, hop): 25 ms windows every 10 ms, FFT of the next power of two."""
    window = int(round(0.025 * sample_rate))
    return 2 ** math.ceil(math.log2(window)), window, int(round(0.010 * sample_rate))


def front_end(
    waveforms,
    *,
    sample_rate: int,
    num_mel_bins: int = 40,
    augment: bool = True,
    speed_perturbation: float = 0.1,
    max_shift_seconds: float = 0.1,
    noise_probability: float = 0.5,
    noise_snr_db: Sequence[float] = (10.0, 40.0),
    time_masks: int = 2,
    time_mask_width: int = 10,
    freq_masks: int = 2,
    freq_mask_width: int = 6,
    seed: int | None = None,
):
    """Waveforms [B, window] -> normalised log-mel features [B, frames, mels] (float32)."""
    x = waveforms
    if augment:
        x = WaveformAugmentation(
            speed=speed_perturbation, max_shift=int(max_shift_seconds * sample_rate),
            noise_probability=noise_probability, min_snr_db=noise_snr_db[0], max_snr_db=noise_snr_db[1],
            seed=seed, dtype="float32", name="waveform_augmentation",
        )(x)
    fft_length, window, hop = stft_sizes(sample_rate)
    x = layers.MelSpectrogram(
        fft_length=fft_length, sequence_length=window, sequence_stride=hop, sampling_rate=sample_rate,
        num_mel_bins=num_mel_bins, min_freq=20.0, max_freq=sample_rate / 2, power_to_db=False,
        dtype="float32", name="mel_spectrogram",
    )(x)  # [B, mels, frames]
    x = LogMelNormalization(dtype="float32", name="log_mel")(x)  # [B, frames, mels]
    if augment:
        x = SpecAugment(time_masks, time_mask_width, freq_masks, freq_mask_width, seed=seed,
                        dtype="float32", name="spec_augment")(x)
    return x


def _conv_bn_relu(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_cnn(
    *,
    window: int,
    sample_rate: int,
    num_classes: int,
    widths: Sequence[int] = (24, 48, 96),
    dropout_rate: float = 0.2,
    **front_end_options,
) -> keras.Model:
    """Log-mel CNN: per width two conv3x3-BN-ReLU and a 2x2 max-pool, average over time (each
    mel region keeps its own features), dropout, softmax. ``front_end_options`` go to :func:`front_end`.

    [B, window] waveform -> [B, num_classes] probabilities
    """
    inputs = keras.Input(shape=(window,), name="waveform")
    x = front_end(inputs, sample_rate=sample_rate, **front_end_options)  # [B, T, M]
    x = layers.Reshape((x.shape[1], x.shape[2], 1), name="add_channel")(x)  # [B, T, M, 1]
    for stage, filters in enumerate(widths):
        x = _conv_bn_relu(x, filters, f"stage{stage + 1}a")
        x = _conv_bn_relu(x, filters, f"stage{stage + 1}b")
        x = layers.MaxPooling2D(2, name=f"stage{stage + 1}_pool")(x)  # T and M halve
    # Average over time only: where in frequency a pattern sits (formants, pitch) must survive,
    # and global pooling over both axes would make the classifier blind to it.
    x = layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]), name="frames")(x)  # [B, T', M' * C]
    x = layers.GlobalAveragePooling1D(name="pool")(x)  # [B, M' * C]
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="logmel_cnn")


def build_transformer(
    *,
    window: int,
    sample_rate: int,
    num_classes: int,
    model_dim: int = 96,
    num_heads: int = 4,
    num_layers: int = 2,
    dropout_rate: float = 0.1,
    **front_end_options,
) -> keras.Model:
    """A small Transformer encoder on log-mel frames: a strided Conv1D stem (halves the frames),
    sinusoidal positions, pre-norm self-attention blocks, mean pooling, softmax.

    [B, window] waveform -> [B, num_classes] probabilities
    """
    inputs = keras.Input(shape=(window,), name="waveform")
    x = front_end(inputs, sample_rate=sample_rate, **front_end_options)  # [B, T, M]
    x = layers.Conv1D(model_dim, 3, strides=2, padding="same", activation="gelu", name="stem_conv1")(x)  # [B, T/2, D]
    x = layers.Conv1D(model_dim, 3, padding="same", activation="gelu", name="stem_conv2")(x)
    x = SinusoidalPositionEncoding(name="positions")(x)
    for block in range(num_layers):
        name = f"block{block + 1}"
        h = layers.LayerNormalization(epsilon=1e-5, name=f"{name}_norm1")(x)
        h = layers.MultiHeadAttention(num_heads, key_dim=model_dim // num_heads, dropout=dropout_rate,
                                      name=f"{name}_attention")(h, h)
        x = layers.Add(name=f"{name}_add1")([x, layers.Dropout(dropout_rate, name=f"{name}_drop1")(h)])
        h = layers.LayerNormalization(epsilon=1e-5, name=f"{name}_norm2")(x)
        h = layers.Dense(2 * model_dim, activation="gelu", name=f"{name}_ff1")(h)
        h = layers.Dense(model_dim, name=f"{name}_ff2")(h)
        x = layers.Add(name=f"{name}_add2")([x, layers.Dropout(dropout_rate, name=f"{name}_drop2")(h)])
    x = layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)  # [B, D]
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="logmel_transformer")
