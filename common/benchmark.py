"""Throughput and FLOP measurements shared by every domain's benchmark command.

Benchmarks report figures into results/benchmarks/ (see :func:`common.results.write_benchmark`);
they are commands, never timed tests, because wall time on a shared machine is noise in a test.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import keras
import numpy as np


def matmul_peak(dtype: str = "float32", size: int = 2048, rounds: int = 3, per_round: int = 10) -> float:
    """Sustained FLOP/s of ``size``^3 matmuls in ``dtype`` on this backend.

    Each round times ``per_round`` back-to-back matmuls (about a second here), and the best round
    counts: a single short matmul can burst above what the machine sustains, and the training it
    is compared with is sustained too.
    """
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=dtype)
    b = keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=dtype)
    keras.ops.convert_to_numpy(keras.ops.matmul(a, b))  # warm-up (kernel selection, allocation)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            keras.ops.convert_to_numpy(keras.ops.matmul(a, b))
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 * per_round / best


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations (multiply and add counted separately) of one forward pass of one
    example, summed over the Dense, EinsumDense and convolution layers of a built Functional model.

    Other layers (normalisation, activations, pooling) are left out: they are a few percent of a
    CNN's or MLP's work, so model FLOP utilisation computed from this is a slight lower bound.
    """
    total = 0
    for layer in _leaf_layers(model):
        try:
            output_shape = layer.output.shape
        except (AttributeError, ValueError):
            continue  # a layer used in several places or not in the functional graph
        positions = int(np.prod([d for d in output_shape[1:-1] if d is not None] or [1]))
        if isinstance(layer, keras.layers.Dense):
            total += 2 * positions * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.EinsumDense):
            total += 2 * positions * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.DepthwiseConv2D | keras.layers.DepthwiseConv1D):
            kernel = layer.kernel.shape  # [k..., in, multiplier]
            total += 2 * positions * int(np.prod(kernel))
        elif isinstance(layer, keras.layers.SeparableConv2D | keras.layers.SeparableConv1D):
            total += 2 * positions * (
                int(np.prod(layer.depthwise_kernel.shape)) + int(np.prod(layer.pointwise_kernel.shape))
            )
        elif isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D | keras.layers.Conv3D):
            kernel = layer.kernel.shape  # [k..., in / groups, out]
            total += 2 * positions * int(np.prod(kernel))
    return total


def _leaf_layers(model: keras.Model) -> Iterable[keras.layers.Layer]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def time_pipeline(dataset: Any, batches: int, warmup: int = 2) -> dict[str, float]:
    """Examples/s and batches/s of iterating ``dataset`` alone (no model)."""
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    examples = 0
    start = time.perf_counter()
    for _ in range(batches):
        examples += _batch_size(next(iterator))
    elapsed = time.perf_counter() - start
    return {"examples_per_second": examples / elapsed, "batches_per_second": batches / elapsed}


def _batch_size(batch: Any) -> int:
    """Rows in a batch: ``x`` or ``(x, y[, w])``, where ``x`` may be a dict or tuple of inputs."""
    inputs = batch[0] if isinstance(batch, tuple) else batch
    return int(keras.tree.flatten(inputs)[0].shape[0])


class _StepTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.times.append(time.perf_counter())


def time_training(model: keras.Model, dataset: Any, steps: int, warmup: int = 3) -> dict[str, float]:
    """Examples/s of ``model.fit`` on ``dataset`` (already compiled; steps after ``warmup`` timed)."""
    timer = _StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps + warmup, callbacks=[timer], verbose=0, shuffle=False)
    elapsed = timer.times[-1] - timer.times[warmup - 1]
    batch_size = _batch_size(next(iter(dataset)))
    return {
        "examples_per_second": steps * batch_size / elapsed,
        "seconds_per_step": elapsed / steps,
        "batch_size": batch_size,
    }
