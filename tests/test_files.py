"""logit_gan.files: atomic writes, locally and on a tf.io.gfile
filesystem (ram://, standing in for gs://)."""

import os

import pytest
import tensorflow as tf

from logit_gan import files


@pytest.mark.parametrize("root", ["local", "ram://files_test"])
def test_write_replaces_whole_files_and_leaves_no_temporary(tmp_path, root):
  folder = os.path.join(str(tmp_path) if root == "local" else root, "a")
  path = os.path.join(folder, "metrics.json")
  files.write_text(path, "a longer first version")
  files.write_text(path, "second")
  assert files.read_text(path) == "second"
  assert tf.io.gfile.listdir(folder) == ["metrics.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
  path = str(tmp_path / "classifier.keras")
  files.write_bytes(path, b"previous")
  with pytest.raises(RuntimeError):
    with files.atomic_path(path) as temporary:
      assert temporary.endswith("classifier.keras")  # Writers check it.
      assert os.path.dirname(temporary) == str(tmp_path)
      with open(temporary, "wb") as f:
        f.write(b"half")
      raise RuntimeError("killed mid-write")
  assert open(path, "rb").read() == b"previous"
  assert os.listdir(tmp_path) == ["classifier.keras"]


def test_atomic_path_replaces_a_folder(tmp_path):
  path = tmp_path / "export"
  (path / "old").mkdir(parents=True)
  with files.atomic_path(str(path)) as temporary:
    os.makedirs(os.path.join(temporary, "new"))
  assert os.listdir(path) == ["new"]
  assert os.listdir(tmp_path) == ["export"]
