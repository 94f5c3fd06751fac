"""What the noise ε decides once the logits are fixed: resampling it (Figs.
3, 4, 11, 12 of the paper) and interpolating it (Figs. 5, 15, 16).

`resampling` (experiment `noise_resampling`): for each test image x with
logits z = Φ_m(x), `samples` (8) noise draws ε_1..ε_S give reconstructions
x̂_s = G_m(z, ε_s). Per image:

  resampling_distance      mean `distance` (rmse) over the S(S-1)/2 pairs
                           x̂_s, x̂_t: how much the noise changes;
  between_images_distance  mean distance between x̂_s and the
                           reconstruction of another test image's logits
                           from the same ε_s: how much the logits change;
  resampling_ratio         their ratio: how much the logits leave open
                           (0: nothing; near 1: as much as changing the
                           image).

To make "the same ε_s" free, the images are put in random pairs (a triple
when N is odd) that share their S draws; draws are independent across
pairs. A deterministic model (`model.deterministic`, a decoder) is drawn
once per image: its resampling distance is 0. The paper shows the samples
only; the numbers are ours.

`interpolation` (experiment `noise_interpolation`): for each image, two
draws a, b and the reconstructions along ε_k = (1 - t_k) a + t_k b at
`steps` (8) evenly spaced t_k in [0, 1] (ends included), logits fixed.
Per image:

  path_length_ratio   sum of the step distances over the distance between
                      the ends (1 for a generator linear in ε; larger when
                      the path detours);
  largest_step_ratio  the largest step over the end-to-end distance
                      (1/(steps-1) when the steps are even; near 1 when
                      one step does all the change);
  endpoint_distance   the end-to-end distance itself (the paper: smaller
                      for the robust model);
  path_length         the sum of the steps.

The ratios are NaN (left out) for an image whose ends coincide (a
deterministic model).

Both take the inversion models to compare and the test images [N, R, R,
3] in [-1, 1] (registry.py), and the settings: `num_images`, how many of
the examples (the first ones) to use, None: all; `figure_images`, how
many (the first ones) the figure shows; `distance`, a distance of
metrics.DISTANCES (rmse; not a similarity).

Figures: `resampling.png`, per image a tile per model, the input upper
left then the samples (3x3 for 8 samples); `noise_interpolation.png`, one
row per image and model: the original, then the path (the paper's Fig. 5
arranges one path as a grid, left to right, top to bottom).
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
from logit_gan.analyses import metrics
from logit_gan.analyses import results

RESAMPLING = "noise_resampling"
INTERPOLATION = "noise_interpolation"
# Groups of images (pairs) per chunk of reconstructions.
CHUNK_GROUPS = 64


@gin.configurable(RESAMPLING, denylist=["models", "examples"])
def resampling(models: Sequence[inversion.InversionModel],
               examples: examples_lib.Examples, *, seed: int = 0,
               samples: int = 8, num_images: Optional[int] = None,
               figure_images: int = 4,
               distance: str = "rmse") -> results.Result:
  """Noise resampling at fixed logits: a Result with the numbers of the
  module docstring and `resampling.png`. `seed` picks the pairs of images
  and their noise draws; `samples` (>= 2) draws per image; the other
  settings are the module docstring's."""
  settings = dict(seed=seed, samples=samples, num_images=num_images,
                  figure_images=figure_images, distance=distance)
  if samples < 2:
    raise ValueError(f"{RESAMPLING}: samples must be >= 2 (a distance "
                     f"needs two), not {samples!r}.")
  common.check_distance(distance, RESAMPLING)
  result, examples = common.begin(RESAMPLING, models, examples, settings,
                                  num_images)
  groups = _groups(len(examples), common.derive_seed(seed, RESAMPLING,
                                                     "pairs"))
  per_image, shown = {}, {}
  for model in models:
    per_image[model.name], shown[model.name] = _resample(
        model, examples.images, groups, samples, seed, distance,
        figure_images)
  common.add_numbers(result, per_image, ("resampling_distance",
                                          "between_images_distance",
                                          "resampling_ratio"), seed)
  result.figures["resampling.png"] = _tiles_figure(
      examples.images[:figure_images], shown)
  result.summary = common.summary(
      result, ("resampling_distance", "resampling_ratio"),
      [m.name for m in models])
  return result


