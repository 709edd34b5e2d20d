"""`keras-applied predict recommendation`: flags that would silently give nonsense are refused, an
empty result says why, and a damaged catalogue is one line (exit status 1), never a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from applications.recommendation import predict


class EmptyRecommender:
    """Stands in for a loaded model whose catalogue has no item with many ratings."""

    def __init__(self, model_path):
        self.catalogue = type("Catalogue", (), {"popularity": np.array([3, 7, 1])})()
        self.num_items = 3

    def similar(self, item_id, top_n, min_ratings):
        return {"item": item_id, "title": "", "items": [], "message": "Items most similar to ..."}


@pytest.mark.parametrize("argv, message", [
    (["--similar-to", "1", "--min-ratings", "-1"], "--min-ratings must be >= 0; received -1."),
    (["--user", " "], "--user must be a non-empty id; received ' '."),
    (["--similar-to", ""], "--similar-to must be a non-empty id; received ''."),
    (["--user", "1", "--top-n", "0"], "--top-n must be >= 1; received 0."),
])
def test_flags_that_cannot_work_exit_2_before_loading(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        predict.main(["--model", "m.keras", *argv])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_no_item_passing_min_ratings_is_an_error_that_says_so(monkeypatch, capsys):
    monkeypatch.setattr(predict, "Recommender", EmptyRecommender)
    assert predict.main(["--model", "m.keras", "--similar-to", "1", "--min-ratings", "50"]) == 1
    err = capsys.readouterr().err
    assert "No item but '1' has at least --min-ratings 50 ratings (the most rated item has 7); lower --min-ratings." in err


def test_a_damaged_catalogue_is_a_model_file_error(tmp_path):
    from common.errors import ModelFileError

    (tmp_path / "model.catalogue.npz").write_text("garbage")
    with pytest.raises(ModelFileError, match=r"The catalogue beside the model, '.*model.catalogue.npz', cannot be read"):
        predict.load_catalogue(str(tmp_path / "model.keras"))


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        predict.main(["--help"])
    assert "Exit status: 0 when the list was printed" in " ".join(capsys.readouterr().out.split())
