"""Helpers for tests: subprocesses under each Keras backend, the CLI, and notebooks."""

from __future__ import annotations

import gzip
import importlib.util
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")
_BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def backend_available(backend: str) -> bool:
    return importlib.util.find_spec(_BACKEND_MODULES[backend]) is not None


def run_python(code: str, *, backend: str = "tensorflow", timeout: int = 600, env: dict | None = None):
    """Run ``code`` in a fresh interpreter with KERAS_BACKEND=backend; fail with its output."""
    if not backend_available(backend):
        pytest.skip(f"the {backend} backend is not installed (pip install {_BACKEND_MODULES[backend]})")
    full_env = {**os.environ, "KERAS_BACKEND": backend, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    if completed.returncode != 0:
        pytest.fail(
            f"subprocess under {backend} exited {completed.returncode}\n"
            f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-6000:]}"
        )
    return completed


def run_cli(*args: str, timeout: int = 900, env: dict | None = None, check: bool = True):
    """Run the ``keras-applied`` command (as ``python -m applications``) and return the result."""
    completed = subprocess.run(
        [sys.executable, "-m", "applications", *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )
    if check and completed.returncode != 0:
        pytest.fail(
            f"keras-applied {' '.join(args)} exited {completed.returncode}\n"
            f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-6000:]}"
        )
    return completed


def execute_notebook(name: str, timeout: int = 900, env: dict | None = None):
    """Execute notebooks/<name>.ipynb at smoke size; returns the executed notebook."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    path = ROOT / "notebooks" / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update({"KERAS_APPLIED_NOTEBOOK_PRESET": "smoke", **(env or {})})
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def assert_notebook_pair_in_sync(name: str) -> None:
    """The .ipynb holds the same cells as its jupytext .py twin (edit the .py, then jupytext --sync)."""
    jupytext = pytest.importorskip("jupytext")
    from_py = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    from_ipynb = jupytext.read(ROOT / "notebooks" / f"{name}.ipynb")
    sources_py = [(c.cell_type, c.source.strip()) for c in from_py.cells]
    sources_ipynb = [(c.cell_type, c.source.strip()) for c in from_ipynb.cells]
    assert sources_py == sources_ipynb, f"notebooks/{name}.ipynb is out of sync with {name}.py: run `jupytext --sync notebooks/{name}.py`"


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """Write ``array`` (uint8) as an IDX file, the MNIST format, gzip-compressed if asked."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        Path(path).write_bytes(payload)
