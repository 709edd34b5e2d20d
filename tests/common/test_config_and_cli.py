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
