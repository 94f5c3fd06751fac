"""The experiments `bin/analyze` knows, by name.

Each experiment is a function in its own module,

  run(models: Sequence[inversion.InversionModel],
      examples: examples.Examples, *, seed: int = 0, **settings)
      -> results.Result

gin-configurable under its name (e.g. `noise_resampling.samples = 8`), with
the paper's constants as defaults. `models` are compared side by side (paired
differences for every pair); `examples` are the test images. The registry
maps names to "module:function" (a module of this package, or any
importable "package.module") or to the function itself, and imports a
module only when its experiment runs. Your own experiment: write the
function (docs/analyses.md), then `registry.EXPERIMENTS["mine"] =
"my_package.my_module:run"` in Python, or a line here for bin/analyze.
"""

from __future__ import annotations

import importlib
from typing import Callable, Union

EXPERIMENTS: dict[str, Union[str, Callable]] = {
    # Part 1 (issue #22).
    "reconstructions": "reconstructions:run",
    "noise_resampling": "noise:resampling",
    "noise_interpolation": "noise:interpolation",
    "logit_interpolation": "logit_interpolation:run",
    "logit_shift": "logit_manipulation:shift",
    "logit_scale": "logit_manipulation:scale",
    "logit_perturbation": "logit_manipulation:perturbation",
    "class_clusters": "class_clusters:run",
    "iterative_stability": "iterative_stability:run",
    "logit_probe": "probe_experiment:run",
    # Part 2 (issue #23).
    "misclassified": "misclassified:run",
    "adversarial": "adversarial:run",
    "ood": "ood:run",
    "brightness_fit": "logit_fits:brightness_fit",
    "sharpness_fit": "logit_fits:sharpness_fit",
    "rotation": "rotation:run",
    "factor_recovery": "factor_recovery:run",
}


# What the test images must carry for an experiment, given its settings:
# "labels" and/or "factors" (the ground truth of shapes and shapes_mini).
# The runner checks before anything runs; `--all` skips an experiment
# whose needs the images do not meet (e.g. on --images files).
NEEDS: dict[str, Callable[[dict], tuple[str, ...]]] = {
    "logit_probe": lambda settings: ("labels", "factors"),
    "misclassified": lambda settings: ("labels",),
    "adversarial": lambda settings: (
        ("labels",) if settings.get("select") == "correct" else ()),
    "factor_recovery": lambda settings: ("factors",),
}


def needs(name: str, settings: dict) -> tuple[str, ...]:
  """What experiment `name` needs of its test images at `settings`."""
  return NEEDS[name](settings) if name in NEEDS else ()


def names() -> list[str]:
  return list(EXPERIMENTS)


def get(name: str) -> Callable:
  """The experiment function `name`; a ValueError listing the known ones."""
  if name not in EXPERIMENTS:
    raise ValueError(f"Unknown experiment {name!r}; choose from "
                     f"{', '.join(EXPERIMENTS)} (or --all).")
  target = EXPERIMENTS[name]
  if callable(target):
    return target
  module, function = target.split(":")
  if "." not in module:
    module = f"logit_gan.analyses.{module}"
  return getattr(importlib.import_module(module), function)


def import_all() -> None:
  """Imports every experiment's module, registering its gin configurable
  (so gin files can bind `noise_resampling.samples` before it runs)."""
  for name in EXPERIMENTS:
    get(name)
