"""Figures the shared ``common.plots`` does not draw: spectrogram grids and grouped bars.

Like ``common.plots``, each function returns a ``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def spectrograms(features: np.ndarray, titles: Sequence[str], *, columns: int = 5, title: str = "",
                 hop_seconds: float = 0.01) -> Figure:
    """Log-mel features [n, frames, mels] as images (time across, mel bands up)."""
    count = len(features)
    rows = max(1, int(np.ceil(count / columns)))
    figure = Figure(figsize=(2.6 * columns, 2.1 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, axis in enumerate(axes.ravel()):
        if index >= count:
            axis.axis("off")
            continue
        frames = features[index].shape[0]
        axis.imshow(features[index].T, origin="lower", aspect="auto", cmap="magma",
                    extent=(0, frames * hop_seconds, 0, features[index].shape[1]))
        axis.set_title(titles[index], fontsize=8)
        axis.set_xlabel("s", fontsize=7)
        axis.set_ylabel("mel band", fontsize=7)
        axis.tick_params(labelsize=6)
    if title:
        figure.suptitle(title)
    return figure


def grouped_bars(groups: Sequence[str], series: Mapping[str, Sequence[float]], *, ylabel: str, title: str,
                 reference: float | None = None) -> Figure:
    """One cluster of bars per group (e.g. per held-out speaker), one bar per series (model, baseline)."""
    figure = Figure(figsize=(max(5.0, 1.1 * len(groups) + 2), 3.8), layout="constrained")
    axis = figure.subplots()
    width = 0.8 / max(len(series), 1)
    positions = np.arange(len(groups))
    for offset, (label, values) in enumerate(series.items()):
        drawn = axis.bar(positions + (offset - (len(series) - 1) / 2) * width, values, width, label=label, alpha=0.85)
        axis.bar_label(drawn, labels=[f"{v:.2f}" for v in values], fontsize=7)
    if reference is not None:
        axis.axhline(reference, color="grey", linestyle="--", linewidth=1, label=f"target {reference:g}")
    axis.set_xticks(positions, labels=list(groups), rotation=20)
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 1.22)  # headroom for the legend above the bars
    axis.set_title(title)
    axis.legend(fontsize=8, loc="upper left", ncol=len(series) + (reference is not None))
    return figure
