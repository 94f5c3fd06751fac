"""SavedModels of a trained generator, for TF Serving, TF Hub and Keras.

`export(...)` writes `export_dir/<version>/` (1, 2, ...: the layout TF
Serving watches) with `keras.export.ExportArchive`, so the result loads
without logit_gan: `tf.saved_model.load`, `tensorflow_hub.load`,
`keras.layers.TFSMLayer(path, call_endpoint=...)` and TF Serving.

Endpoints, each a signature (TF Serving: inputs by name) and a method of
the loaded object taking one dict (`model.reconstruct_from_logits({"logits":
l, "noise": e})`, as `TFSMLayer` calls it). B is any batch size >= 1; n_c, z_dim and R are fixed by the
model and listed by `describe`; images_float is in [-1, 1], the package's
range; images are uint8 RGB, round((x + 1) * 127.5)):

  reconstruct_from_logits (also serving_default)
      logits float32 [B, n_c] (pre-softmax), noise float32 [B, z_dim]
      -> images uint8 [B, R, R, 3], images_float float32 [B, R, R, 3]
  reconstruct_from_logits_seeded
      logits float32 [B, n_c], seed int64 [B]
      -> the same; row i's noise is drawn statelessly from seed[i] with the
         run's evaluation distribution (`eval_z`), so a seed gives the same
         image on every load, machine and batch composition.
  reconstruct (only with a bundled classifier)
      images uint8 [B, R, R, 3]
      -> reconstructions uint8 [B, R, R, 3], reconstructions_float,
         logits float32 [B, n_c], predicted_class int64 [B];
         reconstruction i uses seed i (as reconstruct_from_logits_seeded).
  classify (only with a bundled classifier)
      images float32 [B, R, R, 3] in [-1, 1]
      -> logits float32 [B, n_c], predicted_class int64 [B]; differentiable
         (the analyses' attacks take gradients through it).
  describe (no inputs)
      -> num_classes, z_dim, resolution (int64), classifier (string),
         training_step (int64), gin_config (string), signatures (string),
         and, from bin/export: method ("logit_gan", or a baseline's name),
         deterministic (int64: 1 when the noise input is ignored, as by the
         "dosovitskiy_brox" decoder; 0 for the GAN),
         noise_distribution (the seeded signatures' noise), dataset (JSON of
         the training DatasetSpec) and class_names (string [n_c]) when the
         training dataset names its classes.

The same description is written as JSON to `assets.extra/logit_gan.json`.
Bad inputs fail with an error naming the input: a wrong dtype, rank or
width is refused by the signature; an empty batch, a batch-size mismatch,
NaN or inf by a check inside the graph (InvalidArgumentError), as is an
output that overflows (images or logits not finite).

`find_version(path)` and `load(path)` open an export (its folder or a
version folder) with errors that say what was given instead.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Optional

import keras
import tensorflow as tf

from logit_gan import files
from logit_gan import noise
from logit_gan import run_dir
from logit_gan.data import pipeline

METADATA_FILE = "assets.extra/logit_gan.json"
SEED_STREAM = 0x10617  # Second word of every seeded signature's RNG seed.


def versions(export_dir: str) -> list[tuple[int, str]]:
  """The numbered version folders in export_dir, lowest first (a staging
  folder, `.N.incomplete`, is not one). Local or gs:// (files.py)."""
  if not tf.io.gfile.isdir(export_dir):
    return []
  names = [name.rstrip("/") for name in tf.io.gfile.listdir(export_dir)]
  return sorted((int(name), os.path.join(export_dir, name)) for name in names
                if re.fullmatch(r"\d+", name)
                and tf.io.gfile.isdir(os.path.join(export_dir, name)))


def next_version_dir(export_dir: str) -> str:
  """export_dir/N for the next free version N (1 for a new directory);
  existing versions are never touched."""
  export_dir = str(export_dir)
  if (tf.io.gfile.exists(export_dir)
      and not tf.io.gfile.isdir(export_dir)):
    raise NotADirectoryError(f"--export_dir {export_dir} is a file; give a "
                             "directory (versions go in numbered folders).")
  latest = max((number for number, _ in versions(export_dir)), default=0)
  return os.path.join(export_dir, str(latest + 1))


def find_version(path: str) -> str:
  """`path` if it holds a SavedModel (saved_model.pb), else its highest
  numbered version folder that does; a FileNotFoundError (nothing at
  `path`) or ValueError (a folder of something else, e.g. a bin/train
  model_dir) saying what to give instead."""
  path = str(path)
  has_model = lambda folder: tf.io.gfile.exists(
      os.path.join(folder, "saved_model.pb"))
  if has_model(path):
    return path
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"No export {path}: give a bin/export "
                            "--export_dir or one of its version folders.")
  saved = [folder for _, folder in versions(path) if has_model(folder)]
  if saved:
    return saved[-1]
  is_run = tf.io.gfile.exists(run_dir.path(path, run_dir.RECORD_FILE))
  hint = ("; it is a bin/train model_dir: export it first with bin/export "
          f"--model_dir={path} --export_dir=exports/NAME" if is_run else "")
  raise ValueError(
      f"{path} is not a SavedModel (no saved_model.pb) and holds no "
      "numbered version folder of one: give a bin/export --export_dir or "
      f"one of its version folders{hint}.")


