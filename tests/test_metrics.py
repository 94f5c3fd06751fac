"""analyses.metrics and analyses.lpips against independent computations:
hand-computed values for the pixel metrics, image statistics and classifier
consistency; for LPIPS a numpy forward pass (convolutions in PyTorch's
layout and conventions, bilinear resizing, the published arithmetic) with
random backbone and head weights written in the documented file format."""

import math
import os

import gin
import keras
import numpy as np
import pytest

from logit_gan.analyses import lpips, metrics

RNG = np.random.default_rng(0)


def _images(n, size, seed=0):
  return np.random.default_rng(seed).uniform(
      -1, 1, (n, size, size, 3)).astype(np.float32)


# Pixel distances.


def test_mse_rmse_psnr_of_a_known_error():
  a = np.zeros((2, 4, 4, 3))
  b = a + np.array([0.2, -0.2]).reshape(2, 1, 1, 1)
  np.testing.assert_allclose(metrics.mse(a, b), [0.04, 0.04])
  np.testing.assert_allclose(metrics.rmse(a, b), [0.2, 0.2])
  # [-1, 1] error 0.2 is 0.1 on [0, 1]: 10 log10(1 / 0.01) = 20 dB.
  np.testing.assert_allclose(metrics.psnr(a, b), [20.0, 20.0])
  assert metrics.psnr(a, a).tolist() == [metrics.PSNR_CAP] * 2


def test_ssim_of_identical_images_is_one():
  a = _images(3, 16)
  np.testing.assert_allclose(metrics.ssim(a, a), 1.0, atol=1e-6)


def test_ssim_of_two_constant_images_is_the_luminance_term():
  # Constant images have no variance: SSIM = (2 mu_x mu_y + C1) /
  # (mu_x^2 + mu_y^2 + C1), C1 = (0.01 * 1)^2, on [0, 1] pixels.
  a, b = np.full((1, 16, 16, 3), -0.5), np.full((1, 16, 16, 3), 0.5)
  c1 = 0.01 ** 2
  expected = (2 * 0.25 * 0.75 + c1) / (0.25 ** 2 + 0.75 ** 2 + c1)
  # tf.image.ssim's float32 variances (E[x^2] - E[x]^2) are off by ~1e-7,
  # i.e. 1e-4 of C2 = 0.03^2 in the structure term.
  np.testing.assert_allclose(metrics.ssim(a, b), [expected], rtol=2e-4)


def test_distances_default_and_unknown_kinds():
  a, b = _images(2, 16), _images(2, 16, seed=1)
  found = metrics.distances(a, b)
  assert list(found) == ["rmse", "psnr", "ssim"]
  assert all(v.shape == (2,) and v.dtype == np.float64
             for v in found.values())
  with pytest.raises(ValueError, match=r"Unknown distance.*'l1'"):
    metrics.distances(a, b, kinds=("l1",))
  with pytest.raises(ValueError, match="lpips=<model>"):
    metrics.distances(a, b, kinds=("rmse", "lpips"))


