"""Start a multi-worker run on one host over loopback: ``python -m common.launch``.

    python -m common.launch --workers 2 -- keras-applied run vision --distribute multi_worker

starts two copies of the command, each with its own ``TF_CONFIG`` (TensorFlow's
MultiWorkerMirroredStrategy reads it), prefixes their output with the worker number, and stops
the others as soon as one fails. With ``--backend jax`` it sets the variables that
``keras.distribution.initialize()`` reads instead (``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
``..._NUM_PROCESSES``, ``..._PROCESS_ID``), for ``--distribute data_parallel``.

On several machines, run the same command on each with these variables set by hand (or by your
cluster manager): every worker lists every worker's address, in the same order, and its own
index::

    # machine A                                   # machine B
    TF_CONFIG='{"cluster": {"worker": ["a:12345", "b:12345"]},   (same cluster)
               "task": {"type": "worker", "index": 0}}'           "index": 1
    keras-applied run vision --distribute multi_worker            (same command)

Worker 0 is the chief: it alone writes results/ and the model file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence

from common import cli


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("localhost", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def worker_environments(workers: int, backend: str, ports: Sequence[int]) -> list[dict[str, str]]:
    """The environment variables that make process i worker i of ``workers``."""
    addresses = [f"localhost:{port}" for port in ports]
    environments = []
    for index in range(workers):
        if backend == "tensorflow":
            tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
            environments.append({"TF_CONFIG": json.dumps(tf_config), "KERAS_BACKEND": "tensorflow"})
        else:
            environments.append({
                "KERAS_BACKEND": "jax",
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": ",".join(addresses),
                "KERAS_DISTRIBUTION_NUM_PROCESSES": str(workers),
                "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
            })
    return environments


def _relay(stream, prefix: str) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{prefix}{line}")
        sys.stdout.flush()


def launch(command: Sequence[str], workers: int, backend: str = "tensorflow") -> int:
    """Run ``command`` as ``workers`` local workers; the exit code of the first failure, else 0."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1; received {workers}.")
    if not command:
        raise ValueError("Expected a command after '--', e.g. -- keras-applied run vision --distribute multi_worker.")
    executable = shutil.which(command[0]) or command[0]
    processes = []
    for index, extra in enumerate(worker_environments(workers, backend, free_ports(workers))):
        process = subprocess.Popen(
            [executable, *command[1:]], env={**os.environ, **extra},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        threading.Thread(target=_relay, args=(process.stdout, f"[worker {index}] "), daemon=True).start()
        processes.append(process)
    code = 0
    try:
        remaining = list(processes)
        while remaining:
            for process in list(remaining):
                try:
                    result = process.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    continue
                remaining.remove(process)
                if result != 0 and code == 0:
                    code = result
                    for other in remaining:  # a collective run cannot go on without this worker
                        other.send_signal(signal.SIGTERM)
    except KeyboardInterrupt:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        code = 130
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="python -m common.launch",
        description="Run a command as several workers on this host (loopback), for "
        "--distribute multi_worker (TensorFlow) or data_parallel (JAX).",
        epilog="Example: python -m common.launch --workers 2 -- keras-applied run vision "
        "--preset quick --distribute multi_worker",
    )
    parser.add_argument("--workers", type=int, default=2, help="Number of worker processes.")
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow",
                        help="tensorflow: set TF_CONFIG per worker; jax: set keras.distribution's variables.")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="The command each worker runs (after --).")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        return launch(command, args.workers, args.backend)
    except ValueError as error:
        parser.error(str(error))
    return 2


if __name__ == "__main__":
    sys.exit(main())
