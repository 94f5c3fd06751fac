"""Inversion models: what every analysis takes.

An inversion model maps (logits, noise) -> images and images -> logits:

  reconstruct(logits [B, n_c], noise [B, z_dim]) -> float32 [B, R, R, 3]
      in [-1, 1] (the package's image range);
  classify(images [B, R, R, 3] float in [-1, 1]) -> float32 logits [B, n_c]
      of the classifier the model inverts;
  classify_tensor(images tf.Tensor) -> tf.Tensor, the same, differentiable
      (attacks take gradients through it);
  sample_noise(count, seed) -> float32 [count, z_dim], the model's evaluation
      noise; the same seed gives the same noise.

Arrays in and out are numpy; the model batches internally (`batch_size`),
so any N fits in memory. Three kinds implement it:

  ExportedModel   a `bin/export` SavedModel loaded with tf.saved_model.load
                  (the normal case; no training code is needed), a GAN or a
                  baseline exported with the same signatures;
  InProcessModel  the Python objects behind an export: a generator (anything
                  with `forward(logits, noise, training=False)`) and a
                  classifier (images in [-1, 1] -> logits);
  a baseline's own class (logit_gan/baselines), e.g. optimization-based
                  inversion, whose "noise" picks its initialisation.

`load(path)` gives an ExportedModel of an export directory (its latest
version) or of a version directory.
"""

from __future__ import annotations

import abc
import json
from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

DEFAULT_BATCH_SIZE = 256


