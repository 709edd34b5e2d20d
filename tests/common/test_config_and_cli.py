"""Config dataclasses, presets, validation and the generated command line."""

from __future__ import annotations

import dataclasses

import pytest

from common import cli, config
from common.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ToyConfig(config.RunConfig):
    width: int = config.option(16, "Units per layer.", minimum=1)
    mode: str = config.option("fast", "How to run.", choices=("fast", "slow"))
    sizes: tuple[int, ...] = config.option((1, 2), "Layer sizes.", minimum=1)
    augment: bool = config.option(True, "Use augmentation.")
    note: str | None = config.option(None, "Free text.")

    @classmethod
    def quick(cls):
        return cls(preset="quick", width=32)


def test_presets_differ_and_overrides_apply():
    assert ToyConfig.from_preset("smoke").epochs == 1
    assert ToyConfig.from_preset("quick").width == 32
    assert ToyConfig.from_preset("quick", width=64).width == 64


def test_unknown_preset_names_the_valid_ones():
    with pytest.raises(ConfigError, match=r"Unknown preset 'quik'.*smoke.*Did you mean 'quick'"):
        ToyConfig.from_preset("quik")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"width": 0}, "width must be >= 1; received 0"),
        ({"mode": "fsat"}, "mode must be one of \\['fast', 'slow'\\]; received 'fsat'. Did you mean 'fast'"),
        ({"width": "8"}, "width expects int; received '8'"),
        ({"sizes": (1, 0)}, "sizes must be >= 1"),
        ({"precision": "fp8"}, "precision must be one of"),
        ({"widht": 3}, "has no field\\(s\\) \\['widht'\\].*Did you mean 'width'"),
    ],
)
def test_bad_values_are_rejected_with_what_was_received(changes, message):
    with pytest.raises(ConfigError, match=message):
        ToyConfig.from_preset("quick").replace(**changes)


def test_command_reproduces_config():
    cfg = ToyConfig.from_preset("quick", width=8, augment=False, sizes=(3, 4))
    assert cfg.command("toy") == "keras-applied run toy --preset quick --no-augment --sizes 3 4 --width 8"


def test_parser_generates_a_flag_per_field_with_help():
    parser = cli.build_parser(ToyConfig, "toy", "Toy.")
    text = parser.format_help()
    for flag in ("--width", "--mode", "--sizes", "--augment", "--no-augment", "--note", "--batch-size", "--data-dir"):
        assert flag in text
    assert "Units per layer." in text and "quick: 32" in text


def test_only_given_flags_override_the_preset():
    parser = cli.build_parser(ToyConfig, "toy", "Toy.")
    args = parser.parse_args(["--preset", "quick", "--sizes", "5", "6", "--no-augment", "--note", "none", "--learning-rate", "1"])
    cfg = cli.config_from_args(ToyConfig, args)
    assert cfg.width == 32 and cfg.sizes == (5, 6) and cfg.augment is False and cfg.note is None
    assert cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float)


def test_unknown_flag_exits_with_a_suggestion(capsys):
    parser = cli.build_parser(ToyConfig, "toy", "Toy.")
    with pytest.raises(SystemExit) as raised:
        parser.parse_args(["--widht", "3"])
    assert raised.value.code == 2
    assert "Did you mean '--width'" in capsys.readouterr().err


def test_run_main_reports_config_errors_without_training(capsys):
    called = []
    code = cli.run_main(ToyConfig, lambda *a, **k: called.append(1), ["--width", "0"], prog="toy", description="")
    assert code == 2 and not called
    err = capsys.readouterr().err
    assert err.strip() == "toy: error: ToyConfig.width must be >= 1; received 0. (see toy --help)"


def test_flags_are_never_abbreviated(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(ToyConfig, lambda *a, **k: None, ["--wid", "3"], prog="toy", description="")
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --wid" in capsys.readouterr().err


# -- issue 14: mistakes found by tests/sweeps/malformed_inputs.py -------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_number_is_refused(value):
    # nan passes `nan < minimum` unnoticed; it used to train on NaN losses and exit 0.
    with pytest.raises(ConfigError, match=r"ToyConfig.learning_rate must be a finite number; received (nan|inf|-inf)"):
        ToyConfig.from_preset("quick", learning_rate=value)


def test_a_seed_beyond_numpys_range_is_refused():
    # keras.utils.set_random_seed(2**32) raised numpy's ValueError: a traceback after loading the data.
    assert ToyConfig.from_preset("quick", seed=2**32 - 1).seed == 2**32 - 1
    with pytest.raises(ConfigError, match=r"ToyConfig.seed must be <= 4294967295 \(2\*\*32 - 1\); received 4294967296"):
        ToyConfig.from_preset("quick", seed=2**32)


def test_a_tuple_of_the_wrong_length_says_how_many_values_it_needs():
    @dataclasses.dataclass(frozen=True)
    class Scaled(config.RunConfig):
        scale: tuple[float, float] = config.option((1.0, 5.0), "Low and high.")

    # Was "Scaled.scale expects tuple; received (5.0,) (tuple)".
    with pytest.raises(ConfigError, match=r"Scaled.scale expects 2 values \(tuple\[float, float\]\); received 1: \(5.0,\)"):
        Scaled.from_preset("quick", scale=(5.0,))


def test_a_flag_value_gets_no_flag_suggestion(capsys):
    parser = cli.build_parser(ToyConfig, "toy", "Toy.")
    with pytest.raises(SystemExit):
        parser.parse_args(["--backbone", "resnet"])  # 'resnet' once drew "Did you mean '--preset'?"
    err = capsys.readouterr().err
    assert "unrecognized arguments: --backbone resnet" in err and "--preset'?" not in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--data-dir", "{tmp}/missing"], "--data-dir '{tmp}/missing' does not exist; expected an existing folder"),
        (["--data-dir", "{tmp}/file.txt"], "--data-dir '{tmp}/file.txt' is a file; expected an existing folder"),
        (["--workdir", "{tmp}/file.txt"], "--workdir '{tmp}/file.txt' is a file; expected a folder"),
        (["--workdir", "{tmp}/file.txt/sub"], "--workdir '{tmp}/file.txt/sub' lies under '{tmp}/file.txt', which is a file"),
        (["--results-dir", "/proc/keras-applied-test"], "--results-dir '/proc/keras-applied-test' cannot be written"),
    ],
)
def test_run_main_refuses_unusable_folders_before_training(tmp_path, capsys, flags, message):
    # These used to fall back to another dataset, or fail with a traceback after training.
    (tmp_path / "file.txt").write_text("x")
    called = []
    argv = [flag.format(tmp=tmp_path) for flag in flags]
    code = cli.run_main(ToyConfig, lambda *a, **k: called.append(1), argv, prog="toy", description="")
    err = capsys.readouterr().err
    assert code == 2 and not called
    assert message.format(tmp=tmp_path) in err and len(err.strip().splitlines()) == 1


def test_check_at_least_names_the_flag_and_the_value(capsys):
    parser = cli.ArgumentParser(prog="bench")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1])
    cli.check_at_least(parser, parser.parse_args([]), steps=1, sizes=1)  # the defaults pass
    with pytest.raises(SystemExit) as raised:
        cli.check_at_least(parser, parser.parse_args(["--sizes", "4", "0"]), steps=1, sizes=1)
    assert raised.value.code == 2
    assert "bench: error: --sizes must be >= 1; received 4 0." in capsys.readouterr().err
