"""The leave-one-speaker-out and transfer protocols end to end on a tiny FSDD-shaped folder of
tones (in-process; the official protocol goes through the CLI in test_cli.py)."""

from __future__ import annotations

import json

import pytest

from applications.speech import train
from applications.speech.config import SpeechConfig
from common.errors import ConfigError
from tests.applications.speech import wavs


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    return wavs.fake_fsdd(tmp_path_factory.mktemp("fsdd"), speakers=("alice", "bob"), digits=range(10), indices=range(6))


def test_leave_one_speaker_out_trains_once_per_speaker(fsdd, tmp_path):
    config = SpeechConfig.from_preset("smoke", dataset="fsdd", data_dir=str(fsdd), protocol="loso", max_train_examples=0,
                                      baseline=False)
    returned = train.train_and_evaluate(config, workdir=str(tmp_path / "work"), results_dir=str(tmp_path / "results"))
    run_dir = tmp_path / "results/speech/fsdd" / train.run_name(config)
    assert run_dir.name == "smoke-loso-no_baseline-max_train_examples0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    folds = metrics["metrics"]["folds"]
    # 2 speakers x 10 digits x 6 clips: test on one speaker's 60, train on 50 of the other's (10 validation).
    assert set(folds) == {"alice", "bob"} and all(f["test_examples"] == 60 and f["train_examples"] == 50 for f in folds.values())
    assert metrics["headline"]["split"] == "leave-one-speaker-out mean of 2" and metrics["baselines"] == {}
    assert returned["mean_accuracy"] == pytest.approx((folds["alice"]["accuracy"] + folds["bob"]["accuracy"]) / 2)
    assert (run_dir / "plots/per_speaker_accuracy.png").exists() and (run_dir / "folds.csv").exists()


def test_transfer_compares_pretraining_scratch_and_svm_on_the_same_clips(fsdd, tmp_path):
    config = SpeechConfig.from_preset("smoke", dataset="fsdd", data_dir=str(fsdd), protocol="transfer", max_train_examples=0)
    train.train_and_evaluate(config, workdir=str(tmp_path / "work"), results_dir=str(tmp_path / "results"))
    run_dir = tmp_path / "results/speech/fsdd" / train.run_name(config)
    assert run_dir.name == "smoke-transfer-max_train_examples0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    summary = metrics["metrics"]["summary"]
    # k = 1 and all; the official training split of the fake FSDD has 2 speakers x 1 index per digit.
    assert list(summary) == ["1", "all"] and summary["1"]["train_examples"] == 10 and summary["all"]["train_examples"] == 20
    assert all(0.0 <= summary[k][m] <= 1.0 for k in summary for m in ("scratch", "pretrained", "mfcc_svm"))
    assert metrics["headline"]["split"] == "test, k=1 real clips per digit"
    assert set(metrics["baselines"]) == {"scratch_k1", "mfcc_svm_k1"}
    assert (run_dir / "transfer.csv").read_text().count("\n") == 3
    for name in ("transfer_accuracy", "synthetic_spectrograms", "real_spectrograms"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000


def test_run_names_and_protocol_rules():
    smoke = SpeechConfig.smoke()
    assert train.run_name(smoke) == "smoke" and train.model_description(smoke) == "logmel_cnn[8, 16]"
    pretrained_loso = smoke.replace(dataset="fsdd", protocol="loso", synthetic_pretraining=True, architecture="transformer")
    assert train.run_name(pretrained_loso) == "smoke-loso-transformer-pretrained"
    assert train.model_description(pretrained_loso) == "logmel_transformer[d32x1] + synthetic pretraining"
    with pytest.raises(ConfigError, match="--synthetic-pretraining pretrains on synthesized digits for FSDD"):
        smoke.replace(dataset="speech_commands", synthetic_pretraining=True)
    with pytest.raises(ConfigError, match="must be divisible by num_heads"):
        smoke.replace(model_dim=30, num_heads=4)
