"""Leaf layers of the BigGAN generator and discriminator.

Every layer here takes explicit arguments; gin configures only the networks
that build them (see STYLE.md, "gin at the edges").

Layers, all NHWC:
  * `SNDense`, `SNConv2D`: dense / convolution whose kernel is divided by a
    power-iteration estimate of its largest singular value (Miyato et al.
    2018), as compare_gan's `spectral_norm` does.
  * `StandardizeBatch`: batch standardization without scale or offset, with
    either moving averages or accumulated ("standing") statistics for
    inference, as compare_gan's `standardize_batch`.
  * `ConditionalBatchNorm`: standardize, then gamma(c) = 1 + W_g c and
    beta(c) = W_b c.
  * `BatchNorm`: standardize, then a learned per-channel scale and offset.
  * `NonLocalBlock`: SAGAN / BigGAN self-attention with a gate initialised at 0.
  * `GeneratorBlock`, `DiscriminatorBlock`: BigGAN residual up / down blocks.

Why not `keras.layers.SpectralNormalization`: it keeps only the right singular
vector (compare_gan's 'left' and 'auto' are not available) and writes the
normalized kernel back into the wrapped layer's kernel, so gradients do not
flow through the normalization. Here the kernel variable stays raw and the
normalization is part of the forward pass, with u and v held constant in the
gradient, as in the SN-GAN paper and compare_gan.

Mixed precision: every weight is created with `autocast=False`, so it reads
as float32 under a mixed policy; each layer casts what it applies to the
compute dtype itself, and power iterations and batch statistics stay in
float32.
"""

from __future__ import annotations

import math
from typing import Optional

from absl import logging
import keras
import tensorflow as tf

INITIALIZERS = ("orthogonal", "normal", "truncated")
SINGULAR_VALUES = ("auto", "left", "right")
UPSAMPLING_MODES = ("nearest", "zeros")


def weight_initializer(name: str, stddev: float = 0.02) -> keras.initializers.Initializer:
  """The kernel initializer for compare_gan's `weights.initializer` names."""
  if name == "orthogonal":
    return keras.initializers.Orthogonal()
  if name == "normal":
    return keras.initializers.RandomNormal(stddev=stddev)
  if name == "truncated":
    return keras.initializers.TruncatedNormal(stddev=stddev)
  raise ValueError(
      f"Unknown weight initializer {name!r}; expected one of {INITIALIZERS}.")


def independent(initializer: keras.initializers.Initializer
                ) -> keras.initializers.Initializer:
  """A copy of `initializer` that draws its own seed.

  Keras 3 fixes an unseeded initializer's seed when the object is made, so
  one object shared by the layers of a network would give every weight of a
  shape the same values (every block's conv kernels, each conditional BN's
  gain and bias maps). An initializer given an integer seed keeps it.
  """
  return initializer.__class__.from_config(initializer.get_config())


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
  if value not in choices:
    raise ValueError(f"{name}={value!r} is not one of {choices}.")


def upsample(x: tf.Tensor, mode: str) -> tf.Tensor:
  """Doubles height and width: repeat pixels ('nearest', BigGAN) or insert
  zeros after each pixel ('zeros', compare_gan's `unpool`)."""
  if mode == "nearest":
    return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
  if mode == "zeros":
    batch = tf.shape(x)[0]
    _, height, width, channels = x.shape
    x = tf.stack([x, tf.zeros_like(x)], axis=3)  # [B, H, W, 2, C]
    x = tf.stack([x, tf.zeros_like(x)], axis=2)  # [B, H, 2, W, 2, C]
    return tf.reshape(x, [batch, 2 * height, 2 * width, channels])
  raise ValueError(f"upsampling={mode!r} is not one of {UPSAMPLING_MODES}.")


def downsample(x: tf.Tensor) -> tf.Tensor:
  """2x2 average pooling, stride 2."""
  return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME")


