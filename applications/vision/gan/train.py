"""Train a conditional GAN and score its samples: the one entry for the CLI, notebook and tests.

Scoring (no ImageNet Inception network is available offline, so the judge is trained here):
a residual CNN classifier (:func:`applications.vision.models.build_residual_cnn`) is trained on
the real training images; generated images are scored by

- ``judge_fid``: the Frechet distance between the judge's pooled features of generated images
  and of the real test images (the FID formula in this judge's feature space; lower is better);
- ``conditional_accuracy``: how often the judge recognises the class each image was generated for.

Two references are scored the same way and reported beside the model: real training images (what
a perfect generator would reach) and the untrained generator (where training started).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.vision import data, models
from applications.vision.gan import models as gan_models
from applications.vision.gan.config import GanConfig
from common import data as data_lib
from common import evaluation, paths, plots, results, saving, training
from common.errors import DataError

DOMAIN = "vision"
log = logging.getLogger("keras_applied.vision.gan")


def run_name(config: GanConfig) -> str:
    """Results folder name: ``<preset>-gan``, then the values changed from the preset or the run tag."""
    return config.run_name("gan")


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 -1..1 (the generator's tanh range)."""
    return images.astype(np.float32) / 127.5 - 1.0


def to_pixels(images: np.ndarray) -> np.ndarray:
    """Generator output -1..1 -> float32 0..255 (what the judge reads)."""
    return np.clip((np.asarray(images, dtype=np.float32) + 1.0) * 127.5, 0.0, 255.0)


def gan_pipeline(images: np.ndarray, labels: np.ndarray, *, batch_size: int, seed: int):
    """Shuffled batches of ``({"image", "label"}, dummy target)`` for :class:`ConditionalGAN`."""
    import tensorflow as tf

    def to_inputs(image, label):
        image = tf.cast(image, tf.float32) / 127.5 - 1.0
        return {"image": image, "label": tf.cast(label, tf.int32)}, tf.zeros((), tf.float32)

    return data_lib.make_pipeline((images, labels), batch_size=batch_size, shuffle=True, seed=seed,
                                  map_fn=to_inputs, drop_remainder=True)


def generate(generator: keras.Model, labels: np.ndarray, *, seed: int, batch_size: int = 500) -> np.ndarray:
    """Images (0..255 float) generated for ``labels`` from seeded noise."""
    latent_dim = int(generator.inputs[0].shape[-1])
    noise = np.random.default_rng(seed).normal(size=(len(labels), latent_dim)).astype(np.float32)
    return to_pixels(generator.predict([noise, labels.astype(np.int32)], batch_size=batch_size, verbose=0))


