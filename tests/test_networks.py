"""Generator and discriminator: shapes, parameter counts, conditioning,
projection, standing statistics and input errors."""

import numpy as np
import pytest
import tensorflow as tf

from logit_gan import describe
from logit_gan import layers
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator

# --- Parameter counts derived from compare_gan's architecture, by hand. -------
# Written from the layer tables of compare_gan's resnet_biggan.py, without our
# model code: it must reproduce compare_gan's own pinned 128x128 numbers.

G_MULTIPLIERS = {32: [4, 4, 4, 4], 64: [16, 16, 8, 4, 2],
                 128: [16, 16, 8, 4, 2, 1]}
D_MULTIPLIERS = {32: [2, 2, 2, 2], 64: [2, 4, 8, 16, 16],
                 128: [1, 2, 4, 8, 16, 16]}


def attention_params(c):
  return 2 * c * (c // 8) + 2 * c * (c // 2) + 1  # theta, phi, g, o, sigma


def conv_params(k, c_in, c_out, bias=True):
  return k * k * c_in * c_out + (c_out if bias else 0)


def expected_generator_params(resolution, n_c, ch=96, z_dim=120,
                              attention_block=4, embed=True, embed_dim=128,
                              hierarchical=True, multipliers=None):
  widths = [ch * m for m in multipliers or G_MULTIPLIERS[resolution]]
  num_blocks = len(widths) - 1
  y_dim = embed_dim if embed else n_c
  seed_in = z_dim // (num_blocks + 1) if hierarchical else z_dim
  cond_dim = seed_in + y_dim if hierarchical else y_dim
  total = (n_c * embed_dim if embed else 0)
  total += seed_in * widths[0] * 16 + widths[0] * 16
  for b, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
    total += 2 * cond_dim * c_in + 2 * cond_dim * c_out  # two conditional BNs
    total += conv_params(3, c_in, c_out) + conv_params(3, c_out, c_out)
    total += conv_params(1, c_in, c_out)
    if b == attention_block:
      total += attention_params(c_out)
  return total + 2 * widths[-1] + conv_params(3, widths[-1], 3)


def expected_discriminator_params(resolution, n_c, ch=96, attention_block=1,
                                  project=True, multipliers=None):
  widths = [ch * m for m in multipliers or D_MULTIPLIERS[resolution]]
  total = 0
  for b, (c_in, c_out) in enumerate(zip([3] + widths, widths), start=1):
    total += conv_params(3, c_in, c_out) + conv_params(3, c_out, c_out)
    if c_in != c_out:
      total += conv_params(1, c_in, c_out)
    if b == attention_block:
      total += attention_params(c_out)
  return total + widths[-1] + 1 + (n_c * widths[-1] if project else 0)


def test_hand_count_reproduces_compare_gans_pinned_numbers():
  assert expected_generator_params(128, 1000) == 70_433_988
  assert expected_discriminator_params(128, 1000) == 87_982_370


def trainable(model):
  return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.fixture(scope="module")
def paper_networks():
  """The paper's 64x64 networks for n_c = 1000 and 10 (normal init: the count
  does not depend on it, and orthogonal init of these takes minutes here)."""
  return {n_c: (Generator(initializer="normal").build_for(n_c),
                Discriminator(initializer="normal").build_for(n_c, 64))
          for n_c in (1000, 10)}


@pytest.mark.slow
@pytest.mark.parametrize("n_c", [1000, 10])
def test_paper_parameter_counts(paper_networks, n_c):
  generator, discriminator = paper_networks[n_c]
  assert trainable(generator) == expected_generator_params(64, n_c)
  assert trainable(discriminator) == expected_discriminator_params(64, n_c)


@pytest.mark.slow
def test_paper_tables_3_and_4(paper_networks):
  generator, discriminator = paper_networks[1000]
  g = [(s.name, s.output_shape[1:])
       for s in describe.generator_stages(generator, 1000)]
  assert g == [("seed", (4, 4, 1536)), ("B1", (8, 8, 1536)),
               ("B2", (16, 16, 768)), ("B3", (32, 32, 384)),
               ("B4", (64, 64, 192)), ("B4_attention", (64, 64, 192)),
               ("output", (64, 64, 3))]
  d = [(s.name, s.output_shape[1:])
       for s in describe.discriminator_stages(discriminator, 1000, 64)]
  assert d == [("B1", (32, 32, 192)), ("B1_attention", (32, 32, 192)),
               ("B2", (16, 16, 384)), ("B3", (8, 8, 768)),
               ("B4", (4, 4, 1536)), ("B5", (4, 4, 1536)),
               ("features", (1536,)), ("projection", ())]


@pytest.mark.slow
def test_compare_gan_128_parameter_counts():
  generator = Generator(resolution=128, initializer="normal").build_for(1000)
  discriminator = Discriminator(initializer="normal").build_for(1000, 128)
  assert trainable(generator) == 70_433_988
  assert trainable(discriminator) == 87_982_370


@pytest.mark.parametrize("options", [
    dict(embed_labels=False),
    dict(hierarchical_z=False),
    dict(embed_dim=64, blocks_with_attention="B1"),
])
def test_generator_options_change_counts_as_compare_gan(options):
  generator = Generator(ch=8, resolution=32, **options).build_for(7)
  expected = expected_generator_params(
      32, 7, ch=8, embed=options.get("embed_labels", True),
      hierarchical=options.get("hierarchical_z", True),
      embed_dim=options.get("embed_dim", 128),
      attention_block=1 if "blocks_with_attention" in options else None)
  assert trainable(generator) == expected


def test_discriminator_without_projection_or_attention():
  discriminator = Discriminator(ch=8, project_labels=False,
                                blocks_with_attention="").build_for(7, 32)
  assert trainable(discriminator) == expected_discriminator_params(
      32, 7, ch=8, attention_block=None, project=False)


def test_channel_multipliers_set_the_widths():
  g_multipliers, d_multipliers = (4, 2, 2, 1), (2, 2, 4, 8)
  generator = Generator(ch=8, resolution=32,
                        channel_multipliers=g_multipliers).build_for(7)
  discriminator = Discriminator(
      ch=8, channel_multipliers=d_multipliers).build_for(7, 32)
  assert trainable(generator) == expected_generator_params(
      32, 7, ch=8, attention_block=None, multipliers=g_multipliers)
  assert trainable(discriminator) == expected_discriminator_params(
      32, 7, ch=8, multipliers=d_multipliers)
  logits, noise = inputs(7)
  images = generator(logits, noise, training=True)
  assert images.shape == (3, 32, 32, 3)
  assert discriminator(images, logits, training=True).shape == (3,)


@pytest.mark.parametrize("bad", [(4, 4), (4, 4, 0), (4, 4, 2.5)])
def test_channel_multipliers_need_one_positive_integer_per_stage(bad):
  with pytest.raises(ValueError, match=r"3 positive integers.*\(4, 4, 4\)"):
    Generator(resolution=16, channel_multipliers=bad)
  with pytest.raises(ValueError, match=r"3 positive integers.*\(2, 2, 2\)"):
    Discriminator(resolution=16, channel_multipliers=bad)


# --- Shapes at every resolution. ----------------------------------------------


def small_pair(resolution, n_c, **g_options):
  generator = Generator(ch=8, resolution=resolution, **g_options)
  discriminator = Discriminator(ch=8)
  return generator, discriminator


def inputs(n_c, batch=3, z_dim=120, seed=0):
  rng = np.random.default_rng(seed)
  return (tf.constant(rng.normal(size=(batch, n_c)) * 3, tf.float32),
          tf.constant(rng.normal(size=(batch, z_dim)), tf.float32))


@pytest.mark.parametrize("resolution", [16, 32, 64, 128])
def test_output_shapes(resolution):
  n_c = 13
  generator, discriminator = small_pair(resolution, n_c)
  logits, noise = inputs(n_c)
  images = generator(logits, noise, training=True)
  assert images.shape == (3, resolution, resolution, 3)
  assert np.all(np.abs(images.numpy()) <= 1.0)
  scores = discriminator(images, logits, training=True)
  assert scores.shape == (3,)
  assert discriminator.resolution == resolution


# --- Conditioning and standing statistics. ------------------------------------


def fill_standing_statistics(generator, n_c, batches=4):
  generator.compute_standing_statistics(
      inputs(n_c, batch=16, seed=100 + i) for i in range(batches))


def test_inference_needs_standing_statistics():
  generator = Generator(ch=8, resolution=32)
  logits, noise = inputs(5)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match="compute_standing_statistics"):
    generator(logits, noise)
  fill_standing_statistics(generator, 5)
  assert np.all(np.isfinite(generator(logits, noise).numpy()))


