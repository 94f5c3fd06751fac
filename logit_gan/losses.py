"""GAN losses and discriminator penalties, as pure functions.

gin picks them with compare_gan's names, so the paper's config works as it
stands: `loss.fn = @hinge` (the paper), `@non_saturating`, `@wasserstein`;
`penalty.fn = @no_penalty` (the paper), `@r1_penalty`, `@wgangp_penalty`,
weighted by `GAN.penalty_weight` (compare_gan's `options.lamba`).

Every loss takes the discriminator's raw outputs (no sigmoid) on a batch of
real and of fake images, shape [B], and returns the batch means in `Losses`.
Means are over the batch the function sees: under tf.distribute that is one
replica's share, and the caller scales to the global batch.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import gin
import tensorflow as tf


class Losses(NamedTuple):
  """d_loss = d_loss_real + d_loss_fake; g_loss is the generator's."""
  d_loss: tf.Tensor
  d_loss_real: tf.Tensor
  d_loss_fake: tf.Tensor
  g_loss: tf.Tensor


def _losses(d_loss_real, d_loss_fake, g_loss) -> Losses:
  d_loss_real = tf.reduce_mean(d_loss_real)
  d_loss_fake = tf.reduce_mean(d_loss_fake)
  return Losses(d_loss_real + d_loss_fake, d_loss_real, d_loss_fake,
                tf.reduce_mean(g_loss))


@gin.configurable
def hinge(d_real: tf.Tensor, d_fake: tf.Tensor) -> Losses:
  """The hinge loss of BigGAN and the paper: D pushes real outputs above 1
  and fake ones below -1; G raises D's output on fakes."""
  return _losses(tf.nn.relu(1.0 - d_real), tf.nn.relu(1.0 + d_fake), -d_fake)


@gin.configurable
def non_saturating(d_real: tf.Tensor, d_fake: tf.Tensor) -> Losses:
  """Goodfellow et al.'s loss with the non-saturating generator objective:
  softplus(-x) is -log(sigmoid(x))."""
  return _losses(tf.nn.softplus(-d_real), tf.nn.softplus(d_fake),
                 tf.nn.softplus(-d_fake))


@gin.configurable
def wasserstein(d_real: tf.Tensor, d_fake: tf.Tensor) -> Losses:
  """The WGAN critic loss (use with a penalty such as `wgangp_penalty`)."""
  return _losses(-d_real, d_fake, -d_fake)


LossFn = Callable[[tf.Tensor, tf.Tensor], Losses]


@gin.configurable("loss", allowlist=["fn"])
def configured_loss(fn: LossFn = hinge) -> LossFn:
  """The loss `loss.fn` selects (default hinge, the paper's). Read once by
  the entry point (`trainer.train`), which passes it to the GAN."""
  return fn


def compute_losses(d_real: tf.Tensor, d_fake: tf.Tensor,
                   fn: LossFn = hinge) -> Losses:
  """The loss `fn` of D's outputs on real and fake, each [B]."""
  d_real = tf.cast(d_real, tf.float32)
  d_fake = tf.cast(d_fake, tf.float32)
  if d_real.shape.rank != 1 or d_fake.shape.rank != 1:
    raise ValueError(f"Losses take D's outputs of shape [B]; got "
                     f"{d_real.shape} (real) and {d_fake.shape} (fake).")
  return fn(d_real, d_fake)


# A penalty gets D as a function of (images, logits), the real and fake
# images, the logits both are conditioned on, and a stateless seed.
DiscriminatorFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


@gin.configurable
def no_penalty(discriminator_fn: DiscriminatorFn, real: tf.Tensor,
               fake: tf.Tensor, logits: tf.Tensor, seed: tf.Tensor
               ) -> tf.Tensor:
  """No penalty (the paper: spectral norm regularises D instead)."""
  del discriminator_fn, real, fake, logits, seed
  return tf.constant(0.0)


def _squared_gradient_norms(discriminator_fn: DiscriminatorFn,
                            images: tf.Tensor, logits: tf.Tensor
                            ) -> tf.Tensor:
  """||d D(x, c) / d x||^2 per example, shape [B]."""
  with tf.GradientTape() as tape:
    tape.watch(images)
    outputs = tf.reduce_sum(tf.cast(discriminator_fn(images, logits),
                                    tf.float32))
  gradients = tf.cast(tape.gradient(outputs, images), tf.float32)
  return tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3])


@gin.configurable
def r1_penalty(discriminator_fn: DiscriminatorFn, real: tf.Tensor,
               fake: tf.Tensor, logits: tf.Tensor, seed: tf.Tensor
               ) -> tf.Tensor:
  """R1 (Mescheder et al. 2018): the mean squared norm of D's gradient at
  real images. (Their gamma/2 is `GAN.penalty_weight`.)"""
  del fake, seed
  return tf.reduce_mean(_squared_gradient_norms(discriminator_fn, real,
                                                logits))


@gin.configurable
def wgangp_penalty(discriminator_fn: DiscriminatorFn, real: tf.Tensor,
                   fake: tf.Tensor, logits: tf.Tensor, seed: tf.Tensor
                   ) -> tf.Tensor:
  """WGAN-GP (Gulrajani et al. 2017): (||grad D|| - 1)^2 at uniform random
  points between real and fake images."""
  alpha = tf.random.stateless_uniform([tf.shape(real)[0], 1, 1, 1], seed)
  between = real + alpha * (tf.cast(fake, real.dtype) - real)
  norms = tf.sqrt(_squared_gradient_norms(discriminator_fn, between, logits)
                  + 1e-10)
  return tf.reduce_mean(tf.square(norms - 1.0))


PenaltyFn = Callable[..., tf.Tensor]


@gin.configurable("penalty", allowlist=["fn"])
def configured_penalty(fn: PenaltyFn = no_penalty) -> PenaltyFn:
  """The penalty `penalty.fn` selects (default none, the paper's). Read
  once by the entry point, which passes it to the GAN."""
  return fn


def compute_penalty(discriminator_fn: DiscriminatorFn, real: tf.Tensor,
                    fake: tf.Tensor, logits: tf.Tensor, seed: tf.Tensor,
                    fn: PenaltyFn = no_penalty) -> tf.Tensor:
  """The penalty `fn`, unweighted."""
  return fn(discriminator_fn, real, fake, logits, seed)
