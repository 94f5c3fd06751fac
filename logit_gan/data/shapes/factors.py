"""The factors of a scene: what each image is drawn from, and their ranges.

One feature each, sampled independently and uniformly (colours resampled
until the contrast condition holds):

  feature                 range
  label                   the shape; exactly N / num_classes per class when
                          the split size N is a multiple of num_classes
  foreground_colour       RGB float32 in [0, 1]^3
  background_kind         flat, gradient, stripes (`BACKGROUND_KINDS`)
  background_colours      [2, 3] float32 in [0, 1]: the colours at t = 0 and
                          t = 1 (flat: both equal, only the first is used)
  background_orientation  radians in [0, 2 pi): direction of the gradient or
                          across the stripes (unused by flat)
  stripe_frequency        cycles per image side in [2, 5] (stripes only)
  scale                   outer radius of the shape as a fraction of the image
                          side, in [0.2, 0.35]
  centre_x, centre_y      shape centre as fractions of the image width
                          (left to right) and height (top to bottom), in
                          [scale + 0.02, 1 - scale - 0.02]: never clipped
  rotation                radians in [0, 2 pi), counter-clockwise on screen
  brightness              multiplicative factor in [0.6, 1.4], applied last:
                          pixel = clip(brightness * composite, 0, 1)

Contrast: after brightness and clipping, the foreground colour is at least
`MIN_CONTRAST` (Euclidean RGB distance in [0, 1] units) from every colour the
background takes, so the shape is always visible.
"""

from __future__ import annotations

from collections.abc import Mapping
import math

import numpy as np

BACKGROUND_KINDS = ("flat", "gradient", "stripes")

SCALE_RANGE = (0.2, 0.35)
POSITION_MARGIN = 0.02
ROTATION_RANGE = (0.0, 2 * math.pi)
BRIGHTNESS_RANGE = (0.6, 1.4)
ORIENTATION_RANGE = (0.0, 2 * math.pi)
STRIPE_FREQUENCY_RANGE = (2.0, 5.0)
MIN_CONTRAST = 0.35



def placement_ranges(scale_range: tuple[float, float]) -> dict:
  """The ranges of 'scale', 'centre_x' and 'centre_y' (the centre's range
  also depends on each example's scale)."""
  centre = (scale_range[0] + POSITION_MARGIN,
            1 - scale_range[0] - POSITION_MARGIN)
  return {"scale": scale_range, "centre_x": centre, "centre_y": centre}


# Ranges of the scalar factors.
FACTOR_RANGES = {
    **placement_ranges(SCALE_RANGE),
    "rotation": ROTATION_RANGE,
    "brightness": BRIGHTNESS_RANGE,
    "background_orientation": ORIENTATION_RANGE,
    "stripe_frequency": STRIPE_FREQUENCY_RANGE,
}
FACTOR_NAMES = ("label", "foreground_colour", "background_kind",
                "background_colours", "background_orientation",
                "stripe_frequency", "scale", "centre_x", "centre_y",
                "rotation", "brightness")


def uniform(rng: np.random.Generator, bounds, size) -> np.ndarray:
  """float32 draws, uniform in [bounds[0], bounds[1])."""
  return rng.uniform(bounds[0], bounds[1], size).astype(np.float32)


def contrast(factors: Mapping[str, np.ndarray]) -> np.ndarray:
  """[N] smallest RGB distance between the foreground and the background.

  Measured after brightness and clipping, over the colours the background
  takes (its two colours and 15 mixtures between them).
  """
  brightness = np.asarray(factors["brightness"])[:, None, None]
  colours = np.asarray(factors["background_colours"])
  mixing = np.linspace(0, 1, 17, dtype=np.float32)[None, :, None]
  background = colours[:, :1] + mixing * (colours[:, 1:] - colours[:, :1])
  background = np.clip(brightness * background, 0, 1)
  foreground = np.clip(brightness * factors["foreground_colour"][:, None], 0, 1)
  return np.linalg.norm(foreground - background, axis=-1).min(axis=1)


def _sample_colours(rng: np.random.Generator, kinds: np.ndarray) -> dict:
  """Colours and brightness, resampled where the contrast is too low."""
  num_examples = len(kinds)
  colours = {
      "foreground_colour": np.zeros((num_examples, 3), np.float32),
      "background_colours": np.zeros((num_examples, 2, 3), np.float32),
      "brightness": np.zeros(num_examples, np.float32),
  }
  pending = np.arange(num_examples)
  while len(pending):
    candidate = {
        "foreground_colour": uniform(rng, (0, 1), (len(pending), 3)),
        "background_colours": uniform(rng, (0, 1), (len(pending), 2, 3)),
        "brightness": uniform(rng, BRIGHTNESS_RANGE, len(pending)),
    }
    flat = kinds[pending] == BACKGROUND_KINDS.index("flat")
    candidate["background_colours"][flat, 1] = (
        candidate["background_colours"][flat, 0])
    accepted = contrast(candidate) >= MIN_CONTRAST
    for name, values in candidate.items():
      colours[name][pending[accepted]] = values[accepted]
    pending = pending[~accepted]
  return colours


def sample_factors(rng: np.random.Generator, num_examples: int, *,
                   num_classes: int) -> dict[str, np.ndarray]:
  """Draws the factors of `num_examples` scenes; see the module docstring.

  Labels are class-balanced (each class num_examples // num_classes or one
  more times) and shuffled. Returns a dict with every name of
  `FACTOR_NAMES`: labels and background kinds int64 [N], colours float32
  [N, 3] and [N, 2, 3], the rest float32 [N].
  """
  labels = rng.permutation(np.arange(num_examples) % num_classes)
  kinds = rng.integers(0, len(BACKGROUND_KINDS), num_examples)
  scale = uniform(rng, SCALE_RANGE, num_examples)
  low, high = scale + POSITION_MARGIN, 1 - scale - POSITION_MARGIN
  factors = {
      "label": labels.astype(np.int64),
      "background_kind": kinds.astype(np.int64),
      "background_orientation": uniform(rng, ORIENTATION_RANGE, num_examples),
      "stripe_frequency": uniform(rng, STRIPE_FREQUENCY_RANGE, num_examples),
      "scale": scale,
      "centre_x": (low + (high - low) * rng.uniform(size=num_examples)
                   ).astype(np.float32),
      "centre_y": (low + (high - low) * rng.uniform(size=num_examples)
                   ).astype(np.float32),
      "rotation": uniform(rng, ROTATION_RANGE, num_examples),
  }
  factors.update(_sample_colours(rng, kinds))
  return factors
