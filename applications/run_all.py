"""``keras-applied run all``: every domain's runs one after another, with an ETA and a summary.

Each run is a child process (``python -m applications.<domain> ... --preset P``), so one domain's
failure or memory never affects the next. A run that fails only because its dataset cannot be
found (exit status :data:`common.cli.EXIT_DATA_NOT_FOUND`) is repeated on the domain's embedded
default dataset (``Domain.fallback``) when it has one, and is reported as having fallen back;
a missing dataset never makes the whole command fail.

The ETA comes from the wall times of the last ``run all`` with the same preset, recorded in
``results/run_all/<preset>.json`` (scaled by how fast this machine has been so far); that file
is also where the README's "make run takes N minutes" comes from.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from applications import registry
from common import cli, errors, paths


def _label(domain: str, extra_args: Sequence[str]) -> str:
    return " ".join([domain, *extra_args])


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def timings_path(results_dir: str | None, preset: str) -> Path:
    return paths.results_dir(results_dir) / "run_all" / f"{preset}.json"


def load_timings(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text())
        return payload if isinstance(payload, dict) and isinstance(payload.get("runs"), dict) else {"runs": {}}
    except (OSError, ValueError):
        return {"runs": {}}


def estimate_remaining(plan_labels: Sequence[str], done: dict[str, float], expected: dict[str, float]) -> tuple[float | None, int]:
    """Seconds left for the runs not in ``done`` and how many of them have no recorded time.

    The recorded times are scaled by this session's pace (actual / recorded over finished runs).
    """
    known_done = [label for label in done if label in expected and expected[label] > 0]
    pace = (sum(done[label] for label in known_done) / sum(expected[label] for label in known_done)) if known_done else 1.0
    remaining = [label for label in plan_labels if label not in done]
    unknown = sum(1 for label in remaining if label not in expected)
    seconds = sum(expected.get(label, 0.0) for label in remaining) * pace
    return (seconds if remaining and unknown < len(remaining) else (0.0 if not remaining else None)), unknown


def main(argv: Sequence[str]) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied run all",
        description="Train every domain's preset runs on the data each can find (the datasets the "
        "repository ships under data/, unless --data-dir names others), one after another, then "
        "print a summary. A run whose dataset cannot be found falls back to the domain's embedded "
        "default dataset (said in the summary) instead of failing.",
    )
    parser.add_argument("--preset", default="quick", choices=["quick", "full"],
                        help="Preset for every domain (the smoke presets are for tests: run one domain with them).")
    parser.add_argument("--data-dir", default=None,
                        help="Local data folder (parent of <domain>/<dataset>/), searched before the repository's "
                        "data/; default $KERAS_APPLIED_DATA_DIR.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    parser.add_argument("--domains", nargs="+", default=None, choices=list(registry.domains()),
                        help="Only these domains (default: all).")
    parser.add_argument("--verbose", action="store_true", help="Show TensorFlow's C++ start-up logs in every run.")
    args = parser.parse_args(argv)
    # Checked here, once: each run would otherwise fall back from a mistyped --data-dir, or fail
    # on an unwritable results folder only after training.
    cli.check_data_dir_flag(parser, args.data_dir)
    try:
        paths.check_writable_dir(paths.results_dir(args.results_dir), "--results-dir" if args.results_dir else
                                 f"the results folder (${paths.RESULTS_DIR_ENV} or ./results)")
    except errors.ConfigError as error:
        parser.error(str(error))

    from common import report

    names = args.domains or list(registry.domains())
    plan: list[tuple[registry.Domain, tuple[str, ...]]] = []
    outcomes: list[tuple[str, str, float]] = []
    for name in names:
        domain = registry.get(name)
        missing = domain.missing_requirements()
        if missing:
            outcomes.append((name, f"skipped: needs pip install 'keras-applied[{domain.extra}]'", 0.0))
            continue
        plan.extend((domain, tuple(extra)) for extra in domain.run_all)

    timings_file = timings_path(args.results_dir, args.preset)
    recorded = load_timings(timings_file)
    expected = {label: float(entry.get("seconds", 0)) for label, entry in recorded["runs"].items()}
    labels = [_label(domain.name, extra) for domain, extra in plan]
    done: dict[str, float] = {}
    env = os.environ.copy()
    if args.verbose:
        env[cli.VERBOSE_ENV] = "1"
    started = time.time()
    for index, (domain, extra_args) in enumerate(plan, start=1):
        label = labels[index - 1]
        remaining, unknown = estimate_remaining(labels, done, expected)
        eta = "ETA unknown" if remaining is None else f"ETA {_clock(remaining)}"
        if unknown and remaining is not None:
            eta += f" (+{unknown} run(s) never timed)"
        print(f"\n=== [{index}/{len(plan)}] {label} --preset {args.preset} | elapsed {_clock(time.time() - started)}, "
              f"{eta}", flush=True)
        run_started = time.time()
        status = _run_one(domain, extra_args, args, env)
        seconds = time.time() - run_started
        done[label] = seconds
        outcomes.append((label, status, seconds))
        print(f"=== [{index}/{len(plan)}] {label}: {status} after {_clock(seconds)}", flush=True)

    total = time.time() - started
    _save_timings(timings_file, recorded, outcomes, total, complete=args.domains is None)
    print(f"\nSummary ({len(plan)} runs, {_clock(total)} in all)")
    for label, status, seconds in outcomes:
        print(f"  {label:<58} {status:<40} {_clock(seconds) if seconds else ''}")
    fell_back = [label for label, status, _ in outcomes if status.startswith("fell back")]
    no_data = [label for label, status, _ in outcomes if status.startswith("skipped: no data")]
    if fell_back:
        print(f"Fell back to an embedded dataset (their own data was not found): {', '.join(fell_back)}")
    if no_data:
        print(f"Not run for want of data: {', '.join(no_data)}")
    fresh = [
        row for row in report.collect(args.results_dir)
        if Path(row["path"], "metrics.json").stat().st_mtime >= started and row["run"].startswith(args.preset)
    ]
    print(report.markdown_table(fresh, report.SUMMARY_COLUMNS))
    failed = [label for label, status, _ in outcomes if status.startswith("failed")]
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _command(domain: registry.Domain, extra_args: Sequence[str], args) -> list[str]:
    command = [sys.executable, "-m", domain.module, *extra_args, "--preset", args.preset]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if args.results_dir:
        command += ["--results-dir", args.results_dir]
    return command


def _run_one(domain: registry.Domain, extra_args: Sequence[str], args, env: dict[str, str]) -> str:
    code = subprocess.call(_command(domain, extra_args, args), env=env)
    if code == 0:
        return "ok"
    if code != cli.EXIT_DATA_NOT_FOUND:
        return f"failed (exit {code})"
    if not domain.fallback:
        print(f"=== {domain.name}: its dataset was not found and the domain has no embedded default; "
              "not run (see the message above for what to provide).", flush=True)
        return "skipped: no data"
    fallback = " ".join(domain.fallback)
    print(f"=== {domain.name}: dataset not found; running on the embedded default instead ({fallback}).", flush=True)
    code = subprocess.call(_command(domain, [*extra_args, *domain.fallback], args), env=env)
    if code == 0:
        return f"fell back ({fallback})"
    return f"failed (exit {code}, after falling back to {fallback})"


def _save_timings(path: Path, recorded: dict, outcomes, total: float, *, complete: bool) -> None:
    """Keep each run's wall time for the next ETA; a partial run updates only its own entries."""
    runs = dict(recorded.get("runs", {}))
    for label, status, seconds in outcomes:
        if status == "ok" or status.startswith("fell back"):
            runs[label] = {"seconds": round(seconds, 1), "status": status}
    payload = {**recorded, "runs": runs}
    if complete and all(status == "ok" for _, status, _ in outcomes):
        from common import results

        cli.import_backend_quietly()
        payload["total_seconds"] = round(total, 1)
        payload["finished_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        payload["hardware"] = results.environment().get("hardware")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial-{os.getpid()}")
    staging.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    staging.replace(path)
