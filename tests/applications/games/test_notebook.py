"""The games tutorial runs end to end at smoke size and matches its .py twin."""

from __future__ import annotations

from tests.helpers import assert_notebook_pair_in_sync, execute_notebook


def test_notebook_pair_in_sync():
    assert_notebook_pair_in_sync("07_games")


def test_notebook_executes_at_smoke_size():
    notebook = execute_notebook("07_games")
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "keras-applied run games --preset smoke" in outputs
    assert "policy (network):" in outputs and "is illegal here" in outputs and "outcome:" in outputs
