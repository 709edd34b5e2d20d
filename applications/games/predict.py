"""``keras-applied predict games --model PATH --moves 4453``: the board, policy and value.

Moves are 1-based digits: a column 1-7 (from the left) in Connect Four, a cell 1-9 (row by row
from the top left) in tic-tac-toe; ``4453`` (or ``"4 4 5 3"``) means: the first player drops in
column 4, the second in column 4, the first in 5, the second in 3. The game is read from the
model's metadata card (``model.json`` beside ``model.keras``); ``--game`` must agree with it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from applications.games import game as game_lib
from common import cli, saving
from common.errors import ModelFileError, UserInputError

DOMAIN = "games"
PLAYER_NAMES = ("player 1 (x)", "player 2 (o)")
EXIT_STATUS = (
    "Exit status: 0 when the position was analysed; 1 when the model or --moves cannot be used "
    "(one line on stderr says why); 2 for a bad flag; 130 when interrupted."
)


def load_agent(model_path: str, game_name: str | None = None):
    """The model, its game and its metadata; refuses a model made for another game."""
    from applications.games import checkpoint, models  # noqa: F401 - models registers the custom layer

    # A checkpoint or snapshot (no card) is accepted: the game is then found from its shapes.
    model, metadata = saving.load_model(model_path, domain=DOMAIN, require_card=False)
    trained_for = metadata.get("game")
    if trained_for and game_name and trained_for != game_name:
        raise ModelFileError(f"{model_path!r} was trained for {trained_for!r}, not {game_name!r}.")
    name = game_name or trained_for
    if name is None:  # no card: the game whose board and action space fit the model
        for candidate in game_lib.GAMES:
            try:
                checkpoint.check_model_fits_game(model, game_lib.load(candidate), source=model_path, error_type=ModelFileError)
                name = candidate
                break
            except ModelFileError:
                continue
        if name is None:
            raise ModelFileError(f"{model_path!r} fits none of the games {sorted(game_lib.GAMES)}.")
    game = game_lib.load(name)
    checkpoint.check_model_fits_game(model, game, source=repr(model_path), error_type=ModelFileError)
    return model, game, metadata


def analyse(model, game, moves: str, simulations: int = 100, c_puct: float = 1.5, seed: int = 0) -> dict[str, Any]:
    """Policy, value and (with ``simulations`` > 0) the search's visit distribution after ``moves``."""
    from applications.games import mcts

    state = game.parse_moves(moves)
    report: dict[str, Any] = {"state": state, "board": game.render(state), "terminal": state.is_terminal()}
    if state.is_terminal():
        report["outcome"] = game.outcome_text(state, PLAYER_NAMES)
        return report
    evaluator = mcts.Evaluator(game, model)
    policy, value = evaluator.evaluate([state])
    report.update(player=state.current_player(), policy=policy[0], value=float(value[0]),
                  legal=state.legal_actions())
    if simulations > 0:
        root = mcts.Node(state.clone())
        mcts.search([root], evaluator, num_simulations=simulations, c_puct=c_puct, rng=np.random.default_rng(seed))
        report["visits"] = mcts.visit_distribution(root, game.num_actions)
        report["search_value"] = root.value
        report["best_move"] = game.action_to_move(root.actions[root.best_index()])
    return report


def format_report(game, report: dict[str, Any], simulations: int) -> str:
    lines = [report["board"], ""]
    if report["terminal"]:
        lines.append(f"game over: {report['outcome']}")
        return "\n".join(lines)
    mover = PLAYER_NAMES[report["player"]]
    lines.append(f"to move: {mover}")
    lines.append(f"value (network, for {mover}): {report['value']:+.3f}   (-1 loss, 0 draw, +1 win)")
    lines.append("policy (network):  " + "  ".join(
        f"{game.action_to_move(a)}: {report['policy'][a]:.3f}" for a in report["legal"]))
    if "visits" in report:
        lines.append(f"search ({simulations} simulations): " + "  ".join(
            f"{game.action_to_move(a)}: {report['visits'][a]:.3f}" for a in report["legal"]))
        lines.append(f"search value: {report['search_value']:+.3f}; best move: {report['best_move']}")
    return "\n".join(lines)


def check_search_flags(parser, simulations: int, c_puct: float) -> None:
    """Refuse (exit 2) search settings that would silently search nonsense."""
    if simulations < 0:
        parser.error(f"--simulations must be >= 0; received {simulations}.")
    if not math.isfinite(c_puct) or c_puct < 0:
        parser.error(f"--c-puct must be a finite number >= 0; received {c_puct}.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict games",
        description="Print the board after a sequence of moves, with the network's policy over the "
        "legal moves, its value for the player to move, and the search's choice.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a games run (in its workdir).")
    parser.add_argument("--moves", default="", help="Moves played so far from the start, as 1-based digits: "
                        "Connect Four columns 1-7 from the left, tic-tac-toe cells 1-9 row by row from the "
                        "top left; e.g. 4453 or '4 4 5 3'. Empty: the initial position.")
    parser.add_argument("--game", default=None, choices=sorted(game_lib.GAMES),
                        help="The game (default: the one recorded with the model; must agree with it).")
    parser.add_argument("--simulations", type=int, default=100,
                        help="MCTS simulations for the search's move choice (0: the network alone).")
    parser.add_argument("--c-puct", type=float, default=1.5, help="PUCT exploration constant of the search.")
    args = parser.parse_args(argv)
    check_search_flags(parser, args.simulations, args.c_puct)
    try:
        model, game, _ = load_agent(args.model, args.game)
        report = analyse(model, game, args.moves, args.simulations, args.c_puct)
    except UserInputError as error:
        print(f"keras-applied predict games: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict games: interrupted.", file=sys.stderr)
        return 130
    print(format_report(game, report, args.simulations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
