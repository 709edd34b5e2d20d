"""`keras-applied predict forecasting`: an output folder or file that cannot be written, and a model
card without a field the task needs, are one-line errors (exit status 1), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from applications.forecasting import predict


def fake_prediction(model_path, csv_path, time_column=None):
    import matplotlib.pyplot as plt

    figure, _ = plt.subplots()
    return pd.DataFrame({"time": pd.date_range("2024-01-01", periods=3), "y": [1.0, 2.0, 3.0]}), figure, {"task": "forecast"}


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(predict, "predict_csv", fake_prediction)


def test_writes_into_a_new_folder(no_model, tmp_path, capsys):
    assert predict.main(["--model", "m.keras", "--csv", "s.csv", "--output-dir", str(tmp_path / "new" / "out")]) == 0
    assert (tmp_path / "new" / "out" / "forecast.csv").exists() and (tmp_path / "new" / "out" / "forecast.png").exists()
    assert f"wrote {tmp_path / 'new' / 'out' / 'forecast.csv'}" in capsys.readouterr().out


@pytest.mark.parametrize("case, message", [
    ("output_dir_is_a_file", "--output-dir '{tmp}/file.txt' cannot be a folder: '{tmp}/file.txt' is a file"),
    ("under_a_file", "--output-dir '{tmp}/file.txt/sub' cannot be a folder: '{tmp}/file.txt' is a file"),
    ("folder_in_the_way", "Cannot write '{tmp}/forecast.csv': a folder of that name is in the way"),
    ("name_with_a_folder", "--name must be a plain file name without folders; received 'a/b'"),
])
def test_an_unwritable_output_is_refused_before_predicting(tmp_path, capsys, monkeypatch, case, message):
    monkeypatch.setattr(predict, "predict_csv", lambda *a, **k: pytest.fail("predicted before checking the output"))
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "forecast.csv").mkdir()
    output_dir, name = {
        "output_dir_is_a_file": (tmp_path / "file.txt", "forecast"),
        "under_a_file": (tmp_path / "file.txt" / "sub", "forecast"),
        "folder_in_the_way": (tmp_path, "forecast"),
        "name_with_a_folder": (tmp_path, "a/b"),
    }[case]
    assert predict.main(["--model", "m.keras", "--csv", "s.csv", "--output-dir", str(output_dir), "--name", name]) == 1
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a file every write to fails)")
def test_a_failing_write_is_one_line():
    from common.errors import ConfigError

    table, figure, _ = fake_prediction("m", "s")
    with pytest.raises(ConfigError, match=r"Cannot write the forecast to --output-dir '/dev': No space left on device"):
        predict.write_outputs(table, figure, Path("/dev/full"), Path("/dev/full"))


def test_a_card_without_a_needed_field_names_the_field(tmp_path, capsys):
    import keras

    from common import saving

    inputs = keras.Input((4, 1))
    path = tmp_path / "model.keras"
    saving.save_model(keras.Model(inputs, keras.layers.Dense(1)(inputs)), path, {"domain": "forecasting", "task": "forecast"})
    series = tmp_path / "series.csv"
    series.write_text("time,y\n2024-01-01,1\n2024-01-02,2\n")
    assert predict.main(["--model", str(path), "--csv", str(series), "--output-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "its model card (model.json) has no 'target_columns'" in err and len(err.strip().splitlines()) == 1


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        predict.main(["--help"])
    assert "Exit status: 0 when the forecast (or anomaly table) was printed and written; 1 when" in " ".join(
        capsys.readouterr().out.split())
