"""The speech example through its real command line: a run, its results files, predict, and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.applications.speech import wavs
from tests.helpers import run_cli

TONE_CLASSES = {"low": 300.0, "mid": 900.0, "high": 2000.0}


@pytest.fixture(scope="module")
def tone_folder(tmp_path_factory):
    """Three easy classes of tones in class subfolders, plus files each loader rule must handle."""
    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    for name, frequency in TONE_CLASSES.items():
        for i in range(20):
            seconds = rng.uniform(0.2, 0.6)
            wavs.write(root / name / f"{i}.wav", wavs.tone(frequency * rng.uniform(0.97, 1.03), seconds, amplitude=rng.uniform(0.1, 0.8)))
    wavs.write(root / "low" / "stereo_24bit.wav", np.stack([wavs.tone(300.0)] * 2, axis=1), kind="int24")
    wavs.write(root / "mid" / "cd_rate.wav", wavs.tone(900.0, sample_rate=44100), sample_rate=44100)
    wavs.write(root / "high" / "long.wav", wavs.tone(2000.0, 2.5))
    wavs.write(root / "high" / "silent.wav", np.zeros(4000))
    (root / "mid" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "low" / "notes.txt").write_text("not audio")
    return root


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tone_folder):
    base = tmp_path_factory.mktemp("speech_run")
    run_cli(
        "run", "speech", "--preset", "smoke", "--dataset", "folder", "--data-dir", str(tone_folder),
        "--max-train-examples", "0", "--epochs", "6", "--batch-size", "16", "--learning-rate", "0.005",
        "--workdir", str(base / "work"), "--results-dir", str(base / "results"),
    )
    return base


def test_run_writes_results_that_show_learning_and_counts_bad_files(trained_run, tone_folder):
    # Filed under the data folder's name, the run named by the values changed from the smoke preset.
    run_dir = trained_run / "results" / "speech" / tone_folder.name / "smoke-batch16-epochs6-lr0.005-max_train_examples0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # Three tone classes: chance is 1/3; a working front end and CNN separate them in 6 epochs.
    assert metrics["headline"]["metric"] == "accuracy" and metrics["headline"]["value"] > 0.8
    assert metrics["metrics"]["test_examples"] == 12 and set(metrics["metrics"]["per_class"]) == set(TONE_CLASSES)
    assert metrics["baselines"]["mfcc_svm"]["accuracy"] > 0.8
    skipped, adjusted = metrics["skipped"]["skipped"], metrics["skipped"]["adjusted"]
    assert skipped["not a readable WAV file"]["count"] == 1 and skipped["silent clip (peak below -80 dBFS)"]["count"] == 1
    assert skipped["not one of ['.wav']"]["count"] == 1
    assert adjusted["resampled from 44100 Hz to 8000 Hz"]["count"] == 1
    assert adjusted["mixed down from 2 channels"]["count"] == 1
    assert adjusted["longer than the 1 s window: loudest part kept"]["count"] == 1
    for name in ("confusion_matrix", "learning_curves", "spectrograms"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000
    config = json.loads((run_dir / "config.json").read_text())
    assert config["command"].startswith("keras-applied run speech --preset smoke") and config["dataset"] == "folder"
    card = json.loads((trained_run / "work" / "model.json").read_text())
    assert card["sample_rate"] == 8000 and card["window"] == 8000 and card["class_names"] == ["high", "low", "mid"]


def test_predict_prints_label_and_probability_and_skips_bad_files(trained_run, tmp_path):
    clip = wavs.write(tmp_path / "mid_16k_stereo.wav", np.stack([wavs.tone(900.0, 0.4, 16000)] * 2, axis=1), sample_rate=16000)
    silent = wavs.write(tmp_path / "silent.wav", np.zeros(800))
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    result = run_cli("predict", "speech", "--model", str(trained_run / "work" / "model.keras"), str(clip), str(silent),
                     str(broken), check=False)
    # Any unusable input makes the exit status 1; results on stdout, skipped files on stderr.
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    label, probability = lines[0].split(": ", 1)[1].split(" (")[0].split()
    assert label == "mid" and 0.5 < float(probability) <= 1.0
    assert "resampled from 16000 Hz; mixed down from 2 channels" in lines[0]
    skipped = [line for line in result.stderr.splitlines() if ": skipped:" in line]
    assert skipped[0].startswith(f"{silent}: skipped:") and "is silent" in skipped[0]
    assert skipped[1].startswith(f"{broken}: skipped:") and "not a readable WAV file" in skipped[1]


def test_predict_refuses_files_that_are_not_speech_models(tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    result = run_cli("predict", "speech", "--model", str(fake), "x.wav", check=False)
    assert result.returncode == 1 and "Expected a Keras model saved as a '.keras' archive" in result.stderr


def test_bad_flags_and_values_exit_with_clear_messages():
    result = run_cli("run", "speech", "--preset", "smoke", "--protocl", "loso", check=False)
    assert result.returncode == 2 and "Did you mean '--protocol'" in result.stderr
    result = run_cli("run", "speech", "--preset", "smoke", "--protocol", "loso", "--dataset", "synthetic", check=False)
    assert result.returncode == 2 and "--protocol loso uses FSDD" in result.stderr
    result = run_cli("run", "speech", "--preset", "smoke", "--noise-snr-db", "30", "10", check=False)
    assert result.returncode == 2 and "noise_snr_db must be two values, low <= high; received (30.0, 10.0)" in result.stderr


def test_list_and_help_describe_the_domain():
    listing = run_cli("list").stdout
    assert "speech:" in listing and "speech_commands" in listing
    help_text = run_cli("run", "speech", "--help").stdout
    assert "--protocol" in help_text and "leave one FSDD speaker out" in help_text
    predict_help = run_cli("predict", "speech", "--help").stdout
    assert "--model" in predict_help and "--top-k" in predict_help
