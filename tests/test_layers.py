"""Leaf layers: spectral norm, batch standardization, conditional batch norm,
self-attention, up/down-sampling and the residual blocks, each checked against
an independent numpy computation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import layers

NORMAL = keras.initializers.RandomNormal(stddev=0.02)
EPS = 1e-5  # StandardizeBatch's default epsilon.


# --- Independent numpy reference implementations. ----------------------------


def rng(seed=0):
  return np.random.default_rng(seed)


def l2n(v, eps=1e-12):
  """tf.math.l2_normalize(v, axis=None, epsilon=eps) in numpy."""
  return v / np.sqrt(max(np.sum(v * v), eps))


def np_standardize(x, mean=None, var=None, eps=EPS):
  """(x - mean) / sqrt(var + eps), batch moments (biased) if not given."""
  if mean is None:
    mean = x.mean(axis=(0, 1, 2))
    var = x.var(axis=(0, 1, 2))
  return (x - mean) / np.sqrt(var + eps)


def np_conv2d(x, kernel, bias=None):
  """Stride-1 'SAME' convolution, x [B, H, W, I], kernel [k, k, I, O]."""
  k = kernel.shape[0]
  p = k // 2
  height, width = x.shape[1:3]
  xp = np.pad(x, ((0, 0), (p, k - 1 - p), (p, k - 1 - p), (0, 0)))
  out = np.zeros(x.shape[:3] + (kernel.shape[-1],))
  for i in range(k):
    for j in range(k):
      out += np.einsum("bhwi,io->bhwo", xp[:, i:i + height, j:j + width],
                       kernel[i, j])
  return out if bias is None else out + bias


def np_upsample(x, mode):
  b, h, w, c = x.shape
  out = np.zeros((b, 2 * h, 2 * w, c), x.dtype)
  if mode == "nearest":
    for di in range(2):
      for dj in range(2):
        out[:, di::2, dj::2] = x
  else:
    out[:, ::2, ::2] = x
  return out


def np_pool(x, reduce):
  b, h, w, c = x.shape
  return reduce(x.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))


def np_avg_pool(x):
  return np_pool(x, np.mean)


def np_max_pool(x):
  return np_pool(x, np.max)


def np_softmax(a):
  e = np.exp(a - a.max(axis=-1, keepdims=True))
  return e / e.sum(axis=-1, keepdims=True)


def relu(x):
  return np.maximum(x, 0)


def value(t):
  """A tensor, variable or array as a float64 numpy array."""
  return np.asarray(tf.convert_to_tensor(t), np.float64)


# --- Spectral normalization. --------------------------------------------------

# name -> (layer factory, input shape, kernel-as-matrix shape [rows, cols])
SN_LAYERS = {
    "dense_16x8": (lambda **kw: layers.SNDense(8, **kw), (2, 16), (16, 8)),
    "dense_4x8": (lambda **kw: layers.SNDense(8, **kw), (2, 4), (4, 8)),
    "dense_8x8": (lambda **kw: layers.SNDense(8, **kw), (2, 8), (8, 8)),
    "conv1x1_4to8": (lambda **kw: layers.SNConv2D(8, 1, **kw),
                     (1, 4, 4, 4), (4, 8)),
    "conv3x3_4to8": (lambda **kw: layers.SNConv2D(8, 3, **kw),
                     (1, 4, 4, 4), (36, 8)),
}


def make_sn_layer(name, singular_value, initializer=NORMAL):
  factory, input_shape, matrix_shape = SN_LAYERS[name]
  layer = factory(spectral_norm=True, singular_value=singular_value,
                  initializer=initializer)
  x = tf.constant(rng(1).normal(size=input_shape), tf.float32)
  layer.build(input_shape)
  return layer, x, matrix_shape


def expected_side(singular_value, rows, cols):
  if singular_value == "auto":
    return "left" if rows <= cols else "right"
  return singular_value


@pytest.mark.parametrize("singular_value", layers.SINGULAR_VALUES)
@pytest.mark.parametrize("name", list(SN_LAYERS))
def test_u_shape_follows_compare_gan(name, singular_value):
  """u is [rows, 1] for 'left', [1, cols] for 'right'; 'auto' picks left iff
  rows <= cols, with the kernel viewed as [prod(shape[:-1]), shape[-1]]."""
  layer, _, (rows, cols) = make_sn_layer(name, singular_value)
  side = expected_side(singular_value, rows, cols)
  assert tuple(layer.u.shape) == ((rows, 1) if side == "left" else (1, cols))
  assert not layer.u.trainable


@pytest.mark.parametrize("singular_value", layers.SINGULAR_VALUES)
@pytest.mark.parametrize("name", list(SN_LAYERS))
def test_spectral_norm_converges_to_one(name, singular_value):
  """After many training calls the effective kernel's largest singular value
  (numpy SVD) is 1, for a non-orthogonal initial kernel."""
  layer, x, matrix_shape = make_sn_layer(name, singular_value)
  raw = value(layer.kernel).reshape(matrix_shape)
  assert abs(np.linalg.svd(raw, compute_uv=False)[0] - 1) > 0.5  # not trivial
  for _ in range(60):
    layer(x, training=True)
  kernel = value(layer.effective_kernel()).reshape(matrix_shape)
  top = np.linalg.svd(kernel, compute_uv=False)[0]
  assert top == pytest.approx(1.0, abs=1e-2)


@pytest.mark.parametrize("singular_value", ["left", "right"])
def test_one_power_iteration_matches_numpy(singular_value):
  """One call runs exactly one power-iteration step from the stored u, stores
  the new u (training only) and estimates sigma = u^T W v."""
  layer, x, shape = make_sn_layer("conv3x3_4to8", singular_value)
  w = value(layer.kernel).reshape(shape)
  u0 = value(layer.u)
  if singular_value == "left":
    v = l2n(w.T @ u0)
    u1 = l2n(w @ v)
    sigma = (u1.T @ w @ v).item()
  else:
    v = l2n(u0 @ w.T)
    u1 = l2n(v @ w)
    sigma = (v @ w @ u1.T).item()
  estimate = float(layer.singular_value_estimate(training=False))
  assert estimate == pytest.approx(sigma, rel=1e-5)
  np.testing.assert_array_equal(value(layer.u), u0)
  layer(x, training=True)
  np.testing.assert_allclose(value(layer.u), u1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["dense_16x8", "conv3x3_4to8"])
def test_inference_does_not_update_u(name):
  """training=False calls leave u unchanged (inference is pure); a
  training=True call changes it."""
  layer, x, _ = make_sn_layer(name, "auto")
  u0 = value(layer.u)
  outputs = [value(layer(x, training=False)) for _ in range(3)]
  np.testing.assert_array_equal(value(layer.u), u0)
  np.testing.assert_array_equal(outputs[0], outputs[2])
  layer(x, training=True)
  assert np.abs(value(layer.u) - u0).max() > 1e-3


@pytest.mark.parametrize("singular_value", ["left", "right"])
def test_gradient_holds_singular_vectors_constant(singular_value):
  """d sum(x W / sigma) / dW with sigma = u^T W v and u, v constant:
  colsum(x) 1^T / sigma - S / sigma^2 * u v^T, S = sum(x W)."""
  layer = layers.SNDense(5, spectral_norm=True, singular_value=singular_value,
                         initializer=NORMAL)
  layer.build((3, 6))
  layer.bias.assign(rng(2).normal(size=5))
  x = rng(3).normal(size=(3, 6))
  w, u0, b = value(layer.kernel), value(layer.u), value(layer.bias)
  if singular_value == "left":  # u [6, 1], v [5, 1]
    v = l2n(w.T @ u0)
    u = l2n(w @ v)
    sigma, dsigma = (u.T @ w @ v).item(), u @ v.T
  else:  # v [1, 6], u [1, 5]
    v = l2n(u0 @ w.T)
    u = l2n(v @ w)
    sigma, dsigma = (v @ w @ u.T).item(), v.T @ u
  s = np.sum(x @ w)
  expected = np.outer(x.sum(axis=0), np.ones(5)) / sigma - s / sigma**2 * dsigma

  with tf.GradientTape() as tape:
    out = layer(tf.constant(x, tf.float32), training=False)
    loss = tf.reduce_sum(out)
  grad = value(tape.gradient(loss, layer.kernel))
  np.testing.assert_allclose(value(out), x @ w / sigma + b, rtol=1e-5,
                             atol=1e-5)
  scale = np.abs(expected).max()
  np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-5 * scale)
  # The sigma term matters: dropping it would be a visibly different gradient.
  naive = np.outer(x.sum(axis=0), np.ones(5)) / sigma
  assert np.abs(naive - expected).max() > 1e-3 * scale


def test_unknown_singular_value_is_rejected():
  """singular_value must be 'auto', 'left' or 'right'."""
  with pytest.raises(ValueError, match="singular_value"):
    layers.SNDense(4, singular_value="top")


# --- StandardizeBatch. --------------------------------------------------------


def batch(seed, shape=(4, 3, 3, 5)):
  r = rng(seed)
  return (r.normal(size=shape) * r.uniform(0.5, 3, size=shape[-1])
          + r.normal(size=shape[-1]) * 2).astype(np.float32)


@pytest.mark.parametrize("setting, on_tpu, expected", [
    (None, True, True), (None, False, False), (True, False, True),
    (False, True, False)])
def test_cross_replica_statistics_follow_compare_gan(setting, on_tpu,
                                                     expected):
  """None (compare_gan's default, left unbound by the paper's config) uses
  the global batch's statistics on TPUs only; True and False are kept."""
  import types
  strategy_type = (tf.distribute.TPUStrategy if on_tpu
                   else tf.distribute.MirroredStrategy)
  # A stand-in replica context: no TPU here, and only the type is read.
  context = types.SimpleNamespace(strategy=object.__new__(strategy_type))
  layer = layers.StandardizeBatch(use_cross_replica_mean=setting)
  assert layer._cross_replica(context) == expected


