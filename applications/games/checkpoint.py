"""Resumable self-play state: the networks, the replay buffer and the loop's counters.

``<workdir>/checkpoint/`` holds ``state.json`` (iteration, counters, history, the game, and the
SHA-256 of every other file), ``candidate.keras`` (the network being trained, optimizer state
included), ``best.keras`` (the network that plays self-play games) and ``replay.npz``. A new
checkpoint is written into ``checkpoint.partial/`` and swapped in only when complete, so an
interrupted save leaves the previous one intact.

On resume every file is checked against its recorded checksum and loaded; anything damaged, or
a checkpoint of another game, stops the run with :class:`CheckpointError` and the files are left
exactly as they were.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import keras

from applications.games import data
from applications.games.data import CheckpointError, ReplayBuffer

STATE_FILE = "state.json"
MODEL_FILES = ("candidate.keras", "best.keras")
REPLAY_FILE = "replay.npz"


def directory(workdir: str | Path) -> Path:
    return Path(workdir) / "checkpoint"


def exists(workdir: str | Path) -> bool:
    folder = directory(workdir)
    return folder.is_dir() and any(folder.iterdir())


def save(workdir: str | Path, *, state: dict[str, Any], candidate: keras.Model, best: keras.Model,
         buffer: ReplayBuffer) -> Path:
    """Write a complete checkpoint, then swap it in place of the previous one."""
    target = directory(workdir)
    staging = target.with_name("checkpoint.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    candidate.save(staging / "candidate.keras")
    best.save(staging / "best.keras")
    checksums = {name: data.sha256(staging / name) for name in MODEL_FILES}
    checksums[REPLAY_FILE] = buffer.save(staging / REPLAY_FILE)
    (staging / STATE_FILE).write_text(json.dumps({**state, "checksums": checksums}, indent=1) + "\n", encoding="utf-8")
    previous = target.with_name("checkpoint.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return target


def _refuse(folder: Path, reason: str) -> CheckpointError:
    return CheckpointError(
        f"Refusing to resume from {str(folder)!r}: {reason}. The files were left as they are; "
        "move them away, pass another --workdir, or pass --no-resume to start over (which overwrites them)."
    )


def load(workdir: str | Path, *, game, replay_capacity: int) -> tuple[dict[str, Any], keras.Model, keras.Model, ReplayBuffer]:
    """State, candidate, best and replay buffer of the checkpoint in ``workdir``."""
    from applications.games import models  # noqa: F401 - registers LegalMoveSoftmax for loading

    folder = directory(workdir)
    state_path = folder / STATE_FILE
    if not state_path.is_file():
        raise _refuse(folder, f"{STATE_FILE} is missing (an incomplete or foreign checkpoint folder)")
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        checksums = state["checksums"]
        state_game = state["game"]
        int(state["iteration"])
    except (ValueError, KeyError, TypeError) as error:
        raise _refuse(folder, f"{STATE_FILE} cannot be read ({type(error).__name__}: {error})") from error
    if state_game != game.name:
        raise _refuse(folder, f"it was made for the game {state_game!r}, not {game.name!r}")
    loaded = []
    for name in MODEL_FILES:
        path = folder / name
        if not path.is_file():
            raise _refuse(folder, f"{name} is missing")
        if data.sha256(path) != checksums.get(name):
            raise _refuse(folder, f"{name} does not match the checksum recorded when it was saved (damaged or replaced)")
        try:
            model = keras.saving.load_model(path, compile=True)
        except Exception as error:  # noqa: BLE001 - keras raises many types for a bad archive
            raise _refuse(folder, f"{name} cannot be loaded ({type(error).__name__}: {str(error)[:200]})") from error
        check_model_fits_game(model, game, source=str(path), error_type=CheckpointError)
        loaded.append(model)
    try:
        buffer = ReplayBuffer.load(
            folder / REPLAY_FILE, expected_sha256=checksums.get(REPLAY_FILE), board_shape=game.board_shape,
            num_actions=game.num_actions, capacity=replay_capacity,
        )
    except CheckpointError as error:
        raise _refuse(folder, str(error)) from error
    return state, loaded[0], loaded[1], buffer


def check_model_fits_game(model: keras.Model, game, *, source: str, error_type=CheckpointError) -> None:
    """Raise ``error_type`` when ``model`` was built for another board or action space."""
    try:
        board_shape = tuple(model.input["board"].shape[1:])
        actions = model.output["policy"].shape[-1]
    except (TypeError, KeyError, IndexError, AttributeError) as error:
        raise error_type(
            f"{source} is not a games policy-value network (expected inputs 'board' and 'legal' and "
            f"outputs 'policy' and 'value')"
        ) from error
    if board_shape != tuple(game.input_shape) or actions != game.num_actions:
        raise error_type(
            f"{source} was trained for another game: it takes boards of shape {board_shape} and "
            f"{actions} actions; {game.name} has {tuple(game.input_shape)} and {game.num_actions}"
        )
