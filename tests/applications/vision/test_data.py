"""Vision data sources, readers and pipelines on tiny data (and the real Fashion-MNIST files)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from applications.vision import data
from common.errors import DataError, DataNotFoundError
from tests.helpers import write_idx


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split, count in (("train", 60), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 255, (count, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(count) % 10)
    return tmp_path


def test_idx_folder_loads_with_official_test_split(idx_folder):
    images = data.load("fashion_mnist", data_dir=str(idx_folder), validation_fraction=0.2)
    assert images.source == "local" and images.image_shape == (28, 28, 1)
    assert len(images.train[1]) == 50 and len(images.validation[1]) == 10 and len(images.test[1]) == 20
    assert images.train[0].dtype == np.uint8 and images.class_names[0] == "T-shirt/top"


def test_missing_dataset_offline_says_what_to_provide(tmp_path):
    with pytest.raises(DataNotFoundError, match="(?s)local:.*IDX files.*online:.*unreachable"):
        data.load("mnist", data_dir=str(tmp_path))


def test_auto_falls_back_to_the_bundled_digits(tmp_path):
    images = data.load("auto", data_dir=str(tmp_path))
    assert images.name == "digits" and images.source == "bundled" and images.image_shape == (8, 8, 1)
    assert len(images.train[1]) + len(images.validation[1]) + len(images.test[1]) == 1797
    assert images.train[0].max() > 200  # rescaled from 0..16 grey levels


def write_image(path, size, mode="L", value=128):
    Image.new(mode, size, color=value if mode == "L" else (value, 0, 0)).save(path)


def test_image_folder_skips_unreadable_and_converts_odd_images(tmp_path):
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(5):
            write_image(tmp_path / name / f"{i}.png", (16, 12))
    write_image(tmp_path / "dogs" / "big.png", (40, 40))  # other size: resized
    write_image(tmp_path / "dogs" / "color.png", (16, 12), mode="RGB")  # other channels: converted
    (tmp_path / "cats" / "broken.png").write_bytes(b"not really a png")  # skipped
    (tmp_path / "cats" / "readme.txt").write_text("not an image")  # skipped
    images, labels, names, skipped, adjusted = data.read_image_folder(tmp_path, image_size=0)
    assert names == ["cats", "dogs"] and images.shape == (12, 12, 16, 1)
    assert skipped.counts["unreadable image"] == 1 and skipped.total() == 2
    assert adjusted.counts["resized to 12x16"] == 1 and adjusted.counts["converted to 1 channel(s)"] == 1


def test_folder_dataset_keeps_a_train_test_layout(tmp_path):
    for split, count in (("train", 10), ("test", 4)):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(count):
                write_image(tmp_path / split / name / f"{i}.png", (10, 10), value=40 if name == "a" else 200)
    images = data.load("folder", data_dir=str(tmp_path), validation_fraction=0.2)
    assert len(images.test[1]) == 8 and len(images.train[1]) + len(images.validation[1]) == 20
    assert images.class_names == ["a", "b"]


def test_folder_dataset_rejects_a_single_class(tmp_path):
    (tmp_path / "only").mkdir()
    write_image(tmp_path / "only" / "0.png", (8, 8))
    with pytest.raises(DataError, match="at least 2 class subfolders"):
        data.load("folder", data_dir=str(tmp_path))


def test_pipelines_yield_float_images_and_one_hot_labels():
    images = data.load("digits", max_train_examples=100)
    train, validation, test = data.pipelines(images, num_classes=10, batch_size=16, seed=0, augment=True)
    x, y = next(iter(train))
    assert tuple(x.shape) == (16, 8, 8, 1) and x.dtype.name == "float32"
    assert tuple(y.shape) == (16, 10) and np.allclose(y.numpy().sum(axis=1), 1)
    assert float(x.numpy().max()) > 1.0  # raw 0..255 values: the model rescales
    assert sum(int(b[0].shape[0]) for b in test) == len(images.test[1])


def test_real_fashion_mnist_loads(real_data_dir):
    images = data.load("fashion_mnist", data_dir=str(real_data_dir))
    assert (len(images.train[1]), len(images.validation[1]), len(images.test[1])) == (54000, 6000, 10000)
    assert np.bincount(images.test[1]).tolist() == [1000] * 10