def test_standing_statistics_are_batch_averages():
  generator = Generator(ch=8, resolution=32)
  batches = [inputs(5, batch=8, seed=s) for s in range(3)]
  generator.compute_standing_statistics(batches)
  first = generator.blocks[0].bn1.standardize
  # The first normalized activation is the first block's input: the seed
  # layer's output, a pure function of the noise's first chunk.
  seeds = [tf.reshape(generator.seed(tf.split(n, 4, axis=1)[0]),
                      [-1, 4, 4, 32]).numpy() for _, n in batches]
  np.testing.assert_allclose(
      first.accumulated_mean.numpy() / first.accumulated_count.numpy(),
      np.mean([s.mean(axis=(0, 1, 2)) for s in seeds], axis=0), atol=1e-5)
  np.testing.assert_allclose(
      first.accumulated_variance.numpy() / first.accumulated_count.numpy(),
      np.mean([s.var(axis=(0, 1, 2)) for s in seeds], axis=0), rtol=1e-4)


def test_different_logits_change_the_output():
  generator = Generator(ch=8, resolution=32)
  fill_standing_statistics(generator, 5)
  logits, noise = inputs(5)
  other = logits + tf.constant([[2.0, -1.0, 0.0, 0.5, 1.0]])
  difference = np.abs(generator(logits, noise) - generator(other, noise))
  assert difference.mean() > 1e-3


