"""``python -m applications.speech`` / ``keras-applied run speech``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.speech.config import SpeechConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        SpeechConfig,
        "applications.speech.train:train_and_evaluate",
        argv,
        prog="keras-applied run speech",
        description="Train and evaluate a spoken-word classifier on raw audio; writes "
        "results/speech/<dataset>/<preset>[-loso|-transfer]/ (--protocol official, loso or transfer).",
    )


if __name__ == "__main__":
    sys.exit(main())
