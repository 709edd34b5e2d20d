"""Frozen, commented dataclass configs with presets.

Every example declares one small dataclass that extends :class:`RunConfig` with its own fields.
Each field carries its help text (shown by ``--help``) and optional ``choices`` / ``minimum`` that
are checked when a config is built, so a bad value fails at once with a message naming the field,
the value received and what was expected.

Presets are classmethods named after :data:`PRESETS` (``smoke``, ``quick``, ``full``)::

    @dataclasses.dataclass(frozen=True)
    class VisionConfig(config.RunConfig):
        width: int = config.option(32, "Channels of the first stage.", minimum=1)

        @classmethod
        def quick(cls):
            return cls(preset="quick", epochs=8)

    cfg = VisionConfig.from_preset("quick", width=48)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from typing import Any

from common.distribute import MODES as DISTRIBUTE_MODES
from common.errors import ConfigError

__all__ = ["PRESETS", "PRECISIONS", "ConfigError", "RunConfig", "option"]

# Size of the run, smallest first: smoke (seconds, for tests), quick (minutes), full (the target).
PRESETS = ("smoke", "quick", "full")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")




def option(default: Any, help: str, *, choices: tuple | None = None, minimum: float | None = None):
    """A dataclass field with its help text and the values it accepts."""
    return dataclasses.field(
        default=default, metadata={"help": help, "choices": choices, "minimum": minimum}
    )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Fields every example shares, under the same names everywhere."""

    preset: str = option(
        "custom", "Preset these values started from; names the results folder.", choices=None
    )
    dataset: str = option("auto", "Dataset to train on ('auto': the best one that can be found).")
    data_dir: str | None = option(
        None,
        "Local folder holding the dataset (or a parent folder of several); "
        "defaults to $KERAS_APPLIED_DATA_DIR.",
    )
    seed: int = option(0, "Random seed for weights, shuffling and splits.", minimum=0)
    epochs: int = option(10, "Passes over the training data.", minimum=1)
    batch_size: int = option(128, "Examples per training step (global, over all replicas).", minimum=1)
    learning_rate: float = option(1e-3, "Peak learning rate of the optimizer.", minimum=0.0)
    precision: str = option(
        "auto",
        "Dtype policy: 'auto' picks mixed_bfloat16 on CPUs with native bf16 and Ampere+ GPUs, "
        "mixed_float16 on Volta/Turing GPUs, float32 otherwise.",
        choices=PRECISIONS,
    )
    distribute: str = option(
        "none",
        "Data parallelism: 'mirrored' (TF, local devices), 'multi_worker' (TF, processes from "
        "$TF_CONFIG; start them with python -m common.launch), 'data_parallel' (JAX, all devices), "
        "or 'none'. --batch-size stays the global batch.",
        choices=DISTRIBUTE_MODES,
    )
    backup_steps: int = option(
        0,
        "Also back up the training state every N optimizer steps (0: at epoch ends only); a run "
        "killed and started again with the same --workdir resumes from the last backup.",
        minimum=0,
    )

    def __post_init__(self) -> None:
        self.validate()

    # -- presets -------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> RunConfig:
        """The named preset with ``overrides`` applied (each one validated)."""
        if name not in PRESETS:
            raise ConfigError(
                f"Unknown preset {name!r}. Expected one of {list(PRESETS)}."
                + _suggestion(name, PRESETS)
            )
        base = getattr(cls, name)()
        return base.replace(**overrides) if overrides else base

    @classmethod
    def smoke(cls) -> RunConfig:
        return cls(preset="smoke", epochs=1, batch_size=32)

    @classmethod
    def quick(cls) -> RunConfig:
        return cls(preset="quick")

    @classmethod
    def full(cls) -> RunConfig:
        return cls(preset="full")

    # -- changes and checks --------------------------------------------------------------
    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied; unknown names are an error, not ignored."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} has no field(s) {unknown}. Known fields: {sorted(names)}."
                + _suggestion(unknown[0], names)
            )
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Check every field's type, choices and minimum; subclasses add their own rules."""
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            expected = hints.get(field.name)
            if expected is not None and not _matches_type(value, expected):
                raise ConfigError(
                    f"{type(self).__name__}.{field.name} expects {_type_name(expected)}; "
                    f"received {value!r} ({type(value).__name__})."
                )
            choices = field.metadata.get("choices")
            if choices is not None and value is not None and value not in choices:
                raise ConfigError(
                    f"{type(self).__name__}.{field.name} must be one of {list(choices)}; "
                    f"received {value!r}." + _suggestion(str(value), [str(c) for c in choices])
                )
            minimum = field.metadata.get("minimum")
            if minimum is not None and value is not None:
                values = value if isinstance(value, tuple) else (value,)
                for item in values:
                    if item < minimum:
                        raise ConfigError(
                            f"{type(self).__name__}.{field.name} must be >= {minimum}; "
                            f"received {value!r}."
                        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def overrides_from_preset(self) -> dict[str, Any]:
        """Fields whose values differ from this config's preset (what a command line must say)."""
        if self.preset not in PRESETS:
            return {
                f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "preset"
            }
        base = getattr(type(self), self.preset)()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(base, f.name)
        }

    def command(self, domain: str) -> str:
        """The shortest ``keras-applied run`` command that reproduces this config."""
        parts = ["keras-applied", "run", domain, "--preset", self.preset]
        for name, value in sorted(self.overrides_from_preset().items()):
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                parts.append(flag if value else "--no-" + name.replace("_", "-"))
            elif isinstance(value, tuple):
                parts += [flag, *map(str, value)]
            elif value is not None:
                parts += [flag, str(value)]
        return " ".join(parts)


def fields_of(config_cls: type) -> list[dataclasses.Field]:
    return list(dataclasses.fields(config_cls))


def _suggestion(received: str, known) -> str:
    close = difflib.get_close_matches(str(received), [str(k) for k in known], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _matches_type(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches_type(value, arm) for arm in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is Any:
        return True
    if origin is tuple:
        args = typing.get_args(expected)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches_type(v, args[0]) for v in value)
        return len(args) == len(value) and all(map(_matches_type, value, args))
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(expected, type):
        return isinstance(value, expected)
    return True


def _type_name(expected: Any) -> str:
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")
