"""Train and evaluate a text classifier: the one entry point for the CLI, notebook and tests."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.nlp import baselines, data, distill, models
from applications.nlp.config import NLPConfig
from common import evaluation, paths, plots, results, saving, training

DOMAIN = "nlp"
log = logging.getLogger("keras_applied.nlp")
MISTAKES_SHOWN = 50


def run_name(config: NLPConfig) -> str:
    """Results folder name: the preset, the model family, ``distilled`` with --teacher, then the
    values changed from the preset or the run tag: ``quick-transformer``, ``quick-lstm-distilled``,
    ``quick-transformer-epochs10`` or ``full-pretrained-lr3e-5`` (--run-tag lr3e-5)."""
    return config.run_name(config.model, "distilled" if config.teacher else "", named=("model", "teacher"))


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------
def build_scratch(config: NLPConfig, texts: data.TextData, sequence_length: int):
    """(featurize, classifier, saved model) of a from-scratch family."""
    import tensorflow as tf

    vectorizer = models.build_vectorizer(
        texts.train[0], vocabulary_size=config.vocabulary_size, sequence_length=sequence_length
    )
    options = dict(vocabulary_size=vectorizer.vocabulary_size(), sequence_length=sequence_length,
                   num_classes=len(texts.class_names), embedding_dim=config.embedding_dim,
                   dropout_rate=config.dropout_rate)
    if config.model == "transformer":
        classifier = models.build_transformer_classifier(
            **options, num_layers=config.num_layers, num_heads=config.num_heads,
            feed_forward_dim=config.feed_forward_dim,
        )
    else:
        classifier = models.build_lstm_classifier(**options, lstm_units=config.lstm_units)

    def featurize(text):  # one string -> [T] int32 token ids
        return tf.cast(vectorizer(tf.expand_dims(text, 0))[0], tf.int32)

    return featurize, classifier, models.build_text_model(vectorizer, classifier, name=f"{config.model}_text_classifier")


def build_pretrained(config: NLPConfig, texts: data.TextData, sequence_length: int):
    """(featurize, classifier, saved model) of the pretrained family: one keras-hub task that
    trains on token ids and, with its preprocessor attached for saving, takes raw strings."""
    from applications.nlp import pretrained

    backbone, preprocessor = pretrained.load_encoder(config.checkpoint, sequence_length)
    classifier = pretrained.build_pretrained_classifier(
        backbone, num_classes=len(texts.class_names), dropout_rate=config.dropout_rate
    )

    def featurize(text):  # one string -> {token_ids, segment_ids, padding_mask: [T]}
        return preprocessor(text)

    return featurize, classifier, preprocessor


def learning_rate_schedule(config: NLPConfig, total_steps: int, learning_rate: float | None = None):
    """Linear warm-up (10% of the steps when fine-tuning, else 5%), then ``config.lr_schedule``
    decay to zero at ``total_steps``."""
    peak = learning_rate or config.learning_rate
    warmup = 0.1 if config.model == "pretrained" else 0.05
    if config.lr_schedule == "linear":
        return LinearSchedule(peak, total_steps, int(total_steps * warmup))
    return training.cosine_schedule(peak, total_steps, warmup)


@keras.saving.register_keras_serializable(package="keras_applied")
class LinearSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``learning_rate`` over ``warmup_steps``, then linear decay to 0 at
    ``total_steps`` (and 0 after). (common.training has only the cosine schedule.)"""

    def __init__(self, learning_rate: float, total_steps: int, warmup_steps: int = 0):
        self.learning_rate = float(learning_rate)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = min(max(int(warmup_steps), 0), self.total_steps - 1)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rising = (step + 1.0) / float(max(self.warmup_steps, 1)) if self.warmup_steps else 1.0
        falling = (self.total_steps - step) / float(self.total_steps - self.warmup_steps)
        return self.learning_rate * keras.ops.clip(keras.ops.minimum(rising, falling), 0.0, 1.0)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


