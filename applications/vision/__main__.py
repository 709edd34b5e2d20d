"""``python -m applications.vision`` / ``keras-applied run vision``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.vision.config import VisionConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        VisionConfig,
        "applications.vision.train:train_and_evaluate",
        argv,
        prog="keras-applied run vision",
        description="Train and evaluate an image classifier; writes results/vision/<dataset>/<preset>/.",
    )


if __name__ == "__main__":
    sys.exit(main())
