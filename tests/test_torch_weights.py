"""analyses.torch_weights reads torch.save files without PyTorch. The files
here are written the way torch.save writes them (its legacy stream and its
zip archive), with stand-ins for torch's storage class and tensor rebuild
function; the reader also read the published LPIPS heads (v0.1 alex.pth,
vgg.pth: five non-negative [1, C, 1, 1] arrays each), which are not shipped."""

import collections
import io
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from logit_gan.analyses import lpips, torch_weights


class FloatStorage:  # Pickled by reference as torch.FloatStorage.
  pass


def _rebuild_tensor_v2(*args):  # Pickled as torch._utils._rebuild_tensor_v2.
  raise AssertionError("never called: the reader has its own")


class FakeStorage:

  def __init__(self, key, array):
    self.key, self.array = key, np.asarray(array, np.float32).reshape(-1)


class FakeTensor:

  def __init__(self, storage, offset, size, stride):
    self.args = (storage, offset, tuple(size), tuple(stride), False,
                 collections.OrderedDict())

  def __reduce__(self):
    return _rebuild_tensor_v2, self.args


@pytest.fixture
def fake_torch(monkeypatch):
  """Makes torch.FloatStorage and torch._utils._rebuild_tensor_v2 the
  stand-ins above, so that pickle writes torch's global names."""
  torch = types.ModuleType("torch")
  utils = types.ModuleType("torch._utils")
  FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
  _rebuild_tensor_v2.__module__ = "torch._utils"
  torch.FloatStorage, utils._rebuild_tensor_v2 = (FloatStorage,
                                                  _rebuild_tensor_v2)
  monkeypatch.setitem(sys.modules, "torch", torch)
  monkeypatch.setitem(sys.modules, "torch._utils", utils)


def _state():
  """A state dict whose tensors share a storage, start at an offset and one
  of which is transposed (strides (1, 3)); with the arrays expected."""
  shared = FakeStorage("100", np.arange(12))
  head = FakeStorage("101", np.linspace(0, 1, 4))
  state = collections.OrderedDict([
      ("features.0.weight", FakeTensor(shared, 0, (2, 3), (3, 1))),
      ("features.0.bias", FakeTensor(shared, 6, (3, 2), (1, 3))),
      ("lin0.model.1.weight", FakeTensor(head, 0, (1, 4, 1, 1),
                                         (4, 1, 1, 1)))])
  expected = {"features.0.weight": np.arange(6).reshape(2, 3),
              "features.0.bias": np.arange(6, 12).reshape(2, 3).T,
              "lin0.model.1.weight": np.linspace(0, 1, 4, dtype="f4"
                                                 ).reshape(1, 4, 1, 1)}
  return state, [shared, head], expected


class _Pickler(pickle.Pickler):

  def __init__(self, file, legacy):
    super().__init__(file, protocol=2)
    self.legacy = legacy

  def persistent_id(self, obj):
    if not isinstance(obj, FakeStorage):
      return None
    common = ("storage", FloatStorage, obj.key, "cpu", obj.array.size)
    return common + (None,) if self.legacy else common


def write_legacy(path, state, storages):
  with open(path, "wb") as file:
    for header in (torch_weights.LEGACY_MAGIC, torch_weights.LEGACY_VERSION,
                   {"protocol_version": 1001, "little_endian": True}):
      pickle.dump(header, file, protocol=2)
    _Pickler(file, legacy=True).dump(state)
    pickle.dump([s.key for s in storages], file, protocol=2)
    for storage in storages:
      file.write(np.int64(storage.array.size).tobytes())
      file.write(storage.array.astype("<f4").tobytes())


def write_zip(path, state, storages):
  buffer = io.BytesIO()
  _Pickler(buffer, legacy=False).dump(state)
  with zipfile.ZipFile(path, "w") as archive:
    archive.writestr("archive/data.pkl", buffer.getvalue())
    for storage in storages:
      archive.writestr(f"archive/data/{storage.key}",
                       storage.array.astype("<f4").tobytes())


@pytest.mark.parametrize("write", [write_legacy, write_zip])
def test_reads_both_formats(tmp_path, fake_torch, write):
  state, storages, expected = _state()
  write(tmp_path / "weights.pth", state, storages)
  found = torch_weights.read_state_dict(str(tmp_path / "weights.pth"))
  assert list(found) == list(expected)
  for name, array in expected.items():
    np.testing.assert_array_equal(found[name], array)
    assert found[name].dtype == np.float32


def test_converts_to_npz_that_lpips_reads(tmp_path, fake_torch, capsys):
  state, storages, _ = _state()
  write_legacy(tmp_path / "alex.pth", state, storages)
  destination = tmp_path / "out" / "lpips_alex.npz"
  torch_weights.main([str(tmp_path / "alex.pth"), str(destination),
                      "--only_prefix=lin"])
  assert "wrote 1 arrays" in capsys.readouterr().out
  heads = lpips.read_heads(str(destination))
  np.testing.assert_array_equal(heads[0], np.linspace(0, 1, 4, dtype="f4"))
  with pytest.raises(ValueError, match="No tensor .* starts with 'conv'"):
    torch_weights.convert(str(tmp_path / "alex.pth"), str(destination),
                          only_prefix="conv")


def test_refuses_what_is_not_a_state_dict(tmp_path):
  with open(tmp_path / "evil.pth", "wb") as file:
    pickle.dump(torch_weights.LEGACY_MAGIC, file, protocol=2)
    pickle.dump(torch_weights.LEGACY_VERSION, file, protocol=2)
    pickle.dump({"little_endian": True}, file, protocol=2)
    pickle.dump(os.system, file, protocol=2)
  with pytest.raises(ValueError, match=r"posix.system is not part of a "
                     "PyTorch state dict"):
    torch_weights.read_state_dict(str(tmp_path / "evil.pth"))
  (tmp_path / "text.pth").write_text("not weights")
  with pytest.raises(ValueError, match="Cannot read .*text.pth"):
    torch_weights.read_state_dict(str(tmp_path / "text.pth"))
