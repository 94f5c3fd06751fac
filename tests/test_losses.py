"""GAN losses and discriminator penalties against numpy formulas and
analytic gradients, and their selection through gin."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import losses


# Independent numpy formulas: (d_loss_real, d_loss_fake, g_loss) per example.
NUMPY_LOSSES = {
    "hinge": lambda r, f: (np.maximum(0.0, 1.0 - r), np.maximum(0.0, 1.0 + f),
                           -f),
    "non_saturating": lambda r, f: (-np.log(1.0 / (1.0 + np.exp(-r))),
                                    -np.log(1.0 - 1.0 / (1.0 + np.exp(-f))),
                                    -np.log(1.0 / (1.0 + np.exp(-f)))),
    "wasserstein": lambda r, f: (-r, f, -f),
}


def d_outputs(seed=0, batch=16):
  rng = np.random.default_rng(seed)
  # Spread over [-3, 3] so hinge has both active and clipped examples.
  return (rng.uniform(-3.0, 3.0, batch).astype(np.float32),
          rng.uniform(-3.0, 3.0, batch).astype(np.float32))


@pytest.mark.parametrize("name", sorted(NUMPY_LOSSES))
def test_loss_matches_numpy_formula(name):
  """Each loss returns the batch means of its numpy formula, and d_loss is
  the sum of the real and fake parts."""
  d_real, d_fake = d_outputs()
  real, fake, g = NUMPY_LOSSES[name](d_real.astype(np.float64),
                                     d_fake.astype(np.float64))
  result = getattr(losses, name)(tf.constant(d_real), tf.constant(d_fake))
  np.testing.assert_allclose(result.d_loss_real, real.mean(), rtol=1e-5)
  np.testing.assert_allclose(result.d_loss_fake, fake.mean(), rtol=1e-5)
  np.testing.assert_allclose(result.d_loss, real.mean() + fake.mean(),
                             rtol=1e-5)
  np.testing.assert_allclose(result.g_loss, g.mean(), rtol=1e-5, atol=1e-6)


def test_hinge_is_zero_when_d_is_confident():
  """Outputs beyond the margins give zero D loss; G's loss is -mean(d_fake)."""
  result = losses.hinge(tf.constant([1.5, 2.0]), tf.constant([-1.0, -4.0]))
  assert float(result.d_loss) == 0.0
  assert float(result.g_loss) == pytest.approx(2.5)


def test_compute_losses_defaults_to_hinge():
  d_real, d_fake = d_outputs(1)
  got = losses.compute_losses(tf.constant(d_real), tf.constant(d_fake))
  real, fake, _ = NUMPY_LOSSES["hinge"](d_real, d_fake)
  np.testing.assert_allclose(got.d_loss, real.mean() + fake.mean(),
                             rtol=1e-5)


def test_compute_losses_honours_gin_loss_fn():
  """`loss.fn = @non_saturating` selects that loss (read at the entry by
  configured_loss, which the GAN's compute_losses calls are given)."""
  gin.parse_config("loss.fn = @non_saturating")
  d_real, d_fake = d_outputs(2)
  got = losses.compute_losses(tf.constant(d_real), tf.constant(d_fake),
                              losses.configured_loss())
  real, fake, g = NUMPY_LOSSES["non_saturating"](d_real.astype(np.float64),
                                                 d_fake.astype(np.float64))
  np.testing.assert_allclose(got.d_loss, real.mean() + fake.mean(),
                             rtol=1e-5)
  np.testing.assert_allclose(got.g_loss, g.mean(), rtol=1e-5)
  hinge = NUMPY_LOSSES["hinge"](d_real, d_fake)
  assert abs(float(got.d_loss) - (hinge[0] + hinge[1]).mean()) > 1e-2


def test_compute_losses_casts_to_float32():
  d_real, d_fake = d_outputs(3)
  got = losses.compute_losses(tf.constant(d_real, tf.float16),
                              tf.constant(d_fake, tf.float16))
  assert got.d_loss.dtype == tf.float32


@pytest.mark.parametrize("real_shape, fake_shape", [
    ([4, 1], [4]), ([4], [4, 1]), ([], [4]), ([2, 2], [2, 2])])
def test_compute_losses_rejects_outputs_not_of_shape_b(real_shape,
                                                       fake_shape):
  with pytest.raises(ValueError, match=r"shape \[B\]"):
    losses.compute_losses(tf.zeros(real_shape), tf.zeros(fake_shape))


# --- Penalties. -----------------------------------------------------------

IMAGE_SHAPE = (4, 5, 5, 3)


def images_and_logits(seed=0):
  rng = np.random.default_rng(seed)
  real = tf.constant(rng.uniform(-1, 1, IMAGE_SHAPE), tf.float32)
  fake = tf.constant(rng.uniform(-1, 1, IMAGE_SHAPE), tf.float32)
  logits = tf.constant(rng.normal(size=(IMAGE_SHAPE[0], 10)), tf.float32)
  return real, fake, logits


SEED = tf.constant([1, 2], tf.int32)


def linear_discriminator(w):
  """D(x, c) = sum(w * x) per example: its input gradient is w everywhere."""
  w = tf.constant(w, tf.float32)
  return lambda x, c: tf.reduce_sum(w * x, axis=[1, 2, 3])


