"""``keras-applied predict drug_discovery --model PATH SMILES ...``: predictions with ensemble spread.

Takes SMILES strings on the command line and/or a CSV (``--csv FILE --smiles-column NAME``).
Each molecule is standardised and featurised exactly as in training (largest fragment kept; the
descriptors, fingerprint settings and model kind come from the model's card, ``model.json``).
A SMILES that cannot be used gets an error on its own row; the others still predict.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from applications.drug_discovery import data, featurize
from common.errors import DataError, UserInputError

DOMAIN = "drug_discovery"


def predict_smiles(model_path: str, smiles: Sequence[str], batch_size: int = 256) -> list[dict[str, Any]]:
    """One entry per input: ``{"input", "smiles", "predictions": {task: {"mean", "spread"}}}`` or
    ``{"input", "error"}``. For classification the mean is P(label = 1) over the ensemble."""
    from applications.drug_discovery import train  # imports keras: after --help has answered
    from common import saving

    model, metadata = saving.load_model(model_path, domain=DOMAIN)
    kind = metadata.get("model_kind", "mpnn")
    task_names = metadata.get("task_names") or [f"task_{i}" for i in range(model.output_shape[-1])]
    entries: list[dict[str, Any]] = []
    usable, mols = [], []
    for position, text in enumerate(smiles):
        parsed = featurize.standardize(text)
        entry: dict[str, Any] = {"input": text}
        if parsed.mol is None:
            entry["error"] = f"{parsed.error}: {text!r}"
        else:
            entry["smiles"] = parsed.canonical_smiles
            if parsed.fragments > 1:
                entry["note"] = f"{parsed.fragments} fragments: the largest was kept"
            usable.append(position)
            mols.append(parsed.mol)
        entries.append(entry)
    if not mols:
        return entries
    features = data.featurize_molecules(
        mols, descriptor_names=metadata.get("global_features", []),
        fingerprint_radius=int(metadata.get("fingerprint_radius", 2)),
        fingerprint_bits=int(metadata.get("fingerprint_bits", 2048)), graphs=kind == "mpnn",
    )
    members = train.predict_members(model, features, np.arange(len(mols)), kind, batch_size)  # [n, K, T]
    mean, spread = members.mean(axis=1), members.std(axis=1)
    for row, position in enumerate(usable):
        entries[position]["predictions"] = {
            name: {"mean": float(mean[row, t]), "spread": float(spread[row, t])} for t, name in enumerate(task_names)
        }
    return entries


def read_smiles_csv(path: str, smiles_column: str) -> list[str]:
    frame = data.data_lib.read_table(path)
    column = data.find_column(frame.columns, smiles_column, "SMILES", path)
    return ["" if not isinstance(value, str) else value for value in frame[column].tolist()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="keras-applied predict drug_discovery",
        description="Predict molecular properties with a saved drug_discovery model (mean and ensemble spread).",
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a drug_discovery run (in its workdir).")
    parser.add_argument("--csv", default=None, help="A CSV file whose SMILES column to predict (in addition to SMILES arguments).")
    parser.add_argument("--smiles-column", default="smiles", help="Name of the SMILES column in --csv.")
    parser.add_argument("--output", default=None, help="Also write the predictions to this CSV file (one row per molecule and task).")
    parser.add_argument("smiles", nargs="*", help="SMILES strings, e.g. 'CCO' 'c1ccccc1O' (quote them in the shell).")
    args = parser.parse_args(argv)
    try:
        inputs = list(args.smiles) + (read_smiles_csv(args.csv, args.smiles_column) if args.csv else [])
        if not inputs:
            raise DataError("Expected SMILES strings as arguments or a --csv file; received neither.")
        entries = predict_smiles(args.model, inputs)
    except UserInputError as error:
        print(f"keras-applied predict drug_discovery: error: {error}", file=sys.stderr)
        return 1
    rows = []
    for number, entry in enumerate(entries, start=1):
        if "error" in entry:
            print(f"{number}: {entry['input']}: error: {entry['error']}")
            rows.append({"row": number, "input": entry["input"], "error": entry["error"]})
            continue
        shown = ", ".join(f"{task} {p['mean']:.3f} ± {p['spread']:.3f}" for task, p in entry["predictions"].items())
        note = f" ({entry['note']})" if "note" in entry else ""
        print(f"{number}: {entry['input']}: {shown}{note}")
        for task, p in entry["predictions"].items():
            rows.append({"row": number, "input": entry["input"], "smiles": entry["smiles"], "task": task,
                         "mean": p["mean"], "spread": p["spread"]})
    if args.output:
        columns = ["row", "input", "smiles", "task", "mean", "spread", "error"]
        with open(args.output, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        print(f"predictions written to {args.output}")
    return 1 if all("error" in entry for entry in entries) else 0


if __name__ == "__main__":
    sys.exit(main())
