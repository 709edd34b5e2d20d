"""Shared test fixtures.

Tests never touch the network (KERAS_APPLIED_OFFLINE=1 for the whole session) and never write
into the repository: caches, work files and results go to temporary folders. Tests that need the
real datasets read $KERAS_APPLIED_DATA_DIR (CI sets it to ../shared/data) and are skipped, with
the reason shown, where it is not set.
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
    """The real-data folder ($KERAS_APPLIED_DATA_DIR when the tests started), or skip."""
    value = os.environ.get("KERAS_APPLIED_TEST_REAL_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("real data not available: set KERAS_APPLIED_DATA_DIR to the shared data folder")
    return Path(value)
