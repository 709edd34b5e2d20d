"""Train and evaluate an image classifier: the one entry point for the CLI, notebook and tests."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.vision import data, models
from applications.vision.config import VisionConfig
from common import evaluation, paths, plots, results, saving, training
from common.errors import DataError, UserInputError

DOMAIN = "vision"
log = logging.getLogger("keras_applied.vision")


def run_name(config: VisionConfig) -> str:
    """Results folder name: the preset, the backbone when it is not the default CNN, then the values
    changed from the preset or the run tag (common.config.RunConfig.run_suffix)."""
    return config.run_name("" if config.backbone == "resnet" else config.backbone, named=("backbone",))


def build_model(config: VisionConfig, image_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    if config.backbone == "resnet":
        return models.build_residual_cnn(
            input_shape=image_shape,
            num_classes=num_classes,
            widths=config.widths,
            blocks_per_stage=config.blocks_per_stage,
            dropout_rate=config.dropout_rate,
        )
    weights = None if config.weights == "none" else config.weights
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise DataError(f"--weights {weights!r}: expected 'imagenet', 'none' or an existing weights file.")
    try:
        return models.build_transfer_model(
            input_shape=image_shape,
            num_classes=num_classes,
            backbone=config.backbone,
            weights=weights,
            freeze_backbone=config.freeze_backbone and weights is not None,
            dropout_rate=config.dropout_rate,
        )
    except UserInputError:
        raise  # already says what to do (e.g. install the package with Lite0's offline weights)
    except Exception as error:  # noqa: BLE001 - keras raises URL/IO/Value errors for weights
        if weights == "imagenet":
            raise UserInputError(
                f"Could not get ImageNet weights for {config.backbone} ({type(error).__name__}: "
                f"{str(error)[:200]}). Offline, download them elsewhere and pass the file with "
                "--weights PATH, or train from random init with --weights none."
            ) from error
        raise


def compile_model(
    model: keras.Model, config: VisionConfig, steps_per_epoch: int, learning_rate: float | None = None
) -> None:
    optimizer = keras.optimizers.AdamW(
        learning_rate=training.cosine_schedule(learning_rate or config.learning_rate, config.epochs * steps_per_epoch),
        weight_decay=config.weight_decay,
    )
    # Weight decay on normalisation scales and biases only hurts; decay the kernels alone.
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def evaluate(model: keras.Model, images: data.ImageData, test_ds) -> tuple[dict[str, Any], dict, dict]:
    """Test metrics, figures and tables for a trained model."""
    x_test, y_test = images.test
    probabilities = training.predict(model, test_ds)
    predicted = probabilities.argmax(axis=1)
    report = evaluation.classification_report(y_test, predicted, images.class_names)
    matrix = evaluation.confusion_matrix(y_test, predicted, len(images.class_names))
    wrong = np.flatnonzero(predicted != y_test)
    # The most confident mistakes first: where the model is most sure and still wrong.
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:32]
    names = images.class_names
    figures = {
        "confusion_matrix": plots.confusion_matrix(matrix, names, title=f"{images.name} test confusion matrix"),
        "misclassified": plots.image_grid(
            x_test[wrong],
            [f"true {names[y_test[i]]}\npred {names[predicted[i]]} {probabilities[i, predicted[i]]:.2f}" for i in wrong],
            title="Most confident test mistakes",
        ),
    }
    tables = {
        "per_class": [{"class": n, **values} for n, values in report["per_class"].items()],
        "confusion_matrix": [{"true": names[i], **{names[j]: int(matrix[i, j]) for j in range(len(names))}} for i in range(len(names))],
    }
    metrics = {"test_accuracy": report["accuracy"], "test_macro_f1": report["macro_f1"], "per_class": report["per_class"]}
    return metrics, figures, tables


def train_and_evaluate(
    config: VisionConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train ``config``'s model, evaluate it on the test split, write results; returns metrics."""
    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    with training.session_for(config) as session:
        images = data.load(
            config.dataset, data_dir=config.data_dir, seed=config.seed,
            validation_fraction=config.validation_fraction, image_size=config.image_size,
            max_train_examples=config.max_train_examples,
        )
        dataset_folder = config.dataset_folder(images.name)
        workdir = paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir)
        num_classes = len(images.class_names)
        batch_size = session.batch_size(config.batch_size)  # global, a multiple of the replicas
        train_ds, validation_ds, test_ds = data.pipelines(
            images, num_classes=num_classes, batch_size=batch_size, seed=config.seed, augment=config.augment
        )
        model = build_model(config, images.image_shape, num_classes)
        steps_per_epoch = math.ceil(len(images.train[1]) / batch_size)
        compile_model(model, config, steps_per_epoch, session.learning_rate(config.learning_rate, config.batch_size))
        log.info("model %s: %s parameters, dtype policy %s", model.name, f"{model.count_params():,}", session.policy)
        history = training.fit(
            model, train_ds, validation_ds, epochs=config.epochs, workdir=workdir,
            monitor="val_accuracy", mode="max", patience=config.patience or None,
        )
        metrics, figures, tables = evaluate(model, images, test_ds)
        figures["learning_curves"] = plots.learning_curves(history, title=f"{model.name} on {images.name}")
        model_path = saving.save_model(
            model, Path(workdir) / "model.keras",
            {"domain": DOMAIN, "dataset": images.name, "class_names": images.class_names,
             "image_shape": images.image_shape, "preset": config.preset},
        )
    run_dir = recorder.save(
        dataset=dataset_folder,
        run_name=run_name(config),
        model=config.backbone if config.backbone != "resnet" else f"residual_cnn{list(config.widths)}x{config.blocks_per_stage}",
        headline=results.headline("accuracy", metrics["test_accuracy"], higher_is_better=True),
        metrics={**metrics, "parameters": model.count_params(), "epochs_run": len(history.get("loss", [])),
                 "optimizer_steps": int(history["optimizer_steps"][-1]) if history.get("optimizer_steps") else None,
                 "train_examples": len(images.train[1]), "test_examples": len(images.test[1]),
                 "data_source": images.source},
        history=history,
        skipped={"skipped": images.skipped.to_dict(), "adjusted": images.adjusted.to_dict()},
        figures=figures,
        tables=tables,
        policy=session.policy,
        extra={"model_path": str(model_path)},
    )
    return {"test_accuracy": metrics["test_accuracy"], "test_macro_f1": metrics["test_macro_f1"],
            "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir), "model_path": str(model_path)}