def load(path: str):
  """The bin/export SavedModel at `path` (`find_version`), loaded with
  tf.saved_model.load; a ValueError naming it when its files do not load
  (a damaged saved_model.pb or variables) or it is another kind of
  SavedModel (no `describe` endpoint)."""
  version = find_version(path)
  try:
    model = tf.saved_model.load(version)
  except (OSError, ValueError, IndexError, tf.errors.OpError) as error:
    reason = " ".join(str(error).split())[:300]
    raise ValueError(f"The SavedModel {version} does not load ({reason}): "
                     "its files are damaged or incomplete; export it again "
                     "with bin/export.") from None
  if not hasattr(model, "describe"):
    raise ValueError(f"{version} is a SavedModel but not one of bin/export "
                     "(it has no `describe` endpoint); give a bin/export "
                     "--export_dir or one of its version folders.")
  return model


def seeded_noise(seeds: tf.Tensor, z_dim: int,
                 distribution: str = "normal") -> tf.Tensor:
  """Noise [B, z_dim] whose row i depends only on seeds[i] (int64 [B]),
  from the `noise.SAMPLERS` distribution named."""
  def row(seed):
    return noise.eval_noise(
        [z_dim], tf.stack([seed, tf.constant(SEED_STREAM, tf.int64)]),
        distribution_fn=noise.SAMPLERS[distribution])
  return tf.map_fn(row, seeds, fn_output_signature=tf.float32)


def _checked(**inputs: tuple[tf.Tensor, tuple]) -> list[tf.Tensor]:
  """The inputs, gated by in-graph checks of their rank, trailing sizes
  (`inputs[name] = (tensor, trailing_shape)`), non-empty and equal batch,
  and finite values (float inputs).

  Checked in the graph, not only by the signature, because callers such as
  TF Serving and `signatures[...]` do not enforce the declared shapes."""
  names = list(inputs)
  first = names[0]
  checks = []
  for name, (tensor, trailing) in inputs.items():
    expected = "[B" + "".join(f", {d}" for d in trailing) + "]"
    checks.append(tf.debugging.assert_equal(
        tf.rank(tensor), 1 + len(trailing),
        message=f"{name} must have shape {expected}"))
    with tf.control_dependencies(checks[-1:]):
      shape = tf.shape(tensor, out_type=tf.int64)
      checks.append(tf.debugging.assert_equal(
          shape[1:], tf.constant(trailing, tf.int64, [len(trailing)]),
          message=f"{name} must have shape {expected}"))
      if name == first:
        checks.append(tf.debugging.assert_positive(
            shape[0], message=f"{name} holds an empty batch (B = 0); send "
            "at least one row."))
        batch = shape[0]
      else:
        checks.append(tf.debugging.assert_equal(
            shape[0], batch, message=f"{name} and {first} must have the "
            "same batch size B."))
      if tensor.dtype.is_floating:  # NaN would come back as NaN images.
        checks.append(tf.debugging.Assert(
            tf.reduce_all(tf.math.is_finite(tensor)),
            [f"{name} holds NaN or inf; send finite values."]))
  with tf.control_dependencies(checks):
    return [tf.identity(tensor) for tensor, _ in inputs.values()]


class _Endpoints:
  """The signature functions over one generator (and classifier)."""

  def __init__(self, generator, classifier, distribution: str):
    self.generator = generator
    self.classifier = classifier
    self.distribution = distribution
    self.num_classes = generator.num_classes
    self.z_dim = generator.z_dim

  def _images(self, logits, rows_noise, prefix: str = "images") -> dict:
    images = self.generator.forward(logits, rows_noise, training=False)
    # Finite but huge inputs (1e30) overflow inside the generator.
    finite = tf.debugging.Assert(
        tf.reduce_all(tf.math.is_finite(images)),
        ["The reconstruction is not finite: the logits or noise hold values "
         "too large for the generator (noise is N(0, 1)-sized; logits as "
         "the classifier gives them)."])
    with tf.control_dependencies([finite]):
      images = tf.identity(images)
    return {prefix: pipeline.to_uint8(images), f"{prefix}_float": images}

  def from_logits(self, inputs):
    logits, rows_noise = _checked(
        logits=(inputs["logits"], (self.num_classes,)),
        noise=(inputs["noise"], (self.z_dim,)))
    return self._images(logits, rows_noise)

  def from_logits_seeded(self, inputs):
    logits, seed = _checked(logits=(inputs["logits"], (self.num_classes,)),
                            seed=(inputs["seed"], ()))
    return self._images(logits, seeded_noise(seed, self.z_dim,
                                             self.distribution))

  def from_images(self, inputs):
    size = self.generator.resolution
    images, = _checked(images=(inputs["images"], (size, size, 3)))
    logits = self.classifier(pipeline.to_model_range(images))
    seeds = tf.range(tf.shape(logits, out_type=tf.int64)[0])
    outputs = self._images(logits, seeded_noise(seeds, self.z_dim,
                                                self.distribution),
                           prefix="reconstructions")
    return {**outputs, "logits": logits,
            "predicted_class": tf.argmax(logits, axis=-1)}

  def classify(self, inputs):
    size = self.generator.resolution
    images, = _checked(images=(inputs["images"], (size, size, 3)))
    logits = self.classifier(images)
    # Finite but huge images (1e30; not in [-1, 1]) overflow the network.
    finite = tf.debugging.Assert(
        tf.reduce_all(tf.math.is_finite(logits)),
        ["The logits are not finite: the images hold values far outside "
         "[-1, 1] (images float32 in [-1, 1]: uint8 pixels / 127.5 - 1)."])
    with tf.control_dependencies([finite]):
      logits = tf.identity(logits)
    return {"logits": logits, "predicted_class": tf.argmax(logits, axis=-1)}


