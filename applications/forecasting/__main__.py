"""``python -m applications.forecasting`` / ``keras-applied run forecasting``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.forecasting.config import ForecastingConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        ForecastingConfig,
        "applications.forecasting.train:train_and_evaluate",
        argv,
        prog="keras-applied run forecasting",
        description="Train forecasters (or the financial / anomaly task) and evaluate them against baselines "
        "on the same test windows; writes results/forecasting/<dataset>/<preset>-<model>/.",
    )


if __name__ == "__main__":
    sys.exit(main())
