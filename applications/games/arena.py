"""The evaluation arena: players, matches with both colours, and an Elo table over all results.

Players choose moves for many positions at once (``choose_actions``), so a match runs all its
games in parallel and our network agent searches every game where it is to move in one batched
:func:`mcts.search`. Opponents:

- ``RandomPlayer``: a uniformly random legal move;
- ``OpenSpielMCTSPlayer``: OpenSpiel's own MCTS bot (C++ ``pyspiel.MCTSBot``) with random
  rollouts (one rollout per leaf, UCT constant 2, MCTS-Solver on): the reference opponent;
- ``NetworkPlayer``: our PUCT search guided by a network (``simulations=0``: the network's policy
  alone, its most probable legal move).

A match of ``n`` games gives each side the first move in half of them. Elo ratings are fitted
to every match at once (Bradley-Terry with draws as half a win, a weak Gaussian prior so perfect
records stay finite), with the random player fixed at 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from applications.games import mcts, selfplay


class RandomPlayer:
    def __init__(self, name: str = "random") -> None:
        self.name = name

    def new_game(self, index: int) -> None:
        pass

    def choose_actions(self, states: Sequence, games: Sequence[int], rng: np.random.Generator) -> list[int]:
        return [int(rng.choice(state.legal_actions())) for state in states]


class OpenSpielMCTSPlayer:
    """OpenSpiel's MCTS bot with random-rollout evaluation, one bot (own seed) per game."""

    def __init__(self, game, simulations: int, *, seed: int = 0, uct_c: float = 2.0, rollouts: int = 1,
                 name: str | None = None) -> None:
        self.game = game
        self.simulations = simulations
        self.seed = seed
        self.uct_c = uct_c
        self.rollouts = rollouts
        self.name = name or f"openspiel_mcts{simulations}"
        self._bots: dict[int, object] = {}

    def _bot(self, index: int):
        import pyspiel

        if index not in self._bots:
            seed = (self.seed * 1_000_003 + index * 7919 + self.simulations) % (2**31)
            evaluator = pyspiel.RandomRolloutEvaluator(self.rollouts, seed)
            self._bots[index] = pyspiel.MCTSBot(
                self.game.game, evaluator, self.uct_c, self.simulations, 1000, True, seed, False
            )
        return self._bots[index]

    def new_game(self, index: int) -> None:
        self._bots.pop(index, None)

    def choose_actions(self, states: Sequence, games: Sequence[int], rng: np.random.Generator) -> list[int]:
        return [int(self._bot(index).step(state)) for state, index in zip(states, games)]


class NetworkPlayer:
    """PUCT search with the network (fresh tree every move, no noise).

    ``temperature_moves`` > 0 samples the first moves by visit count, which gives varied games
    between two deterministic network players (used for checkpoint-vs-checkpoint matches).
    """

    def __init__(self, evaluator: mcts.Evaluator, simulations: int, *, c_puct: float = 1.5,
                 leaves_per_tree: int = 1, temperature_moves: int = 0, name: str = "network") -> None:
        self.evaluator = evaluator
        self.simulations = simulations
        self.c_puct = c_puct
        self.leaves_per_tree = leaves_per_tree
        self.temperature_moves = temperature_moves
        self.name = name

    def new_game(self, index: int) -> None:
        pass

    def choose_actions(self, states: Sequence, games: Sequence[int], rng: np.random.Generator,
                       move_numbers: Sequence[int] | None = None) -> list[int]:
        move_numbers = move_numbers or [s.move_number() for s in states]
        if self.simulations <= 0:
            policies, _ = self.evaluator.evaluate(list(states))
            actions = []
            for state, policy, moves in zip(states, policies, move_numbers):
                legal = state.legal_actions()
                p = policy[legal]
                if moves < 2 * self.temperature_moves and p.sum() > 0:
                    actions.append(int(rng.choice(legal, p=p / p.sum())))
                else:
                    actions.append(int(legal[int(np.argmax(p))]))
            return actions
        roots = [mcts.Node(state.clone()) for state in states]
        mcts.search(roots, self.evaluator, num_simulations=self.simulations, c_puct=self.c_puct,
                    leaves_per_tree=self.leaves_per_tree, rng=rng)
        return [
            int(root.actions[selfplay.choose(root, rng, temperature=moves < 2 * self.temperature_moves)])
            for root, moves in zip(roots, move_numbers)
        ]


