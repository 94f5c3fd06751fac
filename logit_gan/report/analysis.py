"""A `bin/analyze` output folder as the report reads it, once: its numbers
(metrics.json), the models and experiments of its result.json files, the
time per image (speed.json), bin/analyze's runs (provenance.json) and the
optimization baseline's sub-folder (optimization/), read the same way.

`Analysis.all_records()` is what the findings look in: this folder's
records, then its speed records (report/speed.py), then the optimization
sub-folder's, in that order (a finding takes the first match).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Optional

from logit_gan import files
from logit_gan.analyses import provenance as provenance_lib
from logit_gan.analyses import registry
from logit_gan.analyses import results as results_lib
from logit_gan.report import speed as speed_lib

OPTIMIZATION_FOLDER = "optimization"  # bin/analyze --optimization_baseline.


@dataclasses.dataclass(frozen=True)
class Analysis:
  """One analysis folder (see the module docstring).

  folder: the path read. records: metrics.json's records. experiments: the
  registry's names that have a result.json, in the registry's order.
  models: {name: describe()} from the result.json files. speed:
  speed.json or None. provenance: provenance.json ({"runs": [...]}) or
  None. optimization: the sub-folder's Analysis, or None.
  """
  folder: str
  records: list
  experiments: list
  models: dict
  speed: Optional[dict] = None
  provenance: Optional[dict] = None
  optimization: Optional["Analysis"] = None

  def speed_records(self) -> list[dict]:
    return speed_lib.records(self.speed)

  def all_records(self) -> list[dict]:
    """Records, speed records, then the optimization folder's."""
    return self.records + self.speed_records() + (
        self.optimization.all_records() if self.optimization else [])

  def all_models(self) -> dict:
    """{name: describe()} of this folder, its speed.json (name and method)
    and the optimization folder; the first description of a name wins."""
    models = dict(self.models)
    for name, entry in ((self.speed or {}).get("models") or {}).items():
      models.setdefault(name, {"name": name, "method": entry.get("method")})
    if self.optimization:
      for name, model in self.optimization.all_models().items():
        models.setdefault(name, model)
    return models


def models_of(folder: str, experiments: list[str]) -> dict:
  """{model name: its describe()} over the experiments' result.json."""
  models = {}
  for experiment in experiments:
    stored = results_lib.read_result(folder, experiment) or {}
    for model in stored.get("models", []):
      models.setdefault(model.get("name"), model)
  return models


def _json_or_none(path: str) -> Optional[dict]:
  """A JSON file's content, None when absent; a ValueError naming it when
  it is damaged."""
  if not files.is_file(path):
    return None
  try:
    return json.loads(files.read_text(path))
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} is not valid JSON ({error}); delete it and "
                     "run bin/analyze again (with --time_images for "
                     "speed.json).") from None


def read(folder: str) -> Analysis:
  """The Analysis of `folder`; a FileNotFoundError saying what to run when
  it holds no metrics.json."""
  records = results_lib.read_metrics(folder)
  if not records:
    raise FileNotFoundError(
        f"{folder} holds no {results_lib.METRICS_FILE}: run bin/analyze "
        f"--out={folder} first.")
  experiments = [name for name in registry.names()
                 if results_lib.read_result(folder, name) is not None]
  sub_folder = os.path.join(str(folder), OPTIMIZATION_FOLDER)
  optimization = (read(sub_folder) if results_lib.read_metrics(sub_folder)
                  else None)
  return Analysis(
      folder=str(folder), records=records, experiments=experiments,
      models=models_of(folder, experiments),
      speed=_json_or_none(os.path.join(str(folder), speed_lib.SPEED_FILE)),
      provenance=provenance_lib.read(folder), optimization=optimization)
