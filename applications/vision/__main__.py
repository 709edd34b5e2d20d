"""``python -m applications.vision`` / ``keras-applied run vision``: flags -> train_and_evaluate.

``keras-applied run vision gan [flags]`` runs the conditional GAN example instead
(:mod:`applications.vision.gan`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.vision.config import VisionConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gan"]:  # `keras-applied run vision gan ...`: the conditional GAN example
        from applications.vision.gan.__main__ import main as gan_main

        return gan_main(argv[1:])
    return cli.run_main(
        VisionConfig,
        "applications.vision.train:train_and_evaluate",
        argv,
        prog="keras-applied run vision",
        description="Train and evaluate an image classifier; writes results/vision/<dataset>/<preset>/. "
        "`keras-applied run vision gan --help`: the conditional GAN example.",
    )


if __name__ == "__main__":
    sys.exit(main())
