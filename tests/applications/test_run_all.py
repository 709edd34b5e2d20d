"""`keras-applied run all`: progress with an ETA, fall back when a dataset is missing, never fail
for want of data, keep the wall times for the next ETA."""

from __future__ import annotations

import json

import pytest

from applications import registry, run_all
from common import cli


def test_eta_scales_recorded_times_by_this_machines_pace():
    expected = {"a": 100.0, "b": 200.0, "c": 300.0}
    assert run_all.estimate_remaining(["a", "b", "c"], {}, expected) == (600.0, 0)
    # "a" took twice its recorded time: the rest is expected to as well.
    assert run_all.estimate_remaining(["a", "b", "c"], {"a": 200.0}, expected) == (1000.0, 0)
    seconds, unknown = run_all.estimate_remaining(["a", "x"], {}, {"a": 10.0})
    assert (seconds, unknown) == (10.0, 1)
    assert run_all.estimate_remaining(["x"], {}, {}) == (None, 1)
    assert run_all.estimate_remaining(["a"], {"a": 5.0}, expected) == (0.0, 0)


@pytest.fixture
def fake_domains(monkeypatch):
    domains = {
        "alpha": registry.Domain(name="alpha", order=1, summary="", config_class="x:y",
                                 run_all=((), ("--dataset", "mine")), fallback=("--dataset", "embedded")),
        "beta": registry.Domain(name="beta", order=2, summary="", config_class="x:y", run_all=((),)),
    }
    monkeypatch.setattr(registry, "domains", lambda: domains)
    return domains


def test_missing_data_falls_back_or_is_skipped_never_fails(fake_domains, monkeypatch, tmp_path, capsys):
    calls = []

    def fake_call(command, env):
        calls.append(command)
        arguments = command[2:]
        if "embedded" in arguments:
            return 0
        if "mine" in arguments or arguments[0] == "applications.beta":
            return cli.EXIT_DATA_NOT_FOUND
        return 0

    monkeypatch.setattr(run_all.subprocess, "call", fake_call)
    code = run_all.main(["--preset", "quick", "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "[1/3] alpha --preset quick" in out and "ETA unknown" in out
    assert "fell back (--dataset embedded)" in out
    assert "Fell back to an embedded dataset (their own data was not found): alpha --dataset mine" in out
    assert "Not run for want of data: beta" in out
    assert [c[2:] for c in calls] == [
        ["applications.alpha", "--preset", "quick", "--results-dir", str(tmp_path)],
        ["applications.alpha", "--dataset", "mine", "--preset", "quick", "--results-dir", str(tmp_path)],
        ["applications.alpha", "--dataset", "mine", "--dataset", "embedded", "--preset", "quick",
         "--results-dir", str(tmp_path)],
        ["applications.beta", "--preset", "quick", "--results-dir", str(tmp_path)],
    ]
    timings = json.loads((tmp_path / "run_all" / "quick.json").read_text())
    assert set(timings["runs"]) == {"alpha", "alpha --dataset mine"}
    assert "total_seconds" not in timings  # not every run succeeded on its own data


def test_a_real_failure_fails_the_command_and_the_eta_uses_recorded_times(fake_domains, monkeypatch, tmp_path, capsys):
    (tmp_path / "run_all").mkdir()
    (tmp_path / "run_all" / "quick.json").write_text(json.dumps(
        {"runs": {"alpha": {"seconds": 60}, "alpha --dataset mine": {"seconds": 60}, "beta": {"seconds": 120}}}))
    monkeypatch.setattr(run_all.subprocess, "call", lambda command, env: 1 if "applications.beta" in command else 0)
    code = run_all.main(["--preset", "quick", "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "[1/3] alpha --preset quick | elapsed 0:00, ETA 4:00" in out
    assert "failed (exit 1)" in out


def test_unknown_domain_and_abbreviated_flags_are_refused(fake_domains, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(["--domains", "gamma"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        run_all.main(["--pre", "quick"])
    assert "unrecognized arguments: --pre" in capsys.readouterr().err
