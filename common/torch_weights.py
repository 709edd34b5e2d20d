"""Read a PyTorch state dict (``.pth``/``.pt``) into numpy arrays, without importing torch.

``torch.save`` writes one of two layouts, and both are read here:

- the zip layout (torch >= 1.6): ``<prefix>/data.pkl`` pickles the dict, and each tensor's
  storage is a raw little-endian byte string in ``<prefix>/data/<key>``;
- the legacy layout (older torch, or ``_use_new_zipfile_serialization=False``): five pickles in
  a row (magic number, protocol version, system info, the dict, the list of storage keys), then
  each storage in that order as an int64 element count followed by its raw bytes.

A pickle can name any importable callable and so run arbitrary code when it is loaded. The
unpickler here resolves only the names a state dict needs (tensor rebuilding, the storage types,
``collections.OrderedDict``), each implemented with numpy; any other name is refused with a
:class:`~common.errors.ModelFileError` that names the file and the global.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import os
import pickle
import struct
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from common.errors import ModelFileError

# The legacy layout's first two pickles (torch/serialization.py: MAGIC_NUMBER, PROTOCOL_VERSION).
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

# torch.<Name>Storage -> numpy element type. BFloat16 needs ml_dtypes (installed with jax/TF).
STORAGE_DTYPES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}


@dataclasses.dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.<name>``: only its element type matters."""

    name: str

    def dtype(self, path: Path) -> np.dtype:
        if STORAGE_DTYPES[self.name] == "bfloat16":
            try:
                import ml_dtypes
            except ImportError as error:
                raise ModelFileError(
                    f"{path}: holds bfloat16 tensors, which need the 'ml_dtypes' package "
                    "(pip install ml_dtypes)."
                ) from error
            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(STORAGE_DTYPES[self.name])


@dataclasses.dataclass(frozen=True)
class _StorageRef:
    """A persistent id resolved: which storage, its element type and its length in elements."""

    key: str
    storage_type: _StorageType
    numel: int
    # Legacy layout only: a storage that is a view into ``key`` starting at this element.
    view_offset: int = 0


@dataclasses.dataclass(frozen=True)
class _TensorRef:
    """``torch._utils._rebuild_tensor_v2``'s arguments, kept until the storages have been read
    (the legacy layout stores them after the pickle)."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return _TensorRef(storage, int(storage_offset), tuple(int(n) for n in size), tuple(int(n) for n in stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data  # an nn.Parameter is its tensor for our purposes


def _allowed_globals() -> dict[tuple[str, str], object]:
    allowed: dict[tuple[str, str], object] = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }
    for name in STORAGE_DTYPES:
        allowed[("torch", name)] = _StorageType(name)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals a state dict needs; storages become :class:`_StorageRef`."""

    def __init__(self, file, path: Path, legacy: bool):
        super().__init__(file)
        self._path = path
        self._legacy = legacy
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ModelFileError(
                f"{self._path}: refused to load the global '{module}.{name}'. Only PyTorch state "
                "dicts of tensors can be read (allowed: "
                f"{sorted(f'{m}.{n}' for m, n in self._allowed)}); a file that needs other code "
                "to load is either a full pickled model or not safe to open."
            ) from None

    def persistent_load(self, pid):
        # Zip: ('storage', type, key, location, numel); legacy adds view metadata:
        # (view_key, offset, view_numel) or None.
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise ModelFileError(f"{self._path}: unexpected persistent id {str(pid)[:120]!r}; not a tensor storage.")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        view = pid[5] if self._legacy and len(pid) > 5 else None
        if view is not None:
            _, view_offset, view_numel = view
            return _StorageRef(key, storage_type, int(view_numel), int(view_offset))
        return _StorageRef(key, storage_type, numel)


def _unpickle(file, path: Path, legacy: bool):
    try:
        return _RestrictedUnpickler(file, path, legacy).load()
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 - a corrupt pickle raises many kinds
        raise ModelFileError(f"{path}: not a readable PyTorch state dict ({type(error).__name__}: {error}).") from error


def _materialize(value, storages: Mapping[str, np.ndarray], path: Path):
    """Replace every :class:`_TensorRef` in ``value`` (dicts, lists, tuples) by a numpy array."""
    if isinstance(value, _TensorRef):
        return _tensor(value, storages, path)
    if isinstance(value, Mapping):
        return collections.OrderedDict((key, _materialize(item, storages, path)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_materialize(item, storages, path) for item in value)
    return value


def _tensor(ref: _TensorRef, storages: Mapping[str, np.ndarray], path: Path) -> np.ndarray:
    storage = storages[ref.storage.key][ref.storage.view_offset:ref.storage.view_offset + ref.storage.numel]
    if len(ref.shape) != len(ref.stride) or any(n < 0 for n in ref.shape + ref.stride) or ref.offset < 0:
        raise ModelFileError(f"{path}: a tensor has an invalid layout (shape {ref.shape}, stride {ref.stride}).")
    if 0 in ref.shape:
        return np.zeros(ref.shape, storage.dtype)
    # as_strided reads whatever memory the strides point at: check the view stays in the storage.
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride))
    if last >= storage.size:
        raise ModelFileError(
            f"{path}: a tensor of shape {ref.shape} (stride {ref.stride}, offset {ref.offset}) reaches "
            f"element {last} of a storage of {storage.size}; the file is truncated or corrupt."
        )
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[ref.offset:], shape=ref.shape, strides=tuple(s * itemsize for s in ref.stride), writeable=False
    )
    # A contiguous copy in native byte order that owns its memory.
    return np.array(view, dtype=view.dtype.newbyteorder("="), order="C")


