"""Speech data sources, splits and pipelines on tiny generated files (and the real FSDD)."""

from __future__ import annotations

import numpy as np
import pytest

from applications.speech import data, synthesis
from common.errors import DataError, DataNotFoundError
from tests.applications.speech import wavs


@pytest.fixture
def fsdd_folder(tmp_path):
    root = wavs.fake_fsdd(tmp_path / "fsdd", speakers=("alice", "bob"), digits=range(3), indices=range(7))
    (root / "recordings" / "README.txt").write_text("not audio")  # skipped: not a .wav file
    (root / "recordings" / "stray.wav").write_bytes(b"RIFF....garbage")  # skipped: bad name
    (root / "recordings" / "1_alice_99.wav").write_bytes(b"RIFF....garbage")  # skipped: corrupt
    wavs.write(root / "recordings" / "2_bob_98.wav", np.zeros(800))  # skipped: silent
    wavs.write(root / "recordings" / "0_bob_97.wav", wavs.tone(500.0, 1.6))  # trimmed to 1 s
    return root


def test_fsdd_folder_keeps_the_official_split_and_counts_every_bad_file(fsdd_folder):
    corpus = data.load_corpus("fsdd", data_dir=str(fsdd_folder))
    assert corpus.source == "local" and corpus.class_names == [str(d) for d in range(10)]
    assert corpus.speaker_names == ["alice", "bob"] and corpus.clips.waveforms.shape == (43, 8000)
    assert corpus.clips.waveforms.dtype == np.float32
    # Index 0-4 is test: 2 speakers x 3 digits x 5.
    assert (corpus.split == "test").sum() == 30
    assert corpus.skipped.counts == {"not a .wav file": 1, "name not {digit}_{speaker}_{index}.wav": 1,
                                     "not a readable WAV file": 1, "silent clip (peak below -80 dBFS)": 1}
    assert corpus.adjusted.counts == {"longer than the 1 s window: loudest part kept": 1}


def test_fsdd_is_found_under_a_parent_data_folder(tmp_path):
    wavs.fake_fsdd(tmp_path / "speech" / "fsdd", speakers=("alice",), digits=range(2), indices=range(9))
    audio_data = data.load("fsdd", data_dir=str(tmp_path), validation_fraction=0.25, sample_rate=4000, clip_seconds=0.5)
    assert audio_data.window == 2000 and audio_data.sample_rate == 4000
    assert (len(audio_data.train), len(audio_data.validation), len(audio_data.test)) == (6, 2, 10)


def test_missing_fsdd_offline_says_what_to_provide(tmp_path):
    with pytest.raises(DataNotFoundError, match="(?s)local:.*recordings.*online:.*spoken_digit.*unreachable"):
        data.load_corpus("fsdd", data_dir=str(tmp_path))


def test_leave_one_speaker_out_and_few_shot_splits(fsdd_folder):
    corpus = data.load_corpus("fsdd", data_dir=str(fsdd_folder))
    train, validation, test = data.leave_one_speaker_out(corpus, "bob", validation_fraction=0.2, seed=0)
    assert set(test.speakers) == {"bob"} and set(train.speakers) | set(validation.speakers) == {"alice"}
    assert len(train) + len(validation) + len(test) == len(corpus.clips)
    with pytest.raises(DataError, match="no speaker 'zed'"):
        data.leave_one_speaker_out(corpus, "zed", validation_fraction=0.2, seed=0)
    chosen = data.few_shot(corpus.clips, 2, seed=0)
    assert np.bincount(chosen.labels).tolist() == [2, 2, 2]
    assert np.array_equal(data.few_shot(corpus.clips, 2, seed=0).labels, chosen.labels)
    with pytest.raises(DataError, match="3 per class were asked for"):
        data.few_shot(data.few_shot(corpus.clips, 2, seed=0), 3, seed=0)


def test_class_folder_converts_odd_formats_and_skips_bad_files(tmp_path):
    wavs.write(tmp_path / "high" / "a.wav", wavs.tone(1200.0))
    wavs.write(tmp_path / "high" / "b.wav", wavs.tone(1200.0, sample_rate=44100), sample_rate=44100, kind="int24")
    wavs.write(tmp_path / "high" / "c.wav", np.stack([wavs.tone(1200.0)] * 2, axis=1), kind="uint8")
    wavs.write(tmp_path / "low" / "a.wav", wavs.tone(200.0), kind="float32")
    wavs.write(tmp_path / "low" / "b.wav", np.zeros(0))
    (tmp_path / "low" / "c.mp3").write_bytes(b"ID3")
    corpus = data.load_corpus("folder", data_dir=str(tmp_path))
    assert corpus.class_names == ["high", "low"] and np.bincount(corpus.clips.labels).tolist() == [3, 1]
    assert corpus.adjusted.counts["resampled from 44100 Hz to 8000 Hz"] == 1
    assert corpus.adjusted.counts["mixed down from 2 channels"] == 1
    assert corpus.adjusted.counts["converted from 8-bit samples"] == 1
    assert corpus.adjusted.counts["converted from 32-bit samples"] == 2  # 24-bit PCM and float
    assert corpus.skipped.counts == {"empty WAV file": 1, "not one of ['.wav']": 1}


