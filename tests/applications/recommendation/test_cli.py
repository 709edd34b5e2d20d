"""The recommendation example through its real command line: both tasks, results, predict, errors."""

from __future__ import annotations

import json

import pytest

from applications.recommendation import predict
from common.errors import DataError
from tests.helpers import run_cli

SMOKE = ("--preset", "smoke")


@pytest.fixture(scope="module")
def rating_run(tmp_path_factory, movielens_dir):
    """A rating run on the user's own CSV: other column names, plus three bad rows."""
    import pandas as pd

    base = tmp_path_factory.mktemp("recommendation_rating")
    ratings = pd.read_csv(movielens_dir / "recommendation" / "ml-latest-small" / "ratings.csv")
    ratings.columns = ["customer", "product", "stars", "when"]
    bad = pd.DataFrame([[1, 2, 9.0, 5], [1, 2, 3.0, 10], ["bob?", 3, 4.0, 6]], columns=ratings.columns)
    path = base / "mine.csv"
    pd.concat([ratings.astype(object), bad.astype(object)]).to_csv(path, index=False)
    run_cli("run", "recommendation", *SMOKE, "--dataset", "csv", "--ratings-file", str(path), "--user-column", "customer",
            "--item-column", "product", "--rating-column", "stars", "--timestamp-column", "when",
            "--items-file", str(movielens_dir / "recommendation" / "ml-latest-small" / "movies.csv"),
            "--epochs", "10", "--batch-size", "32", "--learning-rate", "0.01", "--embedding-dim", "8", "--run-tag", "cli",
            "--workdir", str(base / "work"), "--results-dir", str(base / "results"))
    return base


@pytest.fixture(scope="module")
def retrieval_run(tmp_path_factory, movielens_dir):
    base = tmp_path_factory.mktemp("recommendation_retrieval")
    run_cli("run", "recommendation", *SMOKE, "--task", "retrieval", "--data-dir", str(movielens_dir), "--holdout", "2",
            "--epochs", "12", "--batch-size", "64", "--embedding-dim", "16", "--workdir", str(base / "work"),
            "--results-dir", str(base / "results"))
    return base