def _read_zip(path: Path) -> object:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ModelFileError(
                f"{path}: a zip file without exactly one '<folder>/data.pkl' ({len(pickles)} found); "
                "not a PyTorch state dict."
            )
        prefix = pickles[0][: -len("data.pkl")]
        big_endian = f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder").strip() == b"big"
        result = _unpickle(io.BytesIO(archive.read(pickles[0])), path, legacy=False)
        storages: dict[str, np.ndarray] = {}
        for ref in _storage_refs(result):
            if ref.key in storages:
                continue
            member = f"{prefix}data/{ref.key}"
            if member not in names:
                raise ModelFileError(f"{path}: the storage '{member}' named in data.pkl is missing.")
            dtype = ref.storage_type.dtype(path).newbyteorder(">" if big_endian else "<")
            storages[ref.key] = np.frombuffer(archive.read(member), dtype=dtype)
    return _materialize(result, storages, path)


def _read_legacy(path: Path) -> object:
    with open(path, "rb") as file:
        try:
            magic = pickle.load(file)  # plain ints: no globals involved
            protocol = pickle.load(file)
        except Exception as error:  # noqa: BLE001
            raise ModelFileError(f"{path}: neither a zip nor a legacy PyTorch file ({type(error).__name__}).") from error
        if magic != LEGACY_MAGIC_NUMBER or protocol != LEGACY_PROTOCOL_VERSION:
            raise ModelFileError(
                f"{path}: not a PyTorch state dict (magic number {magic!r}, protocol {protocol!r}; "
                f"expected {LEGACY_MAGIC_NUMBER:#x} and {LEGACY_PROTOCOL_VERSION})."
            )
        system_info = _unpickle(file, path, legacy=True)
        little_endian = not isinstance(system_info, Mapping) or system_info.get("little_endian", True)
        result = _unpickle(file, path, legacy=True)
        keys = _unpickle(file, path, legacy=True)
        declared = {}
        for ref in _storage_refs(result):
            declared.setdefault(ref.key, ref)
        storages: dict[str, np.ndarray] = {}
        for key in keys:
            key = str(key)
            header = file.read(8)
            if len(header) != 8:
                raise ModelFileError(f"{path}: ends before the storage '{key}'; the file is truncated.")
            (numel,) = struct.unpack("<q" if little_endian else ">q", header)
            if key not in declared:
                raise ModelFileError(f"{path}: the storage '{key}' is listed but used by no tensor.")
            dtype = declared[key].storage_type.dtype(path).newbyteorder("<" if little_endian else ">")
            data = file.read(numel * dtype.itemsize)
            if len(data) != numel * dtype.itemsize:
                raise ModelFileError(f"{path}: ends inside the storage '{key}'; the file is truncated.")
            storages[key] = np.frombuffer(data, dtype=dtype)
        missing = sorted(set(declared) - set(storages))
        if missing:
            raise ModelFileError(f"{path}: {len(missing)} storages used by tensors are not in the file ({missing[:5]}).")
    return _materialize(result, storages, path)


def _storage_refs(value):
    if isinstance(value, _TensorRef):
        yield value.storage
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _storage_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _storage_refs(item)


def load_state_dict(path: str | os.PathLike) -> collections.OrderedDict[str, np.ndarray]:
    """The tensors of a PyTorch state dict file, by name, as numpy arrays (in the file's order).

    A checkpoint that wraps its state dict (``{'state_dict': {...}, ...}`` or ``{'model': ...}``)
    is unwrapped. Raises :class:`ModelFileError` for a missing, corrupt or unsafe file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such PyTorch weights file.")
    if zipfile.is_zipfile(path):
        result = _read_zip(path)
    elif tarfile.is_tarfile(path):
        raise ModelFileError(f"{path}: a tar-format file from PyTorch < 0.4, which is not supported; re-save it.")
    else:
        result = _read_legacy(path)
    return _state_dict_of(result, path)


def _state_dict_of(result, path: Path) -> collections.OrderedDict[str, np.ndarray]:
    if isinstance(result, Mapping) and result and all(isinstance(v, np.ndarray) for v in result.values()):
        return collections.OrderedDict(result)
    if isinstance(result, Mapping):
        for key in ("state_dict", "model"):
            if key in result:
                return _state_dict_of(result[key], path)
    raise ModelFileError(
        f"{path}: expected a state dict (names -> tensors); received a {type(result).__name__}"
        + (f" with keys {list(result)[:8]}." if isinstance(result, Mapping) else ".")
    )
