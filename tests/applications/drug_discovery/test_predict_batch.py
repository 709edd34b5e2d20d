"""`keras-applied predict drug_discovery`: rows in input order, unusable SMILES on stderr with exit
status 1, and an --output that cannot be written refused in one line (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from applications.drug_discovery import predict


def fake_predictions(model_path, smiles, batch_size=256):
    """What predict_smiles returns, without a model: 'x' cannot be parsed, everything else predicts."""
    entries = []
    for text in smiles:
        if text == "x":
            entries.append({"input": text, "error": f"RDKit cannot parse this SMILES: {text!r}"})
        else:
            entries.append({"input": text, "smiles": text, "predictions": {"logS": {"mean": float(len(text)), "spread": 0.5}}})
    return entries


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(predict, "predict_smiles", fake_predictions)


def test_all_usable_exits_0_and_any_unusable_exits_1_with_the_row_on_stderr(no_model, tmp_path, capsys):
    assert predict.main(["--model", "m.keras", "CCO", "CCCC"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["1: CCO: logS 3.000 ± 0.500", "2: CCCC: logS 4.000 ± 0.500"]
    assert captured.err == ""

    output = tmp_path / "out.csv"
    assert predict.main(["--model", "m.keras", "CCO", "x", "CCCC", "--output", str(output)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[:2] == ["1: CCO: logS 3.000 ± 0.500", "3: CCCC: logS 4.000 ± 0.500"]
    errors = captured.err.splitlines()
    assert errors[0] == "2: x: skipped: RDKit cannot parse this SMILES: 'x'"
    assert "1 of 3 inputs could not be used" in errors[-1]
    table = pd.read_csv(output)
    assert table["row"].tolist() == [1, 2, 3] and table["error"].notna().tolist() == [False, True, False]


@pytest.mark.parametrize("where, message", [
    ("folder", "is a folder; expected a CSV file name"),
    ("missing_parent", "the folder '{tmp}/no/such' does not exist"),
    ("file_parent", "the folder '{tmp}/file.txt' does not exist"),
])
def test_an_unwritable_output_is_refused_before_predicting(tmp_path, capsys, monkeypatch, where, message):
    monkeypatch.setattr(predict, "predict_smiles", lambda *a, **k: pytest.fail("predicted before checking --output"))
    (tmp_path / "file.txt").write_text("x")
    output = {"folder": tmp_path, "missing_parent": tmp_path / "no" / "such" / "out.csv",
              "file_parent": tmp_path / "file.txt" / "out.csv"}[where]
    assert predict.main(["--model", "m.keras", "CCO", "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a file every write to fails)")
def test_a_failing_write_is_one_line(no_model, capsys):
    assert predict.main(["--model", "m.keras", "CCO", "--output", "/dev/full"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["keras-applied predict drug_discovery: error: Cannot write --output '/dev/full': No space left on device."]


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        predict.main(["--help"])
    assert "Exit status: 0 when every molecule was predicted; 1 when any input" in " ".join(capsys.readouterr().out.split())
