"""Train and evaluate spoken-word classifiers: the one entry point for the CLI, notebook and tests.

``train_and_evaluate(config)`` runs the config's protocol and writes one results folder:

- ``official``: results/speech/<dataset>/<preset>/ (the saved model goes to the work folder);
- ``loso``: results/speech/fsdd/<preset>-loso/: one training per held-out speaker;
- ``transfer``: results/speech/fsdd/<preset>-transfer/: pretraining on synthetic digits, then
  fine-tuning vs. training from scratch on k real clips per digit.

The MFCC + RBF-SVM baseline is fitted on exactly the same training clips each time.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.speech import baselines, data, figures, models
from applications.speech.config import SpeechConfig
from common import data as data_lib
from common import evaluation, paths, plots, results, saving, training
from common.errors import DataError

DOMAIN = "speech"
log = logging.getLogger("keras_applied.speech")


def run_name(config: SpeechConfig) -> str:
    """Results folder name: the preset, the protocol unless 'official', the architecture unless 'cnn',
    ``pretrained`` with --synthetic-pretraining, then the values changed from the preset or the run tag."""
    return config.run_name(
        "" if config.protocol == "official" else config.protocol,
        "" if config.architecture == "cnn" else config.architecture,
        "pretrained" if config.synthetic_pretraining and config.protocol != "transfer" else "",
        named=("protocol", "architecture", "synthetic_pretraining"),
    )


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------
def build_model(config: SpeechConfig, *, window: int, sample_rate: int, num_classes: int) -> keras.Model:
    front_end = dict(
        num_mel_bins=config.num_mel_bins, augment=config.augment, speed_perturbation=config.speed_perturbation,
        max_shift_seconds=config.max_shift_seconds, noise_probability=config.noise_probability,
        noise_snr_db=config.noise_snr_db, time_masks=config.time_masks, time_mask_width=config.time_mask_width,
        freq_masks=config.freq_masks, freq_mask_width=config.freq_mask_width, seed=config.seed,
    )
    if config.architecture == "transformer":
        return models.build_transformer(
            window=window, sample_rate=sample_rate, num_classes=num_classes, model_dim=config.model_dim,
            num_heads=config.num_heads, num_layers=config.num_layers, dropout_rate=config.dropout_rate, **front_end,
        )
    return models.build_cnn(window=window, sample_rate=sample_rate, num_classes=num_classes,
                            widths=config.widths, dropout_rate=config.dropout_rate, **front_end)


def model_description(config: SpeechConfig) -> str:
    if config.architecture == "transformer":
        name = f"logmel_transformer[d{config.model_dim}x{config.num_layers}]"
    else:
        name = f"logmel_cnn{list(config.widths)}"
    return f"{name} + synthetic pretraining" if config.synthetic_pretraining and config.protocol != "transfer" else name


def compile_model(model: keras.Model, config: SpeechConfig, *, learning_rate: float, total_steps: int) -> None:
    optimizer = keras.optimizers.AdamW(
        learning_rate=training.cosine_schedule(learning_rate, total_steps), weight_decay=config.weight_decay
    )
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def train_model(
    config: SpeechConfig,
    train_clips: data.Clips,
    validation_clips: data.Clips | None,
    *,
    num_classes: int,
    sample_rate: int,
    workdir: Path,
    epochs: int,
    learning_rate: float,
    seed: int,
    initial_weights: list | None = None,
    min_examples_per_epoch: int = 0,
    tensorboard: bool = True,
) -> tuple[keras.Model, dict]:
    """Build (from ``initial_weights`` when given), compile and fit one model.

    With validation clips, the best epoch by validation accuracy is kept; without (few-shot
    runs, where every real clip is training data), the last epoch is.
    """
    keras.utils.set_random_seed(seed)
    model = build_model(config, window=train_clips.waveforms.shape[1], sample_rate=sample_rate, num_classes=num_classes)
    if initial_weights is not None:
        model.set_weights(initial_weights)
    train_ds = data.pipeline(train_clips, num_classes=num_classes, batch_size=config.batch_size, seed=seed,
                             train=True, min_examples_per_epoch=min_examples_per_epoch)
    validation_ds = None
    if validation_clips is not None:
        validation_ds = data.pipeline(validation_clips, num_classes=num_classes, batch_size=config.batch_size,
                                      seed=seed, train=False)
    steps_per_epoch = int(train_ds.cardinality())
    compile_model(model, config, learning_rate=learning_rate, total_steps=epochs * steps_per_epoch)
    log.info("model %s: %s parameters, dtype policy %s, %d clips, %d steps per epoch", model.name,
             f"{model.count_params():,}", keras.config.dtype_policy().name, len(train_clips), steps_per_epoch)
    history = training.fit(
        model, train_ds, validation_ds, epochs=epochs, workdir=workdir,
        monitor="val_accuracy" if validation_ds is not None else "loss",
        mode="max" if validation_ds is not None else "min",
        patience=config.patience or None if validation_ds is not None else None,
        restore_best=validation_ds is not None, tensorboard=tensorboard,
    )
    return model, history


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
def predict_probabilities(model: keras.Model, clips: data.Clips, batch_size: int) -> np.ndarray:
    """Class probabilities for every clip, under any distribution (``training.predict``)."""
    waveforms = data_lib.make_pipeline(clips.waveforms, batch_size=batch_size, shuffle=False)
    return np.asarray(training.predict(model, waveforms, verbose=0))


def per_speaker_accuracy(clips: data.Clips, predicted: np.ndarray) -> dict[str, float]:
    return {speaker: evaluation.accuracy(clips.labels[clips.speakers == speaker], predicted[clips.speakers == speaker])
            for speaker in sorted(set(clips.speakers.tolist())) if speaker}


def classification_metrics(clips: data.Clips, predicted: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and per-speaker accuracy."""
    report = evaluation.classification_report(clips.labels, predicted, class_names)
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "per_class": report["per_class"],
            "per_speaker_accuracy": per_speaker_accuracy(clips, predicted)}


