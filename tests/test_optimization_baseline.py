"""Optimization-based inversion (logit_gan/baselines): the priors and the
Adam step against independent computations, known answers (an orthogonal
linear classifier is inverted exactly), the error it removes on a small
ResNet, the range, determinism, bad input, and the inversion model built
from a classifier, a user's `.keras` file and an export."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from analysis_models import tiny_classifier, tiny_generator
from logit_gan.analyses import inversion
from logit_gan.baselines import optimization
from logit_gan.baselines.optimization_model import OptimizationInversion
from logit_gan.classifiers import zoo

R = 16
FAST = optimization.Settings(steps=60, learning_rate=0.05, prior_weight=0.1,
                             batch_size=4)


@pytest.fixture(scope="module")
def classifier():
  return tiny_classifier(7)  # small_resnet, width 4, 10 logits, 16x16.


@pytest.fixture(scope="module")
def targets(classifier):
  """Logits of 6 random images: reachable targets."""
  images = np.random.default_rng(3).uniform(-0.8, 0.8, (6, R, R, 3))
  return classifier(images.astype(np.float32)).numpy()


def orthogonal_classifier(side: int = 4):
  """An invertible linear map: flattened [side, side, 3] images times an
  orthogonal matrix, n_c = side*side*3 logits."""
  width = side * side * 3
  matrix, _ = np.linalg.qr(np.random.default_rng(0).normal(
      size=(width, width)))
  weights = tf.constant(matrix, tf.float32)
  return (lambda images: tf.reshape(images, [-1, width]) @ weights), matrix


def test_total_variation_and_norm_match_numpy():
  x = np.random.default_rng(1).uniform(-1, 1, (2, 5, 5, 3)).astype(
      np.float32)
  right = x[:, :-1, 1:] - x[:, :-1, :-1]
  down = x[:, 1:, :-1] - x[:, :-1, :-1]
  for beta in (2.0, 1.0):
    expected = ((right ** 2 + down ** 2 + (beta != 2) * 1e-8) ** (beta / 2)
                ).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(
        optimization.total_variation(tf.constant(x), beta), expected,
        rtol=1e-5)
  np.testing.assert_allclose(optimization.norm_prior(tf.constant(x), 6.0),
                             (np.abs(x) ** 6).mean(axis=(1, 2, 3)),
                             rtol=1e-5)


def test_steps_are_keras_adam_then_a_clip():
  """Three steps of the descent equal keras.optimizers.Adam on the same
  loss (lambda = 0, no jitter: ||W^T x - z||^2 / n), clipped to [-1, 1]."""
  linear, matrix = orthogonal_classifier(2)
  settings = optimization.Settings(steps=3, learning_rate=0.3,
                                   prior_weight=0.0, jitter=0, init="given")
  rng = np.random.default_rng(2)
  start = rng.uniform(-0.5, 0.5, (1, 2, 2, 3)).astype(np.float32)
  target = rng.normal(size=(1, 12)).astype(np.float32) * 3
  result = optimization.invert(linear, target, settings,
                               initial_images=start, resolution=2)
  variable = tf.Variable(start.reshape(1, 12))
  adam = keras.optimizers.Adam(learning_rate=0.3, beta_1=0.9, beta_2=0.999,
                               epsilon=1e-8)
  for _ in range(3):
    gradient = 2 * (variable.numpy() @ matrix - target) @ matrix.T / 12
    adam.apply_gradients([(tf.constant(gradient, tf.float32), variable)])
    variable.assign(tf.clip_by_value(variable, -1.0, 1.0))
  np.testing.assert_allclose(result.images.reshape(1, 12), variable.numpy(),
                             atol=1e-5)


def test_recovers_the_image_of_an_orthogonal_linear_map():
  """lambda = 0 and Phi = x @ Q (Q orthogonal, n_c = 4*4*3): the unique
  minimiser is the source image, found to 1e-3 from grey."""
  linear, _ = orthogonal_classifier(4)
  source = np.random.default_rng(4).uniform(-0.9, 0.9, (3, 4, 4, 3)).astype(
      np.float32)
  settings = optimization.Settings(steps=400, learning_rate=0.05,
                                   prior_weight=0.0, jitter=0, init="mean")
  result = optimization.invert(linear, linear(source).numpy(), settings,
                               resolution=4)
  np.testing.assert_allclose(result.images, source, atol=1e-3)
  assert result.logit_errors.max() < 1e-6


def test_batch_size_changes_nothing_but_memory():
  """Images are optimised independently: batches of 2 (the last of 1) give
  the results of one batch of 3, trajectories averaged by batch size."""
  linear, _ = orthogonal_classifier(4)
  targets = np.random.default_rng(5).normal(size=(3, 48)).astype(np.float32)
  results = [optimization.invert(linear, targets, optimization.Settings(
      steps=20, batch_size=size), resolution=4, seed=3) for size in (3, 2)]
  np.testing.assert_allclose(results[0].images, results[1].images,
                             atol=1e-5)
  np.testing.assert_allclose(results[0].losses, results[1].losses,
                             rtol=1e-4)


def test_reduces_the_logit_error_of_a_small_resnet_tenfold(classifier,
                                                           targets):
  result = optimization.invert(classifier, targets, FAST, seed=0)
  # The reported errors are the classifier's own, recomputed here.
  own = ((classifier(result.images).numpy() - targets) ** 2).mean(axis=1)
  np.testing.assert_allclose(result.logit_errors, own, rtol=1e-4)
  assert own.mean() < result.initial_logit_errors.mean() / 10
  assert result.losses.shape == result.logit_losses.shape == (60,)
  assert result.losses[-1] < result.losses[0] / 5
  assert np.all(result.losses >= result.logit_losses)  # Prior >= 0.


def test_keeps_pixels_in_range_and_is_deterministic(classifier, targets):
  """A step size of 1 pushes pixels out; the clip keeps them in [-1, 1]
  (reaching the bounds). The same seed gives the same images."""
  wild = dataclasses.replace(FAST, steps=5, learning_rate=1.0,
                             noise_scale=3.0)
  descent = optimization.Descent(classifier, wild)  # Traced once.
  first = optimization.invert(classifier, targets, seed=5, descent=descent)
  assert first.images.min() == -1.0 and first.images.max() == 1.0
  again = optimization.invert(classifier, targets, seed=5, descent=descent)
  np.testing.assert_array_equal(first.images, again.images)
  np.testing.assert_array_equal(first.losses, again.losses)
  other = optimization.invert(classifier, targets, seed=6, descent=descent)
  assert not np.array_equal(first.images, other.images)


def test_bad_input_gets_clear_errors(classifier, targets):
  with pytest.raises(ValueError, match="width 7.*gives 10 logits"):
    optimization.invert(classifier, np.zeros((2, 7)), FAST)
  bad = targets.copy()
  bad[1, 3] = np.nan
  with pytest.raises(ValueError, match=r"NaN or inf in rows \[1\]"):
    optimization.invert(classifier, bad, FAST)
  with pytest.raises(ValueError, match="init = 'random'; choose one of"):
    optimization.Settings(init="random")
  with pytest.raises(ValueError, match="steps = 0; it must be an integer"):
    optimization.Settings(steps=0)
  with pytest.raises(ValueError, match="initial_images must have shape"):
    optimization.invert(classifier, targets, dataclasses.replace(
        FAST, init="given"), initial_images=np.zeros((1, R, R, 3)))
  with pytest.raises(ValueError, match="pass resolution="):
    optimization.invert(lambda x: x, targets, FAST)


def test_inversion_model_noise_picks_the_start(classifier, targets):
  model = OptimizationInversion(classifier, settings=dataclasses.replace(
      FAST, steps=20), name="opt")
  assert (model.method, model.z_dim, model.resolution) == (
      "optimization", 48, R)
  noise = model.sample_noise(len(targets), seed=1)
  np.testing.assert_array_equal(noise, model.sample_noise(len(targets), 1))
  images = model.reconstruct(targets, noise)
  assert images.shape == (6, R, R, 3) and np.abs(images).max() <= 1
  np.testing.assert_array_equal(images, model.reconstruct(targets, noise))
  moved = model.reconstruct(targets, model.sample_noise(6, seed=2))
  assert np.abs(moved - images).mean() > 1e-3
  assert model.last_result.logit_errors.mean() < (
      model.last_result.initial_logit_errors.mean())
  np.testing.assert_allclose(model.classify(images),
                             classifier(images).numpy(), rtol=1e-5)
  assert model.describe()["settings"]["steps"] == 20
  with pytest.raises(ValueError, match="width differs"):
    model.reconstruct(targets[:, :5], noise)


def test_mean_start_ignores_the_noise(classifier, targets):
  model = OptimizationInversion(classifier, settings=dataclasses.replace(
      FAST, steps=5, init="mean"))
  assert model.deterministic
  one = model.reconstruct(targets[:2], model.sample_noise(2, 1))
  np.testing.assert_array_equal(one, model.reconstruct(
      targets[:2], model.sample_noise(2, 9)))


def test_a_users_keras_file_and_an_in_process_model(tmp_path, classifier,
                                                    targets):
  """A `.keras` classifier (zoo.keras_file) and from_model of an
  InProcessModel (its classify_tensor) both invert."""
  path = str(tmp_path / "user.keras")
  classifier.keras_model.save(path)
  user = zoo.keras_file(path, input_range=(-1, 1))
  result = optimization.invert(user, targets, FAST, seed=0)
  assert result.logit_errors.mean() < result.initial_logit_errors.mean() / 10
  robust = inversion.InProcessModel(tiny_generator(1), classifier,
                                    name="robust")
  model = OptimizationInversion.from_model(robust, settings=FAST)
  assert (model.name, model.num_classes) == ("optimization_robust", 10)
  z = robust.classify(np.zeros((2, R, R, 3), np.float32))
  model.reconstruct(z, model.sample_noise(2, 0))
  assert model.last_result.logit_errors.mean() < (
      model.last_result.initial_logit_errors.mean() / 5)


@pytest.mark.slow
def test_from_an_export_through_its_classify_signature(tiny_exports):
  exported = inversion.load(tiny_exports["robust"])
  model = OptimizationInversion.from_model(exported, settings=FAST)
  z = exported.classify(np.full((2, R, R, 3), 0.3, np.float32))
  images = model.reconstruct(z, model.sample_noise(2, 0))
  assert images.shape == (2, R, R, 3)
  assert model.last_result.logit_errors.mean() < (
      model.last_result.initial_logit_errors.mean() / 5)
