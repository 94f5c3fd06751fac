"""logit_gan: reconstruct images from a frozen classifier's logits.

Teterwak et al., ICML 2021, "Understanding Invariance via Feedforward
Inversion of Discriminatively Trained Classifiers", in Keras 3 / TensorFlow 2.
Images are float32 in [-1, 1] throughout the package.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # Hide C++ INFO lines.

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
  raise ImportError(
      "logit_gan runs on Keras 3's TensorFlow backend, but KERAS_BACKEND is "
      f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow (or edit "
      "~/.keras/keras.json) and restart Python.")

__version__ = "0.1.0"