def test_inference_output_does_not_depend_on_the_rest_of_the_batch():
  generator = Generator(ch=8, resolution=32)
  fill_standing_statistics(generator, 5)
  logits, noise = inputs(5, batch=4, seed=1)
  other_logits, other_noise = inputs(5, batch=4, seed=2)
  mixed_logits = tf.concat([logits[:1], other_logits[1:]], axis=0)
  mixed_noise = tf.concat([noise[:1], other_noise[1:]], axis=0)
  alone = generator(logits, noise)[0]
  mixed = generator(mixed_logits, mixed_noise)[0]
  np.testing.assert_allclose(alone, mixed, atol=1e-5)
  # In training mode (batch statistics) the same comparison differs, so the
  # check above is not vacuous.
  alone_t = generator(logits, noise, training=True)[0]
  mixed_t = generator(mixed_logits, mixed_noise, training=True)[0]
  assert np.abs(alone_t - mixed_t).max() > 1e-3


def test_moving_averages_mode_needs_no_standing_statistics():
  generator = Generator(ch=8, resolution=32, use_moving_averages=True)
  logits, noise = inputs(5)
  generator(logits, noise, training=True)
  assert np.all(np.isfinite(generator(logits, noise).numpy()))
  with pytest.raises(ValueError, match="moving averages"):
    generator.compute_standing_statistics([(logits, noise)])


# --- Projection discriminator. ------------------------------------------------


def test_projection_equals_equation_2():
  n_c = 6
  discriminator = Discriminator(ch=8, spectral_norm=False)
  rng = np.random.default_rng(3)
  images = tf.constant(rng.uniform(-1, 1, (4, 32, 32, 3)), tf.float32)
  logits = tf.constant(rng.normal(size=(4, n_c)), tf.float32)
  scores = discriminator(images, logits).numpy()
  psi = discriminator.features(images).numpy()  # [B, C]
  w1 = discriminator.final_fc.kernel.numpy()[:, 0]
  b = discriminator.final_fc.bias.numpy()[0]
  w2 = discriminator.embedding.kernel.numpy()  # [n_c, C]
  expected = psi @ w1 + b + np.sum((logits.numpy() @ w2) * psi, axis=1)
  np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-3)
  # The logits matter: another z gives another score.
  assert np.abs(discriminator(images, logits * -1.0).numpy() - scores).max() > 1e-3


