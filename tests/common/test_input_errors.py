"""User mistakes in files and folders: each is a one-line error naming the path (issue 14).

Tests run as any user (often root, whom ``chmod 000`` does not stop), so unreadable files and
folders are simulated: :func:`deny` makes opening or listing the given paths raise
``PermissionError``, as the operating system does for a file without read permission.
"""

from __future__ import annotations

import builtins
import io
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from common import data
from common.errors import DataError, ModelFileError


def deny(monkeypatch, *denied: Path) -> None:
    """Opening or listing any of ``denied`` (or anything under them) raises PermissionError."""
    denied_paths = [str(p) for p in denied]

    def blocked(path) -> bool:
        try:
            text = os.fsdecode(path)
        except TypeError:  # a file descriptor
            return False
        return any(text == d or text.startswith(d + os.sep) for d in denied_paths)

    real_open, real_scandir = builtins.open, os.scandir

    def open_(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and blocked(file):
            raise PermissionError(13, "Permission denied", os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    def scandir(path="."):
        if blocked(path):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(os, "scandir", scandir)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message.strip(), f"expected a one-line message; received:\n{message}"
    assert len(message) < 600, f"expected a short message; received {len(message)} characters"
    return message


# ---------------------------------------------------------------------------------------------
# 1. Unreadable files and folders in the shared readers
# ---------------------------------------------------------------------------------------------
def test_read_table_names_an_unreadable_file(tmp_path, monkeypatch):
    table = tmp_path / "ratings.csv"
    table.write_text("a,b\n1,2\n")
    deny(monkeypatch, table)
    with pytest.raises(DataError) as error:
        data.read_table(table)
    assert f"Cannot read {str(table)!r} (permission denied)" in one_line(error)


def test_read_table_refuses_a_folder_binary_bytes_and_reports_parse_errors_on_one_line(tmp_path):
    with pytest.raises(DataError, match="is a folder") as error:
        data.read_table(tmp_path)
    one_line(error)
    binary = tmp_path / "model.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DataError, match="is not text") as error:
        data.read_table(binary)
    one_line(error)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a\n1\n2,3,4\n")
    with pytest.raises(DataError, match="Cannot parse") as error:
        data.read_table(ragged)
    assert not str(error.value).endswith("\n")
    one_line(error)


def test_read_bytes_and_read_idx_name_an_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    deny(monkeypatch, path)
    with pytest.raises(DataError, match=r"permission denied\); expected a text file") as error:
        data.read_bytes(path, "a text file")
    one_line(error)
    with pytest.raises(DataError, match=r"Cannot read IDX file .*train-images-idx3-ubyte' \(permission denied\)"):
        data.read_idx(path)


def test_resolve_names_a_folder_it_may_not_read_and_moves_past_network_failures(tmp_path):
    def unreadable_folder():
        raise PermissionError(13, "Permission denied", str(tmp_path / "data" / "esol"))

    def network_down():
        raise ConnectionResetError(104, "Connection reset by peer")

    local = data.Source("local", unreadable_folder, "point --data-dir at the esol folder.")
    online = data.Source("online", network_down, "be online.")
    with pytest.raises(DataError) as error:
        data.resolve("esol", [local, online])
    assert f"Cannot read {str(tmp_path / 'data' / 'esol')!r} (permission denied)" in one_line(error)
    assert "point --data-dir at the esol folder." in str(error.value)
    with pytest.raises(data.DataNotFoundError, match=r"online: failed \(Connection reset by peer\)"):
        data.resolve("esol", [online])


def test_read_idx_reports_a_truncated_header(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")  # rank 3, but only half a dimension follows
    with pytest.raises(DataError, match="truncated or corrupt IDX file"):
        data.read_idx(path)


def _class_folders(root: Path) -> None:
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        (root / name / "a.png").write_bytes(b"x")
    (root / "dog" / "more").mkdir()
    (root / "dog" / "more" / "b.png").write_bytes(b"x")


def test_list_class_folders_names_an_unreadable_root(tmp_path, monkeypatch):
    _class_folders(tmp_path / "images")
    deny(monkeypatch, tmp_path / "images")
    with pytest.raises(DataError, match=r"Cannot read .*images' \(permission denied\); expected a folder of class") as error:
        data.list_class_folders(tmp_path / "images", [".png"])
    one_line(error)


def test_list_class_folders_counts_unreadable_subfolders_instead_of_dropping_them(tmp_path, monkeypatch):
    _class_folders(tmp_path)
    deny(monkeypatch, tmp_path / "dog" / "more")
    listing = data.list_class_folders(tmp_path, [".png"])
    assert listing.class_names == ["cat", "dog"] and len(listing.files) == 2
    assert listing.skipped.to_dict()["unreadable: permission denied"] == {"count": 1, "examples": ["dog/more"]}


def test_list_class_folders_says_whether_the_root_is_missing_or_a_file(tmp_path):
    with pytest.raises(DataError, match=r"is not a folder \(it does not exist\)"):
        data.list_class_folders(tmp_path / "missing", [".png"])
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match=r"is not a folder \(it is a file\)"):
        data.list_class_folders(tmp_path / "file.png", [".png"])


# ---------------------------------------------------------------------------------------------
# 4. Items that were changed and still used are logged as adjusted, never as skipped
# ---------------------------------------------------------------------------------------------
def test_adjusted_counts_are_not_logged_as_skipped(caplog):
    adjusted, skipped = data.adjusted(), data.Skipped()
    adjusted.add("resized to 100x100", "a.png", count=3)
    skipped.add("unreadable image", "b.png")
    with caplog.at_level(logging.WARNING, logger="keras_applied.data"):
        adjusted.log("images (converted, still used)")
        skipped.log("images")
    lines = [record.getMessage() for record in caplog.records]
    assert "images (converted, still used): adjusted 3 (resized to 100x100): a.png" in lines
    assert "images: skipped 1 (unreadable image): b.png" in lines
    assert not any("skipped" in line and "resized" in line for line in lines)
    assert data.repaired().verb == "repaired" and data.Skipped().verb == "skipped"


# ---------------------------------------------------------------------------------------------
# 2. Model files and their cards
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny image classifier saved with its card: (model path, card path)."""
    import keras

    from common import saving

    folder = tmp_path_factory.mktemp("model")
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    path = saving.save_model(model, folder / "model.keras",
                             {"domain": "vision", "dataset": "digits", "class_names": ["a", "b", "c"], "image_shape": (4, 4, 1)})
    return path, saving.metadata_path(path)


def _copy(saved, folder: Path, card: str | None = None) -> Path:
    path = folder / "model.keras"
    path.write_bytes(saved[0].read_bytes())
    if card is not None:
        (folder / "model.json").write_text(card)
    return path


def test_a_card_that_is_not_json_or_not_an_object_is_named(saved, tmp_path):
    from common import saving

    path = _copy(saved, tmp_path, '{"domain": "vision",')
    with pytest.raises(ModelFileError, match=r"model card .*model.json' is not valid JSON") as error:
        saving.load_model(path, domain="vision")
    one_line(error)
    (tmp_path / "model.json").write_text('["vision"]')
    with pytest.raises(ModelFileError, match="holds a JSON list, not an object") as error:
        saving.load_model(path, domain="vision")
    one_line(error)


@pytest.mark.parametrize("domain", ["nlp", "forecasting", "drug_discovery", "games"])
def test_a_model_without_its_card_is_refused_with_how_it_was_made(saved, tmp_path, domain):
    from common import saving

    path = _copy(saved, tmp_path)
    with pytest.raises(ModelFileError) as error:
        saving.load_model(path, domain=domain)
    message = one_line(error)
    assert "has no model card" in message and "model.json' is missing" in message
    assert f"`keras-applied run {domain}`" in message


def test_an_unreadable_model_says_so_instead_of_not_an_archive(saved, tmp_path, monkeypatch):
    from common import saving

    path = _copy(saved, tmp_path, saved[1].read_text())
    deny(monkeypatch, path)
    with pytest.raises(ModelFileError) as error:
        saving.load_model(path, domain="vision")
    message = one_line(error)
    assert "(permission denied)" in message and "not one" not in message


def test_a_truncated_archive_a_folder_and_a_foreign_zip_each_say_what_is_wrong(saved, tmp_path):
    from common import saving

    truncated = tmp_path / "cut" / "model.keras"
    truncated.parent.mkdir()
    truncated.write_bytes(saved[0].read_bytes()[:2000])
    (truncated.parent / "model.json").write_text(saved[1].read_text())
    with pytest.raises(ModelFileError, match="is a damaged '.keras' archive") as error:
        saving.load_model(truncated, domain="vision")
    assert "not one" not in one_line(error)

    with pytest.raises(ModelFileError, match=r"is a folder. Did you mean .*model.keras'\?"):
        saving.load_model(truncated.parent, domain="vision")

    foreign = tmp_path / "zip" / "model.keras"
    foreign.parent.mkdir()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ModelFileError, match="a zip archive without the config.json"):
        saving.load_model(foreign, domain="vision")


def test_a_model_that_does_not_match_its_card_is_named_in_one_line(saved, tmp_path):
    from common import saving

    card = json.loads(saved[1].read_text())
    path = _copy(saved, tmp_path, json.dumps({**card, "dataset": "fashion_mnist", "image_shape": [28, 28, 1]}))
    with pytest.raises(ModelFileError) as error:
        saving.load_model(path, domain="vision")
    message = one_line(error)
    assert "the card expects input shape (28, 28, 1), the model has (4, 4, 1)" in message
    assert "dataset 'fashion_mnist'" in message
    (tmp_path / "model.json").write_text(json.dumps({**card, "class_names": list("abcdefghij")}))
    with pytest.raises(ModelFileError, match="the card expects number of classes 10, the model has 3"):
        saving.load_model(path, domain="vision")


def test_a_model_of_another_domains_layers_is_named_without_a_config_dump(tmp_path):
    import keras

    from common import saving

    class Foreign(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    Foreign.__module__ = "applications.elsewhere.models"  # a domain this process has not imported
    registered = keras.saving.register_keras_serializable(package="foreign_test")(Foreign)
    model = keras.Sequential([keras.Input((3,)), registered(name="foreign")])
    path = saving.save_model(model, tmp_path / "model.keras", {"domain": "vision"})
    del keras.saving.get_custom_objects()["foreign_test>Foreign"]
    with pytest.raises(ModelFileError) as error:
        saving.load_model(path, domain="vision")
    message = one_line(error)
    assert "the layer 'Foreign' of the 'elsewhere' domain" in message and "Full object config" not in message


def test_a_good_model_still_loads(saved):
    from common import saving

    model, metadata = saving.load_model(saved[0], domain="vision")
    assert metadata["class_names"] == ["a", "b", "c"]
    assert model.predict(np.zeros((1, 4, 4, 1), "float32"), verbose=0).shape == (1, 3)


# ---------------------------------------------------------------------------------------------
# 3. games: a --data-dir that does not exist
# ---------------------------------------------------------------------------------------------
def test_games_refuses_a_data_dir_that_does_not_exist(tmp_path):
    from applications.games.config import GamesConfig
    from common.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--data-dir '.*nowhere' does not exist or is not a folder"):
        GamesConfig.from_preset("smoke", data_dir=str(tmp_path / "nowhere"))
    assert GamesConfig.from_preset("smoke", data_dir=str(tmp_path)).data_dir == str(tmp_path)  # `run all` passes one
    assert GamesConfig.from_preset("smoke").data_dir is None
