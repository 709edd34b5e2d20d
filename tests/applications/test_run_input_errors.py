"""`keras-applied run DOMAIN` on files and folders a user got wrong (issue 14).

Each mistake must end in a one-line error that names the path and what was expected (exit status
non-zero, no traceback), or, for single unusable items inside a folder, in a count: never in a
crash, and never silently. Unreadable files are simulated (see tests/common/test_input_errors.py:
tests often run as root, whom file permissions do not stop).
"""

from __future__ import annotations

import json
import logging

import pytest

from common.errors import DataError
from tests.common.test_input_errors import deny
from tests.helpers import run_cli


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("time,y,smiles,user,item,rating,text,label\n2020-01-01,1,CCO,1,1,4,good,pos\n")
    return path


def _loaders(path):
    """Each domain's `run` reader of a user's CSV, called as the CLI calls it."""
    from applications.drug_discovery import data as drug_data
    from applications.forecasting import data as forecasting_data
    from applications.nlp import data as nlp_data
    from applications.recommendation import data as recommendation_data

    return {
        "nlp": lambda: nlp_data.load("csv", data_file=str(path)),
        "forecasting": lambda: forecasting_data.load("csv", csv_path=str(path), target_columns=("y",)),
        "drug_discovery": lambda: drug_data.load("csv", csv_path=str(path), target_columns=("y",)),
        "recommendation": lambda: recommendation_data.load("csv", ratings_file=str(path)),
    }


@pytest.mark.parametrize("domain", ["nlp", "forecasting", "drug_discovery", "recommendation"])
def test_an_unreadable_csv_is_a_one_line_error_naming_it(table, monkeypatch, domain):
    if domain == "drug_discovery":
        pytest.importorskip("rdkit")
    load = _loaders(table)[domain]
    deny(monkeypatch, table)
    with pytest.raises(DataError) as error:
        load()
    message = str(error.value)
    assert f"Cannot read {str(table)!r} (permission denied)" in message and "\n" not in message


def _images(root, sizes):
    from PIL import Image

    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i, size in enumerate(sizes):
            Image.new("L", size, color=40 if name == "cats" else 200).save(root / name / f"{i}.png")


def test_an_unreadable_image_folder_is_named_and_unreadable_items_are_counted(tmp_path, monkeypatch):
    from applications.vision import data as vision_data

    _images(tmp_path / "locked", [(8, 8)] * 4)
    deny(monkeypatch, tmp_path / "locked")
    with pytest.raises(DataError, match=r"Cannot read .*locked' \(permission denied\); expected a folder of class"):
        vision_data.load("folder", data_dir=str(tmp_path / "locked"))

    _images(tmp_path / "open", [(8, 8)] * 4)
    (tmp_path / "open" / "dogs" / "private").mkdir()
    (tmp_path / "open" / "dogs" / "private" / "x.png").write_bytes((tmp_path / "open" / "dogs" / "0.png").read_bytes())
    deny(monkeypatch, tmp_path / "open" / "dogs" / "private", tmp_path / "open" / "cats" / "3.png")
    images, _, _, skipped, _ = vision_data.read_image_folder(tmp_path / "open", image_size=0)
    assert len(images) == 7
    assert skipped.counts["unreadable: permission denied"] == 2  # the folder and the file, each named
    assert set(skipped.examples["unreadable: permission denied"]) == {"dogs/private", "cats/3.png"}


def test_an_unreadable_text_file_in_a_folder_is_counted(tmp_path, monkeypatch):
    from applications.nlp import data as nlp_data

    for name, word in (("neg", "bad"), ("pos", "good")):
        (tmp_path / name).mkdir()
        for i in range(6):
            (tmp_path / name / f"{i}.txt").write_text(f"{word} {i}")
    deny(monkeypatch, tmp_path / "pos" / "0.txt")
    texts = nlp_data.load("folder", data_dir=str(tmp_path))
    assert texts.skipped.counts["unreadable: permission denied"] == 1
    assert sum(texts.sizes().values()) == 11


