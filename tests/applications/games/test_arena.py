"""Arena: both colours, W/D/L bookkeeping, OpenSpiel's MCTS as opponent, and the Elo fit."""

from __future__ import annotations

import numpy as np
import pytest

from applications.games import arena
from applications.games import game as game_lib


@pytest.fixture(scope="module")
def tic_tac_toe():
    return game_lib.load("tic_tac_toe")


def test_match_plays_both_colours_and_counts_every_game(tic_tac_toe):
    rng = np.random.default_rng(0)
    result = arena.play_match(tic_tac_toe, arena.RandomPlayer("a"), arena.RandomPlayer("b"), num_games=41, rng=rng,
                              parallel_games=16)
    assert result.games == 41
    assert result.wins_first + result.draws_first + result.losses_first == 21  # first move in half, rounded up
    assert result.wins_second + result.draws_second + result.losses_second == 20
    # Random tic-tac-toe: the first player wins far more often than the second.
    assert result.wins_first > result.wins_second
    row = result.row()
    assert row["games"] == 41 and row["first_wdl"].count("/") == 2


def test_openspiel_mcts_beats_random_and_never_loses_as_first_player(tic_tac_toe):
    rng = np.random.default_rng(1)
    mcts_player = arena.OpenSpielMCTSPlayer(tic_tac_toe, 200, seed=3)
    result = arena.play_match(tic_tac_toe, mcts_player, arena.RandomPlayer(), num_games=20, rng=rng)
    assert result.player == "openspiel_mcts200" and result.opponent == "random"
    assert result.losses_first == 0 and result.wins >= 14


def test_elo_orders_players_and_anchors_random_at_zero():
    results = [
        arena.MatchResult("strong", "random", wins_first=50, wins_second=48, draws_second=2),
        arena.MatchResult("medium", "random", wins_first=35, wins_second=30, losses_first=15, losses_second=20),
        arena.MatchResult("strong", "medium", wins_first=40, draws_first=5, losses_first=5, wins_second=35, losses_second=15),
    ]
    elo = arena.fit_elo(results)
    assert elo["random"] == 0.0
    assert elo["strong"] > elo["medium"] > 0
    # medium scored 0.65 against random: about 108 Elo by the logistic formula (the prior and the
    # other games move it a little).
    assert 60 < elo["medium"] < 170
    # A perfect record stays finite.
    assert np.isfinite(arena.fit_elo([arena.MatchResult("p", "random", wins_first=10)])["p"])
