"""Command lines generated from config dataclasses.

Every field of an example's config becomes a flag (``batch_size`` -> ``--batch-size``) whose help
text is the field's help plus its value in each preset, so ``--help`` documents every knob and the
presets side by side. Only flags given on the command line override the chosen preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from common import config as config_lib
from common import errors, paths


class ArgumentParser(argparse.ArgumentParser):
    """argparse with 'did you mean' for misspelt flags and a non-zero exit on errors.

    Abbreviated flags are refused (``--epoch`` is not ``--epochs``): a prefix that happens to be
    unique today would silently change meaning when a flag is added.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> typing.NoReturn:
        if "unrecognized arguments" in message:
            known = [opt for action in self._actions for opt in action.option_strings]
            for token in message.split(":", 1)[1].split():
                if not token.startswith("-"):  # a value ('resnet' of '--backbone resnet') is no misspelt flag
                    continue
                suggestion = config_lib._suggestion(token.split("=")[0], known)
                if suggestion:
                    message += f" ({token}:{suggestion})"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


VERBOSE_ENV = "KERAS_APPLIED_VERBOSE"
# Exit status of a run that failed only for want of its dataset (`run all` then falls back).
EXIT_DATA_NOT_FOUND = 3

# TensorFlow's C++ start-up lines, printed before its logging honours TF_CPP_MIN_LOG_LEVEL.
_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ (port|cudart_stub|cuda_platform|cuda_executor|cpu_feature_guard|"
    r"cuda_dnn|cuda_fft|cuda_blas|cuda_diagnostics)\.cc:\d+\].*"
    r"|To enable the following instructions: .*|.*rebuild TensorFlow with the appropriate compiler flags\.)$"
)


def configure_process(verbose: bool | None = None) -> None:
    """Process-wide settings for a command-line entry point (never done on import).

    INFO logging for keras_applied loggers, and TensorFlow's C++ log noise hidden unless
    ``verbose`` (``--verbose`` or $KERAS_APPLIED_VERBOSE=1).
    """
    import logging
    import os

    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    if not is_verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("keras_applied").setLevel(logging.INFO)


def is_verbose() -> bool:
    import os

    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def import_backend_quietly() -> None:
    """Import Keras and its backend with TensorFlow's C++ start-up lines filtered out.

    TensorFlow prints oneDNN/CUDA notices (and a cuInit error on machines without a GPU) through
    absl before its log level applies, so they are caught at the file-descriptor level while the
    backend starts, and every other line is passed on to stderr unchanged. Does nothing when
    verbose, or when Keras is already imported.
    """
    import os
    import tempfile

    if is_verbose() or "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()  # the cuInit attempt happens here
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
    kept = [line for line in text.splitlines() if line.strip() and not _STARTUP_NOISE.match(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_at_least(parser: argparse.ArgumentParser, args: argparse.Namespace, **minimums: int) -> None:
    """Refuse (exit 2, like any bad flag) the first flag below its minimum, e.g.
    ``check_at_least(parser, args, steps=1, warmup=0)``; a flag left at None is skipped and a
    list flag (``nargs``) is checked item by item."""
    for name, minimum in minimums.items():
        value = getattr(args, name)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if any(item < minimum for item in items):
            shown = " ".join(map(str, value)) if isinstance(value, list) else value
            parser.error(f"{_flag(name)} must be >= {minimum}; received {shown}.")


def check_data_dir_flag(parser: argparse.ArgumentParser, value: str | None) -> None:
    """Refuse (exit 2) a ``--data-dir`` that is not an existing folder, instead of silently
    falling back to another dataset (see :func:`common.paths.check_data_dir`)."""
    try:
        paths.check_data_dir(value)
    except errors.ConfigError as error:
        parser.error(str(error))


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
    parser.add_argument(
        "--verbose",
        action="store_true",
        help=f"Show TensorFlow's C++ start-up logs (hidden by default; also ${VERBOSE_ENV}=1).",
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
    configure_process(verbose=args.verbose)
    try:
        cfg = config_from_args(config_cls, args)
        # Folders the run would only fail on (or fall back from) after loading data and training.
        paths.check_data_dir(cfg.data_dir)
        if args.workdir:
            paths.check_writable_dir(args.workdir, "--workdir")
        paths.check_writable_dir(paths.results_dir(args.results_dir), "--results-dir" if args.results_dir else
                                 f"the results folder (${paths.RESULTS_DIR_ENV} or ./results)")
    except config_lib.ConfigError as error:  # one line, not the whole usage (that is --help)
        print(f"{prog}: error: {error} (see {prog} --help)", file=sys.stderr)
        return 2
    import_backend_quietly()
    if isinstance(train_and_evaluate, str):
        import importlib

        module, function = train_and_evaluate.split(":")
        train_and_evaluate = getattr(importlib.import_module(module), function)
    try:
        train_and_evaluate(cfg, workdir=args.workdir, results_dir=args.results_dir)
    except errors.DataNotFoundError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_DATA_NOT_FOUND
    except errors.UserInputError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted (Ctrl-C); no results written. Running the same command again "
              "resumes from the last backup in its --workdir.", file=sys.stderr)
        return 130
    return 0