class InversionModel(abc.ABC):
  """The interface of the analyses (see the module docstring).

  Attributes:
    name: a short label for tables and figures (unique among the models of
      one analysis).
    method: "logit_gan", "dosovitskiy_brox", "optimization", ...
    num_classes, z_dim, resolution: the logit width, noise width and image
      size R.
    class_names: one per logit, or None.
    dataset: the training dataset as a `DatasetSpec` dict, or None.
    deterministic: whether the noise is ignored (a decoder).
    batch_size: rows per call inside reconstruct/classify.
  """
  name: str
  method: str = "logit_gan"
  num_classes: int
  z_dim: int
  resolution: int
  class_names: Optional[tuple[str, ...]] = None
  dataset: Optional[dict] = None
  deterministic: bool = False
  batch_size: int = DEFAULT_BATCH_SIZE

  @abc.abstractmethod
  def _reconstruct(self, logits: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    """One batch: float32 [b, n_c], [b, z_dim] -> [b, R, R, 3] in [-1, 1]."""

  @abc.abstractmethod
  def classify_tensor(self, images: tf.Tensor) -> tf.Tensor:
    """float32 [b, R, R, 3] in [-1, 1] -> logits [b, n_c], differentiable."""

  def sample_noise(self, count: int, seed: int) -> np.ndarray:
    """float32 [count, z_dim] standard normal noise from `seed` (models with
    another evaluation distribution override it)."""
    return np.random.default_rng(seed).standard_normal(
        (count, self.z_dim)).astype(np.float32)

  def reconstruct(self, logits, noise) -> np.ndarray:
    """float32 [N, R, R, 3] in [-1, 1] from logits [N, n_c], noise [N, z]."""
    logits = check_array(logits, (self.num_classes,), "logits", self)
    noise = check_array(noise, (self.z_dim,), "noise", self)
    if len(noise) != len(logits):
      raise ValueError(f"{self.name}: {len(logits)} logit rows but "
                       f"{len(noise)} noise rows; give one noise row each.")
    return batched(lambda rows: self._reconstruct(*rows), (logits, noise),
                   self.batch_size)

  def classify(self, images) -> np.ndarray:
    """float32 logits [N, n_c] of images [N, R, R, 3] in [-1, 1]."""
    images = check_array(images, (self.resolution, self.resolution, 3),
                         "images", self)
    return batched(lambda rows: self.classify_tensor(rows[0]), (images,),
                   self.batch_size)

  def describe(self) -> dict[str, Any]:
    """JSON-ready description for result records."""
    return {"name": self.name, "method": self.method,
            "num_classes": self.num_classes, "z_dim": self.z_dim,
            "resolution": self.resolution, "dataset": self.dataset}


def check_array(values, trailing: tuple, what: str,
                model: InversionModel) -> np.ndarray:
  """values as float32 [N, *trailing], or a ValueError naming the model,
  the input and the expected shape; N may be 0; NaN/inf are refused."""
  array = np.asarray(values, dtype=np.float32)
  expected = "[N" + "".join(f", {d}" for d in trailing) + "]"
  if array.ndim != 1 + len(trailing) or array.shape[1:] != tuple(trailing):
    raise ValueError(
        f"{model.name}: {what} must have shape {expected}, got "
        f"{list(array.shape)}" + (
            " (the logit width differs from the model's: were these logits "
            "made by another classifier?)" if what == "logits" else "")
        + ("; resize the images to the model's resolution" if what ==
           "images" else "") + ".")
  if not np.all(np.isfinite(array)):
    raise ValueError(f"{model.name}: {what} holds NaN or inf.")
  return array


def batched(function: Callable[[tuple], tf.Tensor], arrays: tuple,
            batch_size: int) -> np.ndarray:
  """function over row batches of the arrays, outputs concatenated."""
  count = len(arrays[0])
  outputs = [np.asarray(function(tuple(tf.constant(a[start:start + batch_size])
                                       for a in arrays)))
             for start in range(0, count, batch_size)]
  if not outputs:  # N = 0: the output's trailing shape from one dummy row.
    dummy = tuple(tf.zeros((1,) + a.shape[1:], tf.float32) for a in arrays)
    return np.asarray(function(dummy))[:0]
  return np.concatenate(outputs).astype(np.float32)


class InProcessModel(InversionModel):
  """A generator and a classifier in this process.

  generator: has `forward(logits, noise, training=False)` -> [b, R, R, 3] in
    [-1, 1] (e.g. `trained.load(...).model.inference_generator`), and
    `num_classes`, `z_dim`, `resolution`.
  classifier: images in [-1, 1] -> logits (a zoo.Classifier or any
    callable).
  """

  def __init__(self, generator, classifier, *, name: str,
               method: str = "logit_gan", dataset: Optional[dict] = None,
               class_names=None, noise_distribution: str = "normal",
               batch_size: int = DEFAULT_BATCH_SIZE):
    self.generator, self.classifier = generator, classifier
    self.name, self.method, self.dataset = name, method, dataset
    self.class_names = tuple(class_names) if class_names else None
    self.num_classes = int(generator.num_classes)
    self.z_dim = int(generator.z_dim)
    self.resolution = int(generator.resolution)
    self.noise_distribution = noise_distribution
    self.batch_size = batch_size
    # A decoder (Dosovitskiy & Brox) ignores the noise and says so.
    self.deterministic = bool(getattr(generator, "deterministic", False))

  def _reconstruct(self, logits, noise):
    return self.generator.forward(logits, noise, training=False)

  def classify_tensor(self, images):
    return self.classifier(images)

  def sample_noise(self, count: int, seed: int) -> np.ndarray:
    return _sample(count, self.z_dim, seed, self.noise_distribution)


def _sample(count: int, z_dim: int, seed: int, distribution: str):
  """The package's named noise distribution, drawn statelessly from seed."""
  from logit_gan import noise as noise_lib  # Keeps this module light.
  return noise_lib.eval_noise(
      [count, z_dim], tf.constant([seed, 0x5EED], tf.int64),
      distribution_fn=noise_lib.SAMPLERS[distribution]).numpy()


class ExportedModel(InversionModel):
  """A `bin/export` SavedModel (`path`: its version folder)."""

  def __init__(self, path: str, *, name: Optional[str] = None,
               batch_size: int = DEFAULT_BATCH_SIZE):
    from logit_gan import export  # Only to open it.
    self.path = str(path)
    self.saved = export.load(self.path)
    info = {key: _plain(value)
            for key, value in self.saved.describe().items()}
    self.info = info
    self.name = name or default_name(self.path)
    self.method = info.get("method", "logit_gan")
    self.num_classes = int(info["num_classes"])
    self.z_dim = int(info["z_dim"])
    self.resolution = int(info["resolution"])
    self.class_names = tuple(info["class_names"]) if "class_names" in (
        info) else None
    self.dataset = json.loads(info["dataset"]) if info.get("dataset") else None
    self.noise_distribution = info.get("noise_distribution", "normal")
    # A decoder's export says so (describe's `deterministic` = 1).
    self.deterministic = bool(info.get("deterministic", 0))
    self.batch_size = batch_size
    if not hasattr(self.saved, "classify"):
      raise ValueError(
          f"{self.path} has no `classify` signature: it was exported without "
          "its classifier or by an older logit_gan. Export it again with "
          "bin/export (the classifier bundled), then rerun.")

  def _reconstruct(self, logits, noise):
    return self.saved.reconstruct_from_logits(
        {"logits": logits, "noise": noise})["images_float"]

  def classify_tensor(self, images):
    return self.saved.classify({"images": tf.cast(images, tf.float32)})[
        "logits"]

  def sample_noise(self, count: int, seed: int) -> np.ndarray:
    return _sample(count, self.z_dim, seed, self.noise_distribution)

  def describe(self) -> dict[str, Any]:
    return {**super().describe(), "path": self.path,
            "classifier": self.info.get("classifier"),
            "training_step": self.info.get("training_step")}


def _plain(value: tf.Tensor):
  """A describe() output as Python: str, int, or a list of str."""
  value = value.numpy()
  if isinstance(value, bytes):
    return value.decode()
  if isinstance(value, np.ndarray):
    return [v.decode() if isinstance(v, bytes) else v.item() for v in value]
  return value.item() if hasattr(value, "item") else value


def version_dir(path: str) -> str:
  """`path` if it is a SavedModel, else its highest numbered version; a
  clear error when neither (`export.find_version`)."""
  from logit_gan import export  # Only for the version layout.
  return export.find_version(path)


def default_name(path: str) -> str:
  """exports/shapes_mini_robust/1 -> shapes_mini_robust."""
  parts = [p for p in str(path).rstrip("/").split("/") if p]
  if len(parts) > 1 and parts[-1].isdigit():
    return parts[-2]
  return parts[-1] if parts else str(path)


def load(path: str, *, name: Optional[str] = None,
         batch_size: int = DEFAULT_BATCH_SIZE) -> ExportedModel:
  """The ExportedModel of an export directory or version folder."""
  return ExportedModel(version_dir(path), name=name, batch_size=batch_size)


def check_compatible(models: list[InversionModel]) -> None:
  """Models compared side by side must have distinct names and the same
  resolution (they reconstruct the same test images)."""
  if not models:
    raise ValueError("No inversion model given: pass at least one "
                     "--export_dir (or a model object).")
  names = [m.name for m in models]
  shared = sorted({name for name in names if names.count(name) > 1})
  if shared:
    raise ValueError(f"Two models share the name(s) {shared}; name them "
                     "apart (--export_dir=NAME=PATH).")
  sizes = {m.name: m.resolution for m in models}
  if len(set(sizes.values())) > 1:
    raise ValueError(f"The models draw different resolutions {sizes}; "
                     "compare models of one resolution.")