def test_standardize_training_uses_batch_statistics():
  """Training output is (x - mean) / sqrt(var + eps), biased variance over
  batch, height and width."""
  layer = layers.StandardizeBatch()
  x = batch(0)
  out = value(layer(x, training=True))
  np.testing.assert_allclose(out, np_standardize(x.astype(np.float64)),
                             rtol=1e-4, atol=1e-4)


def test_standardize_moving_averages():
  """Each training call applies m <- d m + (1 - d) batch_mean (from 0) and
  likewise for the variance (from 1); inference normalizes with them."""
  decay = 0.8
  layer = layers.StandardizeBatch(use_moving_averages=True, decay=decay)
  mean, var = np.zeros(5), np.ones(5)
  for k in range(3):
    x = batch(k).astype(np.float64)
    layer(x.astype(np.float32), training=True)
    mean = decay * mean + (1 - decay) * x.mean(axis=(0, 1, 2))
    var = decay * var + (1 - decay) * x.var(axis=(0, 1, 2))
  np.testing.assert_allclose(value(layer.moving_mean), mean, rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(value(layer.moving_variance), var, rtol=1e-5)
  x = batch(10)
  out = value(layer(x, training=False))
  np.testing.assert_allclose(out, np_standardize(x, mean, var), rtol=1e-4,
                             atol=1e-4)
  with pytest.raises(ValueError, match="moving averages"):
    layer.reset_standing_statistics()


def test_standing_statistics_are_averaged_batch_statistics():
  """Without accumulation inference fails with a message naming
  compute_standing_statistics; after accumulating N batches it normalizes
  with the mean of the batch means and of the batch variances; reset zeros
  the accumulators."""
  layer = layers.StandardizeBatch(use_moving_averages=False)
  x = batch(10)
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError),
                     match="compute_standing_statistics"):
    layer(x, training=False)
  layer(batch(11), training=True)  # training never accumulates
  assert float(layer.accumulated_count) == 0

  batches = [batch(k).astype(np.float64) for k in range(3)]
  layer.accumulating = True
  for b in batches:
    out = value(layer(b.astype(np.float32), training=False))
    np.testing.assert_allclose(out, np_standardize(b), rtol=1e-4, atol=1e-4)
  layer.accumulating = False
  assert float(layer.accumulated_count) == 3
  mean = np.mean([b.mean(axis=(0, 1, 2)) for b in batches], axis=0)
  var = np.mean([b.var(axis=(0, 1, 2)) for b in batches], axis=0)
  out = value(layer(x, training=False))
  np.testing.assert_allclose(out, np_standardize(x, mean, var), rtol=1e-4,
                             atol=1e-4)

  layer.reset_standing_statistics()
  for var in (layer.accumulated_mean, layer.accumulated_variance,
              layer.accumulated_count):
    np.testing.assert_array_equal(value(var), 0)
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError),
                     match="compute_standing_statistics"):
    layer(x, training=False)