def _groups(count: int, seed: int) -> list[np.ndarray]:
  """Random disjoint pairs of range(count), the last a triple when count
  is odd (one group of one when count is 1)."""
  order = np.random.default_rng(seed).permutation(count)
  groups = [order[k:k + 2] for k in range(0, count - count % 2, 2)]
  if count % 2 and groups:
    groups[-1] = np.append(groups[-1], order[-1])
  elif count % 2:
    groups = [order]
  return groups


def _resample(model: inversion.InversionModel, images: np.ndarray,
              groups: list[np.ndarray], samples: int, seed: int,
              distance: str, figure_images: int) -> tuple[dict, np.ndarray]:
  """({number: [N]}, samples [figure_images, S, R, R, 3]) of one model."""
  count = len(images)
  logits = model.classify(images)
  drawn = 1 if model.deterministic else samples
  noise = model.sample_noise(len(groups) * drawn, common.derive_seed(
      seed, RESAMPLING, "noise")).reshape(len(groups), drawn, -1)
  within, between = np.zeros(count), np.zeros(count)
  shown = np.zeros((min(figure_images, count), samples) + images.shape[1:],
                   np.float32)
  for start in range(0, len(groups), CHUNK_GROUPS):
    chunk = groups[start:start + CHUNK_GROUPS]
    rows = np.concatenate(chunk)
    group_noise = np.concatenate([np.repeat(noise[start + g][None],
                                            len(members), axis=0)
                                  for g, members in enumerate(chunk)])
    drawn_images = model.reconstruct(
        np.repeat(logits[rows], drawn, axis=0),
        group_noise.reshape(len(rows) * drawn, -1)).reshape(
            (len(rows), drawn) + images.shape[1:])
    within[rows] = _within(drawn_images, distance)
    between[rows] = _between(drawn_images, chunk, distance)
    keep = rows < len(shown)
    shown[rows[keep]] = np.repeat(drawn_images[keep], samples // drawn,
                                  axis=1)
  return {"resampling_distance": within, "between_images_distance": between,
          "resampling_ratio": common.ratio(within, between)}, shown


def _within(drawn: np.ndarray, distance: str) -> np.ndarray:
  """[n]: mean distance over the pairs of each row's draws [n, S, ...]
  (0 for one draw)."""
  kind = metrics.DISTANCES[distance]
  pairs = [(s, t) for s in range(drawn.shape[1])
           for t in range(s + 1, drawn.shape[1])]
  if not pairs:
    return np.zeros(len(drawn))
  return np.mean([kind(drawn[:, s], drawn[:, t]) for s, t in pairs], axis=0)


def _between(drawn: np.ndarray, groups: list[np.ndarray],
             distance: str) -> np.ndarray:
  """[n]: each row's mean distance, over draws and the other members of
  its group, to the member's reconstruction from the same draw; NaN for a
  group of one. Rows of `drawn` are the groups' members in order."""
  kind = metrics.DISTANCES[distance]
  offsets = np.cumsum([0] + [len(g) for g in groups])
  own, other = [], []
  for offset, members in zip(offsets, groups):
    for a in range(len(members)):
      for b in range(len(members)):
        if a != b:
          own.append(offset + a)
          other.append(offset + b)
  out = np.full(len(drawn), np.nan)
  if not own:
    return out
  shape = drawn.shape[2:]
  values = kind(drawn[own].reshape((-1,) + shape),
                drawn[other].reshape((-1,) + shape)).reshape(len(own), -1)
  sums = np.bincount(own, values.mean(axis=1), minlength=len(drawn))
  partners = np.bincount(own, minlength=len(drawn))
  has = partners > 0
  out[has] = sums[has] / partners[has]
  return out


