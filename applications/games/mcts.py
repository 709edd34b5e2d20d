"""PUCT Monte Carlo tree search guided by the policy-value network, with batched leaf evaluation.

One call to :func:`search` runs simulations on many trees at once (one per parallel game) and
gathers the leaves every tree reached into a single network call, so the network sees many
positions per call. Within one tree, ``leaves_per_tree > 1`` selects several leaves per round
with a *virtual loss*: each edge on a pending path counts as one visit that lost, which steers
the next selection of the same round elsewhere until the real value arrives.

Values are stored per edge from the point of view of the player who chooses that edge, so a
leaf value ``v`` for the player to move at the leaf is backed up as ``v`` for that player and
``-v`` for the other. Terminal leaves use OpenSpiel's ``state.returns()`` exactly.

Selection (AlphaZero's PUCT): ``argmax_a Q(a) + c_puct * P(a) * sqrt(N) / (1 + N(a))``, with
``Q = 0`` for unvisited edges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Node", "Evaluator", "search", "visit_distribution"]


class Node:
    """A position in the tree. Edge statistics are Python lists over the legal actions: for the
    at most 9 edges of these games, a plain loop selects ~8x faster than NumPy (whose per-call
    overhead dominates on tiny arrays), and selection is the search's hottest path."""

    __slots__ = ("state", "player", "terminal", "returns", "actions", "priors", "visits", "value_sums",
                 "children", "expanded", "pending", "total")

    def __init__(self, state) -> None:
        self.state = state
        self.terminal = state.is_terminal()
        self.player = state.current_player()
        self.returns = state.returns() if self.terminal else None
        self.actions: list[int] = []  # legal actions
        self.priors: list[float] = []  # network policy on them
        self.visits: list[float] = []  # N(a), virtual visits included while pending
        self.value_sums: list[float] = []  # W(a) for self.player
        self.children: list[Node | None] = []
        self.expanded = False
        self.pending = False  # waiting for its network evaluation in this round
        self.total = 0.0  # sum of visits

    def expand(self, policy: np.ndarray) -> None:
        """Attach the network's policy ``[A]`` over all actions to the legal edges."""
        actions = self.state.legal_actions()
        priors = policy[actions]
        total = float(priors.sum())
        self.actions = actions
        self.priors = (priors / total).tolist() if total > 0 else [1.0 / len(actions)] * len(actions)
        self.visits = [0.0] * len(actions)
        self.value_sums = [0.0] * len(actions)
        self.children = [None] * len(actions)
        self.expanded = True

    def add_noise(self, rng: np.random.Generator, alpha: float, fraction: float) -> None:
        """Mix Dirichlet noise into the root priors (self-play exploration)."""
        noise = rng.dirichlet(np.full(len(self.actions), alpha))
        self.priors = ((1.0 - fraction) * np.asarray(self.priors) + fraction * noise).tolist()

    def select(self, c_puct: float) -> int:
        """Index (into ``actions``) of the edge PUCT picks: argmax Q + c P sqrt(N) / (1 + N(a))."""
        visits, value_sums, priors = self.visits, self.value_sums, self.priors
        scale = c_puct * math.sqrt(self.total + 1.0)
        best_score, best = -math.inf, 0
        for index in range(len(visits)):
            n = visits[index]
            score = (value_sums[index] / n if n else 0.0) + scale * priors[index] / (1.0 + n)
            if score > best_score:
                best_score, best = score, index
        return best

    def child(self, index: int) -> Node:
        child = self.children[index]
        if child is None:
            state = self.state.clone()
            state.apply_action(self.actions[index])
            child = self.children[index] = Node(state)
        return child

    def best_index(self) -> int:
        """The most visited edge (the first of equals)."""
        return max(range(len(self.visits)), key=self.visits.__getitem__)

    @property
    def value(self) -> float:
        """Mean backed-up value for the player to move here (0 before any visit)."""
        return float(sum(self.value_sums) / self.total) if self.total > 0 else 0.0


