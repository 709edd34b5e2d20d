"""The recommendation tutorial runs end to end at smoke size and matches its .py twin."""

from __future__ import annotations

from tests.helpers import assert_notebook_pair_in_sync, execute_notebook


def test_notebook_pair_in_sync():
    assert_notebook_pair_in_sync("04_recommendation")


def test_notebook_executes_at_smoke_size(movielens_dir):
    notebook = execute_notebook("04_recommendation", env={"KERAS_APPLIED_DATA_DIR": str(movielens_dir)})
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "keras-applied run recommendation --preset smoke" in outputs
    assert "user+item bias test RMSE:" in outputs and "Top 5 items for user 1" in outputs
    assert "User 'not-a-user' is not in the training data" in outputs
