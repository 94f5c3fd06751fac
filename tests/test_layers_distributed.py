"""Spectral norm under tf.distribute.MirroredStrategy on two logical CPUs
(tests/conftest.py configures them before TensorFlow starts)."""

import keras
import numpy as np
import tensorflow as tf

from logit_gan import layers


def test_mirrored_spectral_norm_updates_u_like_a_single_device():
  """An SNConv2D built under MirroredStrategy, called with training=True in
  strategy.run on per-replica batches, stores on every replica the u (and
  returns the outputs) that an undistributed copy with the same weights
  and u computes."""
  strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  assert strategy.num_replicas_in_sync == 2
  initializer = keras.initializers.RandomNormal(stddev=0.02)
  with strategy.scope():
    layer = layers.SNConv2D(8, 3, singular_value="right",
                            initializer=initializer)
    layer.build((None, 4, 4, 3))
  reference = layers.SNConv2D(8, 3, singular_value="right",
                              initializer=initializer)
  reference.build((None, 4, 4, 3))
  for target, source in zip(reference.weights, layer.weights):
    target.assign(tf.convert_to_tensor(source))
  u0 = tf.convert_to_tensor(layer.u).numpy()

  batches = [np.random.default_rng(seed).normal(size=(2, 4, 4, 3))
             .astype(np.float32) for seed in range(2)]
  inputs = strategy.experimental_distribute_values_from_function(
      lambda context: tf.constant(batches[context.replica_id_in_sync_group]))

  @tf.function
  def step(x):
    return strategy.run(lambda t: layer(t, training=True), args=(x,))

  outputs = strategy.experimental_local_results(step(inputs))
  replica_u = [v.numpy() for v in
               strategy.experimental_local_results(layer.u.value)]

  expected = [reference(b, training=False).numpy() for b in batches]
  reference(batches[0], training=True)
  expected_u = tf.convert_to_tensor(reference.u).numpy()
  assert np.abs(expected_u - u0).max() > 1e-3  # the update is not trivial
  assert len(replica_u) == 2
  for u in replica_u:
    np.testing.assert_allclose(u, expected_u, rtol=1e-5, atol=1e-6)
  for out, want in zip(outputs, expected):
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)
