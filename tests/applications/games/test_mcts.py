"""PUCT search: visit bookkeeping (virtual loss undone), values backed up with the right sign,
batched evaluation, and self-play records."""

from __future__ import annotations

import numpy as np
import pytest

from applications.games import game as game_lib
from applications.games import mcts, selfplay


class UniformModel:
    """Stands in for the network: uniform policy over legal moves, value 0; counts calls."""

    def __init__(self):
        self.batches = []

    def predict_on_batch(self, inputs):
        legal = inputs["legal"]
        self.batches.append(len(legal))
        return {"policy": legal / legal.sum(axis=1, keepdims=True), "value": np.zeros((len(legal), 1), np.float32)}


@pytest.fixture(scope="module")
def connect_four():
    return game_lib.load("connect_four")


@pytest.fixture(scope="module")
def tic_tac_toe():
    return game_lib.load("tic_tac_toe")


@pytest.mark.parametrize("leaves_per_tree", [1, 4])
def test_visits_add_up_and_virtual_losses_are_undone(tic_tac_toe, leaves_per_tree):
    evaluator = mcts.Evaluator(tic_tac_toe, UniformModel(), cache_size=0)
    root = mcts.Node(tic_tac_toe.new_state())
    mcts.search([root], evaluator, num_simulations=60, leaves_per_tree=leaves_per_tree, rng=np.random.default_rng(0))
    assert sum(root.visits) == 60
    # Every edge's mean value is a real average of results in [-1, 1] (a leftover virtual loss
    # would push some below -1 or leave visits without values).
    def walk(node):
        if not node.expanded:
            return
        visits, value_sums = np.asarray(node.visits), np.asarray(node.value_sums)
        assert node.total == visits.sum() and not node.pending
        visited = visits > 0
        q = value_sums[visited] / visits[visited]
        assert np.all(q >= -1 - 1e-9) and np.all(q <= 1 + 1e-9)
        for child in node.children:
            if child is not None:
                walk(child)
    walk(root)


def test_search_takes_an_immediate_win_and_blocks_one(connect_four, tic_tac_toe):
    evaluator = mcts.Evaluator(connect_four, UniformModel())
    # x has columns 1-3 of the bottom row, o three in column 7; x to move wins in column 4.
    winning = mcts.Node(connect_four.parse_moves("172737"))
    mcts.search([winning], evaluator, num_simulations=200, rng=np.random.default_rng(0))
    assert winning.actions[winning.best_index()] == 3
    assert winning.value > 0.5
    # o to move must block x's top row (x: 1, 2; o: 5) at cell 3.
    evaluator = mcts.Evaluator(tic_tac_toe, UniformModel())
    blocking = mcts.Node(tic_tac_toe.parse_moves("152"))
    mcts.search([blocking], evaluator, num_simulations=300, rng=np.random.default_rng(0))
    assert blocking.actions[blocking.best_index()] == 2


def test_many_trees_share_network_calls(connect_four):
    model = UniformModel()
    evaluator = mcts.Evaluator(connect_four, model, cache_size=0, pad_batches=False)
    roots = [mcts.Node(connect_four.parse_moves(moves)) for moves in ("1", "2", "3", "4", "5", "6", "7", "11")]
    mcts.search(roots, evaluator, num_simulations=10, rng=np.random.default_rng(0))
    assert all(sum(root.visits) == 10 for root in roots)
    assert max(model.batches) == 8 and len(model.batches) <= 11  # roots, then one call per round


def test_padded_batches_use_few_shapes(connect_four):
    model = UniformModel()
    evaluator = mcts.Evaluator(connect_four, model, cache_size=0)
    states = [connect_four.new_state() for _ in range(45)]
    policy, value = evaluator.evaluate(states)
    assert policy.shape == (45, 7) and value.shape == (45,) and model.batches == [64]


def test_selfplay_records_every_position_with_outcomes_for_the_mover(tic_tac_toe):
    evaluator = mcts.Evaluator(tic_tac_toe, UniformModel())
    settings = selfplay.SearchSettings(simulations=8, temperature_moves=9)
    examples, stats = selfplay.play(tic_tac_toe, evaluator, num_games=6, parallel_games=4, settings=settings,
                                    rng=np.random.default_rng(1))
    assert stats["games"] == 6 and len(examples) == stats["positions"] == round(6 * stats["mean_game_length"])
    np.testing.assert_allclose(examples.policy.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(examples.policy[examples.legal == 0] == 0)  # visits only on legal moves
    assert set(np.unique(examples.outcome)) <= {-1.0, 0.0, 1.0}
    # The first position of every game is the empty board with the first player to move.
    assert (examples.boards.sum(axis=(1, 2, 3)) == 0).sum() == 6
