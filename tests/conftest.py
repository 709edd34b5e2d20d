"""Shared test fixtures.

Tests never touch the network (KERAS_APPLIED_OFFLINE=1 for the whole session) and never write
into the repository: caches, work files and results go to temporary folders. Tests that need the
real datasets ask for the ``real_data_dir`` fixture: the repository's own ``data/`` folder (or
$KERAS_APPLIED_DATA_DIR when set), so they always run. Every other test sees no data folder at
all (the shipped copy is hidden with $KERAS_APPLIED_NO_SHIPPED_DATA), so smoke runs use their
small embedded defaults and source-resolution tests see exactly the folders they make.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory):
    """Offline, quiet, and every keras-applied folder in a temporary place."""
    real_data = os.environ.get("KERAS_APPLIED_DATA_DIR")
    base = tmp_path_factory.mktemp("keras_applied")
    saved = dict(os.environ)
    os.environ.update(
        {
            "KERAS_APPLIED_OFFLINE": "1",
            "KERAS_APPLIED_CACHE_DIR": str(base / "cache"),
            "KERAS_APPLIED_WORK_DIR": str(base / "work"),
            "KERAS_APPLIED_RESULTS_DIR": str(base / "results"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "MPLBACKEND": "Agg",
            "KERAS_APPLIED_NO_SHIPPED_DATA": "1",
        }
    )
    # Tests that want the real data ask for the `real_data_dir` fixture; nothing else sees it.
    os.environ.pop("KERAS_APPLIED_DATA_DIR", None)
    os.environ["KERAS_APPLIED_TEST_REAL_DATA_DIR"] = real_data or ""
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def real_data_dir() -> Path:
    """The real-data folder: $KERAS_APPLIED_DATA_DIR when the tests started, else the repository's
    ``data/``. A missing folder fails the test: the datasets ship with the repository."""
    from common import paths

    value = os.environ.get("KERAS_APPLIED_TEST_REAL_DATA_DIR") or str(paths.SHIPPED_DATA_DIR)
    if not Path(value).is_dir():
        pytest.fail(f"the real-data folder {value!r} does not exist (the repository ships data/)")
    return Path(value)
