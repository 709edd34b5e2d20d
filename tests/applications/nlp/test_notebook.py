"""The nlp tutorial runs end to end at smoke size and matches its .py twin."""

from __future__ import annotations

from tests.applications.nlp.conftest import write_sst2
from tests.helpers import assert_notebook_pair_in_sync, execute_notebook


def test_notebook_pair_in_sync():
    assert_notebook_pair_in_sync("02_nlp")


def test_notebook_executes_at_smoke_size(tmp_path, tiny_bert):
    write_sst2(tmp_path / "nlp" / "sst2", train_count=300, dev_count=60)
    notebook = execute_notebook(
        "02_nlp", env={"KERAS_APPLIED_DATA_DIR": str(tmp_path), "KERAS_APPLIED_NOTEBOOK_CHECKPOINT": tiny_bert}
    )
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "keras-applied run nlp --preset smoke --dataset sst2" in outputs
    assert "predicted: " in outputs and "sst2 from the local source" in outputs
    assert "'headline_metric': 'accuracy'" in outputs  # the pretrained cell ran on the tiny BERT
