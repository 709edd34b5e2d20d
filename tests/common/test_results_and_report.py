"""Run files, their atomic replacement, and the generated README tables."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from common import config, plots, report, results


@dataclasses.dataclass(frozen=True)
class ToyConfig(config.RunConfig):
    pass


def save_run(results_dir, value, **kwargs):
    recorder = results.RunRecorder("toy", ToyConfig.from_preset("quick", dataset="numbers"), results_dir)
    return recorder.save(
        dataset="numbers",
        model="line",
        headline=results.headline("accuracy", value, higher_is_better=True),
        metrics={"accuracy": np.float32(value), "per_class": np.array([1.0, float("nan")])},
        history={"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]},
        baselines={"majority": {"accuracy": 0.5}},
        figures={"curves": plots.learning_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})},
        tables={"per_class": [{"class": "a", "f1": 0.5}]},
        **kwargs,
    )


def test_run_files_follow_the_schema(tmp_path):
    run_dir = save_run(tmp_path, 0.75)
    assert run_dir == tmp_path / "toy" / "numbers" / "quick"
    for name in ("config.json", "environment.json", "metrics.json", "history.csv", "per_class.csv", "plots/curves.png"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["headline"] == {"metric": "accuracy", "value": 0.75, "higher_is_better": True, "split": "test"}
    assert metrics["metrics"]["per_class"] == [1.0, None]  # NaN written as null, valid JSON
    assert metrics["command"] == "keras-applied run toy --preset quick --dataset numbers"
    environment = json.loads((run_dir / "environment.json").read_text())
    assert environment["backend"] and environment["packages"]["keras"]
    assert (run_dir / "history.csv").read_text().splitlines()[0] == "epoch,loss,val_loss"


def test_a_failed_run_leaves_the_previous_one_intact(tmp_path):
    save_run(tmp_path, 0.75)

    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    recorder = results.RunRecorder("toy", ToyConfig.from_preset("quick", dataset="numbers"), tmp_path)
    with pytest.raises(RuntimeError):
        recorder.save(dataset="numbers", model="line", headline=results.headline("accuracy", 0.1, higher_is_better=True),
                      metrics={}, figures={"broken": Broken()})
    kept = json.loads((tmp_path / "toy" / "numbers" / "quick" / "metrics.json").read_text())
    assert kept["headline"]["value"] == 0.75


def test_report_table_and_readme_block(tmp_path):
    save_run(tmp_path, 0.75)
    rows = report.collect(tmp_path)
    assert len(rows) == 1 and rows[0]["value"] == 0.75 and rows[0]["baselines"] == "majority 0.5"
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{report.START}\nold table\n{report.END}\n\nmore text\n")
    assert report.replace_block(readme, report.markdown_table(rows, report.SUMMARY_COLUMNS))
    text = readme.read_text()
    assert "old table" not in text and "| toy | numbers | quick | line | test accuracy | 0.75 |" in text
    assert text.endswith("more text\n")
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers")
    assert not report.replace_block(plain, "table")


def test_benchmark_file_has_figures_and_environment(tmp_path):
    path = results.write_benchmark("toy", {"examples_per_second": np.float64(12.5)}, tmp_path)
    payload = json.loads(path.read_text())
    assert payload["figures"]["examples_per_second"] == 12.5 and payload["environment"]["backend"]