def compile_model(model: keras.Model, config: NLPConfig, steps_per_epoch: int, learning_rate: float | None = None,
                  soft_targets: bool = False) -> None:
    """AdamW with the configured schedule; cross-entropy on integer labels, or on probability
    vectors [B, C] when ``soft_targets`` (distillation)."""
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate_schedule(config, config.epochs * steps_per_epoch, learning_rate),
        weight_decay=config.weight_decay,
        global_clipnorm=1.0,
    )
    # Decay kernels and embeddings only; decaying normalisation scales and biases only hurts.
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    if soft_targets:
        loss, accuracy = keras.losses.CategoricalCrossentropy(), keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss, accuracy = keras.losses.SparseCategoricalCrossentropy(), keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=optimizer, loss=loss, metrics=[accuracy])


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
def scores(labels: np.ndarray, probabilities: np.ndarray, class_names: list[str], positive_class: str | None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class metrics; ROC-AUC for two classes; the F1 of the class of
    interest (``<class>_f1``) where the dataset has one."""
    predicted = probabilities.argmax(axis=1)
    report = evaluation.classification_report(labels, predicted, class_names)
    result = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
    if len(class_names) == 2:
        positive = class_names.index(positive_class) if positive_class else 1
        result["roc_auc"] = evaluation.roc_auc(labels == positive, probabilities[:, positive])
    if positive_class:
        result[f"{positive_class}_f1"] = report["per_class"][positive_class]["f1"]
    return {**result, "per_class": report["per_class"]}


def headline_metric(texts: data.TextData) -> str:
    return f"{texts.positive_class}_f1" if texts.positive_class else "accuracy"


def mistakes_table(texts: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]) -> list[dict]:
    """The most confident wrong predictions first: where the model is most sure and still wrong."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:MISTAKES_SHOWN]
    return [
        {"confidence": round(float(probabilities[i, predicted[i]]), 4), "true": class_names[labels[i]],
         "predicted": class_names[predicted[i]], "text": texts[i]}
        for i in wrong
    ]


def figures_and_tables(texts: data.TextData, probabilities: np.ndarray, baseline_probabilities: np.ndarray | None,
                       model_name: str) -> tuple[dict, dict]:
    test_texts, labels = texts.test
    names = texts.class_names
    predicted = probabilities.argmax(axis=1)
    matrix = evaluation.confusion_matrix(labels, predicted, len(names))
    figures = {"confusion_matrix": plots.confusion_matrix(matrix, names, title=f"{texts.name} test confusion matrix")}
    if len(names) == 2:
        positive = names.index(texts.positive_class) if texts.positive_class else 1
        curves = {}
        for label, values in ((model_name, probabilities), ("TF-IDF + logistic regression", baseline_probabilities)):
            if values is not None:
                fpr, tpr, _ = evaluation.roc_curve(labels == positive, values[:, positive])
                curves[label] = (fpr, tpr, evaluation.roc_auc(labels == positive, values[:, positive]))
        figures["roc_curve"] = plots.roc_curve(curves, title=f"{texts.name} test ROC ('{names[positive]}' positive)")
    report = evaluation.classification_report(labels, predicted, names)
    tables = {
        "per_class": [{"class": n, **values} for n, values in report["per_class"].items()],
        "confusion_matrix": [{"true": names[i], **{names[j]: int(matrix[i, j]) for j in range(len(names))}}
                             for i in range(len(names))],
        "mistakes": mistakes_table(test_texts, labels, probabilities, names),
    }
    return figures, tables


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------
def train_and_evaluate(
    config: NLPConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train ``config``'s model, evaluate it on the test split, write results; returns metrics."""
    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    with training.session_for(config) as session:
        texts = data.load(
            config.dataset, data_dir=config.data_dir, data_file=config.data_file, test_file=config.test_file,
            text_column=config.text_column, label_column=config.label_column, seed=config.seed,
            validation_fraction=config.validation_fraction, test_fraction=config.test_fraction,
            max_train_examples=config.max_train_examples, max_test_examples=config.max_test_examples,
        )
        dataset_folder = config.dataset_folder(texts.name)
        workdir = Path(paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir))
        pretrained_family = config.model == "pretrained"
        sequence_length = data.choose_sequence_length(
            texts.train[0], config.sequence_length, subword_factor=1.3 if pretrained_family else 1.0
        )
        if pretrained_family:
            featurize, classifier, preprocessor = build_pretrained(config, texts, sequence_length)
        else:
            featurize, classifier, text_model = build_scratch(config, texts, sequence_length)
        batch_size = session.batch_size(config.batch_size)  # global, a multiple of the replicas
        training_texts, distillation = texts, {}
        if config.teacher:
            training_texts, distillation = distill.distillation_data(texts, config.teacher, config.teacher_weight)
        train_ds, validation_ds, test_ds = data.pipelines(
            training_texts, featurize, batch_size=batch_size, seed=config.seed, sequence_length=sequence_length
        )
        steps_per_epoch = math.ceil(len(texts.train[1]) / batch_size)
        compile_model(classifier, config, steps_per_epoch, session.learning_rate(config.learning_rate, config.batch_size),
                      soft_targets=bool(config.teacher))
        log.info("model %s: %s parameters, sequence length %d, dtype policy %s", config.model,
                 f"{classifier.count_params():,}", sequence_length, session.policy)

        started = time.perf_counter()
        history = training.fit(
            classifier, train_ds, validation_ds, epochs=config.epochs, workdir=workdir,
            monitor="val_accuracy", mode="max", patience=config.patience or None,
        )
        train_seconds = time.perf_counter() - started
        probabilities = np.asarray(training.predict(classifier, test_ds), dtype=np.float64)
        metrics = scores(texts.test[1], probabilities, texts.class_names, texts.positive_class)

        baseline_probabilities, baseline_scores = None, {}
        if config.baseline:
            baseline_probabilities, chosen = baselines.tfidf_logistic_regression(
                np.concatenate([texts.train[0], texts.validation[0]]),
                np.concatenate([texts.train[1], texts.validation[1]]),
                texts.test[0], seed=config.seed,
            )
            baseline_scores = {"tfidf_logreg": {
                **{k: v for k, v in scores(texts.test[1], baseline_probabilities, texts.class_names,
                                           texts.positive_class).items() if k != "per_class"},
                **chosen,
            }}
        figures, tables = figures_and_tables(texts, probabilities, baseline_probabilities, config.model)
        figures["learning_curves"] = plots.learning_curves(history, title=f"{config.model} on {texts.name}")

        # The saved model takes raw strings; check that it reproduces the evaluated predictions.
        if pretrained_family:
            from applications.nlp import pretrained

            saved = pretrained.export_classifier(classifier, preprocessor)
        else:
            saved = text_model
        sample = texts.test[0][:16]
        check = float(np.max(np.abs(models.predict_texts(saved, sample) - probabilities[: len(sample)]))) if len(sample) else 0.0
        model_path = saving.save_model(
            saved, workdir / "model.keras",
            {"domain": DOMAIN, "dataset": texts.name, "class_names": texts.class_names, "model": config.model,
             "sequence_length": sequence_length, "preset": config.preset,
             "checkpoint": config.checkpoint if pretrained_family else None},
        )
    headline = headline_metric(texts)
    run_dir = recorder.save(
        dataset=dataset_folder,
        run_name=run_name(config),
        model=describe(config, sequence_length),
        headline=results.headline(headline, metrics[headline], higher_is_better=True),
        metrics={**metrics, "parameters": classifier.count_params(), "sequence_length": sequence_length,
                 "epochs_run": len(history.get("loss", [])), "train_seconds": round(train_seconds, 1),
                 "optimizer_steps": int(history["optimizer_steps"][-1]) if history.get("optimizer_steps") else None,
                 "best_validation_accuracy": max(history.get("val_accuracy", [float("nan")])),
                 "train_examples": len(texts.train[1]), "validation_examples": len(texts.validation[1]),
                 "test_examples": len(texts.test[1]), "data_source": texts.source,
                 "saved_model_max_abs_difference": check, **distillation},
        baselines=baseline_scores,
        history=history,
        skipped={"skipped": texts.skipped.to_dict(), "adjusted": texts.adjusted.to_dict()},
        figures=figures,
        tables=tables,
        policy=session.policy,
        extra={"model_path": str(model_path)},
    )
    return {"headline_metric": headline, "headline": metrics[headline], "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"], "baselines": baseline_scores,
            "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir), "model_path": str(model_path)}


def describe(config: NLPConfig, sequence_length: int) -> str:
    """A short model description for results tables."""
    if config.model == "pretrained":
        return f"{config.checkpoint} fine-tuned (T={sequence_length})"
    distilled = f", distilled (teacher weight {config.teacher_weight:g})" if config.teacher else ""
    if config.model == "lstm":
        return f"BiLSTM {config.lstm_units}x2, emb {config.embedding_dim} (T={sequence_length}){distilled}"
    return (f"Transformer {config.num_layers}x(d={config.embedding_dim}, h={config.num_heads}, "
            f"ff={config.feed_forward_dim}) (T={sequence_length}){distilled}")