def _tiles_figure(originals: np.ndarray,
                  shown: dict[str, np.ndarray]) -> bytes:
  """Per original, a block of tile rows: each model's tile (the original,
  then its samples) side by side, a white gap between models."""
  rows, labels, side = [], [], 1
  gap = common.white(originals.shape[1])
  for i, original in enumerate(originals):
    model_tiles = [common.tiles(np.concatenate([original[None], drawn[i]]))
                   for drawn in shown.values()]
    side = len(model_tiles[0])
    for r in range(side):
      rows.append(np.concatenate(sum(([tile[r], gap]
                                      for tile in model_tiles), [])[:-1]))
      labels.append(f"image {i}" if r == 0 else "")
  columns = sum(([name] + [""] * side for name in shown), [])
  return figures.image_grid(rows, row_labels=labels, column_labels=columns)


@gin.configurable(INTERPOLATION, denylist=["models", "examples"])
def interpolation(models: Sequence[inversion.InversionModel],
                  examples: examples_lib.Examples, *, seed: int = 0,
                  steps: int = 8, num_images: Optional[int] = None,
                  figure_images: int = 4,
                  distance: str = "rmse") -> results.Result:
  """Linear noise interpolation at fixed logits: a Result with the numbers
  of the module docstring and `noise_interpolation.png`. `seed` picks the
  two noise draws of each image; `steps` (>= 2) points on each path, both
  ends included; the other settings are the module docstring's."""
  settings = dict(seed=seed, steps=steps, num_images=num_images,
                  figure_images=figure_images, distance=distance)
  common.interpolate(np.zeros((1, 1)), np.zeros((1, 1)), steps)  # Checks.
  common.check_distance(distance, INTERPOLATION)
  result, examples = common.begin(INTERPOLATION, models, examples,
                                  settings, num_images)
  per_image, paths = {}, {}
  for model in models:
    per_image[model.name], paths[model.name] = _interpolate(
        model, examples.images, steps, seed, distance, figure_images)
  common.add_numbers(result, per_image, ("path_length_ratio",
                                          "largest_step_ratio",
                                          "endpoint_distance",
                                          "path_length"), seed)
  shown = examples.images[:figure_images]
  result.figures["noise_interpolation.png"] = figures.image_grid(
      [np.concatenate([shown[i:i + 1], paths[m][i]])
       for i in range(len(shown)) for m in paths],
      row_labels=[f"{i} {m}" for i in range(len(shown)) for m in paths],
      column_labels=["original"] + common.t_labels(steps))
  result.summary = common.summary(
      result, ("path_length_ratio", "endpoint_distance"),
      [m.name for m in models])
  return result


def _interpolate(model: inversion.InversionModel, images: np.ndarray,
                 steps: int, seed: int, distance: str,
                 figure_images: int) -> tuple[dict, np.ndarray]:
  """({number: [N]}, paths [figure_images, steps, R, R, 3]) of one model."""
  logits = model.classify(images)
  ends = [model.sample_noise(len(images), common.derive_seed(
      seed, INTERPOLATION, end)) for end in ("a", "b")]
  values: dict[str, list] = {}
  shown = []
  for rows in common.chunks(len(images)):
    path_logits = np.repeat(logits[rows][:, None], steps, axis=1)
    paths = common.reconstruct_paths(
        model, path_logits, common.interpolate(ends[0][rows], ends[1][rows],
                                               steps))
    shown.append(paths[:max(0, figure_images - rows.start)])
    step, end = common.path_steps(paths, distance)
    for name, value in (("path_length", step.sum(axis=1)),
                        ("largest_step", step.max(axis=1)),
                        ("endpoint_distance", end)):
      values.setdefault(name, []).append(value)
  numbers = {name: np.concatenate(v) for name, v in values.items()}
  numbers["path_length_ratio"] = common.ratio(numbers["path_length"],
                                              numbers["endpoint_distance"])
  numbers["largest_step_ratio"] = common.ratio(numbers.pop("largest_step"),
                                               numbers["endpoint_distance"])
  return numbers, np.concatenate(shown)
