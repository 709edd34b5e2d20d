"""Dtype policies: choose one for the hardware, set it for a run, restore it afterwards.

``auto`` follows what was measured: mixed_float16 on NVIDIA GPUs of compute capability 7.x
(tensor cores without bf16), mixed_bfloat16 on 8.0+ and on CPUs with native bf16 instructions
(AVX512_BF16 or AMX: about 1.5x faster per step on our 2-core EPYC), float32 otherwise. On a CPU
without bf16, mixed_float16 was 5x slower than float32, so ``auto`` never picks it there.

Models keep their output layer in float32 (``dtype="float32"`` on the last layer) so losses and
probabilities are computed at full precision under any policy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Iterator

import keras

from common.config import PRECISIONS
from common.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """The device a run trains on, as far as the precision choice is concerned."""

    kind: str  # "gpu" or "cpu"
    name: str
    compute_capability: tuple[int, int] | None = None  # NVIDIA GPUs only
    cpu_bf16: bool = False  # CPU has native bf16 instructions


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises AVX512_BF16 or AMX-BF16 (Linux /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _gpu_info() -> tuple[str, tuple[int, int] | None] | None:
    """Name and compute capability of the first GPU visible to the active backend."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return details.get("device_name", "GPU"), details.get("compute_capability")
        elif backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if gpus:
                capability = getattr(gpus[0], "compute_capability", None)
                if isinstance(capability, str):
                    capability = tuple(int(p) for p in capability.split(".")[:2])
                return gpus[0].device_kind, capability
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0)
    except Exception:  # noqa: BLE001 - device queries must never stop a run
        return None
    return None


def detect_accelerator() -> Accelerator:
    gpu = _gpu_info()
    if gpu is not None:
        return Accelerator("gpu", gpu[0], tuple(gpu[1]) if gpu[1] else None)
    return Accelerator("cpu", _cpu_name(), cpu_bf16=cpu_has_native_bf16())


def resolve_policy(name: str, accelerator: Accelerator | None = None) -> str:
    """The concrete Keras dtype policy for ``name`` ('auto' decided by the hardware)."""
    if name not in PRECISIONS:
        raise ConfigError(f"Unknown precision {name!r}. Expected one of {list(PRECISIONS)}.")
    if name != "auto":
        return name
    accelerator = accelerator or detect_accelerator()
    if accelerator.kind == "gpu":
        major = (accelerator.compute_capability or (0, 0))[0]
        if major >= 8:
            return "mixed_bfloat16"
        if major == 7:
            return "mixed_float16"
        return "float32"
    return "mixed_bfloat16" if accelerator.cpu_bf16 else "float32"


@contextlib.contextmanager
def policy_scope(name: str) -> Iterator[str]:
    """Set the global dtype policy for the block and restore the previous one afterwards."""
    policy = resolve_policy(name)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)


def environment_summary() -> dict[str, object]:
    """What the precision choice was based on, for environment.json."""
    accelerator = detect_accelerator()
    return {
        "accelerator": accelerator.kind,
        "device_name": accelerator.name,
        "compute_capability": list(accelerator.compute_capability)
        if accelerator.compute_capability
        else None,
        "cpu_native_bf16": accelerator.cpu_bf16 if accelerator.kind == "cpu" else None,
        "cpu_count": os.cpu_count(),
    }
