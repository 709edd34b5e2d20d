"""Train and evaluate molecular property models: the one entry point for the CLI, notebook, tests.

A run is ``replicates`` independent repetitions with split seeds ``seed, seed + 1, ...``. Each
replicate splits the deduplicated molecules (scaffold or random), trains an ensemble of
``ensemble_size`` models (different initial weights), evaluates the ensemble mean on the test
split, and trains the baselines on the same split. Reported metrics are the mean and standard
deviation (numpy's, ddof=0) over replicates; the ensemble of the first replicate is saved.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.drug_discovery import baselines, data, models
from applications.drug_discovery import featurize as featurize_lib
from applications.drug_discovery.config import DrugDiscoveryConfig
from common import distribute, evaluation, paths, plots, results, saving, training

DOMAIN = "drug_discovery"
log = logging.getLogger("keras_applied.drug_discovery")
REGRESSION_METRICS = ("rmse", "mae", "r2")
CLASSIFICATION_METRICS = ("roc_auc", "pr_auc")


def run_name(config: DrugDiscoveryConfig) -> str:
    """Results folder name: the preset, plus the model and split when they are not the defaults, then
    the values changed from the preset or the run tag."""
    return config.run_name(
        "" if config.model == "mpnn" else config.model,
        "" if config.split == "scaffold" else config.split,
        named=("model", "split"),
    )


def headline_metric(task_type: str) -> tuple[str, bool]:
    return ("rmse", False) if task_type == "regression" else ("roc_auc", True)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
def build_member(config: DrugDiscoveryConfig, kind: str, *, num_tasks: int, global_mean, global_variance,
                 name: str) -> keras.Model:
    if kind == "mpnn":
        return models.build_mpnn(
            num_tasks=num_tasks, atom_feature_size=featurize_lib.ATOM_FEATURES,
            bond_feature_size=featurize_lib.BOND_FEATURES, num_global_features=len(config.descriptor_names),
            global_mean=global_mean, global_variance=global_variance, hidden_units=config.hidden_units,
            message_steps=config.message_steps, attention_heads=config.attention_heads,
            head_units=config.head_units, dropout_rate=config.dropout_rate, name=name,
        )
    return models.build_fingerprint_mlp(
        num_tasks=num_tasks, fingerprint_size=config.fingerprint_bits,
        num_global_features=len(config.descriptor_names), global_mean=global_mean,
        global_variance=global_variance, hidden_units=config.mlp_units,
        dropout_rate=max(config.dropout_rate, 0.2), name=name,
    )


def compile_member(model: keras.Model, config: DrugDiscoveryConfig, task_type: str, steps_per_epoch: int) -> None:
    optimizer = keras.optimizers.AdamW(
        learning_rate=training.cosine_schedule(config.learning_rate, config.epochs * steps_per_epoch),
        weight_decay=config.weight_decay,
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss=models.loss_for(task_type))


def predict_members(model: keras.Model, features: data.Features, indices: np.ndarray, kind: str,
                    batch_size: int = 256) -> np.ndarray:
    """The ensemble's member predictions for the molecules at ``indices``: [n, members, tasks]."""
    chunks = []
    for start in range(0, len(indices), batch_size):
        inputs = data.model_inputs(features, indices[start : start + batch_size], kind)
        chunks.append(np.asarray(training.predict(model, inputs, verbose=0), dtype=np.float64))
    return np.concatenate(chunks)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------