def test_r1_penalty_of_a_linear_discriminator_is_sum_of_squared_weights():
  w = np.random.default_rng(5).normal(size=IMAGE_SHAPE[1:])
  real, fake, logits = images_and_logits()
  got = losses.r1_penalty(linear_discriminator(w), real, fake, logits, SEED)
  np.testing.assert_allclose(got, np.sum(w ** 2), rtol=1e-5)


def test_r1_penalty_averages_per_example_gradient_norms():
  """D(x, c) = sum(x^2) has gradient 2x, so R1 = mean_b 4 ||x_b||^2, taken
  at the real images only (the fakes do not enter)."""
  real, fake, logits = images_and_logits(1)
  quadratic = lambda x, c: tf.reduce_sum(tf.square(x), axis=[1, 2, 3])
  got = losses.r1_penalty(quadratic, real, fake, logits, SEED)
  want = np.mean(np.sum(4.0 * real.numpy() ** 2, axis=(1, 2, 3)))
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_r1_penalty_passes_logits_to_the_discriminator():
  """D(x, c) = sum(x) * c[:, 0]: gradient norm^2 per example is
  75 * c_0^2 (75 pixels), which depends on the logits."""
  real, fake, logits = images_and_logits(2)
  fn = lambda x, c: tf.reduce_sum(x, axis=[1, 2, 3]) * c[:, 0]
  got = losses.r1_penalty(fn, real, fake, logits, SEED)
  want = np.mean(np.prod(IMAGE_SHAPE[1:]) * logits.numpy()[:, 0] ** 2)
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_wgangp_penalty_is_zero_for_unit_gradient_norm():
  w = np.random.default_rng(6).normal(size=IMAGE_SHAPE[1:])
  w /= np.linalg.norm(w)
  real, fake, logits = images_and_logits()
  got = losses.wgangp_penalty(linear_discriminator(w), real, fake, logits,
                              SEED)
  assert abs(float(got)) < 1e-6


@pytest.mark.parametrize("norm", [0.0, 0.5, 3.0])
def test_wgangp_penalty_of_a_linear_discriminator(norm):
  """A constant gradient of norm n anywhere gives (n - 1)^2."""
  w = np.random.default_rng(7).normal(size=IMAGE_SHAPE[1:])
  w *= norm / np.linalg.norm(w)
  real, fake, logits = images_and_logits()
  got = losses.wgangp_penalty(linear_discriminator(w), real, fake, logits,
                              SEED)
  np.testing.assert_allclose(got, (norm - 1.0) ** 2, rtol=1e-4, atol=1e-4)


def test_wgangp_penalty_evaluates_between_real_and_fake():
  """D = sum(x^2)/2 has gradient x: the penalty is the mean of
  (||x_hat|| - 1)^2 at x_hat = real + alpha (fake - real), alpha ~ U[0, 1)
  per example from the seed. Recomputed with the same alphas, and the
  penalty changes with the seed."""
  real, fake, logits = images_and_logits(3)
  fn = lambda x, c: 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])
  got = losses.wgangp_penalty(fn, real, fake, logits, SEED)
  alpha = tf.random.stateless_uniform([IMAGE_SHAPE[0], 1, 1, 1],
                                      SEED).numpy()
  assert alpha.min() >= 0.0 and alpha.max() < 1.0
  between = real.numpy() + alpha * (fake.numpy() - real.numpy())
  norms = np.sqrt(np.sum(between ** 2, axis=(1, 2, 3)))
  np.testing.assert_allclose(got, np.mean((norms - 1.0) ** 2), rtol=1e-4)
  assert float(got) > 0.0
  other = losses.wgangp_penalty(fn, real, fake, logits,
                                tf.constant([3, 4], tf.int32))
  assert abs(float(other) - float(got)) > 1e-4


def test_no_penalty_is_zero():
  real, fake, logits = images_and_logits()
  got = losses.no_penalty(linear_discriminator(np.ones(IMAGE_SHAPE[1:])),
                          real, fake, logits, SEED)
  assert float(got) == 0.0


def test_compute_penalty_defaults_to_no_penalty():
  real, fake, logits = images_and_logits()
  got = losses.compute_penalty(
      linear_discriminator(np.ones(IMAGE_SHAPE[1:])), real, fake, logits,
      SEED)
  assert float(got) == 0.0


@pytest.mark.parametrize("name", ["wgangp_penalty", "r1_penalty"])
def test_compute_penalty_honours_gin_penalty_fn(name):
  """`penalty.fn = @...` selects the penalty: for D = 3 * sum(x) / sqrt(75)
  (gradient norm 3) WGAN-GP is (3 - 1)^2 = 4 and R1 is 9."""
  gin.parse_config(f"penalty.fn = @{name}")
  w = np.full(IMAGE_SHAPE[1:], 3.0 / np.sqrt(np.prod(IMAGE_SHAPE[1:])))
  real, fake, logits = images_and_logits()
  got = losses.compute_penalty(linear_discriminator(w), real, fake, logits,
                               SEED, losses.configured_penalty())
  want = {"wgangp_penalty": 4.0, "r1_penalty": 9.0}[name]
  np.testing.assert_allclose(got, want, rtol=1e-4)
