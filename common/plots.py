"""Matplotlib figures for results: each function returns a ``Figure``; results.py saves them.

Figures are built with ``matplotlib.figure.Figure`` directly, not pyplot, so no global backend
or figure registry is touched (importing this module changes nothing; figures are garbage
collected like any object). In a notebook, ``display(fig)`` or a bare ``fig`` shows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def learning_curves(history: Mapping[str, Sequence[float]], title: str = "Learning curves") -> Figure:
    """One panel per metric, training and validation together (``loss`` / ``val_loss`` ...)."""
    names = [k for k in history if not k.startswith("val_") and k not in ("epoch", "learning_rate", "optimizer_steps")]
    names = names or list(history)
    figure = Figure(figsize=(4.2 * len(names), 3.4), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for axis, name in zip(axes, names):
        values = history[name]
        epochs = np.arange(1, len(values) + 1)
        axis.plot(epochs, values, marker="o", markersize=3, label="train")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], marker="o", markersize=3, label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    return figure


def confusion_matrix(
    matrix: np.ndarray, class_names: Sequence[str], title: str = "Confusion matrix", normalize: bool = True
) -> Figure:
    """Rows are true classes, columns predictions; cells show row-normalised rates and counts."""
    matrix = np.asarray(matrix)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    size = max(4.0, 0.55 * len(class_names) + 2)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=axis, shrink=0.8, label="fraction of true class" if normalize else "count")
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, labels=class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if len(class_names) <= 20:
        for (row, col), count in np.ndenumerate(matrix):
            color = "white" if rates[row, col] > 0.5 * (rates.max() or 1) else "black"
            axis.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    axis.set_title(title)
    return figure


def roc_curve(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], title: str = "ROC curve"
) -> Figure:
    """ROC curves: ``{label: (fpr, tpr, auc)}``, with the chance diagonal."""
    figure = Figure(figsize=(4.8, 4.5), layout="constrained")
    axis = figure.subplots()
    for label, (fpr, tpr, auc) in curves.items():
        axis.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.01)
    axis.legend(loc="lower right")
    axis.set_title(title)
    return figure


def parity(y_true, y_pred, title: str = "Predicted vs measured", label: str = "value") -> Figure:
    """Scatter of predictions against truth with the y = x line."""
    y_true, y_pred = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    figure = Figure(figsize=(4.6, 4.5), layout="constrained")
    axis = figure.subplots()
    axis.scatter(y_true, y_pred, s=10, alpha=0.6)
    axis.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    axis.set_xlabel(f"measured {label}")
    axis.set_ylabel(f"predicted {label}")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    return figure


def forecast(
    time,
    actual,
    predictions: Mapping[str, np.ndarray],
    *,
    history_time=None,
    history=None,
    interval: tuple[np.ndarray, np.ndarray] | None = None,
    title: str = "Forecast",
    ylabel: str = "value",
) -> Figure:
    """Actual values, one line per forecaster, optional prediction interval and history."""
    figure = Figure(figsize=(9, 3.8), layout="constrained")
    axis = figure.subplots()
    if history is not None:
        axis.plot(history_time, history, color="black", linewidth=1, alpha=0.5, label="history")
    if actual is not None:
        axis.plot(time, actual, color="black", linewidth=1.5, label="actual")
    if interval is not None:
        axis.fill_between(time, interval[0], interval[1], alpha=0.25, label="prediction interval")
    for label, values in predictions.items():
        axis.plot(time, values, linewidth=1.2, label=label)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def image_grid(
    images: np.ndarray, titles: Sequence[str], *, columns: int = 8, title: str = "", cmap: str = "gray"
) -> Figure:
    """Images ([n, h, w] or [n, h, w, c], values in [0, 1] or [0, 255]) with a title each."""
    images = np.asarray(images)
    count = len(images)
    rows = max(1, int(np.ceil(count / columns)))
    figure = Figure(figsize=(1.6 * columns, 1.9 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= count:
            continue
        image = images[index]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.dtype != np.uint8 and image.max() > 1.0:
            image = image / 255.0
        axis.imshow(image, cmap=cmap if image.ndim == 2 else None)
        axis.set_title(titles[index], fontsize=7)
    if title:
        figure.suptitle(title)
    return figure


def lines(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
    markers: bool = True,
) -> Figure:
    """Several named (x, y) lines on one axis: recall@k curves, accuracy vs k, Elo over time."""
    figure = Figure(figsize=(5.5, 4), layout="constrained")
    axis = figure.subplots()
    for label, (x, y) in series.items():
        axis.plot(x, y, marker="o" if markers else None, markersize=3, label=label)
    if logx:
        axis.set_xscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return figure


def bars(values: Mapping[str, float], *, ylabel: str, title: str, errors: Mapping[str, float] | None = None) -> Figure:
    """One bar per name (model vs baselines), with optional error bars, values printed on top."""
    names = list(values)
    heights = [values[n] for n in names]
    figure = Figure(figsize=(max(4, 0.9 * len(names) + 2), 3.8), layout="constrained")
    axis = figure.subplots()
    yerr = [errors.get(n, 0.0) for n in names] if errors else None
    drawn = axis.bar(names, heights, yerr=yerr, capsize=3, color="tab:blue", alpha=0.8)
    axis.bar_label(drawn, labels=[f"{h:.3g}" for h in heights], fontsize=8)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.tick_params(axis="x", rotation=30)
    return figure


def histogram(values: Mapping[str, np.ndarray], *, xlabel: str, title: str, bins: int = 50) -> Figure:
    """Overlaid histograms (rating errors, reconstruction errors ...)."""
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    axis = figure.subplots()
    for label, data in values.items():
        axis.hist(np.asarray(data).ravel(), bins=bins, alpha=0.55, label=label)
    axis.set_xlabel(xlabel)
    axis.set_ylabel("count")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return figure
