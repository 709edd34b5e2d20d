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

A preset may depend on a few fields named in ``PRESET_SELECTORS`` (nlp's quick preset trains 10
epochs on the small SMS spam set, 4 on SST-2): :meth:`RunConfig.preset_for` builds the preset for
their values, and both :meth:`from_preset` and :meth:`overrides_from_preset` use it.

Every run is filed under ``results/<domain>/<dataset>/<run>/`` (:mod:`common.results`):

- ``<dataset>`` is the built-in dataset's name, or for the user's own file or folder its name
  (:meth:`RunConfig.dataset_folder`: ``--data-file ~/x/reviews.csv`` gives ``reviews``);
- ``<run>`` is the domain's ``<preset>[-<variant>]`` (the model, backbone, task ... it trains;
  each domain's ``train.run_name``) followed by :meth:`RunConfig.run_suffix`: nothing for the
  preset itself, the fields changed from the preset (``quick-epochs10-lr0.0003``), a short hash
  of them when that would be long, or ``--run-tag TAG`` when given (``quick-transformer-TAG``).

So two commands that run different experiments never share a folder, and the same command always
finds its own. Each field has a ``role`` that says whether it takes part:

- ``experiment`` (the default): changes what the run computes; named when changed.
- ``setting``: where files are or how the run executes (``data_dir``, ``precision``,
  ``distribute``, ``backup_steps``, ``run_tag``): never named, never tells two runs apart.
  ``precision`` is one: a dtype policy changes the numbers only by rounding, ``auto`` already
  picks a different policy per machine, and environment.json records the policy a run used.
- ``data``: the user's own data file (``--data-file``, ``--csv-path`` ...): names the dataset
  folder instead of the run, and tells two runs apart.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from common import paths
from common.distribute import MODES as DISTRIBUTE_MODES
from common.errors import ConfigError

__all__ = ["PRESETS", "PRECISIONS", "ROLES", "ConfigError", "RunConfig", "option", "folder_name"]

# Size of the run, smallest first: smoke (seconds, for tests), quick (minutes), full (the target).
PRESETS = ("smoke", "quick", "full")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# What a field is to a run's identity (see the module docstring).
ROLES = ("experiment", "setting", "data")
# The largest seed keras.utils.set_random_seed accepts (it seeds numpy's legacy generator).
MAX_SEED = 2**32 - 1
# A run-name suffix longer than this becomes a short hash of the changed fields.
MAX_SUFFIX_LENGTH = 60
# Short forms of the most common changed fields in run names (quick-epochs10-lr0.0003).
_NAME_ABBREVIATIONS = {"learning_rate": "lr", "batch_size": "batch"}
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def option(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    minimum: float | None = None,
    role: str = "experiment",
):
    """A dataclass field with its help text, the values it accepts and its ``role`` (in ROLES)."""
    if role not in ROLES:
        raise ValueError(f"option role must be one of {list(ROLES)}; received {role!r}.")
    return dataclasses.field(
        default=default, metadata={"help": help, "choices": choices, "minimum": minimum, "role": role}
    )


