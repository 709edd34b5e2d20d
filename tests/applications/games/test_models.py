"""The policy-value network: shapes, legal-move masking, the custom layer as library code,
mixed precision, and one training step + save/load + search under each backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from applications.games import models
from common import precision
from tests.helpers import BACKENDS, run_python


def _inputs(batch=4, shape=(6, 7, 3), actions=7, seed=0):
    rng = np.random.default_rng(seed)
    legal = (rng.uniform(size=(batch, actions)) > 0.4).astype("float32")
    legal[:, 0] = 1  # at least one legal move per row
    return {"board": rng.integers(0, 2, (batch, *shape)).astype("float32"), "legal": legal}


def test_outputs_policy_on_legal_moves_and_value_in_range():
    model = models.build_policy_value_net(board_shape=(6, 7, 3), num_actions=7, filters=8, blocks=2)
    x = _inputs()
    out = model.predict_on_batch(x)
    assert out["policy"].shape == (4, 7) and out["value"].shape == (4, 1)
    np.testing.assert_allclose(out["policy"].sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(out["policy"][x["legal"] == 0] == 0)
    assert np.all(np.abs(out["value"]) <= 1)
    assert model.get_layer("block2_add").output.shape[1:] == (6, 7, 8)


def test_legal_move_softmax_layer_is_library_code(tmp_path):
    layer = models.LegalMoveSoftmax(name="masked")
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, -1000.0, 0.0]], "float32")
    mask = np.array([[1, 0, 1], [0, 1, 1]], "float32")
    probabilities = keras.ops.convert_to_numpy(layer(logits, mask))
    expected_first = np.exp([1.0, 3.0]) / np.exp([1.0, 3.0]).sum()
    np.testing.assert_allclose(probabilities[0, [0, 2]], expected_first, rtol=1e-5)
    assert probabilities[0, 1] == 0 and probabilities[1, 0] == 0  # a huge illegal logit stays at 0
    np.testing.assert_allclose(probabilities[1], [0.0, 0.0, 1.0], atol=1e-6)
    clone = models.LegalMoveSoftmax.from_config(layer.get_config())
    assert clone.name == "masked" and clone.dtype_policy.name == "float32"
    # .keras save/load of a model holding it.
    model = models.build_policy_value_net(board_shape=(3, 3, 3), num_actions=9, filters=4, blocks=1)
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")
    x = _inputs(shape=(3, 3, 3), actions=9)
    np.testing.assert_allclose(again.predict_on_batch(x)["policy"], model.predict_on_batch(x)["policy"], rtol=1e-5, atol=1e-6)


def test_outputs_stay_float32_under_mixed_precision():
    with precision.policy_scope("mixed_bfloat16"):
        model = models.build_policy_value_net(board_shape=(6, 7, 3), num_actions=7, filters=8, blocks=1)
    assert model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("policy").compute_dtype == "float32" and model.get_layer("value").compute_dtype == "float32"
    out = model.predict_on_batch(_inputs())
    assert out["policy"].dtype == np.float32 and np.all(out["policy"][_inputs()["legal"] == 0] == 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_save_load_and_search_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.games import game as game_lib, mcts, models, selfplay
        from applications.games.data import ReplayBuffer
        assert keras.backend.backend() == {backend!r}
        game = game_lib.load("tic_tac_toe")
        model = models.build_policy_value_net(board_shape=game.input_shape, num_actions=game.num_actions, filters=8, blocks=1)
        models.compile_model(model, learning_rate=1e-3)
        evaluator = mcts.Evaluator(game, model)
        rng = np.random.default_rng(0)
        examples, stats = selfplay.play(game, evaluator, num_games=2, parallel_games=2,
                                        settings=selfplay.SearchSettings(simulations=4), rng=rng)
        buffer = ReplayBuffer(100, game.board_shape, game.num_actions)
        buffer.add(examples)
        x, y = buffer.training_arrays(game, 16, rng, value_target_mix=0.5)
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0]) and "policy_loss" in history.history
        model.save({str(tmp_path / 'model.keras')!r})
        again = keras.saving.load_model({str(tmp_path / 'model.keras')!r})
        a, b = again.predict_on_batch(x), model.predict_on_batch(x)
        np.testing.assert_allclose(a["policy"], b["policy"], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(a["value"], b["value"], rtol=1e-4, atol=1e-5)
        print("ok", stats["games"])
        """,
        backend=backend,
    )
