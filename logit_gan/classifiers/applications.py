"""keras.applications ImageNet classifiers, and where their weights come from.

`keras_application('resnet152v2' | 'inception_v3', weights=...)` builds the
network with its logits taken before the softmax
(`classifier_activation=None`) and wraps it as a `Classifier` with the
application's own preprocessing. Weights are Keras' ImageNet file
(downloaded, or read from Keras' cache), a local `.h5` file, or none.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Callable, Optional

from absl import logging
import keras

from logit_gan.classifiers import preprocessing as preprocessing_lib
from logit_gan.classifiers.classifier import Classifier


class WeightsNotFoundError(FileNotFoundError):
  """A classifier's weights file is missing and cannot be downloaded."""


@dataclasses.dataclass(frozen=True)
class Application:
  """A keras.applications ImageNet classifier and where its weights live.

  The weights' file name, URL and MD5 are keras.applications' own
  (`resnet.BASE_WEIGHTS_PATH` / `WEIGHTS_HASHES`, `inception_v3.WEIGHTS_PATH`).
  `preprocessing` names its keras.applications module, whose
  `preprocess_input` it takes (`preprocessing.declared`).
  """
  constructor: Callable[..., keras.Model]
  preprocessing: str
  input_size: int
  weights_file: str
  weights_url: str
  weights_md5: str


_KERAS_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/"
                      "keras-applications/")
APPLICATIONS = {
    "resnet152v2": Application(
        keras.applications.ResNet152V2, "resnet_v2", 224,
        "resnet152v2_weights_tf_dim_ordering_tf_kernels.h5",
        _KERAS_WEIGHTS_URL
        + "resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels.h5",
        "a49b44d1979771252814e80f8ec446f9"),
    "inception_v3": Application(
        keras.applications.InceptionV3, "inception_v3", 299,
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        _KERAS_WEIGHTS_URL
        + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "9a0d58056eeedaa3f26cb7ebd46da564"),
}


def _keras_cache_dir() -> pathlib.Path:
  """Where keras.utils.get_file keeps downloads (KERAS_HOME or ~/.keras)."""
  return pathlib.Path(os.environ.get("KERAS_HOME")
                      or pathlib.Path("~/.keras").expanduser())


def _imagenet_weights(name: str) -> str:
  """The cached or downloaded ImageNet weights file of application `name`.

  Downloads through keras.utils.get_file, which returns the cached file when
  it is already in <Keras cache>/models/ with the right hash.
  """
  application = APPLICATIONS[name]
  cache_dir = _keras_cache_dir()
  try:
    return keras.utils.get_file(
        application.weights_file, application.weights_url,
        cache_subdir="models", file_hash=application.weights_md5,
        cache_dir=str(cache_dir))
  except Exception as error:  # get_file raises a bare Exception offline.
    destination = cache_dir / "models" / application.weights_file
    raise WeightsNotFoundError(
        f"Could not get the ImageNet weights of {name} ({error}). On a "
        f"machine with internet access, download {application.weights_url} "
        f"and put the file at {destination} (Keras' cache, "
        "~/.keras/models/ unless KERAS_HOME is set), or pass "
        f"weights=<path to {application.weights_file}>.") from error


def _local_weights(path: str) -> str:
  resolved = pathlib.Path(path).expanduser()
  if not resolved.is_file():
    raise WeightsNotFoundError(
        f"No weights file at {resolved}. Pass weights='imagenet' (Keras' "
        "download or cache), None (random initialization) or the path of an "
        "existing .h5 / .weights.h5 file.")
  if resolved.suffix != ".h5":
    raise ValueError(f"Weights file {resolved} is not a .h5 or .weights.h5 "
                     "file, the formats keras.applications loads.")
  return str(resolved)


def keras_application(name: str, *, weights: Optional[str] = "imagenet",
                      input_size: Optional[int] = None) -> Classifier:
  """A keras.applications ImageNet classifier (1000 logits) as a Classifier.

  Args:
    name: 'resnet152v2' (keras.applications.ResNet152V2, 224x224) or
      'inception_v3' (InceptionV3, 299x299).
    weights: 'imagenet' (downloaded by Keras, or read from its cache
      ~/.keras/models/), the path of a .h5 / .weights.h5 file, or None for a
      random initialization (tests).
    input_size: the side images are resized to; default the native size.
      Smaller sizes (at least 32 / 75) only make sense for tests.

  Raises:
    WeightsNotFoundError (a FileNotFoundError): the weights file is missing,
      or 'imagenet' weights cannot be downloaded; says which file to put
      where.
  """
  if name not in APPLICATIONS:
    raise ValueError(f"Unknown keras application {name!r}; choose one of "
                     f"{sorted(APPLICATIONS)}.")
  application = APPLICATIONS[name]
  if weights is None:
    weights_path = None
  elif weights == "imagenet":
    weights_path = _imagenet_weights(name)
  else:
    weights_path = _local_weights(weights)
  size = input_size or application.input_size
  model = application.constructor(include_top=True, weights=weights_path,
                                  input_shape=(size, size, 3),
                                  classifier_activation=None)
  logging.info("Built %s (%s weights, %d parameters).", name,
               weights_path or "random", model.count_params())
  return Classifier.from_keras(
      model, name=name, input_size=size,
      preprocess=preprocessing_lib.declared(
          preprocessing=application.preprocessing))

