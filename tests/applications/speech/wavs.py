"""Tiny WAV files of every kind the speech loaders must handle, written for tests."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from scipy.io import wavfile


def tone(frequency: float, seconds: float = 0.4, sample_rate: int = 8000, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """A sine tone with 20 ms fades, float32 in [-1, 1]."""
    time = np.arange(int(seconds * sample_rate)) / sample_rate
    samples = amplitude * np.sin(2 * np.pi * frequency * time + phase)
    fade = np.minimum(1.0, np.minimum(time, time[-1] - time) / 0.02)
    return (samples * fade).astype(np.float32)


def write(path: Path, samples: np.ndarray, sample_rate: int = 8000, kind: str = "int16") -> Path:
    """Write float samples ([n] or [n, channels]) as 'uint8', 'int16', 'int24', 'int32' or 'float32'."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.asarray(samples, np.float64)
    if kind == "uint8":
        wavfile.write(path, sample_rate, np.clip(np.round(samples * 127 + 128), 0, 255).astype(np.uint8))
    elif kind == "int16":
        wavfile.write(path, sample_rate, np.round(samples * 32767).astype(np.int16))
    elif kind == "int32":
        wavfile.write(path, sample_rate, np.round(samples * (2**31 - 1)).astype(np.int32))
    elif kind == "float32":
        wavfile.write(path, sample_rate, samples.astype(np.float32))
    elif kind == "int24":  # scipy cannot write 24-bit: the wave module can, given 3-byte frames
        values = np.round(samples * (2**23 - 1)).astype("<i4")
        frames = values.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
            handle.setsampwidth(3)
            handle.setframerate(sample_rate)
            handle.writeframes(frames)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return path


def digit_tone(digit: int, speaker: int, index: int, sample_rate: int = 8000) -> np.ndarray:
    """A 'spoken digit' that is easy to learn: a tone per digit, shifted a little per speaker."""
    rng = np.random.default_rng([digit, speaker, index])
    frequency = 300.0 + 250.0 * digit + 20.0 * speaker
    seconds = 0.3 + 0.2 * rng.uniform()
    samples = tone(frequency, seconds, sample_rate, amplitude=0.2 + 0.5 * rng.uniform())
    return samples + 0.01 * rng.standard_normal(len(samples)).astype(np.float32)


def fake_fsdd(root: Path, speakers=("alice", "bob", "carol"), digits=range(10), indices=range(8)) -> Path:
    """An FSDD-shaped folder (recordings/{digit}_{speaker}_{index}.wav) of tones."""
    recordings = root / "recordings"
    for s, speaker in enumerate(speakers):
        for digit in digits:
            for index in indices:
                write(recordings / f"{digit}_{speaker}_{index}.wav", digit_tone(digit, s, index))
    return root