# --- ConditionalBatchNorm and BatchNorm. --------------------------------------


@pytest.mark.parametrize("centered", [True, False])
def test_conditional_batch_norm(centered):
  """standardize(x) * (1 + c W_g) + c W_b, and without the 1 when
  gamma_centered_at_one=False."""
  layer = layers.ConditionalBatchNorm(
      standardize={}, spectral_norm=False, singular_value="auto",
      initializer=keras.initializers.RandomNormal(stddev=0.5),
      gamma_centered_at_one=centered)
  x = batch(0).astype(np.float64)
  c = rng(1).normal(size=(4, 3))
  out = value(layer(x.astype(np.float32), c.astype(np.float32), training=True))
  wg = value(layer.gamma.effective_kernel())
  wb = value(layer.beta.effective_kernel())
  np.testing.assert_array_equal(wg, value(layer.gamma.kernel))
  gamma = c @ wg + (1.0 if centered else 0.0)
  expected = (np_standardize(x) * gamma[:, None, None, :]
              + (c @ wb)[:, None, None, :])
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_batch_norm_scale_and_offset():
  """BatchNorm is standardize(x) * gamma + beta per channel."""
  layer = layers.BatchNorm(standardize={})
  x = batch(0).astype(np.float64)
  layer.build(x.shape)
  gamma, beta = rng(1).normal(size=5), rng(2).normal(size=5)
  layer.gamma.assign(gamma)
  layer.beta.assign(beta)
  out = value(layer(x.astype(np.float32), training=True))
  np.testing.assert_allclose(out, np_standardize(x) * gamma + beta, rtol=1e-4,
                             atol=1e-4)


