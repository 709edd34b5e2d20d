"""``python -m applications.recommendation`` / ``keras-applied run recommendation``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.recommendation.config import RecommendationConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        RecommendationConfig,
        "applications.recommendation.train:train_and_evaluate",
        argv,
        prog="keras-applied run recommendation",
        description="Train and evaluate a recommender (--task rating or retrieval); writes "
        "results/recommendation/<dataset>/<preset>-<task>/.",
    )


if __name__ == "__main__":
    sys.exit(main())
