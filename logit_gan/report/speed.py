"""Time per image (bin/analyze --time_images, speed.json) as records the
findings and the page read, and the page's table of it.

speed.json: {"images": N, "repeats": k, "models": {name: {"method",
"seconds_per_image" (the median of k timed calls), "low", "high" (the
fastest and slowest call)}}}. Its records, in metrics.json's form with
experiment "speed" and params {"batch": N}:

  seconds_per_image  per model (kind "value"): mean = the median, low/high
                     = the fastest/slowest call, n = N;
  seconds_per_image  per pair a, b in the file's order (kind
                     "difference", model "a - b"): mean = the difference
                     of the medians, low = a's fastest - b's slowest, high
                     = a's slowest - b's fastest;
  time_ratio         per pair (kind "ratio", model "b / a"): b's median
                     over a's, low = b's fastest / a's slowest, high = b's
                     slowest / a's fastest: how many times slower b is.

Their intervals are ranges over the k calls (`interval` says so), not
bootstrap CIs: the calls time one batch of the same images; an interval
that excludes 0 means every call of one method was faster than every call
of the other.
"""

from __future__ import annotations

import itertools
from typing import Optional

from logit_gan.report import markup

SPEED_FILE = "speed.json"
EXPERIMENT = "speed"


def _record(model: str, number: str, mean: float, low: float, high: float,
            *, kind: str, models: list, speed: dict) -> dict:
  return {"experiment": EXPERIMENT, "model": model, "number": number,
          "params": {"batch": speed.get("images")}, "mean": mean,
          "low": low, "high": high, "n": speed.get("images"),
          "confidence": None, "kind": kind, "models": models,
          "interval": f"range of {speed.get('repeats', '?')} timed calls"}


def records(speed: Optional[dict]) -> list[dict]:
  """The module docstring's records of a speed.json ([] for None)."""
  if not speed:
    return []
  timed = speed.get("models") or {}
  out = [_record(name, "seconds_per_image", entry["seconds_per_image"],
                 entry["low"], entry["high"], kind="value", models=[name],
                 speed=speed) for name, entry in timed.items()]
  for a, b in itertools.combinations(timed, 2):
    first, second = timed[a], timed[b]
    out.append(_record(
        f"{a} - {b}", "seconds_per_image",
        first["seconds_per_image"] - second["seconds_per_image"],
        first["low"] - second["high"], first["high"] - second["low"],
        kind="difference", models=[a, b], speed=speed))
    out.append(_record(
        f"{b} / {a}", "time_ratio",
        second["seconds_per_image"] / first["seconds_per_image"],
        second["low"] / first["high"], second["high"] / first["low"],
        kind="ratio", models=[b, a], speed=speed))
  return out


def _scaled(record: dict, scale: float, unit: str) -> str:
  """'2 ms [1.5, 3]' of a record times `scale`."""
  return (f"{record['mean'] * scale:.3g}{unit} [{record['low'] * scale:.3g}"
          f", {record['high'] * scale:.3g}]")


def table(speed_records: list[dict], models: dict, where: str) -> str:
  """The page's rows of one speed.json: model, method, ms per image
  [fastest, slowest], times the first model's time, batch; '' when
  there are none. `where` names the file (shown in the caption)."""
  values = [r for r in speed_records if r["kind"] == "value"]
  if not values:
    return ""
  ratios = {r["models"][0]: r for r in speed_records
            if r["number"] == "time_ratio" and r["models"][1]
            == values[0]["model"]}
  rows = [[markup.escape(r["model"]),
           markup.escape(models.get(r["model"], {}).get("method", "")),
           _scaled(r, 1000, " ms"),
           _scaled(ratios[r["model"]], 1, "×") if r["model"] in ratios
           else "1×", str(r["n"])] for r in values]
  return (f"<p>Time per image, one reconstruct call on a batch ({where}; "
          f"{values[0]['interval']}, not a CI; this machine as it was "
          "loaded):</p>" + markup.table(
              ["model", "method", "time per image [fastest, slowest]",
               f"× {values[0]['model']}'s time", "batch"], rows))