@dataclasses.dataclass
class MatchResult:
    """W/D/L of ``player`` against ``opponent``, in total and by who moved first."""

    player: str
    opponent: str
    wins_first: int = 0
    draws_first: int = 0
    losses_first: int = 0
    wins_second: int = 0
    draws_second: int = 0
    losses_second: int = 0

    @property
    def wins(self) -> int:
        return self.wins_first + self.wins_second

    @property
    def draws(self) -> int:
        return self.draws_first + self.draws_second

    @property
    def losses(self) -> int:
        return self.losses_first + self.losses_second

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float:
        return self.wins / self.games if self.games else float("nan")

    @property
    def loss_rate(self) -> float:
        return self.losses / self.games if self.games else float("nan")

    @property
    def score(self) -> float:
        """Wins plus half the draws, per game."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else float("nan")

    def row(self) -> dict:
        return {
            "player": self.player, "opponent": self.opponent, "games": self.games, "wins": self.wins,
            "draws": self.draws, "losses": self.losses, "win_rate": round(self.win_rate, 4),
            "score": round(self.score, 4),
            "first_wdl": f"{self.wins_first}/{self.draws_first}/{self.losses_first}",
            "second_wdl": f"{self.wins_second}/{self.draws_second}/{self.losses_second}",
        }


def play_match(game, player, opponent, *, num_games: int, rng: np.random.Generator,
               parallel_games: int = 256, progress=None) -> MatchResult:
    """``num_games`` games, ``player`` moving first in the first half (rounded up)."""
    result = MatchResult(player.name, opponent.name)
    pending = list(range(num_games))
    first_count = (num_games + 1) // 2
    while pending:
        batch, pending = pending[:parallel_games], pending[parallel_games:]
        states = {g: game.new_state() for g in batch}
        for g in batch:
            player.new_game(g)
            opponent.new_game(g)
        seat = {g: 0 if g < first_count else 1 for g in batch}  # player's seat in game g
        while states:
            for side, actor in ((0, player), (1, opponent)):
                movers = [g for g, s in states.items()
                          if not s.is_terminal() and (s.current_player() == seat[g]) == (side == 0)]
                if not movers:
                    continue
                actions = actor.choose_actions([states[g] for g in movers], movers, rng)
                for g, action in zip(movers, actions):
                    states[g].apply_action(action)
            for g in [g for g, s in states.items() if s.is_terminal()]:
                returns = states.pop(g).returns()
                mine, theirs = returns[seat[g]], returns[1 - seat[g]]
                outcome = "wins" if mine > theirs else "losses" if mine < theirs else "draws"
                suffix = "first" if seat[g] == 0 else "second"
                setattr(result, f"{outcome}_{suffix}", getattr(result, f"{outcome}_{suffix}") + 1)
                if progress is not None:
                    progress.update(1)
    return result


def fit_elo(results: Sequence[MatchResult], *, anchor: str = "random", prior_sd: float = 800.0) -> dict[str, float]:
    """Elo ratings maximising the Bradley-Terry likelihood of all results (draw = half a win).

    ``anchor`` is fixed at 0. The Gaussian prior (sd ``prior_sd`` Elo around the anchor) keeps a
    player that won every game at a finite rating.
    """
    from scipy.optimize import minimize

    names = sorted({r.player for r in results} | {r.opponent for r in results})
    if anchor not in names:
        anchor = names[0]
    free = [n for n in names if n != anchor]
    position = {name: i for i, name in enumerate(free)}
    pairs = [(position.get(r.player), position.get(r.opponent), r.wins + 0.5 * r.draws, r.games)
             for r in results if r.games]
    scale = math.log(10) / 400.0

    def objective(ratings: np.ndarray) -> tuple[float, np.ndarray]:
        loss = 0.5 * float(np.sum(ratings**2)) / prior_sd**2
        gradient = ratings / prior_sd**2
        for i, j, score, games in pairs:
            ri = ratings[i] if i is not None else 0.0
            rj = ratings[j] if j is not None else 0.0
            expected = 1.0 / (1.0 + math.exp(-scale * (ri - rj)))
            expected = min(max(expected, 1e-12), 1 - 1e-12)
            loss -= score * math.log(expected) + (games - score) * math.log(1 - expected)
            d = scale * (games * expected - score)  # d loss / d (ri - rj)
            if i is not None:
                gradient[i] += d
            if j is not None:
                gradient[j] -= d
        return loss, gradient

    if not free:
        return {anchor: 0.0}
    solution = minimize(objective, np.zeros(len(free)), jac=True, method="L-BFGS-B")
    ratings = {anchor: 0.0, **{name: float(solution.x[position[name]]) for name in free}}
    return dict(sorted(ratings.items(), key=lambda item: -item[1]))
