"""The files a run leaves behind, and the one place that knows their schema.

``results/<domain>/<dataset>/<run>/`` holds one run. ``<dataset>`` is the dataset's name, or the
name of the user's own file or folder; ``<run>`` is ``<preset>[-<variant>]`` (the model, task ...
an example trains) followed by the values changed from the preset, or by ``--run-tag``
(:meth:`common.config.RunConfig.run_name`), so different experiments get different folders. The
folder holds:

- ``config.json``       every config field, and the command that reproduces the run;
- ``environment.json``  package versions, backend, device, dtype policy, CPU/GPU;
- ``history.csv``       per-epoch training history;
- ``metrics.json``      the headline metric, all metrics, baselines, skipped inputs, wall time;
- ``plots/*.png``       figures; ``*.csv`` extra tables (per-class metrics, mistakes ...).

A run is written to a temporary folder and swapped into place only when complete, so a failed or
interrupted run never overwrites a previous good one. A run of the same experiment replaces the
folder (that is how results are reproduced); where the folder holds a different experiment (its
config.json differs in a field that is not a setting), the run goes to ``<run>-2``, ``<run>-3`` ...
instead, and says so. Model files never go here: they live in the run's work directory (see
:mod:`common.paths`).
"""

from __future__ import annotations

import csv
import datetime
import importlib.metadata
import json
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from common import paths

SCHEMA_VERSION = 1
# Packages whose versions are recorded when installed.
_RECORDED_PACKAGES = (
    "keras", "tensorflow", "jax", "jaxlib", "torch", "numpy", "tensorflow-datasets", "keras-hub",
    "keras-rs", "scikit-learn", "statsmodels", "rdkit", "open-spiel", "matplotlib", "keras-applied",
)


def to_jsonable(value: Any) -> Any:
    """NumPy scalars/arrays, Paths and tuples as plain JSON values; NaN/inf as null."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def environment(policy: str | None = None) -> dict[str, Any]:
    """Versions, backend, device and dtype policy of this process."""
    import keras

    from common import precision

    versions = {}
    for name in _RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    device = precision.environment_summary()
    hardware = (
        f"{device['device_name']} ({device['cpu_count']} cores)"
        if device["accelerator"] == "cpu"
        else str(device["device_name"])
    )
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backend": keras.backend.backend(),
        "dtype_policy": policy or keras.config.dtype_policy().name,
        "hardware": hardware,
        **device,
        "packages": versions,
    }


def run_directory(results_dir: str | Path | None, domain: str, dataset: str, run_name: str) -> Path:
    return paths.results_dir(results_dir) / domain / dataset / run_name


def headline(metric: str, value: float, *, higher_is_better: bool, split: str = "test") -> dict[str, Any]:
    """The one number a results table shows for a run."""
    return {"metric": metric, "value": value, "higher_is_better": higher_is_better, "split": split}


class RunRecorder:
    """Times a run and writes its files atomically when it finishes.

    Create it at the start of ``train_and_evaluate`` (the wall time counts from then), call
    :meth:`save` at the end.
    """

    def __init__(self, domain: str, config: Any, results_dir: str | Path | None = None) -> None:
        self.domain = domain
        self.config = config
        self.results_dir = results_dir
        self.started = time.perf_counter()
        self.started_cpu = _cpu_seconds()
        self.started_at = datetime.datetime.now(datetime.timezone.utc)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def cpu_time(self) -> float:
        """CPU seconds (user + system, all threads and finished child processes) since the start.

        On a shared machine wall time depends on the neighbours; CPU time much less so.
        """
        return _cpu_seconds() - self.started_cpu

    def save(
        self,
        *,
        dataset: str,
        headline: Mapping[str, Any],
        metrics: Mapping[str, Any],
        model: str,
        run_name: str | None = None,
        history: Mapping[str, Sequence[float]] | None = None,
        baselines: Mapping[str, Any] | None = None,
        skipped: Mapping[str, Any] | None = None,
        figures: Mapping[str, Any] | None = None,
        tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        policy: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write every file into a temporary folder, then swap it in; returns the run folder.

        ``run_name``: the domain's name for the run (default: ``config.run_name()``, the preset
        and the values changed from it). In a multi-worker run only the chief writes; other
        workers return the folder untouched.
        """
        from common import distribute

        if run_name is None:
            run_name = self.config.run_name() if hasattr(self.config, "run_name") else self.config.preset
        mode = getattr(self.config, "distribute", "none")
        if mode != "none":  # a distributed run sits beside, not over, the single-process one
            run_name = f"{run_name}-{mode}"
        target = run_directory(self.results_dir, self.domain, dataset, run_name)
        if not distribute.is_chief():
            return target
        target = self._free_target(target)
        run_name = target.name
        staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "plots").mkdir(parents=True)
        wall_time = self.elapsed()
        command = self.config.command(self.domain) if hasattr(self.config, "command") else " ".join(sys.argv)

        _write_json(staging / "config.json", {"command": command, **self.config.to_dict()})
        _write_json(staging / "environment.json", environment(policy))
        _write_json(
            staging / "metrics.json",
            {
                "schema_version": SCHEMA_VERSION,
                "domain": self.domain,
                "dataset": dataset,
                "preset": self.config.preset,
                "run": run_name,
                "model": model,
                "headline": headline,
                "metrics": metrics,
                "baselines": baselines or {},
                "skipped": skipped or {},
                "wall_time_seconds": round(wall_time, 1),
                "cpu_time_seconds": round(self.cpu_time(), 1),
                "command": command,
                # The experiment's fields changed from the preset: what the run name spells out
                # after <preset>-<variant> (or what its cfg<hash> or --run-tag stands for).
                "overrides": _experiment_overrides(self.config),
                "started_at": self.started_at.isoformat(timespec="seconds"),
                **(extra or {}),
            },
        )
        if history:
            write_csv(staging / "history.csv", _history_rows(history))
        for name, rows in (tables or {}).items():
            write_csv(staging / f"{name}.csv", rows)
        for name, figure in (figures or {}).items():
            figure.savefig(staging / "plots" / f"{name}.png", dpi=110)
        _swap_into_place(staging, target)
        print(f"results written to {target} (wall time {wall_time:.0f} s)")
        return target

    def _free_target(self, target: Path) -> Path:
        """``target``, or ``<target>-2``, ``-3`` ... when it holds a different experiment: the
        first that is absent or holds this same experiment (which is then replaced in place)."""
        if not hasattr(self.config, "experiment_values"):
            return target
        values = self.config.experiment_values()
        differences = recorded_differences(target, values)
        if not differences:
            return target
        number = 2
        while recorded_differences(target.with_name(f"{target.name}-{number}"), values):
            number += 1
        candidate = target.with_name(f"{target.name}-{number}")
        more = f" and {len(differences) - 3} more" if len(differences) > 3 else ""
        print(f"{target} holds a different experiment ({'; '.join(differences[:3])}{more}); writing to "
              f"{candidate.name} beside it instead (move or delete {target.name} to replace it).")
        return candidate


