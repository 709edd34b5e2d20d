"""``python -m applications.games`` / ``keras-applied run games``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.games.config import GamesConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        GamesConfig,
        "applications.games.train:train_and_evaluate",
        argv,
        prog="keras-applied run games",
        description="AlphaZero-style self-play training (resumable), then the arena; writes "
        "results/games/<game>/<preset>/.",
    )


if __name__ == "__main__":
    sys.exit(main())
