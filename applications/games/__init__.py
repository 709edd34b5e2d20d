"""Board games by AlphaZero-style self-play: a Keras policy-value network guides our own batched
PUCT Monte Carlo tree search on OpenSpiel's Connect Four (and tic-tac-toe for fast runs)."""

from applications.registry import Domain

DOMAIN = Domain(
    name="games",
    order=7,
    summary="AlphaZero-style self-play (policy-value ResNet + batched PUCT MCTS) on OpenSpiel Connect Four / tic-tac-toe.",
    config_class="applications.games.config:GamesConfig",
    extra="games",
    requires=("pyspiel",),
    run_all=(
        ("--dataset", "tic_tac_toe"),
        ("--dataset", "connect_four"),
    ),
)
