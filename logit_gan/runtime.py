"""The process's TensorFlow settings, made explicitly by the command-line
entry points (`cli.common.run`) and the tests before TensorFlow loads.
Importing logit_gan changes nothing; a program that embeds it may call
`configure()` itself, first thing."""

from __future__ import annotations

import os
import sys

from absl import logging


def usable_cpus() -> int:
  """CPUs this process may run on: its affinity mask where the platform has
  one (Linux; `taskset` narrows it), else the machine's count (macOS)."""
  if hasattr(os, "sched_getaffinity"):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


def configure() -> None:
  """Sets defaults that TensorFlow and Keras read once, when they load; a
  value already in the environment is kept. Call before importing
  tensorflow or keras (it warns when too late)."""
  if "tensorflow" in sys.modules or "keras" in sys.modules:
    logging.warning("logit_gan.runtime.configure() ran after TensorFlow "
                    "loaded; its environment defaults may not take effect.")
  os.environ.setdefault("KERAS_BACKEND", "tensorflow")
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # Hide C++ INFO lines.
  # TensorFlow turns its oneDNN CPU kernels on by default only on CPUs with
  # AVX-512 or AMX; on AVX2-only CPUs (AMD EPYC Zen 3 here) they make a
  # training step about 20% faster (docs/tuning_log.md). Not when the process
  # may use a single CPU: there TensorFlow 2.21's oneDNN kernels corrupted
  # the heap ("corrupted double-linked list") in an eager convolution
  # gradient. Set TF_ENABLE_ONEDNN_OPTS=0 to opt out.
  if usable_cpus() > 1:
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
