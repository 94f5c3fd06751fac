"""Fig. 1 of the paper: originals beside their reconstructions, and how close
the reconstructions are, as numbers with confidence intervals.

For each model m, each test image x (the first `num_images`; all when
None) and `samples` noise draws ε_s (the same draws for every model of one
z_dim; s = 0 is "the" reconstruction):

  z = Φ_m(x)                    the model's own classifier's logits [n_c];
  x̂_s = G_m(z, ε_s)             reconstructions [R, R, 3] in [-1, 1].

Numbers, one value per image, each model's mean with a 95% bootstrap CI
and the paired difference of every pair of models (`Result.add_per_image`):

  <distance>                 metrics.distances(x, x̂_0) for each of
                             `distances` (default rmse, psnr, ssim), and
                             lpips when its weight files exist (`lpips`
                             setting; docs/metrics.md);
  <distance>_over_samples    the same averaged over the samples;
  top1_agreement, kl, cosine classifier consistency of Φ_m(x̂_0) with z
                             (metrics.consistency; not in the paper);
  <consistency>_over_samples the same averaged over the samples.

Figure `reconstructions.png`: the first `figure_images` images, one row
each: the original, then each model's samples, labelled by model and
sample. The paper's Fig. 1 shows one sample per model and picks images all
classifiers got right; here the images are the first ones, right or wrong.

Arrays `images.npz` (`saved_images` > 0), the images of the 2AFC rating
page (report/two_afc.py, the paper's Table 1): `originals` uint8 [K, R, R,
3], the first K = min(saved_images, N) test images; `reconstructions`
uint8 [M, K, R, R, 3], each model's x̂_0 of them; `models` [M], the models'
names in that order.
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

NAME = "reconstructions"
HEADLINE = ("rmse", "ssim", "top1_agreement")
IMAGES_FILE = "images.npz"


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models: Sequence[inversion.InversionModel],
        examples: examples_lib.Examples, *, seed: int = 0,
        samples: int = 3, num_images: Optional[int] = None,
        figure_images: int = 8,
        distances: Sequence[str] = ("rmse", "psnr", "ssim"),
        lpips: bool = True, saved_images: int = 64) -> results.Result:
  """Reconstructions of the test images by each model (module docstring).

  Args:
    models: inversion models compared side by side (distinct names, one
      resolution).
    examples: test images [N, R, R, 3] in [-1, 1].
    seed: seeds the noise draws.
    samples: noise draws per image (>= 1).
    num_images: how many of the examples (the first ones) to score; None:
      all.
    figure_images: how many (the first ones) to show in the figure.
    distances: names of metrics.DISTANCES to report (or "lpips").
    lpips: add "lpips" to `distances` when its weight files exist
      (docs/metrics.md); settings["distances"] records what was used.
    saved_images: how many of the first images (originals and each
      model's first reconstruction, uint8) to keep in images.npz for the
      2AFC page; 0: no images.npz.

  Returns:
    A Result with the numbers above, `reconstructions.png` and (unless
    saved_images is 0) `images.npz`.
  """
  if samples < 1:
    raise ValueError(f"{NAME}: samples must be >= 1, not {samples!r}.")
  if saved_images < 0:
    raise ValueError(f"{NAME}: saved_images must be >= 0 (0: none), not "
                     f"{saved_images!r}.")
  settings = dict(seed=seed, samples=samples, num_images=num_images,
                  figure_images=figure_images, distances=tuple(distances),
                  lpips=lpips, saved_images=saved_images)
  result, examples = common.begin(NAME, models, examples, settings,
                                  num_images)
  distances, lpips_model = common.reconstruction_metrics(
      distances, lpips=lpips, experiment=NAME)
  result.settings["distances"] = distances
  per_image, shown = {}, {}
  for model in models:
    per_image[model.name], shown[model.name] = _score(
        model, examples.images, samples, seed, distances,
        max(figure_images, saved_images), lpips_model)
  common.add_numbers(result, per_image,
                     list(per_image[models[0].name]), seed)
  result.figures["reconstructions.png"] = _figure(
      examples.images[:figure_images],
      {name: kept[:figure_images] for name, kept in shown.items()})
  if saved_images:
    result.arrays[IMAGES_FILE] = _saved(examples.images[:saved_images],
                                        shown)
  headline = [n for n in HEADLINE if n in per_image[models[0].name]]
  result.summary = common.summary(result, headline,
                                  [m.name for m in models])
  return result


def _score(model: inversion.InversionModel, images: np.ndarray,
           samples: int, seed: int, distances: tuple[str, ...],
           figure_images: int, lpips_model) -> tuple[dict, np.ndarray]:
  """({number: [N]}, the first figure_images images' reconstructions
  [figure_images, samples, R, R, 3]) of one model."""
  logits = model.classify(images)
  values: dict[str, list] = {}
  shown = []
  for s in range(samples):
    noise = model.sample_noise(len(images), common.derive_seed(
        seed, NAME, s))
    scores, kept = common.score_reconstructions(
        model, images, noise, distances, logits=logits, lpips=lpips_model,
        keep=figure_images)
    for name, value in scores.items():
      values.setdefault(name, []).append(value)
    shown.append(kept)
  numbers = {name: rows[0] for name, rows in values.items()}
  numbers.update({f"{name}_over_samples": np.mean(rows, axis=0)
                  for name, rows in values.items()})
  return numbers, np.stack(shown, axis=1)


def _saved(originals: np.ndarray, shown: dict[str, np.ndarray]) -> dict:
  """images.npz's arrays (module docstring) from the originals [K, R, R, 3]
  in [-1, 1] and each model's kept reconstructions [>= K, samples, R, R,
  3]."""
  count = len(originals)
  return {"originals": figures.to_uint8(originals),
          "reconstructions": np.stack([figures.to_uint8(kept[:count, 0])
                                       for kept in shown.values()]),
          "models": np.array(list(shown), dtype=str)}


def _figure(originals: np.ndarray, shown: dict[str, np.ndarray]) -> bytes:
  """One row per original: the original, then each model's samples."""
  rows = [np.concatenate([originals[i:i + 1]] + [
      samples[i] for samples in shown.values()])
          for i in range(len(originals))]
  # The model's name above its first sample, the sample's number above
  # the others (long labels are cut to the tile's width).
  labels = ["original"] + [
      name if s == 0 else f"#{s + 1}"
      for name, samples in shown.items() for s in range(samples.shape[1])]
  return figures.image_grid(rows, column_labels=labels)
