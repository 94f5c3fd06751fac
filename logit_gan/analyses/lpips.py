"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep
Features as a Perceptual Metric") in TensorFlow, with the published
structure (PerceptualSimilarity v0.1):

  x in [-1, 1]  ->  (x - shift) / scale, per RGB channel, shift
                    (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450)
                ->  backbone features f_l [B, h_l, w_l, C_l] at L layers
                    (AlexNet's 5 ReLUs by default; VGG16's relu1_2, relu2_2,
                    relu3_3, relu4_3, relu5_3 as an option)
                ->  unit-normalised over channels per pixel,
                    f / (||f||_2 + 1e-10)
  d(x, y) = sum_l mean_{h,w} sum_c w_{l,c} (f^x_{l,hwc} - f^y_{l,hwc})^2

with non-negative learned weights w_l [C_l] (the 1x1 linear heads). One
distance per image pair, float64 [N]; 0 for identical images.

Deviation from the published code: images whose shorter side is under
`min_size` (default 64) are first resized up, bilinearly, so that it is
`min_size`; AlexNet needs at least 31 pixels, VGG16 16, and the shapes
datasets' images are 16x16. The published code takes images as they are.
LPIPS values of resized 16x16 images are comparable with each other, not
with LPIPS numbers of ImageNet-size images in the literature.

Weights come from files the user supplies (docs/metrics.md), in
`lpips.weights_dir` (gin; default ~/.logit_gan/lpips):

  alexnet.npz (or alexnet.weights.h5)  torchvision's AlexNet convolutions,
      state-dict names and PyTorch layout (features.0.weight [64, 3, 11, 11],
      features.0.bias [64], ... features.10.*), or Keras weights saved from
      `alexnet()`;
  lpips_alex.npz  the v0.1 heads, lin0.model.1.weight [1, 64, 1, 1] ...
      lin4.model.1.weight [1, 256, 1, 1];
  vgg16.npz (or vgg16.weights.h5) and lpips_vgg.npz likewise for net="vgg".

`torch_weights` converts the published .pth files into these .npz files
without PyTorch. `load_lpips()` gives an `LPIPS`, or None (logged once, with
what to download) when the files are absent, so analyses go on without it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf
from absl import logging

SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
SCALE = np.array([0.458, 0.448, 0.450], np.float32)
EPS = 1e-10
DEFAULT_WEIGHTS_DIR = "~/.logit_gan/lpips"
DEFAULT_MIN_SIZE = 64
DEFAULT_BATCH_SIZE = 64
# Inputs may overshoot [-1, 1] by this much (float error) before we refuse.
RANGE_TOLERANCE = 0.01
LINEAR_HEADS_URL = ("https://github.com/richzhang/PerceptualSimilarity/raw/"
                    "master/lpips/weights/v0.1/{}.pth")


@dataclasses.dataclass(frozen=True)
class Backbone:
  """A published backbone: its convolutions as torchvision numbers them.

  convolutions: (torchvision `features` index, output channels, kernel,
    stride, padding, tapped), each followed by a ReLU; `tapped` marks the
    ReLUs LPIPS reads.
  pools_after: indices after whose ReLU a max pool (pool, pool stride)
    follows.
  """
  name: str
  convolutions: tuple[tuple[int, int, int, int, int, bool], ...]
  pools_after: tuple[int, ...]
  pool: tuple[int, int]
  min_input: int  # The smallest side that leaves every tap >= 1x1.
  file_stem: str
  url: str


