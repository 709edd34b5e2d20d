"""Knowledge distillation: a saved model's probabilities become a from-scratch student's targets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.applications.nlp.conftest import sentiment_texts, write_csv


def test_mix_targets_blends_one_hot_labels_with_the_teacher():
    from applications.nlp.distill import mix_targets

    teacher = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]], dtype=np.float32)
    labels = np.array([0, 1, 1])
    np.testing.assert_allclose(mix_targets(labels, teacher, 0.0), np.eye(2)[labels])
    np.testing.assert_allclose(mix_targets(labels, teacher, 1.0), teacher)
    mixed = mix_targets(labels, teacher, 0.5)
    np.testing.assert_allclose(mixed, [[0.95, 0.05], [0.15, 0.85], [0.3, 0.7]], rtol=1e-6)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-6)


@pytest.fixture(scope="module")
def teacher_and_data(tmp_path_factory):
    """A smoke Transformer (the teacher) trained on a small separable CSV, and that CSV."""
    from applications.nlp import train
    from applications.nlp.config import NLPConfig

    base = tmp_path_factory.mktemp("nlp_teacher")
    texts, labels = sentiment_texts(600)
    write_csv(base / "reviews.csv", texts, labels)
    config = NLPConfig.from_preset("smoke", dataset="csv", data_file=str(base / "reviews.csv"), epochs=4,
                                   learning_rate=0.005, max_train_examples=0, baseline=False)
    result = train.train_and_evaluate(config, workdir=base / "teacher", results_dir=base / "results")
    return base, result["model_path"]


def test_a_student_trains_on_the_teachers_probabilities(teacher_and_data):
    from applications.nlp import train
    from applications.nlp.config import NLPConfig

    base, teacher = teacher_and_data
    config = NLPConfig.from_preset("smoke", model="lstm", dataset="csv", data_file=str(base / "reviews.csv"),
                                   epochs=3, learning_rate=0.005, max_train_examples=0, baseline=False,
                                   teacher=teacher, teacher_weight=0.7)
    train.train_and_evaluate(config, workdir=base / "student", results_dir=base / "results")
    run_dir = base / "results" / "nlp" / "reviews" / train.run_name(config)  # never overwrites the labels-only run
    assert run_dir.name.startswith("smoke-lstm-distilled-")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["metrics"]["teacher"] == teacher and metrics["metrics"]["teacher_weight"] == 0.7
    assert metrics["metrics"]["teacher_train_accuracy"] > 0.7  # the teacher learned the task (chance: 0.5)
    assert 0.0 <= metrics["headline"]["value"] <= 1.0 and "distilled" in metrics["model"]
    assert "--teacher" in metrics["command"] and "--teacher-weight 0.7" in metrics["command"]


def test_a_teacher_with_other_classes_is_refused_by_name(teacher_and_data, tmp_path):
    from applications.nlp import train
    from applications.nlp.config import NLPConfig
    from common.errors import UserInputError

    _, teacher = teacher_and_data
    write_csv(tmp_path / "other.csv", [f"text {i}" for i in range(40)], ["ham", "spam"] * 20)
    config = NLPConfig.from_preset("smoke", dataset="csv", data_file=str(tmp_path / "other.csv"), teacher=teacher,
                                   baseline=False)
    with pytest.raises(UserInputError, match=r"predicts the classes \['neg', 'pos'\].*has \['ham', 'spam'\]"):
        train.train_and_evaluate(config, workdir=tmp_path / "work", results_dir=tmp_path / "results")


def test_teacher_options_are_checked():
    from applications.nlp.config import NLPConfig
    from common.config import ConfigError

    with pytest.raises(ConfigError, match="teacher_weight must be in"):
        NLPConfig.from_preset("smoke", teacher="model.keras", teacher_weight=1.5)
    with pytest.raises(ConfigError, match="--model pretrained"):
        NLPConfig.from_preset("smoke", model="pretrained", teacher="model.keras")
