"""``python -m applications.nlp`` / ``keras-applied run nlp``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.nlp.config import NLPConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        NLPConfig,
        "applications.nlp.train:train_and_evaluate",
        argv,
        prog="keras-applied run nlp",
        description="Train and evaluate a text classifier; writes results/nlp/<dataset>/<preset>-<model>/.",
    )


if __name__ == "__main__":
    sys.exit(main())
