# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Games: AlphaZero-style self-play
#
# This tutorial trains the games example of keras-applied: a Keras policy-value network that
# learns a board game by playing against itself, guided by a Monte Carlo tree search (MCTS).
# Everything here calls the package (`applications.games`), so the notebook and the command
# `keras-applied run games` are the same code.
#
# You will see:
# 1. the game, from OpenSpiel (`pyspiel`), as planes a network reads, with its symmetries;
# 2. the network: a residual tower with a policy head (softmax over the legal moves only) and a
#    value head (tanh);
# 3. PUCT search with batched leaf evaluation: many games share one network call;
# 4. the loop (self-play -> fit() -> gate against the best so far), resumable from checkpoints;
# 5. the arena (random, OpenSpiel's MCTS at several budgets, our own snapshots) and the Elo table;
# 6. asking the trained agent about a position, and playing it.
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). The notebook trains on tic-tac-toe, which learns in minutes; Connect Four is the same
# code with `dataset="connect_four"` and a longer budget (see the domain README).

# %%
import io
import os

import numpy as np
import pandas as pd
from IPython.display import Image, display

from applications.games import game as game_lib
from applications.games import mcts, models, play, predict, train
from applications.games.config import GamesConfig

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = GamesConfig.from_preset(PRESET, dataset="tic_tac_toe")
print(config.command("games"))

# %% [markdown]
# ## 1. The game
#
# OpenSpiel owns the rules: legal moves, turns, wins and draws. `game.encode` turns a state into
# three planes from the point of view of the player to move (their pieces, the opponent's, a
# plane of ones), so one network plays both sides. Moves are typed as 1-based digits.

# %%
ttt = game_lib.load("tic_tac_toe")
state = ttt.parse_moves("51")  # x in the centre, o in the top-left corner
print(ttt.render(state))
planes = ttt.encode(state)
print("to move:", state.current_player(), "| own pieces:\n", planes[..., 0], "\nopponent's pieces:\n", planes[..., 1])

# %% [markdown]
# Tic-tac-toe looks the same after any of 8 rotations and reflections (Connect Four only after
# mirroring). Training samples get a random one, with the policy target moved along.

# %%
policy = np.zeros(9, np.float32)
policy[2] = 1.0  # all the probability on cell 3 (top right)
for index, name in enumerate(ttt.spec.symmetries[:4]):
    moved_planes, moved_policy = ttt.transform(index, planes, policy)
    print(f"{name:16s} opponent's piece at cell {int(np.argmax(moved_planes[..., 1])) + 1}, "
          f"policy on cell {int(np.argmax(moved_policy)) + 1}")

# %% [markdown]
# ## 2. The network
#
# A residual convolutional tower with two heads. The policy head's softmax (`LegalMoveSoftmax`,
# a registered custom layer) takes the legal-move mask as a second input, so illegal moves get
# exactly zero probability; the value head predicts the outcome for the player to move.

# %%
model = models.build_policy_value_net(board_shape=ttt.input_shape, num_actions=ttt.num_actions,
                                      filters=config.filters, blocks=config.blocks)
model.summary(line_length=100)
out = model.predict_on_batch({"board": planes[None], "legal": ttt.legal_mask(state)[None]})
print("untrained policy:", np.round(out["policy"][0], 3), "value:", float(out["value"][0, 0]))

# %% [markdown]
# ## 3. Search
#
# `mcts.search` runs simulations on many trees at once and sends every leaf reached in a round
# to the network in one call (`predict_on_batch`: far less overhead per call than `predict`).
# Here: 8 positions searched together; every network call evaluates up to 8 positions.

# %%
evaluator = mcts.Evaluator(ttt, model, cache_size=0)
roots = [mcts.Node(ttt.parse_moves(moves)) for moves in ("", "5", "51", "12", "9", "95", "3", "37")]
mcts.search(roots, evaluator, num_simulations=32, rng=np.random.default_rng(0))
print(f"{evaluator.positions} positions in {evaluator.calls} network calls "
      f"({evaluator.positions / evaluator.calls:.1f} per call)")
print("visits after '51':", dict(zip([a + 1 for a in roots[2].actions], roots[2].visits)))

# %% [markdown]
# ## 4. Train: self-play -> fit() -> gate
#
# Each iteration the best network plays itself (Dirichlet noise at the root, visit-proportional
# moves early in the game), the candidate network is fitted on positions from the replay buffer,
# and it replaces the best one when it wins the gating match. Everything is checkpointed after
# each iteration: running the same command again resumes. Then the arena runs.

# %%
metrics = train.train_and_evaluate(config)
{key: metrics[key] for key in ("targets", "training", "wall_time_seconds")}

# %% [markdown]
# ## 5. Results
#
# Win/draw/loss of the final agent against each opponent, with both colours; the Elo table
# (random fixed at 0); the training losses, Elo over training and win rates.

# %%
run_dir = metrics["results_dir"]
display(pd.read_csv(os.path.join(run_dir, "arena.csv")))
display(pd.read_csv(os.path.join(run_dir, "elo.csv")))
for name in ("training_losses", "elo_over_iterations", "win_rate_vs_opponents"):
    display(Image(filename=os.path.join(run_dir, "plots", f"{name}.png")))

# %% [markdown]
# ## 6. Ask the agent, and play it
#
# `predict.analyse` is what `keras-applied predict games --model PATH --moves 51` prints: the
# board, the network's policy and value, and the search's choice. `play.play_game` is the
# terminal game of `keras-applied play games`; here its input is scripted (an illegal move
# included, to show the message).

# %%
trained, game, card = predict.load_agent(metrics["model_path"])
report = predict.analyse(trained, game, "51", simulations=100)
print(predict.format_report(game, report, 100))

# %%
typed = io.StringIO("5\n5\n3\n7\n9\n2\n4\n6\n8\n1\n")
outcome = play.play_game(trained, game, human_player=0, simulations=50, input_stream=typed)
print("outcome:", outcome)

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run games --preset full` trains Connect Four for the stated budget and runs
#   the whole arena (OpenSpiel MCTS with 100, 400 and 1,000 simulations); stop it at any time and
#   run the same command again to resume.
# - `keras-applied play games --model PATH` plays the trained agent in a terminal.
# - `keras-applied benchmark games` measures simulations/s with and without batching, and
#   self-play games per hour, into `results/benchmarks/games.json`.
