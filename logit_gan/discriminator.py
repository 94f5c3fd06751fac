"""BigGAN projection discriminator D(x, z) conditioned on classifier logits.

D(x, z) = w1 . Psi(x) + b + (W2 z) . Psi(x), the paper's equation (2) with
compare_gan's bias b: Psi is a stack of residual down-blocks, a ReLU and a
global sum over positions; w1, b is `final_fc` and W2 the projection
`embedding` [n_c, C] (glorot-normal initialised, as compare_gan overrides it).
Images are in [-1, 1].

At the defaults, `Discriminator(ch=96)` on 64x64 images is the paper's
Table 4:
  down 32x32x192 -> non-local -> down 16x16x384 -> down 8x8x768
  -> down 4x4x1536 -> block 4x4x1536 -> ReLU, global sum -> projection.

Trainable parameters (equal to compare_gan's resnet_biggan with the same
options; pinned in tests/test_networks.py):
  64x64, ch 96:  87,752,258 (n_c = 1000), 86,231,618 (n_c = 10)
  128x128, ch 96, n_c = 1000: 87,982,370 (compare_gan's own pinned number)

Deliberate departures from compare_gan (none changes the parameter count):
  * compare_gan applies ReLU to the raw image at the start of the first
    block; BigGAN does not, and neither do we (`relu_on_input=True` restores
    compare_gan).
  * The shortcut of a down-block pools before its 1x1 conv (compare_gan:
    after); both are linear and per-pixel, so the result is identical and the
    conv runs on a quarter of the pixels.
Kept from compare_gan: a block whose input and output widths match has no
shortcut at all (BigGAN adds the identity: `identity_shortcut=True`).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence


import keras
import tensorflow as tf

from logit_gan import checks
from logit_gan import layers
from logit_gan.configurable import configurable

CHANNEL_MULTIPLIERS = {
    16: (2, 2, 2),  # Not in compare_gan: small runs on small machines.
    32: (2, 2, 2, 2),
    64: (2, 4, 8, 16, 16),
    128: (1, 2, 4, 8, 16, 16),
}


@configurable
class Discriminator(keras.Model):
  """D(images [B, R, R, 3] in [-1, 1], logits [B, n_c]) -> scores [B].

  Args:
    ch: channel multiplier; block widths are ch times `channel_multipliers`.
    resolution: input size 16, 32, 64 or 128; None takes it from the first call.
    channel_multipliers: one per block; None: `CHANNEL_MULTIPLIERS[resolution]`,
      compare_gan's. The last sets the width of the features Psi and so of
      the projection.
    blocks_with_attention: comma-separated block names followed by a
      non-local block; None: "B1", compare_gan's default.
    project_labels: add the projection term (W2 z) . Psi(x).
    spectral_norm, singular_value, initializer, init_stddev: as `Generator`.
    relu_on_input, identity_shortcut: see the module docstring.
    num_classes: logit width n_c; None takes it from the first call.

  `get_config()` holds every argument (those gin filled in too), as
  `Generator`'s.
  """

  def __init__(self, *, ch: int = 96, resolution: Optional[int] = None,
               channel_multipliers: Optional[Sequence[int]] = None,
               blocks_with_attention: Optional[str] = None,
               project_labels: bool = True, spectral_norm: bool = True,
               singular_value: str = "auto", initializer: str = "orthogonal",
               init_stddev: float = 0.02, relu_on_input: bool = False,
               identity_shortcut: bool = False,
               num_classes: Optional[int] = None,
               name: str = "discriminator"):
    # First, while locals() holds only the arguments.
    arguments = layers.constructor_arguments(locals())
    super().__init__(name=name)
    self._arguments = arguments
    if resolution is not None and resolution not in CHANNEL_MULTIPLIERS:
      raise ValueError(f"Discriminator resolution={resolution} is not "
                       f"supported; choose one of {sorted(CHANNEL_MULTIPLIERS)}.")
    self.ch = ch
    self.resolution = resolution
    self._channel_multipliers = channel_multipliers
    self.project_labels = project_labels
    self.num_classes = num_classes
    self._blocks_with_attention = blocks_with_attention
    self._relu_on_input = relu_on_input
    self._identity_shortcut = identity_shortcut
    init = layers.weight_initializer(initializer, init_stddev)
    self._sn = dict(spectral_norm=spectral_norm, singular_value=singular_value,
                    initializer=init)
    self.final_fc = layers.SNDense(1, name="final_fc", **self._sn)
    self.embedding = None
    self.blocks = None
    if resolution is not None:
      self._make_blocks(resolution)

  def _make_blocks(self, resolution: int) -> None:
    multipliers = checks.channel_multipliers(
        self._channel_multipliers, CHANNEL_MULTIPLIERS[resolution], resolution,
        "Discriminator")
    channels = [self.ch * m for m in multipliers]
    attention = checks.parse_block_names(
        self._blocks_with_attention, len(channels), ("B1",), "Discriminator")
    self.resolution = resolution
    self.features_dim = channels[-1]
    if self.project_labels:
      self.embedding = layers.SNDense(
          self.features_dim, use_bias=False, name="embedding",
          **{**self._sn, "initializer": keras.initializers.GlorotNormal()})
    blocks, attention_layers = [], {}
    in_channels = [3] + channels[:-1]
    for i, (c_in, c_out) in enumerate(zip(in_channels, channels)):
      block_name = f"B{i + 1}"
      blocks.append(layers.DiscriminatorBlock(
          c_out, downsample=i < len(channels) - 1,
          preactivation=i > 0 or self._relu_on_input,
          add_shortcut=c_in != c_out,
          identity_shortcut=self._identity_shortcut, name=block_name,
          **self._sn))
      if block_name in attention:
        attention_layers[block_name] = layers.NonLocalBlock(
            name=f"{block_name}_attention", **self._sn)
    self.blocks = blocks
    self.attention = attention_layers

  def get_config(self) -> dict:
    """The constructor's arguments, JSON-serialisable, with the logit width
    and resolution the network was built for."""
    return {**self._arguments, "num_classes": self.num_classes,
            "resolution": self.resolution}

  @classmethod
  def from_config(cls, config: dict) -> "Discriminator":
    return cls(**config)

  @property
  def image_shape(self) -> Optional[tuple[int, int, int]]:
    return None if self.resolution is None else (
        self.resolution, self.resolution, 3)

  def build(self, images_shape, logits_shape):
    self._check_shapes(images_shape, logits_shape)
    # From the shapes, in the order `call` uses the layers (see Generator).
    h = (None,) + self.image_shape
    for block in self.blocks:
      block.build(h)
      h = block.compute_output_shape(h)
      if block.name in self.attention:
        self.attention[block.name].build(h)
    self.final_fc.build((None, self.features_dim))
    if self.embedding is not None:
      self.embedding.build((None, self.num_classes))
    layers.log_parameters(self, f"{self.resolution}x{self.resolution}, "
                          f"n_c {self.num_classes}")

  def build_for(self, num_classes: int,
                resolution: Optional[int] = None) -> "Discriminator":
    """Creates the weights for the given logit width and image size."""
    size = resolution or self.resolution
    if size is None:
      raise ValueError("Give a resolution: this discriminator has none yet.")
    shapes = ((None, size, size, 3), (None, num_classes))
    if self.built:
      self._check_shapes(*shapes)
    else:
      self.build(*shapes)
    return self

  def stage_layers(self) -> dict[str, list[keras.layers.Layer]]:
    """The layers behind each stage that `features` reports, then the
    projection, in order."""
    stages = {}
    for block in self.blocks or []:
      stages[block.name] = [block]
      if block.name in self.attention:
        stages[f"{block.name}_attention"] = [self.attention[block.name]]
    stages["features"] = []
    stages["projection"] = [l for l in (self.final_fc, self.embedding)
                            if l is not None]
    return stages

  def _check_shapes(self, images_shape, logits_shape) -> None:
    if self.resolution is None:
      shape = tuple(images_shape)
      if len(shape) != 4 or shape[1] != shape[2] or (
          shape[1] not in CHANNEL_MULTIPLIERS) or shape[3] != 3:
        raise ValueError(
            f"images has shape {list(shape)}; expected [B, R, R, 3] with R in "
            f"{sorted(CHANNEL_MULTIPLIERS)}.")
      self._make_blocks(int(shape[1]))
    checks.check_shape("images", images_shape, (None,) + self.image_shape,
                       "Images are RGB in [-1, 1] at the discriminator's "
                       "resolution.")
    checks.check_shape("logits", logits_shape, (None, self.num_classes))
    if self.num_classes is None:
      self.num_classes = int(logits_shape[-1])

  def call(self, images, logits, training=False):
    self._check_shapes(images.shape, logits.shape)
    checks.check_same_batch(("images", "logits"), (images, logits))
    checks.check_finite("images", images)
    checks.check_finite("logits", logits)
    features = self.features(images, training=training)
    return self.project(features, logits, training=training)

  def features(self, images, training: bool = False,
               on_stage: Optional[Callable[[str, tf.Tensor], None]] = None):
    """Psi(x) [B, C]: the blocks, a ReLU and a global sum over positions."""
    report = on_stage or (lambda name, h: None)
    h = tf.cast(images, self.compute_dtype)
    for block in self.blocks:
      h = block(h, training=training)
      report(block.name, h)
      if block.name in self.attention:
        h = self.attention[block.name](h, training=training)
        report(f"{block.name}_attention", h)
    # The sum over positions in float32, whatever the compute dtype.
    h = tf.reduce_sum(tf.cast(tf.nn.relu(h), tf.float32), axis=[1, 2])
    report("features", h)
    return h

  def project(self, features, logits, training: bool = False):
    """w1 . Psi + b + (W2 z) . Psi for features Psi [B, C], logits z [B, n_c]."""
    features = tf.cast(features, tf.float32)
    scores = tf.cast(self.final_fc(features, training=training)[:, 0],
                     tf.float32)
    if self.embedding is not None:
      embedded = self.embedding(tf.cast(logits, tf.float32),
                                training=training)
      scores += tf.reduce_sum(tf.cast(embedded, tf.float32) * features,
                              axis=1)
    return scores
