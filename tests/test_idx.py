"""The idx reader against files written by numpy, bad files, and the
'idx' / 'fashion_mnist_idx' dataset sources."""

import gzip
import os

import numpy as np
import pytest

from logit_gan.analyses import examples as examples_lib
from logit_gan.data import idx
from logit_gan.data import pipeline


def _numpy_idx(path, array, code):
  """An idx file written with numpy alone (independent of idx.write)."""
  header = np.array([0, 0, code, array.ndim], np.uint8).tobytes()
  header += np.array(array.shape, ">u4").tobytes()
  with open(path, "wb") as file:
    file.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


@pytest.mark.parametrize("dtype,code", [(np.uint8, 8), (np.int16, 0x0B),
                                        (np.int32, 0x0C), (np.float32, 0x0D),
                                        (np.float64, 0x0E)])
def test_reads_what_numpy_wrote(tmp_path, dtype, code):
  array = (np.random.default_rng(0).normal(size=(5, 4, 3)) * 50).astype(dtype)
  _numpy_idx(tmp_path / "a", array, code)
  np.testing.assert_array_equal(idx.read(str(tmp_path / "a")), array)
  idx.write(str(tmp_path / "b.gz"), array)
  np.testing.assert_array_equal(idx.read(str(tmp_path / "b.gz")), array)


def test_corrupt_and_truncated_files_are_refused_naming_them(tmp_path):
  array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
  idx.write(str(tmp_path / "ok"), array)
  data = (tmp_path / "ok").read_bytes()
  (tmp_path / "short").write_bytes(data[:-7])
  with pytest.raises(idx.IdxFormatError, match="short.*truncated"):
    idx.read(str(tmp_path / "short"))
  (tmp_path / "text").write_bytes(b"hello world")
  with pytest.raises(idx.IdxFormatError, match="text is not an idx file"):
    idx.read(str(tmp_path / "text"))
  (tmp_path / "bad.gz").write_bytes(gzip.compress(data)[:-20])
  with pytest.raises(idx.IdxFormatError, match="bad.gz"):
    idx.read(str(tmp_path / "bad.gz"))


def _idx_dir(root, count=12):
  rng = np.random.default_rng(1)
  for prefix in ("train", "t10k"):
    idx.write(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"),
              rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
    idx.write(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"),
              rng.integers(0, 10, count).astype(np.uint8))
  return str(root)


def test_an_idx_directory_is_a_dataset(tmp_path):
  directory = _idx_dir(tmp_path)
  spec = pipeline.DatasetSpec(name="idx", data_dir=directory)
  images, labels = next(iter(pipeline.dataset(
      spec, split="test", resolution=16, batch_size=5, shuffle=False)))
  assert images.shape == (5, 16, 16, 3)
  raw, raw_labels = idx.read_split(directory, "test")
  np.testing.assert_array_equal(labels.numpy(), raw_labels[:5])
  # Grey made RGB: the three channels are equal.
  np.testing.assert_allclose(images[..., 0], images[..., 2])
  loaded = examples_lib.from_dataset({"name": "idx", "data_dir": directory},
                                     resolution=28, count=7)
  expected = raw[:7, :, :, 0].astype(np.float32) / 127.5 - 1
  np.testing.assert_allclose(loaded.images[..., 1], expected, atol=1e-6)
  (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
  with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
    examples_lib.from_dataset({"name": "idx", "data_dir": directory},
                              resolution=28, count=7)


def test_debian_fashion_mnist_is_read_when_installed():
  if not os.path.isdir(idx.DEBIAN_FASHION_MNIST):
    pytest.skip("Debian's dataset-fashion-mnist is not installed (`apt-get "
                "install dataset-fashion-mnist`; make test does it as root).")
  images, labels = idx.read_split(idx.DEBIAN_FASHION_MNIST, "test")
  assert images.shape == (10000, 28, 28, 1) and labels.max() == 9
  train, _ = idx.read_split(idx.DEBIAN_FASHION_MNIST, "train")
  assert len(train) == 60000
  loaded = examples_lib.from_dataset("fashion_mnist_idx", resolution=16,
                                     count=50)
  assert loaded.class_names[0] == "t-shirt_top" and len(loaded) == 50