def folder_name(text: str) -> str:
    """``text`` as one safe folder name: runs of characters outside [A-Za-z0-9._-] become '_',
    leading dots are dropped (a dot folder is hidden, and skipped when results are listed)."""
    return _UNSAFE_NAME_CHARACTERS.sub("_", str(text)).lstrip(".")


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
        role="setting",
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
        role="setting",
    )
    distribute: str = option(
        "none",
        "Data parallelism: 'mirrored' (TF, local devices), 'multi_worker' (TF, processes from "
        "$TF_CONFIG; start them with python -m common.launch), 'data_parallel' (JAX, all devices), "
        "or 'none'. --batch-size stays the global batch.",
        choices=DISTRIBUTE_MODES,
        role="setting",
    )
    backup_steps: int = option(
        0,
        "Also back up the training state every N optimizer steps (0: at epoch ends only); a run "
        "killed and started again with the same --workdir resumes from the last backup.",
        minimum=0,
        role="setting",
    )
    run_tag: str = option(
        "",
        "Name the run <preset>[-<variant>]-TAG instead of by the values it changes from the preset "
        "(default: e.g. quick-epochs10-lr0.0003); letters, digits, '-', '_' and '.'.",
        role="setting",
    )

    # Fields whose values pick the preset's other values (e.g. nlp's model and dataset); empty: none.
    PRESET_SELECTORS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self.validate()

    # -- presets -------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> RunConfig:
        """The named preset (for the selector values among ``overrides``) with ``overrides``
        applied (each one validated)."""
        if name not in PRESETS:
            raise ConfigError(
                f"Unknown preset {name!r}. Expected one of {list(PRESETS)}."
                + _suggestion(name, PRESETS)
            )
        selectors = {key: overrides[key] for key in cls.PRESET_SELECTORS if key in overrides}
        base = cls.preset_for(name, **selectors)
        return base.replace(**overrides) if overrides else base

    @classmethod
    def preset_for(cls, name: str, **selectors: Any) -> RunConfig:
        """The preset ``name`` for these ``PRESET_SELECTORS`` values; subclasses with selectors
        override it (the selector fields themselves need not be set in what it returns)."""
        return getattr(cls, name)()

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
                size = _fixed_length(expected)
                if size is not None and isinstance(value, tuple) and len(value) != size:
                    raise ConfigError(
                        f"{type(self).__name__}.{field.name} expects {size} values ({_type_name(expected)}); "
                        f"received {len(value)}: {value!r}."
                    )
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
            # nan passes every comparison (nan < 0 is False), so it would slip past the minimum
            # below and train on NaN losses; inf is no usable setting either.
            items = value if isinstance(value, tuple) else (value,)
            if any(isinstance(item, float) and not math.isfinite(item) for item in items):
                raise ConfigError(
                    f"{type(self).__name__}.{field.name} must be a finite number; received {value!r}."
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
        if isinstance(self.seed, int) and self.seed > MAX_SEED:  # numpy's legacy seeding stops at 2**32 - 1
            raise ConfigError(f"{type(self).__name__}.seed must be <= {MAX_SEED} (2**32 - 1); received {self.seed}.")
        if self.run_tag and not re.fullmatch(r"[A-Za-z0-9._-]+", self.run_tag):
            raise ConfigError(
                f"--run-tag may hold only letters, digits, '-', '_' and '.'; received {self.run_tag!r}."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def overrides_from_preset(self) -> dict[str, Any]:
        """Fields whose values differ from this config's preset (what a command line must say):
        those that differ from the preset for its selector values, and the selectors that differ
        from the plain preset."""
        if self.preset not in PRESETS:
            return {
                f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "preset"
            }
        cls = type(self)
        base = cls.preset_for(self.preset, **{key: getattr(self, key) for key in cls.PRESET_SELECTORS})
        plain = getattr(cls, self.preset)()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(base, f.name)
            or (f.name in cls.PRESET_SELECTORS and getattr(self, f.name) != getattr(plain, f.name))
        }

    # -- where a run is filed ------------------------------------------------------------
    def roles(self) -> dict[str, str]:
        """Each field's role (see ROLES)."""
        return {f.name: f.metadata.get("role", "experiment") for f in dataclasses.fields(self)}

    def experiment_overrides(self, named: Iterable[str] = ()) -> dict[str, Any]:
        """The experiment fields changed from the preset that the run name must spell out:
        neither settings nor data paths, not the dataset (the results folder above the run
        names it), and not the ``named`` fields the domain's ``<preset>-<variant>`` already says."""
        roles = self.roles()
        skip = {"preset", "dataset", *named}
        changed = self.overrides_from_preset() if self.preset in PRESETS else self._changed_from_defaults()
        return {
            name: value for name, value in sorted(changed.items())
            if roles.get(name) == "experiment" and name not in skip
        }

    def run_suffix(self, named: Iterable[str] = ()) -> str:
        """What follows ``<preset>[-<variant>]`` in the run's folder name: '' for the preset itself,
        ``-<run_tag>`` when one is given, else the changed fields in sorted order
        (``-epochs10-lr0.0003-widths32-64-128``), or ``-cfg<hash>`` of them when that would pass
        MAX_SUFFIX_LENGTH characters (metrics.json lists them under ``overrides``)."""
        if self.run_tag:
            return f"-{self.run_tag}"
        changed = self.experiment_overrides(named)
        if not changed:
            return ""
        suffix = "-".join(_name_part(name, value) for name, value in changed.items())
        if len(suffix) > MAX_SUFFIX_LENGTH:
            canonical = json.dumps({k: _plain(v) for k, v in changed.items()}, sort_keys=True)
            suffix = "cfg" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
        return f"-{suffix}"

    def run_name(self, *variant: str, named: Iterable[str] = ()) -> str:
        """``<preset>[-<variant>...]`` plus :meth:`run_suffix`; ``named``: the fields the variant
        parts spell (e.g. ``("backbone",)`` for ``quick-efficientnet_b0``)."""
        return "-".join([self.preset, *(part for part in variant if part)]) + self.run_suffix(named)

    def user_data(self) -> str | None:
        """The user's own data this run reads: the first ``data`` field that is set, or the data
        folder of ``--dataset folder``; None for a named dataset."""
        roles = self.roles()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if roles[field.name] == "data" and value:
                return str(value)
        if self.dataset == "folder":
            folder = paths.data_dir(self.data_dir)
            return str(folder) if folder else None
        return None

    def dataset_folder(self, loaded_name: str) -> str:
        """The results (and work) folder of this run's data: ``loaded_name`` (the dataset the
        loader resolved, e.g. 'sst2' for 'auto') for a named dataset; for the user's own file its
        stem, for a folder its name (``reviews`` for ~/x/reviews.csv), as a safe folder name, with
        ``-<dataset>`` added where it would be mistaken for a named dataset (``sst2-csv``)."""
        source = self.user_data()
        if not source:
            return loaded_name
        path = Path(source).expanduser()
        if path.name in ("", ".", ".."):
            path = path.resolve()
        name = folder_name(path.name if path.is_dir() else path.stem) or "data"
        field = next((f for f in dataclasses.fields(self) if f.name == "dataset"), None)
        if field is not None and name in (field.metadata.get("choices") or ()):
            name = f"{name}-{self.dataset}"
        return name

    def experiment_values(self) -> dict[str, Any]:
        """Every field that tells two experiments apart, as JSON values: what config.json must
        match for a run to replace another in place. All but the settings, and but ``dataset``:
        the folder above the run names the dataset ('auto' that found ESOL is ESOL); the user's
        own data is compared by its ``data`` fields, and by --data-dir for ``--dataset folder``."""
        roles = self.roles()
        values = {name: getattr(self, name) for name, role in roles.items() if role != "setting" and name != "dataset"}
        if self.dataset == "folder":
            values["data_dir"] = self.data_dir
        return {name: _plain(value) for name, value in values.items()}

    def _changed_from_defaults(self) -> dict[str, Any]:
        """For a config built without a preset: the fields that differ from the class defaults."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        return {
            name: getattr(self, name) for name, default in defaults.items()
            if name != "preset" and getattr(self, name) != default
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


def _plain(value: Any) -> Any:
    """Tuples as lists (as config.json holds them)."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def _name_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "-".join(_name_value(v) for v in value) if value else "none"
    if value is None:
        return "none"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return folder_name(str(value))


def _name_part(name: str, value: Any) -> str:
    """One changed field in a run name: epochs10, lr0.0003, widths32-64-128, no_augment,
    lr_schedule_linear (an underscore where the value starts with a letter)."""
    short = _NAME_ABBREVIATIONS.get(name, name)
    if isinstance(value, bool):
        return short if value else f"no_{short}"
    text = _name_value(value)
    return f"{short}_{text}" if not text or text[0].isalpha() else f"{short}{text}"


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


def _fixed_length(expected: Any) -> int | None:
    """The length a ``tuple[X, Y]`` annotation demands (None for ``tuple[X, ...]`` and non-tuples)."""
    args = typing.get_args(expected)
    if typing.get_origin(expected) is tuple and args and Ellipsis not in args:
        return len(args)
    return None


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) is not None:  # tuple[float, float], not just 'tuple'
        return str(expected).replace("typing.", "")
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")
