"""The up-convolutional decoder of Dosovitskiy & Brox (2016a), logits -> image.

`DecoderGenerator(logits [B, n_c], noise [B, z_dim]) -> images [B, R, R, 3]`
in [-1, 1]: deterministic, the noise is accepted (so that the GAN's step,
export and analyses take it unchanged) and ignored. Architecture, after the
decoder DeePSiM trains to invert AlexNet's fc8 (their paper's supplementary
material; Caffe): fully connected layers with leaky ReLU (slope 0.3), a last
one reshaped to a 4x4 map, then up-convolutions (4x4 transposed
convolutions, stride 2), the first few each followed by a 3x3 convolution,
all with leaky ReLU; no normalisation.

At the defaults, `DecoderGenerator(resolution=64)` for n_c = 1000:
  fc 4096 -> fc 4096 -> fc 4x4x256 -> up 8x8x256, conv -> up 16x16x256,
  conv -> up 32x32x128, conv -> up 64x64x64 -> conv 3x3 to RGB, tanh;
  41,745,411 trainable parameters (pinned in tests/test_dosovitskiy_brox.py).
The paper's decoder has the same three 4096-wide fully connected layers and
its up-convolutions' widths (256, 256, 128, 64, 32; the first three with a
3x3 convolution after them) continue to 256x256.

Deviations from the paper's decoder:
  * its last up-convolution gives RGB directly and the images are
    unbounded (Caffe's mean-subtracted pixels); here a 3x3 convolution maps
    the last stage to RGB and tanh keeps images in [-1, 1], the package's
    range, as the GAN's generator does;
  * the widths stop at the resolution asked for (16x16: the first two);
  * Keras' default initialisation (Glorot uniform) rather than Caffe's.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import keras
import tensorflow as tf

from logit_gan import layers
from logit_gan.configurable import configurable
from logit_gan.generator import LogitGenerator

# The paper's up-convolution widths, from the 8x8 stage on.
PAPER_CHANNELS = (256, 256, 128, 64, 32)
SEED_SIZE = 4
INITIALIZERS = ("glorot",) + layers.INITIALIZERS


def _initializer(name: str, stddev: float) -> keras.initializers.Initializer:
  """A new initializer object per layer (Keras 3 fixes an unseeded
  initializer's seed when it is made: see `layers.independent`)."""
  if name == "glorot":
    return keras.initializers.GlorotUniform()
  return layers.weight_initializer(name, stddev)


def _stages(resolution: int) -> int:
  """Up-convolutions from 4x4 to `resolution` (a power of two >= 8)."""
  stages = math.log2(resolution / SEED_SIZE) if resolution > 0 else 0
  if resolution < 2 * SEED_SIZE or stages != int(stages):
    raise ValueError(f"DecoderGenerator.resolution = {resolution}: choose a "
                     "power of two >= 8 (16, 32, 64, 128).")
  return int(stages)


def _channels(channels: Optional[Sequence[int]], stages: int,
              resolution: int) -> list[int]:
  if channels is None:
    if stages > len(PAPER_CHANNELS):
      raise ValueError(
          f"DecoderGenerator.resolution = {resolution} has {stages} "
          f"up-convolutions; the paper's widths cover "
          f"{len(PAPER_CHANNELS)}: set DecoderGenerator.channels.")
    return list(PAPER_CHANNELS[:stages])
  if len(channels) != stages or min(channels) < 1:
    raise ValueError(
        f"DecoderGenerator.channels = {tuple(channels)}: give {stages} "
        f"positive widths, one per up-convolution from 4x4 to "
        f"{resolution}x{resolution}.")
  return [int(c) for c in channels]


@configurable
class DecoderGenerator(LogitGenerator):
  """D&B's decoder: logits [B, n_c] (noise [B, z_dim] ignored) -> images
  [B, R, R, 3] in [-1, 1].

  Args:
    resolution: output size R, a power of two >= 8.
    fc_units: widths of the fully connected layers before the one that
      makes the 4x4 map (the paper: 4096, 4096).
    seed_channels: channels of the 4x4 map (the paper: 256, so that its
      third fully connected layer is 4096 wide).
    channels: width of each up-convolution (8x8, 16x16, ..., R); None: the
      paper's (256, 256, 128, 64, 32), as many as R needs.
    convolutions_after: how many up-convolutions, from the first, are
      followed by a 3x3 convolution of the same width (the paper: 3).
    negative_slope: of the leaky ReLUs (the paper: 0.3).
    z_dim: the width of the noise input, accepted and ignored.
    initializer, init_stddev: 'glorot' (Keras' default) or one of
      `layers.INITIALIZERS` with its stddev.
    num_classes: logit width n_c; None takes it from the first call.

  `get_config()` holds every argument, so `from_config` rebuilds it without
  gin (`LogitGenerator`).
  """

  deterministic = True  # The noise is ignored.
  NOISE_HINT = ("The decoder ignores it, but takes z_dim={z_dim} columns like "
                "the GAN's generator.")
  # No batch norm, so no standing statistics to refill: LogitGAN's
  # `fill_standing_statistics` skips a generator that says this.
  use_moving_averages = True

  def __init__(self, *, resolution: int = 64,
               fc_units: Sequence[int] = (4096, 4096),
               seed_channels: int = 256,
               channels: Optional[Sequence[int]] = None,
               convolutions_after: int = 3, negative_slope: float = 0.3,
               z_dim: int = 1, initializer: str = "glorot",
               init_stddev: float = 0.02, num_classes: Optional[int] = None,
               name: str = "decoder"):
    # First, while locals() holds only the arguments.
    arguments = layers.constructor_arguments(locals())
    super().__init__(name=name)
    self._arguments = arguments
    if z_dim < 1 or seed_channels < 1 or convolutions_after < 0:
      raise ValueError(
          f"DecoderGenerator needs z_dim >= 1, seed_channels >= 1 and "
          f"convolutions_after >= 0; got {z_dim}, {seed_channels}, "
          f"{convolutions_after}.")
    if initializer not in INITIALIZERS:
      raise ValueError(f"DecoderGenerator.initializer = {initializer!r}; "
                       f"choose one of {INITIALIZERS}.")
    self.resolution = resolution
    self.channels = _channels(channels, _stages(resolution), resolution)
    self.seed_channels = seed_channels
    self.z_dim = z_dim
    self.num_classes = num_classes
    self.negative_slope = negative_slope

    def dense(units, layer_name):
      return keras.layers.Dense(
          units, kernel_initializer=_initializer(initializer, init_stddev),
          name=layer_name)

    def conv(kind, width, size, layer_name, **options):
      return kind(width, size, padding="same", name=layer_name,
                  kernel_initializer=_initializer(initializer, init_stddev),
                  **options)

    self.fully_connected = [dense(units, f"fc{i + 1}")
                            for i, units in enumerate(fc_units)]
    self.seed = dense(SEED_SIZE ** 2 * seed_channels, "seed")
    self.up = [conv(keras.layers.Conv2DTranspose, width, 4, f"up{i + 1}",
                    strides=2) for i, width in enumerate(self.channels)]
    self.convolutions = [conv(keras.layers.Conv2D, width, 3,
                              f"up{i + 1}_conv")
                         for i, width in enumerate(self.channels)
                         if i < convolutions_after]
    self.to_rgb = conv(keras.layers.Conv2D, 3, 3, "to_rgb")

  def build(self, logits_shape, noise_shape):
    self._check_shapes(logits_shape, noise_shape)
    width = self.num_classes
    for layer in self.fully_connected + [self.seed]:
      layer.build((None, width))
      width = layer.units
    size, width = SEED_SIZE, self.seed_channels
    for i, up in enumerate(self.up):
      up.build((None, size, size, width))
      size, width = 2 * size, up.filters
      if i < len(self.convolutions):
        self.convolutions[i].build((None, size, size, width))
    self.to_rgb.build((None, size, size, width))
    layers.log_parameters(self, f"{self.resolution}x{self.resolution}, "
                          f"n_c {self.num_classes}")

  def stage_layers(self) -> dict[str, list[keras.layers.Layer]]:
    """The layers behind each stage that `forward` reports, in order."""
    stages = {layer.name: [layer] for layer in self.fully_connected}
    stages["seed"] = [self.seed]
    for i, up in enumerate(self.up):
      stages[up.name] = [up] + self.convolutions[i:i + 1]
    stages["output"] = [self.to_rgb]
    return stages

  def forward(self, logits, noise, training: bool = False,
              on_stage: Optional[Callable[[str, tf.Tensor], None]] = None):
    """The network; `noise` is ignored. `on_stage(name, output)` sees every
    stage (`stage_layers`)."""
    del noise, training  # Deterministic, and no layer differs in training.
    report = on_stage or (lambda name, h: None)

    def activate(h):
      return tf.nn.leaky_relu(h, alpha=self.negative_slope)

    h = tf.cast(logits, self.compute_dtype)
    for layer in self.fully_connected:
      h = activate(layer(h))
      report(layer.name, h)
    h = tf.reshape(activate(self.seed(h)),
                   [-1, SEED_SIZE, SEED_SIZE, self.seed_channels])
    report("seed", h)
    for i, up in enumerate(self.up):
      h = activate(up(h))
      if i < len(self.convolutions):
        h = activate(self.convolutions[i](h))
      report(up.name, h)
    h = tf.tanh(tf.cast(self.to_rgb(h), tf.float32))
    report("output", h)
    return h