def front_end_features(model: keras.Model, waveforms: np.ndarray) -> np.ndarray:
    """The normalised log-mel features the model computes for ``waveforms`` [n, frames, mels]."""
    extractor = keras.Model(model.inputs, model.get_layer("log_mel").output)
    return np.asarray(extractor.predict(waveforms, verbose=0))


def spectrogram_figure(model: keras.Model, clips: data.Clips, class_names: list[str], title: str, count: int = 10):
    """One example test clip per class (up to ``count``), as the model sees it."""
    chosen = [int(np.flatnonzero(clips.labels == label)[0]) for label in np.unique(clips.labels)][:count]
    titles = [f"{class_names[clips.labels[i]]}" + (f" ({clips.speakers[i]})" if clips.speakers[i] else "") for i in chosen]
    return figures.spectrograms(front_end_features(model, clips.waveforms[chosen]), titles, title=title)


def confusion_tables(matrix: np.ndarray, names: list[str]) -> list[dict]:
    return [{"true": names[i], **{names[j]: int(matrix[i, j]) for j in range(len(names))}} for i in range(len(names))]


def svm_baseline(train_clips: data.Clips, test_clips: data.Clips, sample_rate: int, seed: int) -> np.ndarray:
    log.info("MFCC + RBF-SVM baseline on %d training clips", len(train_clips))
    return baselines.mfcc_svm(train_clips.waveforms, train_clips.labels, test_clips.waveforms, sample_rate, seed)


# ---------------------------------------------------------------------------------------------
# Protocols
# ---------------------------------------------------------------------------------------------
def pretrain_on_synthetic(config: SpeechConfig, workdir: Path, class_names: list[str]) -> tuple[keras.Model, dict, data.AudioData]:
    """A model trained on synthesized digits (their own train/validation split)."""
    synthetic = data.load(
        "synthetic", sample_rate=config.sample_rate, clip_seconds=config.clip_seconds, vocabulary="digits",
        synthetic_per_class=config.synthetic_per_class, validation_fraction=config.validation_fraction,
        max_train_examples=config.max_train_examples, seed=config.seed,
    )
    if synthetic.class_names != class_names:
        raise DataError(f"Synthetic pretraining speaks the digits {synthetic.class_names}; the dataset's classes are "
                        f"{class_names}. Use it with FSDD (or another digits dataset named 0-9).")
    model, history = train_model(
        config, synthetic.train, synthetic.validation, num_classes=len(class_names), sample_rate=config.sample_rate,
        workdir=Path(workdir) / "pretrain", epochs=config.pretrain_epochs, learning_rate=config.learning_rate,
        seed=config.seed, tensorboard=False,
    )
    return model, history, synthetic


