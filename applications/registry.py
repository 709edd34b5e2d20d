"""The domains the ``keras-applied`` command knows (common/ imports none of them).

Each domain package declares itself in its ``__init__.py`` with ``DOMAIN = registry.Domain(...)``
and nothing heavier, so listing domains imports no deep-learning library. A new domain folder
with such a declaration joins ``keras-applied list``, ``run all`` and ``report`` by itself.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import importlib.util
import pkgutil
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Domain:
    name: str
    order: int  # position in listings and in `run all` (the tutorial number)
    summary: str
    config_class: str  # "module:Class" of the domain's main config dataclass
    extra: str | None = None  # pip extra that installs its dependencies
    requires: tuple[str, ...] = ()  # import names that must be present to run it
    # Argument lists `keras-applied run all` runs, one run each (after --preset and --data-dir).
    run_all: tuple[tuple[str, ...], ...] = ((),)
    # Flags appended to a `run all` run whose dataset cannot be found: the domain's embedded
    # default (a dataset inside an installed dependency). Empty: such a run is skipped, and said.
    fallback: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"applications.{self.name}"

    def missing_requirements(self) -> list[str]:
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    def config_cls(self) -> type:
        module, cls = self.config_class.split(":")
        return getattr(importlib.import_module(module), cls)


@functools.lru_cache(maxsize=1)
def domains() -> dict[str, Domain]:
    """Every domain package under applications/, in tutorial order."""
    found = []
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not module.ispkg:
            continue
        declared = getattr(importlib.import_module(f"applications.{module.name}"), "DOMAIN", None)
        if isinstance(declared, Domain):
            found.append(declared)
    return {domain.name: domain for domain in sorted(found, key=lambda d: (d.order, d.name))}


def get(name: str) -> Domain:
    known = domains()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SystemExit(f"keras-applied: unknown domain {name!r}; expected one of {sorted(known)}.{hint}")
    return known[name]
