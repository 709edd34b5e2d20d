"""The speech tutorial runs end to end at smoke size and matches its .py twin."""

from __future__ import annotations

from tests.helpers import assert_notebook_pair_in_sync, execute_notebook


def test_notebook_pair_in_sync():
    assert_notebook_pair_in_sync("03_speech")


def test_notebook_executes_at_smoke_size():
    notebook = execute_notebook("03_speech")
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "keras-applied run speech --preset smoke" in outputs
    assert "synthetic_digits from the bundled source" in outputs
    assert outputs.count("| predicted: [(") == 3 and "resampled from 16000 Hz" in outputs
