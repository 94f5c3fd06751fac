"""`OptimizationInversion`: optimization-based inversion as an inversion
model, so every analysis (logit_gan/analyses) can run it beside the GAN.

THE SLOW PATH. Each reconstruction is `Settings.steps` (default 200)
forward and backward passes of the classifier, against one generator
forward pass for the GAN: about three orders of magnitude slower per
image (bench/inversion_speed.py, docs/baselines.md). Give analyses few
images, or fewer steps (`optimization_inversion.steps`).

Noise. What the noise of an inversion model picks here is the starting
image: a noise row [z_dim], z_dim = k*k*3 with k = `noise_resolution`
(default 4, so z_dim = 48), is read as a [k, k, 3] grid, upsampled
bilinearly to R, scaled by `noise_scale` and added to the mean image (grey
by default), as `optimization.images_from_noise`. So noise resampling
shows how much the result depends on the start (the paper's criticism of
the method), and noise interpolation interpolates starting images. With
init="mean" the noise is ignored and the model is deterministic.
`sample_noise` draws `noise_distribution` (N(0, 1) or U[-1, 1]).

Build one from a classifier (any zoo.Classifier, a user's `.keras` or
SavedModel classifier, or a callable with `resolution=`), or from an
inversion model with `OptimizationInversion.from_model(model)`: it inverts
that model's own classifier through `model.classify_tensor` (for an export,
its differentiable `classify` signature). `bin/analyze
--optimization_baseline` builds it from the first export:

  first = inversion.load(export_dirs[0])
  baseline = OptimizationInversion.from_model(first)   # Settings() from gin
  models = [first, ..., baseline]
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from logit_gan.analyses import inversion
from logit_gan.baselines import optimization

METHOD = "optimization"


class OptimizationInversion(inversion.InversionModel):
  """SLOW PATH: optimization-based inversion of `classifier`, hundreds of
  classifier passes per image (see the module docstring).

  Args:
    classifier: images float32 [B, R, R, 3] in [-1, 1] -> logits [B, n_c],
      differentiable.
    settings: optimization.Settings; default `Settings()` (gin's
      optimization_inversion.*). `settings.init` must be "noise" or "mean".
    name: the label in tables and figures.
    resolution: R; default the classifier's `input_size`.
    mean_image: [R, R, 3] in [-1, 1], the starts' mean (default grey).
    seed: the jitter's seed (the start comes from the noise).
    class_names, dataset: as the inverted model's, for records.
    progress: as `optimization.invert`'s (None: once a call takes 5 s).
  """
  method = METHOD

  def __init__(self, classifier, *,
               settings: Optional[optimization.Settings] = None,
               name: str = METHOD, resolution: Optional[int] = None,
               mean_image=None, seed: int = 0, class_names=None,
               dataset: Optional[dict] = None,
               progress: Optional[bool] = None):
    self.settings = settings or optimization.Settings()
    if self.settings.init == "given":
      raise ValueError(
          "An OptimizationInversion starts from its noise (init='noise') or "
          "from the mean image (init='mean'), not init='given'; for given "
          "starting images call optimization.invert(...) directly.")
    self.classifier, self.name, self.seed = classifier, name, seed
    self.resolution, self.num_classes = optimization.classifier_shape(
        classifier, resolution)
    self.mean_image = (None if mean_image is None else
                       optimization.mean_images(1, self.resolution,
                                                mean_image)[0])
    self.z_dim = self.settings.noise_resolution ** 2 * 3
    self.deterministic = self.settings.init == "mean"
    self.class_names = tuple(class_names) if class_names else None
    self.dataset, self.progress = dataset, progress
    self.batch_size = self.settings.batch_size
    # The traced steps, reused by every call; reconstruct passes the start.
    self.descent = optimization.Descent(classifier, dataclasses.replace(
        self.settings, init="given"))
    self.last_result: Optional[optimization.InversionResult] = None

  @classmethod
  def from_model(cls, model: inversion.InversionModel, *,
                 settings: Optional[optimization.Settings] = None,
                 name: Optional[str] = None,
                 **options) -> "OptimizationInversion":
    """Inverts `model`'s own classifier (`model.classify_tensor`, for an
    export its `classify` signature) at its resolution; named
    "optimization_<model name>" unless `name` is given. `options`: the
    constructor's mean_image, seed, progress."""
    return cls(model.classify_tensor, settings=settings,
               name=name or f"{METHOD}_{model.name}",
               resolution=model.resolution, class_names=model.class_names,
               dataset=model.dataset, **options)

  def sample_noise(self, count: int, seed: int) -> np.ndarray:
    """float32 [count, z_dim]: `noise_distribution` draws from `seed`."""
    return optimization.draw_noise(count, self.z_dim,
                                   self.settings.noise_distribution, seed)

  def starting_images(self, noise) -> np.ndarray:
    """float32 [N, R, R, 3] in [-1, 1]: the starts noise [N, z_dim] picks
    (the mean image alone with init="mean")."""
    noise = inversion.check_array(noise, (self.z_dim,), "noise", self)
    if self.deterministic:
      return optimization.mean_images(len(noise), self.resolution,
                                      self.mean_image)
    return optimization.images_from_noise(
        noise, resolution=self.resolution, scale=self.settings.noise_scale,
        mean_image=self.mean_image)

  def reconstruct(self, logits, noise) -> np.ndarray:
    """float32 [N, R, R, 3] in [-1, 1]: each logit row inverted from the
    start its noise row picks. The whole run (losses, logit errors, time)
    is kept in `last_result`."""
    logits = inversion.check_array(logits, (self.num_classes,), "logits",
                                   self)
    starts = self.starting_images(noise)
    if len(starts) != len(logits):
      raise ValueError(f"{self.name}: {len(logits)} logit rows but "
                       f"{len(starts)} noise rows; give one noise row each.")
    self.last_result = optimization.invert(
        self.classifier, logits, initial_images=starts,
        resolution=self.resolution, seed=self.seed, progress=self.progress,
        descent=self.descent)
    return self.last_result.images

  def _reconstruct(self, logits: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    return tf.constant(self.reconstruct(logits.numpy(), noise.numpy()))

  def classify_tensor(self, images: tf.Tensor) -> tf.Tensor:
    return self.classifier(images)

  def describe(self) -> dict[str, Any]:
    return {**super().describe(), "settings": dataclasses.asdict(
        self.settings), "slow_path": True}
