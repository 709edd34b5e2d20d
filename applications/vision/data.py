"""Image datasets -> uint8 arrays -> tf.data pipelines.

Every source ends as :class:`ImageData`: uint8 images shaped [N, height, width, channels] and
int32 labels for train / validation / test, plus class names. The model itself rescales pixel
values, so the saved model takes raw images and ``predict.py`` needs no preprocessing of its own.

Sources, in the order of CONVENTIONS.md:

- Fashion-MNIST / MNIST: IDX files (``train-images-idx3-ubyte[.gz]`` ...) in a local folder;
  TFDS ``fashion_mnist`` / ``mnist`` online.
- CIFAR-10: the ``cifar-10-batches-py`` folder locally; TFDS ``cifar10`` online.
- a folder of class subfolders (``root/<class>/<image>``); a ``train/`` + ``test/`` pair of such
  folders keeps that split. Unreadable files are skipped and counted; images of other sizes or
  channel counts are converted (and counted).
- scikit-learn's bundled 8x8 digits: the offline default that needs no files.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
from collections import Counter
from pathlib import Path

import numpy as np

from common import data as data_lib
from common.data import Skipped, Source
from common.errors import DataError

log = logging.getLogger("keras_applied.vision")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DIGIT_CLASSES = [str(d) for d in range(10)]
# Classes that stay the same class when mirrored left-right (flip augmentation is safe).
MIRROR_SAFE = {"fashion_mnist": True, "cifar10": True, "mnist": False, "digits": False, "folder": True}
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclasses.dataclass
class ImageData:
    """Images (uint8, [N, H, W, C]) and labels (int32, [N]) for each split."""

    name: str
    source: str  # which source provided it: "local", "online" or "bundled"
    class_names: list[str]
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    mirror_safe: bool
    skipped: Skipped = dataclasses.field(default_factory=Skipped)  # files not used
    adjusted: Skipped = dataclasses.field(default_factory=data_lib.adjusted)  # files converted to fit

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train[0].shape[1:])


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------
def _idx_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    raise DataError(f"Expected {stem}[.gz] in {folder}.")


def read_idx_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The MNIST-layout IDX files of a folder as {'train': (x, y), 'test': (x, y)}."""
    splits = {}
    for split, (images_stem, labels_stem) in IDX_FILES.items():
        images = data_lib.read_idx(_idx_file(folder, images_stem))
        labels = data_lib.read_idx(_idx_file(folder, labels_stem)).astype(np.int32)
        if len(images) != len(labels):
            raise DataError(f"{folder}: {len(images)} {split} images but {len(labels)} labels.")
        splits[split] = (images[..., None], labels)
    return splits


def read_cifar10_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The ``cifar-10-batches-py`` pickles (keras/Toronto layout) as uint8 NHWC arrays."""

    def load(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        images, labels = [], []
        for name in names:
            path = folder / name
            try:
                with open(path, "rb") as handle:
                    batch = pickle.load(handle, encoding="bytes")
                images.append(batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                labels += batch[b"labels"]
            except OSError as error:
                raise data_lib.unreadable(path, error, "a CIFAR-10 python batch (cifar-10-batches-py)") from error
            except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError) as error:
                raise DataError(f"{str(path)!r} is not a CIFAR-10 python batch (a pickled dict with b'data' "
                                f"[N, 3072] and b'labels'): {type(error).__name__}: {error}") from error
        return np.concatenate(images).astype(np.uint8), np.asarray(labels, dtype=np.int32)

    return {"train": load([f"data_batch_{i}" for i in range(1, 6)]), "test": load(["test_batch"])}


def load_image(path: str | Path, size: tuple[int, int] | None, channels: int) -> np.ndarray:
    """One image file as uint8 [H, W, channels], resized to ``size`` (height, width) if given.

    Raises :class:`DataError` for a file that is not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"{path} is not a readable image ({error}).") from error
    return array[..., None] if channels == 1 else array


