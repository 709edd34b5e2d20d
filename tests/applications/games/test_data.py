"""The replay buffer: capacity, symmetric augmentation of samples, files and damaged files."""

from __future__ import annotations

import numpy as np
import pytest

from applications.games import game as game_lib
from applications.games.data import CheckpointError, Examples, ReplayBuffer


def _examples(game, count, seed=0):
    rng = np.random.default_rng(seed)
    height, width = game.board_shape
    legal = (rng.uniform(size=(count, game.num_actions)) > 0.3).astype(np.uint8)
    legal[:, 0] = 1
    policy = rng.uniform(size=(count, game.num_actions)).astype(np.float32) * legal
    policy /= policy.sum(axis=1, keepdims=True)
    return Examples(
        boards=rng.integers(0, 2, (count, height, width, 2)).astype(np.uint8), legal=legal, policy=policy,
        outcome=rng.choice([-1.0, 0.0, 1.0], count).astype(np.float32),
        root_value=rng.uniform(-1, 1, count).astype(np.float32),
    )


def test_buffer_keeps_the_most_recent_positions():
    game = game_lib.load("connect_four")
    buffer = ReplayBuffer(10, game.board_shape, game.num_actions)
    first, second = _examples(game, 6, seed=1), _examples(game, 7, seed=2)
    buffer.add(first)
    buffer.add(second)
    assert len(buffer) == 10 and buffer.total_added == 13
    np.testing.assert_array_equal(buffer.examples.outcome[-7:], second.outcome)
    np.testing.assert_array_equal(buffer.examples.outcome[:3], first.outcome[3:])


@pytest.mark.parametrize("name", ["connect_four", "tic_tac_toe"])
def test_augmented_samples_keep_policy_on_legal_moves_and_mix_value_targets(name):
    game = game_lib.load(name)
    buffer = ReplayBuffer(1000, game.board_shape, game.num_actions)
    buffer.add(_examples(game, 50))
    x, y = buffer.training_arrays(game, 400, np.random.default_rng(0), value_target_mix=0.25)
    assert x["board"].shape == (400, *game.input_shape) and x["legal"].shape == (400, game.num_actions)
    assert y["policy"].shape == (400, game.num_actions) and y["value"].shape == (400, 1)
    assert np.all(x["board"][..., 2] == 1)
    # The symmetry moves the policy and the legal mask together.
    assert np.all(y["policy"][x["legal"] == 0] == 0)
    # Some samples are transformed: their boards are not among the stored ones.
    stored = {b.tobytes() for b in buffer.examples.boards}
    changed = sum(b[..., :2].astype(np.uint8).tobytes() not in stored for b in x["board"])
    assert changed > 50
    possible = {0.75 * o + 0.25 * v for o, v in zip(buffer.examples.outcome, buffer.examples.root_value)}
    assert all(np.isclose(v, list(possible)).any() for v in y["value"][:20, 0])


def test_save_load_round_trip_and_damaged_files_are_refused(tmp_path):
    game = game_lib.load("tic_tac_toe")
    buffer = ReplayBuffer(100, game.board_shape, game.num_actions)
    buffer.add(_examples(game, 30))
    path = tmp_path / "replay.npz"
    checksum = buffer.save(path)
    again = ReplayBuffer.load(path, expected_sha256=checksum, board_shape=game.board_shape,
                              num_actions=game.num_actions, capacity=100)
    np.testing.assert_array_equal(again.examples.policy, buffer.examples.policy)
    assert again.total_added == 30
    other = game_lib.load("connect_four")
    with pytest.raises(CheckpointError, match=r"holds positions of shape \(3, 3\) with 9 actions; this game has \(6, 7\) and 7"):
        ReplayBuffer.load(path, expected_sha256=checksum, board_shape=other.board_shape,
                          num_actions=other.num_actions, capacity=100)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        ReplayBuffer.load(path, expected_sha256=checksum, board_shape=game.board_shape,
                          num_actions=game.num_actions, capacity=100)
    path.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="cannot be read"):
        ReplayBuffer.load(path, expected_sha256=None, board_shape=game.board_shape,
                          num_actions=game.num_actions, capacity=100)
    assert path.read_bytes() == b"not a zip"  # the file is left as it was
