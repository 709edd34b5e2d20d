"""Self-play: many games at once, one batched network call per round of simulations.

Every move of every active game is searched in the same :func:`mcts.search` call, so the batch
the network sees is the number of parallel games (times ``leaves_per_tree``). A finished game is
replaced by a new one until ``num_games`` have been played. The tree below the chosen move is
kept for the next move (its visits are reused), and fresh Dirichlet noise is mixed into each
root. Moves are sampled in proportion to visit counts for the first ``temperature_moves`` moves
of a game (temperature 1, for varied openings), then the most visited move is played.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from applications.games import mcts
from applications.games.data import Examples


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    simulations: int = 100
    c_puct: float = 1.5
    leaves_per_tree: int = 1
    dirichlet_alpha: float = 1.0
    dirichlet_fraction: float = 0.25
    temperature_moves: int = 10


@dataclasses.dataclass
class _Game:
    root: mcts.Node
    moves: int = 0
    boards: list = dataclasses.field(default_factory=list)
    legal: list = dataclasses.field(default_factory=list)
    policy: list = dataclasses.field(default_factory=list)
    players: list = dataclasses.field(default_factory=list)
    root_values: list = dataclasses.field(default_factory=list)


def choose(root: mcts.Node, rng: np.random.Generator, temperature: bool) -> int:
    """Index of the edge to play: sampled by visits (temperature 1) or the most visited."""
    visits = np.asarray(root.visits)
    if temperature:
        return int(rng.choice(len(visits), p=visits / visits.sum()))
    best = np.flatnonzero(visits == visits.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def play(
    game,
    evaluator: mcts.Evaluator,
    *,
    num_games: int,
    parallel_games: int,
    settings: SearchSettings,
    rng: np.random.Generator,
    progress=None,
) -> tuple[Examples, dict[str, float]]:
    """Play ``num_games`` self-play games; returns their positions and counts."""
    started_at = time.perf_counter()
    positions_before = evaluator.positions
    active: list[_Game] = []
    finished: list[Examples] = []
    started = completed = 0
    wins = [0, 0]
    draws = 0
    lengths = []
    simulations = 0
    while active or started < num_games:
        while len(active) < parallel_games and started < num_games:
            active.append(_Game(mcts.Node(game.new_state())))
            started += 1
        roots = [g.root for g in active]
        mcts.search(
            roots, evaluator, num_simulations=settings.simulations, c_puct=settings.c_puct,
            leaves_per_tree=settings.leaves_per_tree,
            noise=(settings.dirichlet_alpha, settings.dirichlet_fraction) if settings.dirichlet_fraction > 0 else None,
            rng=rng,
        )
        simulations += settings.simulations * len(roots)
        still_active = []
        for current in active:
            root = current.root
            board = game.encode(root.state)
            current.boards.append(board[..., :2].astype(np.uint8))
            current.legal.append(game.legal_mask(root.state).astype(np.uint8))
            current.policy.append(mcts.visit_distribution(root, game.num_actions).astype(np.float32))
            current.players.append(root.player)
            current.root_values.append(root.value)
            index = choose(root, rng, temperature=current.moves < settings.temperature_moves)
            current.root = root.child(index)  # the subtree is reused; the rest is freed
            current.moves += 1
            if not current.root.terminal:
                still_active.append(current)
                continue
            returns = current.root.returns
            if returns[0] > returns[1]:
                wins[0] += 1
            elif returns[1] > returns[0]:
                wins[1] += 1
            else:
                draws += 1
            lengths.append(current.moves)
            finished.append(Examples(
                boards=np.stack(current.boards),
                legal=np.stack(current.legal),
                policy=np.stack(current.policy),
                outcome=np.array([returns[p] for p in current.players], np.float32),
                root_value=np.array(current.root_values, np.float32),
            ))
            completed += 1
            if progress is not None:
                progress.update(1)
        active = still_active
    seconds = time.perf_counter() - started_at
    examples = Examples.concatenate(finished) if finished else Examples.empty(game.board_shape, game.num_actions)
    stats = {
        "games": completed,
        "positions": len(examples),
        "first_player_wins": wins[0],
        "second_player_wins": wins[1],
        "draws": draws,
        "mean_game_length": float(np.mean(lengths)) if lengths else 0.0,
        "simulations": simulations,
        "network_positions": evaluator.positions - positions_before,
        "seconds": seconds,
        "simulations_per_second": simulations / seconds if seconds > 0 else 0.0,
        "games_per_hour": completed / seconds * 3600 if seconds > 0 else 0.0,
    }
    return examples, stats
