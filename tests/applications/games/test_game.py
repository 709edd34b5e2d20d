"""The OpenSpiel adapter: planes from the mover's side, symmetries, move strings, rendering."""

from __future__ import annotations

import numpy as np
import pytest

from applications.games import game as game_lib
from applications.games.game import IllegalMoveError
from common.errors import ConfigError


@pytest.fixture(scope="module")
def connect_four():
    return game_lib.load("connect_four")


@pytest.fixture(scope="module")
def tic_tac_toe():
    return game_lib.load("tic_tac_toe")


def test_shapes_and_initial_planes(connect_four, tic_tac_toe):
    assert connect_four.input_shape == (6, 7, 3) and connect_four.num_actions == 7
    assert tic_tac_toe.input_shape == (3, 3, 3) and tic_tac_toe.num_actions == 9
    planes = connect_four.encode(connect_four.new_state())
    assert planes.dtype == np.float32 and planes[..., :2].sum() == 0 and np.all(planes[..., 2] == 1)


def test_planes_are_from_the_point_of_view_of_the_player_to_move(connect_four, tic_tac_toe):
    state = connect_four.parse_moves("4")  # x in column 4; o to move
    planes = connect_four.encode(state)
    assert planes[0, 3, 1] == 1 and planes[..., 0].sum() == 0  # x is the opponent now
    state.apply_action(0)  # o in column 1; x to move
    planes = connect_four.encode(state)
    assert planes[0, 3, 0] == 1 and planes[0, 0, 1] == 1 and planes[..., :2].sum() == 2
    # tic-tac-toe's observation puts the planes in another order; the encoding must not care.
    state = tic_tac_toe.parse_moves("5")  # x in the centre; o to move
    planes = tic_tac_toe.encode(state)
    assert planes[1, 1, 1] == 1 and planes[..., 0].sum() == 0


def test_mirror_symmetry_maps_positions_and_policies_consistently(connect_four):
    state = connect_four.parse_moves("1125")
    mirrored_state = connect_four.parse_moves("7763")
    policy = np.arange(7, dtype=np.float32)
    planes, mirrored_policy = connect_four.transform(1, connect_four.encode(state), policy)
    np.testing.assert_array_equal(planes, connect_four.encode(mirrored_state))
    np.testing.assert_array_equal(mirrored_policy, policy[::-1])


def test_tic_tac_toe_symmetries_keep_the_policy_on_the_moved_cells(tic_tac_toe):
    state = tic_tac_toe.parse_moves("12")  # x top left, o top middle; x to move
    planes = tic_tac_toe.encode(state)
    one_hot = np.zeros(9, np.float32)
    one_hot[2] = 1  # a policy on the top-right cell (move 3)
    for index in range(tic_tac_toe.num_symmetries):
        moved_planes, moved_policy = tic_tac_toe.transform(index, planes, one_hot)
        assert moved_planes[..., :2].sum() == 2
        # The policy cell lands where the same transform sends an empty plane's marked cell.
        marker = np.zeros((3, 3, 3), np.float32)
        marker[0, 2, 0] = 1
        moved_marker, _ = tic_tac_toe.transform(index, marker, one_hot)
        assert int(np.argmax(moved_policy)) == int(np.argmax(moved_marker[..., 0]))
    assert tic_tac_toe.num_symmetries == 8


def test_move_strings_are_one_based_and_validated(connect_four, tic_tac_toe):
    state = connect_four.parse_moves("4 4, 5 3")
    assert state.history() == [3, 3, 4, 2]
    assert connect_four.parse_moves("4453").history() == [3, 3, 4, 2]
    with pytest.raises(IllegalMoveError, match=r"Move 7 of '4444444': Move 4 is illegal here \(that column is full\)"):
        connect_four.parse_moves("4444444")
    with pytest.raises(IllegalMoveError, match="Move 8 is out of range: expected a column 1-7"):
        connect_four.parse_moves("48")
    with pytest.raises(IllegalMoveError, match="received 'a'"):
        connect_four.parse_moves("4a")
    with pytest.raises(IllegalMoveError, match=r"that cell is taken\); legal moves: 1 2 3 4 6 7 8 9"):
        tic_tac_toe.parse_moves("55")
    with pytest.raises(IllegalMoveError, match="The game is over"):
        tic_tac_toe.parse_moves("1425370")
    # "²".isdigit() is True but int("²") fails: it was a traceback in predict and play (issue 14).
    with pytest.raises(IllegalMoveError, match="received '\u00b2'"):
        tic_tac_toe.parse_moves("\u00b2")
    with pytest.raises(IllegalMoveError, match="received '\u00b2'"):
        tic_tac_toe.apply_move(tic_tac_toe.new_state(), "\u00b2")


def test_render_numbers_the_moves(connect_four, tic_tac_toe):
    assert connect_four.render(connect_four.parse_moves("4")).splitlines()[-1] == "1234567"
    assert "x" in connect_four.render(connect_four.parse_moves("4")).splitlines()[-2]
    assert tic_tac_toe.render(tic_tac_toe.new_state()).splitlines()[0].endswith("1 2 3")


def test_unknown_game_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown game 'chess'; expected one of"):
        game_lib.load("chess")