def test_shape_errors_name_the_shapes():
  with pytest.raises(ValueError, match=r"\[2, 4, 4, 3\] and \[2, 4, 4, 1\]"):
    metrics.mse(np.zeros((2, 4, 4, 3)), np.zeros((2, 4, 4, 1)))
  with pytest.raises(ValueError, match="one shape"):
    metrics.ssim(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
  with pytest.raises(ValueError, match=r"RGB images.*\[2, 4, 4, 1\]"):
    metrics.brightness(np.zeros((2, 4, 4, 1)))
  with pytest.raises(ValueError, match=r"\[3, 5\] and \[3, 4\]"):
    metrics.kl(np.zeros((3, 5)), np.zeros((3, 4)))
  with pytest.raises(ValueError, match="logit"):
    metrics.consistency(np.zeros(5), np.zeros(5))


# Image statistics.


def test_statistics_of_constant_images():
  rgb = np.array([[0.5, -0.5, 1.0], [-1.0, -1.0, -1.0]])  # [-1, 1].
  images = np.broadcast_to(rgb[:, None, None, :], (2, 8, 8, 3))
  expected = ((rgb + 1) / 2) @ np.array([0.299, 0.587, 0.114])
  np.testing.assert_allclose(metrics.brightness(images), expected)
  np.testing.assert_allclose(metrics.contrast(images), 0, atol=1e-12)
  np.testing.assert_allclose(metrics.sharpness(images), 0, atol=1e-12)


def test_statistics_of_a_checkerboard():
  # Luminance alternates 0 and 1: the 4-neighbour Laplacian is -4 on white
  # pixels and +4 on black ones; the 4x4 interior of a 6x6 board has as
  # many of each, so its variance is 16.
  board = (np.indices((6, 6)).sum(0) % 2).astype(np.float64)
  images = np.repeat((board * 2 - 1)[None, :, :, None], 3, axis=-1)
  np.testing.assert_allclose(metrics.brightness(images), [0.5])
  np.testing.assert_allclose(metrics.contrast(images), [0.5])
  np.testing.assert_allclose(metrics.sharpness(images), [16.0])


# Classifier consistency.


def test_kl_known_values():
  z = RNG.standard_normal((4, 10))
  np.testing.assert_allclose(metrics.kl(z, z), 0, atol=1e-12)
  np.testing.assert_allclose(metrics.kl(z, z + 3.0), 0, atol=1e-12)
  # p = (1/2, 1/2), q = (3/4, 1/4): KL = ln(4/3) / 2.
  found = metrics.kl(np.array([[0.0, 0.0]]), np.array([[math.log(3), 0.0]]))
  np.testing.assert_allclose(found, [0.5 * math.log(4 / 3)])
  # Very large logits stay finite (log-softmax).
  assert np.isfinite(metrics.kl(np.array([[1e4, 0.0]]),
                                np.array([[0.0, 1e4]]))).all()


def test_cosine_and_top1_agreement():
  z = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, -1.0], [2.0, 0.0, 0.0]])
  np.testing.assert_allclose(metrics.cosine(z, -z), [-1, -1, -1])
  np.testing.assert_allclose(metrics.cosine(z, 2 * z), [1, 1, 1])
  np.testing.assert_allclose(
      metrics.cosine(np.array([[1.0, 0.0]]), np.array([[0.0, 3.0]])), [0.0])
  z2 = np.array([[0.0, 0.0, 9.0], [7.0, 0.0, 0.0], [5.0, 1.0, 1.0]])
  assert metrics.top1_agreement(z, z2).tolist() == [1.0, 0.0, 1.0]
  found = metrics.consistency(z, z2)
  assert sorted(found) == ["cosine", "kl", "top1_agreement"]


# LPIPS: the numpy reference.


def np_conv(x, weight, bias, stride, padding):
  """PyTorch's Conv2d: x [N, H, W, I], weight [O, I, kh, kw] (cross-
  correlation, symmetric zero padding)."""
  x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  _, _, kh, kw = weight.shape
  height = (x.shape[1] - kh) // stride + 1
  width = (x.shape[2] - kw) // stride + 1
  patches = np.stack([np.stack([
      x[:, i:i + stride * height:stride, j:j + stride * width:stride]
      for j in range(kw)], axis=3) for i in range(kh)], axis=3)
  return np.einsum("nhwabi,oiab->nhwo", patches, weight) + bias


def np_max_pool(x, size, stride):
  height = (x.shape[1] - size) // stride + 1
  width = (x.shape[2] - size) // stride + 1
  return np.max([x[:, i:i + stride * height:stride, j:j + stride * width:stride]
                 for i in range(size) for j in range(size)], axis=0)


def np_backbone(x, spec, weights):
  """The tapped ReLU maps of `spec` with torch-layout `weights`."""
  taps = []
  for index, _, _, stride, padding, tapped in spec.convolutions:
    x = np.maximum(np_conv(x, weights[f"features.{index}.weight"],
                           weights[f"features.{index}.bias"], stride,
                           padding), 0)
    if tapped:
      taps.append(x)
    if index in spec.pools_after:
      x = np_max_pool(x, *spec.pool)
  return taps


def np_resize(x, size):
  """Bilinear, half-pixel centres, edges clamped, along H then W."""
  for axis in (1, 2):
    n = x.shape[axis]
    centre = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    low = np.floor(centre).astype(int)
    high, t = np.minimum(low + 1, n - 1), centre - low
    shape = [1, 1, 1, 1]
    shape[axis] = size
    t = t.reshape(shape)
    x = np.take(x, low, axis) * (1 - t) + np.take(x, high, axis) * t
  return x


def np_lpips(features_a, features_b, heads):
  """[N, L]: per layer, unit-normalise over channels, square the
  difference, weight the channels, average over space."""
  per_layer = []
  for fa, fb, w in zip(features_a, features_b, heads):
    na = fa / (np.sqrt((fa ** 2).sum(-1, keepdims=True)) + 1e-10)
    nb = fb / (np.sqrt((fb ** 2).sum(-1, keepdims=True)) + 1e-10)
    per_layer.append(((na - nb) ** 2 * w.reshape(-1)).sum(-1).mean((1, 2)))
  return np.stack(per_layer, axis=1)


def np_scale(x):
  shift = np.array([-0.030, -0.088, -0.188])
  return (x - shift) / np.array([0.458, 0.448, 0.450])


