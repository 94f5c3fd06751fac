"""A TF2 SavedModel or TF-Hub (TF2) model that outputs logits, as a Classifier.

How the robust ResNet-152 of Qin et al. 2019 is brought in, and any
classifier a user exported as a SavedModel: `saved_model(directory,
input_size=..., ...)` with its preprocessing declared (channels, input
range, mean/std or a named keras.applications preprocessing;
`preprocessing.py`) and, for a model with several outputs, which one to
invert (`output_key`, or `layer` for penultimate features exported as an
output).

Paths. SavedModel directories may be local or remote (gs://, anything
tf.io.gfile reads); they are kept as strings, since pathlib turns
'gs://b/x' into 'gs:/b/x'. Only http(s):// handles go to TF-Hub.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import tensorflow as tf

from logit_gan import files
from logit_gan.classifiers import preprocessing as preprocessing_lib
from logit_gan.classifiers.classifier import Classifier, Network


def _saved_model_directory(path_or_handle: str) -> str:
  """A SavedModel directory (local, or remote such as gs://) for a path, or
  for an http(s):// TF-Hub handle if tensorflow_hub is installed (it
  resolves handles through its cache)."""
  if path_or_handle.startswith(("http://", "https://")):
    try:
      import tensorflow_hub  # pylint: disable=g-import-not-at-top
    except ImportError:
      raise ValueError(
          f"{path_or_handle!r} is a URL and tensorflow_hub is not installed. "
          "Download the model (TF2 SavedModel format), extract it, and pass "
          "its directory.") from None
    path_or_handle = tensorflow_hub.resolve(path_or_handle)
  directory = files.expand_user(path_or_handle)
  if not tf.io.gfile.isdir(directory):
    raise FileNotFoundError(f"No SavedModel directory at {directory}.")
  if not tf.io.gfile.exists(os.path.join(directory, "saved_model.pb")):
    if tf.io.gfile.exists(os.path.join(directory, "tfhub_module.pb")):
      raise ValueError(
          f"{directory} is a TF1 Hub module, which TF2 cannot load; use the "
          "model's TF2 SavedModel version.")
    raise FileNotFoundError(f"{directory} holds no saved_model.pb; it is not "
                            "a SavedModel directory.")
  return directory


def _keyword_caller(function, signature: str) -> Network:
  """Signature functions take keyword arguments; call with the one input."""
  inputs = function.structured_input_signature[1]
  if len(inputs) != 1:
    raise ValueError(f"Signature {signature!r} takes inputs {sorted(inputs)}; "
                     "a classifier signature must take one image tensor.")
  (input_name, spec), = inputs.items()
  if not spec.dtype.is_floating:
    raise ValueError(f"Signature {signature!r} takes {spec.dtype.name} "
                     "images; a classifier must take float images so that "
                     "its logits can be differentiated.")
  return lambda images: function(**{input_name: tf.cast(images, spec.dtype)})


def _saved_model_network(loaded, signature: Optional[str]) -> Network:
  signatures = dict(getattr(loaded, "signatures", {}) or {})
  if signature is not None:
    if signature not in signatures:
      raise ValueError(f"The SavedModel has signatures {sorted(signatures)}, "
                       f"not {signature!r}.")
    return _keyword_caller(signatures[signature], signature)
  if callable(loaded):
    return loaded
  if len(signatures) == 1 or "serving_default" in signatures:
    name = "serving_default" if "serving_default" in signatures else next(
        iter(signatures))
    return _keyword_caller(signatures[name], name)
  raise ValueError(f"The SavedModel is not callable and has signatures "
                   f"{sorted(signatures)}; pass signature= to choose one.")


def saved_model(path_or_handle: str, *, input_size: int,
                signature: Optional[str] = None,
                output_key: Optional[str] = None,
                num_classes: Optional[int] = None, channels: int = 3,
                input_range: Optional[Sequence[float]] = None,
                mean: Optional[Sequence[float]] = None,
                std: Optional[Sequence[float]] = None,
                preprocessing: Optional[str] = None,
                layer: Optional[str] = None,
                name: Optional[str] = None) -> Classifier:
  """A SavedModel (or TF2 TF-Hub model) that outputs logits, as a Classifier.

  The model is called as `model(x)` if it is callable, else through
  `signature` (default 'serving_default'). Its output must be logits
  [B, n_c] (pre-softmax), or with `layer` features [B, n_f]; checked at
  construction on a zero batch.

  Args:
    path_or_handle: a SavedModel directory, local or remote (gs://); an
      http(s):// TF-Hub handle needs tensorflow_hub and network access.
    input_size: the side S of the [B, S, S, channels] images it takes.
    signature: a signature name, to call it instead of `__call__`.
    output_key: which output holds the logits, when there are several.
    num_classes: n_c, checked against the model when given.
    channels: 3, or 1 for a greyscale model (given the luminance).
    input_range: the model's pixel range, default (0, 1); [-1, 1] images
      are mapped onto it.
    mean, std: per-channel normalization applied after `input_range`.
    preprocessing: instead of input_range/mean/std, a keras.applications
      module whose preprocess_input the model expects ('resnet_v2', ...).
    layer: the output (its key) to invert instead of the logits, e.g.
      penultimate features the model exports beside them; the same as
      `output_key`.
    name: the classifier's name; default the directory's name.
  """
  if layer is not None and output_key not in (None, layer):
    raise ValueError(f"Both output_key={output_key!r} and layer={layer!r} "
                     "are set; for a SavedModel they are the same thing "
                     "(the output to invert). Set one.")
  preprocess = preprocessing_lib.declared(
      channels=channels, input_range=input_range, mean=mean, std=std,
      preprocessing=preprocessing)
  directory = _saved_model_directory(path_or_handle)
  try:
    loaded = tf.saved_model.load(directory)
  except (OSError, ValueError, tf.errors.OpError) as error:
    raise ValueError(f"Could not load the SavedModel in {directory}: "
                     f"{error}") from error
  return Classifier(
      _saved_model_network(loaded, signature),
      name=name or os.path.basename(directory.rstrip("/")),
      input_size=input_size, num_classes=num_classes,
      output_key=layer or output_key, preprocess=preprocess,
      variables=getattr(loaded, "variables", ()), owner=loaded)
