"""The shared ``fit()`` setup: seeding, dtype policy, callbacks, resumable training.

A run is wrapped in :func:`run_session` (seed + dtype policy, restored afterwards) and trains
through :func:`fit`, which adds the callbacks every example wants:

- ``BackupAndRestore``: an interrupted run started again with the same workdir resumes from its
  last completed epoch instead of from scratch;
- ``ModelCheckpoint``: the best weights by the monitored metric, restored at the end;
- ``EarlyStopping`` (when ``patience`` is given), ``TerminateOnNaN``;
- ``CSVLogger`` (the full history, also across a resume) and ``TensorBoard`` logs.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import math
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras

from common import precision


@dataclasses.dataclass(frozen=True)
class Session:
    """What :func:`run_session` set up for a run."""

    seed: int
    policy: str  # the concrete dtype policy, e.g. "mixed_bfloat16"
    backend: str


@contextlib.contextmanager
def run_session(*, seed: int, precision_name: str = "auto") -> Iterator[Session]:
    """Seed every generator and set the dtype policy for the block; restore the policy after."""
    keras.utils.set_random_seed(seed)
    with precision.policy_scope(precision_name) as policy:
        yield Session(seed=seed, policy=policy, backend=keras.backend.backend())


def progress_verbosity() -> int:
    """Keras ``verbose``: a live progress bar in a terminal, one line per epoch in logs."""
    return 1 if sys.stdout.isatty() else 2


def cosine_schedule(
    learning_rate: float, total_steps: int, warmup_fraction: float = 0.05
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up to ``learning_rate`` then cosine decay to zero over ``total_steps``."""
    total_steps = max(int(total_steps), 1)
    warmup_steps = int(total_steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def callbacks(
    workdir: str | Path,
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int | None = None,
    backup: bool = True,
    tensorboard: bool = True,
    backup_every_steps: int | None = None,
) -> list[keras.callbacks.Callback]:
    """The standard callbacks, writing under ``workdir``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    result: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    if backup:
        result.append(
            keras.callbacks.BackupAndRestore(
                str(workdir / "backup"), save_freq=backup_every_steps or "epoch", delete_checkpoint=True
            )
        )
    result.append(
        keras.callbacks.ModelCheckpoint(
            str(workdir / "best.weights.h5"),
            monitor=monitor,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
        )
    )
    if patience is not None:
        result.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience))
    result.append(keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True))
    if tensorboard:
        result.append(keras.callbacks.TensorBoard(str(workdir / "logs"), write_graph=False))
    return result


def fit(
    model: keras.Model,
    train_data: Any,
    validation_data: Any,
    *,
    epochs: int,
    workdir: str | Path,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int | None = None,
    restore_best: bool = True,
    tensorboard: bool = True,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    **fit_kwargs: Any,
) -> dict[str, list[float]]:
    """``model.fit`` with the standard callbacks; returns the full per-epoch history.

    When ``workdir`` holds a backup from an interrupted run, training resumes from it, and the
    returned history includes the epochs run before the interruption.
    """
    workdir = Path(workdir)
    history_file = workdir / "history.csv"
    if not (workdir / "backup").exists():
        # A fresh start: earlier histories in this workdir belong to another run.
        history_file.unlink(missing_ok=True)
        shutil.rmtree(workdir / "logs", ignore_errors=True)
        (workdir / "best.weights.h5").unlink(missing_ok=True)
    if type(train_data).__module__.startswith("tensorflow"):
        fit_kwargs.setdefault("shuffle", False)  # a tf.data pipeline shuffles itself
    model.fit(
        train_data,
        validation_data=validation_data,
        epochs=epochs,
        callbacks=[
            *callbacks(workdir, monitor=monitor, mode=mode, patience=patience, tensorboard=tensorboard),
            *extra_callbacks,
        ],
        verbose=fit_kwargs.pop("verbose", progress_verbosity()),
        **fit_kwargs,
    )
    best = workdir / "best.weights.h5"
    if restore_best and best.exists():
        model.load_weights(str(best))
    return read_history(history_file)


def read_history(path: str | Path) -> dict[str, list[float]]:
    """A CSVLogger file as ``{column: [value per epoch]}``."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            columns.setdefault(key, []).append(number)
    return columns
