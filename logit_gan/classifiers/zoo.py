"""The classifier zoo: every frozen classifier Phi(x) by name, for gin.

The registry and gin edge; each kind of classifier lives in its own module:

  classifier.py     `Classifier`: images [B, H, W, 3] in [-1, 1] -> logits
                    [B, n_c], frozen, with the network's own preprocessing.
  preprocessing.py  declared preprocessing: channels (greyscale takes the
                    luminance), input range, mean/std or a named
                    keras.applications preprocess_input.
  applications.py   keras.applications ImageNet networks and their weights
                    ('resnet152v2', 'inception_v3').
  saved_model.py    any TF2 SavedModel or TF-Hub model ('saved_model').
  keras_file.py     `.keras` files: the package's (`save`, `load`) and a
                    user's own classifier ('keras_file').
  small_resnet.py   the package's trainable ResNet for the offline shapes
                    data ('small_resnet').

`build_classifier(name, **arguments)` (gin "classifier") builds one:

  classifier.name = 'keras_file'
  classifier.path = '/models/mnist.keras'
  classifier.channels = 1                 # greyscale: the luminance
  classifier.input_range = (0, 1)         # or classifier.mean / .std,
                                          # or classifier.preprocessing =
                                          #   'resnet_v2' (keras.applications)
  classifier.layer = 'features'           # invert penultimate features

Every argument is a string, number, list or None, so a run record can store
`{"name": ..., **arguments}` as JSON and rebuild the classifier without gin.
The names below (`Classifier`, `save`, `load`, ...) stay importable from
here for the code that used them as `zoo.<name>`.
"""

from __future__ import annotations

import functools
import inspect
import json
from typing import Callable, Optional

import gin

from logit_gan.classifiers.applications import (  # noqa: F401 (re-exports)
    APPLICATIONS, Application, WeightsNotFoundError, keras_application)
from logit_gan.classifiers.classifier import Classifier  # noqa: F401
from logit_gan.classifiers.keras_file import (  # noqa: F401
    KERAS_SUFFIX, keras_file, load, save)
from logit_gan.classifiers.saved_model import saved_model
from logit_gan.classifiers.small_resnet import (  # noqa: F401
    TRAINABLE, build_trainable, small_resnet, small_resnet_classifier)

__all__ = [  # The registry, and the names code uses as zoo.<name>.
    "APPLICATIONS", "Application", "CONSTRUCTORS", "Classifier",
    "KERAS_SUFFIX", "TRAINABLE", "WeightsNotFoundError", "build_classifier",
    "build_trainable", "keras_application", "keras_file", "load", "save",
    "saved_model", "small_resnet", "small_resnet_classifier"]

CONSTRUCTORS: dict[str, Callable[..., Classifier]] = {
    "resnet152v2": functools.partial(keras_application, "resnet152v2"),
    "inception_v3": functools.partial(keras_application, "inception_v3"),
    "saved_model": saved_model,
    "keras_file": keras_file,
    "small_resnet": small_resnet_classifier,
}


@gin.configurable("classifier")
def build_classifier(name: Optional[str] = None, **arguments) -> Classifier:
  """The classifier `name` (a key of `CONSTRUCTORS`) built with `arguments`.

  The gin edge: `classifier.name = 'resnet152v2'`,
  `classifier.weights = '/path/to/weights.h5'`. Arguments the constructor
  does not take raise a ValueError that lists the ones it does.
  """
  if name is None:
    raise ValueError(
        "No classifier chosen: pass a --gin_file that sets one (e.g. "
        "robust.gin, shapes/robust.gin) or --gin_bindings=\"classifier.name "
        f"= '...'\" with one of {sorted(CONSTRUCTORS)}.")
  if name not in CONSTRUCTORS:
    raise ValueError(f"Unknown classifier {name!r}; choose one of "
                     f"{sorted(CONSTRUCTORS)}.")
  constructor = CONSTRUCTORS[name]
  accepted = inspect.signature(constructor).parameters
  unknown = sorted(set(arguments) - set(accepted))
  if unknown:
    raise ValueError(f"Classifier {name!r} takes no argument(s) {unknown}; "
                     f"it takes {sorted(accepted)}.")
  missing = sorted(
      key for key, parameter in accepted.items()
      if parameter.default is inspect.Parameter.empty
      and parameter.kind != inspect.Parameter.VAR_KEYWORD
      and key not in arguments)
  if missing:
    raise ValueError(
        f"Classifier {name!r} needs " + ", ".join(
            f"classifier.{key}" for key in missing)
        + " (e.g. --gin_bindings=\"classifier." + missing[0]
        + " = '/path/to/model'\").")
  _check_serialisable(name, arguments)
  return constructor(**arguments)


def _check_serialisable(name: str, arguments: dict) -> None:
  """A run record stores the arguments as JSON; refuse what it cannot."""
  for key, value in arguments.items():
    try:
      json.dumps(value)
    except (TypeError, ValueError):
      raise ValueError(
          f"classifier.{key} = {value!r} ({type(value).__name__}) cannot be "
          f"recorded with the run: classifier {name!r} takes strings, "
          "numbers, lists of them or None.") from None