def test_every_weight_receives_a_gradient():
  n_c = 5
  generator, discriminator = small_pair(32, n_c)
  logits, noise = inputs(n_c, batch=4)
  real = tf.random.uniform((4, 32, 32, 3), -1, 1)
  with tf.GradientTape(persistent=True) as tape:
    fake = generator(logits, noise, training=True)
    # D's hinge terms one by one: summed, the final bias's gradients from
    # real and fake cancel whenever every score is inside the margins.
    d_real = tf.reduce_mean(tf.nn.relu(1 - discriminator(real, logits,
                                                         training=True)))
    d_fake = tf.reduce_mean(tf.nn.relu(1 + discriminator(fake, logits,
                                                         training=True)))
    g_loss = -tf.reduce_mean(discriminator(fake, logits, training=True))
  for losses, model in (((d_real, d_fake), discriminator),
                        ((g_loss,), generator)):
    grads = [tape.gradient(loss, model.trainable_weights) for loss in losses]
    missing = [w.path for i, w in enumerate(model.trainable_weights)
               if not any(g[i] is not None and np.any(g[i].numpy())
                          for g in grads)]
    # The attention gates start at 0, so the attention convs behind them get
    # no gradient until the gate opens; everything else must.
    missing = [p for p in missing if "attention/" not in p or "sigma" in p]
    assert not missing, missing


# --- Initializers. ------------------------------------------------------------


def test_orthogonal_and_normal_initializers():
  generator = Generator(ch=8, resolution=32).build_for(5)
  kernel = generator.blocks[0].conv1.kernel.numpy().reshape(-1, 32)
  np.testing.assert_allclose(kernel.T @ kernel, np.eye(32), atol=1e-4)
  generator = Generator(ch=8, resolution=32, initializer="normal").build_for(5)
  kernel = generator.blocks[0].conv1.kernel.numpy()
  assert abs(kernel.std() - 0.02) < 0.002
  with pytest.raises(ValueError, match="orthogonal"):
    Generator(initializer="xavier")


@pytest.mark.parametrize("initializer", ["orthogonal", "normal"])
def test_weights_of_the_same_shape_start_different(initializer):
  """Each kernel draws its own values: every block's convs, each conditional
  BN's gain and bias maps, attention's theta and phi."""
  generator = Generator(ch=8, resolution=32, initializer=initializer,
                        blocks_with_attention="B2").build_for(5)
  discriminator = Discriminator(ch=8, blocks_with_attention="B1").build_for(
      5, resolution=32)
  for network in (generator, discriminator):
    kernels = [w for w in network.trainable_weights if w.path.endswith("kernel")]
    by_shape = {}
    for kernel in kernels:
      by_shape.setdefault(tuple(kernel.shape), []).append(kernel.numpy())
    repeated = {shape: k for shape, k in by_shape.items() if len(k) > 1}
    assert repeated, network.name  # The check below has something to compare.
    for shape, values in repeated.items():
      for i in range(len(values)):
        for j in range(i):
          assert not np.allclose(values[i], values[j]), (network.name, shape)


def test_independent_initializer_keeps_a_given_seed():
  import keras
  unseeded = keras.initializers.Orthogonal()
  a = layers.independent(unseeded)((6, 6))
  b = layers.independent(unseeded)((6, 6))
  assert not np.allclose(a, b)
  seeded = keras.initializers.Orthogonal(seed=3)
  np.testing.assert_array_equal(layers.independent(seeded)((6, 6)),
                                layers.independent(seeded)((6, 6)))


# --- Bad input. ---------------------------------------------------------------


def test_wrong_logit_width_names_the_expected_shape():
  generator, discriminator = small_pair(32, 10)
  logits, noise = inputs(10)
  generator(logits, noise, training=True)
  wrong, _ = inputs(12)
  with pytest.raises(ValueError, match=r"logits has shape \[3, 12\]; expected \[B, 10\]"):
    generator(wrong, noise, training=True)
  discriminator(tf.zeros((3, 32, 32, 3)), logits)
  with pytest.raises(ValueError, match=r"logits.*\[B, 10\]"):
    discriminator(tf.zeros((3, 32, 32, 3)), wrong)


