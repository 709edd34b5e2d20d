"""OpenSpiel games as network inputs: board planes, legal-move masks, symmetries, move strings.

The rules are OpenSpiel's (``pyspiel``): legality, turn order, wins and draws all come from
``state.legal_actions()``, ``state.is_terminal()`` and ``state.returns()``. This module only
translates a state into what the network reads and a person types:

- **planes** ``[H, W, 3]`` float32 from the point of view of the player to move: their pieces,
  the opponent's pieces, and a plane of ones (so convolutions with zero padding see the edge);
- **legal mask** ``[A]``: 1 for the actions OpenSpiel allows now;
- **symmetries**: board transforms that map the game onto itself, with the matching permutation
  of the policy (Connect Four: the mirror image; tic-tac-toe: the 8 rotations and reflections);
- **moves**: 1-based digits, a column for Connect Four (``1``..``7``, left to right) and a cell
  for tic-tac-toe (``1``..``9``, row by row from the top left).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

import numpy as np

from common.errors import ConfigError, UserInputError

__all__ = ["GAMES", "Game", "IllegalMoveError", "load"]


class IllegalMoveError(UserInputError):
    """A move a person typed that OpenSpiel does not allow in that position."""


@dataclasses.dataclass(frozen=True)
class GameSpec:
    """What OpenSpiel does not say about a game and the network needs to know."""

    # Observation-tensor planes holding player 0's and player 1's pieces (OpenSpiel's order
    # differs per game: connect_four [x, o, empty], tic_tac_toe [empty, o, x]).
    player_planes: tuple[int, int]
    # Board transforms that map the game onto itself: names from _TRANSFORMS.
    symmetries: tuple[str, ...]
    # What a move digit means, for help texts and error messages.
    move_help: str
    # Actions are columns (Connect Four) or cells (tic-tac-toe).
    actions_are: str
    # Moves played at temperature 1 early in self-play (then the most-visited move).
    temperature_moves: int
    # Dirichlet alpha for root noise: about 10 / typical number of legal moves.
    dirichlet_alpha: float


GAMES: dict[str, GameSpec] = {
    "connect_four": GameSpec(
        player_planes=(0, 1),
        symmetries=("identity", "flip_left_right"),
        move_help="a column 1-7, counted from the left",
        actions_are="columns",
        temperature_moves=10,
        dirichlet_alpha=1.0,
    ),
    "tic_tac_toe": GameSpec(
        player_planes=(2, 1),
        symmetries=(
            "identity", "flip_left_right", "flip_up_down", "rotate_90", "rotate_180", "rotate_270",
            "transpose", "anti_transpose",
        ),
        move_help="a cell 1-9, row by row from the top left (1 2 3 / 4 5 6 / 7 8 9)",
        actions_are="cells",
        temperature_moves=3,
        dirichlet_alpha=1.0,
    ),
}

# Transforms of [..., H, W] or [..., H, W, C] arrays; `spatial` names the H and W axes.
_TRANSFORMS: dict[str, Callable[[np.ndarray, tuple[int, int]], np.ndarray]] = {
    "identity": lambda a, s: a,
    "flip_left_right": lambda a, s: np.flip(a, axis=s[1]),
    "flip_up_down": lambda a, s: np.flip(a, axis=s[0]),
    "rotate_90": lambda a, s: np.rot90(a, 1, axes=s),
    "rotate_180": lambda a, s: np.rot90(a, 2, axes=s),
    "rotate_270": lambda a, s: np.rot90(a, 3, axes=s),
    "transpose": lambda a, s: np.swapaxes(a, *s),
    "anti_transpose": lambda a, s: np.rot90(np.swapaxes(a, *s), 2, axes=s),
}


class Game:
    """One OpenSpiel game with the encoders the network and the players use."""

    def __init__(self, name: str) -> None:
        if name not in GAMES:
            raise ConfigError(f"Unknown game {name!r}; expected one of {sorted(GAMES)}.")
        import pyspiel

        self.name = name
        self.spec = GAMES[name]
        self.game = pyspiel.load_game(name)
        channels, height, width = self.game.observation_tensor_shape()
        self.observation_shape = (channels, height, width)
        self.board_shape = (height, width)
        self.input_shape = (height, width, 3)
        self.num_actions = self.game.num_distinct_actions()
        self.max_game_length = self.game.max_game_length()
        self._symmetry_index = [self._action_gather_index(name) for name in self.spec.symmetries]

    def __repr__(self) -> str:
        return f"Game({self.name!r})"

    def new_state(self):
        return self.game.new_initial_state()

    # -- network inputs ------------------------------------------------------------------
    def encode(self, state) -> np.ndarray:
        """[H, W, 3] planes from the mover's side: own pieces, opponent's pieces, ones."""
        observation = np.asarray(state.observation_tensor(), dtype=np.float32).reshape(self.observation_shape)
        player = state.current_player()
        own, other = self.spec.player_planes if player == 0 else self.spec.player_planes[::-1]
        planes = np.empty(self.input_shape, dtype=np.float32)
        planes[..., 0] = observation[own]
        planes[..., 1] = observation[other]
        planes[..., 2] = 1.0
        return planes

    def legal_mask(self, state) -> np.ndarray:
        mask = np.zeros(self.num_actions, dtype=np.float32)
        mask[state.legal_actions()] = 1.0
        return mask

    # -- symmetries ----------------------------------------------------------------------
    @property
    def num_symmetries(self) -> int:
        return len(self.spec.symmetries)

    def _action_gather_index(self, transform: str) -> np.ndarray:
        """Index such that ``policy[..., index]`` is the policy of the transformed board."""
        height, width = self.board_shape
        if self.spec.actions_are == "cells":
            grid = np.arange(height * width).reshape(height, width)
        else:  # columns: any transform must keep rows in place (only the mirror does)
            grid = np.broadcast_to(np.arange(width), (height, width))
        moved = _TRANSFORMS[transform](grid, (0, 1))
        return np.ascontiguousarray(moved.reshape(-1) if self.spec.actions_are == "cells" else moved[0])

    def transform(self, index: int, planes: np.ndarray, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Symmetry ``index`` applied to planes ``[..., H, W, C]`` and policies ``[..., A]``."""
        name = self.spec.symmetries[index]
        planes = _TRANSFORMS[name](planes, (planes.ndim - 3, planes.ndim - 2))
        return np.ascontiguousarray(planes), self.permute_actions(index, policy)

    def permute_actions(self, index: int, values: np.ndarray) -> np.ndarray:
        """Per-action values ``[..., A]`` (policy, legal mask) under symmetry ``index``."""
        return values[..., self._symmetry_index[index]]

    # -- moves typed by a person ---------------------------------------------------------
    def move_to_action(self, token: str) -> int:
        """A 1-based move digit (or number) -> OpenSpiel action id; range checked."""
        token = token.strip()
        if not (token.isascii() and token.isdigit()):  # "²".isdigit() is True, but int("²") fails
            raise IllegalMoveError(f"Expected a move as {self.spec.move_help}; received {token!r}.")
        number = int(token)
        if not 1 <= number <= self.num_actions:
            raise IllegalMoveError(
                f"Move {number} is out of range: expected {self.spec.move_help}."
            )
        return number - 1

    def action_to_move(self, action: int) -> str:
        return str(action + 1)

    def apply_move(self, state, token: str) -> int:
        """Play a typed move on ``state`` (in place) if OpenSpiel allows it; returns the action."""
        if state.is_terminal():
            raise IllegalMoveError(f"The game is over; move {token.strip()!r} cannot be played.")
        action = self.move_to_action(token)
        legal = state.legal_actions()
        if action not in legal:
            reason = "that column is full" if self.spec.actions_are == "columns" else "that cell is taken"
            raise IllegalMoveError(
                f"Move {token.strip()} is illegal here ({reason}); legal moves: "
                f"{' '.join(self.action_to_move(a) for a in legal)}."
            )
        state.apply_action(action)
        return action

    def parse_moves(self, text: str):
        """The state after a move string such as ``"4453"`` or ``"4 4 5 3"`` (1-based digits).

        Raises :class:`IllegalMoveError` naming the first move that cannot be played.
        """
        state = self.new_state()
        tokens = _split_moves(text, self.num_actions)
        for position, token in enumerate(tokens, start=1):
            try:
                self.apply_move(state, token)
            except IllegalMoveError as error:
                raise IllegalMoveError(f"Move {position} of {text!r}: {error}") from None
        return state

    # -- display ---------------------------------------------------------------------------
    def render(self, state) -> str:
        """OpenSpiel's text board with move numbers along the edge."""
        board = str(state).rstrip("\n")
        height, width = self.board_shape
        if self.spec.actions_are == "columns":
            return board + "\n" + "".join(str(c + 1) for c in range(width))
        rows = board.splitlines()
        legend = [" ".join(str(r * width + c + 1) for c in range(width)) for r in range(height)]
        return "\n".join(f"{row}    {key}" for row, key in zip(rows, legend))

    def outcome_text(self, state, names: Sequence[str] = ("player 1 (x)", "player 2 (o)")) -> str:
        returns = state.returns()
        if returns[0] == returns[1]:
            return "draw"
        return f"{names[int(np.argmax(returns))]} wins"


def _split_moves(text: str, num_actions: int) -> list[str]:
    """Moves separated by spaces/commas; with at most 9 actions, each character is a move."""
    text = text.strip()
    if not text:
        return []
    parts = [p for p in re.split(r"[\s,;]+", text) if p]
    if num_actions <= 9:  # every move is one digit: "4453" is four moves
        return [character for part in parts for character in part]
    return parts


def load(name: str) -> Game:
    return Game(name)