def test_rating_run_beats_its_baselines_and_writes_every_file(rating_run):
    run_dir = rating_run / "results" / "recommendation" / "mine" / "smoke-rating-cli"  # the file's name; --run-tag
    metrics = json.loads((run_dir / "metrics.json").read_text())
    headline, baselines = metrics["headline"], metrics["baselines"]
    assert headline["metric"] == "rmse" and not headline["higher_is_better"]
    # Users love one genre cluster (about 4.5) and dislike the rest (about 1.5): neither the mean
    # nor user and item biases can tell; a model of user x item taste must do far better.
    assert min(baselines["global_mean"]["rmse"], baselines["user_item_bias"]["rmse"]) > 1.0
    assert headline["value"] < min(baselines["global_mean"]["rmse"], baselines["user_item_bias"]["rmse"]) - 0.15
    assert set(baselines) == {"global_mean", "user_item_bias", "user_item_session_bias"}
    assert metrics["metrics"]["split_sizes"] == {"train": 1152, "validation": 144, "test": 144}
    skipped = metrics["skipped"]["skipped"]
    assert skipped["rating outside the declared scale [0.5, 5]"]["count"] == 1
    assert skipped["non-numeric user id"]["count"] == 1
    assert skipped["duplicate (user, item) row; kept the latest"]["count"] == 1
    assert set(metrics["metrics"]["blend_weights"]) == {"mf", "neumf"}
    for name in ("rating_error_distribution", "item_embeddings", "learning_curves_mf", "learning_curves_neumf"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000
    assert "user_item_bias" in (run_dir / "model_comparison.csv").read_text()
    assert (rating_run / "work" / "model.keras").exists() and (rating_run / "work" / "model.catalogue.npz").exists()


def test_retrieval_run_ranks_the_catalogue_better_than_popularity(retrieval_run):
    run_dir = (retrieval_run / "results" / "recommendation" / "movielens_latest_small"
               / "smoke-retrieval-batch64-embedding_dim16-epochs12-holdout2")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "recall_at_10" and metrics["metrics"]["split"] == "temporal"
    popularity = metrics["baselines"]["popularity"]
    # Each user's next items come from their favourite cluster; popularity cannot know which.
    assert metrics["headline"]["value"] > popularity["recall_at_10"] + 0.1
    assert metrics["metrics"]["test_users"] == 60 and metrics["metrics"]["catalogue_items"] == 90
    assert (run_dir / "plots" / "recall_at_k.png").stat().st_size > 1000
    assert "popularity" in (run_dir / "recall_at_k.csv").read_text().splitlines()[0]


def test_predict_recommends_unseen_items_and_similar_items(rating_run, retrieval_run):
    for run in (rating_run, retrieval_run):
        recommender = predict.Recommender(str(run / "work" / "model.keras"))
        result = recommender.recommend("3", top_n=5)
        seen = {str(recommender.catalogue.items[i]) for i in recommender.catalogue.seen(2)}
        assert result["known"] and len(result["items"]) == 5 and not seen & {e["item"] for e in result["items"]}
        # User 3 prefers cluster 3 % 3 = 0, the items with ids 1, 4, 7 ...: the top picks come from it.
        assert sum((int(e["item"]) - 1) % 3 == 0 for e in result["items"]) >= 4, result
        similar = recommender.similar("3", top_n=5, min_ratings=1)
        assert "3" not in [e["item"] for e in similar["items"]] and len(similar["items"]) == 5
    unknown = recommender.recommend("no-such-user", top_n=3)
    assert not unknown["known"] and "not in the training data" in unknown["message"] and len(unknown["items"]) == 3


def test_predict_command_line(retrieval_run, capsys):
    # predict.main is what `keras-applied predict recommendation` calls; in-process to save a start-up.
    model = str(retrieval_run / "work" / "model.keras")
    assert predict.main(["--model", model, "--user", "12345", "--top-n", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "User '12345' is not in the training data" in lines[0] and lines[1].startswith("  1. ") and len(lines) == 3
    assert predict.main(["--model", model, "--similar-to", "999"]) == 1
    assert "Item '999' is not in the model's catalogue of 90 items" in capsys.readouterr().err
    with pytest.raises(DataError, match="Item '999' is not in the model's catalogue of 90 items"):
        predict.Recommender(model).similar("999")


def test_bad_input_exits_with_clear_messages(tmp_path, capsys):
    # The CLI's main in-process (what `keras-applied run recommendation` calls): config errors exit
    # with status 2 before any training, data errors return 1, each with its message on stderr.
    from applications.recommendation.__main__ import main

    for argv, expected in (
        (["--task", "rating", "--model", "two_tower"], "--model two_tower is a retrieval model"),
        (["--dataset", "csv"], "--dataset csv needs --ratings-file PATH"),
    ):
        assert main([*SMOKE, *argv]) == 2
        assert expected in capsys.readouterr().err
    path = tmp_path / "wrong.csv"
    path.write_text("who,what,how_much\n1,2,3\n")
    argv = [*SMOKE, "--dataset", "csv", "--ratings-file", str(path), "--workdir", str(tmp_path / "w"), "--results-dir", str(tmp_path / "r")]
    assert main(argv) == 1
    assert "Received columns: ['who', 'what', 'how_much']" in capsys.readouterr().err


def test_list_and_help_describe_the_domain():
    listing = run_cli("list").stdout
    assert "recommendation:" in listing and "movielens_latest_small" in listing
    help_text = run_cli("run", "recommendation", "--help").stdout
    assert "--task" in help_text and "--ratings-file" in help_text and "--session-gap-hours" in help_text
