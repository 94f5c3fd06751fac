"""logit_gan: reconstruct images from a frozen classifier's logits.

Teterwak et al., ICML 2021, "Understanding Invariance via Feedforward
Inversion of Discriminatively Trained Classifiers", in Keras 3 / TensorFlow 2.
Images are float32 in [-1, 1] throughout the package.

Importing the package sets nothing and loads no TensorFlow (so that
`runtime.configure()`, which the command-line entry points call first, can
still set what TensorFlow reads when it loads); it only refuses a Keras
backend other than TensorFlow.
"""

import json
import os
import sys

__version__ = "0.1.0"


def _keras_backend() -> str:
  """The backend Keras runs on, or will when imported (its own order:
  KERAS_BACKEND, then keras.json under KERAS_HOME or ~/.keras, then
  tensorflow), read without importing Keras."""
  if "keras" in sys.modules:
    return sys.modules["keras"].backend.backend()
  if os.environ.get("KERAS_BACKEND"):
    return os.environ["KERAS_BACKEND"]
  home = os.environ.get("KERAS_HOME")
  if home is None:
    base = os.path.expanduser("~")
    home = os.path.join(base if os.access(base, os.W_OK) else "/tmp",
                        ".keras")
  try:
    with open(os.path.join(os.path.expanduser(home), "keras.json")) as file:
      return json.load(file).get("backend", "tensorflow")
  except (OSError, ValueError, AttributeError):
    return "tensorflow"


if _keras_backend() != "tensorflow":
  raise ImportError(
      "logit_gan runs on Keras 3's TensorFlow backend, but Keras's backend "
      f"is {_keras_backend()!r}. Set KERAS_BACKEND=tensorflow (or edit "
      "~/.keras/keras.json) and restart Python.")
