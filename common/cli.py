"""Command lines generated from config dataclasses.

Every field of an example's config becomes a flag (``batch_size`` -> ``--batch-size``) whose help
text is the field's help plus its value in each preset, so ``--help`` documents every knob and the
presets side by side. Only flags given on the command line override the chosen preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from common import config as config_lib
from common import errors, paths


class ArgumentParser(argparse.ArgumentParser):
    """argparse with 'did you mean' for misspelt flags and a non-zero exit on errors."""

    def error(self, message: str) -> typing.NoReturn:
        if "unrecognized arguments" in message:
            known = [opt for action in self._actions for opt in action.option_strings]
            for token in message.split(":", 1)[1].split():
                suggestion = config_lib._suggestion(token.split("=")[0], known)
                if suggestion:
                    message += f" ({token}:{suggestion})"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def configure_process() -> None:
    """Process-wide settings for a command-line entry point (never done on import).

    INFO logging for keras_applied loggers, and TensorFlow's C++ log noise down to warnings.
    """
    import logging
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("keras_applied").setLevel(logging.INFO)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _preset_defaults(config_cls: type, name: str) -> str:
    values = []
    for preset in config_lib.PRESETS:
        try:
            values.append(f"{preset}: {getattr(getattr(config_cls, preset)(), name)!r}")
        except Exception:  # a preset that cannot be built is reported when it is chosen
            continue
    return "; ".join(values)


def _scalar_type(annotation: Any) -> Any:
    """The element type argparse converts to: Optional[X] -> X, tuple[X, ...] -> X."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is tuple:
        return _scalar_type(args[0])
    if args and origin is not None:
        return _scalar_type(args[0])
    return annotation


def _is_tuple(annotation: Any) -> bool:
    if typing.get_origin(annotation) is tuple:
        return True
    return any(typing.get_origin(a) is tuple for a in typing.get_args(annotation))


def _none_or(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.lower() in ("none", "null", "") else convert(text)

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def add_config_arguments(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One flag per config field (except ``preset``, which has its own flag)."""
    hints = typing.get_type_hints(config_cls)
    group = parser.add_argument_group(
        f"{config_cls.__name__} fields (override the preset; preset values in brackets)"
    )
    for field in dataclasses.fields(config_cls):
        if field.name == "preset":
            continue
        annotation = hints[field.name]
        help_text = field.metadata.get("help", "")
        defaults = _preset_defaults(config_cls, field.name)
        full_help = f"{help_text} [{defaults}]".replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS, "help": full_help}
        choices = field.metadata.get("choices")
        scalar = _scalar_type(annotation)
        if scalar is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            convert = scalar if scalar in (int, float, str) else str
            optional = type(None) in typing.get_args(annotation)
            kwargs["type"] = _none_or(convert) if optional else convert
            if choices:
                kwargs["choices"] = list(choices)
            if _is_tuple(annotation):
                kwargs["nargs"] = "+"
            kwargs["metavar"] = field.name.upper()
        group.add_argument(_flag(field.name), **kwargs)


def build_parser(config_cls: type, prog: str, description: str) -> ArgumentParser:
    parser = ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--preset",
        default="quick",
        choices=list(config_lib.PRESETS),
        help="Size of the run: smoke (seconds, for tests), quick (minutes), full (the target).",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="Folder for checkpoints, logs and the saved model (outside git). Default: "
        f"${paths.WORK_DIR_ENV}/<domain>/<dataset>/<preset> or ~/.cache/keras-applied/work/...",
    )
    parser.add_argument(
        "--results-dir",
        default=None,
        help=f"Root of the results tree. Default: ${paths.RESULTS_DIR_ENV} or ./results.",
    )
    add_config_arguments(parser, config_cls)
    return parser


def config_from_args(config_cls: type, args: argparse.Namespace) -> config_lib.RunConfig:
    """The chosen preset with the flags given on the command line applied."""
    names = {f.name for f in dataclasses.fields(config_cls)} - {"preset"}
    hints = typing.get_type_hints(config_cls)
    overrides = {}
    for name in names:
        if hasattr(args, name):
            value = getattr(args, name)
            if isinstance(value, list):
                value = tuple(value)
            if hints[name] is float and isinstance(value, int):
                value = float(value)
            overrides[name] = value
    return config_cls.from_preset(args.preset, **overrides)


def run_main(
    config_cls: type,
    train_and_evaluate: Callable[..., dict] | str,
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
) -> int:
    """Parse flags, build the config, train. Config errors exit with status 2 and a message.

    ``train_and_evaluate`` may be given as ``"module:function"`` so that ``--help`` and flag
    errors answer before the deep-learning libraries are imported.
    """
    configure_process()
    parser = build_parser(config_cls, prog, description)
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(config_cls, args)
    except config_lib.ConfigError as error:
        parser.error(str(error))
    if isinstance(train_and_evaluate, str):
        import importlib

        module, function = train_and_evaluate.split(":")
        train_and_evaluate = getattr(importlib.import_module(module), function)
    try:
        train_and_evaluate(cfg, workdir=args.workdir, results_dir=args.results_dir)
    except errors.UserInputError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    return 0