class Evaluator:
    """The network as ``states -> (policy [B, A], value [B])``, batched, with a result cache.

    ``predict`` is any callable taking ``{"board": [B, H, W, 3], "legal": [B, A]}`` and returning
    ``{"policy": ..., "value": ...}``; by default the model's ``predict_on_batch`` (Keras' compiled
    predict step: far less per-call overhead than ``model.predict`` for small batches). Positions
    recur across parallel games and moves, so results are cached by board until :meth:`clear`.

    Batches are padded to a few sizes (powers of two up to 32, then multiples of 32): a compiled
    predict step is traced once per input shape, and with a new shape for every batch size the
    trace lookup itself came to cost more than the network (measured on the TensorFlow backend).
    """

    def __init__(self, game, model, *, cache_size: int = 200_000, pad_batches: bool = True) -> None:
        self.game = game
        self.model = model
        self.cache: dict[bytes, tuple[np.ndarray, float]] = {}
        self.cache_size = cache_size
        self.pad_batches = pad_batches
        self.calls = 0
        self.positions = 0
        self.cache_hits = 0
        from common import distribute

        self.replicas = max(distribute.current().replicas, 1)
        if self.replicas > 1:
            self.pad_batches = True

    def clear(self) -> None:
        self.cache.clear()

    def _predict(self, boards: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count = len(boards)
        if self.pad_batches:
            size = 1 << max(count - 1, 0).bit_length() if count <= 32 else -(-count // 32) * 32
            size = -(-size // self.replicas) * self.replicas  # whole batches for every replica
            if size != count:
                boards = np.concatenate([boards, np.zeros((size - count, *boards.shape[1:]), boards.dtype)])
                legal = np.concatenate([legal, np.ones((size - count, legal.shape[1]), legal.dtype)])
        outputs = self.model.predict_on_batch({"board": boards, "legal": legal})
        self.calls += 1
        self.positions += count
        policy = np.asarray(outputs["policy"], dtype=np.float64)[:count]
        value = np.asarray(outputs["value"], dtype=np.float64).reshape(-1)[:count]
        return policy, value

    def evaluate(self, states: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """Policies ``[B, A]`` and values ``[B]`` (for each state's player to move)."""
        boards = np.stack([self.game.encode(s) for s in states]) if states else np.zeros((0, *self.game.input_shape), np.float32)
        keys = [b.tobytes() for b in boards]
        policies = np.empty((len(states), self.game.num_actions), dtype=np.float64)
        values = np.empty(len(states), dtype=np.float64)
        missing = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key)
            if hit is None:
                missing.append(i)
            else:
                policies[i], values[i] = hit
                self.cache_hits += 1
        if missing:
            legal = np.stack([self.game.legal_mask(states[i]) for i in missing])
            policy, value = self._predict(boards[missing], legal)
            if len(self.cache) + len(missing) > self.cache_size:
                self.cache.clear()
            for row, i in enumerate(missing):
                policies[i], values[i] = policy[row], value[row]
                self.cache[keys[i]] = (policy[row], float(value[row]))
        return policies, values


def _backup(path: list[tuple[Node, int]], leaf_player: int, leaf_value: float, returns) -> None:
    """Replace each edge's virtual loss with the real value for the player choosing it."""
    for node, index in path:
        if returns is not None:
            value = returns[node.player]
        else:
            value = leaf_value if node.player == leaf_player else -leaf_value
        # Virtual loss added (N + 1, W - 1); the real visit keeps N and swaps -1 for the value.
        node.value_sums[index] += 1.0 + value


def _revert(path: list[tuple[Node, int]]) -> None:
    """Undo a virtual loss whose simulation was abandoned (its leaf was already pending)."""
    for node, index in path:
        node.visits[index] -= 1.0
        node.total -= 1.0
        node.value_sums[index] += 1.0


def search(
    roots: Sequence[Node],
    evaluator: Evaluator,
    *,
    num_simulations: int,
    c_puct: float = 1.5,
    leaves_per_tree: int = 1,
    noise: tuple[float, float] | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, int]:
    """Run ``num_simulations`` simulations on every root (in place); returns counts.

    Unexpanded roots are evaluated first (one batched call). ``noise=(alpha, fraction)`` mixes
    Dirichlet noise into each root's priors before searching.
    """
    rng = rng or np.random.default_rng()
    fresh = [root for root in roots if not root.expanded and not root.terminal]
    if fresh:
        policies, _ = evaluator.evaluate([root.state for root in fresh])
        for root, policy in zip(fresh, policies):
            root.expand(policy)
    live = [root for root in roots if not root.terminal]
    if noise is not None:
        for root in live:
            root.add_noise(rng, *noise)
    remaining = {id(root): num_simulations for root in live}
    rounds = collisions = 0
    while live:
        rounds += 1
        leaves: list[tuple[Node, list[tuple[Node, int]]]] = []
        for root in live:
            budget = min(leaves_per_tree, remaining[id(root)])
            for _ in range(budget):
                node, path = root, []
                while True:
                    index = node.select(c_puct)
                    node.visits[index] += 1.0  # virtual loss: a visit ...
                    node.total += 1.0
                    node.value_sums[index] -= 1.0  # ... that lost
                    path.append((node, index))
                    node = node.child(index)
                    if node.terminal or not node.expanded:
                        break
                if node.terminal:
                    _backup(path, -1, 0.0, node.returns)
                elif node.pending:
                    _revert(path)  # another simulation of this round waits on the same leaf
                    collisions += 1
                    continue  # not counted: it is retried next round
                else:
                    node.pending = True
                    leaves.append((node, path))
                remaining[id(root)] -= 1
        if leaves:
            policies, values = evaluator.evaluate([leaf.state for leaf, _ in leaves])
            for (leaf, path), policy, value in zip(leaves, policies, values):
                leaf.expand(policy)
                leaf.pending = False
                _backup(path, leaf.player, float(value), None)
        live = [root for root in live if remaining[id(root)] > 0]
    return {"rounds": rounds, "collisions": collisions}


def visit_distribution(root: Node, num_actions: int) -> np.ndarray:
    """Root visit counts as a distribution over all ``num_actions`` actions."""
    distribution = np.zeros(num_actions, dtype=np.float64)
    distribution[root.actions] = root.visits
    total = distribution.sum()
    return distribution / total if total > 0 else distribution
