"""``python -m applications.drug_discovery`` / ``keras-applied run drug_discovery``: flags -> train_and_evaluate."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from applications.drug_discovery.config import DrugDiscoveryConfig
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(
        DrugDiscoveryConfig,
        "applications.drug_discovery.train:train_and_evaluate",
        argv,
        prog="keras-applied run drug_discovery",
        description="Train and evaluate molecular property models (MPNN or fingerprint MLP, with baselines); "
        "writes results/drug_discovery/<dataset>/<preset>[-<model>][-<split>]/.",
    )


if __name__ == "__main__":
    sys.exit(main())
