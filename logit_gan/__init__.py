"""logit_gan: reconstruct images from a frozen classifier's logits.

Teterwak et al., ICML 2021, "Understanding Invariance via Feedforward
Inversion of Discriminatively Trained Classifiers", in Keras 3 / TensorFlow 2.
Images are float32 in [-1, 1] throughout the package.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # Hide C++ INFO lines.
# TensorFlow turns its oneDNN CPU kernels on by default only on CPUs with
# AVX-512 or AMX; on AVX2-only CPUs (AMD EPYC Zen 3 here) they make a
# training step about 20% faster (README, Measured). Not when the process may
# use a single CPU: there TensorFlow 2.21's oneDNN kernels corrupted the heap
# ("corrupted double-linked list") in an eager convolution gradient. Takes
# effect only when logit_gan is imported before tensorflow, as the bin/
# commands do; set TF_ENABLE_ONEDNN_OPTS=0 to opt out.
if len(os.sched_getaffinity(0)) > 1:
  os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
  raise ImportError(
      "logit_gan runs on Keras 3's TensorFlow backend, but KERAS_BACKEND is "
      f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow (or edit "
      "~/.keras/keras.json) and restart Python.")

__version__ = "0.1.0"
