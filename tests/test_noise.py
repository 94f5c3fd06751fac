"""Stateless noise: seeds split by purpose and index, and the distributions
compare_gan's gin names select."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import noise

Purpose = noise.Purpose


def seed(*args):
  return tuple(noise.seed_for(*args).numpy().tolist())


def test_seed_for_is_a_deterministic_int32_pair():
  value = noise.seed_for(7, Purpose.DISCRIMINATOR_STEP, 3, 1)
  assert value.shape == (2,) and value.dtype == tf.int32
  assert seed(7, Purpose.DISCRIMINATOR_STEP, 3, 1) == tuple(
      value.numpy().tolist())
  # Tensors and Python ints give the same seed (steps arrive as int64).
  assert seed(tf.constant(7), Purpose.DISCRIMINATOR_STEP,
              tf.constant(3, tf.int64), 1) == tuple(value.numpy().tolist())


def test_seed_for_differs_across_purposes_indices_and_base_seeds():
  seeds = {(base, purpose, step, replica):
           seed(base, purpose, step, replica)
           for base in (0, 1) for purpose in Purpose
           for step in range(4) for replica in range(2)}
  assert len(set(seeds.values())) == len(seeds)
  # Folding order matters: (step 1, replica 0) is not (step 0, replica 1).
  assert (seed(0, Purpose.GENERATOR_STEP, 1, 0)
          != seed(0, Purpose.GENERATOR_STEP, 0, 1))
  # An extra index is a different stream.
  assert seed(0, Purpose.EVALUATION, 0) != seed(0, Purpose.EVALUATION, 0, 0)


def test_seed_for_feeds_stateless_ops_with_distinct_draws():
  a = tf.random.stateless_normal([8], noise.seed_for(0, Purpose.PENALTY, 0))
  b = tf.random.stateless_normal([8], noise.seed_for(0, Purpose.PENALTY, 1))
  assert np.abs(a.numpy() - b.numpy()).max() > 1e-3


def configured_train_noise(shape, seed):
  """Training noise as the entry point selects it (`z.distribution_fn`)."""
  return noise.train_noise(shape, seed, noise.SAMPLERS[
      noise.configured_train_sampler()])


def test_default_training_noise_is_standard_normal():
  draw = noise.train_noise([200_000], noise.seed_for(0, Purpose.EVALUATION))
  draw = draw.numpy()
  assert abs(draw.mean()) < 0.01  # standard error 0.0022
  assert abs(draw.std() - 1.0) < 0.01
  assert draw.min() < -3.5 and draw.max() > 3.5  # not truncated


def test_uniform_training_noise_through_gin_lies_in_minus_one_one():
  gin.parse_config("z.distribution_fn = @tf.random.uniform")
  draw = configured_train_noise([100_000], tf.constant([0, 1])).numpy()
  assert draw.min() >= -1.0 and draw.max() <= 1.0
  assert draw.min() < -0.99 and draw.max() > 0.99  # the whole interval
  assert abs(draw.mean()) < 0.01
  assert abs(draw.var() - 1.0 / 3.0) < 0.01  # variance of U[-1, 1]


def test_truncated_normal_through_gin_stays_within_two_sigma():
  gin.parse_config("z.distribution_fn = @tf.random.truncated_normal")
  draw = configured_train_noise([50_000], tf.constant([0, 1])).numpy()
  assert np.abs(draw).max() <= 2.0
  assert draw.std() < 0.95  # truncation shrinks the std to about 0.88


def test_eval_noise_accepts_stateless_normal_and_stays_independent_of_z():
  """`eval_z.distribution_fn = @tf.random.stateless_normal` is the normal
  sampler; binding `z` does not change evaluation noise."""
  gin.parse_config("""
      eval_z.distribution_fn = @tf.random.stateless_normal
      z.distribution_fn = @tf.random.uniform
  """)
  s = tf.constant([3, 4])
  draw = noise.eval_noise([50_000], s, noise.SAMPLERS[
      noise.configured_eval_sampler()]).numpy()
  np.testing.assert_array_equal(draw,
                                tf.random.stateless_normal([50_000], s))
  assert np.abs(draw).max() > 1.0  # not the uniform [-1, 1] of `z`
  assert np.abs(configured_train_noise([1000], s).numpy()).max() <= 1.0


@pytest.mark.parametrize("fn", [noise.train_noise, noise.eval_noise])
def test_same_seed_same_noise_different_seed_different_noise(fn):
  s = noise.seed_for(5, Purpose.GENERATOR_STEP, 2)
  first = fn([4, 12], s).numpy()
  np.testing.assert_array_equal(first, fn([4, 12], s).numpy())
  # The global (stateful) TF seed plays no part.
  tf.random.set_seed(123)
  np.testing.assert_array_equal(first, fn([4, 12], s).numpy())
  other = fn([4, 12], noise.seed_for(5, Purpose.GENERATOR_STEP, 3)).numpy()
  assert np.abs(first - other).max() > 1e-3
