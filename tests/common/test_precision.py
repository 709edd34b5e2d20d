"""Dtype policy choice and scoping."""

from __future__ import annotations

import keras
import pytest

from common import precision
from common.errors import ConfigError


@pytest.mark.parametrize(
    "accelerator, expected",
    [
        (precision.Accelerator("gpu", "V100", (7, 0)), "mixed_float16"),
        (precision.Accelerator("gpu", "T4", (7, 5)), "mixed_float16"),
        (precision.Accelerator("gpu", "A100", (8, 0)), "mixed_bfloat16"),
        (precision.Accelerator("gpu", "H100", (9, 0)), "mixed_bfloat16"),
        (precision.Accelerator("gpu", "P100", (6, 0)), "float32"),
        (precision.Accelerator("cpu", "EPYC", cpu_bf16=True), "mixed_bfloat16"),
        (precision.Accelerator("cpu", "old", cpu_bf16=False), "float32"),
    ],
)
def test_auto_policy_follows_the_hardware(accelerator, expected):
    assert precision.resolve_policy("auto", accelerator) == expected


def test_explicit_policy_is_kept_and_unknown_rejected():
    assert precision.resolve_policy("float32", precision.Accelerator("cpu", "x", cpu_bf16=True)) == "float32"
    with pytest.raises(ConfigError, match="Unknown precision 'fp8'"):
        precision.resolve_policy("fp8")


def test_policy_scope_restores_the_previous_policy():
    before = keras.config.dtype_policy().name
    with precision.policy_scope("mixed_bfloat16") as policy:
        assert policy == "mixed_bfloat16"
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    assert keras.config.dtype_policy().name == before


def test_policy_scope_restores_after_an_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError):
        with precision.policy_scope("mixed_bfloat16"):
            raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == before
