"""The start every experiment of logit_manipulation, class_clusters and
iterative_stability shares: refuse inputs that cannot work before any work,
take the first `num_images` test images, and open a Result with the
settings, models and examples recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import results


def begin(experiment: str, models: Sequence[inversion.InversionModel],
          examples: examples_lib.Examples, settings: Mapping,
          num_images: Optional[int]) -> tuple[results.Result,
                                              examples_lib.Examples]:
  """(Result with settings, models and examples filled in, the first
  `num_images` examples (all when None)); a ValueError naming the problem
  when the models cannot be compared or the images do not fit them."""
  models = list(models)
  inversion.check_compatible(models)
  if examples.resolution != models[0].resolution:
    raise ValueError(
        f"{experiment}: the test images are {examples.resolution}x"
        f"{examples.resolution} but the models draw {models[0].resolution}x"
        f"{models[0].resolution}; give images of the models' resolution "
        "(examples.from_dataset(..., resolution=R) resizes).")
  if num_images is not None:
    if int(num_images) < 1:
      raise ValueError(f"{experiment}: num_images must be >= 1 or None "
                       f"(all), not {num_images!r}.")
    examples = examples.subset(np.arange(min(int(num_images),
                                             len(examples))))
  result = results.Result(experiment, settings=dict(settings),
                          models=[m.describe() for m in models],
                          examples=examples.describe())
  return result, examples


def number(value: float) -> str:
  """A number for a summary line: 3 significant digits, sign kept."""
  return f"{value:.3g}"


def interval(value) -> str:
  """'mean [low, high]' of a stats.Interval with 3 significant digits (the
  slopes and sharpness values span many orders of magnitude)."""
  return (f"{number(value.mean)} [{number(value.low)}, "
          f"{number(value.high)}]")