class Judge:
    """A classifier of the real images whose pooled features and predictions score samples."""

    def __init__(self, classifier: keras.Model, reference_images: np.ndarray):
        self.classifier = classifier
        self.features = keras.Model(classifier.inputs, classifier.get_layer("pool").output, name="judge_features")
        self.reference = self.embed(reference_images)

    def embed(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.features.predict(images, batch_size=500, verbose=0), dtype=np.float64)

    def score(self, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """judge_fid against the reference images, and the judge's accuracy on ``labels``."""
        predicted = np.asarray(self.classifier.predict(images, batch_size=500, verbose=0)).argmax(axis=1)
        return {
            "judge_fid": evaluation.frechet_distance(self.embed(images), self.reference),
            "conditional_accuracy": evaluation.accuracy(labels, predicted),
        }


def train_judge(images: data.ImageData, config: GanConfig, workdir: Path) -> tuple[keras.Model, float]:
    """The judge classifier trained on the real training images; returns it and its test accuracy."""
    classifier = models.build_residual_cnn(input_shape=images.image_shape, num_classes=len(images.class_names),
                                           widths=(16, 32, 64), dropout_rate=0.1)
    classifier.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
    train = data_lib.make_pipeline(images.train, batch_size=128, shuffle=True, seed=config.seed,
                                   map_fn=lambda x, y: (_as_float(x), y))
    validation = data_lib.make_pipeline(images.validation, batch_size=256, map_fn=lambda x, y: (_as_float(x), y))
    training.fit(classifier, train, validation, epochs=config.judge_epochs, workdir=workdir / "judge",
                 monitor="val_accuracy", mode="max", tensorboard=False)
    predicted = np.asarray(classifier.predict(images.test[0].astype(np.float32), batch_size=500, verbose=0)).argmax(axis=1)
    return classifier, evaluation.accuracy(images.test[1], predicted)


def _as_float(images):
    import tensorflow as tf

    return tf.cast(images, tf.float32)


class SampleQuality(keras.callbacks.Callback):
    """Scores a fixed set of samples with the judge after every epoch (judge_fid by epoch)."""

    def __init__(self, judge: Judge, labels: np.ndarray, seed: int):
        super().__init__()
        self.judge, self.labels, self.seed = judge, labels, seed
        self.scores: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        score = self.judge.score(generate(self.model.generator, self.labels, seed=self.seed), self.labels)
        self.scores.append({"epoch": epoch + 1, **score})
        log.info("epoch %d: judge_fid %.3f, conditional accuracy %.3f", epoch + 1,
                 score["judge_fid"], score["conditional_accuracy"])


def balanced_labels(count: int, num_classes: int) -> np.ndarray:
    return (np.arange(count) % num_classes).astype(np.int32)


def train_and_evaluate(
    config: GanConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train the judge, then the GAN; score samples against the references; write results."""
    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    with training.session_for(config) as session:
        images = data.load(config.dataset, data_dir=config.data_dir, seed=config.seed,
                           max_train_examples=config.max_train_examples)
        dataset_folder = config.dataset_folder(images.name)
        workdir = Path(paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir))
        num_classes = len(images.class_names)
        shape = images.image_shape
        if shape[0] % 4 or shape[1] % 4:
            raise DataError(
                f"{images.name}: images are {shape[0]}x{shape[1]}; the GAN needs sides divisible by 4 "
                "(resize them with --image-size in the classifier, or pick another dataset)."
            )

        judge_model, judge_accuracy = train_judge(images, config, workdir)
        judge = Judge(judge_model, images.test[0].astype(np.float32))
        eval_labels = balanced_labels(config.eval_samples, num_classes)
        epoch_labels = balanced_labels(max(config.eval_samples // 5, num_classes), num_classes)

        batch_size = session.batch_size(config.batch_size)
        gan = gan_models.build_gan(
            latent_dim=config.latent_dim, num_classes=num_classes, image_shape=shape,
            generator_width=config.generator_width, discriminator_width=config.discriminator_width,
            learning_rate=session.learning_rate(config.learning_rate, config.batch_size), seed=config.seed,
        )
        untrained = judge.score(generate(gan.generator, eval_labels, seed=config.seed + 1), eval_labels)
        log.info("generator %s parameters, discriminator %s; dtype policy %s",
                 f"{gan.generator.count_params():,}", f"{gan.discriminator.count_params():,}", session.policy)

        quality = SampleQuality(judge, epoch_labels, seed=config.seed + 2)
        train_ds = gan_pipeline(*images.train, batch_size=batch_size, seed=config.seed)
        history = training.fit(gan, train_ds, None, epochs=config.epochs, workdir=workdir / "gan",
                               monitor="loss", restore_best=False, extra_callbacks=[quality])

        samples = generate(gan.generator, eval_labels, seed=config.seed + 1)
        final = judge.score(samples, eval_labels)
        real_count = min(len(images.train[1]), config.eval_samples)
        real = judge.score(images.train[0][:real_count].astype(np.float32), images.train[1][:real_count])
        model_path = saving.save_model(
            gan.generator, workdir / "generator.keras",
            {"domain": DOMAIN, "task": "gan", "dataset": images.name, "class_names": images.class_names,
             "image_shape": shape, "latent_dim": config.latent_dim, "preset": config.preset},
        )

    names = images.class_names
    grid_labels = np.repeat(np.arange(num_classes), 8).astype(np.int32)
    grid = generate(gan.generator, grid_labels, seed=config.seed + 3)
    figures = {
        "samples": plots.image_grid(grid, [names[i] for i in grid_labels], columns=8,
                                    title=f"Generated {images.name} images, one row per class"),
        "learning_curves": plots.learning_curves(
            {k: v for k, v in history.items() if k in ("d_loss", "g_loss", "d_accuracy")},
            title="Discriminator and generator losses"),
    }
    if quality.scores:
        figures["judge_fid_by_epoch"] = plots.lines(
            {"generator": ([s["epoch"] for s in quality.scores], [s["judge_fid"] for s in quality.scores])},
            xlabel="epoch", ylabel="judge FID (lower is better)", title="Sample quality during training",
        )
    references = {"real_training_images": real, "untrained_generator": untrained}
    run_dir = recorder.save(
        dataset=dataset_folder,
        run_name=run_name(config),
        model=f"conditional_dcgan(g={config.generator_width}, d={config.discriminator_width}, z={config.latent_dim})",
        headline=results.headline("judge_fid", final["judge_fid"], higher_is_better=False, split="generated vs test"),
        metrics={**final, "judge_test_accuracy": judge_accuracy, "eval_samples": int(len(eval_labels)),
                 "generator_parameters": gan.generator.count_params(),
                 "discriminator_parameters": gan.discriminator.count_params(),
                 "epochs_run": len(history.get("loss", [])), "train_examples": len(images.train[1]),
                 "data_source": images.source, "judge_fid_by_epoch": quality.scores},
        baselines=references,
        history=history,
        skipped={"skipped": images.skipped.to_dict(), "adjusted": images.adjusted.to_dict()},
        figures=figures,
        tables={"judge_fid_by_epoch": quality.scores},
        policy=session.policy,
        extra={"model_path": str(model_path)},
    )
    return {**final, "judge_test_accuracy": judge_accuracy, "references": references,
            "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir), "model_path": str(model_path)}
