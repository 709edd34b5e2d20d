"""The drug_discovery example through its real command line: train, results files, predict, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rdkit")

from tests.helpers import run_cli  # noqa: E402


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    """The bundled FreeWilson set (offline default), random split, a few epochs: seconds. Size-bucketed
    batches here; the notebook test trains with the default (unbucketed) batches."""
    base = tmp_path_factory.mktemp("drug_regression")
    run_cli(
        "run", "drug_discovery", "--preset", "smoke", "--dataset", "freewilson", "--split", "random",
        "--max-molecules", "300", "--epochs", "8", "--ensemble-size", "2", "--learning-rate", "0.003",
        "--size-buckets", "--workdir", str(base / "work"), "--results-dir", str(base / "results"),
    )
    return base


def test_regression_run_learns_and_writes_results(regression_run):
    run_dir = (regression_run / "results" / "drug_discovery" / "freewilson"
               / "smoke-random-ensemble_size2-epochs8-lr0.003-max_molecules300-size_buckets")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    head = metrics["headline"]
    assert head["metric"] == "rmse" and head["higher_is_better"] is False
    values = metrics["metrics"]
    # Activities span 4.3-9.2 with std ~1.0: predicting the mean gives RMSE ~1 and R2 <= 0; a model that
    # learned something (with the descriptors) does clearly better.
    assert head["value"] < 0.95 and values["test_r2"] > 0.1
    assert values["ensemble_size"] == 2 and values["mean_ensemble_spread"] > 0
    assert values["molecules"] == 300 and values["test_molecules"] == 30
    assert set(metrics["baselines"]) == {"random_forest", "fingerprint_mlp"}
    assert all(np.isfinite(b["rmse"]) for b in metrics["baselines"].values())
    for name in ("parity", "error_vs_spread", "learning_curves"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000
    predictions = pd.read_csv(run_dir / "test_predictions.csv")
    assert len(predictions) == 30 and (predictions["ensemble_spread"] >= 0).all()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["command"].startswith("keras-applied run drug_discovery --preset smoke")
    assert "--size-buckets" in config["command"]
    assert (regression_run / "work" / "model.keras").exists()


def test_predict_gives_mean_and_spread_and_a_per_row_error(regression_run, tmp_path):
    model = str(regression_run / "work" / "model.keras")
    csv_path = tmp_path / "molecules.csv"
    pd.DataFrame({"id": [1, 2], "Structure": ["c1ccccc1S(=O)(=O)N", "not a smiles"]}).to_csv(csv_path, index=False)
    output = tmp_path / "out.csv"
    result = run_cli("predict", "drug_discovery", "--model", model, "--csv", str(csv_path), "--smiles-column",
                     "structure", "--output", str(output), "CCO", "[Na+].OC(=O)c1ccccc1", check=False)
    # The unparseable row makes the exit status 1; it is named on stderr (and kept in --output).
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("1: CCO: Act ") and "±" in lines[0]
    assert "(2 fragments: the largest was kept)" in lines[1]
    assert not any(line.startswith("4: ") for line in lines)
    assert "4: not a smiles: skipped: RDKit cannot parse this SMILES" in result.stderr
    table = pd.read_csv(output)
    assert len(table) == 4 and table["spread"].notna().sum() == 3 and table["error"].notna().sum() == 1


def test_multitask_classification_csv_with_missing_labels(tmp_path):
    from applications.drug_discovery import data

    frame = data.freewilson_frame()
    rng = np.random.default_rng(0)
    frame["active"] = (frame["Act"] > 6.5).astype(float)
    frame["potent"] = (frame["Act"] > 7.5).astype(float)
    frame.loc[rng.random(len(frame)) < 0.3, "potent"] = np.nan  # Tox21-style missing labels
    path = tmp_path / "assays.csv"
    frame[["smiles", "active", "potent"]].to_csv(path, index=False)
    run_cli(
        "run", "drug_discovery", "--preset", "smoke", "--dataset", "csv", "--csv-path", str(path),
        "--target-columns", "active", "potent", "--model", "fingerprint_mlp", "--max-molecules", "400",
        "--epochs", "6", "--split", "random", "--workdir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results"),
    )
    run = "smoke-fingerprint_mlp-random-epochs6-max_molecules400-target_columns_active-potent"  # in results/<file stem>/
    metrics = json.loads((tmp_path / "results" / "drug_discovery" / "assays" / run / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "roc_auc" and metrics["metrics"]["task_type"] == "classification"
    assert set(metrics["metrics"]["per_task"]) == {"active", "potent"}
    # Both labels are thresholds of a learnable activity: well above chance (0.5).
    assert metrics["headline"]["value"] > 0.7
    assert set(metrics["baselines"]) == {"random_forest"}


def test_predict_refuses_a_file_that_is_not_a_model(tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    result = run_cli("predict", "drug_discovery", "--model", str(fake), "CCO", check=False)
    assert result.returncode == 1 and "Expected a Keras model saved as a '.keras' archive" in result.stderr


def test_bad_flags_and_values_exit_with_clear_messages(tmp_path):
    result = run_cli("run", "drug_discovery", "--preset", "smoke", "--dataset", "csv", check=False)
    assert result.returncode == 2 and "--dataset csv needs --csv-path FILE" in result.stderr
    result = run_cli("run", "drug_discovery", "--preset", "smoke", "--global-features", "MolWeight", check=False)
    assert result.returncode == 2 and "Unknown RDKit descriptor(s) ['MolWeight']" in result.stderr
    result = run_cli("run", "drug_discovery", "--preset", "smoke", "--split", "cluster", check=False)
    assert result.returncode == 2 and "invalid choice: 'cluster'" in result.stderr
    result = run_cli("run", "drug_discovery", "--preset", "smoke", "--dataset", "bbbp", "--data-dir", str(tmp_path), check=False)
    # Exit status 3: the dataset could not be found (`run all` then falls back to an embedded one).
    assert result.returncode == 3 and "No source could provide the dataset 'bbbp'" in result.stderr


def test_list_and_help_describe_the_domain():
    listing = run_cli("list").stdout
    assert "drug_discovery:" in listing and "freewilson" in listing
    help_text = run_cli("run", "drug_discovery", "--help").stdout
    assert "--target-columns" in help_text and "Bemis-Murcko scaffold split" in help_text
    predict_help = run_cli("predict", "drug_discovery", "--help").stdout
    assert "--smiles-column" in predict_help and "ensemble spread" in predict_help
