"""The logit-inversion GAN: G, D, the EMA of G, their optimizers, one step.

One global step (compare_gan's ModularGAN, the paper's schedule):
  1. `disc_iters` discriminator updates, each on a fresh batch of real
     images x with their logits z = Φ(x) and fresh noise ε:
     D learns to tell (x, z) from (G(z, ε), z);
  2. one generator update on the logits of one more batch, which D has not
     seen (compare_gan's TPU step, which the paper ran, splits its input
     into disc_iters + 1 such batches; `fresh_generator_batch = False`
     reuses the last D batch's);
  3. the EMA generator moves towards G (a copy of it before
     `ema_start_step`).

Under tf.distribute each replica runs its share of the global batch; every
loss is a mean over that share divided by the number of replicas, so the
gradients Keras' optimizers sum across replicas are those of the global
mean. Noise is drawn statelessly from (seed, purpose, step, replica, ...):
a resumed run repeats the uninterrupted one exactly.

Inputs arrive as a dict per step: "images" [m*B, R, R, 3] in [-1, 1], and
"logits" [m*B, n_c] when they were cached, m = `batches_per_step` (k + 1,
or k without a fresh generator batch); otherwise the frozen classifier
computes them inside the step.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import gin
import tensorflow as tf

from logit_gan import layers
from logit_gan import losses
from logit_gan import noise
from logit_gan import non_finite
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator
from logit_gan.precision import (  # noqa: F401 (gan.<name> for callers)
    MIXED_PRECISION_POLICIES, adam, dtype_policy, in_policy, shared_overflow)

# train_step's result; non_finite.SKIPPED is 1.0 when the step left out an
# update (`skip_non_finite`), else 0.0.
METRICS = ("d_loss", "d_loss_real", "d_loss_fake", "d_penalty", "g_loss",
           "d_real", "d_fake", non_finite.SKIPPED)


def copy_generator(generator: Generator) -> Generator:
  """A generator with `generator`'s architecture and a copy of its weights.

  Built from `generator.get_config()`, not from gin; its own initialization
  is the cheap normal one (it is overwritten), which saves a minute of
  orthogonal init at paper size."""
  copy = type(generator).from_config(
      {**generator.get_config(), "initializer": "normal"})
  copy.build_for(generator.num_classes)
  if ([(w.path, w.shape) for w in copy.weights]
      != [(w.path, w.shape) for w in generator.weights]):
    raise ValueError("A generator rebuilt from its get_config() has other "
                     "weights than the generator; get_config is incomplete.")
  for target, source in zip(copy.weights, generator.weights):
    target.assign(source)
  return copy




@gin.configurable("GAN", denylist=["num_classes", "classifier", "generator",
                                   "discriminator", "loss_fn", "penalty_fn",
                                   "train_distribution",
                                   "eval_distribution"])
class LogitGAN(tf.Module):
  """G, D and the EMA of G, with the paper's optimizers and schedule.

  Build it inside the strategy's scope. Args (gin `GAN.*`; compare_gan's
  names in brackets):
    num_classes: the logit width n_c the networks are built for.
    classifier: the frozen classifier Φ, images -> logits; used when a batch
      carries no cached logits. None: batches must carry logits.
    generator, discriminator: the networks G and D, built here for
      `num_classes` (and G's resolution) unless they are already (as
      compare_gan's ModularGAN receives its architecture; the entry point,
      `trainer.train`, makes them from gin). The EMA G is a copy of G made
      from its config.
    disc_iters: D updates per G update [options.disc_iters].
    fresh_generator_batch: G's update takes the logits of one more batch,
      unseen by D, as compare_gan's TPU step (the paper's); False: those of
      the last D batch, one batch fewer per step.
    g_lr, d_lr: Adam learning rates [ModularGAN.g_lr, ModularGAN.d_lr].
    beta1, beta2: Adam's betas [AdamOptimizer.beta1, beta2].
    penalty_weight: weight of `penalty.fn` [options.lamba].
    use_ema, ema_decay, ema_start_step: the EMA of G's weights
      [ModularGAN.g_use_ema, ema_decay, ema_start_step].
    seed: the run's seed for noise [run_config.tf_random_seed].
    jit_compile: compile each gradient computation with XLA (one replica
      only: refused with several; a TPU compiles the whole step anyway);
      the `jit_compile` property changes it before a step is traced.
      The attribute `skip_non_finite` (False; `train.skip_non_finite_batches`
      sets it before a step is traced) leaves out each update whose loss or
      gradients are not finite (non_finite.py).
    loss_fn, penalty_fn: the GAN loss (`losses.hinge`, the paper's) and
      D's penalty (`losses.no_penalty`, the paper's); not GAN bindings: the
      entry point passes what `loss.fn` and `penalty.fn` select.
    train_distribution, eval_distribution: the `noise.SAMPLERS` names of
      the training noise and of the evaluation noise, which standing
      statistics and reconstructions draw (not GAN bindings: the entry
      point passes `z.distribution_fn`'s and `eval_z.distribution_fn`'s).
    mixed_precision: None (float32), 'mixed_bfloat16' (TPU) or
      'mixed_float16' (GPU, with dynamic loss scaling): G and D compute in
      that dtype; weights, batch statistics, power iterations, D's outputs
      and G's images stay float32.
  """
  skip_non_finite = False  # See jit_compile above.

  method = "logit_gan"  # What `describe` and run.json call the method.
  deterministic = False  # Whether reconstructions ignore the noise.
  metric_names = METRICS  # What `train_step` returns.

  def __init__(self, num_classes: int, classifier: Optional[Callable] = None,
               *, generator: Generator, discriminator: Discriminator,
               disc_iters: int = 2, fresh_generator_batch: bool = True,
               g_lr: float = 1e-4,
               d_lr: float = 5e-4, beta1: float = 0.0, beta2: float = 0.999,
               penalty_weight: float = 1.0, use_ema: bool = True,
               ema_decay: float = 0.9999, ema_start_step: int = 40_000,
               seed: int = 0, jit_compile: bool = False,
               loss_fn: losses.LossFn = losses.hinge,
               penalty_fn: losses.PenaltyFn = losses.no_penalty,
               train_distribution: str = "normal",
               eval_distribution: str = "normal",
               mixed_precision: Optional[str] = None):
    super().__init__(name="logit_gan")
    if disc_iters < 1:
      raise ValueError(f"GAN.disc_iters must be >= 1, not {disc_iters}.")
    if not 0.0 <= ema_decay < 1.0:
      raise ValueError(f"GAN.ema_decay must be in [0, 1), not {ema_decay}.")
    self.num_classes = num_classes
    self.classifier = classifier
    self.g_lr, self.d_lr = g_lr, d_lr
    self.beta1, self.beta2 = beta1, beta2
    self.disc_iters = disc_iters
    self.fresh_generator_batch = fresh_generator_batch
    self.penalty_weight = penalty_weight
    self.use_ema = use_ema
    self.ema_decay = ema_decay
    self.ema_start_step = ema_start_step
    self.seed = seed
    for name, value in (("train_distribution", train_distribution),
                        ("eval_distribution", eval_distribution)):
      if value not in noise.SAMPLERS:
        raise ValueError(f"{name} {value!r} is not one of "
                         f"{sorted(noise.SAMPLERS)}.")
    self.loss_fn, self.penalty_fn = loss_fn, penalty_fn
    self.train_distribution = train_distribution
    self.eval_distribution = eval_distribution
    self.mixed_precision = mixed_precision
    with dtype_policy(mixed_precision):
      self.generator = in_policy(generator, mixed_precision).build_for(
          num_classes)
      self.discriminator = in_policy(discriminator,
                                     mixed_precision).build_for(
          num_classes, self.generator.resolution)
      self.ema_generator = (copy_generator(self.generator) if use_ema
                            else None)
    loss_scaling = mixed_precision == "mixed_float16"
    self.g_optimizer = adam(g_lr, beta1, beta2, "g_adam", loss_scaling)
    self.d_optimizer = adam(d_lr, beta1, beta2, "d_adam", loss_scaling)
    # Under MirroredStrategy, Keras 3 optimizers must create their slots in
    # the strategy's scope before the first `strategy.run`; built lazily
    # inside the replica step they fail.
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.discriminator.trainable_variables)
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False,
                            name="global_step")
    self.d_updates = tf.Variable(0, dtype=tf.int64, trainable=False,
                                 name="discriminator_updates")
    self._compiled_d_gradients = self._compiled_g_gradients = None
    self.jit_compile = jit_compile

  @property
  def jit_compile(self) -> bool:
    """Whether the step compiles each gradient computation with XLA (see
    `gradient_functions`). Set it before the step is traced: a traced step
    keeps the functions it was traced with."""
    return self._jit_compile

  @jit_compile.setter
  def jit_compile(self, flag: bool) -> None:
    self._jit_compile = bool(flag)

  def gradient_functions(self) -> tuple[Callable, Callable]:
    """(D's, G's) gradient computation as the step calls them:
    `discriminator_gradients` and `generator_gradients`, compiled with XLA
    when `jit_compile` (each compiled once, then reused)."""
    if not self.jit_compile:
      return self.discriminator_gradients, self.generator_gradients
    if self._compiled_d_gradients is None:
      # A nested tf.function cannot hold the cross-replica updates of
      # spectral norm, so XLA is for one replica per host (and TPU).
      self._compiled_d_gradients = tf.function(self.discriminator_gradients,
                                               jit_compile=True)
      self._compiled_g_gradients = tf.function(self.generator_gradients,
                                               jit_compile=True)
    return self._compiled_d_gradients, self._compiled_g_gradients

  def settings(self) -> dict:
    """The constructor's arguments besides the classifier and the networks
    (jit_compile aside: it changes no result), JSON-serialisable: with the
    networks' configs, what rebuilds this model without gin (run.json)."""
    return {"disc_iters": self.disc_iters,
            "fresh_generator_batch": self.fresh_generator_batch,
            "g_lr": self.g_lr, "d_lr": self.d_lr, "beta1": self.beta1,
            "beta2": self.beta2, "penalty_weight": self.penalty_weight,
            "use_ema": self.use_ema, "ema_decay": self.ema_decay,
            "ema_start_step": self.ema_start_step, "seed": self.seed,
            "train_distribution": self.train_distribution,
            "eval_distribution": self.eval_distribution,
            "mixed_precision": self.mixed_precision}

  @property
  def inference_generator(self) -> Generator:
    """The generator to evaluate and export: the EMA one when kept."""
    return self.ema_generator if self.use_ema else self.generator

  @property
  def batches_per_step(self) -> int:
    """Batches a global step takes: one per D update (and one for G's)."""
    return self.disc_iters + int(self.fresh_generator_batch)

  @property
  def resolution(self) -> int:
    return self.generator.resolution

  @property
  def z_dim(self) -> int:
    return self.generator.z_dim

  # Per replica.

  def _discriminator_fn(self, images, logits):
    # Penalties differentiate D at other points; that must not advance its
    # spectral-norm power iteration a second time.
    return self.discriminator(images, logits, training=False)

  def discriminator_gradients(self, images, logits, epsilon, seed, scale):
    """D's gradients and metrics on one sub-batch: real images [B, R, R, 3]
    with their logits [B, n_c], fakes G(logits, epsilon [B, z_dim]), the
    penalty's noise from `seed` and the loss multiplied by `scale`."""
    fake = tf.stop_gradient(self.generator(logits, epsilon, training=True))
    with tf.GradientTape() as tape:
      features = self.discriminator.features(tf.concat([images, fake], 0),
                                             training=True)
      outputs = self.discriminator.project(
          features, tf.concat([logits, logits], 0), training=True)
      d_real, d_fake = tf.split(outputs, 2)
      result = losses.compute_losses(d_real, d_fake, self.loss_fn)
      penalty = losses.compute_penalty(self._discriminator_fn, images, fake,
                                       logits, seed, self.penalty_fn)
      loss = result.d_loss + self.penalty_weight * penalty
      scaled = self.d_optimizer.scale_loss(loss * scale)
    gradients = tape.gradient(scaled,
                              self.discriminator.trainable_variables)
    metrics = {"d_loss": loss, "d_loss_real": result.d_loss_real,
               "d_loss_fake": result.d_loss_fake, "d_penalty": penalty,
               "d_real": tf.reduce_mean(d_real),
               "d_fake": tf.reduce_mean(d_fake)}
    return gradients, metrics

  def generator_gradients(self, logits, epsilon, scale, images=None):
    """G's gradients and loss on logits [B, n_c] with noise [B, z_dim], the
    loss multiplied by `scale`. `images` [B, R, R, 3], the real images the
    logits are of, are unused: the GAN's loss is D's alone (a subclass, the
    Dosovitskiy & Brox decoder, compares its images with them)."""
    with tf.GradientTape() as tape:
      fake = self.generator(logits, epsilon, training=True)
      d_fake = self.discriminator(fake, logits, training=True)
      # Generator losses depend on D's output on fakes only.
      loss = losses.compute_losses(d_fake, d_fake, self.loss_fn).g_loss
      scaled = self.g_optimizer.scale_loss(loss * scale)
    gradients = tape.gradient(scaled, self.generator.trainable_variables)
    return gradients, {"g_loss": loss}

  def _replica_noise(self, seed, batch, context) -> tf.Tensor:
    """This replica's rows of the global batch's noise: the same draws
    whatever the number of replicas."""
    replicas = context.num_replicas_in_sync
    start = context.replica_id_in_sync_group * batch
    everyone = noise.train_noise(
        [batch * replicas, self.z_dim], seed,
        distribution_fn=noise.SAMPLERS[self.train_distribution])
    return everyone[start:start + batch]

  def logits_of(self, batch: dict) -> tf.Tensor:
    if "logits" in batch:
      return tf.cast(batch["logits"], tf.float32)
    if self.classifier is None:
      raise ValueError("The batch carries no logits and the GAN has no "
                       "classifier to compute them.")
    return tf.stop_gradient(tf.cast(self.classifier(batch["images"]),
                                    tf.float32))

  def _replica_step(self, batch: dict):
    """k D updates, one G update and the EMA of G on this replica's share.

    Sub-batch i takes rows i, i + m, i + 2m, ... of the replica's rows
    (m = batches_per_step), so that the global batch of each sub-step is
    the same set of examples however many replicas share it; D trains on
    sub-batches 0..k-1 and G on the logits of the last, m - 1."""
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group
    scale = 1.0 / context.num_replicas_in_sync
    step = self.step.read_value()
    images = tf.cast(batch["images"], tf.float32)
    logits = self.logits_of(batch)
    per_substep = tf.shape(logits)[0] // self.batches_per_step
    images = tf.reshape(images, tf.concat(
        [[per_substep, self.batches_per_step], tf.shape(images)[1:]], 0))
    logits = tf.reshape(logits, [per_substep, self.batches_per_step,
                                 self.num_classes])
    metrics, skipped = {}, []
    d_gradients, g_gradients = self.gradient_functions()
    for i in range(self.disc_iters):
      seed = noise.seed_for(self.seed, noise.Purpose.DISCRIMINATOR_STEP,
                            step, i)
      epsilon = self._replica_noise(seed, per_substep, context)
      penalty_seed = noise.seed_for(self.seed, noise.Purpose.PENALTY, step,
                                    i, replica)
      gradients, metrics = d_gradients(
          images[:, i], logits[:, i], epsilon, penalty_seed, scale)
      gradients = shared_overflow(gradients, self.d_optimizer, context)
      skipped.append(non_finite.apply(
          self.d_optimizer, gradients, self.discriminator.trainable_variables,
          metrics["d_loss"], skip=self.skip_non_finite))
    seed = noise.seed_for(self.seed, noise.Purpose.GENERATOR_STEP, step)
    epsilon = self._replica_noise(seed, per_substep, context)
    gradients, g_metrics = g_gradients(logits[:, -1], epsilon, scale,
                                       images[:, -1])
    gradients = shared_overflow(gradients, self.g_optimizer, context)
    skipped.append(non_finite.apply(
        self.g_optimizer, gradients, self.generator.trainable_variables,
        g_metrics["g_loss"], skip=self.skip_non_finite))
    self.update_ema()
    return {**metrics, **g_metrics,
            non_finite.SKIPPED: tf.cast(tf.reduce_any(skipped), tf.float32)}

  # Cross-replica.

  def train_step(self, batch: dict,
                 strategy: Optional[tf.distribute.Strategy] = None) -> dict:
    """One global step on a (distributed) batch; returns mean metrics."""
    strategy = strategy or tf.distribute.get_strategy()
    if self.jit_compile and strategy.num_replicas_in_sync > 1:
      raise ValueError(
          f"GAN.jit_compile = True with {strategy.num_replicas_in_sync} "
          "replicas: the compiled gradient functions cannot hold spectral "
          "norm's updates of variables shared across replicas (TensorFlow "
          "fails with a merge_call error). Set GAN.jit_compile = False; "
          "on TPU, XLA compiles the whole step anyway.")
    per_replica = strategy.run(self._replica_step, args=(batch,))
    self.step.assign_add(1)
    self.d_updates.assign_add(self.disc_iters)
    return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value,
                                  axis=None)
            for name, value in per_replica.items()}

  def update_ema(self) -> None:
    """EMA of G's trainable weights (a plain copy before ema_start_step);
    the rest (spectral-norm vectors, BN statistics) is copied.

    Called in a replica context, as optimizers apply their updates: each
    device then updates its own copy from its own copy of G, where an
    update outside `strategy.run` would compute on the first device and
    send every EMA weight to the others at each step."""
    if not self.use_ema:
      return
    decay = tf.where(self.step >= self.ema_start_step,
                     tf.constant(self.ema_decay, tf.float32), 0.0)

    def blend(target, source, decay):
      return target.assign(decay * target + (1.0 - decay) * source)

    def copy(target, source):
      return target.assign(source)

    def update_all(strategy, decay):
      ema, generator = self.ema_generator, self.generator
      # (.value: the tf.Variable behind a Keras variable.)
      for target, source in zip(ema.trainable_weights,
                                generator.trainable_weights):
        strategy.extended.update(target.value, blend,
                                 args=(source.value, decay), group=False)
      for target, source in zip(ema.non_trainable_weights,
                                generator.non_trainable_weights):
        strategy.extended.update(target.value, copy, args=(source.value,),
                                 group=False)

    # Each replica's decay reaches the updates on its own device.
    tf.distribute.get_replica_context().merge_call(update_all, args=(decay,))

  def checkpoint(self, **extra) -> tf.train.Checkpoint:
    """A checkpoint of G, D, the EMA G, both optimizers and the counters
    (plus `extra` trackables), every network weight keyed by its path."""
    networks = {"generator": self.generator,
                "discriminator": self.discriminator}
    if self.use_ema:
      networks["ema_generator"] = self.ema_generator
    return tf.train.Checkpoint(
        **{name: tf.train.Checkpoint(**layers.weights_by_path(network))
           for name, network in networks.items()},
        g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
        gan_step=self.step, d_updates=self.d_updates, **extra)

  def weights_are_finite(self) -> tf.Tensor:
    """Whether every float weight of G, D and the EMA G is finite. A step's
    losses are computed before its updates, so finite losses can hide
    weights an update made NaN; those must not be saved as good."""
    networks = [self.generator, self.discriminator]
    if self.use_ema:
      networks.append(self.ema_generator)
    return tf.reduce_all([
        tf.reduce_all(tf.math.is_finite(weight.value))
        for network in networks for weight in network.weights
        if tf.as_dtype(weight.dtype).is_floating])

  def use_configured_learning_rates(self) -> dict[str, tuple[float, float]]:
    """Sets both optimizers' learning rates to GAN.g_lr / GAN.d_lr.

    Keras keeps an optimizer's learning rate in a variable, so restoring a
    checkpoint brings back the rate it was saved with; a resumed run would
    otherwise ignore a changed rate (the usual remedy after a divergence).
    Returns {binding: (restored rate, configured rate)} for those changed.
    """
    changed = {}
    for binding, optimizer, rate in (("GAN.g_lr", self.g_optimizer,
                                      self.g_lr),
                                     ("GAN.d_lr", self.d_optimizer,
                                      self.d_lr)):
      restored = float(optimizer.learning_rate.numpy())
      if not math.isclose(restored, rate, rel_tol=1e-6):
        changed[binding] = (restored, rate)
      optimizer.learning_rate.assign(rate)
    return changed

  # Inference.

  def fill_standing_statistics(self, logit_batches,
                               num_batches: Optional[int] = None):
    """Standing BN statistics of the inference generator from the first
    `num_batches` of `logit_batches` (None: all of them) with evaluation
    noise; a no-op with moving averages."""
    generator = self.inference_generator
    if generator.use_moving_averages:
      return 0

    def batches():
      for index, logits in enumerate(logit_batches):
        if num_batches is not None and index >= num_batches:
          return
        seed = noise.seed_for(self.seed, noise.Purpose.STANDING_STATISTICS,
                              index)
        yield logits, noise.eval_noise(
            [logits.shape[0], self.z_dim], seed,
            distribution_fn=noise.SAMPLERS[self.eval_distribution])

    return generator.compute_standing_statistics(batches())

  def reconstruct(self, logits, seed: int = 0) -> tf.Tensor:
    """Images G_ema(z, ε) in [-1, 1] for logits [B, n_c], with evaluation
    noise drawn from `seed`."""
    logits = tf.convert_to_tensor(logits, tf.float32)
    epsilon = noise.eval_noise(
        [logits.shape[0], self.z_dim],
        noise.seed_for(self.seed, noise.Purpose.EVALUATION, seed),
        distribution_fn=noise.SAMPLERS[self.eval_distribution])
    return self._inference(logits, epsilon)

  @tf.function(reduce_retracing=True)
  def _inference(self, logits, epsilon):
    # Traced once, not run op by op: evaluation reconstructs thousands of
    # images during training.
    return self.inference_generator(logits, epsilon, training=False)
