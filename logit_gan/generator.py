"""BigGAN generator G(z, eps) conditioned on a classifier's logits z.

Images are in [-1, 1] (tanh output), the package's pixel range everywhere.

Architecture (compare_gan's `resnet_biggan.Generator`, one-hot labels
replaced by logits): the logits [B, n_c] are embedded by a bias-free linear
map to `embed_dim`; the noise [B, z_dim] is split into num_blocks + 1 chunks;
the first chunk seeds a 4x4 map through a linear layer; each up-block is
conditioned (conditional batch norm) on concat(its chunk, embedded logits);
then an unconditional batch norm, ReLU, 3x3 conv to RGB and tanh.

At the defaults, `Generator(ch=96, resolution=64)`, this is the paper's
Table 3:
  Linear(noise) 4x4x1536 -> up 8x8x1536 -> up 16x16x768 -> up 32x32x384
  -> up 64x64x192 -> non-local 64x64x192 -> BN, ReLU, conv 64x64x3, tanh.

Trainable parameters (equal to compare_gan's resnet_biggan with the same
options; pinned in tests/test_networks.py):
  64x64, ch 96:  70,239,108 (n_c = 1000), 70,112,388 (n_c = 10)
  128x128, ch 96, n_c = 1000: 70,433,988 (compare_gan's own pinned number)

Deliberate departures from compare_gan (none changes the parameter count):
  * Conditional BN scale is 1 + W c (BigGAN), not W c (compare_gan issue #54):
    `gamma_centered_at_one=False` restores compare_gan.
  * Upsampling repeats pixels (nearest neighbour, BigGAN); compare_gan's
    `unpool` inserts zeros: `upsampling='zeros'` restores it.
  * Output in [-1, 1]; compare_gan maps tanh to [0, 1].
  * Spectral norm runs one power iteration per training call; inference
    computes the estimate from the stored vector without updating it.
  * Standing statistics normalize with batch statistics while accumulating
    (see `layers.StandardizeBatch`).
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Sequence
import weakref

import keras
import tensorflow as tf

from logit_gan import checks
from logit_gan import layers
from logit_gan.configurable import configurable

CHANNEL_MULTIPLIERS = {
    16: (4, 4, 4),  # Not in compare_gan: small runs on small machines.
    32: (4, 4, 4, 4),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
}
SEED_SIZE = 4


def _attention_default(resolution: int) -> tuple[str, ...]:
  """Attention after the block whose output is 64x64 (BigGAN's G_attn=64)."""
  num_blocks = len(CHANNEL_MULTIPLIERS[resolution]) - 1
  sizes = [SEED_SIZE * 2 ** (i + 1) for i in range(num_blocks)]
  return tuple(f"B{i + 1}" for i, s in enumerate(sizes) if s == 64)


class LogitGenerator(keras.Model):
  """What the package's generators share (`Generator`, and the baseline's
  `baselines.decoder.DecoderGenerator`): images [B, R, R, 3] in [-1, 1]
  from logits [B, n_c] and noise [B, z_dim].

  A subclass keeps its constructor's arguments in `_arguments` (see
  `layers.constructor_arguments`), sets `resolution`, `z_dim` and
  `num_classes`, and defines `build(logits_shape, noise_shape)` and
  `forward(logits, noise, training)`; then `get_config()` rebuilds it
  without gin, `build_for` creates its weights running nothing, and
  calling it checks its inputs.
  """

  NOISE_HINT = "The generator was built with z_dim={z_dim}."

  def get_config(self) -> dict:
    """The constructor's arguments, JSON-serialisable, with the logit width
    the network was built for."""
    return {**self._arguments, "num_classes": self.num_classes}

  @classmethod
  def from_config(cls, config: dict) -> "LogitGenerator":
    return cls(**config)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return (self.resolution, self.resolution, 3)

  def build_for(self, num_classes: int) -> "LogitGenerator":
    """Creates the weights for logits of width `num_classes`; runs nothing."""
    if self.built:
      self._check_shapes((None, num_classes), (None, self.z_dim))
    else:
      self.build((None, num_classes), (None, self.z_dim))
    return self

  def _check_shapes(self, logits_shape, noise_shape) -> None:
    hint = ("Pass the classifier's logits (pre-softmax), one row per image."
            if self.num_classes else "")
    checks.check_shape("logits", logits_shape, (None, self.num_classes), hint)
    checks.check_shape("noise", noise_shape, (None, self.z_dim),
                       self.NOISE_HINT.format(z_dim=self.z_dim))
    if self.num_classes is None:
      self.num_classes = int(logits_shape[-1])

  def call(self, logits, noise, training=False):
    self._check_shapes(logits.shape, noise.shape)
    checks.check_same_batch(("logits", "noise"), (logits, noise))
    checks.check_finite("logits", logits)
    checks.check_finite("noise", noise)
    return self.forward(logits, noise, training=training)


@configurable
class Generator(LogitGenerator):
  """G(logits [B, n_c], noise [B, z_dim]) -> images [B, R, R, 3] in [-1, 1].

  Args:
    ch: channel multiplier; the seed's and blocks' widths are ch times
      `channel_multipliers`.
    resolution: output size, 16, 32, 64 or 128.
    channel_multipliers: one per stage (the seed, then each block); None:
      `CHANNEL_MULTIPLIERS[resolution]`, compare_gan's.
    z_dim: noise size; with `hierarchical_z` divisible by num_blocks + 1.
    hierarchical_z: split the noise across the seed and the blocks.
    embed_labels: embed the logits linearly to `embed_dim` before
      conditioning (compare_gan's `embed_y`).
    embed_dim: size of the logit embedding.
    blocks_with_attention: comma-separated block names ("B4") followed by a
      non-local block; None: after the block producing 64x64, if any.
    spectral_norm: spectral normalization of every weight but the embedding.
    singular_value: 'auto' | 'left' | 'right', which singular vector the
      power iteration keeps (compare_gan's `spectral_norm.singular_value`).
    initializer, init_stddev: 'orthogonal' | 'normal' | 'truncated' and the
      stddev of the latter two (compare_gan's `weights.*`).
    use_moving_averages, bn_decay, bn_epsilon, use_cross_replica_mean:
      compare_gan's `standardize_batch.*`; the paper uses standing statistics
      (`use_moving_averages=False`), decay 0.9, epsilon 1e-5. With several
      replicas, `use_cross_replica_mean` True normalizes with the global
      batch's statistics, False with each replica's, and None (compare_gan's
      default, which the paper's TPU runs used) with the global batch's
      under a TPUStrategy and each replica's otherwise.
    upsampling, gamma_centered_at_one: see the module docstring.
    num_classes: logit width n_c; None takes it from the first call.

  `get_config()` holds every argument (those gin filled in too), so
  `Generator.from_config(g.get_config())` has g's architecture, weight
  shapes and weight paths, without gin.
  """

  def __init__(self, *, ch: int = 96, resolution: int = 64,
               channel_multipliers: Optional[Sequence[int]] = None,
               z_dim: int = 120,
               hierarchical_z: bool = True, embed_labels: bool = True,
               embed_dim: int = 128, blocks_with_attention: Optional[str] = None,
               spectral_norm: bool = True, singular_value: str = "auto",
               initializer: str = "orthogonal", init_stddev: float = 0.02,
               use_moving_averages: bool = False, bn_decay: float = 0.9,
               bn_epsilon: float = 1e-5,
               use_cross_replica_mean: Optional[bool] = None,
               upsampling: str = "nearest", gamma_centered_at_one: bool = True,
               num_classes: Optional[int] = None, name: str = "generator"):
    # First, while locals() holds only the arguments.
    arguments = layers.constructor_arguments(locals())
    super().__init__(name=name)
    self._arguments = arguments
    if resolution not in CHANNEL_MULTIPLIERS:
      raise ValueError(f"Generator resolution={resolution} is not supported; "
                       f"choose one of {sorted(CHANNEL_MULTIPLIERS)}.")
    multipliers = checks.channel_multipliers(
        channel_multipliers, CHANNEL_MULTIPLIERS[resolution], resolution,
        "Generator")
    self.num_blocks = len(multipliers) - 1
    if hierarchical_z and z_dim % (self.num_blocks + 1):
      raise ValueError(
          f"z_dim={z_dim} must be divisible by {self.num_blocks + 1} (the "
          f"{self.num_blocks} blocks plus the seed) with hierarchical_z.")
    self.ch = ch
    self.resolution = resolution
    self.z_dim = z_dim
    self.hierarchical_z = hierarchical_z
    self.embed_labels = embed_labels
    self.num_classes = num_classes
    self.use_moving_averages = use_moving_averages
    self.channels = [ch * m for m in multipliers]
    init = layers.weight_initializer(initializer, init_stddev)
    self.embed = (layers.SNDense(embed_dim, use_bias=False, spectral_norm=False,
                                 initializer=init, name="embed_logits")
                  if embed_labels else None)
    self._make_layers(
        attention=checks.parse_block_names(
            blocks_with_attention, self.num_blocks,
            _attention_default(resolution), "Generator"),
        sn=dict(spectral_norm=spectral_norm, singular_value=singular_value,
                initializer=init),
        standardize=dict(use_moving_averages=use_moving_averages,
                         decay=bn_decay, epsilon=bn_epsilon,
                         use_cross_replica_mean=use_cross_replica_mean),
        upsampling=upsampling, gamma_centered_at_one=gamma_centered_at_one)

  def _make_layers(self, *, attention, sn: dict, standardize: dict,
                   upsampling: str, gamma_centered_at_one: bool) -> None:
    """The seed layer, the up-blocks (with their attention) and the output
    layers, in the order `build` creates their weights."""
    self.seed = layers.SNDense(
        self.channels[0] * SEED_SIZE ** 2, name="seed", **sn)
    self.blocks = []
    self.attention = {}
    for i, out_channels in enumerate(self.channels[1:]):
      block_name = f"B{i + 1}"
      self.blocks.append(layers.GeneratorBlock(
          out_channels, upsampling=upsampling, standardize=standardize,
          gamma_centered_at_one=gamma_centered_at_one, name=block_name, **sn))
      if block_name in attention:
        self.attention[block_name] = layers.NonLocalBlock(
            name=f"{block_name}_attention", **sn)
    self.final_bn = layers.BatchNorm(standardize=standardize, name="final_bn")
    self.final_conv = layers.SNConv2D(3, 3, name="final_conv", **sn)

  def build(self, logits_shape, noise_shape):
    self._check_shapes(logits_shape, noise_shape)
    # From the shapes alone, in the order `forward` uses the layers (each
    # initializer takes its seed when its weight is made); tracing a
    # forward pass instead took seconds per network.
    condition = self.num_classes
    if self.embed is not None:
      self.embed.build((None, self.num_classes))
      condition = self.embed.units
    seed_noise = self.z_dim
    if self.hierarchical_z:
      seed_noise = self.z_dim // (self.num_blocks + 1)
      condition += seed_noise  # Each block's share of the noise.
    self.seed.build((None, seed_noise))
    h = (None, SEED_SIZE, SEED_SIZE, self.channels[0])
    for block in self.blocks:
      block.build(h, (None, condition))
      h = block.compute_output_shape(h, (None, condition))
      if block.name in self.attention:
        self.attention[block.name].build(h)
    self.final_bn.build(h)
    self.final_conv.build(h)
    layers.log_parameters(self, f"{self.resolution}x{self.resolution}, "
                          f"n_c {self.num_classes}, z_dim {self.z_dim}")

  def stage_layers(self) -> dict[str, list[keras.layers.Layer]]:
    """The layers behind each stage that `forward` reports, in order."""
    stages = {"seed": [l for l in (self.embed, self.seed) if l is not None]}
    for block in self.blocks:
      stages[block.name] = [block]
      if block.name in self.attention:
        stages[f"{block.name}_attention"] = [self.attention[block.name]]
    stages["output"] = [self.final_bn, self.final_conv]
    return stages

  def forward(self, logits, noise, training: bool = False,
              on_stage: Optional[Callable[[str, tf.Tensor], None]] = None):
    """The network itself; `on_stage(name, output)` sees every stage."""
    report = on_stage or (lambda name, h: None)
    # Under a mixed-precision policy the network computes in its compute
    # dtype and hands back float32 images.
    logits = tf.cast(logits, self.compute_dtype)
    noise = tf.cast(noise, self.compute_dtype)
    condition = self.embed(logits) if self.embed is not None else logits
    if self.hierarchical_z:
      seed_noise, *block_noise = tf.split(noise, self.num_blocks + 1, axis=1)
      conditions = [tf.concat([z, condition], axis=1) for z in block_noise]
    else:
      seed_noise, conditions = noise, [condition] * self.num_blocks
    h = self.seed(seed_noise, training=training)
    h = tf.reshape(h, [-1, SEED_SIZE, SEED_SIZE, self.channels[0]])
    report("seed", h)
    for block, block_condition in zip(self.blocks, conditions):
      h = block(h, block_condition, training=training)
      report(block.name, h)
      if block.name in self.attention:
        h = self.attention[block.name](h, training=training)
        report(f"{block.name}_attention", h)
    h = tf.nn.relu(self.final_bn(h, training=training))
    h = tf.tanh(tf.cast(self.final_conv(h, training=training), tf.float32))
    report("output", h)
    return h

  def compute_standing_statistics(
      self, batches: Iterable[tuple[tf.Tensor, tf.Tensor]]) -> int:
    """Refills the batch-norm statistics used at inference.

    Runs the generator in inference mode over `batches` of (logits, noise),
    normalizing each batch with its own statistics and averaging them per
    layer (the paper's "standing statistics"). Returns the number of batches.
    """
    if self.use_moving_averages:
      raise ValueError("This generator keeps moving averages "
                       "(use_moving_averages=True); it has no standing "
                       "statistics to compute.")
    norms = layers.sublayers(self, layers.StandardizeBatch)
    count = 0
    step = None
    try:
      for logits, noise in batches:
        if step is None:
          self.build_for(int(logits.shape[-1]))
          for norm in norms:
            norm.reset_standing_statistics()
            norm.accumulating = True
          step = _accumulating_forward(self)
        step(logits, noise)
        count += 1
    finally:
      for norm in norms:
        norm.accumulating = False
    if not count:
      raise ValueError("compute_standing_statistics got no batches.")
    return count


# Generator -> its traced accumulating forward pass. Held here, not as an
# attribute, so that a SavedModel of the generator does not carry it.
_ACCUMULATING_FORWARD = weakref.WeakKeyDictionary()


def _accumulating_forward(generator: Generator) -> Callable:
  """The forward pass `compute_standing_statistics` runs, traced once per
  generator (with its norms accumulating) and reused by every refill:
  tracing it anew took seconds at each of training's evaluations."""
  forward = _ACCUMULATING_FORWARD.get(generator)
  if forward is None:
    reference = weakref.ref(generator)  # The cache must not keep it alive.
    forward = tf.function(
        lambda logits, noise: reference().forward(logits, noise,
                                                  training=False))
    _ACCUMULATING_FORWARD[generator] = forward
  return forward
