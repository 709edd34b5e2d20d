"""The drug_discovery tutorial runs end to end at smoke size and matches its .py twin."""

from __future__ import annotations

import pytest

from tests.helpers import assert_notebook_pair_in_sync, execute_notebook

pytest.importorskip("rdkit")


def test_notebook_pair_in_sync():
    assert_notebook_pair_in_sync("06_drug_discovery")


def test_notebook_executes_at_smoke_size():
    notebook = execute_notebook("06_drug_discovery")
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "keras-applied run drug_discovery --preset smoke" in outputs
    assert "freewilson (bundled): 200 molecules from 1017 rows" in outputs
    assert "scaffolds shared by train and test: 0" in outputs
    assert "not-a-molecule: error: RDKit cannot parse" in outputs and "CC(=O)Nc1ccc(O)cc1: predicted Act" in outputs