def task_metrics(y_true: np.ndarray, y_pred: np.ndarray, task_type: str, task_names: list[str]) -> dict[str, Any]:
    """Per-task metrics on the labelled molecules of each task, and their mean over tasks."""
    per_task = {}
    for task, name in enumerate(task_names):
        labelled = ~np.isnan(y_true[:, task])
        truth, predicted = y_true[labelled, task], y_pred[labelled, task]
        if task_type == "regression":
            per_task[name] = evaluation.regression_report(truth, predicted) if labelled.any() else dict.fromkeys(REGRESSION_METRICS, math.nan)
        else:
            per_task[name] = {"roc_auc": evaluation.roc_auc(truth, predicted),
                              "pr_auc": evaluation.average_precision(truth, predicted)}
    names = REGRESSION_METRICS if task_type == "regression" else CLASSIFICATION_METRICS
    with np.errstate(all="ignore"):
        overall = {m: _nanmean([values[m] for values in per_task.values()]) for m in names}
    return {**overall, "per_task": per_task}


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (ties get their order's rank; fine for continuous values)."""
    if len(a) < 3:
        return math.nan
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if ranks_a.std() == 0 or ranks_b.std() == 0:
        return math.nan
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def summarize(per_replicate: list[dict[str, float]]) -> dict[str, Any]:
    """{metric: mean, metric_std: std, metric_per_replicate: [...]} over replicates."""
    summary: dict[str, Any] = {}
    for name in per_replicate[0]:
        values = np.asarray([r[name] for r in per_replicate], dtype=float)
        with np.errstate(all="ignore"):
            summary[name] = _nanmean(values)
            summary[f"{name}_std"] = float(np.nanstd(values)) if np.isfinite(values).any() else math.nan
        summary[f"{name}_per_replicate"] = values.tolist()
    return summary


# ---------------------------------------------------------------------------------------------
# One replicate
# ---------------------------------------------------------------------------------------------
def _standardization(targets: np.ndarray, train: np.ndarray, task_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-task (offset, scale) of the training targets; (0, 1) for classification."""
    if task_type != "regression":
        return np.zeros(targets.shape[1]), np.ones(targets.shape[1])
    with np.errstate(all="ignore"):
        offset = np.nan_to_num(np.nanmean(targets[train], axis=0))
        scale = np.nan_to_num(np.nanstd(targets[train], axis=0), nan=1.0)
    return offset, np.where(scale > 0, scale, 1.0)


def train_ensemble(config, kind, molecules, features, splits, *, seed, workdir, size, label) -> tuple[keras.Model, dict]:
    """Train ``size`` members of ``kind`` on one split and wrap them as an ensemble (target units)."""
    replicas = distribute.current().replicas  # batches split evenly over a strategy's replicas
    train, validation, _ = splits
    offset, scale = _standardization(molecules.targets, train, molecules.task_type)
    standardized = (molecules.targets - offset) / scale  # NaN (missing) stays NaN
    global_train = features.global_features[train]
    global_mean, global_variance = (global_train.mean(axis=0), global_train.var(axis=0)) if global_train.shape[1] else (None, None)
    train_ds = data.pipeline(features, standardized, train, kind=kind, batch_size=config.batch_size, shuffle=True,
                             seed=seed, replicas=replicas, bucket=config.size_buckets)
    validation_ds = data.pipeline(features, standardized, validation, kind=kind, batch_size=config.batch_size * 4,
                                  replicas=replicas, bucket=config.size_buckets)
    if kind == "mpnn":  # size-bucketed batches vary in number (see data.pipeline)
        steps_per_epoch = data.batches_per_epoch([features.graphs[i].num_atoms for i in train], config.batch_size,
                                                 bucket=config.size_buckets)
    else:
        steps_per_epoch = math.ceil(len(train) / config.batch_size)
    members, first_history = [], {}
    for member in range(size):
        keras.utils.set_random_seed(seed * 1000 + member)
        model = build_member(config, kind, num_tasks=len(molecules.task_names), global_mean=global_mean,
                             global_variance=global_variance, name=f"{kind}_{member}")
        compile_member(model, config, molecules.task_type, steps_per_epoch)
        if member == 0:
            log.info("%s: %s parameters", model.name, f"{model.count_params():,}")
        log.info("%s member %d/%d", label, member + 1, size)
        history = training.fit(
            model, train_ds, validation_ds, epochs=config.epochs, workdir=Path(workdir) / f"{kind}_{member}",
            monitor="val_loss", mode="min", patience=config.patience or None, tensorboard=False, verbose=0,
        )
        first_history = first_history or history
        members.append(model)
    ensemble = models.build_ensemble(members, task_type=molecules.task_type, target_offset=offset, target_scale=scale)
    return ensemble, first_history


def run_replicate(config: DrugDiscoveryConfig, molecules: data.MoleculeData, features: data.Features,
                  replicate: int, workdir: Path) -> dict[str, Any]:
    seed = config.seed + replicate
    splits = data.split(molecules, config.split, config.validation_fraction, config.test_fraction, seed)
    train, validation, test = splits
    log.info("replicate %d (split seed %d, %s): %d train / %d validation / %d test molecules",
             replicate + 1, seed, config.split, len(train), len(validation), len(test))
    y_test = molecules.targets[test]
    task_type, task_names = molecules.task_type, molecules.task_names

    ensemble, history = train_ensemble(config, config.model, molecules, features, splits, seed=seed,
                                       workdir=workdir / f"replicate_{replicate}", size=config.ensemble_size,
                                       label=f"replicate {replicate + 1}/{config.replicates}: {config.model}")
    member_predictions = predict_members(ensemble, features, test, config.model)  # [n, members, tasks]
    mean, spread = member_predictions.mean(axis=1), member_predictions.std(axis=1)
    metrics = task_metrics(y_test, mean, task_type, task_names)
    member_metrics = [task_metrics(y_test, member_predictions[:, k], task_type, task_names) for k in range(member_predictions.shape[1])]
    names = REGRESSION_METRICS if task_type == "regression" else CLASSIFICATION_METRICS
    outcome: dict[str, Any] = {
        "replicate": replicate, "split_seed": seed, "train": len(train), "validation": len(validation), "test": len(test),
        "metrics": {m: metrics[m] for m in names},
        "single_model": {m: float(np.mean([mm[m] for mm in member_metrics])) for m in names},
        "per_task": metrics["per_task"],
        "mean_spread": float(np.nanmean(spread)),
        "baselines": {},
        "ensemble": ensemble, "history": history, "test_indices": test,
        "test_predictions": mean, "test_spread": spread,
    }
    if task_type == "regression":
        labelled = ~np.isnan(y_test[:, 0])
        outcome["spread_error_spearman"] = spearman(spread[labelled, 0], np.abs(mean[labelled, 0] - y_test[labelled, 0]))

    if config.baselines:
        forest = baselines.random_forest_predictions(
            features.fingerprints, molecules.targets, train, test, task_type=task_type,
            trees=config.forest_trees, seed=seed, jobs=-1,
        )
        forest_metrics = task_metrics(y_test, forest, task_type, task_names)
        outcome["baselines"]["random_forest"] = {m: forest_metrics[m] for m in names}
        outcome["baseline_predictions"] = {"random_forest": forest}
        if config.model == "mpnn":
            mlp, _ = train_ensemble(config, "fingerprint_mlp", molecules, features, splits, seed=seed + 500,
                                    workdir=workdir / f"replicate_{replicate}", size=config.ensemble_size,
                                    label=f"replicate {replicate + 1}: fingerprint_mlp baseline")
            mlp_predictions = predict_members(mlp, features, test, "fingerprint_mlp").mean(axis=1)
            mlp_metrics = task_metrics(y_test, mlp_predictions, task_type, task_names)
            outcome["baselines"]["fingerprint_mlp"] = {m: mlp_metrics[m] for m in names}
            outcome["baseline_predictions"]["fingerprint_mlp"] = mlp_predictions
    headline_name = headline_metric(task_type)[0]
    log.info("replicate %d test %s: %s %.4f%s", replicate + 1, headline_name, config.model, metrics[headline_name],
             "".join(f", {n} {v[headline_name]:.4f}" for n, v in outcome["baselines"].items()))
    return outcome


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def error_vs_spread(y_true: np.ndarray, mean: np.ndarray, spread: np.ndarray, title: str):
    """Absolute test error against the ensemble's spread: does the spread flag the worst errors?"""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.6, 4.2), layout="constrained")
    axis = figure.subplots()
    axis.scatter(spread, np.abs(mean - y_true), s=10, alpha=0.6)
    axis.set_xlabel("ensemble spread (std of members)")
    axis.set_ylabel("absolute error of the ensemble mean")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    return figure


def figures_for(first: dict[str, Any], molecules: data.MoleculeData, model_label: str) -> tuple[dict, dict]:
    """Plots and tables of the first replicate's test split."""
    test = first["test_indices"]
    y_test, mean, spread = molecules.targets[test], first["test_predictions"], first["test_spread"]
    figures, rows = {}, []
    shown = molecules.task_names[:12]
    if molecules.task_type == "regression":
        for task, name in enumerate(shown[:4]):
            labelled = ~np.isnan(y_test[:, task])
            suffix = "" if len(molecules.task_names) == 1 else f"_{task}"
            figures[f"parity{suffix}"] = plots.parity(y_test[labelled, task], mean[labelled, task],
                                                      title=f"{model_label} on {molecules.name} (test)", label=name)
            figures[f"error_vs_spread{suffix}"] = error_vs_spread(y_test[labelled, task], mean[labelled, task],
                                                                  spread[labelled, task], f"{name}: error vs spread")
    else:
        curves = {}
        for task, name in enumerate(shown):
            labelled = ~np.isnan(y_test[:, task])
            fpr, tpr, _ = evaluation.roc_curve(y_test[labelled, task], mean[labelled, task])
            curves[name if len(shown) > 1 else model_label] = (fpr, tpr, evaluation.roc_auc(y_test[labelled, task], mean[labelled, task]))
        if len(shown) == 1 and "random_forest" in first.get("baseline_predictions", {}):
            for baseline, predictions in first["baseline_predictions"].items():
                labelled = ~np.isnan(y_test[:, 0])
                fpr, tpr, _ = evaluation.roc_curve(y_test[labelled, 0], predictions[labelled, 0])
                curves[baseline] = (fpr, tpr, evaluation.roc_auc(y_test[labelled, 0], predictions[labelled, 0]))
        figures["roc_curve"] = plots.roc_curve(curves, title=f"{molecules.name} test ROC (replicate 1)")
    for row, index in enumerate(test):
        for task, name in enumerate(molecules.task_names):
            rows.append({"smiles": molecules.smiles[index], "task": name, "measured": y_test[row, task],
                         "predicted": mean[row, task], "ensemble_spread": spread[row, task]})
    return figures, {"test_predictions": rows}


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------
def train_and_evaluate(
    config: DrugDiscoveryConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train ``config``'s model over its replicates, evaluate on the test splits, write results."""
    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    with training.session_for(config) as session:
        # Under a distribution strategy the global batch is a multiple of the replicas (and the
        # learning rate scaled with it); both are unchanged otherwise.
        run_config = config.replace(batch_size=session.batch_size(config.batch_size),
                                    learning_rate=session.learning_rate(config.learning_rate, config.batch_size))
        molecules = data.load(
            config.dataset, data_dir=config.data_dir, csv_path=config.csv_path, smiles_column=config.smiles_column,
            target_columns=config.target_columns, task_type=config.task_type, max_molecules=config.max_molecules,
            seed=config.seed,
        )
        dataset_folder = config.dataset_folder(molecules.name)
        workdir = paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir)
        features = data.featurize_molecules(
            molecules.mols, descriptor_names=config.descriptor_names, fingerprint_radius=config.fingerprint_radius,
            fingerprint_bits=config.fingerprint_bits, graphs=config.model == "mpnn",
        )
        outcomes = [run_replicate(run_config, molecules, features, r, Path(workdir)) for r in range(config.replicates)]
        first = outcomes[0]
        metadata = {
            "domain": DOMAIN, "dataset": molecules.name, "model_kind": config.model, "task_names": molecules.task_names,
            "task_type": molecules.task_type, "global_features": list(config.descriptor_names),
            "fingerprint_radius": config.fingerprint_radius, "fingerprint_bits": config.fingerprint_bits,
            "ensemble_size": config.ensemble_size, "split": config.split, "split_seed": first["split_seed"],
            "preset": config.preset,
        }
        model_path = saving.save_model(first["ensemble"], Path(workdir) / "model.keras", metadata)
        parameters = first["ensemble"].count_params() // config.ensemble_size

    task_type = molecules.task_type
    metric_name, higher_is_better = headline_metric(task_type)
    summary = summarize([o["metrics"] for o in outcomes])
    single = summarize([o["single_model"] for o in outcomes])
    baseline_summary = {
        name: summarize([o["baselines"][name] for o in outcomes]) for name in first["baselines"]
    }
    per_task = {
        name: summarize([o["per_task"][name] for o in outcomes]) for name in molecules.task_names
    }
    model_label = f"{config.model} ensemble x{config.ensemble_size}"
    figures, tables = figures_for(first, molecules, model_label)
    figures["learning_curves"] = plots.learning_curves(first["history"], title=f"{config.model} member 1, replicate 1")
    tables["replicates"] = [
        {"replicate": o["replicate"] + 1, "split_seed": o["split_seed"], "train": o["train"], "validation": o["validation"],
         "test": o["test"], **{f"{config.model}_{k}": v for k, v in o["metrics"].items()},
         **{f"single_model_{k}": v for k, v in o["single_model"].items()},
         **{f"{b}_{k}": v for b, values in o["baselines"].items() for k, v in values.items()}}
        for o in outcomes
    ]
    tables["per_task"] = [{"task": name, **{k: v for k, v in values.items() if not k.endswith("_per_replicate")}}
                          for name, values in per_task.items()]
    metrics = {
        f"test_{k}": v for k, v in summary.items()
    } | {
        "single_model": single,
        "per_task": per_task if len(molecules.task_names) > 1 else {},
        "mean_ensemble_spread": _nanmean([o["mean_spread"] for o in outcomes]),
        "task_type": task_type, "tasks": molecules.task_names, "split": config.split, "replicates": config.replicates,
        "ensemble_size": config.ensemble_size, "molecules": len(molecules), "input_rows": molecules.input_rows,
        "train_molecules": first["train"], "validation_molecules": first["validation"], "test_molecules": first["test"],
        "parameters_per_member": parameters, "data_source": molecules.source,
    }
    if task_type == "regression":
        metrics["spread_error_spearman"] = _nanmean([o["spread_error_spearman"] for o in outcomes])
    run_dir = recorder.save(
        dataset=dataset_folder,
        run_name=run_name(config),
        # The report table shows this beside the mean: the spread over split seeds belongs with it.
        model=(f"{config.model} ensemble x{config.ensemble_size}, {config.replicates} seeds"
               + (f", std {summary[f'{metric_name}_std']:.3f}" if config.replicates > 1 else "")),
        headline=results.headline(metric_name, summary[metric_name], higher_is_better=higher_is_better),
        metrics=metrics,
        baselines=baseline_summary,
        history=first["history"],
        skipped={"skipped": molecules.skipped.to_dict(), "adjusted": molecules.adjusted.to_dict()},
        figures=figures,
        tables=tables,
        policy=session.policy,
        extra={"model_path": str(model_path)},
    )
    return {
        f"test_{metric_name}": summary[metric_name], f"test_{metric_name}_std": summary[f"{metric_name}_std"],
        "baselines": {name: values[metric_name] for name, values in baseline_summary.items()},
        "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir), "model_path": str(model_path),
    }