def np_published_lpips(a, b, spec, arrays, heads, size=None):
  """[N, L] of the published pipeline: resize to `size` (if given), shift
  and scale, the backbone, the LPIPS arithmetic."""
  if size is not None:
    a, b = np_resize(a, size), np_resize(b, size)
  return np_lpips(np_backbone(np_scale(a), spec, arrays),
                  np_backbone(np_scale(b), spec, arrays), heads)


def random_weights(spec, seed=0):
  """Torch-layout backbone arrays (He-scaled) and non-negative heads."""
  rng = np.random.default_rng(seed)
  arrays, heads, channels_in = {}, {}, 3
  for index, channels, kernel, _, _, tapped in spec.convolutions:
    fan_in = channels_in * kernel * kernel
    arrays[f"features.{index}.weight"] = (rng.standard_normal(
        (channels, channels_in, kernel, kernel)) * np.sqrt(2 / fan_in)
                                          ).astype(np.float32)
    arrays[f"features.{index}.bias"] = (
        0.1 * rng.standard_normal(channels)).astype(np.float32)
    if tapped:
      heads[f"lin{len(heads)}.model.1.weight"] = rng.uniform(
          0, 1, (1, channels, 1, 1)).astype(np.float32)
    channels_in = channels
  # Other entries of a torchvision state dict are ignored.
  arrays["classifier.1.weight"] = np.zeros((4, 2), np.float32)
  return arrays, heads


def write_weights(directory, spec, seed=0):
  arrays, heads = random_weights(spec, seed)
  np.savez(os.path.join(directory, f"{spec.file_stem}.npz"), **arrays)
  np.savez(os.path.join(directory, f"lpips_{spec.name}.npz"), **heads)
  return arrays, [heads[f"lin{l}.model.1.weight"] for l in range(len(heads))]


# LPIPS tests.


def tiny_backbone(w1, b1, w2, b2):
  """1x1 conv + ReLU (tap), 2x2 average pool, 1x1 conv + ReLU (tap)."""
  inputs = keras.Input((None, None, 3))
  first = keras.layers.Conv2D(w1.shape[1], 1, activation="relu")
  second = keras.layers.Conv2D(w2.shape[1], 1, activation="relu")
  h1 = first(inputs)
  h2 = second(keras.layers.AveragePooling2D(2)(h1))
  first.set_weights([w1[None, None], b1])
  second.set_weights([w2[None, None], b2])
  return keras.Model(inputs, [h1, h2])


def test_lpips_arithmetic_matches_numpy_with_random_weights():
  w1, b1 = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
  w2, b2 = RNG.standard_normal((4, 5)), RNG.standard_normal(5)
  heads = [RNG.uniform(0, 1, 4), RNG.uniform(0, 1, 5)]
  model = lpips.LPIPS(backbone=tiny_backbone(w1, b1, w2, b2), heads=heads,
                      min_size=8, batch_size=3)
  a, b = _images(5, 8), _images(5, 8, seed=1)

  def features(x):
    h1 = np.maximum(np_scale(x) @ w1 + b1, 0)
    pooled = h1.reshape(5, 4, 2, 4, 2, 4).mean((2, 4))
    return [h1, np.maximum(pooled @ w2 + b2, 0)]

  expected = np_lpips(features(a), features(b), heads)
  np.testing.assert_allclose(model(a, b, per_layer=True), expected,
                             rtol=1e-4)
  found = model(a, b)
  assert found.shape == (5,) and found.dtype == np.float64
  np.testing.assert_allclose(found, expected.sum(1), rtol=1e-4)
  assert model(a, a).tolist() == [0.0] * 5


def test_lpips_refuses_bad_heads_and_inputs():
  backbone = tiny_backbone(np.ones((3, 4)), np.zeros(4), np.ones((4, 5)),
                           np.zeros(5))
  with pytest.raises(ValueError, match="negative"):
    lpips.LPIPS(backbone=backbone, heads=[-np.ones(4), np.ones(5)])
  model = lpips.LPIPS(backbone=backbone, heads=[np.ones(4)], min_size=8)
  with pytest.raises(ValueError, match="2 feature maps but there are 1"):
    model(_images(1, 8), _images(1, 8))
  model = lpips.LPIPS(backbone=backbone, heads=[np.ones(4), np.ones(6)])
  with pytest.raises(ValueError, match="5 channels, its head 6"):
    model(_images(1, 8), _images(1, 8))
  with pytest.raises(ValueError, match=r"\[-1, 1\].*127.5"):
    model(_images(1, 8) * 127.5 + 127.5, _images(1, 8))
  with pytest.raises(ValueError, match="min_size=16 is below the 31"):
    lpips.LPIPS(backbone=backbone, heads=[np.ones(4)], min_size=16,
                min_input=31)