def test_wrong_noise_width_and_batch():
  generator = Generator(ch=8, resolution=32)
  logits, noise = inputs(10)
  with pytest.raises(ValueError, match=r"noise.*\[B, 120\]"):
    generator(logits, noise[:, :100], training=True)
  with pytest.raises(ValueError, match="Batch sizes differ"):
    generator(logits[:2], noise, training=True)


def test_wrong_image_size_or_channels():
  discriminator = Discriminator(ch=8)
  logits, _ = inputs(10)
  with pytest.raises(ValueError, match=r"\[B, R, R, 3\]"):
    discriminator(tf.zeros((3, 48, 48, 3)), logits)
  discriminator(tf.zeros((3, 32, 32, 3)), logits)
  with pytest.raises(ValueError, match=r"images has shape \[3, 64, 64, 3\]; expected \[B, 32, 32, 3\]"):
    discriminator(tf.zeros((3, 64, 64, 3)), logits)
  with pytest.raises(ValueError, match=r"images has shape \[3, 32, 32, 1\]; expected \[B, 32, 32, 3\]"):
    discriminator(tf.zeros((3, 32, 32, 1)), logits)


def test_non_finite_inputs_are_named():
  generator, discriminator = small_pair(32, 4)
  logits, noise = inputs(4)
  bad_logits = tf.tensor_scatter_nd_update(logits, [[1, 2]], [np.nan])
  with pytest.raises(ValueError, match=r"logits contains 1 non-finite.*\(1, 2\)"):
    generator(bad_logits, noise, training=True)
  bad_noise = tf.tensor_scatter_nd_update(noise, [[0, 0]], [np.inf])
  with pytest.raises(ValueError, match="noise contains"):
    generator(logits, bad_noise, training=True)
  images = tf.zeros((3, 32, 32, 3))
  with pytest.raises(ValueError, match="images contains"):
    discriminator(images + np.nan, logits)


def test_bad_constructor_arguments():
  with pytest.raises(ValueError, match="resolution=48"):
    Generator(resolution=48)
  with pytest.raises(ValueError, match="divisible by 4"):
    Generator(resolution=32, z_dim=121)
  with pytest.raises(ValueError, match=r"B7.*\['B1', 'B2', 'B3'\]"):
    Generator(resolution=32, blocks_with_attention="B7")
  with pytest.raises(ValueError, match="singular_value"):
    Generator(singular_value="middle").build_for(3)


def test_every_normalized_kernel_has_spectral_norm_one():
  """After enough power iterations (one per training call), each normalized
  kernel of G and D, viewed as [prod(shape[:-1]), out] as compare_gan does,
  has largest singular value 1."""
  generator = Generator(ch=8, resolution=32, initializer="normal").build_for(5)
  discriminator = Discriminator(ch=8, initializer="normal").build_for(5, 32)
  sn_layers = (layers.spectral_norm_layers(generator)
               + layers.spectral_norm_layers(discriminator))
  assert len(sn_layers) > 30

  @tf.function
  def power_iteration():
    for layer in sn_layers:
      layer.singular_value_estimate(training=True)

  for _ in range(200):
    power_iteration()
  for layer in sn_layers:
    kernel = layer.effective_kernel().numpy()
    top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]),
                        compute_uv=False)[0]
    assert abs(top - 1.0) < 1e-2, (layer.path, top)


@pytest.mark.parametrize("network", ["generator", "discriminator"])
def test_rebuilt_from_config_without_gin(network):
  """get_config holds every argument, gin's too: the network rebuilt from
  it after gin.clear_config() (JSON round trip, as run.json stores it) has
  the same weight paths and shapes."""
  import json
  import gin
  from logit_gan import config
  config.parse(["tiny.gin"], ["Generator.resolution = 16",
                              "Discriminator.blocks_with_attention = ''"])
  if network == "generator":
    original = Generator().build_for(5)
  else:
    original = Discriminator().build_for(5, 16)
  gin.clear_config()
  rebuilt = type(original).from_config(
      json.loads(json.dumps(original.get_config())))
  rebuilt.build_for(5)  # D takes its resolution from the config.
  assert rebuilt.get_config() == original.get_config()
  assert ([(w.path, tuple(w.shape)) for w in rebuilt.weights]
          == [(w.path, tuple(w.shape)) for w in original.weights])
