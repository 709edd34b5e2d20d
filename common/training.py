"""The shared ``fit()`` setup: seeding, dtype policy, distribution, callbacks, resumable training.

A run is wrapped in :func:`run_session` (distribution strategy, seed and dtype policy; restored
afterwards) and trains through :func:`fit`, which adds the callbacks every example wants:

- :class:`StepBackup` (Keras' ``BackupAndRestore`` that also records the step within the epoch):
  a run killed at any point and started again with the same workdir resumes from its last backup
  (every epoch, and every ``backup_steps`` optimizer steps when set) and skips the batches of the
  interrupted epoch it had already trained on, so it ends with the same number of optimizer steps
  as an uninterrupted run;
- ``ModelCheckpoint``: the best weights by the monitored metric, restored at the end;
- ``EarlyStopping`` (when ``patience`` is given), ``TerminateOnNaN``;
- ``CSVLogger`` (the full history, also across a resume) and ``TensorBoard`` logs.

Models must be built and compiled inside ``run_session`` so that a distribution strategy
replicates them; ``session.batch_size(...)`` gives the global batch to build pipelines with.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import math
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras

from common import distribute, precision

log = logging.getLogger("keras_applied.training")


@dataclasses.dataclass(frozen=True)
class Session:
    """What :func:`run_session` set up for a run."""

    seed: int
    policy: str  # the concrete dtype policy, e.g. "mixed_bfloat16"
    backend: str
    distribution: distribute.Distribution = distribute.Distribution("none")
    backup_steps: int = 0

    def batch_size(self, requested: int) -> int:
        """The global batch size to build pipelines with (a multiple of the replica count)."""
        return distribute.global_batch_size(requested, self.distribution.replicas)

    def learning_rate(self, learning_rate: float, requested_batch: int) -> float:
        """``learning_rate`` scaled linearly if the global batch had to be adjusted."""
        adjusted = distribute.global_batch_size(requested_batch, self.distribution.replicas, warn=False)
        return distribute.scaled_learning_rate(learning_rate, requested_batch, adjusted)


_CURRENT: Session | None = None


def current_session() -> Session | None:
    """The session of the run in progress, or None outside :func:`run_session`."""
    return _CURRENT


@contextlib.contextmanager
def run_session(
    *, seed: int, precision_name: str = "auto", distribute_mode: str = "none", backup_steps: int = 0
) -> Iterator[Session]:
    """Enter the distribution scope, seed every generator and set the dtype policy for the block.

    Call it with the config's fields: ``run_session(seed=config.seed,
    precision_name=config.precision, distribute_mode=config.distribute,
    backup_steps=config.backup_steps)``.
    """
    global _CURRENT
    previous = _CURRENT
    # The strategy comes first: splitting the CPU into logical devices must precede any TF op.
    with distribute.distribution_scope(distribute_mode) as distribution:
        keras.utils.set_random_seed(seed)
        with precision.policy_scope(precision_name) as policy:
            _CURRENT = Session(seed=seed, policy=policy, backend=keras.backend.backend(),
                               distribution=distribution, backup_steps=backup_steps)
            try:
                yield _CURRENT
            finally:
                _CURRENT = previous


def session_for(config: Any) -> contextlib.AbstractContextManager[Session]:
    """:func:`run_session` with a RunConfig's shared fields (seed, precision, distribute, backup_steps)."""
    return run_session(seed=config.seed, precision_name=config.precision,
                       distribute_mode=config.distribute, backup_steps=config.backup_steps)


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


