"""Runs experiments by name and writes their results, rerunning only what
is missing (what `bin/analyze` calls).

`run_experiments(models, examples, names, out, seed=...)` runs each named
experiment (`registry.get`) on the models and examples and writes it with
`results.write` (out/<name>/*.png, out/<name>/result.json, out/metrics.json),
printing one line per experiment, `<name>: <Result.summary> (<seconds> s)`
(or `<name>: up to date (<folder>): <summary>`), and a progress line with
the ETA over the experiments left (`progress.Progress`: on a terminal it
redraws; into a log, plain lines).

An experiment is skipped when out/<name>/result.json exists with the same
`key`: a SHA-256 over everything that determines its numbers (`input_key`):
the experiment's name and settings (the function's defaults with gin's
bindings applied, as the call will see them), each model's `describe()`
(an export's includes its path), the examples' `describe()` and a hash of
their images, labels and factors, and the seed. A changed setting, model,
image or seed reruns it; `force=True` reruns everything. Nothing is
checked of the experiment's code: after changing it, pass `force`.

Before anything runs, every name is resolved (an unknown one is a
ValueError listing the known ones), the models are checked to be
comparable (`inversion.check_compatible`), the examples to be of the
models' resolution and to carry what each experiment needs
(`registry.needs`: labels, ground-truth factors). An experiment whose
needs they do not meet is a ValueError, or with `skip_unmet` (bin/analyze
--all) skipped with a line saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import hashlib
import inspect
import json
import os
import sys
import time
from typing import Callable, TextIO, Union

import gin
import numpy as np

from logit_gan import progress as progress_lib
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import registry
from logit_gan.analyses import results

# Arguments every experiment takes from the runner, not from settings.
RUNNER_ARGUMENTS = ("models", "examples", "seed")


@dataclasses.dataclass(frozen=True)
class Outcome:
  """What happened to one experiment: `ran` (False: its result was up to
  date, or it was skipped), its one-line summary (or why it was skipped),
  the seconds it took (0 when it did not run), its folder out/<name>, and
  `skipped` when the test images lack what it needs."""
  name: str
  ran: bool
  summary: str
  seconds: float
  folder: str
  skipped: bool = False


def settings_of(function: Callable) -> dict:
  """The settings a call of the experiment `function` will see: its
  keyword defaults with gin's current bindings of it applied (models,
  examples and seed left out)."""
  parameters = inspect.signature(function).parameters
  settings = {name: parameter.default
              for name, parameter in parameters.items()
              if parameter.default is not inspect.Parameter.empty
              and name not in RUNNER_ARGUMENTS}
  try:
    bound = gin.get_bindings(function)
  except (ValueError, TypeError):  # Not a gin configurable.
    bound = {}
  settings.update({name: value for name, value in bound.items()
                   if name not in RUNNER_ARGUMENTS})
  return settings


def _plain(value):
  """A JSON-ready stand-in for a setting's value (stable across runs: a
  function is named, not printed with its address)."""
  if callable(value) and hasattr(value, "__qualname__"):
    return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
  if dataclasses.is_dataclass(value) and not isinstance(value, type):
    return dataclasses.asdict(value)
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, (set, frozenset)):
    return sorted(map(str, value))
  return repr(value)


def examples_hash(examples: examples_lib.Examples) -> str:
  """SHA-256 of the images, labels and factors (names and values)."""
  digest = hashlib.sha256(np.ascontiguousarray(examples.images).tobytes())
  if examples.labels is not None:
    digest.update(np.ascontiguousarray(examples.labels).tobytes())
  for name in sorted(examples.factors):
    digest.update(name.encode())
    digest.update(np.ascontiguousarray(examples.factors[name]).tobytes())
  return digest.hexdigest()


def input_key(name: str, function: Callable, models, examples, *,
              seed: int) -> str:
  """The hex SHA-256 that identifies an experiment's inputs (module doc)."""
  record = {"experiment": name, "settings": settings_of(function),
            "models": [model.describe() for model in models],
            "examples": examples.describe(),
            "images": examples_hash(examples), "seed": int(seed)}
  text = json.dumps(record, sort_keys=True, default=_plain)
  return hashlib.sha256(text.encode()).hexdigest()


def check_inputs(models: Sequence[inversion.InversionModel],
                 examples: examples_lib.Examples) -> None:
  """Comparable models (`inversion.check_compatible`) and examples of their
  resolution, or a ValueError saying what to change."""
  inversion.check_compatible(list(models))
  if not isinstance(examples, examples_lib.Examples):
    raise ValueError("examples must be an analyses.examples.Examples (from "
                     "from_dataset, from_files or from_tfds), not "
                     f"{type(examples).__name__}.")
  resolution = models[0].resolution
  if examples.resolution != resolution:
    raise ValueError(
        f"The examples ({examples.source or 'given'}) are "
        f"{examples.resolution}x{examples.resolution} but the models draw "
        f"{resolution}x{resolution}: make them at the models' resolution "
        f"(examples.from_files(..., resolution={resolution}) resizes image "
        "files; from_dataset and from_tfds take resolution= too).")