class _SpectralNormKernel(keras.layers.Layer):
  """Base for layers with a kernel that may be spectrally normalized.

  The kernel of shape [..., out] is viewed as a matrix [prod(...), out], as
  compare_gan does. One power iteration runs per call; only calls with
  `training=True` store the new singular vector, so inference is a pure
  function of the weights.
  """

  def __init__(self, *, spectral_norm: bool, singular_value: str,
               initializer: keras.initializers.Initializer,
               epsilon: float = 1e-12, **kwargs):
    super().__init__(**kwargs)
    _check_choice("singular_value", singular_value, SINGULAR_VALUES)
    self.spectral_norm = spectral_norm
    self.singular_value = singular_value
    self.initializer = initializer
    self.epsilon = epsilon

  def _add_kernel(self, shape: tuple[int, ...]) -> None:
    self.kernel = self.add_weight(autocast=False,
        name="kernel", shape=shape, initializer=independent(self.initializer))
    self._matrix_shape = (math.prod(shape[:-1]), shape[-1])
    if not self.spectral_norm:
      return
    rows, cols = self._matrix_shape
    side = self.singular_value
    if side == "auto":
      side = "left" if rows <= cols else "right"
    self._side = side
    # u is identical on every replica (it is a function of mirrored weights),
    # so the first replica's value is the value.
    self.u = self.add_weight(autocast=False,
        name="u", shape=(rows, 1) if side == "left" else (1, cols),
        initializer=keras.initializers.RandomNormal(stddev=1.0),
        trainable=False, aggregation="only_first_replica")

  def singular_value_estimate(self, training: bool = False) -> tf.Tensor:
    """Power-iteration estimate of the kernel's largest singular value."""
    w = tf.reshape(self.kernel, self._matrix_shape)
    u = tf.convert_to_tensor(self.u)
    l2 = lambda t: tf.math.l2_normalize(t, axis=None, epsilon=self.epsilon)
    if self._side == "left":
      v = l2(tf.matmul(w, u, transpose_a=True))  # [cols, 1]
      u = l2(tf.matmul(w, v))  # [rows, 1]
    else:
      v = l2(tf.matmul(u, w, transpose_b=True))  # [1, rows]
      u = l2(tf.matmul(v, w))  # [1, cols]
    if training:
      self.u.assign(u)
    u, v = tf.stop_gradient(u), tf.stop_gradient(v)
    if self._side == "left":
      return tf.squeeze(tf.matmul(tf.matmul(u, w, transpose_a=True), v))
    return tf.squeeze(tf.matmul(tf.matmul(v, w), u, transpose_b=True))

  def effective_kernel(self, training: bool = False) -> tf.Tensor:
    """The kernel the layer applies: raw, or divided by its spectral norm."""
    kernel = tf.convert_to_tensor(self.kernel)
    if not self.spectral_norm:
      return kernel
    return kernel / self.singular_value_estimate(training=training)


class SNDense(_SpectralNormKernel):
  """Dense layer [B, in] -> [B, units], optionally spectrally normalized."""

  def __init__(self, units: int, *, use_bias: bool = True,
               spectral_norm: bool = True, singular_value: str = "auto",
               initializer=None, **kwargs):
    super().__init__(spectral_norm=spectral_norm, singular_value=singular_value,
                     initializer=initializer or weight_initializer("orthogonal"),
                     **kwargs)
    self.units = units
    self.use_bias = use_bias

  def build(self, input_shape):
    self._add_kernel((int(input_shape[-1]), self.units))
    if self.use_bias:
      self.bias = self.add_weight(
          autocast=False, name="bias", shape=(self.units,),
          initializer="zeros")

  def call(self, inputs, training=False):
    kernel = tf.cast(self.effective_kernel(training=training), inputs.dtype)
    outputs = tf.matmul(inputs, kernel)
    if self.use_bias:
      outputs = outputs + tf.cast(self.bias, inputs.dtype)
    return outputs


class SNConv2D(_SpectralNormKernel):
  """Stride-1 'SAME' convolution, optionally spectrally normalized."""

  def __init__(self, filters: int, kernel_size: int, *, use_bias: bool = True,
               spectral_norm: bool = True, singular_value: str = "auto",
               initializer=None, **kwargs):
    super().__init__(spectral_norm=spectral_norm, singular_value=singular_value,
                     initializer=initializer or weight_initializer("orthogonal"),
                     **kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.use_bias = use_bias

  def build(self, input_shape):
    k = self.kernel_size
    self._add_kernel((k, k, int(input_shape[-1]), self.filters))
    if self.use_bias:
      self.bias = self.add_weight(
          autocast=False, name="bias", shape=(self.filters,),
          initializer="zeros")

  def call(self, inputs, training=False):
    kernel = tf.cast(self.effective_kernel(training=training), inputs.dtype)
    outputs = tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")
    if self.use_bias:
      outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, inputs.dtype))
    return outputs


