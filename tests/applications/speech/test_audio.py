"""WAV reading (every sample format, channels, rates, broken files) and fitting clips to a window."""

from __future__ import annotations

import numpy as np
import pytest

from applications.speech import audio
from common.errors import DataError
from tests.applications.speech import wavs


@pytest.mark.parametrize("kind, tolerance", [("uint8", 1 / 64), ("int16", 1e-4), ("int24", 1e-6), ("int32", 1e-6), ("float32", 1e-7)])
def test_every_sample_format_reads_to_the_same_float_signal(tmp_path, kind, tolerance):
    signal = wavs.tone(440.0, seconds=0.1, amplitude=0.8)
    samples, info = audio.read_wav(wavs.write(tmp_path / f"{kind}.wav", signal, kind=kind), 8000)
    assert samples.dtype == np.float32 and samples.shape == signal.shape
    assert info["bits"] == {"uint8": 8, "int16": 16, "int24": 32, "int32": 32, "float32": 32}[kind]
    np.testing.assert_allclose(samples, signal, atol=tolerance)


def test_stereo_is_mixed_down_and_other_rates_are_resampled(tmp_path):
    left, right = wavs.tone(300.0, 0.5, 16000, 0.6), wavs.tone(300.0, 0.5, 16000, 0.2)
    path = wavs.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), sample_rate=16000, kind="int24")
    samples, info = audio.read_wav(path, 8000)
    assert info == {"source_rate": 16000, "channels": 2, "bits": 32}
    assert samples.shape == (4000,)  # 0.5 s at 8 kHz
    # The mix of 0.6 and 0.2 amplitude tones peaks near 0.4, and 300 Hz survives resampling.
    assert 0.37 < np.abs(samples).max() < 0.43
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(np.argmax(spectrum) * 8000 / len(samples) - 300.0) < 5


def test_unreadable_and_empty_files_raise_data_errors_naming_the_file(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(DataError, match=r"notes\.wav is not a readable WAV file"):
        audio.read_wav(text, 8000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(wavs.write(tmp_path / "good.wav", wavs.tone(200.0)).read_bytes()[:30])
    with pytest.raises(DataError, match="truncated.wav is not a readable WAV file"):
        audio.read_wav(truncated, 8000)
    no_chunks = tmp_path / "no_chunks.wav"
    no_chunks.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # scipy fails on this with UnboundLocalError
    with pytest.raises(DataError, match="no_chunks.wav is not a readable WAV file"):
        audio.read_wav(no_chunks, 8000)
    empty = wavs.write(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(DataError, match="empty.wav holds no audio samples"):
        audio.read_wav(empty, 8000)


def test_fit_to_window_keeps_the_loudest_part_or_centres_in_zeros():
    quiet, loud = np.full(300, 0.01, np.float32), np.full(100, 0.9, np.float32)
    clip = np.concatenate([quiet, loud, quiet])
    fitted, change = audio.fit_to_window(clip, 120)
    assert change == "trimmed" and fitted.shape == (120,) and np.sum(fitted == np.float32(0.9)) == 100
    fitted, change = audio.fit_to_window(loud, 300)
    assert change == "padded" and fitted.shape == (300,)
    assert np.all(fitted[:100] == 0) and np.all(fitted[100:200] == np.float32(0.9)) and np.all(fitted[200:] == 0)
    assert audio.fit_to_window(loud, 100)[1] is None


def test_silence_is_detected():
    assert audio.is_silent(np.zeros(800, np.float32)) and audio.is_silent(np.zeros(0, np.float32))
    assert audio.is_silent(np.full(800, 5e-5, np.float32))
    assert not audio.is_silent(wavs.tone(200.0, 0.05, amplitude=0.01))
