"""Reading audio files and fitting clips to the model's window (NumPy and SciPy only).

Every clip the speech example uses passes through two steps:

1. :func:`read_wav`: any WAV file -> float32 mono samples in [-1, 1] at one sample rate.
   8-bit (unsigned), 16-, 24- and 32-bit PCM and 32/64-bit float are read by
   ``scipy.io.wavfile`` (the ``wave`` module reads neither float nor, conveniently, 24-bit);
   several channels are averaged to one; another sample rate is resampled with a polyphase
   filter (``scipy.signal.resample_poly``). A file that is not a readable WAV, or holds no
   samples, raises :class:`DataError` naming the file and the reason.
2. :func:`fit_to_window`: a clip of any length -> exactly ``window`` samples. A longer clip keeps
   its loudest ``window`` samples (where the word is); a shorter one is centred in zeros. A clip
   with no sound above -80 dBFS is reported as silent.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from common.errors import DataError

# Peak amplitude below which a clip counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4


def to_float(samples: np.ndarray) -> np.ndarray:
    """Integer or float samples as float32 in [-1, 1] (by the dtype's full scale)."""
    if samples.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (samples.astype(np.float32) - 128.0) / 128.0
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    if samples.dtype == np.int32:  # 32-bit PCM, and 24-bit PCM left-justified by scipy
        return (samples.astype(np.float64) / 2147483648.0).astype(np.float32)
    if samples.dtype == np.int64:  # TFDS Audio features hold int16 values in int64
        return samples.astype(np.float32) / 32768.0
    if np.issubdtype(samples.dtype, np.floating):
        return samples.astype(np.float32)
    raise DataError(f"Unsupported sample type {samples.dtype}; expected 8/16/24/32-bit PCM or float.")


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling by the reduced ratio target/source (float32 in, float32 out)."""
    if source_rate == target_rate:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    divisor = math.gcd(int(source_rate), int(target_rate))
    return resample_poly(samples, target_rate // divisor, source_rate // divisor).astype(np.float32)


def read_wav(path: str | Path, sample_rate: int) -> tuple[np.ndarray, dict]:
    """One WAV file as float32 mono samples at ``sample_rate``, and what was converted.

    The info dict holds ``source_rate``, ``channels`` and ``bits`` (the file's own), so callers
    can count conversions. Raises :class:`DataError` for an unreadable or empty file.
    """
    from scipy.io import wavfile

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown extra chunks
            source_rate, samples = wavfile.read(path)
    except Exception as error:  # noqa: BLE001 - scipy raises ValueError, struct.error, even UnboundLocalError
        raise DataError(f"{path} is not a readable WAV file ({type(error).__name__}: {error}).") from error
    info = {
        "source_rate": int(source_rate),
        "channels": 1 if samples.ndim == 1 else int(samples.shape[1]),
        "bits": int(samples.dtype.itemsize * 8),
    }
    if samples.size == 0:
        raise DataError(f"{path} holds no audio samples (an empty WAV file).")
    if source_rate <= 0:
        raise DataError(f"{path} declares a sample rate of {source_rate} Hz; expected a positive rate.")
    audio = to_float(samples)
    if audio.ndim == 2:  # [samples, channels] -> mono
        audio = audio.mean(axis=1)
    return resample(audio, int(source_rate), sample_rate), info


def is_silent(samples: np.ndarray) -> bool:
    return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK


def fit_to_window(samples: np.ndarray, window: int) -> tuple[np.ndarray, str | None]:
    """Exactly ``window`` samples, and how the clip was changed ('trimmed', 'padded' or None).

    A longer clip keeps the ``window`` samples with the most energy; a shorter one is centred
    between zeros. [samples] -> [window]
    """
    length = len(samples)
    if length == window:
        return samples.astype(np.float32, copy=False), None
    if length > window:
        energy = np.concatenate([[0.0], np.cumsum(np.square(samples, dtype=np.float64))])
        start = int(np.argmax(energy[window:] - energy[:-window]))
        return samples[start : start + window].astype(np.float32), "trimmed"
    before = (window - length) // 2
    fitted = np.zeros(window, dtype=np.float32)
    fitted[before : before + length] = samples
    return fitted, "padded"


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """float samples in [-1, 1] as a 16-bit PCM WAV file (for examples and tests)."""
    from scipy.io import wavfile

    path = Path(path)
    pcm = np.clip(np.round(np.asarray(samples, np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    wavfile.write(path, sample_rate, pcm)
    return path
