"""What `import logit_gan` sets up before TensorFlow loads."""

import os
import subprocess
import sys

import pytest

_PRINT_ENV = ("import os, logit_gan; "
              "print(os.environ['KERAS_BACKEND'], "
              "os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))")
_CPUS = sorted(os.sched_getaffinity(0))


def _import_in_fresh_python(cpus, **env_overrides) -> str:
  env = {k: v for k, v in os.environ.items()
         if k not in ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS")}
  env.update(env_overrides)
  result = subprocess.run([sys.executable, "-c", _PRINT_ENV], env=env,
                          capture_output=True, text=True, timeout=120,
                          check=True,
                          preexec_fn=lambda: os.sched_setaffinity(0, cpus))
  return result.stdout.split()


@pytest.mark.skipif(len(_CPUS) < 2, reason="needs two CPUs")
@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")])
def test_onednn_is_on_unless_the_user_chose(given, expected):
  overrides = {} if given is None else {"TF_ENABLE_ONEDNN_OPTS": given}
  backend, onednn = _import_in_fresh_python(_CPUS, **overrides)
  assert backend == "tensorflow"
  assert onednn == expected


def test_onednn_is_left_to_tensorflow_on_a_single_cpu():
  """Pinned to one CPU, oneDNN corrupted the heap in an eager convolution
  gradient (tests/test_classifier_training.py under `taskset -c 0`)."""
  backend, onednn = _import_in_fresh_python(_CPUS[:1])
  assert backend == "tensorflow"
  assert onednn == "unset"
