"""A network that reads the ground-truth factors off a `shapes` image: the
measuring instrument of `factor_recovery` (issue #23, experiment 13).

Trained by the package on the training split of the package's own dataset
(`shapes` or `shapes_mini`) with the stored factors as targets, at the
resolution the inversion models draw, and cached in
`<cache_dir>/<tfds name with / as _>_<resolution>/` (`regressor.keras` and
`regressor.json`) like the classifiers, so it is trained once per dataset,
resolution and training settings (gin `factor_regressor.steps`,
`train_images`, `cache_dir`; a cache trained with other settings is
trained again). Its own error on real test images is the ceiling every
reconstruction is measured against.

Factors (those the dataset stores; vectors flattened, e.g. foreground_colour
-> 3 outputs):
  continuous  foreground_colour (RGB), background_colours (2 x RGB), scale,
              centre_x, centre_y, brightness, and for shapes_mini
              foreground_hue_offset (the hue within its family,
              `logit_probe.with_hue_offset`),
              foreground_saturation, foreground_value;
  categorical background_kind, and for shapes_mini texture.
Rotation is left out: a circle has none and a square's repeats every 90°.
Continuous targets are standardised (train-split mean and sd, stored);
the loss is the mean squared error over them plus the cross-entropy of
each categorical factor. The network: `small_resnet` (width 32) with one
output per continuous dimension and one logit per category.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Optional

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from logit_gan import files
from logit_gan import progress as progress_lib
from logit_gan.analyses import logit_probe
from logit_gan.classifiers.small_resnet import small_resnet

CONTINUOUS = ("foreground_colour", "background_colours", "scale", "centre_x",
              "centre_y", "brightness", "foreground_hue_offset",
              "foreground_saturation", "foreground_value")
CATEGORICAL = {"background_kind": 3, "texture": 3}
MODEL_FILE, INFO_FILE = "regressor.keras", "regressor.json"


@dataclasses.dataclass
class Layout:
  """Which outputs are which factor. continuous: name -> (start, width);
  categorical: name -> (start, categories); mean/sd per continuous
  output."""
  continuous: dict
  categorical: dict
  mean: list
  sd: list

  @classmethod
  def of(cls, factors: dict) -> "Layout":
    continuous, categorical, start, columns = {}, {}, 0, []
    for name in CONTINUOUS:
      if name in factors:
        value = np.asarray(factors[name], np.float64).reshape(
            len(factors[name]), -1)
        continuous[name] = (start, value.shape[1])
        start += value.shape[1]
        columns.append(value)
    for name, categories in CATEGORICAL.items():
      if name in factors:
        categorical[name] = (start, categories)
        start += categories
    if not continuous:
      raise ValueError("factor_recovery needs a dataset with ground-truth "
                       "factors (shapes or shapes_mini); these examples "
                       f"have {sorted(factors) or 'none'}.")
    stacked = np.concatenate(columns, axis=1)
    return cls(continuous, categorical, stacked.mean(0).tolist(),
               np.maximum(stacked.std(0), 1e-6).tolist())

  @property
  def width(self) -> int:
    ends = [s + w for s, w in self.continuous.values()] + [
        s + c for s, c in self.categorical.values()]
    return max(ends)

  def targets(self, factors: dict) -> tuple[np.ndarray, dict]:
    """(standardised continuous targets [N, C], {categorical: [N]})."""
    columns = [np.asarray(factors[name], np.float64).reshape(
        len(factors[name]), -1) for name in self.continuous]
    standard = (np.concatenate(columns, axis=1) - self.mean) / self.sd
    return standard.astype(np.float32), {
        name: np.asarray(factors[name], np.int64)
        for name in self.categorical}


class FactorRegressor:
  """images [N, R, R, 3] in [-1, 1] -> {factor: [N, d] (continuous, in the
  factor's units) or [N] (categorical index)}."""

  def __init__(self, network: keras.Model, layout: Layout,
               info: Optional[dict] = None):
    self.network, self.layout, self.info = network, layout, info or {}

  def outputs(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    return np.concatenate([
        np.asarray(self.network(images[i:i + batch_size], training=False))
        for i in range(0, len(images), batch_size)])

  def predict(self, images: np.ndarray) -> dict:
    raw = self.outputs(np.asarray(images, np.float32))
    out = {}
    for name, (start, width) in self.layout.continuous.items():
      mean = np.asarray(self.layout.mean[start:start + width])
      sd = np.asarray(self.layout.sd[start:start + width])
      out[name] = raw[:, start:start + width] * sd + mean
    for name, (start, categories) in self.layout.categorical.items():
      out[name] = raw[:, start:start + categories].argmax(-1)
    return out


def _loss(layout: Layout):
  width = sum(w for _, w in layout.continuous.values())

  def loss(outputs, continuous, categorical):
    value = tf.reduce_mean(tf.square(outputs[:, :width] - continuous))
    for name, (start, categories) in layout.categorical.items():
      value += tf.reduce_mean(
          tf.keras.losses.sparse_categorical_crossentropy(
              categorical[name], outputs[:, start:start + categories],
              from_logits=True))
    return value
  return loss


def train(images: np.ndarray, factors: dict, *, steps: int,
          batch_size: int = 128, learning_rate: float = 2e-3,
          seed: int = 0) -> FactorRegressor:
  """A FactorRegressor trained on images [N, R, R, 3] and their factors."""
  factors = logit_probe.with_hue_offset(factors)
  layout = Layout.of(factors)
  continuous, categorical = layout.targets(factors)
  keras.utils.set_random_seed(seed)
  network = small_resnet(layout.width, resolution=images.shape[1],
                         name="factor_regressor")
  optimizer = keras.optimizers.Adam(learning_rate)
  loss_fn = _loss(layout)

  @tf.function
  def step(x, c, k):
    with tf.GradientTape() as tape:
      value = loss_fn(network(x, training=True), c, k)
    gradients = tape.gradient(value, network.trainable_variables)
    optimizer.apply_gradients(zip(gradients, network.trainable_variables))
    return value

  rng = np.random.default_rng(seed)
  progress = progress_lib.Progress(steps)
  for i in range(steps):
    rows = rng.integers(0, len(images), batch_size)
    value = step(images[rows], continuous[rows],
                 {k: v[rows] for k, v in categorical.items()})
    if (i + 1) % 100 == 0 or i + 1 == steps:
      progress.update(i + 1, {"loss": float(value)})
  progress.finish(f"factor regressor trained ({steps} steps)")
  return FactorRegressor(network, layout)


def save(regressor: FactorRegressor, directory: str) -> None:
  """regressor.keras and regressor.json (layout, info), written atomically
  (the JSON last: its presence marks a complete cache)."""
  with files.atomic_path(os.path.join(directory, MODEL_FILE)) as temporary:
    regressor.network.save(temporary)
  files.write_text(os.path.join(directory, INFO_FILE), json.dumps(
      {"layout": dataclasses.asdict(regressor.layout),
       "info": regressor.info}, indent=1))


def load(directory: str) -> Optional[FactorRegressor]:
  """The cached regressor in directory, or None when there is none."""
  info_file = os.path.join(directory, INFO_FILE)
  if not tf.io.gfile.exists(info_file):
    return None
  stored = json.loads(files.read_text(info_file))
  network = keras.models.load_model(os.path.join(directory, MODEL_FILE),
                                    compile=False)
  return FactorRegressor(network, Layout(**stored["layout"]),
                         stored.get("info"))


@gin.configurable("factor_regressor", allowlist=["cache_dir", "steps",
                                                 "train_images"])
def cached(tfds_name: str, resolution: int, *,
           cache_dir: str = "~/.logit_gan/factor_regressors",
           steps: int = 3000, train_images: int = 20_000,
           data_dir: Optional[str] = None) -> FactorRegressor:
  """The regressor of a package dataset at a resolution: from the cache
  when it was trained with these `steps` and `train_images`, else trained
  on the first `train_images` training images (in the TFDS `data_dir`)
  and cached in <cache_dir>/<tfds name, / as _>_<resolution>/."""
  from logit_gan.analyses import examples as examples_lib  # pylint: disable=import-outside-toplevel
  directory = os.path.join(files.expand_user(cache_dir),
                           f"{tfds_name.replace('/', '_')}_{resolution}")
  wanted = {"steps": steps, "train_images": train_images}
  regressor = load(directory)
  if regressor is not None and all(
      regressor.info.get(key) == value for key, value in wanted.items()):
    return regressor
  logging.info("Training the factor regressor of %s at %dx%d, %s (cached "
               "in %s).", tfds_name, resolution, resolution, wanted,
               directory)
  data = examples_lib.from_shapes(tfds_name, resolution=resolution,
                                  split="train", count=train_images,
                                  data_dir=data_dir)
  regressor = train(data.images, data.factors, steps=steps)
  regressor.info = {"dataset": tfds_name, "resolution": resolution,
                    **wanted, "images_used": len(data)}
  save(regressor, directory)
  return regressor
