"""Sources, readers, splits and pipelines in common/data.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

from common import data
from common.errors import DataError, DataNotFoundError
from tests.helpers import write_idx


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, compress):
    array = np.random.default_rng(0).integers(0, 255, (5, 4, 3)).astype(np.uint8)
    path = tmp_path / ("images.gz" if compress else "images")
    write_idx(path, array, compress)
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_read_idx_rejects_other_files(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        data.read_idx(path)


def test_read_table_errors_name_the_file_and_columns(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("name,y\na,1\n")
    with pytest.raises(DataError, match=r"expected column\(s\) \['smiles'\]. Received columns: \['name', 'y'\]"):
        data.read_table(path, required=["smiles"])
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        data.read_table(empty)
    with pytest.raises(DataError, match="does not exist"):
        data.read_table(tmp_path / "missing.csv")
    tsv = tmp_path / "table.tsv"
    tsv.write_bytes(b"text\tlabel\ncaf\xe9\t1\n")  # Latin-1 byte: decoded with replacement
    frame = data.read_table(tsv, required=["text", "label"])
    assert frame["text"][0] == "caf\ufffd"


def test_list_class_folders_counts_what_it_skips(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.png").write_bytes(b"x")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    listing = data.list_class_folders(tmp_path, [".png"])
    assert listing.class_names == ["cat", "dog"]
    assert list(listing.labels) == [0, 1]
    assert listing.skipped.counts["not one of ['.png']"] == 1
    assert listing.skipped.counts["empty class folder"] == 1


def test_list_class_folders_rejects_bad_layouts(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        data.list_class_folders(tmp_path / "missing", [".png"])
    with pytest.raises(DataError, match="has no subfolders"):
        data.list_class_folders(tmp_path, [".png"])
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.png").write_bytes(b"x")
    with pytest.raises(DataError, match=r"at least 2 class subfolders.*received 1 \(\['only'\]\)"):
        data.list_class_folders(tmp_path, [".png"])


def test_find_dataset_dir_looks_under_domain_and_name(tmp_path, monkeypatch):
    target = tmp_path / "vision" / "fashion-mnist"
    target.mkdir(parents=True)
    (target / "train.gz").write_bytes(b"")
    assert data.find_dataset_dir(tmp_path, ["fashion-mnist"], ["train*"], "vision") == target
    assert data.find_dataset_dir(target, ["fashion-mnist"], ["train*"], "vision") == target
    with pytest.raises(data.SourceUnavailable, match="holds"):
        data.find_dataset_dir(tmp_path, ["mnist"], ["train*"], "vision")
    monkeypatch.delenv("KERAS_APPLIED_DATA_DIR", raising=False)
    with pytest.raises(data.SourceUnavailable, match="no local folder given"):
        data.find_dataset_dir(None, ["mnist"], ["train*"])


def test_resolve_tries_sources_in_order_and_explains_failure():
    def unavailable(reason):
        def load():
            raise data.SourceUnavailable(reason)
        return load

    found, kind = data.resolve("toy", [data.Source("local", unavailable("no folder."), "give one"), data.Source("bundled", lambda: 42, "")])
    assert (found, kind) == (42, "bundled")
    with pytest.raises(DataNotFoundError, match=r"(?s)'toy'.*local: no folder. To use it: give one.*online: offline. To use it: connect"):
        data.resolve("toy", [data.Source("local", unavailable("no folder."), "give one"), data.Source("online", unavailable("offline."), "connect")])


def test_offline_sources_fail_fast():
    assert not data.is_online()  # the test session sets KERAS_APPLIED_OFFLINE=1
    start = time.perf_counter()
    with pytest.raises(data.SourceUnavailable, match="not prepared locally.*unreachable"):
        data.load_tfds("mnist", split="train")
    with pytest.raises(data.SourceUnavailable, match="not cached"):
        data.download("https://example.org/file.csv", None, cache_subdir="test")
    assert time.perf_counter() - start < 30


def test_load_tfds_reads_prepared_data_offline():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        dataset = data.load_tfds("mnist", split="train", as_supervised=True)
        assert len(list(dataset)) == 6


@pytest.mark.parametrize("seed", [0, 1])
def test_splits_are_seeded_disjoint_and_complete(seed):
    parts = data.split_indices(103, [0.8, 0.1, 0.1], seed)
    assert [len(p) for p in parts] == [82, 11, 10]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(103))
    again = data.split_indices(103, [0.8, 0.1, 0.1], seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    with pytest.raises(ValueError, match="sum to 1"):
        data.split_indices(10, [0.5, 0.4], seed)


def test_stratified_split_keeps_class_shares():
    labels = np.array([0] * 90 + [1] * 10)
    train, test = data.stratified_split_indices(labels, [0.8, 0.2], seed=0)
    assert np.sum(labels[test] == 1) == 2 and np.sum(labels[test] == 0) == 18
    assert not set(train) & set(test)


def test_make_pipeline_batches_and_maps():
    x, y = np.arange(10, dtype=np.float32), np.arange(10)
    dataset = data.make_pipeline((x, y), batch_size=4, shuffle=True, seed=0, map_fn=lambda a, b: (a * 2, b))
    batches = list(dataset.as_numpy_iterator())
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    values = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(values, labels * 2)
    assert sorted(labels) == list(range(10))


def test_skipped_counts_and_examples():
    skipped = data.Skipped()
    for i in range(7):
        skipped.add("bad row", f"row {i}")
    assert skipped.total() == 7 and len(skipped.to_dict()["bad row"]["examples"]) == 5


def test_shipped_data_is_found_after_the_users_folder(tmp_path, monkeypatch):
    """A fresh clone reads data/<domain>/<name>/; a folder the user names still comes first."""
    from common import paths

    monkeypatch.delenv(paths.NO_SHIPPED_DATA_ENV, raising=False)
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    shipped = paths.SHIPPED_DATA_DIR / "vision" / "fashion-mnist"
    assert shipped.is_dir(), "the repository ships Fashion-MNIST under data/vision/fashion-mnist"
    found = data.find_dataset_dir(None, ["fashion-mnist"], ["train-images-idx3-ubyte*"], "vision")
    assert found == shipped
    # The user's folder wins when it holds the files.
    own = tmp_path / "vision" / "fashion-mnist"
    own.mkdir(parents=True)
    (own / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert data.find_dataset_dir(tmp_path, ["fashion-mnist"], ["train-images-idx3-ubyte*"], "vision") == own
    # ... and when it does not, the shipped copy is used (with a warning), not an error.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert data.find_dataset_dir(empty, ["fashion-mnist"], ["train-images-idx3-ubyte*"], "vision") == shipped
    # Hidden on request: then the error names what was searched.
    monkeypatch.setenv(paths.NO_SHIPPED_DATA_ENV, "1")
    with pytest.raises(data.SourceUnavailable, match="does not exist"):
        data.find_dataset_dir(tmp_path / "missing", ["fashion-mnist"], ["train-images-idx3-ubyte*"], "vision")


def test_every_shipped_dataset_has_a_manifest():
    from common import paths

    folders = [p for p in paths.SHIPPED_DATA_DIR.glob("*/*") if p.is_dir()]
    assert len(folders) >= 11
    for folder in folders:
        assert (folder / "MANIFEST.md").is_file(), f"{folder} has no MANIFEST.md"
