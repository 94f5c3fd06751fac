"""Mixed precision and optimizers of the GAN's step: the dtype policy its
networks are built in, Adam (with loss scaling under float16), and the
overflow check loss scaling needs across replicas. Split out of gan.py."""

from __future__ import annotations

import contextlib
from typing import Optional

import keras
import tensorflow as tf

MIXED_PRECISION_POLICIES = ("mixed_bfloat16", "mixed_float16")


def adam(learning_rate: float, beta1: float, beta2: float, name: str,
         loss_scaling: bool = False):
  """Adam named `name`, wrapped in dynamic loss scaling when asked."""
  # epsilon 1e-8 as in TF1's AdamOptimizer, which compare_gan used.
  optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta1,
                                    beta_2=beta2, epsilon=1e-8, name=name)
  if loss_scaling:  # float16 gradients underflow without it.
    return keras.optimizers.LossScaleOptimizer(optimizer,
                                               name=f"{name}_scaled")
  return optimizer


@contextlib.contextmanager
def dtype_policy(name: Optional[str]):
  """Layers built inside compute in the policy's dtype (None: float32)."""
  if name is not None and name not in MIXED_PRECISION_POLICIES:
    raise ValueError(
        f"GAN.mixed_precision = {name!r} is not a policy here; use None, "
        f"'mixed_bfloat16' (TPU, recent CPUs) or 'mixed_float16' (GPU).")
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(name or "float32")
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)


def in_policy(network: keras.Model, policy: Optional[str]) -> keras.Model:
  """`network`, computing in `policy`'s dtype (None: float32).

  A Keras layer takes its dtype policy when it is constructed; a network
  constructed outside the policy, not built yet, is constructed again from
  its config inside it (it has no weights to lose)."""
  if network.dtype_policy.name == (policy or "float32"):
    return network
  if network.built:
    raise ValueError(
        f"The {network.name} computes in {network.dtype_policy.name}, not "
        f"GAN.mixed_precision = {policy!r}, and is built already; construct "
        "it inside `gan.dtype_policy(...)`, or pass it unbuilt.")
  with dtype_policy(policy):
    return type(network).from_config(network.get_config())


def shared_overflow(gradients, optimizer, context) -> list:
  """This replica's gradients, made NaN when any replica's overflowed, under
  loss scaling with several replicas.

  Keras' LossScaleOptimizer decides whether to skip a step (and halve its
  scale) from the first replica's gradients, before they are summed: an
  overflow on another replica would be applied to the weights."""
  if (not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
      or context.num_replicas_in_sync == 1):
    return gradients
  finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g))
                          for g in gradients if g is not None])
  overflows = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                 1.0 - tf.cast(finite, tf.float32))
  poison = tf.where(overflows > 0, float("nan"), 0.0)
  return [None if g is None else g + tf.cast(poison, g.dtype)
          for g in gradients]