# ---------------------------------------------------------------------------------------------
# Backups that resume at the exact step
# ---------------------------------------------------------------------------------------------
class StepBackup(keras.callbacks.Callback):
    """Backs up the training state (weights with optimizer state, and the position in training)
    every ``save_freq`` optimizer steps and at every epoch end, and restores it when training
    starts again.

    Unlike Keras' ``BackupAndRestore``, which restores a mid-epoch backup but replays the whole
    epoch, the position records how many batches of the epoch were done, so :func:`fit` can skip
    them. Each backup is a new weights file; ``position.json`` is switched to it atomically only
    once the file is complete, so a process killed at any instant leaves a consistent backup.
    ``batch_offset`` is the number of batches skipped at the start of this ``fit()`` call.
    """

    def __init__(
        self, backup_dir: str | Path, save_freq: int | str = "epoch", batch_offset: int = 0,
        delete_at_end: bool = True,
    ) -> None:
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.save_every = save_freq if isinstance(save_freq, int) and save_freq > 0 else 0
        self.batch_offset = batch_offset  # only the first epoch of this fit() call is partial
        self.delete_at_end = delete_at_end
        self._epoch = 0
        self._batches_done = batch_offset
        self._since_save = 0

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def read_position(backup_dir: str | Path) -> tuple[int, int]:
        """(epoch, batches done in that epoch) of the backup in ``backup_dir``; (0, 0) if none."""
        path = Path(backup_dir) / "position.json"
        if not path.exists():
            return 0, 0
        position = json.loads(path.read_text(encoding="utf-8"))
        return int(position["epoch"]), int(position["batch"])

    def on_train_begin(self, logs: Any = None) -> None:
        path = self.backup_dir / "position.json"
        if not path.exists():
            return
        position = json.loads(path.read_text(encoding="utf-8"))
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(str(self.backup_dir / position["weights"]))
        log.info("restored the backup of epoch %d, batch %d (optimizer step %d)",
                 position["epoch"] + 1, position["batch"], position["optimizer_steps"])

    # -- writing ---------------------------------------------------------------------------
    def _save(self) -> None:
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        steps = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        name = f"state-{steps:09d}-{self._epoch:04d}-{self._batches_done:06d}.weights.h5"
        self.model.save_weights(str(self.backup_dir / name))
        position = {"epoch": self._epoch, "batch": self._batches_done, "optimizer_steps": steps, "weights": name}
        staging = self.backup_dir / "position.json.partial"
        staging.write_text(json.dumps(position), encoding="utf-8")
        staging.replace(self.backup_dir / "position.json")  # atomic: the backup switches here
        for old in self.backup_dir.glob("state-*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._epoch = epoch
        self._batches_done = self.batch_offset

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._batches_done = self.batch_offset + batch + 1
        self._since_save += 1
        steps = (self.params or {}).get("steps")
        if steps and batch + 1 >= steps:
            # The epoch's last batch: on_epoch_end saves next. A backup here would say "every batch
            # done, epoch not ended", leaving a resumed run an empty rest-of-epoch to train on.
            return
        if self.save_every and self._since_save >= self.save_every:
            self._since_save = 0
            self._save()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._epoch, self._batches_done, self.batch_offset = epoch + 1, 0, 0
        self._since_save = 0
        self._save()

    def on_train_end(self, logs: Any = None) -> None:
        if self.delete_at_end:
            shutil.rmtree(self.backup_dir, ignore_errors=True)


class StepCount(keras.callbacks.Callback):
    """Adds ``optimizer_steps`` (the optimizer's iteration count) to each epoch's logs, so the
    history records how many steps were trained even after the best weights are restored."""

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if logs is not None and self.model.optimizer is not None:
            logs["optimizer_steps"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))