def _probe_image(path: Path) -> tuple[tuple[int, int], int] | str:
    """((height, width), channels) of an image file without decoding it, or why it cannot be used."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            channels = 1 if image.mode in ("1", "L", "I", "I;16", "F") else 3
            return (image.size[1], image.size[0]), channels
    except PermissionError as error:
        return f"unreadable: {data_lib.describe_os_error(error)}"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "unreadable image"


def read_image_folder(root: Path, image_size: int) -> tuple[np.ndarray, np.ndarray, list[str], Skipped, Skipped]:
    """A folder of class subfolders as uint8 arrays.

    The target size is ``image_size`` (square) or, when 0, the most common size in the folder;
    the channel count is the most common one (grayscale -> 1, anything else -> 3). Files that are
    not readable images are skipped and counted; others are converted and counted.
    """
    listing = data_lib.list_class_folders(root, IMAGE_EXTENSIONS)
    skipped, adjusted = listing.skipped, data_lib.adjusted()
    probes = {}
    for path in listing.files:
        probe = _probe_image(path)
        if isinstance(probe, str):
            skipped.add(probe, path.relative_to(root))
        else:
            probes[path] = probe
    if not probes:
        raise DataError(f"{root}: none of the {len(listing.files)} image files could be read.")
    size = (image_size, image_size) if image_size else Counter(s for s, _ in probes.values()).most_common(1)[0][0]
    channels = Counter(c for _, c in probes.values()).most_common(1)[0][0]
    images, labels = [], []
    for path, label in zip(listing.files, listing.labels):
        if path not in probes:
            continue
        original_size, original_channels = probes[path]
        if original_size != size:
            adjusted.add(f"resized to {size[0]}x{size[1]}", path.relative_to(root))
        if original_channels != channels:
            adjusted.add(f"converted to {channels} channel(s)", path.relative_to(root))
        images.append(load_image(path, size, channels))
        labels.append(label)
    skipped.log(f"images under {root}")
    adjusted.log(f"images under {root} (converted, still used)")
    return np.stack(images), np.asarray(labels, np.int32), listing.class_names, skipped, adjusted


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
def _tfds_arrays(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import tensorflow_datasets as tfds

    loaded = data_lib.load_tfds(name, split=["train", "test"], as_supervised=True, batch_size=-1)
    return {split: tuple(map(np.asarray, tfds.as_numpy(ds))) for split, ds in zip(("train", "test"), loaded)}


def _mnist_like_sources(name: str, data_dir: str | None) -> list[Source]:
    folder_names = {"fashion_mnist": ["fashion-mnist", "fashion_mnist"], "mnist": ["mnist"]}[name]
    required = [f"{stem}*" for pair in IDX_FILES.values() for stem in pair]
    return [
        Source(
            "local",
            lambda: read_idx_folder(data_lib.find_dataset_dir(data_dir, folder_names, required, "vision")),
            f"point --data-dir at a folder with the four IDX files ({', '.join(required)}).",
        ),
        Source("online", lambda: _tfds_arrays(name), f"be online for TFDS {name!r} (cached afterwards)."),
    ]


def _cifar10_sources(data_dir: str | None) -> list[Source]:
    return [
        Source(
            "local",
            lambda: read_cifar10_folder(
                data_lib.find_dataset_dir(data_dir, ["cifar-10-batches-py", "cifar10"], ["data_batch_1", "test_batch"], "vision")
            ),
            "point --data-dir at the extracted cifar-10-batches-py folder.",
        ),
        Source("online", lambda: _tfds_arrays("cifar10"), "be online for TFDS 'cifar10'."),
    ]


def _digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 0..16 grey levels -> 0..255, shaped like any other image dataset.
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return {"all": (images, bunch.target.astype(np.int32))}


def _split_off(
    arrays: tuple[np.ndarray, np.ndarray], fraction: float, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    keep, held_out = data_lib.stratified_split_indices(arrays[1], [1 - fraction, fraction], seed)
    return (arrays[0][keep], arrays[1][keep]), (arrays[0][held_out], arrays[1][held_out])


def load(
    dataset: str,
    *,
    data_dir: str | None = None,
    seed: int = 0,
    validation_fraction: float = 0.1,
    image_size: int = 0,
    max_train_examples: int = 0,
) -> ImageData:
    """Resolve ``dataset`` to arrays and split it into train / validation / test.

    ``auto`` means Fashion-MNIST from the first source that has it, else the bundled digits.
    """
    if dataset == "auto":
        try:
            return load("fashion_mnist", data_dir=data_dir, seed=seed, validation_fraction=validation_fraction,
                        image_size=image_size, max_train_examples=max_train_examples)
        except data_lib.DataNotFoundError as why:
            log.warning("Fashion-MNIST not found (%s); using scikit-learn's bundled digits.", why)
            dataset = "digits"

    skipped, adjusted = Skipped(), data_lib.adjusted()
    if dataset in ("fashion_mnist", "mnist"):
        splits, source = data_lib.resolve(dataset, _mnist_like_sources(dataset, data_dir))
        names = FASHION_MNIST_CLASSES if dataset == "fashion_mnist" else DIGIT_CLASSES
    elif dataset == "cifar10":
        splits, source = data_lib.resolve(dataset, _cifar10_sources(data_dir))
        names = CIFAR10_CLASSES
    elif dataset == "digits":
        splits, source = _digits(), "bundled"
        names = DIGIT_CLASSES
    elif dataset == "folder":
        root = data_lib.paths.data_dir(data_dir)
        if root is None:
            raise DataError("--dataset folder needs --data-dir pointing at a folder of class subfolders.")
        splits, names = {}, None
        parts = {"train": root / "train", "test": root / "test"}
        layout = parts if all(data_lib.is_dir(p) for p in parts.values()) else {"all": root}
        for split, folder in layout.items():
            images, labels, found, split_skipped, split_adjusted = read_image_folder(folder, image_size)
            if names is not None and found != names:
                raise DataError(f"{root}: train/ has classes {names} but test/ has {found}; expected the same.")
            names = found
            image_size = image_size or images.shape[1]
            splits[split] = (images, labels)
            skipped.merge(split_skipped)
            adjusted.merge(split_adjusted)
        source = "local"
    else:
        raise DataError(f"Unknown vision dataset {dataset!r}; expected one of {['auto', 'fashion_mnist', 'mnist', 'cifar10', 'digits', 'folder']}.")

    if "all" in splits:  # no official test split: hold out 20% (stratified, seeded)
        splits["train"], splits["test"] = _split_off(splits.pop("all"), 0.2, seed)
    train, validation = _split_off(splits["train"], validation_fraction, seed + 1)
    if max_train_examples and len(train[1]) > max_train_examples:
        chosen = np.sort(np.random.default_rng(seed).choice(len(train[1]), max_train_examples, replace=False))
        train = (train[0][chosen], train[1][chosen])
        validation = tuple(a[: max(max_train_examples // 4, 1)] for a in validation)
        splits["test"] = tuple(a[: max(max_train_examples // 2, 1)] for a in splits["test"])
    sizes = {"train": len(train[1]), "validation": len(validation[1]), "test": len(splits["test"][1])}
    empty = [split for split, size in sizes.items() if size == 0]
    if empty:
        raise DataError(
            f"{dataset}: {sum(sizes.values())} usable images in {len(names)} classes leave the {' and '.join(empty)} "
            f"split(s) empty ({' / '.join(f'{k} {v}' for k, v in sizes.items())}); expected enough images per class "
            "for a stratified train / validation / test split (at least about 10 each)."
        )
    result = ImageData(dataset, source, list(names), train, validation, splits["test"], MIRROR_SAFE[dataset], skipped, adjusted)
    if image_size and result.image_shape[:2] != (image_size, image_size):
        result = _resize_all(result, image_size)
    log.info("%s (%s): %d train / %d validation / %d test images of shape %s", dataset, source,
             len(train[1]), len(validation[1]), len(result.test[1]), result.image_shape)
    return result


def _resize_all(data: ImageData, size: int) -> ImageData:
    """Resize every split to size x size (bilinear), for --image-size on array datasets."""
    import tensorflow as tf

    def resize(arrays: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        images = tf.image.resize(arrays[0], (size, size), antialias=True)
        return np.clip(np.round(images.numpy()), 0, 255).astype(np.uint8), arrays[1]

    return dataclasses.replace(
        data, train=resize(data.train), validation=resize(data.validation), test=resize(data.test)
    )


# ---------------------------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------------------------
def random_shift_and_flip(image, label, *, mirror_safe: bool, max_shift: int):
    """Random translation by up to ``max_shift`` pixels (zero padding, then a random crop back to
    the original size), and a random left-right flip where the classes allow it. Per example."""
    import tensorflow as tf

    height, width = image.shape[0], image.shape[1]
    padded = tf.pad(image, [[max_shift, max_shift], [max_shift, max_shift], [0, 0]])
    image = tf.image.random_crop(padded, tf.shape(image))
    if mirror_safe:
        image = tf.image.random_flip_left_right(image)
    return tf.ensure_shape(image, (height, width, image.shape[-1])), label


def pipelines(data: ImageData, *, num_classes: int, batch_size: int, seed: int, augment: bool):
    """(train, validation, test) tf.data pipelines of (0..255 float images, one-hot labels).

    Labels are one-hot so the loss can use label smoothing. Augmentation (training only) shifts
    images by up to 10% of their side and mirrors them where :data:`MIRROR_SAFE` allows.
    """
    import functools

    import tensorflow as tf

    def to_float(images, labels):
        return tf.cast(images, tf.float32), tf.one_hot(labels, num_classes)

    augment_fn = None
    if augment:
        shift = max(1, round(0.1 * data.image_shape[0]))
        augment_fn = functools.partial(random_shift_and_flip, mirror_safe=data.mirror_safe, max_shift=shift)
    train = data_lib.make_pipeline(
        data.train, batch_size=batch_size, shuffle=True, seed=seed, map_fn=to_float, augment_fn=augment_fn,
    )
    validation = data_lib.make_pipeline(data.validation, batch_size=batch_size, map_fn=to_float)
    test = data_lib.make_pipeline(data.test, batch_size=batch_size, map_fn=to_float)
    return train, validation, test
