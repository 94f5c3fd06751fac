"""Where an analysis's numbers come from: `bin/analyze` appends one record
per run to <out>/provenance.json, and `bin/report` copies them into
report/metrics.json and the page's provenance section.

  {"runs": [{"date": ISO 8601, "command": the process's argv, "cwd",
             "flags": {flag: value} of bin/analyze,
             "experiments": [...], "optimization_experiments": [...],
             "images": the test images' describe(),
             "gin_config": the gin bindings in force (files and bindings),
             "exports": [per model: its describe() and the export's
                         record: classifier, training_step, method,
                         dataset, and `operative_config`, the training
                         run's operative gin config the export bundles
                         (None when it bundles none: `recorded_in` names
                         the export's metadata file)],
             "machine": machine.describe()}, ...]}

The newest run is last; the last MAX_RUNS are kept. A run that reruns
nothing is recorded too (it is what was asked). The exports' signature
docs and class names are left out (the export has them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import json
import os
import sys
from typing import Any, Optional

from logit_gan import files
from logit_gan import machine

PROVENANCE_FILE = "provenance.json"
MAX_RUNS = 20
METADATA_FILE = os.path.join("assets.extra", "logit_gan.json")
# An export's describe() fields not copied (long, and in the export).
LEFT_OUT = ("signatures", "class_names", "gin_config")


def export_record(model) -> dict[str, Any]:
  """One inversion model's record: its describe() and, for a bin/export
  SavedModel (`model.info`: its describe endpoint), the export's fields
  with `operative_config` (str or None) and `recorded_in`."""
  record = dict(model.describe())
  info = getattr(model, "info", None)
  if info is None:
    return record
  record.update({key: value for key, value in info.items()
                 if key not in LEFT_OUT})
  record["operative_config"] = info.get("gin_config") or None
  record["recorded_in"] = os.path.join(str(model.path), METADATA_FILE)
  return record


def run_record(*, flag_values: Mapping[str, Any], models: Sequence,
               experiments: Sequence[str],
               optimization_experiments: Sequence[str] = (),
               images: Optional[dict] = None,
               gin_config: str = "") -> dict[str, Any]:
  """The record of one bin/analyze run (module docstring); `flag_values`
  are its flags' values, `models` the loaded exports."""
  return {"date": machine.now(), "command": list(sys.argv),
          "cwd": os.getcwd(), "flags": dict(flag_values),
          "experiments": list(experiments),
          "optimization_experiments": list(optimization_experiments),
          "images": images, "gin_config": gin_config,
          "exports": [export_record(model) for model in models],
          "machine": machine.describe()}


def read(out: str) -> Optional[dict]:
  """out/provenance.json as {"runs": [...]}, or None when absent; a
  ValueError naming the file when it is not valid JSON."""
  path = os.path.join(str(out), PROVENANCE_FILE)
  if not files.is_file(path):
    return None
  try:
    stored = json.loads(files.read_text(path))
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} is not valid JSON ({error}); delete it and "
                     "run bin/analyze again to record the run.") from None
  if not isinstance(stored, dict) or not isinstance(stored.get("runs"),
                                                    list):
    raise ValueError(f"{path} has no list of runs; delete it and run "
                     "bin/analyze again to record the run.")
  return stored


def append(out: str, run: dict) -> str:
  """Adds `run` to out/provenance.json (the last MAX_RUNS kept); returns
  the file's path."""
  stored = read(out) or {"runs": []}
  runs = (stored["runs"] + [run])[-MAX_RUNS:]
  path = os.path.join(str(out), PROVENANCE_FILE)
  files.write_text(path, json.dumps({"runs": runs}, indent=1,
                                    default=str))
  return path