def callbacks(
    workdir: str | Path,
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int | None = None,
    backup: bool = True,
    tensorboard: bool = True,
    backup_steps: int = 0,
    batch_offset: int = 0,
    delete_backup_at_end: bool = True,
) -> list[keras.callbacks.Callback]:
    """The standard callbacks, writing under ``workdir``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    result: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN(), StepCount()]
    if backup:
        result.append(StepBackup(str(workdir / "backup"), save_freq=backup_steps or "epoch",
                                 batch_offset=batch_offset, delete_at_end=delete_backup_at_end))
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


def _is_tf_dataset(data: Any) -> bool:
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "skip")


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
    backup_steps: int | None = None,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    **fit_kwargs: Any,
) -> dict[str, list[float]]:
    """``model.fit`` with the standard callbacks; returns the full per-epoch history.

    When ``workdir`` holds a backup from an interrupted run, training resumes from it (skipping
    the batches of the interrupted epoch already trained on, for tf.data inputs), and the returned
    history includes the epochs run before the interruption. ``backup_steps`` defaults to the
    active session's ``--backup-steps``.
    """
    workdir = Path(workdir)
    if not distribute.is_chief():
        # Non-chief workers train in lockstep but keep their files out of the chief's way.
        workdir = workdir / f"worker-{distribute.worker_index()}"
    history_file = workdir / "history.csv"
    if not (workdir / "backup").exists():
        # A fresh start: earlier histories in this workdir belong to another run.
        history_file.unlink(missing_ok=True)
        shutil.rmtree(workdir / "logs", ignore_errors=True)
        (workdir / "best.weights.h5").unlink(missing_ok=True)
    if backup_steps is None:
        backup_steps = _CURRENT.backup_steps if _CURRENT else 0
    if _is_tf_dataset(train_data):
        fit_kwargs.setdefault("shuffle", False)  # a tf.data pipeline shuffles itself
    verbose = fit_kwargs.pop("verbose", progress_verbosity())
    extra_callbacks = list(extra_callbacks)
    distribution = distribute.current()
    if distribution.mode == "data_parallel" and distribution.replicas > 1 and _is_tf_dataset(validation_data):
        from common import data as data_lib

        validation_data = data_lib.pad_batches_to_multiple(validation_data, distribution.replicas)

    def run(data: Any, first_epoch: int, last_epoch: int, batch_offset: int, last_call: bool = True) -> None:
        model.fit(
            data,
            validation_data=validation_data,
            initial_epoch=first_epoch,
            epochs=last_epoch,
            callbacks=[
                *callbacks(workdir, monitor=monitor, mode=mode, patience=patience, tensorboard=tensorboard,
                           backup_steps=backup_steps, batch_offset=batch_offset,
                           delete_backup_at_end=last_call),
                *extra_callbacks,
            ],
            verbose=verbose,
            **fit_kwargs,
        )

    epoch, batches_done = StepBackup.read_position(workdir / "backup")
    if batches_done and _is_tf_dataset(train_data) and int(train_data.cardinality()) == batches_done:
        # A backup taken after the epoch's last batch but before its end (older backups): the
        # epoch's training is complete, only its validation and logs are missing.
        log.warning("the backup is at the end of epoch %d; continuing with the next epoch", epoch + 1)
        epoch, batches_done = epoch + 1, 0
    if batches_done and _is_tf_dataset(train_data) and epoch < epochs:
        log.info("resuming epoch %d after its first %d batches", epoch + 1, batches_done)
        # The rest of the interrupted epoch, keeping the backup until the next call has its own.
        run(train_data.skip(batches_done), epoch, epoch + 1, batches_done, last_call=epoch + 1 >= epochs)
        if epoch + 1 < epochs:
            run(train_data, epoch + 1, epochs, 0)
    else:
        if batches_done:
            log.warning("resuming at the start of epoch %d (batch skipping needs a tf.data pipeline)", epoch + 1)
        if epoch < epochs:
            run(train_data, epoch, epochs, 0)
        else:  # finished before the backup could be removed: take its final state
            restore = StepBackup(workdir / "backup")
            restore.set_model(model)
            restore.on_train_begin()
    best = workdir / "best.weights.h5"
    if restore_best and best.exists():
        model.load_weights(str(best))
    return read_history(history_file)


def predict(model: keras.Model, data: Any, verbose: int = 0) -> Any:
    """``model.predict`` over every example of ``data``, under any distribution.

    JAX data parallelism needs every batch divisible by the device count, so there the last
    batch is padded (repeating its last example) and the padding's predictions dropped.
    """
    distribution = distribute.current()
    if distribution.mode != "data_parallel" or distribution.replicas == 1:
        return model.predict(data, verbose=verbose)
    import numpy as np

    replicas = distribution.replicas
    batches = data.as_numpy_iterator() if hasattr(data, "as_numpy_iterator") else [data]
    outputs = []
    for batch in batches:
        inputs = batch[0] if isinstance(batch, tuple) else batch
        count = len(keras.tree.flatten(inputs)[0])
        pad = (-count) % replicas
        if pad:
            inputs = keras.tree.map_structure(lambda x, pad=pad: np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]), inputs)
        result = model.predict_on_batch(inputs)
        outputs.append(keras.tree.map_structure(lambda y, count=count: np.asarray(y)[:count], result))
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *outputs)


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