def _inputs(**specs: tuple[list, tf.DType]) -> list[dict]:
  """One dict argument of named specs: the signature's input names, the
  restored method's argument (`model.reconstruct({"images": x})`) and what
  `keras.layers.TFSMLayer` passes."""
  return [{name: tf.TensorSpec(shape, dtype, name=name)
           for name, (shape, dtype) in specs.items()}]


def describe(metadata: dict[str, Any]) -> dict[str, Any]:
  """The `describe` outputs: metadata plus this module's signature docs."""
  return {**metadata, "signatures": __doc__}


def run_metadata(run) -> dict[str, Any]:
  """`describe`'s fields of a `trained.load` run, besides the sizes
  `export` adds: classifier, training_step, gin_config, method,
  deterministic (1: the noise is ignored), noise_distribution, and dataset
  and class_names when known."""
  metadata = {"classifier": run.classifier.name, "training_step": run.step,
              "gin_config": run.gin_config, "method": run.model.method,
              "deterministic": int(run.model.deterministic),
              "noise_distribution": run.model.eval_distribution}
  if run.record is not None:
    metadata["dataset"] = json.dumps(run.record.dataset, sort_keys=True)
  if run.class_names:
    metadata["class_names"] = list(run.class_names)
  return metadata


def export(generator, export_dir: str, *, metadata: dict[str, Any],
           classifier: Optional[Any] = None,
           eval_distribution: str = "normal") -> str:
  """Writes generator (and classifier) as the next version in export_dir.

  generator: a built Generator whose inference statistics are ready (the
    EMA generator after standing statistics; see `trained.load`).
  metadata: `describe`'s fields besides z_dim, resolution, num_classes.
  classifier: a frozen zoo.Classifier to bundle (adds `reconstruct`).
  eval_distribution: the run's evaluation noise (`noise.SAMPLERS` name,
    `LogitGAN.eval_distribution`), which the seeded signatures draw.
  Returns the version directory written.
  """
  num_classes, z_dim = generator.num_classes, generator.z_dim
  resolution = generator.resolution
  info = describe({**metadata, "num_classes": num_classes, "z_dim": z_dim,
                   "resolution": resolution})
  endpoints = _Endpoints(generator, classifier, eval_distribution)
  logits = ([None, num_classes], tf.float32)
  archive = keras.export.ExportArchive()
  archive.track(generator)
  archive.add_endpoint(
      "reconstruct_from_logits", endpoints.from_logits,
      _inputs(logits=logits, noise=([None, z_dim], tf.float32)))
  archive.add_endpoint(
      "reconstruct_from_logits_seeded", endpoints.from_logits_seeded,
      _inputs(logits=logits, seed=([None], tf.int64)))
  if classifier is not None:
    archive.track(classifier)
    archive.add_endpoint(
        "reconstruct", endpoints.from_images,
        _inputs(images=([None, resolution, resolution, 3], tf.uint8)))
    archive.add_endpoint(
        "classify", endpoints.classify,
        _inputs(images=([None, resolution, resolution, 3], tf.float32)))
  constants = {name: tf.constant(value, tf.int64 if isinstance(value, int)
                                 else None)
               for name, value in info.items()}
  archive.add_endpoint("describe", lambda: dict(constants), [])
  version_dir = next_version_dir(export_dir)
  parent, version = os.path.split(version_dir)
  staging = os.path.join(parent, f".{version}.incomplete")
  if tf.io.gfile.exists(staging):
    tf.io.gfile.rmtree(staging)
  archive.write_out(staging, verbose=False)
  files.write_text(os.path.join(staging, METADATA_FILE),
                   json.dumps({k: v for k, v in info.items()
                               if k != "signatures"}, indent=2))
  # Renamed when complete: TF Serving never sees a half-written version.
  tf.io.gfile.rename(staging, version_dir)
  return version_dir
