"""The vision example through its real command line: train, results files, predict, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers import run_cli


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A short run on the bundled digits: enough epochs to learn, few enough for seconds."""
    base = tmp_path_factory.mktemp("vision_run")
    run_cli(
        "run", "vision", "--preset", "smoke", "--dataset", "digits", "--max-train-examples", "0",
        "--epochs", "6", "--widths", "16", "32", "--learning-rate", "0.005",
        "--workdir", str(base / "work"), "--results-dir", str(base / "results"),
    )
    return base


def test_run_writes_results_that_show_learning(trained_run):
    run_dir = trained_run / "results" / "vision" / "digits" / "smoke-epochs6-lr0.005-max_train_examples0-widths16-32"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # 10 balanced classes: chance is 0.1; a working pipeline and model learn far more in 6 epochs.
    assert metrics["headline"]["metric"] == "accuracy" and metrics["headline"]["value"] > 0.8
    assert metrics["metrics"]["epochs_run"] == 6 and metrics["metrics"]["test_examples"] == 359
    assert set(metrics["metrics"]["per_class"]) == {str(d) for d in range(10)}
    for name in ("confusion_matrix", "learning_curves", "misclassified"):
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 1000
    config = json.loads((run_dir / "config.json").read_text())
    assert config["command"].startswith("keras-applied run vision --preset smoke") and config["widths"] == [16, 32]
    assert (trained_run / "work" / "model.keras").exists()


def test_predict_prints_top_classes_and_skips_bad_files(trained_run, tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    image_path = tmp_path / "digit.png"
    Image.fromarray((digits.images[0] * 255 / 16).astype(np.uint8)).resize((32, 32)).save(image_path)
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    result = run_cli("predict", "vision", "--model", str(trained_run / "work" / "model.keras"), "--top-k", "2",
                     str(image_path), str(broken), check=False)
    # Any unusable input makes the exit status 1; results on stdout, the skipped file on stderr.
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{image_path}: ") and len(lines[0].split(",")) == 2
    skipped = [line for line in result.stderr.splitlines() if line.startswith(f"{broken}: skipped:")]
    assert len(skipped) == 1 and "not a readable image" in skipped[0]


def test_predict_refuses_a_file_that_is_not_a_model(tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    result = run_cli("predict", "vision", "--model", str(fake), "x.png", check=False)
    assert result.returncode == 1 and "Expected a Keras model saved as a '.keras' archive" in result.stderr


def test_bad_flags_and_values_exit_with_clear_messages():
    result = run_cli("run", "vision", "--preset", "smoke", "--widht", "3", check=False)
    assert result.returncode == 2 and "Did you mean '--widths'" in result.stderr
    result = run_cli("run", "vision", "--preset", "tiny", check=False)
    assert result.returncode == 2 and "invalid choice: 'tiny'" in result.stderr
    result = run_cli("run", "vision", "--preset", "smoke", "--validation-fraction", "0.9", check=False)
    assert result.returncode == 2 and "validation_fraction must be in (0, 0.5); received 0.9" in result.stderr


def test_missing_data_folder_is_reported(tmp_path):
    result = run_cli("run", "vision", "--preset", "smoke", "--dataset", "folder", "--data-dir", str(tmp_path / "nope"), check=False)
    # Refused before any work (exit 2, a bad flag value), in one line naming the folder.
    assert result.returncode == 2 and "does not exist" in result.stderr and str(tmp_path / "nope") in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_list_and_help_describe_the_domain():
    listing = run_cli("list").stdout
    assert "vision:" in listing and "fashion_mnist" in listing
    help_text = run_cli("run", "vision", "--help").stdout
    assert "--backbone" in help_text and "Channels of each residual stage" in help_text


def test_benchmark_writes_throughput_and_flop_figures(tmp_path):
    run_cli("benchmark", "vision", "--preset", "smoke", "--steps", "3", "--results-dir", str(tmp_path))
    payload = json.loads((tmp_path / "benchmarks" / "vision.json").read_text())
    figures = payload["figures"]
    for policy in ("float32", "mixed_bfloat16"):
        assert figures[policy]["train_images_per_second"] > 0
        assert figures[policy]["forward_flops_per_image"] > 0
        assert 0 < figures[policy]["model_flop_utilisation"] < 1.5
    assert figures["pipeline_images_per_second"] > 0 and "bfloat16_speedup" in figures
    assert payload["environment"]["backend"] == "tensorflow"
