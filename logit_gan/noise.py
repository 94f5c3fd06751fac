"""The generator's noise ε: distributions, and seeds split by purpose.

compare_gan's config picks the distribution by naming a TensorFlow op:
`z.distribution_fn = @tf.random.normal` for training and
`eval_z.distribution_fn = @tf.random.stateless_normal` for evaluation. Here
those names select a *family*, and every draw is stateless: the seed of a
draw is folded from the run's seed, a purpose (D step, G step, evaluation,
...), the step and the replica. So a resumed run draws exactly the noise the
uninterrupted run would have, and two replicas never share noise.
"""

from __future__ import annotations

import enum
from typing import Callable

import gin
import tensorflow as tf

Sampler = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _normal(shape, seed):
  return tf.random.stateless_normal(shape, seed)


def _uniform(shape, seed):
  # compare_gan's uniform z lies in [-1, 1].
  return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)


def _truncated_normal(shape, seed):
  return tf.random.stateless_truncated_normal(shape, seed)


def _register(sampler: Sampler, *names: str) -> None:
  for name in names:
    function = lambda shape, seed, _sampler=sampler: _sampler(shape, seed)
    function.__name__ = name
    gin.register(name, module="tf.random")(function)


# `@tf.random.normal` and `@tf.random.stateless_normal` both mean N(0, I).
_register(_normal, "normal", "stateless_normal")
_register(_uniform, "uniform", "stateless_uniform")
_register(_truncated_normal, "truncated_normal",
          "stateless_truncated_normal")


# The distributions by name, as a run's record (run.json) stores them.
SAMPLERS = {"normal": _normal, "uniform": _uniform,
            "truncated_normal": _truncated_normal}


def sampler_name(sampler: Sampler) -> str:
  """The `SAMPLERS` name of a sampler or of its gin registration
  (`@tf.random.stateless_uniform` is 'uniform')."""
  name = sampler.__name__.lstrip("_")
  if name.startswith("stateless_"):
    name = name[len("stateless_"):]
  if name not in SAMPLERS:
    raise ValueError(f"Unknown noise distribution {sampler.__name__!r}; "
                     f"choose one of {sorted(SAMPLERS)}.")
  return name


@gin.configurable("z", allowlist=["distribution_fn"])
def configured_train_sampler(distribution_fn: Sampler = _normal) -> str:
  """The `SAMPLERS` name `z.distribution_fn` selects for training noise.
  Read once by the entry point, which passes it to the GAN."""
  return sampler_name(distribution_fn)


@gin.configurable("eval_z", allowlist=["distribution_fn"])
def configured_eval_sampler(distribution_fn: Sampler = _normal) -> str:
  """The `SAMPLERS` name `eval_z.distribution_fn` selects for evaluation,
  summaries and standing statistics. Read once by the entry point."""
  return sampler_name(distribution_fn)


def train_noise(shape, seed: tf.Tensor,
                distribution_fn: Sampler = _normal) -> tf.Tensor:
  """Noise for training steps, drawn statelessly from `seed`."""
  return distribution_fn(shape, seed)


def eval_noise(shape, seed: tf.Tensor,
               distribution_fn: Sampler = _normal) -> tf.Tensor:
  """Noise for evaluation, summaries and standing statistics."""
  return distribution_fn(shape, seed)


class Purpose(enum.IntEnum):
  """What a random draw is for; each gets its own stream."""
  DISCRIMINATOR_STEP = 1
  GENERATOR_STEP = 2
  PENALTY = 3
  EVALUATION = 4
  STANDING_STATISTICS = 5


def seed_for(base_seed, purpose: Purpose, *indices) -> tf.Tensor:
  """A [2] int32 stateless seed from the run seed, a purpose and indices
  (step, replica, sub-step, ...), each folded in turn."""
  seed = tf.stack([tf.constant(0, tf.int32),
                   tf.cast(base_seed, tf.int32)])
  for value in (int(purpose), *indices):
    seed = tf.random.experimental.stateless_fold_in(
        seed, tf.cast(value, tf.int32))
  return seed