# --- NonLocalBlock. -----------------------------------------------------------


def test_non_local_block():
  """Identity at init (sigma = 0); with sigma = 0.7, x + sigma * o(softmax(
  theta phi^T) g) with phi, g max-pooled 2x2, all 1x1 convs without bias."""
  layer = layers.NonLocalBlock(
      spectral_norm=False, singular_value="auto",
      initializer=keras.initializers.RandomNormal(stddev=0.3))
  x = rng(0).normal(size=(2, 4, 6, 16)).astype(np.float32)
  np.testing.assert_array_equal(value(layer(x)), x)

  layer.sigma.assign(0.7)
  out = value(layer(x))
  x64 = x.astype(np.float64)
  mat = lambda conv: value(conv.kernel)[0, 0]  # [C_in, C_out]
  b = x.shape[0]
  theta = (x64 @ mat(layer.theta)).reshape(b, -1, 2)
  phi = np_max_pool(x64 @ mat(layer.phi)).reshape(b, -1, 2)
  g = np_max_pool(x64 @ mat(layer.g)).reshape(b, -1, 8)
  attention = np_softmax(theta @ phi.transpose(0, 2, 1))  # [B, HW, HW/4]
  attended = (attention @ g).reshape(2, 4, 6, 8)
  expected = x64 + 0.7 * (attended @ mat(layer.o))
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
  assert not layer.theta.use_bias and not layer.o.use_bias


def test_non_local_block_needs_channels_divisible_by_8():
  """C not divisible by 8 is rejected with a clear error."""
  layer = layers.NonLocalBlock(spectral_norm=False, singular_value="auto",
                               initializer=NORMAL)
  with pytest.raises(ValueError, match="divisible by 8"):
    layer(np.zeros((1, 4, 4, 12), np.float32))


# --- Up- and down-sampling. ---------------------------------------------------


@pytest.mark.parametrize("mode", layers.UPSAMPLING_MODES)
def test_upsample(mode):
  """'nearest' fills each 2x2 block with the pixel; 'zeros' puts it at the
  block's top-left and zeros elsewhere; works with an unknown batch size."""
  x = rng(0).normal(size=(2, 3, 5, 4)).astype(np.float32)
  expected = np_upsample(x, mode)
  if mode == "nearest":
    assert expected[1, 5, 9, 2] == x[1, 2, 4, 2]
  else:
    assert expected[1, 4, 8, 2] == x[1, 2, 4, 2] and expected[1, 5, 8, 2] == 0
  np.testing.assert_array_equal(value(layers.upsample(x, mode)), expected)
  dynamic = tf.function(lambda t: layers.upsample(t, mode), input_signature=[
      tf.TensorSpec([None, 3, 5, 4])])
  np.testing.assert_array_equal(value(dynamic(x)), expected)


def test_upsample_rejects_unknown_mode():
  """Unknown upsampling modes are rejected."""
  with pytest.raises(ValueError, match="upsampling"):
    layers.upsample(np.zeros((1, 2, 2, 1), np.float32), "bilinear")


def test_downsample_is_2x2_average_pooling():
  """downsample averages each 2x2 block."""
  x = rng(0).normal(size=(2, 4, 6, 3)).astype(np.float32)
  np.testing.assert_allclose(value(layers.downsample(x)), np_avg_pool(x),
                             rtol=1e-6, atol=1e-6)


# --- Residual blocks. ---------------------------------------------------------

BLOCK_SN = dict(spectral_norm=False, singular_value="auto",
                initializer=keras.initializers.RandomNormal(stddev=0.3))


def randomize_biases(block, seed):
  r = rng(seed)
  for conv in (block.conv1, block.conv2, block.shortcut):
    if conv is not None:
      conv.bias.assign(r.normal(size=conv.bias.shape))


