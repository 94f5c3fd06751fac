"""The machine a command runs on, for the record: processor, AVX-512,
cores, platform and the versions of Python, TensorFlow and Keras.

Read without importing TensorFlow (versions from the installed packages'
metadata, unless TensorFlow or Keras is already loaded), so the bin/demo
driver, which loads no TensorFlow, can use it. Linux's /proc/cpuinfo
first, then `lscpu`, then Python's `platform`; what none of them tells is
None, never guessed.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from typing import Optional

from logit_gan import runtime

CPUINFO = "/proc/cpuinfo"
# The distributions that provide each module, the usual one first.
DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu",
                                "tensorflow-macos", "tf-nightly"),
                 "keras": ("keras", "keras-nightly")}


def _cpu_text() -> str:
  """/proc/cpuinfo, else lscpu's output, else '' (neither available)."""
  try:
    with open(CPUINFO, encoding="utf-8") as file:
      return file.read()
  except OSError:
    pass
  try:
    return subprocess.run(["lscpu"], capture_output=True, text=True,
                          timeout=10, check=False).stdout
  except (OSError, subprocess.SubprocessError):
    return ""


def cpu_model(text: Optional[str] = None) -> str:
  """The processor's model name ('Intel(R) Xeon(R) ...'), from the
  'model name' line of /proc/cpuinfo or lscpu's 'Model name', else
  platform.processor() (possibly '')."""
  text = _cpu_text() if text is None else text
  match = re.search(r"^(?:model name|Model name)\s*:\s*(.+)$", text,
                    re.MULTILINE)
  return match.group(1).strip() if match else platform.processor()


def has_avx512(text: Optional[str] = None) -> Optional[bool]:
  """Whether the CPU has AVX-512 (the avx512f flag); None when no flags
  are known (no /proc/cpuinfo and no lscpu, e.g. macOS)."""
  text = _cpu_text() if text is None else text
  if not re.search(r"^(?:flags|Flags)\s*:", text, re.MULTILINE):
    return None
  return bool(re.search(r"\bavx512f\b", text))


def version(module: str) -> Optional[str]:
  """The version of `module` ('tensorflow', 'keras'): the loaded module's
  __version__, else the installed distribution's, else None."""
  loaded = sys.modules.get(module)
  if loaded is not None and hasattr(loaded, "__version__"):
    return str(loaded.__version__)
  for distribution in DISTRIBUTIONS.get(module, (module,)):
    try:
      return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
      continue
  return None


def now() -> str:
  """The local date and time with its UTC offset, ISO 8601 to the second."""
  return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def describe() -> dict:
  """{"processor": model name, "avx512": True/False/None, "cores":
  os.cpu_count(), "usable_cores": this process's CPUs (taskset narrows
  them), "platform", "python", "tensorflow", "keras": versions or None}."""
  text = _cpu_text()
  return {"processor": cpu_model(text), "avx512": has_avx512(text),
          "cores": os.cpu_count(), "usable_cores": runtime.usable_cpus(),
          "platform": platform.platform(),
          "python": platform.python_version(),
          "tensorflow": version("tensorflow"), "keras": version("keras")}
