"""`brightness_fit` and `sharpness_fit`: how an image adjustment moves the
logits, as a best-fit logit shift and scale (the paper's section 13, Figs.
19–26; issue #23, experiment 11).

For each image x and adjustment factor f, the adjusted image x_f has logits
z_f = Φ(x_f); against the original's z = Φ(x) two one-parameter models are
fitted in closed form, per image (least squares over the n_c logits):

  shift  z ≈ z_f + c     ->  c = mean_k (z_k − z_f,k)
  scale  z ≈ s · z_f     ->  s = <z, z_f> / <z_f, z_f>

(the paper's "logits_original = logits_adjusted + shift" and "= logits_
adjusted * scale"). f = 1 is the identity (c = 0, s = 1).

Adjustments, on pixels in [0, 1] (the package's [-1, 1] mapped there and
back, clipped to the range):
  brightness  x_f = clip(f · x): pixel values multiplied, as the paper does;
  sharpness   x_f = clip(x̃ + f · (x − x̃)), x̃ = x smoothed by PIL's SMOOTH
              kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (edges
              replicated): f = 0 smoothed, 1 unchanged, 2 sharpened — PIL's
              ImageEnhance.Sharpness.

Numbers per model: at every factor the mean c and s with CIs (params
{"factor": f}); the slope of c and of s near the identity (per image, the
central difference over the factors nearest below and above 1, then the
mean with its CI; paired between models); and the factor where the mean
curve peaks, with a bootstrap CI over images (the paper: the robust model's
shift rises with brightness, the standard one's peaks then falls). Figures:
mean ± sd of c and of s against the factor, per model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import figures
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import stats

BRIGHTNESS_FACTORS = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
SHARPNESS_FACTORS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13


def adjust_brightness(images: np.ndarray, factor: float) -> np.ndarray:
  """images [N, R, R, 3] in [-1, 1] with pixel values (in [0, 1]) times
  factor, clipped."""
  unit = (np.asarray(images, np.float32) + 1) / 2
  return np.clip(unit * factor, 0, 1) * 2 - 1


def smooth(images: np.ndarray) -> np.ndarray:
  """PIL's SMOOTH filter (3x3, centre 5, others 1, over 13), edges
  replicated; [N, R, R, C] -> the same shape."""
  padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
  size = images.shape[1]
  out = np.zeros_like(images, dtype=np.float32)
  for dy in range(3):
    for dx in range(3):
      out += SMOOTH[dy, dx] * padded[:, dy:dy + size, dx:dx + size]
  return out


def adjust_sharpness(images: np.ndarray, factor: float) -> np.ndarray:
  """images [N, R, R, 3] in [-1, 1] blended with their smoothed copy: 0
  smoothed, 1 unchanged, 2 sharpened (in [0, 1] units, clipped)."""
  unit = (np.asarray(images, np.float32) + 1) / 2
  blurred = smooth(unit)
  return np.clip(blurred + factor * (unit - blurred), 0, 1) * 2 - 1


ADJUSTMENTS = {"brightness": adjust_brightness,
               "sharpness": adjust_sharpness}


def fit_shift(z: np.ndarray, z_adjusted: np.ndarray) -> np.ndarray:
  """Per row: c minimising |z − (z_adjusted + c)|² -> [N]."""
  return np.mean(np.asarray(z, np.float64) - z_adjusted, axis=-1)


def fit_scale(z: np.ndarray, z_adjusted: np.ndarray) -> np.ndarray:
  """Per row: s minimising |z − s · z_adjusted|² -> [N] (NaN when
  z_adjusted is 0)."""
  z, z_adjusted = np.asarray(z, np.float64), np.asarray(z_adjusted,
                                                         np.float64)
  denominator = np.sum(z_adjusted ** 2, axis=-1)
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(denominator > 0,
                    np.sum(z * z_adjusted, axis=-1) / denominator, np.nan)


def _curves(model, images, adjust, factors) -> dict[str, np.ndarray]:
  """{"shift": [N, F], "scale": [N, F]} of one model."""
  z = model.classify(images)
  fitted = {"shift": [], "scale": []}
  for factor in factors:
    z_adjusted = model.classify(adjust(images, factor))
    fitted["shift"].append(fit_shift(z, z_adjusted))
    fitted["scale"].append(fit_scale(z, z_adjusted))
  return {name: np.stack(values, axis=1) for name, values in fitted.items()}


def check_factors(factors: Sequence[float], experiment: str) -> np.ndarray:
  """The factors sorted, float64 [F]; a ValueError unless they are
  non-negative with values on both sides of 1 (the slope at the
  identity)."""
  factors = np.asarray(sorted(factors), np.float64)
  if not (np.any(factors < 1) and np.any(factors > 1)) or np.any(
      factors < 0):
    raise ValueError(f"{experiment}: the factors {factors.tolist()} must be "
                     ">= 0 with values on both sides of 1 (the slope at "
                     "the identity).")
  return factors


def _identity_slope(curve: np.ndarray, factors: np.ndarray) -> np.ndarray:
  """Per image, the central difference of curve [N, F] across the factors
  nearest below and above 1."""
  i, j = np.where(factors < 1)[0][-1], np.where(factors > 1)[0][0]
  return (curve[:, j] - curve[:, i]) / (factors[j] - factors[i])


def _peak_factor(curve: np.ndarray, factors: np.ndarray,
                 seed: int) -> stats.Interval:
  """The factor where the mean curve over images peaks, with a bootstrap
  interval over images."""
  def statistic(rows):
    return float(factors[np.nanargmax(np.nanmean(rows, axis=0))])
  return stats.bootstrap_ci(curve, statistic, seed=seed)


def _run(kind: str, models, examples, *, factors: Sequence[float],
         num_images: Optional[int], seed: int) -> results_lib.Result:
  factors = check_factors(factors, f"{kind}_fit")
  result, examples = common.begin(
      f"{kind}_fit", models, examples, dict(
          seed=seed, factors=factors.tolist(), num_images=num_images),
      num_images)
  images = examples.images
  curves = {m.name: _curves(m, images, ADJUSTMENTS[kind], factors)
            for m in models}
  for fit in ("shift", "scale"):
    for column, factor in enumerate(factors):
      result.add_per_image(fit, {name: c[fit][:, column]
                                 for name, c in curves.items()},
                           seed=seed, factor=float(factor))
    result.add_per_image(f"{fit}_slope_at_identity",
                         {name: _identity_slope(c[fit], factors)
                          for name, c in curves.items()}, seed=seed)
    for name, c in curves.items():
      result.add(f"{fit}_peak_factor", name,
                 _peak_factor(c[fit], factors, seed))
    result.figures[f"{fit}.png"] = figures.line_plot(
        factors.tolist(), {name: _mean_sd(c[fit]) for name, c in
                           curves.items()},
        xlabel=f"{kind} factor (1 = unchanged)",
        ylabel=f"best-fit logit {fit} (mean ± sd)",
        title=f"{kind}: fitted {fit}")
  result.summary = "; ".join(
      f"{m.name}: shift slope {result.get('shift_slope_at_identity', m.name)}"
      f", shift peaks at {result.get('shift_peak_factor', m.name).mean:g}"
      for m in models)
  return result


def _mean_sd(curve: np.ndarray) -> list[tuple[float, float, float]]:
  mean, sd = np.nanmean(curve, axis=0), np.nanstd(curve, axis=0)
  return list(zip(mean, mean - sd, mean + sd))


@gin.configurable("brightness_fit", denylist=["models", "examples"])
def brightness_fit(models, examples, *, seed: int = 0,
                   factors: Sequence[float] = BRIGHTNESS_FACTORS,
                   num_images: Optional[int] = 500) -> results_lib.Result:
  """Best-fit logit shift and scale against a brightness factor (module
  docstring); the first `num_images` examples."""
  return _run("brightness", models, examples, factors=factors,
              num_images=num_images, seed=seed)


@gin.configurable("sharpness_fit", denylist=["models", "examples"])
def sharpness_fit(models, examples, *, seed: int = 0,
                  factors: Sequence[float] = SHARPNESS_FACTORS,
                  num_images: Optional[int] = 500) -> results_lib.Result:
  """Best-fit logit shift and scale against a sharpness factor (module
  docstring); the first `num_images` examples."""
  return _run("sharpness", models, examples, factors=factors,
              num_images=num_images, seed=seed)