def conv_weights(conv):
  return value(conv.kernel), value(conv.bias)


@pytest.mark.parametrize("upsampling", layers.UPSAMPLING_MODES)
def test_generator_block_shape_and_values(upsampling):
  """[B, H, W, in] -> [B, 2H, 2W, out], equal to cbn -> relu -> upsample ->
  conv3 -> cbn -> relu -> conv3 plus conv1(upsample(x)), all in numpy."""
  block = layers.GeneratorBlock(5, upsampling=upsampling, standardize={},
                                **BLOCK_SN)
  x = rng(0).normal(size=(3, 4, 4, 6))
  c = rng(1).normal(size=(3, 7))
  block(x.astype(np.float32), c.astype(np.float32), training=True)
  randomize_biases(block, 2)
  out = value(block(x.astype(np.float32), c.astype(np.float32), training=True))
  assert out.shape == (3, 8, 8, 5)

  def cbn(bn, h):
    gamma = 1 + c @ value(bn.gamma.kernel)
    return (np_standardize(h) * gamma[:, None, None, :]
            + (c @ value(bn.beta.kernel))[:, None, None, :])

  h = np_upsample(relu(cbn(block.bn1, x)), upsampling)
  h = np_conv2d(h, *conv_weights(block.conv1))
  h = np_conv2d(relu(cbn(block.bn2, h)), *conv_weights(block.conv2))
  expected = h + np_conv2d(np_upsample(x, upsampling),
                           *conv_weights(block.shortcut))
  np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)


def test_discriminator_block_shapes():
  """[B, H, W, in] -> [B, H/2, W/2, out], or same size without downsample."""
  for down, size in ((True, 4), (False, 8)):
    block = layers.DiscriminatorBlock(
        6, downsample=down, preactivation=True, add_shortcut=True,
        spectral_norm=True, singular_value="auto", initializer=NORMAL)
    out = block(np.zeros((2, 8, 8, 3), np.float32), training=True)
    assert tuple(out.shape) == (2, size, size, 6)


@pytest.mark.parametrize(
    "c_in,c_out,down,preactivation,add_shortcut,identity", [
        (4, 4, True, True, False, False),  # compare_gan: no shortcut
        (4, 4, False, False, False, False),
        (4, 4, True, True, False, True),  # BigGAN: identity shortcut
        (4, 4, False, True, False, True),
        (3, 6, True, False, True, False),  # 1x1 conv shortcut
        (3, 6, False, True, True, False),
    ])
def test_discriminator_block_values(c_in, c_out, down, preactivation,
                                    add_shortcut, identity):
  """[relu] -> conv3 -> relu -> conv3 -> [pool], plus nothing, the (pooled)
  input, or conv1 of the (pooled) input, all in numpy."""
  block = layers.DiscriminatorBlock(
      c_out, downsample=down, preactivation=preactivation,
      add_shortcut=add_shortcut, identity_shortcut=identity, **BLOCK_SN)
  x = rng(0).normal(size=(2, 4, 6, c_in))
  block(x.astype(np.float32))
  randomize_biases(block, 1)
  out = value(block(x.astype(np.float32), training=True))

  h = relu(x) if preactivation else x
  h = np_conv2d(h, *conv_weights(block.conv1))
  h = np_conv2d(relu(h), *conv_weights(block.conv2))
  pool = np_avg_pool if down else (lambda t: t)
  expected = pool(h)
  if add_shortcut:
    expected = expected + np_conv2d(pool(x), *conv_weights(block.shortcut))
  elif identity:
    expected = expected + pool(x)
  assert out.shape == ((2, 2, 3, c_out) if down else (2, 4, 6, c_out))
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


# --- Layer helpers. -----------------------------------------------------------


def test_spectral_norm_layers_finds_only_normalized_layers():
  """spectral_norm_layers lists the normalized convs of a block and skips
  unnormalized ones."""
  block = layers.DiscriminatorBlock(
      6, downsample=True, preactivation=True, add_shortcut=True,
      spectral_norm=True, singular_value="auto", initializer=NORMAL)
  block(np.zeros((1, 4, 4, 3), np.float32))
  assert layers.spectral_norm_layers(block) == [
      block.conv1, block.conv2, block.shortcut]
  plain = layers.DiscriminatorBlock(6, downsample=True, preactivation=True,
                                    add_shortcut=True, **BLOCK_SN)
  plain(np.zeros((1, 4, 4, 3), np.float32))
  assert layers.spectral_norm_layers(plain) == []