def test_alexnet_lpips_from_files_matches_numpy(tmp_path):
  arrays, heads = write_weights(str(tmp_path), lpips.ALEXNET)
  model = lpips.load_lpips(str(tmp_path))
  assert isinstance(model, lpips.LPIPS) and model.min_size == 64
  # torchvision's alexnet().features: 2,469,696 parameters.
  assert model.backbone.count_params() == 2_469_696
  a, b = _images(2, 64), _images(2, 64, seed=1)
  expected = np_published_lpips(a, b, lpips.ALEXNET, arrays, heads)
  np.testing.assert_allclose(model(a, b, per_layer=True), expected,
                             rtol=2e-3, atol=1e-6)
  # 16x16 images are resized up to 64x64 (bilinear) first.
  small_a, small_b = _images(2, 16, seed=2), _images(2, 16, seed=3)
  expected = np_published_lpips(small_a, small_b, lpips.ALEXNET, arrays,
                                heads, size=64).sum(1)
  np.testing.assert_allclose(model(small_a, small_b), expected, rtol=2e-3)
  # The same weights as Keras .weights.h5 give the same distances.
  os.rename(tmp_path / "alexnet.npz", tmp_path / "unused.npz")
  model.backbone.save_weights(str(tmp_path / "alexnet.weights.h5"))
  np.testing.assert_allclose(lpips.load_lpips(str(tmp_path))(small_a, small_b),
                             expected, rtol=2e-3)


def test_vgg16_lpips_from_files_matches_numpy(tmp_path):
  arrays, heads = write_weights(str(tmp_path), lpips.VGG16)
  model = lpips.load_lpips(str(tmp_path), net="vgg", min_size=16)
  # torchvision's vgg16().features: 14,714,688 parameters.
  assert model.backbone.count_params() == 14_714_688
  a, b = _images(2, 16), _images(2, 16, seed=1)
  expected = np_published_lpips(a, b, lpips.VGG16, arrays, heads)
  np.testing.assert_allclose(model(a, b, per_layer=True), expected,
                             rtol=2e-3, atol=1e-6)


def test_wrong_files_are_named(tmp_path):
  write_weights(str(tmp_path), lpips.ALEXNET)
  arrays, _ = random_weights(lpips.VGG16)
  np.savez(tmp_path / "alexnet.npz", **arrays)
  with pytest.raises(ValueError, match=r"features.0.weight has PyTorch "
                     r"shape \[64, 3, 3, 3\].*\[64, 3, 11, 11\]"):
    lpips.build("alex", str(tmp_path))
  np.savez(tmp_path / "lpips_alex.npz", lin1=np.ones(3))
  with pytest.raises(ValueError, match=r"lin0 .* got layers \[1\]"):
    lpips.read_heads(str(tmp_path / "lpips_alex.npz"))


def test_missing_files_give_none_and_one_message(tmp_path, monkeypatch):
  messages = []
  monkeypatch.setattr(lpips, "_REPORTED", set())
  monkeypatch.setattr(lpips.logging, "warning",
                      lambda fmt, *args: messages.append(fmt % args))
  for _ in range(3):
    assert lpips.load_lpips(str(tmp_path)) is None
  assert len(messages) == 1
  message = messages[0]
  for part in ("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
               "PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
               str(tmp_path / "alexnet.npz"), str(tmp_path / "lpips_alex.npz"),
               "python -m logit_gan.analyses.torch_weights",
               "lpips.weights_dir"):
    assert part in message
  # Half the files are still missing files.
  write_weights(str(tmp_path), lpips.ALEXNET)
  os.remove(tmp_path / "lpips_alex.npz")
  assert lpips.load_lpips(str(tmp_path)) is None
  assert len(messages) == 1  # Said once per directory.


def test_gin_binds_the_weights_dir(tmp_path):
  write_weights(str(tmp_path), lpips.ALEXNET)
  gin.bind_parameter("lpips.weights_dir", str(tmp_path))
  gin.bind_parameter("lpips.min_size", 40)
  model = lpips.load_lpips()
  assert model is not None and model.min_size == 40


def test_distances_with_lpips():
  backbone = tiny_backbone(np.ones((3, 4)), np.zeros(4), np.ones((4, 5)),
                           np.zeros(5))
  model = lpips.LPIPS(backbone=backbone, heads=[np.ones(4), np.ones(5)],
                      min_size=8)
  a, b = _images(3, 8), _images(3, 8, seed=1)
  found = metrics.distances(a, b, kinds=("rmse", "lpips"), lpips=model)
  assert list(found) == ["rmse", "lpips"]
  np.testing.assert_allclose(found["lpips"], model(a, b))
  assert list(metrics.distances(a, b, lpips=model)) == [
      "rmse", "psnr", "ssim", "lpips"]
