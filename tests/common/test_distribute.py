"""Distribution: config checks, batch handling, and real runs of the vision model with
MirroredStrategy (CPU split in two), two MultiWorkerMirroredStrategy processes, JAX data
parallelism, and a run killed with SIGKILL and resumed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import distribute
from common.errors import ConfigError
from tests.helpers import ROOT, backend_available

SMOKE = ["run", "vision", "--preset", "smoke", "--dataset", "digits", "--max-train-examples", "0",
         "--widths", "8", "16", "--learning-rate", "0.005"]


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "it is not set"),
        ("{not json", "not valid JSON"),
        ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "non-empty list of 'host:port'"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "task.type must be 'worker'"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', r"task.index must be an integer in \[0, 1\]; received 2"),
    ],
)
def test_malformed_tf_config_is_explained(raw, message):
    with pytest.raises(ConfigError, match=message):
        distribute.parse_tf_config(raw)


def test_batch_size_is_adjusted_to_the_replicas_with_the_learning_rate():
    assert distribute.global_batch_size(128, 2) == 128
    assert distribute.global_batch_size(129, 2) == 128
    assert distribute.scaled_learning_rate(1e-3, 129, 128) == pytest.approx(1e-3 * 128 / 129)
    with pytest.raises(ConfigError, match="smaller than the 4 replicas"):
        distribute.global_batch_size(3, 4)


def test_a_worker_that_never_joins_times_out_with_its_name():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"worker 1 at localhost:9 did not join within 1 s"):
        distribute.wait_for_workers(["localhost:1", "localhost:9"], own_index=0, timeout=1)
    assert time.monotonic() - start < 10


def test_unknown_mode_and_wrong_backend_are_rejected():
    with pytest.raises(ConfigError, match="Unknown --distribute mode 'ring'"):
        with distribute.distribution_scope("ring"):
            pass
    with pytest.raises(ConfigError, match="needs KERAS_BACKEND=jax"):
        with distribute.distribution_scope("data_parallel"):
            pass


def cli(args, *, env=None, timeout=600, check=True, workdir=None, results=None):
    command = [sys.executable, "-m", "applications", *args]
    if workdir:
        command += ["--workdir", str(workdir)]
    if results:
        command += ["--results-dir", str(results)]
    completed = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True,
                               text=True, timeout=timeout)
    if check and completed.returncode != 0:
        pytest.fail(f"exit {completed.returncode}\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}")
    return completed


# The run folders: the values SMOKE and each test change from the smoke preset name the run.
SMOKE_RUN = "smoke-{}lr0.005-max_train_examples0"


def metrics_of(results: Path, run: str) -> dict:
    return json.loads((results / "vision" / "digits" / run / "metrics.json").read_text())


def test_mirrored_on_two_cpu_devices(tmp_path):
    cli([*SMOKE, "--epochs", "2", "--distribute", "mirrored", "--batch-size", "63"],
        env={"KERAS_APPLIED_CPU_DEVICES": "2"}, workdir=tmp_path / "work", results=tmp_path / "results")
    run = SMOKE_RUN.format("batch63-epochs2-") + "-mirrored"  # beside, not over, a plain run
    metrics = metrics_of(tmp_path / "results", run)
    config = json.loads((tmp_path / "results" / "vision" / "digits" / run / "config.json").read_text())
    assert config["distribute"] == "mirrored"
    # 1,293 training digits in global batches of 62 (63 rounded down to 2 replicas): 21 steps an epoch.
    assert metrics["metrics"]["optimizer_steps"] == 2 * 21


def test_two_worker_processes_train_in_lockstep(tmp_path):
    launch = subprocess.run(
        [sys.executable, "-m", "common.launch", "--workers", "2", "--", sys.executable, "-m", "applications",
         *SMOKE, "--epochs", "2", "--distribute", "multi_worker",
         "--workdir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results")],
        cwd=ROOT, env={**os.environ, "KERAS_APPLIED_JOIN_TIMEOUT": "120"}, capture_output=True, text=True, timeout=600,
    )
    assert launch.returncode == 0, launch.stdout[-5000:]
    assert "2 replicas in sync over 2 worker(s); this is worker 1" in launch.stdout
    metrics = metrics_of(tmp_path / "results", SMOKE_RUN.format("epochs2-") + "-multi_worker")  # by the chief alone
    assert metrics["metrics"]["optimizer_steps"] == 2 * 21  # global batch 64 over 1,293 digits
    assert metrics["metrics"]["test_examples"] == 359
    assert (tmp_path / "work" / "worker-1").is_dir() and (tmp_path / "work" / "model.keras").exists()


def test_jax_data_parallel_over_two_host_devices(tmp_path):
    if not backend_available("jax"):
        pytest.skip("the jax backend is not installed (pip install jax)")
    cli([*SMOKE, "--epochs", "1", "--distribute", "data_parallel"],
        env={"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
        workdir=tmp_path / "work", results=tmp_path / "results")
    # Training batches must divide over the devices, so the last partial batch is dropped: 1,293 // 64.
    assert metrics_of(tmp_path / "results", SMOKE_RUN.format("") + "-data_parallel")["metrics"]["optimizer_steps"] == 20


def test_a_run_killed_at_a_random_step_resumes_to_the_same_step_count(tmp_path):
    """SIGKILL mid-training, start again with the same workdir: same optimizer steps at the end."""
    epochs = 4
    args = [*SMOKE, "--epochs", str(epochs), "--backup-steps", "3"]
    cli(args, workdir=tmp_path / "clean_work", results=tmp_path / "clean")
    run = SMOKE_RUN.format(f"epochs{epochs}-")  # --backup-steps is a setting: not in the name
    clean = metrics_of(tmp_path / "clean", run)
    total_steps = clean["metrics"]["optimizer_steps"]
    assert total_steps == epochs * 21

    kill_after = random.Random().randint(4, total_steps - 6)  # a random step, printed on failure
    work = tmp_path / "work"
    process = subprocess.Popen([sys.executable, "-m", "applications", *args, "--workdir", str(work),
                                "--results-dir", str(tmp_path / "resumed")], cwd=ROOT, env=dict(os.environ),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    position = work / "backup" / "position.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if position.exists():
            try:
                steps = json.loads(position.read_text())["optimizer_steps"]
            except (ValueError, KeyError):
                steps = 0
            if steps >= kill_after:
                process.send_signal(signal.SIGKILL)
                break
        time.sleep(0.05)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"the run ended before step {kill_after} could be reached"
    killed_at = json.loads(position.read_text())
    assert not (tmp_path / "resumed").exists()  # nothing written for the killed run

    cli(args, workdir=work, results=tmp_path / "resumed")
    resumed = metrics_of(tmp_path / "resumed", run)
    assert resumed["metrics"]["optimizer_steps"] == total_steps, f"killed at {killed_at}"
    assert resumed["metrics"]["epochs_run"] == epochs
    assert not (work / "backup").exists()
    # Different shuffling after the restart: the accuracies agree up to noise, not exactly.
    assert abs(resumed["headline"]["value"] - clean["headline"]["value"]) < 0.15, (resumed["headline"], clean["headline"])