def unmet_needs(name: str, settings: dict,
                examples: examples_lib.Examples) -> list[str]:
  """What experiment `name` needs (`registry.needs`) that the examples
  lack: [] or some of "labels", "factors"."""
  have = {"labels": examples.labels is not None,
          "factors": bool(examples.factors)}
  return [need for need in registry.needs(name, settings)
          if not have[need]]


def unmet_message(name: str, missing: Sequence[str],
                  examples: examples_lib.Examples) -> str:
  """Why experiment `name` cannot run on the examples, and what to do."""
  source = examples.source or "the caller"
  if "factors" in missing:
    return (f"{name} needs a dataset with ground-truth factors: shapes or "
            f"shapes_mini (the test images from {source} have none; use an "
            "export trained on one, without --images or --tfds).")
  return (f"{name} needs labelled test images (those from {source} have "
          "none): give a dataset (the exports' own, or --tfds), not image "
          "files" + (f", or set {name}.select = 'all'." if name ==
                     "adversarial" else "."))


def _stream(progress: Union[bool, TextIO]):
  if progress is True:
    return sys.stdout
  return progress or None


def _write_line(stream, bar, text: str) -> None:
  if stream is None:
    return
  # On a terminal the bar redraws in place: clear it before a line.
  stream.write(("\r\x1b[K" if bar is not None and bar.interactive else "")
               + text + "\n")
  stream.flush()


def _restore_records(out: str, name: str) -> str:
  """An up-to-date experiment's summary; its records are put back into
  out/metrics.json from its result.json if they went missing."""
  written = results.read_result(out, name)
  if not any(record.get("experiment") == name
             for record in results.read_metrics(out)):
    results.merge_metrics(out, name, written.get("numbers", []))
  return written.get("summary", "")


def _run_one(name, function, models, examples, *, seed, key, out):
  started = time.time()
  result = function(models, examples, seed=seed)
  if result.experiment != name:
    raise RuntimeError(f"Experiment {name!r} returned the result of "
                       f"{result.experiment!r}; its Result must be named "
                       "as it is registered.")
  folder = results.write(result, out, key=key)
  seconds = time.time() - started
  return Outcome(name, True, result.summary, seconds, folder)


def _check_needs(names, functions, examples, skip_unmet: bool) -> dict:
  """{name: why it is skipped} of the experiments whose needs the
  examples do not meet; a ValueError instead unless skip_unmet."""
  skipped = {}
  for name in names:
    missing = unmet_needs(name, settings_of(functions[name]), examples)
    if missing and not skip_unmet:
      raise ValueError(unmet_message(name, missing, examples))
    if missing:
      skipped[name] = (f"skipped: the test images have no "
                       f"{' and no '.join(missing)}")
  return skipped


def run_experiments(models: Sequence[inversion.InversionModel],
                    examples: examples_lib.Examples, names: Sequence[str],
                    out: str, *, seed: int, force: bool = False,
                    skip_unmet: bool = False,
                    progress: Union[bool, TextIO] = True) -> list[Outcome]:
  """Runs the experiments `names` (in order) on `models` and `examples`
  and writes them under `out` (see the module docstring).

  Args:
    models: the inversion models, compared side by side.
    examples: their test images, at the models' resolution.
    names: experiment names of `registry.EXPERIMENTS` (repeats run once).
    out: the output folder (created).
    seed: passed to every experiment.
    force: rerun experiments whose result is up to date.
    skip_unmet: skip (with a line saying why) the experiments whose needs
      the examples do not meet, instead of refusing them all.
    progress: where the progress line (with ETA over the experiments to
      run) and the one-line summaries go: True for stdout, a stream, or
      False for nowhere.

  Returns:
    One Outcome per experiment, in order.
  """
  names = list(dict.fromkeys(names))
  functions = {name: registry.get(name) for name in names}
  check_inputs(models, examples)
  unmet = _check_needs(names, functions, examples, skip_unmet)
  keys = {name: input_key(name, functions[name], models, examples, seed=seed)
          for name in names if name not in unmet}
  stale = [name for name in keys if force or (results.read_result(
      out, name) or {}).get("key") != keys[name]]
  stream = _stream(progress)
  bar = progress_lib.Progress(len(stale), unit="experiment", interval=0.0,
                              stream=stream) if stream and stale else None
  outcomes = []
  for name in names:
    folder = os.path.join(str(out), name)
    if name in unmet:
      outcomes.append(Outcome(name, False, unmet[name], 0.0, folder,
                              skipped=True))
      _write_line(stream, bar, f"{name}: {unmet[name]}")
      continue
    if name not in stale:
      summary = _restore_records(out, name)
      outcomes.append(Outcome(name, False, summary, 0.0, folder))
      _write_line(stream, bar, f"{name}: up to date ({folder}): {summary}")
      continue
    outcome = _run_one(name, functions[name], models, examples, seed=seed,
                       key=keys[name], out=out)
    outcomes.append(outcome)
    _write_line(stream, bar, f"{name}: {outcome.summary} "
                f"({outcome.seconds:.1f} s)")
    if bar is not None:
      bar.update(sum(o.ran for o in outcomes), force=True)
  if bar is not None and bar.interactive:
    stream.write("\n")
  return outcomes
