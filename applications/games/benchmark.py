"""``keras-applied benchmark games``: what batching buys the search, and self-play speed.

Measures, on one model (a trained ``--model`` or a freshly built network of the chosen size):

- network throughput (positions/s) per batch size, through ``predict_on_batch`` (what the
  search uses), ``model.predict`` and a direct ``model(x)`` call;
- MCTS simulations/s with unbatched network evaluation (one tree, one leaf per network call)
  against batched evaluation: virtual loss within one tree (several leaves per call) and many
  trees at once (one leaf per tree per call, as in self-play and the arena). The evaluation
  cache is off here, so the figures measure batching alone;
- self-play games per hour at several numbers of parallel games (cache on, as in training).

Writes ``results/benchmarks/games.json``. Run it under the shared CPU lock for honest figures.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np

from common import cli


def _opening_states(game, count: int, rng: np.random.Generator, plies: int = 4) -> list:
    states = []
    while len(states) < count:
        state = game.new_state()
        for _ in range(plies):
            state.apply_action(int(rng.choice(state.legal_actions())))
            if state.is_terminal():
                break
        if not state.is_terminal():
            states.append(state)
    return states


def network_throughput(model, game, batch_sizes: Sequence[int], repeats: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for batch in batch_sizes:
        x = {"board": rng.integers(0, 2, (batch, *game.input_shape)).astype("float32"),
             "legal": np.ones((batch, game.num_actions), "float32")}
        row = {"batch_size": batch}
        for name, call in (("predict_on_batch", lambda x=x: model.predict_on_batch(x)),
                           ("predict", lambda x=x, batch=batch: model.predict(x, batch_size=batch, verbose=0)),
                           ("direct_call", lambda x=x: model(x, training=False))):
            call()  # warm-up: trace / compile
            count = max(2, repeats if name != "predict" else repeats // 4)
            started = time.perf_counter()
            for _ in range(count):
                call()
            seconds = (time.perf_counter() - started) / count
            row[f"{name}_ms_per_call"] = round(seconds * 1e3, 3)
            row[f"{name}_positions_per_second"] = round(batch / seconds, 1)
        rows.append(row)
        print(row, flush=True)
    return rows


def search_speed(model, game, *, trees: int, leaves_per_tree: int, simulations: int, seed: int = 0) -> dict:
    from applications.games import mcts

    evaluator = mcts.Evaluator(game, model, cache_size=0)
    roots = [mcts.Node(s) for s in _opening_states(game, trees, np.random.default_rng(seed))]
    mcts.search([mcts.Node(s.state.clone()) for s in roots[:1]], evaluator, num_simulations=4)  # warm-up
    calls_before, positions_before = evaluator.calls, evaluator.positions
    started = time.perf_counter()
    mcts.search(roots, evaluator, num_simulations=simulations, leaves_per_tree=leaves_per_tree,
                rng=np.random.default_rng(seed))
    seconds = time.perf_counter() - started
    calls = evaluator.calls - calls_before
    row = {
        "trees": trees, "leaves_per_tree": leaves_per_tree, "simulations_per_tree": simulations,
        "simulations_per_second": round(trees * simulations / seconds, 1),
        "network_calls": calls, "mean_batch": round((evaluator.positions - positions_before) / max(calls, 1), 1),
        "seconds": round(seconds, 2),
    }
    print(row, flush=True)
    return row


def selfplay_speed(model, game, *, parallel_games: int, simulations: int, seed: int = 0) -> dict:
    from applications.games import mcts, selfplay

    evaluator = mcts.Evaluator(game, model)
    settings = selfplay.SearchSettings(simulations=simulations, temperature_moves=game.spec.temperature_moves,
                                       dirichlet_alpha=game.spec.dirichlet_alpha)
    _, stats = selfplay.play(game, evaluator, num_games=parallel_games, parallel_games=parallel_games,
                             settings=settings, rng=np.random.default_rng(seed))
    row = {"parallel_games": parallel_games, "simulations_per_move": simulations,
           **{k: round(v, 1) if isinstance(v, float) else v for k, v in stats.items()}}
    print(row, flush=True)
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied benchmark games",
        description="Network throughput by batch size, MCTS simulations/s batched vs unbatched, and "
        "self-play games/hour; writes results/benchmarks/games.json.",
    )
    parser.add_argument("--game", default="connect_four", choices=["connect_four", "tic_tac_toe"], help="The game.")
    parser.add_argument("--model", default=None, help="A trained model.keras (default: a new network of --filters x --blocks).")
    parser.add_argument("--filters", type=int, default=32, help="Tower width of the new network (without --model).")
    parser.add_argument("--blocks", type=int, default=4, help="Residual blocks of the new network (without --model).")
    parser.add_argument("--simulations", type=int, default=200, help="Simulations per tree in the search benchmark.")
    parser.add_argument("--selfplay-simulations", type=int, default=64, help="Simulations per move in the self-play benchmark.")
    parser.add_argument("--selfplay-parallel", type=int, nargs="+", default=[1, 32, 256],
                        help="Numbers of parallel self-play games to time (one batch of games each).")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes (seconds): for tests of this command.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    cli.check_at_least(parser, args, filters=1, blocks=0, simulations=1, selfplay_simulations=1, selfplay_parallel=1)

    import keras

    from applications.games import game as game_lib
    from applications.games import models
    from applications.games.predict import load_agent
    from common import results
    from common.errors import UserInputError

    keras.utils.set_random_seed(0)
    try:
        if args.model:
            model, game, _ = load_agent(args.model, args.game)
        else:
            game = game_lib.load(args.game)
            model = models.build_policy_value_net(board_shape=game.input_shape, num_actions=game.num_actions,
                                                  filters=args.filters, blocks=args.blocks)
    except UserInputError as error:
        print(f"keras-applied benchmark games: error: {error}", file=sys.stderr)
        return 1
    simulations = 8 if args.quick else args.simulations
    batch_sizes = (1, 8) if args.quick else (1, 8, 32, 128, 256, 512)
    configurations = [(1, 1), (1, 8), (1, 32), (64, 1), (256, 1)] if not args.quick else [(1, 1), (4, 1), (1, 4)]
    parallel = [1, 4] if args.quick else args.selfplay_parallel

    from common import benchmark

    throughput = network_throughput(model, game, batch_sizes, repeats=5 if args.quick else 30)
    flops = benchmark.forward_flops(model)
    best = max(row["predict_on_batch_positions_per_second"] for row in throughput)
    peak = benchmark.matmul_peak("float32", size=512 if args.quick else 2048)
    figures = {
        "game": game.name,
        "model": {"parameters": model.count_params(), "source": args.model or f"new resnet {args.filters}x{args.blocks}",
                  "forward_flops_per_position": flops},
        "network_throughput": throughput,
        # Model FLOP utilisation of inference at the best batch size: how close to the machine's
        # float32 matmul peak the network runs (small convolutions on a 6x7 board stay far below it).
        "inference_gflops": round(best * flops / 1e9, 2),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "inference_flop_utilisation": round(best * flops / peak, 3),
    }
    search_rows = [search_speed(model, game, trees=t, leaves_per_tree=k, simulations=simulations) for t, k in configurations]
    unbatched = search_rows[0]["simulations_per_second"]
    for row in search_rows:
        row["speedup_over_unbatched"] = round(row["simulations_per_second"] / unbatched, 2)
    figures["mcts"] = search_rows
    figures["mcts_unbatched_simulations_per_second"] = unbatched
    figures["mcts_batched_simulations_per_second"] = max(r["simulations_per_second"] for r in search_rows)
    selfplay_rows = [selfplay_speed(model, game, parallel_games=p,
                                    simulations=4 if args.quick else args.selfplay_simulations) for p in parallel]
    figures["selfplay"] = selfplay_rows
    figures["selfplay_games_per_hour"] = max(r["games_per_hour"] for r in selfplay_rows)
    name = "games" if not args.quick else "games_quick"
    results.write_benchmark(name, figures, args.results_dir, policy=keras.config.dtype_policy().name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
