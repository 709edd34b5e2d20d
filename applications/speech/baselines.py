"""The classical baseline: MFCC features + an RBF support-vector machine (scikit-learn).

Features per clip (NumPy/SciPy): 13 MFCCs every 10 ms over 25 ms Hamming windows (40 mel
bands), restricted to the frames within 40 dB of the clip's loudest frame (the word, not the
padding); that span resampled to 20 frames and flattened (the word's shape in time), plus the
mean and standard deviation of every coefficient. Standardised, then ``SVC(C=10, gamma='scale')``.
"""

from __future__ import annotations

import numpy as np

NUM_COEFFICIENTS = 13
NUM_MELS = 40
NUM_FRAMES = 20
ACTIVE_DB = 40.0


def mel_filterbank(num_mels: int, fft_length: int, sample_rate: int, min_hz: float = 20.0) -> np.ndarray:
    """Triangular filters on the HTK mel scale: [fft_length // 2 + 1, num_mels]."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    edges_mel = np.linspace(to_mel(min_hz), to_mel(sample_rate / 2), num_mels + 2)
    edges_hz = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bins_hz = np.linspace(0, sample_rate / 2, fft_length // 2 + 1)
    lower, center, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bins_hz[:, None] - lower) / (center - lower)
    falling = (upper - bins_hz[:, None]) / (upper - center)
    return np.maximum(0.0, np.minimum(rising, falling))


def mfcc(waveforms: np.ndarray, sample_rate: int, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """MFCCs [N, frames, 13] and frame log-energies in dB [N, frames] of [N, samples] clips."""
    from scipy.fft import dct

    window = int(round(0.025 * sample_rate))
    hop = int(round(0.010 * sample_rate))
    fft_length = 2 ** int(np.ceil(np.log2(window)))
    filters = mel_filterbank(NUM_MELS, fft_length, sample_rate)
    hamming = np.hamming(window).astype(np.float32)
    coefficients, energies = [], []
    for start in range(0, len(waveforms), chunk):
        batch = np.asarray(waveforms[start : start + chunk], np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(batch, window, axis=1)[:, ::hop]  # [n, T, window]
        power = np.abs(np.fft.rfft(frames * hamming, n=fft_length)) ** 2  # [n, T, bins]
        mel = np.log(power @ filters + 1e-10)  # [n, T, mels]
        coefficients.append(dct(mel, type=2, norm="ortho", axis=-1)[..., :NUM_COEFFICIENTS])
        energies.append(10.0 * np.log10(power.sum(axis=-1) + 1e-10))
    return np.concatenate(coefficients), np.concatenate(energies)


def utterance_features(waveforms: np.ndarray, sample_rate: int) -> np.ndarray:
    """Fixed-length features [N, 20 * 13 + 2 * 13] of the active span of each clip."""
    coefficients, energies = mfcc(waveforms, sample_rate)
    features = []
    for clip, energy in zip(coefficients, energies):
        active = np.flatnonzero(energy >= energy.max() - ACTIVE_DB)
        span = clip[active[0] : active[-1] + 1]  # [T', 13]
        positions = np.linspace(0, len(span) - 1, NUM_FRAMES)
        resampled = np.stack([np.interp(positions, np.arange(len(span)), span[:, c]) for c in range(span.shape[1])], axis=1)
        features.append(np.concatenate([resampled.ravel(), span.mean(axis=0), span.std(axis=0)]))
    return np.asarray(features, np.float32)


def fit_svm(features: np.ndarray, labels: np.ndarray, seed: int = 0):
    """A standardise + RBF-SVM pipeline fitted to the features."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    model = make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale", random_state=seed))
    return model.fit(features, labels)


def mfcc_svm(train_waveforms, train_labels, test_waveforms, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Fit on the training clips, return the predicted labels of the test clips."""
    model = fit_svm(utterance_features(train_waveforms, sample_rate), train_labels, seed)
    return model.predict(utterance_features(test_waveforms, sample_rate))
