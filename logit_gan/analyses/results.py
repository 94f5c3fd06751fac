"""What an experiment returns, and how it is written.

A `Result` holds named numbers (each a `stats.Interval`: the value, its 95%
bootstrap interval where it is a mean over images, and the number of
images), the figures (PNG bytes by file name), arrays to keep beside them
(e.g. the reconstructions' images.npz, read by the 2AFC page), the
settings that produced them, and a one-line summary.
`Result.add_per_image` is the usual way in: given one value per image for
each model (the same images in the same order), it adds each model's mean
with its CI and, for every pair of models, the paired difference with its
CI (`model` = "a - b").

`write(result, out)` writes out/<experiment>/*.png, out/<experiment>/
*.npz (`Result.arrays`, compressed NumPy archives read with
`read_arrays`), out/<experiment>/result.json (everything, written last:
its presence marks the experiment complete) and merges the experiment's
records into out/metrics.json, one record per experiment, model and
number:

  {"experiment", "model", "number", "params", "mean", "low", "high", "n",
   "confidence", "kind": "value" | "difference", "models": [a, b]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import io
import itertools
import json
import os
from typing import Any, Optional
import zipfile

import numpy as np
import tensorflow as tf

from logit_gan import files
from logit_gan.analyses import stats

METRICS_FILE = "metrics.json"
RESULT_FILE = "result.json"


@dataclasses.dataclass(frozen=True)
class Number:
  """One named number of one model (or one paired difference)."""
  name: str
  model: str
  value: stats.Interval
  params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  kind: str = "value"  # Or "difference" (model = "a - b").
  models: tuple[str, ...] = ()

  def record(self, experiment: str) -> dict:
    return {"experiment": experiment, "model": self.model,
            "number": self.name, "params": dict(self.params),
            **self.value.to_dict(), "kind": self.kind,
            "models": list(self.models or (self.model,))}


def exact(value: float, n: int) -> stats.Interval:
  """A number without sampling error to report (a count, a setting's
  outcome): its interval is the value itself."""
  return stats.Interval(float(value), float(value), float(value), int(n))


@dataclasses.dataclass
class Result:
  """An experiment's outcome (see the module docstring)."""
  experiment: str
  settings: dict = dataclasses.field(default_factory=dict)
  numbers: list[Number] = dataclasses.field(default_factory=list)
  figures: dict[str, bytes] = dataclasses.field(default_factory=dict)
  # {file name "x.npz": {key: array}}, written with np.savez_compressed.
  arrays: dict[str, dict[str, np.ndarray]] = dataclasses.field(
      default_factory=dict)
  models: list[dict] = dataclasses.field(default_factory=list)
  examples: dict = dataclasses.field(default_factory=dict)
  summary: str = ""

  def add(self, name: str, model: str, value: stats.Interval,
          **params) -> stats.Interval:
    self.numbers.append(Number(name, model, value, params))
    return value

  def add_per_image(self, name: str, per_model: Mapping[str, Any], *,
                    seed: int = 0, statistic=np.mean,
                    **params) -> dict[str, stats.Interval]:
    """Each model's statistic (mean) of its per-image values [n] with a
    bootstrap CI, and the paired difference of every pair (in the order
    given) with its CI. Values of all models must be over the same images.
    Values may also be rows [n, k] for a statistic of several columns (e.g.
    a ratio of means). NaN values (undefined for an image) are left out of
    that model's statistic and of the pairs it is in."""
    out = {}
    arrays = {m: _rows(v) for m, v in per_model.items()}
    for model, values in arrays.items():
      out[model] = self.add(name, model, _ci(values[_finite(values)],
                                             statistic, seed), **params)
    for a, b in itertools.combinations(arrays, 2):
      if len(arrays[a]) != len(arrays[b]):
        raise ValueError(f"{self.experiment}/{name}: models {a} and {b} "
                         "were scored on different numbers of images.")
      keep = _finite(arrays[a]) & _finite(arrays[b])
      interval = (stats.paired_difference_ci(
          arrays[a][keep], arrays[b][keep], statistic, seed=seed)
          if keep.any() else stats.Interval(np.nan, np.nan, np.nan, 0))
      self.numbers.append(Number(name, f"{a} - {b}", interval, params,
                                 "difference", (a, b)))
    return out

  def get(self, name: str, model: str, **params) -> stats.Interval:
    """The interval of number `name` of `model` (or "a - b") at params."""
    for number in self.numbers:
      if (number.name, number.model) == (name, model) and dict(
          number.params) == params:
        return number.value
    raise KeyError(f"{self.experiment} has no number {name!r} of {model!r} "
                   f"at {params}; it has "
                   f"{sorted({(n.name, n.model) for n in self.numbers})}.")

  def records(self) -> list[dict]:
    return [number.record(self.experiment) for number in self.numbers]

  def to_json(self) -> dict:
    return {"experiment": self.experiment, "summary": self.summary,
            "settings": self.settings, "models": self.models,
            "examples": self.examples, "figures": sorted(self.figures),
            "arrays": sorted(self.arrays), "numbers": self.records()}


