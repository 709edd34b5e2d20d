"""Data-parallel training on the engines that exist: tf.distribute (TF) and keras.distribution (JAX).

``--distribute`` on every domain's command line picks one of :data:`MODES`:

- ``none``          one process, the backend's default device placement;
- ``mirrored``      TF ``MirroredStrategy`` over the local devices (all GPUs; on a CPU-only
                    machine, ``$KERAS_APPLIED_CPU_DEVICES=N`` splits the CPU into N logical
                    devices, which is how the tests exercise it);
- ``multi_worker``  TF ``MultiWorkerMirroredStrategy`` across processes described by
                    ``$TF_CONFIG`` (``python -m common.launch`` starts them on one host);
- ``data_parallel`` JAX ``keras.distribution.DataParallel`` over every device (several hosts:
                    ``python -m common.launch --backend jax``; on a CPU,
                    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` gives N devices).

Handled here once, not per domain:

- **batch size**: ``--batch-size`` is the global batch (all replicas together); each replica
  gets ``batch_size / replicas``. A batch size not divisible by the replica count is rounded down
  to a multiple, with a warning, and the learning rate scaled by the same factor (linear scaling
  rule), so the run stays comparable to the single-device one with the same global batch.
- **dataset sharding**: Keras distributes tf.data pipelines itself; under ``multi_worker`` each
  worker keeps every N-th batch (auto-shard policy DATA, since our pipelines read from memory).
- **who writes**: only the chief (worker 0) writes results and model files; other workers write
  into a scratch folder that is deleted (see :func:`is_chief`, used by results.py and saving.py).
- **workers that never join**: the peers' ports are polled with a deadline, and a worker that
  has not joined in ``$KERAS_APPLIED_JOIN_TIMEOUT`` seconds (default 120) stops the run with a
  message naming it, instead of hanging.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from common.errors import ConfigError

log = logging.getLogger("keras_applied.distribute")

MODES = ("none", "mirrored", "multi_worker", "data_parallel")
CPU_DEVICES_ENV = "KERAS_APPLIED_CPU_DEVICES"
JOIN_TIMEOUT_ENV = "KERAS_APPLIED_JOIN_TIMEOUT"


@dataclasses.dataclass(frozen=True)
class Distribution:
    """The data-parallel layout of this run."""

    mode: str
    replicas: int = 1  # replicas in sync, over all workers
    num_workers: int = 1
    worker_index: int = 0
    strategy: Any = None  # the tf.distribute strategy (TF modes only)

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0


_ACTIVE = Distribution("none")
# A process that joined a multi-worker run as worker i stays worker i after the training scope
# closes, so results written afterwards still come from the chief alone.
_PROCESS_WORKER_INDEX = 0


def current() -> Distribution:
    """The distribution of the run in progress (``none`` outside :func:`distribution_scope`)."""
    return _ACTIVE


def worker_index() -> int:
    return max(_ACTIVE.worker_index, _PROCESS_WORKER_INDEX)


def is_chief() -> bool:
    """True unless this process is (or was) a non-chief worker of a multi-worker run."""
    return worker_index() == 0


# ---------------------------------------------------------------------------------------------
# TF_CONFIG
# ---------------------------------------------------------------------------------------------
def parse_tf_config(raw: str | None = None) -> dict[str, Any]:
    """``$TF_CONFIG`` checked for what MultiWorkerMirroredStrategy needs; ConfigError otherwise."""
    raw = os.environ.get("TF_CONFIG") if raw is None else raw
    expected = (
        'Expected JSON like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
        '"task": {"type": "worker", "index": 0}}'
    )
    if not raw:
        raise ConfigError(f"--distribute multi_worker needs $TF_CONFIG; it is not set. {expected}.")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"$TF_CONFIG is not valid JSON ({error}); received {raw[:200]!r}. {expected}.") from error
    if not isinstance(config, dict):
        raise ConfigError(f"$TF_CONFIG must be a JSON object; received {raw[:200]!r}. {expected}.")
    workers = (config.get("cluster") or {}).get("worker")
    if not isinstance(workers, list) or not workers or not all(isinstance(w, str) and ":" in w for w in workers):
        raise ConfigError(f"$TF_CONFIG cluster.worker must be a non-empty list of 'host:port'; received {workers!r}. {expected}.")
    task = config.get("task") or {}
    if task.get("type") not in ("worker", "chief"):
        raise ConfigError(f"$TF_CONFIG task.type must be 'worker'; received {task.get('type')!r}. {expected}.")
    index = task.get("index")
    if not isinstance(index, int) or not 0 <= index < len(workers):
        raise ConfigError(
            f"$TF_CONFIG task.index must be an integer in [0, {len(workers) - 1}]; received {index!r}. {expected}."
        )
    return config


def wait_for_workers(addresses: list[str], own_index: int, timeout: float) -> None:
    """Poll every other worker's port until it accepts connections; raise if one never does."""
    deadline = time.monotonic() + timeout
    for index, address in enumerate(addresses):
        if index == own_index:
            continue
        host, port = address.rsplit(":", 1)
        while True:
            try:
                with socket.create_connection((host, int(port)), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"worker {index} at {address} did not join within {timeout:.0f} s "
                        f"(this is worker {own_index} of {len(addresses)}). Start every worker listed "
                        f"in TF_CONFIG, or raise ${JOIN_TIMEOUT_ENV}."
                    ) from None
                time.sleep(0.5)