def _official(config: SpeechConfig, session, recorder: results.RunRecorder, workdir) -> dict[str, Any]:
    audio_data = data.load(
        config.dataset, data_dir=config.data_dir, sample_rate=config.sample_rate, clip_seconds=config.clip_seconds,
        vocabulary=config.vocabulary, synthetic_per_class=config.synthetic_per_class,
        validation_fraction=config.validation_fraction, max_train_examples=config.max_train_examples, seed=config.seed,
    )
    dataset_folder = config.dataset_folder(audio_data.name)
    workdir = paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir)
    names, num_classes = audio_data.class_names, len(audio_data.class_names)
    initial_weights, learning_rate, pretraining = None, config.learning_rate, {}
    if config.synthetic_pretraining:
        pretrained, _, _ = pretrain_on_synthetic(config, Path(workdir), names)
        initial_weights, learning_rate = pretrained.get_weights(), config.finetune_learning_rate
        pretraining["synthetic_only_accuracy"] = evaluation.accuracy(
            audio_data.test.labels, predict_probabilities(pretrained, audio_data.test, config.batch_size).argmax(axis=1))
    model, history = train_model(
        config, audio_data.train, audio_data.validation, num_classes=num_classes, sample_rate=audio_data.sample_rate,
        workdir=workdir, epochs=config.epochs, learning_rate=learning_rate, seed=config.seed,
        initial_weights=initial_weights,
    )
    probabilities = predict_probabilities(model, audio_data.test, config.batch_size)
    predicted = probabilities.argmax(axis=1)
    metrics = classification_metrics(audio_data.test, predicted, names)
    matrix = evaluation.confusion_matrix(audio_data.test.labels, predicted, num_classes)
    baseline_metrics = {}
    if config.baseline:
        train_all = data.Clips.concatenate([audio_data.train, audio_data.validation])
        svm_predicted = svm_baseline(train_all, audio_data.test, audio_data.sample_rate, config.seed)
        baseline_metrics["mfcc_svm"] = classification_metrics(audio_data.test, svm_predicted, names)
        baseline_metrics["mfcc_svm"].pop("per_class")
    figs = {
        "confusion_matrix": plots.confusion_matrix(matrix, names, title=f"{audio_data.name} test confusion matrix"),
        "learning_curves": plots.learning_curves(history, title=f"{model.name} on {audio_data.name}"),
        "spectrograms": spectrogram_figure(model, audio_data.test, names, "Normalised log-mel features of test clips"),
    }
    if metrics["per_speaker_accuracy"]:
        speakers = list(metrics["per_speaker_accuracy"])
        series = {model.name: [metrics["per_speaker_accuracy"][s] for s in speakers]}
        if baseline_metrics:
            series["MFCC + SVM"] = [baseline_metrics["mfcc_svm"]["per_speaker_accuracy"][s] for s in speakers]
        figs["per_speaker_accuracy"] = figures.grouped_bars(speakers, series, ylabel="test accuracy",
                                                            title="Test accuracy per speaker")
    wrong = np.flatnonzero(predicted != audio_data.test.labels)
    tables = {
        "per_class": [{"class": n, **values} for n, values in metrics["per_class"].items()],
        "confusion_matrix": confusion_tables(matrix, names),
        "mistakes": [{"index": int(i), "speaker": audio_data.test.speakers[i], "true": names[audio_data.test.labels[i]],
                      "predicted": names[predicted[i]], "probability": float(probabilities[i, predicted[i]])} for i in wrong],
    }
    model_path = saving.save_model(
        model, Path(workdir) / "model.keras",
        {"domain": DOMAIN, "dataset": audio_data.name, "class_names": names, "sample_rate": audio_data.sample_rate,
         "window": audio_data.window, "architecture": config.architecture, "preset": config.preset},
    )
    run_dir = recorder.save(
        dataset=dataset_folder, run_name=run_name(config), model=model_description(config),
        headline=results.headline("accuracy", metrics["accuracy"], higher_is_better=True),
        metrics={**{("test_" + k if k in ("accuracy", "macro_f1") else k): v for k, v in metrics.items()},
                 "parameters": model.count_params(), "epochs_run": len(history.get("loss", [])),
                 "train_examples": len(audio_data.train), "validation_examples": len(audio_data.validation),
                 "test_examples": len(audio_data.test), "data_source": audio_data.source,
                 "sample_rate": audio_data.sample_rate, "window_samples": audio_data.window, **pretraining},
        baselines=baseline_metrics, history=history,
        skipped={"skipped": audio_data.skipped.to_dict(), "adjusted": audio_data.adjusted.to_dict()},
        figures=figs, tables=tables, policy=session.policy, extra={"model_path": str(model_path)},
    )
    return {"test_accuracy": metrics["accuracy"], "test_macro_f1": metrics["macro_f1"],
            "baseline_accuracy": baseline_metrics.get("mfcc_svm", {}).get("accuracy"),
            "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir), "model_path": str(model_path)}


def _load_fsdd(config: SpeechConfig) -> data.Corpus:
    return data.load_corpus("fsdd", data_dir=config.data_dir, sample_rate=config.sample_rate,
                            clip_seconds=config.clip_seconds)


def _loso(config: SpeechConfig, session, recorder: results.RunRecorder, workdir) -> dict[str, Any]:
    corpus = _load_fsdd(config)
    dataset_folder = config.dataset_folder(corpus.name)
    workdir = paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir)
    speakers = list(config.loso_speakers) or corpus.speaker_names
    if len(corpus.speaker_names) < 2:
        raise DataError(f"Leave-one-speaker-out needs at least 2 speakers; {corpus.name} has {corpus.speaker_names}.")
    names, num_classes = corpus.class_names, len(corpus.class_names)
    initial_weights, learning_rate = None, config.learning_rate
    if config.synthetic_pretraining:  # one pretraining for all folds: it sees no real speaker
        pretrained, _, _ = pretrain_on_synthetic(config, Path(workdir), names)
        initial_weights, learning_rate = pretrained.get_weights(), config.finetune_learning_rate
    folds, fold_histories, all_true, all_predicted = {}, [], [], []
    for fold, speaker in enumerate(speakers):
        log.info("leave-one-speaker-out fold %d/%d: testing on %s", fold + 1, len(speakers), speaker)
        train, validation, test = data.leave_one_speaker_out(
            corpus, speaker, validation_fraction=config.validation_fraction, seed=config.seed)
        split = data.cut(corpus, train, validation, test, max_train_examples=config.max_train_examples, seed=config.seed)
        model, history = train_model(
            config, split.train, split.validation, num_classes=num_classes, sample_rate=corpus.sample_rate,
            workdir=Path(workdir) / f"fold_{speaker}", epochs=config.epochs, learning_rate=learning_rate,
            seed=config.seed + fold, initial_weights=initial_weights, tensorboard=False,
        )
        predicted = predict_probabilities(model, split.test, config.batch_size).argmax(axis=1)
        all_true.append(split.test.labels)
        all_predicted.append(predicted)
        folds[speaker] = {"accuracy": evaluation.accuracy(split.test.labels, predicted),
                          "macro_f1": evaluation.macro_f1(split.test.labels, predicted, num_classes),
                          "train_examples": len(split.train), "test_examples": len(split.test),
                          "epochs_run": len(history.get("loss", []))}
        if config.baseline:
            svm_predicted = svm_baseline(data.Clips.concatenate([split.train, split.validation]), split.test,
                                         corpus.sample_rate, config.seed)
            folds[speaker]["mfcc_svm_accuracy"] = evaluation.accuracy(split.test.labels, svm_predicted)
        log.info("held-out %s: accuracy %.4f%s", speaker, folds[speaker]["accuracy"],
                 f" (MFCC + SVM {folds[speaker]['mfcc_svm_accuracy']:.4f})" if config.baseline else "")
        fold_histories += [{"held_out": speaker, "epoch": i + 1, **{k: v[i] for k, v in history.items() if k != "epoch"}}
                           for i in range(len(history.get("loss", [])))]
    accuracies = np.array([f["accuracy"] for f in folds.values()])
    all_true, all_predicted = np.concatenate(all_true), np.concatenate(all_predicted)
    total_matrix = evaluation.confusion_matrix(all_true, all_predicted, num_classes)
    metrics = {"mean_accuracy": float(accuracies.mean()), "std_accuracy": float(accuracies.std()),
               "min_accuracy": float(accuracies.min()), "folds": folds,
               "pooled": evaluation.classification_report(all_true, all_predicted, names)}
    baseline_metrics = {}
    series = {model_description(config): list(accuracies)}
    if config.baseline:
        svm = np.array([f["mfcc_svm_accuracy"] for f in folds.values()])
        baseline_metrics["mfcc_svm"] = {"accuracy": float(svm.mean()), "std_accuracy": float(svm.std()),
                                        "folds": {s: f["mfcc_svm_accuracy"] for s, f in folds.items()}}
        series["MFCC + SVM"] = list(svm)
    figs = {
        "per_speaker_accuracy": figures.grouped_bars(list(folds), series, ylabel="accuracy on the held-out speaker",
                                                     title="Leave-one-speaker-out (train on the others)", reference=0.85),
        "confusion_matrix": plots.confusion_matrix(total_matrix, names, title="Leave-one-speaker-out, all folds pooled"),
    }
    tables = {"folds": [{"held_out": s, **f} for s, f in folds.items()], "confusion_matrix": confusion_tables(total_matrix, names),
              "fold_histories": fold_histories}
    run_dir = recorder.save(
        dataset=dataset_folder, run_name=run_name(config), model=model_description(config),
        headline=results.headline("accuracy", metrics["mean_accuracy"], higher_is_better=True,
                                  split=f"leave-one-speaker-out mean of {len(folds)}"),
        metrics=metrics, baselines=baseline_metrics,
        skipped={"skipped": corpus.skipped.to_dict(), "adjusted": corpus.adjusted.to_dict()},
        figures=figs, tables=tables, policy=session.policy,
    )
    return {"mean_accuracy": metrics["mean_accuracy"], "folds": {s: f["accuracy"] for s, f in folds.items()},
            "baseline_mean_accuracy": baseline_metrics.get("mfcc_svm", {}).get("accuracy"),
            "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir)}


def _transfer(config: SpeechConfig, session, recorder: results.RunRecorder, workdir) -> dict[str, Any]:
    fsdd = _load_fsdd(config)
    dataset_folder = config.dataset_folder(fsdd.name)
    workdir = paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir)
    train_pool, validation_pool, test = data.official_split(fsdd, validation_fraction=config.validation_fraction, seed=config.seed)
    train_pool = data.Clips.concatenate([train_pool, validation_pool])  # every real training clip may be drawn
    if config.max_train_examples:
        test = data.limit(test, max(config.max_train_examples // 2, 1), config.seed)
    names, num_classes = fsdd.class_names, len(fsdd.class_names)

    # 1. Pretrain on synthesized digits (their own train/validation split).
    pretrained, pretrain_history, synthetic = pretrain_on_synthetic(config, Path(workdir), names)
    synthetic_only = evaluation.accuracy(test.labels, predict_probabilities(pretrained, test, config.batch_size).argmax(axis=1))
    log.info("pretrained on synthetic digits only: FSDD test accuracy %.4f", synthetic_only)
    pretrained_weights = pretrained.get_weights()

    # 2. For each k: fine-tune the pretrained model vs. train from scratch vs. the SVM, same clips.
    rows = []
    for shots in config.transfer_shots:
        repeats = 1 if shots == 0 else config.transfer_repeats
        for repeat in range(repeats):
            subset = data.few_shot(train_pool, shots, seed=config.seed + 1000 * repeat + shots)
            tag = f"k{shots or 'all'}_r{repeat}"
            row = {"shots_per_class": shots or "all", "repeat": repeat, "train_examples": len(subset)}
            for method, weights, learning_rate in (("scratch", None, config.learning_rate),
                                                   ("pretrained", pretrained_weights, config.finetune_learning_rate)):
                log.info("transfer %s: %s on %d real clips", tag, method, len(subset))
                model, _ = train_model(
                    config, subset, None, num_classes=num_classes, sample_rate=config.sample_rate,
                    workdir=Path(workdir) / f"{tag}_{method}", epochs=config.finetune_epochs, learning_rate=learning_rate,
                    seed=config.seed + repeat, initial_weights=weights,
                    min_examples_per_epoch=config.few_shot_epoch_size, tensorboard=False,
                )
                row[f"{method}_accuracy"] = evaluation.accuracy(
                    test.labels, predict_probabilities(model, test, config.batch_size).argmax(axis=1))
            if config.baseline:
                row["mfcc_svm_accuracy"] = evaluation.accuracy(
                    test.labels, svm_baseline(subset, test, config.sample_rate, config.seed))
            log.info("transfer %s: %s", tag, {k: v for k, v in row.items() if k.endswith("accuracy")})
            rows.append(row)

    methods = ["scratch", "pretrained"] + (["mfcc_svm"] if config.baseline else [])
    summary = {}
    for shots in config.transfer_shots:
        chosen = [r for r in rows if r["shots_per_class"] == (shots or "all")]
        summary[str(shots or "all")] = {
            "train_examples": chosen[0]["train_examples"],
            **{m: float(np.mean([r[f"{m}_accuracy"] for r in chosen])) for m in methods},
            **{f"{m}_std": float(np.std([r[f"{m}_accuracy"] for r in chosen])) for m in methods},
        }
    headline_k = "5" if "5" in summary else next(iter(summary))
    # Plot against clips per digit (k = all is the whole official training split per digit).
    x = [summary[k]["train_examples"] / num_classes for k in summary]
    labels = {"scratch": "from scratch", "pretrained": "synthetic pretraining + fine-tuning", "mfcc_svm": "MFCC + SVM"}
    figs = {
        "transfer_accuracy": plots.lines(
            {labels[m]: (x, [summary[k][m] for k in summary]) for m in methods},
            xlabel="real FSDD clips per digit (log scale)", ylabel="FSDD official test accuracy",
            title=f"Synthetic-to-real transfer (synthetic only: {synthetic_only:.3f})", logx=True),
        "pretrain_learning_curves": plots.learning_curves(pretrain_history, title="Pretraining on synthetic digits"),
        "synthetic_spectrograms": spectrogram_figure(pretrained, synthetic.test, names, "Synthesized digits (eSpeak NG)"),
        "real_spectrograms": spectrogram_figure(pretrained, test, names, "Real FSDD test clips"),
    }
    metrics = {"summary": summary, "synthetic_only_accuracy": synthetic_only,
               "pretrain_examples": len(synthetic.train), "test_examples": len(test),
               f"pretrained_accuracy_k{headline_k}": summary[headline_k]["pretrained"],
               f"scratch_accuracy_k{headline_k}": summary[headline_k]["scratch"]}
    baseline_metrics = {f"scratch_k{headline_k}": {"accuracy": summary[headline_k]["scratch"]}}
    if config.baseline:
        baseline_metrics[f"mfcc_svm_k{headline_k}"] = {"accuracy": summary[headline_k]["mfcc_svm"]}
    run_dir = recorder.save(
        dataset=dataset_folder, run_name=run_name(config), model=f"{model_description(config)} pretrained on synthetic digits",
        headline=results.headline("accuracy", summary[headline_k]["pretrained"], higher_is_better=True,
                                  split=f"test, k={headline_k} real clips per digit"),
        metrics=metrics, baselines=baseline_metrics, history=pretrain_history,
        skipped={"skipped": fsdd.skipped.to_dict(), "adjusted": fsdd.adjusted.to_dict()},
        figures=figs, tables={"transfer": rows, "transfer_summary": [{"shots_per_class": k, **v} for k, v in summary.items()]},
        policy=session.policy,
    )
    return {"summary": summary, "synthetic_only_accuracy": synthetic_only,
            "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir)}


PROTOCOLS = {"official": _official, "loso": _loso, "transfer": _transfer}


def train_and_evaluate(
    config: SpeechConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Run ``config.protocol`` (train, evaluate, compare with the baseline), write results; returns metrics."""
    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    # The session's distribution scope is open while every model is built, compiled and fitted.
    with training.session_for(config) as session:
        # Pipelines are built with the global batch size (a multiple of the replica count).
        run_config = config.replace(batch_size=session.batch_size(config.batch_size))
        return PROTOCOLS[config.protocol](run_config, session, recorder, workdir)
