"""``python -m applications.vision.gan`` / ``keras-applied run vision gan``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.vision.gan.config import GanConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        GanConfig,
        "applications.vision.gan.train:train_and_evaluate",
        argv,
        prog="keras-applied run vision gan",
        description="Train a conditional GAN on an image dataset and score its samples; "
        "writes results/vision/<dataset>/<preset>-gan/.",
    )


if __name__ == "__main__":
    sys.exit(main())
