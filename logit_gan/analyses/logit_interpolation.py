"""Interpolating between two images' logits at fixed noise (Figs. 9, 13, 14
of the paper): does the reconstruction change smoothly, and where does the
classifier change its mind?

Pairs: the test images (the first `num_images`) are put in random disjoint
pairs (x_a, x_b), and a pair is kept when every model's classifier
predicts different classes for its two images (so all models score the
same pairs; a ValueError when none is left). For each model m and pair,
with one noise draw ε per pair (the same for every model of one z_dim),

  z_k = (1 - t_k) Φ_m(x_a) + t_k Φ_m(x_b),  t_k = k / (steps - 1),
  x̂_k = G_m(z_k, ε),                        k = 0 .. steps - 1 (8 points).

Numbers per pair:

  smoothness  the largest step distance d(x̂_k, x̂_k+1) (rmse) over the
              mean step: 1 when the change is spread evenly along the
              path, up to steps - 1 when one step makes all of it (the
              paper: the robust model's sequence is smoother);
  flip_t      the first t_k at which the classifier's prediction of x̂_k
              is x_b's predicted class; NaN (left out of the mean) when it
              never is;
  flipped     1 when it is at some t_k, else 0: the mean is the fraction
              of paths that flip.

Figure `logit_interpolation.png`: one row per pair and model: x_a, the
path x̂_0 .. x̂_K, x_b.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import inversion
from logit_gan.analyses import results

NAME = "logit_interpolation"
NUMBERS = ("smoothness", "flip_t", "flipped")


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models: Sequence[inversion.InversionModel],
        examples: examples_lib.Examples, *, seed: int = 0, steps: int = 8,
        num_images: Optional[int] = None, figure_pairs: int = 4,
        distance: str = "rmse") -> results.Result:
  """Logit interpolation between pairs of test images (module docstring).

  Args:
    models: inversion models compared side by side.
    examples: test images [N, R, R, 3] in [-1, 1] (N >= 2).
    seed: seeds the pairing and the noise.
    steps: points on each path, both ends included (>= 2).
    num_images: how many of the examples (the first ones) to pair; None:
      all.
    figure_pairs: how many pairs (the first ones) the figure shows.
    distance: a distance of metrics.DISTANCES (not a similarity).

  Returns:
    A Result with the numbers above, n = the number of pairs, and
    `logit_interpolation.png`.
  """
  settings = dict(seed=seed, steps=steps, num_images=num_images,
                  figure_pairs=figure_pairs, distance=distance)
  common.interpolate(np.zeros((1, 1)), np.zeros((1, 1)), steps)  # Checks.
  common.check_distance(distance, NAME)
  result, examples = common.begin(NAME, models, examples, settings,
                                  num_images)
  logits = {m.name: m.classify(examples.images) for m in models}
  pairs = _pairs(logits, common.derive_seed(seed, NAME, "pairs"))
  result.settings["pairs"] = len(pairs)
  noise_seed = common.derive_seed(seed, NAME, "noise")
  per_pair, paths = {}, {}
  for model in models:
    per_pair[model.name], paths[model.name] = _paths(
        model, logits[model.name], pairs, model.sample_noise(
            len(pairs), noise_seed), steps, distance, figure_pairs)
  common.add_numbers(result, per_pair, NUMBERS, seed)
  result.figures["logit_interpolation.png"] = _figure(
      examples.images, pairs[:figure_pairs], paths)
  result.summary = common.summary(result, NUMBERS, [m.name for m in models])
  return result


def _pairs(logits: dict[str, np.ndarray], seed: int) -> np.ndarray:
  """[P, 2] indices: random disjoint pairs of the images whose predicted
  classes differ under every model's classifier."""
  count = len(next(iter(logits.values())))
  order = np.random.default_rng(seed).permutation(count)
  pairs = order[:count - count % 2].reshape(-1, 2)
  keep = np.ones(len(pairs), bool)
  for values in logits.values():
    predicted = values.argmax(axis=1)
    keep &= predicted[pairs[:, 0]] != predicted[pairs[:, 1]]
  if not keep.any():
    raise ValueError(
        f"{NAME}: no pair of the {count} test images has different "
        "predicted classes under every model's classifier (it needs at "
        "least two images that each classifier tells apart); give more or "
        "more varied images.")
  return pairs[keep]


def _paths(model: inversion.InversionModel, logits: np.ndarray,
           pairs: np.ndarray, noise: np.ndarray, steps: int, distance: str,
           figure_pairs: int) -> tuple[dict, np.ndarray]:
  """({number: [P]}, paths [figure_pairs, steps, R, R, 3]) of one model."""
  target = logits[pairs[:, 1]].argmax(axis=1)
  values: dict[str, list] = {name: [] for name in NUMBERS}
  shown = []
  for rows in common.chunks(len(pairs)):
    path_logits = common.interpolate(logits[pairs[rows, 0]],
                                     logits[pairs[rows, 1]], steps)
    path_noise = np.repeat(noise[rows][:, None], steps, axis=1)
    paths = common.reconstruct_paths(model, path_logits, path_noise)
    shown.append(paths[:max(0, figure_pairs - rows.start)])
    step, _ = common.path_steps(paths, distance)
    values["smoothness"].append(common.ratio(step.max(axis=1),
                                             step.mean(axis=1)))
    predicted = model.classify(paths.reshape((-1,) + paths.shape[2:])
                               ).argmax(axis=1).reshape(len(paths), steps)
    hit = predicted == target[rows, None]
    first = hit.argmax(axis=1) / (steps - 1)
    values["flip_t"].append(np.where(hit.any(axis=1), first, np.nan))
    values["flipped"].append(hit.any(axis=1).astype(np.float64))
  return ({name: np.concatenate(v) for name, v in values.items()},
          np.concatenate(shown))


def _figure(images: np.ndarray, pairs: np.ndarray,
            paths: dict[str, np.ndarray]) -> bytes:
  """One row per pair and model: x_a, its path, x_b."""
  rows, labels = [], []
  for p, (a, b) in enumerate(pairs):
    for name, model_paths in paths.items():
      rows.append(np.concatenate([images[a:a + 1], model_paths[p],
                                  images[b:b + 1]]))
      labels.append(f"{p} {name}")
  steps = next(iter(paths.values())).shape[1]
  return figures.image_grid(rows, row_labels=labels, column_labels=(
      ["image a"] + common.t_labels(steps) + ["image b"]))
