"""MNIST-format idx files as a dataset: MNIST, Fashion-MNIST, KMNIST and
the like without a download.

The idx format (LeCun et al.): a big-endian header — two zero bytes, a type
byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E
float64), the number of dimensions d — then d big-endian uint32 sizes, then
the values, row-major, big-endian. Files may be gzipped (`.gz`).

A directory is read as TFDS-style splits: 'train' from
`train-images-idx3-ubyte[.gz]` and `train-labels-idx1-ubyte[.gz]`, 'test'
from `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]` (the
names MNIST, Fashion-MNIST and KMNIST use). `IdxBuilder` offers the part of
a TFDS builder the pipeline uses (`as_dataset`, `info.splits`,
`info.features["label"].names`), so `dataset.name = 'idx'` with
`dataset.data_dir = DIR` trains and evaluates like any TFDS dataset, and
`dataset.name = 'fashion_mnist_idx'` reads Debian's `dataset-fashion-mnist`
package (`apt-get install dataset-fashion-mnist`: the full 70,000 images
under /usr/share/datasets/fashion-mnist).
"""

from __future__ import annotations

import gzip
import os
import types
from typing import Optional

import numpy as np
import tensorflow as tf

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_NAMES = ("t-shirt_top", "trouser", "pullover", "dress", "coat",
                       "sandal", "shirt", "sneaker", "bag", "ankle_boot")
DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
          0x0E: np.dtype(">f8")}
CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09,
         np.dtype(np.int16): 0x0B, np.dtype(np.int32): 0x0C,
         np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}


class IdxFormatError(ValueError):
  """A file that is not a complete idx file."""


def _open(path: str):
  return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read(path: str) -> np.ndarray:
  """The array in idx file `path` (gzipped or not), in native byte order;
  IdxFormatError naming the file when it is corrupt or truncated."""
  try:
    with _open(path) as file:
      data = file.read()
  except (OSError, EOFError) as error:  # Bad gzip stream, truncated .gz.
    raise IdxFormatError(f"{path} is not a readable idx file ({error}); "
                         "download it again.") from None
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in DTYPES:
    raise IdxFormatError(f"{path} is not an idx file (bad magic number "
                         f"{data[:4].hex() or 'empty'}); download it again.")
  dtype, ndim = np.dtype(DTYPES[data[2]]), data[3]
  header = 4 + 4 * ndim
  if len(data) < header:
    raise IdxFormatError(f"{path} is truncated inside its header; download "
                         "it again.")
  shape = tuple(int(v) for v in np.frombuffer(data, ">u4", ndim, 4))
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(data) != expected:
    raise IdxFormatError(
        f"{path} holds {len(data)} bytes but its header {list(shape)} of "
        f"{dtype} needs {expected}: the file is "
        f"{'truncated' if len(data) < expected else 'followed by extra data'}"
        "; download it again.")
  array = np.frombuffer(data, dtype, offset=header).reshape(shape)
  return array.astype(dtype.newbyteorder("="))


def write(path: str, array: np.ndarray) -> None:
  """Writes `array` as an idx file (gzipped when path ends in .gz)."""
  array = np.asarray(array)
  if array.dtype not in CODES:
    raise ValueError(f"idx cannot hold {array.dtype}; use one of "
                     f"{sorted(str(d) for d in CODES)}.")
  header = bytes([0, 0, CODES[array.dtype], array.ndim]) + np.asarray(
      array.shape, ">u4").tobytes()
  body = array.astype(array.dtype.newbyteorder(">")).tobytes()
  with (gzip.open(path, "wb") if path.endswith(".gz")
        else open(path, "wb")) as file:
    file.write(header + body)


def split_files(directory: str, split: str) -> tuple[str, str]:
  """(images file, labels file) of `split` in `directory`, gzipped or not;
  FileNotFoundError listing what was looked for."""
  if split not in SPLIT_PREFIXES:
    raise ValueError(f"idx directories have splits {sorted(SPLIT_PREFIXES)}, "
                     f"not {split!r}.")
  found = []
  for kind, rank in (("images", 3), ("labels", 1)):
    stem = f"{SPLIT_PREFIXES[split]}-{kind}-idx{rank}-ubyte"
    candidates = [os.path.join(directory, stem + suffix)
                  for suffix in (".gz", "")]
    existing = [c for c in candidates if os.path.isfile(c)]
    if not existing:
      raise FileNotFoundError(
          f"No {stem}[.gz] in {directory}: an idx dataset directory holds "
          "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
          "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (MNIST, "
          "Fashion-MNIST and KMNIST publish them under these names)" + (
              "; on Debian, `apt-get install dataset-fashion-mnist` puts "
              f"Fashion-MNIST in {DEBIAN_FASHION_MNIST}"
              if directory == DEBIAN_FASHION_MNIST else "") + ".")
    found.append(existing[0])
  return found[0], found[1]


def read_split(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """images uint8 [N, H, W, 1] and labels int64 [N] of a split."""
  images_file, labels_file = split_files(directory, split)
  images, labels = read(images_file), read(labels_file)
  if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
    raise IdxFormatError(
        f"{images_file} {list(images.shape)} and {labels_file} "
        f"{list(labels.shape)} do not pair up as [N, H, W] images and [N] "
        "labels.")
  return images.astype(np.uint8)[..., None], labels.astype(np.int64)


class IdxBuilder:
  """The part of a TFDS builder `pipeline` uses, over an idx directory."""

  def __init__(self, directory: str, name: str = "idx",
               label_names: Optional[tuple[str, ...]] = None):
    self.directory = self.data_dir = self.data_dir_root = str(directory)
    self.name = name
    if not os.path.isdir(self.directory):
      raise FileNotFoundError(
          f"The idx dataset directory {self.directory} does not exist" + (
              ": install it with `apt-get install dataset-fashion-mnist`"
              if self.directory == DEBIAN_FASHION_MNIST else "") + ".")
    splits = {split: types.SimpleNamespace(num_shards=1)
              for split in SPLIT_PREFIXES}
    label = types.SimpleNamespace(names=list(label_names or ()))
    self.info = types.SimpleNamespace(splits=splits,
                                      features={"label": label})

  def is_prepared(self) -> bool:
    return True

  def as_dataset(self, split: str, shuffle_files: bool = False,
                 read_config=None) -> tf.data.Dataset:
    """{"image": uint8 [H, W, 1], "label": int64} examples of `split`."""
    del shuffle_files, read_config  # One file: nothing to shuffle or shard.
    images, labels = read_split(self.directory, split)
    return tf.data.Dataset.from_tensor_slices({"image": images,
                                               "label": labels})