# ---------------------------------------------------------------------------------------------
# Batch size and learning rate
# ---------------------------------------------------------------------------------------------
def global_batch_size(batch_size: int, replicas: int, warn: bool = True) -> int:
    """``batch_size`` rounded down to a multiple of ``replicas`` (with a warning when changed)."""
    if replicas <= 1 or batch_size % replicas == 0:
        return batch_size
    if batch_size < replicas:
        raise ConfigError(
            f"--batch-size {batch_size} is smaller than the {replicas} replicas; expected at least one "
            f"example per replica (a multiple of {replicas})."
        )
    adjusted = batch_size - batch_size % replicas
    if warn:
        log.warning("batch size %d is not divisible by %d replicas; using %d (%d per replica)",
                    batch_size, replicas, adjusted, adjusted // replicas)
    return adjusted


def scaled_learning_rate(learning_rate: float, requested_batch: int, global_batch: int) -> float:
    """The linear scaling rule: the learning rate follows the global batch size."""
    return learning_rate * global_batch / requested_batch


# ---------------------------------------------------------------------------------------------
# Scopes
# ---------------------------------------------------------------------------------------------
def _split_cpu(count: int) -> None:
    """Expose the CPU as ``count`` logical devices (before TensorFlow initialises its runtime)."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        log.warning("TensorFlow was initialised before the CPU could be split into %d devices", count)


def _tf_strategy(mode: str):
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ConfigError(
            f"--distribute {mode} uses tf.distribute and needs KERAS_BACKEND=tensorflow; "
            f"the backend is {keras.backend.backend()!r}. With JAX use --distribute data_parallel."
        )
    if mode == "mirrored":
        if not tf.config.list_physical_devices("GPU") and os.environ.get(CPU_DEVICES_ENV):
            _split_cpu(int(os.environ[CPU_DEVICES_ENV]))
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices), 1, 0
    config = parse_tf_config()
    workers = config["cluster"]["worker"]
    index = config["task"]["index"]
    _patch_keras_for_multi_worker()
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=float(os.environ.get(JOIN_TIMEOUT_ENV, 120))
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    # The strategy's server is up now; make sure the peers' are too, or stop with a message.
    wait_for_workers(workers, index, float(os.environ.get(JOIN_TIMEOUT_ENV, 120)))
    return strategy, len(workers), index


@contextlib.contextmanager
def distribution_scope(mode: str = "none") -> Iterator[Distribution]:
    """Create the strategy for ``mode`` and enter its scope (models built inside are replicated)."""
    global _ACTIVE, _PROCESS_WORKER_INDEX
    if mode not in MODES:
        raise ConfigError(f"Unknown --distribute mode {mode!r}; expected one of {list(MODES)}.")
    previous = _ACTIVE
    if mode == "none":
        yield _ACTIVE
        return
    if mode == "data_parallel":
        import keras

        if keras.backend.backend() != "jax":
            raise ConfigError(
                "--distribute data_parallel uses keras.distribution, which needs KERAS_BACKEND=jax; "
                f"the backend is {keras.backend.backend()!r}. With TensorFlow use mirrored or multi_worker."
            )
        import jax

        if os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") and jax.process_count() == 1:
            # Several processes (python -m common.launch --backend jax): connect them first.
            if jax.default_backend() == "cpu":
                jax.config.update("jax_cpu_collectives_implementation", "gloo")
            keras.distribution.initialize()
        devices = keras.distribution.list_devices()
        distribution = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(distribution)
        _ACTIVE = Distribution(mode, replicas=len(devices), num_workers=jax.process_count(),
                               worker_index=jax.process_index())
        _PROCESS_WORKER_INDEX = jax.process_index()
        log.info("data parallel over %d JAX devices (%d processes)", len(devices), jax.process_count())
        try:
            yield _ACTIVE
        finally:
            keras.distribution.set_distribution(None)
            _ACTIVE = previous
        return
    strategy, workers, index = _tf_strategy(mode)
    _ACTIVE = Distribution(mode, replicas=strategy.num_replicas_in_sync, num_workers=workers,
                           worker_index=index, strategy=strategy)
    _PROCESS_WORKER_INDEX = index
    log.info("%s: %d replicas in sync over %d worker(s); this is worker %d",
             mode, strategy.num_replicas_in_sync, workers, index)
    try:
        with strategy.scope():
            yield _ACTIVE
    finally:
        _ACTIVE = previous


# ---------------------------------------------------------------------------------------------
# Keras 3 + MultiWorkerMirroredStrategy
# ---------------------------------------------------------------------------------------------
_PATCHED = False


def _patch_keras_for_multi_worker() -> None:
    """Work around two Keras 3 bugs that stop ``fit()`` under MultiWorkerMirroredStrategy
    (keras-team/keras#20585, still open for keras 3.15):

    1. ``_maybe_symbolic_build`` all-reduces a whole (x, y) batch structure, which the collective
       cross-device ops reject; building only needs one replica's local batch.
    2. ``reduce_per_replica`` all-reduces scalar metric values along axis 0, which fails for
       rank-0 tensors; the mean over replicas is the intended result.

    Applied only when a multi-worker strategy is created; single-process runs never see it.
    """
    global _PATCHED
    if _PATCHED:
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        strategy = self.distribute_strategy
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v,
                    next(batches),
                )
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if tf_trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto", "mean"):
            def mean(value):
                if isinstance(value, tf.distribute.DistributedValues):
                    return strategy.reduce("MEAN", value, axis=None)
                return value

            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _PATCHED = True
