"""Training settings: presets per model family, learning-rate schedules, results folder names."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from applications.nlp import train
from applications.nlp.config import NLPConfig
from common.config import ConfigError


def test_linear_schedule_warms_up_then_decays_to_zero():
    schedule = train.LinearSchedule(2.0, total_steps=100, warmup_steps=10)
    values = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 9, 10, 55, 99, 100, 140)]
    np.testing.assert_allclose(values, [0.2, 2.0, 2.0, 1.0, 2.0 / 90, 0.0, 0.0], rtol=1e-5, atol=1e-7)
    again = train.LinearSchedule.from_config(schedule.get_config())
    assert float(keras.ops.convert_to_numpy(again(55))) == pytest.approx(1.0)


def test_the_config_picks_the_schedule_and_names_the_results_folder():
    full = NLPConfig.from_preset("full", model="pretrained")
    assert full.lr_schedule == "cosine" and (full.epochs, full.learning_rate) == (2, 5e-5)
    assert train.run_name(full) == "full-pretrained"
    assert not isinstance(train.learning_rate_schedule(full, 100), train.LinearSchedule)
    linear = full.replace(lr_schedule="linear")
    assert isinstance(train.learning_rate_schedule(linear, 100), train.LinearSchedule)
    assert linear.overrides_from_preset() == {"lr_schedule": "linear", "model": "pretrained"}
    assert train.run_name(full.replace(run_tag="lr8e-5")) == "full-pretrained-lr8e-5"
    with pytest.raises(ConfigError, match=r"--run-tag may hold only .* received 'a/b'"):
        full.replace(run_tag="a/b").validate()
