"""What `runtime.configure()` (called by the bin/ commands and conftest
before TensorFlow loads) sets up."""

import os
import subprocess
import sys

import pytest

_PRINT_ENV = ("import os; from logit_gan import runtime; runtime.configure(); "
              "print(os.environ['KERAS_BACKEND'], "
              "os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))")
_HAS_AFFINITY = hasattr(os, "sched_setaffinity")
_CPUS = sorted(os.sched_getaffinity(0)) if _HAS_AFFINITY else []


def _configure_in_fresh_python(cpus, **env_overrides) -> str:
  env = {k: v for k, v in os.environ.items()
         if k not in ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS")}
  env.update(env_overrides)
  result = subprocess.run([sys.executable, "-c", _PRINT_ENV], env=env,
                          capture_output=True, text=True, timeout=120,
                          check=True,
                          preexec_fn=lambda: os.sched_setaffinity(0, cpus))
  return result.stdout.split()


@pytest.mark.skipif(len(_CPUS) < 2, reason="needs two CPUs and affinity")
@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")])
def test_onednn_is_on_unless_the_user_chose(given, expected):
  overrides = {} if given is None else {"TF_ENABLE_ONEDNN_OPTS": given}
  backend, onednn = _configure_in_fresh_python(_CPUS, **overrides)
  assert backend == "tensorflow"
  assert onednn == expected


@pytest.mark.skipif(not _HAS_AFFINITY, reason="needs CPU affinity (Linux)")
def test_onednn_is_left_to_tensorflow_on_a_single_cpu():
  """Pinned to one CPU, oneDNN corrupted the heap in an eager convolution
  gradient (tests/test_classifier_training.py under `taskset -c 0`)."""
  backend, onednn = _configure_in_fresh_python(_CPUS[:1])
  assert backend == "tensorflow"
  assert onednn == "unset"


def test_cpus_are_counted_without_sched_getaffinity(monkeypatch):
  """macOS has no os.sched_getaffinity: the machine's count is used."""
  from logit_gan import runtime
  monkeypatch.delattr(os, "sched_getaffinity", raising=False)
  monkeypatch.setattr(os, "cpu_count", lambda: 3)
  assert runtime.usable_cpus() == 3


_RUN_A_COMMAND = """
import os, sys
from logit_gan.cli import common
def main(argv):
  print(os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        os.environ["KERAS_BACKEND"], "tensorflow" in sys.modules)
common.run(main, common.__name__)
"""


def test_a_command_configures_before_tensorflow_loads():
  """bin/ scripts import their cli module (which loads no TensorFlow) and
  call `common.run`: its `runtime.configure()` comes first."""
  from logit_gan import runtime
  variables = ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS")
  env = {k: v for k, v in os.environ.items() if k not in variables}
  result = subprocess.run([sys.executable, "-c", _RUN_A_COMMAND], env=env,
                          capture_output=True, text=True, timeout=120,
                          check=True)
  onednn = "1" if runtime.usable_cpus() > 1 else "unset"
  assert result.stdout.split() == [onednn, "tensorflow", "False"]
