"""The headline numbers `bin/demo` prints when it ends, read from the
analysis's files (metrics.json and speed.json of bin/analyze's --out and
of its optimization sub-folder), and the run's record (demo.json).

  class agreement      reconstructions' top1_agreement: the share of
                       reconstructions the model's own classifier gives the
                       class it gave the original
  iterative stability  iterative_stability's agreement at round 1
  fraction kept        factor_recovery's three factors kept best per model
  time per image       bin/analyze --time_images: seconds per image of one
                       call of reconstruct on a batch (median of repeats)

Each with its 95% CI and its number of images; a number the analysis lacks
is left out, not guessed.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Optional

SPEED_FILE = "speed.json"


def _load(path: str):
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as file:
    return json.load(file)


def _interval(record: dict, percent: bool = False) -> str:
  scale, unit = (100, "%") if percent else (1, "")
  mean, low, high = (record.get(k) for k in ("mean", "low", "high"))
  if mean is None:
    return "n/a"
  text = f"{mean * scale:.1f}{unit}" if percent else f"{mean:.3f}"
  if low is not None and high is not None and low != high:
    text += (f" [{low * scale:.1f}, {high * scale:.1f}]" if percent
             else f" [{low:.3f}, {high:.3f}]")
  return text + f" (n={record.get('n', '?')})"


def _values(records: list, experiment: str, number: str,
            accept: Callable[[dict], bool] = lambda params: not params
            ) -> list[dict]:
  return [r for r in records if r.get("experiment") == experiment
          and r.get("number") == number and r.get("kind") == "value"
          and accept(r.get("params") or {})]


def _per_model(title: str, records: list, experiment: str, number: str,
               accept=lambda params: not params) -> Optional[str]:
  found = _values(records, experiment, number, accept)
  if not found:
    return None
  return f"{title}: " + "; ".join(
      f"{r['model']} {_interval(r, percent=True)}" for r in found)


def _fraction_kept(records: list, best: int = 3) -> list[str]:
  by_model: dict[str, list] = {}
  for record in _values(records, "factor_recovery", "fraction_kept",
                        lambda params: True):
    if record.get("mean") is not None:
      by_model.setdefault(record["model"], []).append(record)
  lines = []
  for model, found in by_model.items():
    found.sort(key=lambda r: -r["mean"])
    lines.append(f"fraction kept, best {best} ({model}): " + ", ".join(
        f"{r['params'].get('factor')} ({r['params'].get('measure')}) "
        f"{_interval(r)}" for r in found[:best]))
  return lines


def _speed(folders: list[str]) -> Optional[str]:
  parts, seen = [], set()
  for folder in folders:
    speed = _load(os.path.join(folder, SPEED_FILE)) or {}
    for name, entry in speed.get("models", {}).items():
      if name in seen:  # Timed again beside the baseline.
        continue
      seen.add(name)
      parts.append(f"{name} {entry['seconds_per_image'] * 1000:.3g} ms "
                   f"(batch {speed.get('images', '?')})")
  if not parts:
    return None
  return "time per image (one reconstruct call): " + "; ".join(parts)


def headline(analysis: str, optimization: str) -> list[str]:
  """The module docstring's lines from the analysis folder and its
  optimization sub-folder (the baseline's numbers are on its subset)."""
  records = _load(os.path.join(analysis, "metrics.json")) or []
  subset = _load(os.path.join(optimization, "metrics.json")) or []
  lines = [
      _per_model("class agreement", records, "reconstructions",
                 "top1_agreement"),
      _per_model("class agreement, optimization subset", subset,
                 "reconstructions", "top1_agreement"),
      _per_model("iterative stability (round 1)", records,
                 "iterative_stability", "agreement",
                 lambda params: params == {"round": 1}),
      _per_model("iterative stability (round 1), optimization subset",
                 subset, "iterative_stability", "agreement",
                 lambda params: params == {"round": 1}),
      *_fraction_kept(records),
      _speed([analysis, optimization])]
  return [line for line in lines if line]


def write_record(path: str, record: dict) -> str:
  """Writes demo.json (settings, machine, each step's command and time)."""
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  with open(path, "w", encoding="utf-8") as file:
    json.dump(record, file, indent=2, default=str)
  return path
