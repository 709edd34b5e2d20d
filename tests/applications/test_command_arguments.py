"""`benchmark`, `run all` and `report` refuse a bad flag at once, in one line naming it (issue 14).

Each of these was found by tests/sweeps/malformed_inputs.py: a traceback minutes into a
benchmark (--steps 0), a flag silently ignored (--batch-size 0) or replaced by a fallback (a
mistyped --data-dir), a report that rewrote nothing and said nothing.
"""

from __future__ import annotations

import importlib

import pytest

from applications import __main__ as command
from applications import run_all

MISSING = "/nonexistent/keras-applied-data"

BENCHMARK_CASES = [
    ("vision", ["--steps", "0"], "--steps must be >= 1; received 0."),
    ("vision", ["--batch-size", "0"], "--batch-size must be >= 1; received 0."),  # was ignored (falsy)
    ("vision", ["--data-dir", MISSING], f"--data-dir {MISSING!r} does not exist"),
    ("nlp", ["--warmup", "-1"], "--warmup must be >= 0; received -1."),
    ("nlp", ["--inference-batch-size", "0"], "--inference-batch-size must be >= 1; received 0."),
    ("nlp", ["--precision", "fp8"], "argument --precision: invalid choice: 'fp8'"),  # every model was 'skipped', exit 0
    ("speech", ["--sample-rate", "0"], "--sample-rate must be >= 4000; received 0."),
    ("speech", ["--batch-size", "0"], "--batch-size must be >= 1; received 0."),
    ("forecasting", ["--fit-rows", "0"], "--fit-rows must be >= 1; received 0."),
    ("forecasting", ["--refits", "-1"], "--refits must be >= 1; received -1."),
    ("forecasting", ["--data-dir", MISSING], f"--data-dir {MISSING!r} does not exist"),
    ("drug_discovery", ["--molecules", "0"], "--molecules must be >= 1; received 0."),
    ("drug_discovery", ["--precision", "fp8"], "argument --precision: invalid choice: 'fp8'"),
    ("games", ["--selfplay-parallel", "32", "0"], "--selfplay-parallel must be >= 1; received 32 0."),
]


@pytest.mark.parametrize(("domain", "argv", "message"), BENCHMARK_CASES,
                         ids=[f"{d}{'_'.join(a)}" for d, a, _ in BENCHMARK_CASES])
def test_benchmark_flags_are_checked_before_any_work(capsys, domain, argv, message):
    main = importlib.import_module(f"applications.{domain}.benchmark").main
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--data-dir", MISSING], f"--data-dir {MISSING!r} does not exist"),
    (["--results-dir", "/proc/keras-applied-test"], "--results-dir '/proc/keras-applied-test' cannot be written"),
])
def test_run_all_refuses_unusable_folders_before_the_first_run(monkeypatch, capsys, argv, message):
    monkeypatch.setattr(run_all.subprocess, "call", lambda *a, **k: pytest.fail("a run was started"))
    with pytest.raises(SystemExit) as raised:
        run_all.main(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_report_refuses_a_missing_results_folder_or_project_root(tmp_path, capsys):
    (tmp_path / "README.md").write_text("# project\n")
    with pytest.raises(SystemExit):
        command.main(["report", "--results-dir", str(tmp_path / "missing"), "--root", str(tmp_path)])
    assert f"--results-dir {str(tmp_path / 'missing')!r} does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        command.main(["report", "--root", str(tmp_path / "elsewhere")])
    assert "holds no README.md; expected the project root" in capsys.readouterr().err


def test_report_says_when_no_readme_was_updated(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not a project root: the tables are printed, no README is touched
    assert command.main(["report", "--results-dir", str(tmp_path)]) == 0
    assert "no README with a results block" in capsys.readouterr().err
