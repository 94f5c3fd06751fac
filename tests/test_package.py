"""What `import logit_gan` sets up before TensorFlow loads."""

import os
import subprocess
import sys

import pytest

_PRINT_ENV = ("import os, logit_gan; "
              "print(os.environ['KERAS_BACKEND'], "
              "os.environ['TF_ENABLE_ONEDNN_OPTS'])")


def _import_in_fresh_python(**env_overrides) -> str:
  env = {k: v for k, v in os.environ.items()
         if k not in ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS")}
  env.update(env_overrides)
  result = subprocess.run([sys.executable, "-c", _PRINT_ENV], env=env,
                          capture_output=True, text=True, timeout=120,
                          check=True)
  return result.stdout.split()


@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")])
def test_onednn_is_on_unless_the_user_chose(given, expected):
  overrides = {} if given is None else {"TF_ENABLE_ONEDNN_OPTS": given}
  backend, onednn = _import_in_fresh_python(**overrides)
  assert backend == "tensorflow"
  assert onednn == expected