class StandardizeBatch(keras.layers.Layer):
  """(x - mean) / sqrt(var + epsilon) per channel, no scale or offset.

  Training always normalizes with the statistics of the batch (over batch,
  height and width). Inference uses either
    * moving averages updated at each training call (`use_moving_averages`), or
    * standing statistics: the average of the batch statistics of N batches,
      accumulated after training (`use_moving_averages=False`, the paper's
      setting). While `accumulating` is set, calls normalize with batch
      statistics, as in training, and add them to the accumulators; the
      networks' `compute_standing_statistics` drives this.

  Deviation from compare_gan: while accumulating, compare_gan normalizes with
  the running average so far; here the batch's own statistics are used, as in
  BigGAN-PyTorch's standing statistics, so every layer sees the activations
  it saw in training.
  """

  def __init__(self, *, use_moving_averages: bool = False, decay: float = 0.9,
               epsilon: float = 1e-5,
               use_cross_replica_mean: Optional[bool] = None,
               **kwargs):
    super().__init__(**kwargs)
    self.use_moving_averages = use_moving_averages
    self.decay = decay
    self.epsilon = epsilon
    self.use_cross_replica_mean = use_cross_replica_mean
    self.accumulating = False

  def build(self, input_shape):
    channels = (int(input_shape[-1]),)
    stat = lambda name, init, shape=channels: self.add_weight(autocast=False,
        name=name, shape=shape, initializer=init, trainable=False,
        aggregation="mean")
    if self.use_moving_averages:
      self.moving_mean = stat("moving_mean", "zeros")
      self.moving_variance = stat("moving_variance", "ones")
    else:
      self.accumulated_mean = stat("accumulated_mean", "zeros")
      self.accumulated_variance = stat("accumulated_variance", "zeros")
      self.accumulated_count = stat("accumulated_count", "zeros", ())

  def _cross_replica(self, context) -> bool:
    """`use_cross_replica_mean`, or for None compare_gan's default: the
    statistics of the global batch on TPUs, of each replica's elsewhere."""
    if self.use_cross_replica_mean is not None:
      return bool(self.use_cross_replica_mean)
    return isinstance(context.strategy, (tf.distribute.TPUStrategy,
                                         tf.distribute.experimental.TPUStrategy))

  def batch_moments(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and (biased) variance over all axes but the last."""
    axes = list(range(len(x.shape) - 1))
    context = tf.distribute.get_replica_context()
    if (context is not None and context.num_replicas_in_sync > 1
        and self._cross_replica(context)):
      count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
      total, total_sq, count = context.all_reduce(
          tf.distribute.ReduceOp.SUM,
          [tf.reduce_sum(x, axes), tf.reduce_sum(tf.square(x), axes), count])
      mean = total / count
      return mean, tf.maximum(total_sq / count - tf.square(mean), 0.0)
    return tf.nn.moments(x, axes)

  def reset_standing_statistics(self) -> None:
    if self.use_moving_averages:
      raise ValueError("This layer keeps moving averages "
                       "(use_moving_averages=True), not standing statistics.")
    for var in (self.accumulated_mean, self.accumulated_variance,
                self.accumulated_count):
      var.assign(tf.zeros_like(var))

  def _inference_moments(self) -> tuple[tf.Tensor, tf.Tensor]:
    if self.use_moving_averages:
      return (tf.convert_to_tensor(self.moving_mean),
              tf.convert_to_tensor(self.moving_variance))
    count = tf.convert_to_tensor(self.accumulated_count)
    check = tf.debugging.assert_positive(
        count, message=(
            f"{self.name}: standing batch-norm statistics are empty. Call "
            "compute_standing_statistics(...) on the network after training "
            "(or set use_moving_averages=True)."))
    with tf.control_dependencies([check]):
      return (self.accumulated_mean / count, self.accumulated_variance / count)

  def call(self, inputs, training=False):
    x = tf.cast(inputs, tf.float32)
    if training or self.accumulating:
      mean, variance = self.batch_moments(x)
      if training and self.use_moving_averages:
        self.moving_mean.assign(
            self.decay * self.moving_mean + (1 - self.decay) * mean)
        self.moving_variance.assign(
            self.decay * self.moving_variance + (1 - self.decay) * variance)
      if self.accumulating and not training:
        self.accumulated_mean.assign_add(mean)
        self.accumulated_variance.assign_add(variance)
        self.accumulated_count.assign_add(1.0)
    else:
      mean, variance = self._inference_moments()
    outputs = (x - mean) * tf.math.rsqrt(variance + self.epsilon)
    return tf.cast(outputs, inputs.dtype)


class ConditionalBatchNorm(keras.layers.Layer):
  """Standardize x [B, H, W, C], then gamma(c) * x + beta(c) for c [B, d].

  gamma(c) = 1 + W_g c and beta(c) = W_b c, both linear maps without bias
  (compare_gan's `conditional_batch_norm` with `use_bias=False`).
  Deviation from compare_gan: it uses gamma(c) = W_g c, so a zero-initialised
  or small W_g scales activations towards 0 (compare_gan issue #54). We centre
  gamma at 1, as BigGAN does; `gamma_centered_at_one=False` restores
  compare_gan's form. The parameter count is the same.
  """

  def __init__(self, *, standardize: dict, spectral_norm: bool,
               singular_value: str, initializer,
               gamma_centered_at_one: bool = True, **kwargs):
    super().__init__(**kwargs)
    self.standardize = StandardizeBatch(name="standardize", **standardize)
    self.gamma_centered_at_one = gamma_centered_at_one
    self._linear_args = dict(use_bias=False, spectral_norm=spectral_norm,
                             singular_value=singular_value,
                             initializer=initializer)

  def build(self, inputs_shape, condition_shape):
    channels = int(inputs_shape[-1])
    self.gamma = SNDense(channels, name="gamma", **self._linear_args)
    self.beta = SNDense(channels, name="beta", **self._linear_args)
    self.standardize.build(inputs_shape)
    self.gamma.build(condition_shape)
    self.beta.build(condition_shape)

  def call(self, inputs, condition, training=False):
    outputs = self.standardize(inputs, training=training)
    gamma = self.gamma(condition, training=training)
    if self.gamma_centered_at_one:
      gamma = gamma + 1.0
    beta = self.beta(condition, training=training)
    return outputs * gamma[:, None, None, :] + beta[:, None, None, :]


class BatchNorm(keras.layers.Layer):
  """Unconditional batch norm: standardize, then learned scale and offset."""

  def __init__(self, *, standardize: dict, **kwargs):
    super().__init__(**kwargs)
    self.standardize = StandardizeBatch(name="standardize", **standardize)

  def build(self, input_shape):
    channels = (int(input_shape[-1]),)
    self.standardize.build(input_shape)
    self.gamma = self.add_weight(autocast=False, name="gamma",
                                 shape=channels, initializer="ones")
    self.beta = self.add_weight(autocast=False, name="beta", shape=channels,
                                initializer="zeros")

  def call(self, inputs, training=False):
    outputs = self.standardize(inputs, training=training)
    return (outputs * tf.cast(self.gamma, outputs.dtype)
            + tf.cast(self.beta, outputs.dtype))


class NonLocalBlock(keras.layers.Layer):
  """Self-attention over positions (SAGAN, BigGAN): x + sigma * o(attn).

  theta, phi: 1x1 convs to C/8; g: 1x1 conv to C/2; phi and g are 2x2
  max-pooled, so attention is [HW, HW/4]; o: 1x1 conv back to C. No biases.
  sigma is a learned scalar initialised at 0, so the block starts as identity.
  Needs C divisible by 8 and even H, W.
  """

  def __init__(self, *, spectral_norm: bool, singular_value: str, initializer,
               **kwargs):
    super().__init__(**kwargs)
    self._conv_args = dict(use_bias=False, spectral_norm=spectral_norm,
                           singular_value=singular_value,
                           initializer=initializer)

  def build(self, input_shape):
    channels = int(input_shape[-1])
    if channels % 8:
      raise ValueError(f"{self.name}: self-attention needs channels divisible "
                       f"by 8, got {channels}.")
    conv = lambda filters, name: SNConv2D(filters, 1, name=name,
                                          **self._conv_args)
    self.theta = conv(channels // 8, "theta")
    self.phi = conv(channels // 8, "phi")
    self.g = conv(channels // 2, "g")
    self.o = conv(channels, "o")
    for layer in (self.theta, self.phi, self.g):
      layer.build(input_shape)
    self.o.build(tuple(input_shape[:-1]) + (channels // 2,))
    self.sigma = self.add_weight(autocast=False, name="sigma", shape=(),
                                 initializer="zeros")

  def call(self, inputs, training=False):
    batch = tf.shape(inputs)[0]
    _, height, width, channels = inputs.shape
    flat = lambda t: tf.reshape(t, [batch, -1, t.shape[-1]])
    pool = lambda t: tf.nn.max_pool2d(t, ksize=2, strides=2, padding="VALID")
    theta = flat(self.theta(inputs, training=training))  # [B, HW, C/8]
    phi = flat(pool(self.phi(inputs, training=training)))  # [B, HW/4, C/8]
    g = flat(pool(self.g(inputs, training=training)))  # [B, HW/4, C/2]
    attention = tf.nn.softmax(tf.matmul(theta, phi, transpose_b=True))
    attended = tf.reshape(tf.matmul(attention, g),
                          [batch, height, width, channels // 2])
    sigma = tf.cast(self.sigma, inputs.dtype)
    return inputs + sigma * self.o(attended, training=training)


class GeneratorBlock(keras.layers.Layer):
  """BigGAN up-block [B, H, W, in] -> [B, 2H, 2W, out], conditioned on c.

  cbn(c) -> ReLU -> upsample -> conv3x3 -> cbn(c) -> ReLU -> conv3x3, plus a
  shortcut of upsample and a 1x1 conv (compare_gan's `BigGanResNetBlock`).
  """

  def __init__(self, out_channels: int, *, upsampling: str = "nearest",
               spectral_norm: bool, singular_value: str, initializer,
               standardize: dict, gamma_centered_at_one: bool = True,
               **kwargs):
    super().__init__(**kwargs)
    _check_choice("upsampling", upsampling, UPSAMPLING_MODES)
    self.upsampling = upsampling
    sn = dict(spectral_norm=spectral_norm, singular_value=singular_value,
              initializer=initializer)
    cbn = lambda name: ConditionalBatchNorm(
        standardize=standardize, gamma_centered_at_one=gamma_centered_at_one,
        name=name, **sn)
    self.bn1 = cbn("bn1")
    self.conv1 = SNConv2D(out_channels, 3, name="conv1", **sn)
    self.bn2 = cbn("bn2")
    self.conv2 = SNConv2D(out_channels, 3, name="conv2", **sn)
    self.shortcut = SNConv2D(out_channels, 1, name="shortcut", **sn)

  def build(self, inputs_shape, condition_shape):
    # In the order `call` uses them: each weight's initializer takes its
    # seed when the weight is made.
    out_shape = self.compute_output_shape(inputs_shape, condition_shape)
    self.bn1.build(inputs_shape, condition_shape)
    self.conv1.build(_resized(inputs_shape, 2))
    self.bn2.build(out_shape, condition_shape)
    self.conv2.build(out_shape)
    self.shortcut.build(inputs_shape)

  def compute_output_shape(self, inputs_shape, condition_shape) -> tuple:
    return _resized(inputs_shape, 2, self.conv1.filters)

  def call(self, inputs, condition, training=False):
    h = tf.nn.relu(self.bn1(inputs, condition, training=training))
    h = self.conv1(upsample(h, self.upsampling), training=training)
    h = tf.nn.relu(self.bn2(h, condition, training=training))
    h = self.conv2(h, training=training)
    if self.upsampling == "nearest":
      # A 1x1 conv commutes with pixel repetition: convolve the small map.
      shortcut = upsample(self.shortcut(inputs, training=training), "nearest")
    else:
      shortcut = self.shortcut(upsample(inputs, "zeros"), training=training)
    return h + shortcut


class DiscriminatorBlock(keras.layers.Layer):
  """BigGAN D block [B, H, W, in] -> [B, H/2, W/2, out] (or same size).

  [ReLU] -> conv3x3 -> ReLU -> conv3x3 -> [avg-pool], plus a shortcut of
  [avg-pool] and a 1x1 conv when in != out. compare_gan's rule when the
  channels match is no shortcut at all (`identity_shortcut=False`); BigGAN
  adds the identity there (`identity_shortcut=True`). Neither has parameters.
  """

  def __init__(self, out_channels: int, *, downsample: bool,
               preactivation: bool, add_shortcut: bool,
               identity_shortcut: bool = False, spectral_norm: bool,
               singular_value: str, initializer, **kwargs):
    super().__init__(**kwargs)
    sn = dict(spectral_norm=spectral_norm, singular_value=singular_value,
              initializer=initializer)
    self.downsample = downsample
    self.preactivation = preactivation
    self.identity_shortcut = identity_shortcut
    self.conv1 = SNConv2D(out_channels, 3, name="conv1", **sn)
    self.conv2 = SNConv2D(out_channels, 3, name="conv2", **sn)
    self.shortcut = (SNConv2D(out_channels, 1, name="shortcut", **sn)
                     if add_shortcut else None)

  def build(self, input_shape):
    self.conv1.build(input_shape)  # In the order `call` uses them.
    self.conv2.build(_resized(input_shape, 1, self.conv1.filters))
    if self.shortcut is not None:
      self.shortcut.build(input_shape)

  def compute_output_shape(self, input_shape) -> tuple:
    return _resized(input_shape, 0.5 if self.downsample else 1,
                    self.conv1.filters)

  def call(self, inputs, training=False):
    h = tf.nn.relu(inputs) if self.preactivation else inputs
    h = self.conv1(h, training=training)
    h = self.conv2(tf.nn.relu(h), training=training)
    if self.downsample:
      h = downsample(h)
    if self.shortcut is None and not self.identity_shortcut:
      return h
    # Average pooling commutes with a 1x1 conv: pool first, convolve less.
    shortcut = downsample(inputs) if self.downsample else inputs
    if self.shortcut is not None:
      shortcut = self.shortcut(shortcut, training=training)
    return h + shortcut


def sublayers(model: keras.layers.Layer, kind: type) -> list:
  """Every layer of type `kind` inside `model`, in creation order."""
  return [layer for layer in model._flatten_layers(include_self=False)
          if isinstance(layer, kind)]


def spectral_norm_layers(model: keras.layers.Layer) -> list[_SpectralNormKernel]:
  """Every spectrally normalized dense or conv layer inside `model`."""
  return [layer for layer in sublayers(model, _SpectralNormKernel)
          if layer.spectral_norm]


def _resized(shape, factor, channels=None) -> tuple:
  """`shape` [B, H, W, C] with H and W scaled by `factor` (and C replaced)."""
  batch, height, width, old_channels = shape
  scale = lambda size: None if size is None else int(size * factor)
  return (batch, scale(height), scale(width),
          old_channels if channels is None else channels)


def log_parameters(model: keras.layers.Layer, what: str) -> None:
  """Logs a built network's trainable parameter count, per top-level layer."""
  counts = {layer.name: sum(int(tf.size(w)) for w in layer.trainable_weights)
            for layer in model._flatten_layers(include_self=False,
                                               recursive=False)}
  logging.info("%s (%s): %s trainable parameters (%s)", model.name, what,
               f"{sum(counts.values()):,}",
               ", ".join(f"{k} {v:,}" for k, v in counts.items() if v))


def constructor_arguments(local_variables: dict) -> dict:
  """A network's constructor arguments from `locals()` taken first thing in
  its `__init__`, as JSON values (tuples become lists): its get_config.

  Keras records only the arguments a caller passed; gin fills the others,
  so Keras' own record would not rebuild the network without gin."""
  return {name: list(value) if isinstance(value, tuple) else value
          for name, value in local_variables.items()
          if name not in ("self", "__class__")}


def weights_by_path(model: keras.layers.Layer) -> dict[str, keras.Variable]:
  """Every weight of `model` keyed by its path below the model
  ('B1/conv1/kernel'): what a tf.train.Checkpoint should hold.

  TensorFlow's checkpoint graph does not see layers Keras 3 keeps in lists
  or dicts (a network's blocks), so checkpointing the model object would
  silently drop their weights; these keys depend only on layer names."""
  result = {}
  for weight in model.weights:
    key = weight.path.split("/", 1)[-1]
    if key in result:
      raise ValueError(f"Two weights of {model.name} share the path {key!r};"
                       " give their layers distinct names.")
    result[key] = weight
  return result