def _rows(values) -> np.ndarray:
  """Per-image values as [n] (scalars) or [n, k] (rows) float64."""
  array = np.asarray(values, np.float64)
  return array.ravel() if array.ndim <= 1 else array.reshape(len(array), -1)


def _finite(values: np.ndarray) -> np.ndarray:
  """[n] mask of the images whose values are all finite."""
  finite = np.isfinite(values)
  return finite if finite.ndim == 1 else finite.all(axis=1)


def _ci(values: np.ndarray, statistic, seed: int) -> stats.Interval:
  if not len(values):
    return stats.Interval(np.nan, np.nan, np.nan, 0)
  return stats.bootstrap_ci(values, statistic, seed=seed)


def write(result: Result, out: str, *, key: Optional[str] = None) -> str:
  """Writes the result under out/ (see the module docstring); `key`
  identifies the inputs (runner.py) so a rerun can tell it is complete.
  Returns out/<experiment>."""
  folder = os.path.join(str(out), result.experiment)
  tf.io.gfile.makedirs(folder)
  for name, png in result.figures.items():
    files.write_bytes(os.path.join(folder, name), png)
  for name, arrays in result.arrays.items():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    files.write_bytes(os.path.join(folder, name), buffer.getvalue())
  merge_metrics(out, result.experiment, result.records())
  files.write_text(os.path.join(folder, RESULT_FILE), json.dumps(
      {**result.to_json(), "key": key}, indent=1, default=_json_default))
  return folder


def merge_metrics(out: str, experiment: str, records: Sequence[dict]) -> None:
  """out/metrics.json with `experiment`'s records replaced by `records`."""
  path = os.path.join(str(out), METRICS_FILE)
  kept = [r for r in read_metrics(out) if r.get("experiment") != experiment]
  files.write_text(path, json.dumps(kept + list(records), indent=1,
                                    default=_json_default))


def read_metrics(out: str) -> list[dict]:
  """The records of out/metrics.json ([] when absent)."""
  path = os.path.join(str(out), METRICS_FILE)
  if not tf.io.gfile.exists(path):
    return []
  try:
    return json.loads(files.read_text(path))
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} is not valid JSON ({error}); delete it and "
                     "rerun bin/analyze (every result.json is kept).") from None


def read_result(out: str, experiment: str) -> Optional[dict]:
  """out/<experiment>/result.json as a dict, or None when absent."""
  path = os.path.join(str(out), experiment, RESULT_FILE)
  if not tf.io.gfile.exists(path):
    return None
  try:
    return json.loads(files.read_text(path))
  except json.JSONDecodeError:
    return None  # A damaged record: the experiment runs again.


def read_arrays(out: str, experiment: str,
                name: str) -> Optional[dict[str, np.ndarray]]:
  """{key: array} of out/<experiment>/<name> (a `Result.arrays` file), or
  None when absent; a ValueError naming the file when it is damaged."""
  path = os.path.join(str(out), experiment, name)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path, "rb") as file:
    data = file.read()
  try:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
      return {key: archive[key] for key in archive.files}
  except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
    raise ValueError(f"{path} is not a readable NumPy archive ({error}); "
                     f"rerun bin/analyze --experiment={experiment} "
                     "--force.") from None


def _json_default(value):
  if isinstance(value, (np.integer,)):
    return int(value)
  if isinstance(value, (np.floating,)):
    return None if not np.isfinite(value) else float(value)
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, (tuple, set)):
    return list(value)
  return str(value)