def test_resized_images_are_reported_as_adjusted_not_skipped(tmp_path, caplog):
    from applications.vision import data as vision_data

    _images(tmp_path, [(8, 8)] * 9 + [(12, 12)])
    with caplog.at_level(logging.WARNING):
        images = vision_data.load("folder", data_dir=str(tmp_path))
    assert images.adjusted.counts == {"resized to 8x8": 2} and not images.skipped
    logged = [record.getMessage() for record in caplog.records if "resized" in record.getMessage()]
    assert logged and all("adjusted 2 (resized to 8x8)" in line and "skipped" not in line for line in logged)


def test_run_reports_adjusted_images_honestly_in_metrics_json(tmp_path):
    _images(tmp_path / "images", [(8, 8)] * 9 + [(10, 10)])
    result = run_cli("run", "vision", "--preset", "smoke", "--dataset", "folder", "--data-dir", str(tmp_path / "images"),
                     "--results-dir", str(tmp_path / "results"), "--workdir", str(tmp_path / "work"))
    assert "adjusted 2 (resized to 8x8)" in result.stderr and "skipped 2 (resized" not in result.stderr
    metrics = json.loads(next((tmp_path / "results").rglob("metrics.json")).read_text())
    assert metrics["skipped"]["adjusted"]["resized to 8x8"]["count"] == 2
    assert metrics["skipped"]["skipped"] == {}


@pytest.mark.parametrize(
    "args, expected",
    [
        (["drug_discovery", "--dataset", "csv", "--csv-path", "{folder}", "--target-columns", "y"], "is a folder"),
        (["nlp", "--dataset", "csv", "--data-file", "{binary}"], "is not text"),
        (["forecasting", "--dataset", "csv", "--csv-path", "{empty}", "--target-columns", "y"], "is empty"),
        (["vision", "--dataset", "folder", "--data-dir", "{folder}"], "has no subfolders"),
    ],
)
def test_run_answers_malformed_input_with_one_line(tmp_path, args, expected):
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.csv").write_text("")
    files = {"folder": tmp_path / "folder", "binary": tmp_path / "binary.csv", "empty": tmp_path / "empty.csv"}
    argv = [a.format(**files) for a in args]
    result = run_cli("run", argv[0], "--preset", "smoke", *argv[1:], check=False)
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(errors) == 1 and expected in errors[0] and str(tmp_path) in errors[0]


def test_games_run_refuses_a_missing_data_dir(tmp_path):
    result = run_cli("run", "games", "--preset", "smoke", "--data-dir", str(tmp_path / "nowhere"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--data-dir {str(tmp_path / 'nowhere')!r} does not exist or is not a folder" in result.stderr


def test_zero_usable_images_is_an_error_not_a_run(tmp_path):
    from applications.vision import data as vision_data

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "0.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="none of the 2 image files could be read"):
        vision_data.load("folder", data_dir=str(tmp_path))


def test_too_few_examples_for_a_split_is_an_error_not_a_crash_mid_run(tmp_path):
    from applications.nlp import data as nlp_data
    from applications.vision import data as vision_data

    _images(tmp_path / "images", [(8, 8)])  # one image per class: nothing left to validate or test on
    with pytest.raises(DataError, match=r"leave the validation and test split\(s\) empty"):
        vision_data.load("folder", data_dir=str(tmp_path / "images"))
    rows = tmp_path / "rows.csv"
    rows.write_text("text,label\ngood,pos\nbad,neg\nfine,pos\nawful,neg\n")
    with pytest.raises(DataError, match=r"4 usable rows in 2 classes leave the validation and test split\(s\) empty"):
        nlp_data.load("csv", data_file=str(rows))


def test_a_series_without_usable_timestamps_says_what_was_expected():
    import pandas as pd

    from applications.forecasting import data as forecasting_data

    raw = pd.DataFrame({"time": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"), "y": ["1", "2"]})
    with pytest.raises(DataError, match="none of the 2 rows has a parseable timestamp.*--time-column"):
        forecasting_data.clean(raw, numeric_columns=["y"], what="mine.csv")
    raw = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", "2020-01-02"]), "y": ["1", "2"]})
    with pytest.raises(DataError, match=r"2 row\(s\) with a usable timestamp; expected a series of at least 3"):
        forecasting_data.clean(raw, numeric_columns=["y"], what="mine.csv")
