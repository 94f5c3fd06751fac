"""Optimization-based inversion: gradient descent in image space.

The baseline the paper calls slow (its Section 2, equation (1); Mahendran &
Vedaldi 2015; Engstrom et al. 2019 with robust classifiers). For target
logits z [B, n_c] and a frozen classifier Phi (images [B, R, R, 3] in
[-1, 1] -> logits [B, n_c]: a zoo.Classifier of any kind, including a
user's `.keras` file or SavedModel, or an export's differentiable
`classify`), each image x_i minimises

  L(x_i) = mean_c (Phi(J_t(x_i))_c - z_ic)^2  +  lambda * R(x_i)
  R(x)   = tv_weight * TV_beta(x) + norm_weight * N_alpha(x)
  TV_beta(x)  = mean_{i,j,c} ((x[i,j+1,c] - x[i,j,c])^2
                              + (x[i+1,j,c] - x[i,j,c])^2)^(beta / 2)
  N_alpha(x)  = mean_{i,j,c} |x[i,j,c]|^alpha

with Adam (beta_1 0.9, beta_2 0.999, epsilon 1e-8) on the pixels, starting
from `init`: "noise" (grey plus low-frequency noise: a [k, k, 3] draw,
normal or uniform, upsampled bilinearly to R, times `noise_scale`; k =
`noise_resolution`), "mean" (a given mean image, default grey 0) or "given"
images. J_t is the jitter: at step t the image is translated circularly
(tf.roll) by a random integer offset in [-jitter, jitter] along each axis,
the same offset for the whole batch, drawn statelessly from (seed, t).

Pixels are kept in [-1, 1] by projection: each Adam step is followed by a
clip to [-1, 1] (as Engstrom et al.'s `robustness` library does), not by a
tanh parametrisation (which would make a start at exactly +-1 impossible
and flatten gradients near the bounds).

Deviations from the references, all deliberate:
  * The data term is the squared error averaged over logits, not equation
    (1)'s unsquared norm, nor Mahendran & Vedaldi's squared error divided
    by ||Phi(x_0)||^2 (the target here may be an edited logit vector with
    no source image; the mean keeps the term's scale independent of n_c).
  * Both priors are means over pixels instead of sums with Mahendran &
    Vedaldi's normalising constants, so their weights do not depend on R.
    Their exponents are Mahendran & Vedaldi's (alpha = 6, beta = 2); for
    beta != 2, 1e-8 is added under the power so the gradient is finite.
  * Jitter is their later work's (Mahendran & Vedaldi 2016), circular so
    no padding value is invented.
  * Each image is optimised alone: the loss is summed over the batch, so
    an image's result does not depend on its batch-mates (a classifier in
    inference mode treats rows independently) or on `batch_size`.

The defaults (`Settings`, gin `optimization_inversion.*`) are documented in
docs/baselines.md with how they were chosen.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Optional

import gin
import numpy as np
import tensorflow as tf

from logit_gan import progress as progress_lib

INITS = ("noise", "mean", "given")
NOISE_DISTRIBUTIONS = ("normal", "uniform")
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-8
CHUNK_STEPS = 50  # Steps per tf.function call: progress between calls.
PROGRESS_AFTER_S = 5.0  # progress=None shows progress once this long.

Classifier = Callable[[tf.Tensor], tf.Tensor]


@gin.configurable("optimization_inversion")
@dataclasses.dataclass(frozen=True)
class Settings:
  """The method's settings (gin: `optimization_inversion.steps = 500`).

  steps: Adam steps per image.
  learning_rate: Adam's step size, in pixel units ([-1, 1] range).
  prior_weight: lambda; 0 turns the prior off.
  tv_weight, tv_beta: weight and exponent beta of the total variation.
  norm_weight, norm_alpha: weight and exponent alpha of the alpha-norm.
  jitter: the largest translation, in pixels, per step (0: none).
  init: "noise", "mean" or "given" (see the module docstring).
  noise_distribution: "normal" (N(0, 1)) or "uniform" (U[-1, 1]).
  noise_scale: the noise's factor before it is added to the mean image.
  noise_resolution: k, the side of the noise grid upsampled to R (k = R:
    independent noise per pixel); the inversion model's z_dim is k*k*3.
  batch_size: images optimised together (memory, not results).
  """
  steps: int = 200
  learning_rate: float = 0.05
  prior_weight: float = 10.0
  tv_weight: float = 1.0
  tv_beta: float = 2.0
  norm_weight: float = 1.0
  norm_alpha: float = 6.0
  jitter: int = 1
  init: str = "noise"
  noise_distribution: str = "normal"
  noise_scale: float = 0.25
  noise_resolution: int = 4
  batch_size: int = 64

  def __post_init__(self):
    _check_choice("init", self.init, INITS)
    _check_choice("noise_distribution", self.noise_distribution,
                  NOISE_DISTRIBUTIONS)
    for name in ("steps", "noise_resolution", "batch_size"):
      _check_number(name, getattr(self, name), minimum=1, integer=True)
    _check_number("jitter", self.jitter, minimum=0, integer=True)
    for name in ("prior_weight", "tv_weight", "norm_weight", "noise_scale"):
      _check_number(name, getattr(self, name), minimum=0)
    for name in ("tv_beta", "norm_alpha"):
      _check_number(name, getattr(self, name), minimum=1)
    _check_number("learning_rate", self.learning_rate, minimum=0)
    if self.learning_rate == 0:
      raise ValueError("optimization_inversion.learning_rate must be > 0.")


def _check_choice(name: str, value, choices: tuple) -> None:
  if value not in choices:
    raise ValueError(f"optimization_inversion.{name} = {value!r}; choose "
                     f"one of {list(choices)}.")


def _check_number(name: str, value, *, minimum: float,
                  integer: bool = False) -> None:
  kind = int if integer else (int, float)
  if (isinstance(value, bool) or not isinstance(value, kind)
      or not math.isfinite(value) or value < minimum):
    raise ValueError(f"optimization_inversion.{name} = {value!r}; it must "
                     f"be {'an integer' if integer else 'a number'} >= "
                     f"{minimum}.")


@dataclasses.dataclass
class InversionResult:
  """What `invert` returns.

  images: float32 [B, R, R, 3] in [-1, 1], the final iterates.
  losses: float32 [steps], the objective L averaged over the B images at
    each step (evaluated before that step's update, with its jitter).
  logit_losses: float32 [steps], the data term alone, likewise.
  logit_errors: float32 [B], mean_c (Phi(x_i) - z_i)^2 of the returned
    images (no jitter).
  initial_logit_errors: float32 [B], the same for the starting images.
  seconds: wall time of the whole inversion.
  settings: the Settings used.
  """
  images: np.ndarray
  losses: np.ndarray
  logit_losses: np.ndarray
  logit_errors: np.ndarray
  initial_logit_errors: np.ndarray
  seconds: float
  settings: Settings


def classifier_shape(classifier: Classifier,
                     resolution: Optional[int] = None) -> tuple[int, int]:
  """(R, n_c): R is `resolution`, else the classifier's `input_size` (a
  zoo.Classifier resizes any R to its network's size); n_c is its
  `num_classes`, else probed with one grey image."""
  resolution = resolution or getattr(classifier, "input_size", None)
  if resolution is None:
    raise ValueError(
        f"The classifier {classifier!r} does not say which image size it "
        "takes (no input_size); pass resolution= (the side R of the images "
        "to reconstruct).")
  num_classes = getattr(classifier, "num_classes", None)
  if num_classes is None:
    probe = classifier(tf.zeros([1, int(resolution), int(resolution), 3]))
    if len(probe.shape) != 2:
      raise ValueError(f"The classifier returns shape {list(probe.shape)} "
                       "for a [1, R, R, 3] image; it must return logits "
                       "[B, n_c].")
    num_classes = probe.shape[-1]
  return int(resolution), int(num_classes)


def check_targets(target_logits, num_classes: int) -> np.ndarray:
  """Target logits as float32 [B, n_c], or a ValueError saying what is
  wrong (rank, a width other than the classifier's, NaN or inf)."""
  targets = np.asarray(target_logits, dtype=np.float32)
  if targets.ndim != 2:
    raise ValueError(f"Target logits must be a 2-D array [B, n_c]; got "
                     f"shape {list(targets.shape)} (one row per image).")
  if targets.shape[1] != num_classes:
    raise ValueError(
        f"Target logits have width {targets.shape[1]}, but the classifier "
        f"gives {num_classes} logits: invert logits made by this classifier "
        "(or by one with the same classes).")
  bad = np.flatnonzero(~np.all(np.isfinite(targets), axis=1))
  if bad.size:
    raise ValueError(f"Target logits hold NaN or inf in rows "
                     f"{bad[:10].tolist()}{' ...' if bad.size > 10 else ''}"
                     "; give finite logits.")
  return targets


def draw_noise(count: int, width: int, distribution: str,
               seed: int) -> np.ndarray:
  """float32 [count, width] noise of `distribution` (NOISE_DISTRIBUTIONS)
  from `seed`: the same seed gives the same rows."""
  _check_choice("noise_distribution", distribution, NOISE_DISTRIBUTIONS)
  rng = np.random.default_rng(seed)
  if distribution == "normal":
    return rng.standard_normal((count, width)).astype(np.float32)
  return rng.uniform(-1.0, 1.0, (count, width)).astype(np.float32)


def mean_images(count: int, resolution: int,
                mean_image=None) -> np.ndarray:
  """float32 [count, R, R, 3]: `mean_image` ([R, R, 3] in [-1, 1]) repeated,
  or grey (0) without one."""
  if mean_image is None:
    return np.zeros((count, resolution, resolution, 3), np.float32)
  mean = np.asarray(mean_image, np.float32)
  if mean.shape != (resolution, resolution, 3):
    raise ValueError(f"mean_image must have shape [{resolution}, "
                     f"{resolution}, 3]; got {list(mean.shape)}.")
  if not np.all(np.isfinite(mean)) or np.abs(mean).max() > 1:
    raise ValueError("mean_image must be finite and in [-1, 1] (the "
                     "package's image range).")
  return np.repeat(mean[None], count, axis=0)


def images_from_noise(noise, *, resolution: int, scale: float,
                      mean_image=None) -> np.ndarray:
  """Starting images float32 [B, R, R, 3] in [-1, 1] from noise rows
  [B, k*k*3]: each row as a [k, k, 3] grid, upsampled bilinearly to R,
  times `scale`, plus the mean image (grey by default), clipped."""
  noise = np.asarray(noise, np.float32)
  side = math.isqrt(noise.shape[1] // 3) if noise.ndim == 2 else 0
  if noise.ndim != 2 or side < 1 or side * side * 3 != noise.shape[1]:
    raise ValueError(f"Noise rows must have width k*k*3 (a [k, k, 3] "
                     f"grid); got shape {list(noise.shape)}.")
  grid = noise.reshape(-1, side, side, 3)
  if side != resolution:
    grid = tf.image.resize(grid, [resolution, resolution],
                           method="bilinear").numpy()
  images = mean_images(len(noise), resolution, mean_image) + scale * grid
  return np.clip(images, -1.0, 1.0).astype(np.float32)


def starting_images(settings: Settings, count: int, resolution: int, *,
                    seed: int, given=None, mean_image=None) -> np.ndarray:
  """float32 [count, R, R, 3] in [-1, 1]: the start `settings.init` picks."""
  if settings.init == "given":
    if given is None:
      raise ValueError("init='given' needs initial_images= [B, R, R, 3].")
    start = np.asarray(given, np.float32)
    if start.shape != (count, resolution, resolution, 3):
      raise ValueError(f"initial_images must have shape [{count}, "
                       f"{resolution}, {resolution}, 3] (one per target); "
                       f"got {list(start.shape)}.")
    if not np.all(np.isfinite(start)):
      raise ValueError("initial_images hold NaN or inf.")
    return np.clip(start, -1.0, 1.0)
  if given is not None:
    raise ValueError(f"initial_images= given but init={settings.init!r}; "
                     "set optimization_inversion.init = 'given'.")
  if settings.init == "mean":
    return mean_images(count, resolution, mean_image)
  noise = draw_noise(count, settings.noise_resolution ** 2 * 3,
                     settings.noise_distribution, seed)
  return images_from_noise(noise, resolution=resolution,
                           scale=settings.noise_scale, mean_image=mean_image)


def total_variation(images: tf.Tensor, beta: float) -> tf.Tensor:
  """TV_beta per image [B] of images [B, R, R, 3] (module docstring)."""
  corner = images[:, :-1, :-1]
  squared = (tf.square(images[:, :-1, 1:] - corner)
             + tf.square(images[:, 1:, :-1] - corner))
  if beta != 2:
    squared = tf.pow(squared + 1e-8, beta / 2)
  return tf.reduce_mean(squared, axis=[1, 2, 3])


def norm_prior(images: tf.Tensor, alpha: float) -> tf.Tensor:
  """N_alpha per image [B]: the mean of |x|^alpha over pixels."""
  return tf.reduce_mean(tf.pow(tf.abs(images), alpha), axis=[1, 2, 3])


def logit_error(classifier: Classifier, images: tf.Tensor,
                targets: tf.Tensor) -> tf.Tensor:
  """mean_c (Phi(x) - z)^2 per image [B]."""
  logits = tf.cast(classifier(images), tf.float32)
  return tf.reduce_mean(tf.square(logits - targets), axis=-1)


def jitter(images: tf.Tensor, step: tf.Tensor, seed: tf.Tensor,
           largest: int) -> tf.Tensor:
  """images rolled by a random integer offset in [-largest, largest] per
  axis, drawn statelessly from (seed, step); unchanged when largest = 0."""
  if largest == 0:
    return images
  shift = tf.random.stateless_uniform(
      [2], seed=tf.stack([seed, tf.cast(step, tf.int64)]), minval=-largest,
      maxval=largest + 1, dtype=tf.int32)
  return tf.roll(images, shift=shift, axis=[1, 2])


class Descent:
  """Adam in image space for one classifier and Settings; its traced
  function (`run`) is reused across batches and calls."""

  def __init__(self, classifier: Classifier, settings: Settings):
    self.classifier, self.settings = classifier, settings
    self.run = tf.function(self._run, reduce_retracing=True)

  def objective(self, images, targets, step, seed):
    """(L per image [B], data term per image [B]) at `step`'s jitter."""
    s = self.settings
    data = logit_error(self.classifier, jitter(images, step, seed, s.jitter),
                       targets)
    prior = tf.zeros_like(data)
    if s.prior_weight and s.tv_weight:
      prior += s.tv_weight * total_variation(images, s.tv_beta)
    if s.prior_weight and s.norm_weight:
      prior += s.norm_weight * norm_prior(images, s.norm_alpha)
    return data + s.prior_weight * prior, data

  def _step(self, images, first, second, step, targets, seed):
    """One Adam step and projection; the objective before it."""
    with tf.GradientTape() as tape:
      tape.watch(images)
      total, data = self.objective(images, targets, step, seed)
      summed = tf.reduce_sum(total)  # Images independent (module doc).
    gradient = tape.gradient(summed, images)
    first = ADAM_BETA_1 * first + (1 - ADAM_BETA_1) * gradient
    second = ADAM_BETA_2 * second + (1 - ADAM_BETA_2) * tf.square(gradient)
    count = tf.cast(step + 1, tf.float32)
    first_hat = first / (1 - ADAM_BETA_1 ** count)
    second_hat = second / (1 - ADAM_BETA_2 ** count)
    images = images - self.settings.learning_rate * first_hat / (
        tf.sqrt(second_hat) + ADAM_EPSILON)
    images = tf.clip_by_value(images, -1.0, 1.0)
    return images, first, second, tf.reduce_mean(total), tf.reduce_mean(data)

  def _run(self, images, first, second, start, count, targets, seed):
    """`count` steps from step `start`: the new state and the objective
    and data term (batch means) of each step [count]."""
    totals = tf.TensorArray(tf.float32, size=count)
    datas = tf.TensorArray(tf.float32, size=count)
    for offset in tf.range(count):
      images, first, second, total, data = self._step(
          images, first, second, start + offset, targets, seed)
      totals = totals.write(offset, total)
      datas = datas.write(offset, data)
    return images, first, second, totals.stack(), datas.stack()

  def errors(self, images, targets) -> np.ndarray:
    """mean_c (Phi(x) - z)^2 per image [B] (no jitter), in batches."""
    size = self.settings.batch_size
    return np.concatenate([np.asarray(logit_error(
        self.classifier, tf.constant(images[i:i + size]),
        tf.constant(targets[i:i + size]))) for i in range(
            0, len(images), size)] or [np.zeros([0], np.float32)])


class _Progress:
  """progress.Progress shown from the start (True), never (False), or once
  the run has taken PROGRESS_AFTER_S (None)."""

  def __init__(self, total: int, show: Optional[bool]):
    self.total, self.show, self.started = total, show, time.time()
    self.bar = progress_lib.Progress(total, unit="step") if show else None

  def update(self, done: int, loss: float) -> None:
    if (self.bar is None and self.show is None
        and time.time() - self.started > PROGRESS_AFTER_S):
      self.bar = progress_lib.Progress(self.total, unit="step")
      self.bar.started = self.started
    if self.bar is not None:
      self.bar.update(done, {"loss": loss}, force=done == self.total)


def invert(classifier: Classifier, target_logits,
           settings: Optional[Settings] = None, *, initial_images=None,
           mean_image=None, resolution: Optional[int] = None, seed: int = 0,
           progress: Optional[bool] = None,
           descent: Optional[Descent] = None) -> InversionResult:
  """Images whose logits match `target_logits`, by gradient descent.

  Args:
    classifier: images float32 [B, R, R, 3] in [-1, 1] -> logits [B, n_c],
      differentiable (a zoo.Classifier, an export's classify, ...).
    target_logits: float [B, n_c], n_c the classifier's; finite.
    settings: default `Settings()` (so gin's optimization_inversion.*).
    initial_images: [B, R, R, 3] starting images, with init="given".
    mean_image: [R, R, 3] in [-1, 1], the mean of "mean" and "noise"
      starts (default grey).
    resolution: R; default the classifier's `input_size`.
    seed: the noise start's and the jitter's seed.
    progress: show a progress line (True), never (False), or once the run
      has taken 5 s (None).
    descent: a `Descent` of this classifier and settings to reuse (its
      traced function), e.g. across calls of an inversion model.
  Returns:
    InversionResult (images, per-step losses, per-image logit errors).
  """
  started = time.time()
  settings = settings or (descent.settings if descent else Settings())
  resolution, num_classes = classifier_shape(classifier, resolution)
  targets = check_targets(target_logits, num_classes)
  images = starting_images(settings, len(targets), resolution, seed=seed,
                           given=initial_images, mean_image=mean_image)
  descent = descent or Descent(classifier, settings)
  if descent.settings != settings or descent.classifier is not classifier:
    raise ValueError("descent= was built for another classifier or "
                     "settings; build a Descent(classifier, settings).")
  initial_errors = descent.errors(images, targets)
  bar = _Progress(settings.steps * math.ceil(len(targets) /
                                             settings.batch_size), progress)
  runs = [_invert_batch(descent, images[start:start + settings.batch_size],
                        targets[start:start + settings.batch_size], seed,
                        bar, start)
          for start in range(0, len(targets), settings.batch_size)]
  if runs:
    images = np.concatenate([run[0] for run in runs])
  sizes = [len(run[0]) for run in runs]

  def image_mean(index: int) -> np.ndarray:  # Over batches, by their size.
    if not runs:
      return np.full([settings.steps], np.nan, np.float32)
    return np.average([run[index] for run in runs], axis=0,
                      weights=sizes).astype(np.float32)

  return InversionResult(
      images=images.astype(np.float32), losses=image_mean(1),
      logit_losses=image_mean(2),
      logit_errors=descent.errors(images, targets),
      initial_logit_errors=initial_errors,
      seconds=time.time() - started, settings=settings)


def _invert_batch(descent: Descent, images: np.ndarray, targets: np.ndarray,
                  seed: int, bar: _Progress, done_before: int):
  """One batch through all steps: final images [b, R, R, 3] and the batch
  means of the objective and data term [steps]."""
  steps = descent.settings.steps
  state = [tf.constant(images), tf.zeros_like(images), tf.zeros_like(images)]
  targets = tf.constant(targets)
  seed = tf.constant(seed, tf.int64)
  totals, datas = [], []
  batches_before = done_before // descent.settings.batch_size
  for start in range(0, steps, CHUNK_STEPS):
    count = min(CHUNK_STEPS, steps - start)
    *state, total, data = descent.run(*state, tf.constant(start),
                                      tf.constant(count), targets, seed)
    totals.append(total.numpy())
    datas.append(data.numpy())
    bar.update(batches_before * steps + start + count, float(total[-1]))
  return (state[0].numpy(), np.concatenate(totals),
          np.concatenate(datas))