ALEXNET = Backbone(
    name="alex",
    convolutions=((0, 64, 11, 4, 2, True), (3, 192, 5, 1, 2, True),
                  (6, 384, 3, 1, 1, True), (8, 256, 3, 1, 1, True),
                  (10, 256, 3, 1, 1, True)),
    pools_after=(0, 3), pool=(3, 2), min_input=31, file_stem="alexnet",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth")
VGG16 = Backbone(
    name="vgg",
    convolutions=tuple(
        (index, channels, 3, 1, 1, tapped) for index, channels, tapped in (
            (0, 64, False), (2, 64, True), (5, 128, False), (7, 128, True),
            (10, 256, False), (12, 256, False), (14, 256, True),
            (17, 512, False), (19, 512, False), (21, 512, True),
            (24, 512, False), (26, 512, False), (28, 512, True))),
    pools_after=(2, 7, 14, 21), pool=(2, 2), min_input=16,
    file_stem="vgg16",
    url="https://download.pytorch.org/models/vgg16-397923af.pth")
BACKBONES = {"alex": ALEXNET, "vgg": VGG16}


def build_backbone(spec: Backbone) -> keras.Model:
  """A Keras model: [B, H, W, 3] (already shift/scale-normalised) -> the list
  of tapped ReLU maps [B, h_l, w_l, C_l]. Layers are named `features_<i>`
  after torchvision's `features.<i>`; weights are random until loaded."""
  inputs = keras.Input((None, None, 3))
  x, taps = inputs, []
  for index, channels, kernel, stride, padding, tapped in spec.convolutions:
    if padding:
      x = keras.layers.ZeroPadding2D(padding)(x)
    x = keras.layers.Conv2D(channels, kernel, strides=stride,
                            activation="relu", name=f"features_{index}")(x)
    if tapped:
      taps.append(x)
    if index in spec.pools_after:
      x = keras.layers.MaxPooling2D(spec.pool[0], spec.pool[1])(x)
  return keras.Model(inputs, taps, name=f"lpips_{spec.name}")


def alexnet() -> keras.Model:
  return build_backbone(ALEXNET)


def vgg16() -> keras.Model:
  return build_backbone(VGG16)


def _unit_normalize(features: tf.Tensor) -> tf.Tensor:
  norm = tf.sqrt(tf.reduce_sum(tf.square(features), axis=-1, keepdims=True))
  return features / (norm + EPS)


class LPIPS:
  """d(a, b) -> float64 [N], images [N, H, W, 3] in [-1, 1] (module doc).

  Args:
    backbone: a Keras model (or any callable) mapping [B, H, W, 3] to a list
      of L feature maps [B, h_l, w_l, C_l]; it sees the shift/scale-normalised
      images when `input_scaling` (the published structure), else the
      images themselves.
    heads: L non-negative arrays of C_l weights (any shape of C_l elements,
      e.g. PyTorch's [1, C_l, 1, 1]).
    min_size: shorter image sides below it are resized up (bilinear) to it.
    min_input: the backbone's smallest side, when known; `min_size` must
      reach it.
    batch_size: image pairs per backbone call.
  """

  def __init__(self, *, backbone, heads: Sequence[np.ndarray],
               min_size: int = DEFAULT_MIN_SIZE, input_scaling: bool = True,
               min_input: Optional[int] = None,
               batch_size: int = DEFAULT_BATCH_SIZE):
    self.heads = [tf.constant(np.asarray(h, np.float32).reshape(-1))
                  for h in heads]
    if not self.heads:
      raise ValueError("LPIPS needs one linear head per feature map; got "
                       "none.")
    for layer, head in enumerate(self.heads):
      if np.any(head.numpy() < 0):
        raise ValueError(f"LPIPS head {layer} has negative weights (min "
                         f"{head.numpy().min():.3g}); the published heads "
                         "are clamped to >= 0, so that d >= 0.")
    if min_input is not None and min_size < min_input:
      raise ValueError(f"min_size={min_size} is below the {min_input} pixels "
                       "this backbone needs; raise lpips.min_size.")
    self.backbone, self.min_size = backbone, int(min_size)
    self.input_scaling, self.batch_size = input_scaling, int(batch_size)

  def _prepare(self, images: tf.Tensor) -> tf.Tensor:
    height, width = images.shape[1], images.shape[2]
    shorter = min(height, width)
    if shorter < self.min_size:
      factor = self.min_size / shorter
      images = tf.image.resize(
          images, (round(height * factor), round(width * factor)),
          method="bilinear")
    if self.input_scaling:
      images = (images - SHIFT) / SCALE
    return images

  def _features(self, a: tf.Tensor, b: tf.Tensor):
    features = self.backbone(self._prepare(tf.concat([a, b], 0)),
                             training=False)
    if len(features) != len(self.heads):
      raise ValueError(f"The backbone gives {len(features)} feature maps but "
                       f"there are {len(self.heads)} linear heads.")
    for layer, (f, head) in enumerate(zip(features, self.heads)):
      if f.shape[-1] != head.shape[0]:
        raise ValueError(f"Feature map {layer} has {f.shape[-1]} channels, "
                         f"its head {head.shape[0]} weights.")
    return [tf.split(f, 2) for f in features]

  def distance_tensor(self, a, b, per_layer: bool = False) -> tf.Tensor:
    """float32 [B] (or [B, L] per layer) of float32 [B, H, W, 3] in [-1, 1];
    differentiable in a and b."""
    a = tf.convert_to_tensor(a, tf.float32)
    b = tf.convert_to_tensor(b, tf.float32)
    layers = []
    for (fa, fb), head in zip(self._features(a, b), self.heads):
      squared = tf.square(_unit_normalize(fa) - _unit_normalize(fb))
      weighted = tf.tensordot(squared, head, axes=[[3], [0]])  # [B, h, w]
      layers.append(tf.reduce_mean(weighted, axis=[1, 2]))
    layers = tf.stack(layers, axis=1)
    return layers if per_layer else tf.reduce_sum(layers, axis=1)

  def __call__(self, a, b, per_layer: bool = False) -> np.ndarray:
    """float64 [N] (or [N, L]) of two image sets [N, H, W, 3] in [-1, 1],
    row i of a against row i of b, in batches of `batch_size`."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
      raise ValueError("LPIPS needs two [N, H, W, 3] arrays of one shape, "
                       f"got {list(a.shape)} and {list(b.shape)}.")
    for images in (a, b):
      if images.size and np.abs(images).max() > 1 + RANGE_TOLERANCE:
        raise ValueError(
            "LPIPS takes images in [-1, 1]; got values in "
            f"[{images.min():.3g}, {images.max():.3g}] (from [0, 255] "
            "convert with x / 127.5 - 1).")
    batches = [self.distance_tensor(a[i:i + self.batch_size],
                                    b[i:i + self.batch_size], per_layer)
               .numpy() for i in range(0, len(a), self.batch_size)]
    width = (len(self.heads),) if per_layer else ()
    if not batches:
      return np.zeros((0,) + width)
    return np.concatenate(batches).astype(np.float64)


def load_backbone_weights(model: keras.Model, path: str) -> None:
  """Loads `path` into a `build_backbone` model: a Keras .weights.h5 saved
  from the same model, or an .npz of torchvision's state-dict entries
  `features.<i>.weight` [out, in, kh, kw] and `features.<i>.bias` [out]."""
  if path.endswith(".weights.h5"):
    model.load_weights(path)
    return
  with np.load(path) as arrays:
    for layer in model.layers:
      if not layer.name.startswith("features_"):
        continue
      key = layer.name.replace("_", ".")
      names = (f"{key}.weight", f"{key}.bias")
      missing = [n for n in names if n not in arrays]
      if missing:
        raise ValueError(f"{path} lacks {missing} (it has "
                         f"{sorted(arrays.files)[:6]}...); convert the whole "
                         "torchvision state dict (docs/metrics.md).")
      kernel = np.transpose(arrays[names[0]], (2, 3, 1, 0))
      expected = tuple(layer.kernel.shape)
      if kernel.shape != expected:
        raise ValueError(f"{path}: {names[0]} has PyTorch shape "
                         f"{list(arrays[names[0]].shape)}; this backbone "
                         f"needs [out, in, kh, kw] = "
                         f"{[expected[3], expected[2], *expected[:2]]}.")
      layer.set_weights([kernel, arrays[names[1]]])


def read_heads(path: str) -> list[np.ndarray]:
  """The linear heads of an .npz, in layer order: arrays named
  `lin<l>.model.<k>.weight` (the published state dict) or `lin<l>`."""
  pattern = re.compile(r"^lin(\d+)(\.model\.\d+\.weight)?$")
  with np.load(path) as arrays:
    found = {int(m.group(1)): arrays[name] for name in arrays.files
             if (m := pattern.match(name))}
  if sorted(found) != list(range(len(found))) or not found:
    raise ValueError(f"{path} should hold lin0 ... lin<L-1> "
                     "(lin<l>.model.1.weight), got layers "
                     f"{sorted(found)}.")
  return [found[layer].reshape(-1) for layer in range(len(found))]


def weight_files(net: str, weights_dir: str) -> tuple[list[str], str]:
  """([backbone .npz, backbone .weights.h5], heads .npz) paths: the
  backbone is read from the first that exists."""
  spec = _spec(net)
  directory = os.path.expanduser(weights_dir)
  return ([os.path.join(directory, f"{spec.file_stem}.npz"),
           os.path.join(directory, f"{spec.file_stem}.weights.h5")],
          os.path.join(directory, f"lpips_{spec.name}.npz"))


def _spec(net: str) -> Backbone:
  if net not in BACKBONES:
    raise ValueError(f"Unknown LPIPS backbone {net!r}; choose from "
                     f"{sorted(BACKBONES)}.")
  return BACKBONES[net]


def missing_files_message(net: str, weights_dir: str) -> str:
  """What to download, from where, and where to put it."""
  spec = _spec(net)
  backbones, heads = weight_files(net, weights_dir)
  source, heads_source = os.path.basename(spec.url), f"{spec.name}.pth"
  convert = "python -m logit_gan.analyses.torch_weights"
  return (
      f"LPIPS ({net}) is off: {backbones[0]} (or {backbones[1]}) and "
      f"{heads} are needed. Download {spec.url} and "
      f"{LINEAR_HEADS_URL.format(spec.name)}, then run "
      f"`{convert} {source} {backbones[0]} --only_prefix=features.` and "
      f"`{convert} {heads_source} {heads}` (or set lpips.weights_dir to "
      "where such files are). docs/metrics.md has the details.")


@gin.configurable("lpips")
def settings(weights_dir: str = DEFAULT_WEIGHTS_DIR, net: str = "alex",
             min_size: int = DEFAULT_MIN_SIZE) -> dict:
  """The gin-bound defaults of `load_lpips` (`lpips.weights_dir = ...`)."""
  return {"weights_dir": weights_dir, "net": net, "min_size": min_size}


def build(net: str = "alex", weights_dir: str = DEFAULT_WEIGHTS_DIR,
          min_size: int = DEFAULT_MIN_SIZE) -> LPIPS:
  """The published LPIPS from the files in `weights_dir`; FileNotFoundError
  with `missing_files_message` when any is absent."""
  spec = _spec(net)
  backbones, heads = weight_files(net, weights_dir)
  existing = [path for path in backbones if os.path.exists(path)]
  if not existing or not os.path.exists(heads):
    raise FileNotFoundError(missing_files_message(net, weights_dir))
  model = build_backbone(spec)
  load_backbone_weights(model, existing[0])
  return LPIPS(backbone=model, heads=read_heads(heads), min_size=min_size,
               min_input=spec.min_input)


_REPORTED: set[tuple[str, str]] = set()  # (net, dir) said to be missing.


def load_lpips(weights_dir: Optional[str] = None, *, net: Optional[str] = None,
               min_size: Optional[int] = None) -> Optional[LPIPS]:
  """The published LPIPS, or None when its weight files are absent (logged
  once per process and directory, with what to download). Arguments left
  None come from gin (`lpips.weights_dir`, `lpips.net`, `lpips.min_size`)."""
  configured = settings()
  weights_dir = weights_dir or configured["weights_dir"]
  net = net or configured["net"]
  min_size = min_size or configured["min_size"]
  try:
    return build(net, weights_dir, min_size)
  except FileNotFoundError as error:
    key = (net, os.path.abspath(os.path.expanduser(weights_dir)))
    if key not in _REPORTED:
      _REPORTED.add(key)
      logging.warning("%s", error)
    return None
