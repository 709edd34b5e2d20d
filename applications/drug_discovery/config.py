"""Molecular property prediction settings and presets.

Presets (measured figures are in results/drug_discovery/ and the domain README):

- ``smoke``: a 200-molecule slice, two epochs, one replicate; seconds, for tests.
- ``quick``: ``keras-applied run drug_discovery --preset quick --dataset esol``: 3 replicates
  (split seeds) x an ensemble of 3 MPNNs, plus the random-forest and fingerprint-MLP baselines;
  4-6.5 minutes on 2 CPU cores (ESOL, BBBP, FreeWilson; results/drug_discovery/). Issue
  targets (mean over 3 seeds): ESOL RMSE <= 0.90 scaffold / <= 0.65 random; BBBP ROC-AUC
  >= 0.72 scaffold / >= 0.94 random (the README says which are met).
- ``full``: 120 epochs in unbucketed batches of 32 (see ``size_buckets``), 3 replicates x 3
  members: the preset for the reported random-split figures (about 4x the quick preset's time).
"""

from __future__ import annotations

import dataclasses
import importlib.util

from applications.drug_discovery import featurize
from applications.drug_discovery.featurize import DEFAULT_DESCRIPTORS
from common.config import ConfigError, RunConfig, option

# Kept in step with data.DATASETS (a test checks); listed here so `keras-applied list` stays light.
DATASETS = ("auto", "esol", "bbbp", "freesolv", "lipophilicity", "tox21", "clintox", "hiv", "freewilson", "csv")
MODELS = ("mpnn", "fingerprint_mlp")
SPLITS = ("scaffold", "random")
TASK_TYPES = ("auto", "regression", "classification")


