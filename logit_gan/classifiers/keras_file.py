"""Classifiers saved as Keras model files: the package's own and a user's.

  save(model, path) / load(path)
      the package's trained classifiers (`bin/train_classifier` writes
      <output_dir>/classifier.keras); they take the package's images as
      they are (RGB in [-1, 1]).
  keras_file(path, input_size=..., channels=..., input_range=...,
             mean=..., std=... | preprocessing=..., layer=...)
      any classifier of a user's own, saved with `model.save('x.keras')`,
      with its preprocessing declared (`preprocessing.py`) and optionally
      the layer whose output is inverted instead of the final logits
      (penultimate features): a sub-model from the inputs to that layer.

Paths may be local or remote (gs://, anything tf.io.gfile reads) and are
kept as strings (pathlib turns 'gs://b/x' into 'gs:/b/x').
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from absl import logging
import keras
import tensorflow as tf

from logit_gan import files
from logit_gan.classifiers import preprocessing as preprocessing_lib
from logit_gan.classifiers.classifier import (Classifier, keras_input_shape,
                                              shape_text)

KERAS_SUFFIX = ".keras"


def save(model: keras.Model, path: str) -> None:
  """Writes a package-trained classifier as a Keras `.keras` file (a local
  or remote path, e.g. gs://), atomically: a kill mid-save leaves the
  previous file, or none, never a truncated one."""
  path = files.expand_user(path)
  if os.path.splitext(path)[1] != KERAS_SUFFIX:
    raise ValueError(f"Classifier path {path} must end in {KERAS_SUFFIX}.")
  with files.atomic_path(path) as temporary:
    model.save(temporary)
  logging.info("Saved classifier %s to %s.", model.name, path)


def _read_model(path: str, missing: str, unreadable: str) -> keras.Model:
  """The Keras model in file `path`; `missing` and `unreadable` end the
  error messages with what to do."""
  if not files.is_file(path):
    raise FileNotFoundError(f"No classifier file at {path}. {missing}")
  try:
    return keras.models.load_model(path, compile=False)
  except Exception as error:  # Keras raises many types for a corrupt file.
    raise ValueError(f"{path} is not a readable Keras model file "
                     f"({type(error).__name__}: {error}). "
                     f"{unreadable}") from error


def load(path: str, *, name: Optional[str] = None) -> Classifier:
  """Reads a `.keras` classifier written by `save` as a frozen Classifier."""
  model = _read_model(
      files.expand_user(path),
      missing="bin/train_classifier writes one to "
      f"<output_dir>/classifier{KERAS_SUFFIX}.",
      unreadable="Train and save the classifier again.")
  return Classifier.from_keras(model, name=name)


def _layer_model(model: keras.Model, layer: str, path: str) -> keras.Model:
  """A sub-model from `model`'s inputs to the output of its layer `layer`,
  which must be a vector [B, n_f]."""
  names = [each.name for each in model.layers]
  if layer not in names:
    raise ValueError(f"{path} has no layer {layer!r}; its layers are "
                     f"{names}. Set classifier.layer to one of them, or "
                     "leave it unset to invert the final logits.")
  output = model.get_layer(layer).output
  if len(output.shape) != 2:
    raise ValueError(
        f"Layer {layer!r} of {path} outputs {len(output.shape)}-D tensors "
        f"{shape_text(output.shape)}; the generator is conditioned on a "
        "vector [B, n]: choose a layer after pooling or flattening (its "
        f"layers are {names}).")
  return keras.Model(model.input, output, name=f"{model.name}_{layer}")


def _declared_input(model: keras.Model, input_size: Optional[int],
                    channels: Optional[int], path: str) -> tuple[int, int]:
  """(input size, channels): as declared, else the model's own; a
  declaration that contradicts the model's fixed input raises."""
  shape = keras_input_shape(model)
  if len(shape) != 4:
    raise ValueError(f"The model in {path} takes inputs of shape "
                     f"{shape or 'unknown'}; a classifier takes images "
                     "[B, H, W, C].")
  own_size = shape[1] if shape[1] == shape[2] else None
  for label, declared, own in (("input_size", input_size, own_size),
                               ("channels", channels, shape[3])):
    if declared is not None and own is not None and int(declared) != own:
      raise ValueError(
          f"classifier.{label} = {declared}, but the model in {path} takes "
          f"images {shape_text(shape)}; set classifier.{label} = {own} or "
          "leave it unset.")
  size = input_size or own_size
  if size is None:
    raise ValueError(f"The model in {path} takes images of any size "
                     f"{shape_text(shape)}; set classifier.input_size.")
  return int(size), int(channels or shape[3] or 3)


def keras_file(path: str, *, input_size: Optional[int] = None,
               channels: Optional[int] = None,
               input_range: Optional[Sequence[float]] = None,
               mean: Optional[Sequence[float]] = None,
               std: Optional[Sequence[float]] = None,
               preprocessing: Optional[str] = None,
               layer: Optional[str] = None,
               num_classes: Optional[int] = None,
               name: Optional[str] = None) -> Classifier:
  """A user's own Keras classifier file (`model.save`) as a Classifier.

  Args:
    path: a `.keras` (or legacy `.h5`) file, local or remote (gs://).
    input_size: the side S of the images it takes; default its input's.
    channels: 1 (greyscale: given the luminance) or 3; default its input's.
    input_range: its pixel range, default (0, 1); [-1, 1] images are
      mapped onto it.
    mean, std: per-channel normalisation applied after `input_range`.
    preprocessing: instead of input_range/mean/std, the keras.applications
      module whose preprocess_input it expects ('resnet_v2', 'vgg16', ...;
      applied to pixels in [0, 255]).
    layer: the name of a layer whose output [B, n_f] is inverted instead of
      the final logits (e.g. penultimate features).
    num_classes: the output width, checked when given.
    name: the classifier's name; default the model's (with the layer's).
  """
  path = files.expand_user(path)
  if tf.io.gfile.isdir(path):
    raise ValueError(f"{path} is a directory; for a SavedModel set "
                     "classifier.name = 'saved_model' and "
                     "classifier.path_or_handle.")
  model = _read_model(
      path, missing="classifier.path must name a Keras model file, written "
      f"with model.save('<name>{KERAS_SUFFIX}').",
      unreadable=f"Save the model with model.save('<name>{KERAS_SUFFIX}').")
  size, channels = _declared_input(model, input_size, channels, path)
  preprocess = preprocessing_lib.declared(
      channels=channels, input_range=input_range, mean=mean, std=std,
      preprocessing=preprocessing)
  if layer is not None:
    model = _layer_model(model, layer, path)
  return Classifier.from_keras(model, name=name, input_size=size,
                               preprocess=preprocess, num_classes=num_classes)
