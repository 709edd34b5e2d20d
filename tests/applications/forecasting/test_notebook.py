"""The forecasting tutorial runs end to end at smoke size and matches its .py twin."""

from __future__ import annotations

from tests.helpers import assert_notebook_pair_in_sync, execute_notebook


def test_notebook_pair_in_sync():
    assert_notebook_pair_in_sync("05_forecasting")


def test_notebook_executes_at_smoke_size():
    notebook = execute_notebook("05_forecasting")
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "keras-applied run forecasting --preset smoke" in outputs
    assert "best baseline" in outputs and "random walk" in outputs and "injected-spike F1" in outputs
