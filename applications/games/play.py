"""``keras-applied play games --model PATH``: play against the trained agent in a terminal.

Type a move as a 1-based digit (Connect Four: a column 1-7 from the left; tic-tac-toe: a cell
1-9 row by row from the top left) and press Enter; ``q`` quits. An illegal or unreadable move is
explained and asked for again. Input may be piped (``printf '4\\n4\\n' | keras-applied play
games ...``); the game stops cleanly when the input ends (exit status 0), and Ctrl-C stops it with
one line and exit status 130.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import numpy as np

from applications.games import game as game_lib
from applications.games.game import IllegalMoveError
from applications.games.predict import PLAYER_NAMES, check_search_flags, load_agent
from common import cli
from common.errors import UserInputError

EXIT_STATUS = (
    "Exit status: 0 when the game ends, q is typed or the input ends (Ctrl-D, or the end of piped "
    "input); 1 when the model or --moves cannot be used (one line on stderr says why); 2 for a bad "
    "flag; 130 on Ctrl-C."
)

def play_game(model, game, *, human_player: int, simulations: int, c_puct: float = 1.5,
              moves: str = "", seed: int = 0, input_stream: TextIO | None = None,
              output: TextIO | None = None) -> str:
    """One game, the person moving as ``human_player`` (0 first, 1 second). Returns the outcome
    text, or ``"quit"`` / ``"input ended"``. Reads ``sys.stdin`` and writes ``sys.stdout`` (as they
    are at the call) unless streams are given."""
    from applications.games import arena, mcts

    input_stream = sys.stdin if input_stream is None else input_stream
    output = sys.stdout if output is None else output

    agent = arena.NetworkPlayer(mcts.Evaluator(game, model), simulations, c_puct=c_puct, name="agent")
    rng = np.random.default_rng(seed)
    state = game.parse_moves(moves)

    def say(text: str = "") -> None:
        print(text, file=output, flush=True)

    say(f"{game.name}: you are {PLAYER_NAMES[human_player]}; moves are {game.spec.move_help}; q quits.")
    while not state.is_terminal():
        say()
        say(game.render(state))
        if state.current_player() == human_player:
            print(f"your move (1-{game.num_actions}, q quits): ", end="", file=output, flush=True)
            line = input_stream.readline()
            if not line:
                say()
                say("input ended; stopping.")
                return "input ended"
            token = line.strip()
            if token.lower() in ("q", "quit", "exit"):
                say("bye.")
                return "quit"
            try:
                game.apply_move(state, token)
            except IllegalMoveError as error:
                say(f"{error} Try again.")
            continue
        action = agent.choose_actions([state], [0], rng)[0]
        say(f"agent plays {game.action_to_move(action)}")
        state.apply_action(action)
    say()
    say(game.render(state))
    returns = state.returns()
    if returns[human_player] > returns[1 - human_player]:
        outcome = "you win"
    elif returns[human_player] < returns[1 - human_player]:
        outcome = "the agent wins"
    else:
        outcome = "draw"
    say(f"game over: {outcome}")
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied play games",
        description="Play against a trained agent in the terminal (moves typed as 1-based digits).",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a games run (in its workdir).")
    parser.add_argument("--game", default=None, choices=sorted(game_lib.GAMES),
                        help="The game (default: the one recorded with the model; must agree with it).")
    parser.add_argument("--first", default="human", choices=["human", "agent"], help="Who moves first.")
    parser.add_argument("--simulations", type=int, default=400, help="The agent's MCTS simulations per move (0: network alone).")
    parser.add_argument("--c-puct", type=float, default=1.5, help="PUCT exploration constant of the agent's search.")
    parser.add_argument("--moves", default="", help="Start after these moves (1-based digits, e.g. 44).")
    parser.add_argument("--seed", type=int, default=0, help="Random seed (ties between equally visited moves).")
    args = parser.parse_args(argv)
    check_search_flags(parser, args.simulations, args.c_puct)
    if args.seed < 0:  # numpy's generators take no negative seed
        parser.error(f"--seed must be >= 0; received {args.seed}.")
    try:
        model, game, _ = load_agent(args.model, args.game)
        play_game(model, game, human_player=0 if args.first == "human" else 1, simulations=args.simulations,
                  c_puct=args.c_puct, moves=args.moves, seed=args.seed)
    except UserInputError as error:
        print(f"keras-applied play games: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C at the prompt or while the agent thinks: no traceback
        print(flush=True)  # end the prompt line the interrupt left open
        print("keras-applied play games: interrupted; game abandoned.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
