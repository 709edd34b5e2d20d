"""Where things live: data, caches, work files and results.

Every location can be set by a flag and by one environment variable, so a user (or CI) points
all domains at the same places at once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common.errors import ConfigError

# One environment variable per location, shared by every domain.
DATA_DIR_ENV = "KERAS_APPLIED_DATA_DIR"
CACHE_DIR_ENV = "KERAS_APPLIED_CACHE_DIR"
WORK_DIR_ENV = "KERAS_APPLIED_WORK_DIR"
RESULTS_DIR_ENV = "KERAS_APPLIED_RESULTS_DIR"
OFFLINE_ENV = "KERAS_APPLIED_OFFLINE"
# Set to 1 to ignore the repository's data/ folder (tests of the other sources; a user who wants
# only their own folder or the online source).
NO_SHIPPED_DATA_ENV = "KERAS_APPLIED_NO_SHIPPED_DATA"
# The datasets the recorded results use ship in the repository (data/<domain>/<name>/ with a
# MANIFEST.md each), so a fresh clone reproduces them offline.
SHIPPED_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The local data folder: the ``--data-dir`` flag, else $KERAS_APPLIED_DATA_DIR, else None."""
    value = explicit if explicit not in (None, "") else os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def shipped_data_dir() -> Path | None:
    """The repository's own ``data/`` folder, or None (an installed wheel without it, or
    $KERAS_APPLIED_NO_SHIPPED_DATA set)."""
    if os.environ.get(NO_SHIPPED_DATA_ENV, "") not in ("", "0"):
        return None
    return SHIPPED_DATA_DIR if SHIPPED_DATA_DIR.is_dir() else None


def cache_dir(*parts: str) -> Path:
    """A cache folder for downloads and derived data (never the working directory).

    $KERAS_APPLIED_CACHE_DIR, else ``~/.cache/keras-applied``; created on first use.
    """
    root = os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "keras-applied"
    path = Path(root).expanduser().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_dir(domain: str, dataset: str, run_name: str, explicit: str | None = None) -> Path:
    """Where a run keeps model files, checkpoints and logs (outside git).

    ``--workdir``, else $KERAS_APPLIED_WORK_DIR/<domain>/<dataset>/<run>, else
    ``~/.cache/keras-applied/work/<domain>/<dataset>/<run>``.
    """
    if explicit:
        return Path(explicit).expanduser()
    root = os.environ.get(WORK_DIR_ENV)
    base = Path(root).expanduser() if root else cache_dir("work")
    return base / domain / dataset / run_name


def results_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The results root: ``--results-dir``, else $KERAS_APPLIED_RESULTS_DIR, else ./results."""
    value = explicit or os.environ.get(RESULTS_DIR_ENV) or "results"
    return Path(value).expanduser()


# ---------------------------------------------------------------------------------------------
# Folders a user names, checked before any work
# ---------------------------------------------------------------------------------------------
def check_data_dir(value: str | os.PathLike | None, flag: str = "--data-dir") -> None:
    """Refuse a data folder the user named that is not an existing folder.

    A typo in ``--data-dir`` would otherwise fall back to another source (the shipped or bundled
    dataset) and train on data the user never meant.
    """
    if value in (None, ""):
        return
    folder = Path(value).expanduser()
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise ConfigError(f"{flag} {str(value)!r} {what}; expected an existing folder holding the dataset "
                          f"(or leave out {flag} to use the default sources).")


def check_writable_dir(value: str | os.PathLike, flag: str) -> None:
    """Refuse, before any work, a folder that cannot be created or written: one that is a file or
    lies under a file, or whose nearest existing folder takes no new files (no permission, a
    read-only or virtual file system such as /proc). Creates nothing."""
    folder = Path(value).expanduser()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"lies under {str(existing)!r}, which is a file"
        raise ConfigError(f"{flag} {str(value)!r} {where}; expected a folder (created if missing).")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = "permission denied" if isinstance(error, PermissionError) else (error.strerror or str(error))
        raise ConfigError(f"{flag} {str(value)!r} cannot be written: no file can be created in {str(existing)!r} "
                          f"({reason}); expected a folder you can write to.") from error