def recorded_differences(run_dir: Path, values: Mapping[str, Any]) -> list[str]:
    """How the experiment recorded in ``run_dir``/config.json differs from ``values`` (a config's
    ``experiment_values()``): [] when the folder is absent or holds the same experiment; a folder
    without a readable config.json counts as different. Fields the recorded config lacks (added
    to the config since) are not compared."""
    path = run_dir / "config.json"
    if not run_dir.exists():
        return []
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict):
        return [f"no readable config.json in {run_dir.name}"]
    return [
        f"{name}: {recorded[name]!r} there, {value!r} here"
        for name, value in sorted(to_jsonable(dict(values)).items())
        if name in recorded and recorded[name] != value
    ]


def _experiment_overrides(config: Any) -> dict[str, Any]:
    if not hasattr(config, "experiment_overrides"):
        return {}
    return to_jsonable(config.experiment_overrides())


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _history_rows(history: Mapping[str, Sequence[float]]) -> list[dict[str, Any]]:
    columns = [c for c in history if c != "epoch"]
    length = max((len(history[c]) for c in columns), default=0)
    return [
        {"epoch": i + 1, **{c: history[c][i] if i < len(history[c]) else None for c in columns}}
        for i in range(length)
    ]


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of dicts as CSV (columns in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: to_jsonable(v) for k, v in row.items()})


def _swap_into_place(staging: Path, target: Path) -> None:
    previous = target.with_name(f".{target.name}.previous-{os.getpid()}")
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


def load_metrics(run_dir: str | Path) -> dict[str, Any]:
    return json.loads(Path(run_dir, "metrics.json").read_text(encoding="utf-8"))


def iter_runs(results_dir: str | Path | None = None, domain: str | None = None) -> list[Path]:
    """Every run folder (one holding metrics.json) under the results root, sorted."""
    root = paths.results_dir(results_dir)
    pattern = f"{domain or '*'}/*/*/metrics.json"
    return sorted(p.parent for p in root.glob(pattern) if not p.parent.name.startswith("."))


def write_benchmark(name: str, figures: Mapping[str, Any], results_dir: str | Path | None = None,
                    policy: str | None = None) -> Path:
    """``results/benchmarks/<name>.json``: measured figures with the environment they came from."""
    folder = paths.results_dir(results_dir) / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.json"
    staging = folder / f".{name}.json.partial-{os.getpid()}"
    _write_json(
        staging,
        {
            "benchmark": name,
            "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "figures": figures,
            "environment": environment(policy),
        },
    )
    staging.replace(target)
    print(f"benchmark written to {target}")
    return target
