"""PyTorch state dicts (`.pth`) read without PyTorch, and written as `.npz`.

LPIPS's published weights are PyTorch files: the linear heads (the
PerceptualSimilarity repository's `lpips/weights/v0.1/alex.pth`, `vgg.pth`)
and torchvision's backbones (`alexnet-owt-7be5be79.pth`,
`vgg16-397923af.pth`). This module turns any of them into an `.npz` with one
array per state-dict entry, under the entry's own name and in PyTorch's
layout (a convolution's weight [out, in, kh, kw]); `lpips.py` reads those.

  python -m logit_gan.analyses.torch_weights SOURCE.pth DEST.npz \\
      [--only_prefix=features.]

Both of torch.save's formats are read: the legacy one (PyTorch < 1.6; all
four files above are in it) and the zip one (PyTorch >= 1.6). Unpickling is
restricted to what a state dict holds (ordered dicts, tensors, storages), so
a file cannot run code; anything else is refused with its name.
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import sys
import zipfile
from typing import BinaryIO, Callable, Optional, Sequence

import numpy as np

# torch.save's legacy stream starts with this number, then the version.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_VERSION = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_}


class _StorageType:
  """Stands for `torch.FloatStorage` etc. in the pickle."""

  def __init__(self, name: str):
    self.name, self.dtype = name, np.dtype(STORAGE_DTYPES[name])


class _Storage:
  """A flat buffer; `data` is filled in once the file has been read."""

  def __init__(self, dtype: np.dtype, numel: int):
    self.dtype, self.numel = dtype, numel
    self.data: Optional[np.ndarray] = None


class _TensorRecord:
  """A tensor to cut out of its storage after unpickling."""

  def __init__(self, storage, offset: int, size, stride):
    self.storage, self.offset = storage, offset
    self.size, self.stride = tuple(size), tuple(stride)

  def array(self) -> np.ndarray:
    storage, offset = self.storage, self.offset
    if isinstance(storage, tuple):  # A legacy view: (root, view offset).
      storage, view_offset = storage
      offset += view_offset
    flat = storage.data
    last = offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
    if any(n == 0 for n in self.size):
      return np.zeros(self.size, flat.dtype)
    if offset < 0 or last >= flat.size:
      raise ValueError(f"A tensor of size {self.size} reaches element {last} "
                       f"of a storage of {flat.size}: the file is corrupt.")
    strides = [s * flat.itemsize for s in self.stride]
    return np.lib.stride_tricks.as_strided(
        flat[offset:], self.size, strides).copy()


def _rebuild_tensor(storage, offset, size, stride, *unused):
  return _TensorRecord(storage, offset, size, stride)


def _rebuild_parameter(data, *unused):
  return data


_ALLOWED_GLOBALS: dict[tuple[str, str], Callable] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _StateDictUnpickler(pickle.Unpickler):
  """Unpickles a state dict; storages come from `persistent_load`."""

  def __init__(self, file: BinaryIO, persistent_load: Callable):
    super().__init__(file, encoding="latin1")
    self._persistent_load = persistent_load

  def persistent_load(self, saved_id):
    return self._persistent_load(saved_id)

  def find_class(self, module: str, name: str):
    if module == "torch" and name in STORAGE_DTYPES:
      return _StorageType(name)
    if (module, name) in _ALLOWED_GLOBALS:
      return _ALLOWED_GLOBALS[(module, name)]
    raise pickle.UnpicklingError(
        f"{module}.{name} is not part of a PyTorch state dict of tensors; "
        "refusing to load it. Save the model's state_dict() instead.")


def _legacy_storage(storages: dict, saved_id) -> object:
  """('storage', type, root_key, location, numel, view_metadata)."""
  _, storage_type, key, _, numel, view = saved_id
  if key not in storages:
    storages[key] = _Storage(storage_type.dtype, numel)
  if view is None:
    return storages[key]
  _, view_offset, _ = view
  return (storages[key], view_offset)


def _read_legacy(file: BinaryIO) -> object:
  if pickle.load(file) != LEGACY_MAGIC:
    raise ValueError("not a torch.save file (wrong magic number)")
  version = pickle.load(file)
  if version != LEGACY_VERSION:
    raise ValueError(f"torch.save protocol {version}; only "
                     f"{LEGACY_VERSION} is known")
  if not pickle.load(file).get("little_endian", True):
    raise ValueError("big-endian torch.save files are not supported")
  storages: dict[str, _Storage] = {}
  result = _StateDictUnpickler(
      file, lambda saved_id: _legacy_storage(storages, saved_id)).load()
  for key in pickle.load(file):
    storage = storages[key]
    numel = int(np.frombuffer(file.read(8), "<i8")[0])
    raw = file.read(numel * storage.dtype.itemsize)
    if len(raw) != numel * storage.dtype.itemsize:
      raise ValueError("the file ends inside a storage (truncated download?)")
    storage.data = np.frombuffer(raw, storage.dtype.newbyteorder("<"))
  return result


def _read_zip(archive: zipfile.ZipFile) -> object:
  pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
  if not pickles:
    raise ValueError("a zip file without data.pkl is not a torch.save file")
  prefix = pickles[0][:-len("data.pkl")]

  def storage(saved_id):  # ('storage', type, key, location, numel)
    storage_type, key = saved_id[1], saved_id[2]
    raw = archive.read(f"{prefix}data/{key}")
    result = _Storage(storage_type.dtype, len(raw) // storage_type.dtype.itemsize)
    result.data = np.frombuffer(raw, storage_type.dtype.newbyteorder("<"))
    return result

  with archive.open(pickles[0]) as file:
    return _StateDictUnpickler(file, storage).load()


def _flatten(value, prefix: str, out: dict[str, np.ndarray]) -> None:
  if isinstance(value, _TensorRecord):
    out[prefix] = value.array()
  elif isinstance(value, dict):
    for key, item in value.items():
      _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """{name: array} of the tensors in a torch.save file (nested dicts are
  joined with "."; entries that are not tensors are left out). Arrays keep
  PyTorch's dtype and layout."""
  try:
    if zipfile.is_zipfile(path):
      with zipfile.ZipFile(path) as archive:
        result = _read_zip(archive)
    else:
      with open(path, "rb") as file:
        result = _read_legacy(file)
  except (ValueError, pickle.UnpicklingError, EOFError) as error:
    raise ValueError(f"Cannot read {path} as a PyTorch state dict: {error}"
                     ) from None
  arrays: dict[str, np.ndarray] = {}
  _flatten(result, "", arrays)
  if not arrays:
    raise ValueError(f"{path} holds no tensors.")
  return arrays