@dataclasses.dataclass(frozen=True)
class DrugDiscoveryConfig(RunConfig):
    dataset: str = option(
        "auto",
        "'esol' / 'bbbp' (MoleculeNet CSVs under --data-dir, else the official URL when online), "
        "'freesolv' / 'lipophilicity' / 'tox21' / 'clintox' / 'hiv' (likewise), 'freewilson' (bundled "
        "with rdkit: 1,017 CHEMBL2321810 activities), 'csv' (your file: --csv-path, --smiles-column, "
        "--target-columns), or 'auto' (ESOL where found, else freewilson).",
        choices=DATASETS,
    )
    csv_path: str | None = option(
        None, "CSV file for --dataset csv: one SMILES column and one or more target columns; its name names "
        "the results folder (results/drug_discovery/<file stem>/).", role="data")
    smiles_column: str | None = option(None, "Name of the SMILES column (default: the dataset's own; 'smiles' for csv).")
    target_columns: tuple[str, ...] = option((), "Target column name(s) (default: the dataset's own). Several = multitask.")
    task_type: str = option(
        "auto", "'regression', 'classification' (0/1 targets, missing allowed), or 'auto' (0/1 values -> classification).",
        choices=TASK_TYPES,
    )
    max_molecules: int = option(0, "Use at most this many molecules (0: all); for smoke runs.", minimum=0)
    split: str = option(
        "scaffold",
        "'scaffold': Bemis-Murcko scaffold split (test molecules have scaffolds unseen in training: the "
        "honest estimate for new chemistry), or 'random'.",
        choices=SPLITS,
    )
    validation_fraction: float = option(0.1, "Share of molecules for validation (best-epoch selection).", minimum=0.01)
    test_fraction: float = option(0.1, "Share of molecules held out for the test metrics.", minimum=0.01)
    replicates: int = option(3, "Independent runs with split seeds seed, seed+1, ...; metrics are their mean and std.", minimum=1)
    ensemble_size: int = option(3, "Models trained per replicate with different initial weights; their spread is the uncertainty.", minimum=1)
    model: str = option("mpnn", "'mpnn': message-passing network on molecular graphs; 'fingerprint_mlp': MLP on Morgan bits.", choices=MODELS)
    hidden_units: int = option(64, "Width of atom states in the MPNN.", minimum=1)
    message_steps: int = option(3, "Message-passing steps (weights shared across steps).", minimum=1)
    attention_heads: int = option(4, "Heads of the attention readout.", minimum=1)
    head_units: tuple[int, ...] = option((256, 128), "Widths of the MPNN's dense head.", minimum=1)
    mlp_units: tuple[int, ...] = option((512, 256), "Widths of the fingerprint MLP's hidden layers.", minimum=1)
    dropout_rate: float = option(0.1, "Dropout in the message passing and dense heads.", minimum=0.0)
    weight_decay: float = option(1e-5, "AdamW decoupled weight decay.", minimum=0.0)
    global_features: tuple[str, ...] = option(
        DEFAULT_DESCRIPTORS,
        "RDKit descriptors (rdkit.Chem.Descriptors names) given to the model beside the graph or "
        "fingerprint, as Chemprop's 'features'; 'none' for none.",
    )
    fingerprint_radius: int = option(2, "Morgan fingerprint radius (2: ECFP4-like).", minimum=1)
    fingerprint_bits: int = option(2048, "Morgan fingerprint length.", minimum=64)
    baselines: bool = option(True, "Also train the baselines on the same splits: a random forest on Morgan bits and, for the MPNN, the fingerprint MLP.")
    forest_trees: int = option(500, "Trees of the random-forest baseline.", minimum=1)
    size_buckets: bool = option(
        False,
        "Batch molecules with others of similar size (less padding, about 2x faster on BBBP). Off by "
        "default: size-sorted batches train worse on properties that track size (one screening run on "
        "ESOL, see the domain README).",
    )
    patience: int = option(0, "Stop a member after this many epochs without validation improvement (0: never).", minimum=0)

    @property
    def descriptor_names(self) -> tuple[str, ...]:
        return () if tuple(self.global_features) in ((), ("none",)) else tuple(self.global_features)

    def validate(self) -> None:
        super().validate()
        if not self.validation_fraction + self.test_fraction < 0.5:
            raise ConfigError(
                "validation_fraction + test_fraction must be < 0.5; received "
                f"{self.validation_fraction} + {self.test_fraction}."
            )
        if self.dropout_rate >= 1:
            raise ConfigError(f"DrugDiscoveryConfig.dropout_rate must be < 1; received {self.dropout_rate}.")
        if self.dataset == "csv" and not self.csv_path:
            raise ConfigError("--dataset csv needs --csv-path FILE (a CSV with a SMILES column and target columns).")
        if self.csv_path and self.dataset != "csv":
            raise ConfigError(f"--csv-path is only used with --dataset csv; received --dataset {self.dataset!r}.")
        if "none" in self.global_features and len(self.global_features) > 1:
            raise ConfigError(f"global_features: 'none' cannot be combined with names; received {list(self.global_features)}.")
        if self.descriptor_names and importlib.util.find_spec("rdkit") is not None:
            try:
                featurize.check_descriptor_names(self.descriptor_names)
            except ValueError as error:
                raise ConfigError(f"global_features: {error}") from error

    # float32: for these small graph models, mixed bfloat16 was slower on our 2-core CPU (the
    # casts cost more than the small matmuls save).
    @classmethod
    def smoke(cls) -> DrugDiscoveryConfig:
        return cls(preset="smoke", epochs=2, batch_size=32, max_molecules=200, replicates=1, ensemble_size=1,
                   hidden_units=32, message_steps=2, head_units=(32,), mlp_units=(64,), forest_trees=20,
                   attention_heads=2, precision="float32")

    @classmethod
    def quick(cls) -> DrugDiscoveryConfig:
        # Size-bucketed batches of 64 and 30 epochs: within 10 minutes on 2 cores, not the best model.
        return cls(preset="quick", epochs=30, batch_size=64, learning_rate=1e-3, hidden_units=64,
                   ensemble_size=3, size_buckets=True, precision="float32")

    @classmethod
    def full(cls) -> DrugDiscoveryConfig:
        # Four times the epochs in batches of 32 drawn at random (no size buckets); the screening
        # behind it is in the domain README, the measured runs in results/drug_discovery/*/full*.
        return cls(preset="full", epochs=120, batch_size=32, learning_rate=1e-3, hidden_units=64,
                   ensemble_size=3, size_buckets=False, precision="float32")