def test_class_folder_with_a_single_class_is_rejected(tmp_path):
    wavs.write(tmp_path / "only" / "a.wav", wavs.tone(300.0))
    with pytest.raises(DataError, match=r"at least 2 class subfolders .* received 1 \(\['only'\]\)"):
        data.load_corpus("folder", data_dir=str(tmp_path))


def test_speech_commands_folder_layout_uses_its_lists_and_command_words(tmp_path):
    for word, frequency in (("yes", 400.0), ("no", 900.0), ("marvin", 600.0)):
        for speaker in ("aa11", "bb22", "cc33"):
            wavs.write(tmp_path / word / f"{speaker}_nohash_0.wav", wavs.tone(frequency, 1.0, 16000), sample_rate=16000)
    (tmp_path / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\nno/bb22_nohash_0.wav\n")
    (tmp_path / "testing_list.txt").write_text("yes/cc33_nohash_0.wav\nno/cc33_nohash_0.wav\n")
    audio_data = data.load("speech_commands", data_dir=str(tmp_path))
    assert audio_data.class_names == data.COMMAND_WORDS
    assert (len(audio_data.train), len(audio_data.validation), len(audio_data.test)) == (2, 2, 2)
    assert set(audio_data.test.speakers) == {"cc33"}
    assert audio_data.skipped.counts == {"word not in the vocabulary": 3}
    assert audio_data.adjusted.counts == {"resampled from 16000 Hz to 8000 Hz": 6}


def test_tfds_speech_commands_path_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        corpus = data._speech_commands_tfds(8000, 8000, data.COMMAND_WORDS)
    assert corpus.source == "online" and corpus.clips.waveforms.shape[1] == 8000
    assert len(corpus.clips) + corpus.skipped.total() == 36  # 12 per split; _silence_/_unknown_ and silent ones skipped
    assert set(corpus.split.tolist()) <= {"train", "validation", "test"}


def test_tfds_spoken_digit_path_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        corpus = data._fsdd_tfds(8000, 8000)
    # Mock file names are random text, so no speaker or official split can be parsed from them.
    assert corpus.source == "online" and corpus.clips.waveforms.shape == (6, 8000)
    assert corpus.class_names == data.DIGIT_CLASSES and set(corpus.split.tolist()) == {""}


def test_synthetic_speech_is_deterministic_per_seed_and_cached():
    first = data.load_corpus("synthetic", vocabulary="commands", synthetic_per_class=2, seed=3)
    assert first.class_names == synthesis.CLASS_NAMES["commands"] and first.source == "bundled"
    assert first.clips.waveforms.shape == (20, 8000) and np.bincount(first.clips.labels).tolist() == [2] * 10
    assert all("+" in voice or voice.startswith("en") for voice in first.clips.speakers)
    cached = synthesis.cache_path("commands", 2, 3, 8000)
    assert cached.exists()
    again = data.load_corpus("synthetic", vocabulary="commands", synthetic_per_class=2, seed=3)
    np.testing.assert_array_equal(first.clips.waveforms, again.clips.waveforms)
    cached.unlink()  # synthesized again, in a fresh process: the same audio
    regenerated = data.load_corpus("synthetic", vocabulary="commands", synthetic_per_class=2, seed=3)
    np.testing.assert_array_equal(first.clips.waveforms, regenerated.clips.waveforms)
    other = data.load_corpus("synthetic", vocabulary="commands", synthetic_per_class=2, seed=4)
    assert not np.array_equal(first.clips.waveforms, other.clips.waveforms)


def test_auto_falls_back_to_synthetic_digits(tmp_path):
    audio_data = data.load("auto", data_dir=str(tmp_path), synthetic_per_class=5)
    assert audio_data.name == "synthetic_digits" and audio_data.class_names == [str(d) for d in range(10)]
    assert len(audio_data.train) + len(audio_data.validation) + len(audio_data.test) == 50
    assert np.bincount(audio_data.test.labels).tolist() == [1] * 10  # stratified 20% hold-out


def test_pipeline_yields_waveforms_and_one_hot_labels_and_repeats_small_sets(fsdd_folder):
    clips = data.few_shot(data.load_corpus("fsdd", data_dir=str(fsdd_folder)).clips, 1, seed=0)
    dataset = data.pipeline(clips, num_classes=10, batch_size=4, seed=0, train=True, min_examples_per_epoch=10)
    batches = list(dataset)
    x, y = batches[0]
    assert tuple(x.shape) == (4, 8000) and x.dtype.name == "float32" and tuple(y.shape) == (4, 10)
    assert sum(int(b[0].shape[0]) for b in batches) == 12  # 3 clips repeated 4 times to reach 10
    assert np.allclose(y.numpy().sum(axis=1), 1)


def test_real_fsdd_loads_with_the_official_split(real_data_dir):
    corpus = data.load_corpus("fsdd", data_dir=str(real_data_dir))
    assert len(corpus.clips) == 3000 and (corpus.split == "test").sum() == 300
    assert corpus.speaker_names == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert corpus.skipped.total() == 0 and corpus.adjusted.counts == {"longer than the 1 s window: loudest part kept": 20}