def convert(source: str, destination: str, only_prefix: str = ""
            ) -> dict[str, np.ndarray]:
  """Writes the tensors of `source` (.pth) whose names start with
  `only_prefix` to `destination` (.npz); returns them."""
  arrays = {name: array for name, array in read_state_dict(source).items()
            if name.startswith(only_prefix)}
  if not arrays:
    raise ValueError(f"No tensor of {source} starts with {only_prefix!r}.")
  directory = os.path.dirname(os.path.abspath(destination))
  os.makedirs(directory, exist_ok=True)
  np.savez(destination, **arrays)
  return arrays


def main(argv: Optional[Sequence[str]] = None) -> None:
  parser = argparse.ArgumentParser(
      prog="python -m logit_gan.analyses.torch_weights",
      description="Convert a PyTorch state dict (.pth) into an .npz.")
  parser.add_argument("source", help="a torch.save file, e.g. alex.pth")
  parser.add_argument("destination", help="the .npz to write")
  parser.add_argument("--only_prefix", default="",
                      help="keep the tensors whose names start with this "
                      "(features. keeps a torchvision backbone's "
                      "convolutions and drops its classifier)")
  args = parser.parse_args(argv)
  arrays = convert(args.source, args.destination, args.only_prefix)
  for name, array in arrays.items():
    print(f"{name} {list(array.shape)} {array.dtype}")
  print(f"wrote {len(arrays)} arrays to {args.destination}")


if __name__ == "__main__":
  main(sys.argv[1:])
