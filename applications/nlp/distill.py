"""Knowledge distillation: a trained model's probabilities as training targets for another.

A fine-tuned pretrained encoder (the teacher) labels every training text with its class
probabilities; a from-scratch model (the student) trains on a mix of those and the true labels
(Hinton et al. 2015; Tang et al. 2019 distil BERT into a BiLSTM the same way). The student keeps
its own small architecture and random initialisation; the teacher's graded judgements ("mostly
positive", "not sure") carry more information per phrase than a hard label. Validation and test
use the true labels only, so the reported accuracy is comparable with a labels-only run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from applications.nlp import data, models
from common.errors import UserInputError

log = logging.getLogger("keras_applied.nlp")


def mix_targets(labels: np.ndarray, teacher_probabilities: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * one_hot(labels) + weight * teacher_probabilities``, float32 [N, C]."""
    num_classes = teacher_probabilities.shape[1]
    one_hot = np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]
    return ((1.0 - weight) * one_hot + weight * teacher_probabilities).astype(np.float32)


def distillation_data(texts: data.TextData, teacher_path: str, weight: float) -> tuple[data.TextData, dict[str, Any]]:
    """``texts`` with soft training targets from the teacher and one-hot validation targets
    (test keeps its integer labels), and a summary of the teacher's labelling."""
    from applications.nlp import predict  # loads either family and registers its layers

    teacher, metadata = predict.load(teacher_path)
    teacher_classes = metadata.get("class_names")
    if teacher_classes != texts.class_names:
        raise UserInputError(
            f"--teacher {teacher_path!r} predicts the classes {teacher_classes}; the training data has "
            f"{texts.class_names}. Expected a teacher trained on the same dataset and labels."
        )
    started = time.perf_counter()
    log.info("teacher %s labels %d training texts", teacher_path, len(texts.train[0]))
    probabilities = models.predict_texts(teacher, texts.train[0])
    seconds = time.perf_counter() - started
    num_classes = len(texts.class_names)
    soft = mix_targets(texts.train[1], probabilities, weight)
    validation = np.eye(num_classes, dtype=np.float32)[texts.validation[1]]
    summary = {
        "teacher": str(teacher_path),
        "teacher_model": metadata.get("model"),
        "teacher_weight": weight,
        "teacher_train_accuracy": float(np.mean(np.argmax(probabilities, axis=1) == texts.train[1])),
        "teacher_mean_confidence": float(np.mean(np.max(probabilities, axis=1))),
        "teacher_seconds": round(seconds, 1),
    }
    log.info("teacher agrees with %.1f%% of the training labels (%.0f s)", 100 * summary["teacher_train_accuracy"], seconds)
    return dataclasses.replace(texts, train=(texts.train[0], soft), validation=(texts.validation[0], validation)), summary
