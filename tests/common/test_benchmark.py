"""FLOP counting and timing helpers."""

from __future__ import annotations

import keras
import numpy as np

from common import benchmark


def test_forward_flops_counts_dense_and_convolution_layers():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)  # 2 * 64 positions * 9 * 1 * 2
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 2 * 64 * 9 * 2
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3)(x)  # 2 * 2 * 3
    model = keras.Model(inputs, outputs)
    assert benchmark.forward_flops(model) == 2 * 64 * 9 * 2 + 2 * 64 * 9 * 2 + 2 * 2 * 3


def test_timing_helpers_report_positive_rates():
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((np.ones((64, 4), "float32"), np.ones((64, 1), "float32"))).batch(8).repeat()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert benchmark.time_training(model, dataset, steps=3)["examples_per_second"] > 0
    assert benchmark.time_pipeline(dataset, batches=3)["examples_per_second"] > 0
    assert benchmark.matmul_peak("float32", size=64, rounds=1, per_round=2) > 0
