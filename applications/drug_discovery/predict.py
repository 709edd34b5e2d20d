"""``keras-applied predict drug_discovery --model PATH SMILES ...``: predictions with ensemble spread.

Takes SMILES strings on the command line and/or a CSV (``--csv FILE --smiles-column NAME``).
Each molecule is standardised and featurised exactly as in training (largest fragment kept; the
descriptors, fingerprint settings and model kind come from the model's card, ``model.json``).
A SMILES that cannot be used gets an error on its own row (on stderr); the others still predict,
all of them featurised first and then put through the ensemble in batches, in input order.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from applications.drug_discovery import data, featurize
from common import cli
from common.errors import ConfigError, DataError, UserInputError

DOMAIN = "drug_discovery"
EXIT_STATUS = (
    "Exit status: 0 when every molecule was predicted; 1 when any input could not be used (each is "
    "named on stderr with the reason, the others are still printed on stdout and written to --output) "
    "or the model, --csv or --output cannot be used; 2 for a bad flag; 130 when interrupted."
)


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


def check_output_path(path: str) -> Path:
    """``--output`` as a path whose folder exists and that is not itself a folder."""
    output = Path(path)
    if output.is_dir():
        raise ConfigError(f"--output {path!r} is a folder; expected a CSV file name, e.g. {str(output / 'predictions.csv')!r}.")
    if not output.parent.is_dir():
        raise ConfigError(f"--output {path!r}: the folder {str(output.parent)!r} does not exist; create it or "
                          "choose a file in an existing folder.")
    return output


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = ["row", "input", "smiles", "task", "mean", "spread", "error"]
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as error:
        raise ConfigError(f"Cannot write --output {str(path)!r}: {error.strerror or error}.") from error


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict drug_discovery",
        description="Predict molecular properties with a saved drug_discovery model (mean and ensemble spread); "
        "prints 'ROW: INPUT: TASK MEAN ± SPREAD' per molecule on stdout, in the order given.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a drug_discovery run (in its workdir).")
    parser.add_argument("--csv", default=None, help="A CSV file whose SMILES column to predict (in addition to SMILES arguments).")
    parser.add_argument("--smiles-column", default="smiles", help="Name of the SMILES column in --csv.")
    parser.add_argument("--output", default=None, help="Also write the predictions to this CSV file (one row per molecule and task).")
    parser.add_argument("--batch-size", type=int, default=256, help="Molecules per forward pass.")
    parser.add_argument("smiles", nargs="*", help="SMILES strings, e.g. 'CCO' 'c1ccccc1O' (quote them in the shell).")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1; received {args.batch_size}.")
    try:
        output = check_output_path(args.output) if args.output else None
        inputs = list(args.smiles) + (read_smiles_csv(args.csv, args.smiles_column) if args.csv else [])
        if not inputs:
            raise DataError("Expected SMILES strings as arguments or a --csv file; received neither.")
        entries = predict_smiles(args.model, inputs, args.batch_size)
    except UserInputError as error:
        print(f"keras-applied predict drug_discovery: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict drug_discovery: interrupted.", file=sys.stderr)
        return 130
    rows, failures = [], 0
    for number, entry in enumerate(entries, start=1):
        if "error" in entry:
            failures += 1
            print(f"{number}: {entry['input']}: skipped: {entry['error']}", file=sys.stderr)
            rows.append({"row": number, "input": entry["input"], "error": entry["error"]})
            continue
        shown = ", ".join(f"{task} {p['mean']:.3f} ± {p['spread']:.3f}" for task, p in entry["predictions"].items())
        note = f" ({entry['note']})" if "note" in entry else ""
        print(f"{number}: {entry['input']}: {shown}{note}")
        for task, p in entry["predictions"].items():
            rows.append({"row": number, "input": entry["input"], "smiles": entry["smiles"], "task": task,
                         "mean": p["mean"], "spread": p["spread"]})
    if output is not None:
        try:
            write_rows(output, rows)
        except UserInputError as error:
            print(f"keras-applied predict drug_discovery: error: {error}", file=sys.stderr)
            return 1
        print(f"predictions written to {output}")
    if failures:
        print(f"keras-applied predict drug_discovery: {failures} of {len(entries)} inputs could not be used "
              "(named above); exit status 1.", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
