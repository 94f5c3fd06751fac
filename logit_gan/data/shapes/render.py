"""Rendering: the images of scenes given their factors, vectorized numpy.

Each shape is a signed distance function (`geometry.py`) in a local frame
where the shape fits in the unit disc; pixel coverage is
clip(0.5 - distance in pixels, 0, 1), an analytic anti-aliased edge. The
background mixes its two colours by t (0 for flat, a linear ramp for gradient,
0.5 + 0.5 sin for stripes); the shape is composited over it, then brightness
multiplies and the result is clipped to [0, 1] and rounded to uint8.

Each image depends only on its own factors, so the bytes do not depend on how
the work is chunked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from logit_gan.data.shapes.factors import BACKGROUND_KINDS, FACTOR_NAMES
from logit_gan.data.shapes.geometry import (IN_DISTRIBUTION_CLASSES,
                                            SIGNED_DISTANCES)

RESOLUTIONS = (32, 64)

# Pixels rendered at once: keeps each float32 temporary near 8 MB.
_PIXELS_PER_CHUNK = 2**21


def check_resolution(resolution: int) -> None:
  """Raises a ValueError naming the allowed resolutions."""
  if resolution not in RESOLUTIONS:
    raise ValueError(f"The shapes dataset has resolutions {RESOLUTIONS}, "
                     f"not {resolution!r}.")


def stored_resolution(resolution: int) -> int:
  """The stored config to read for images of `resolution`: the smallest
  at least as large (downsampling keeps edges anti-aliased), else the
  largest."""
  larger = [r for r in RESOLUTIONS if r >= resolution]
  return min(larger) if larger else max(RESOLUTIONS)


def chunk_size(resolution: int) -> int:
  """Images rendered at once at `resolution`."""
  return max(1, _PIXELS_PER_CHUNK // resolution**2)


def _pixel_centres(resolution: int) -> tuple[np.ndarray, np.ndarray]:
  """[1, R, 1] and [1, 1, R]: y (up, 0 at the centre) and x, image fractions."""
  centres = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution
  return (0.5 - centres)[None, :, None], (centres - 0.5)[None, None, :]


def _background_mixing(factors: Mapping[str, np.ndarray],
                       resolution: int) -> np.ndarray:
  """[N, R, R] in [0, 1]: how much of the second background colour."""
  y, x = _pixel_centres(resolution)
  angle = factors["background_orientation"][:, None, None]
  along = x * np.cos(angle) + y * np.sin(angle)
  frequency = factors["stripe_frequency"][:, None, None]
  stripes = 0.5 + 0.5 * np.sin(2 * np.pi * frequency * along)
  gradient = np.clip(0.5 + along, 0, 1)
  kind = factors["background_kind"][:, None, None]
  return np.select([kind == BACKGROUND_KINDS.index("gradient"),
                    kind == BACKGROUND_KINDS.index("stripes")],
                   [gradient, stripes], 0).astype(np.float32)


def _coverage(factors: Mapping[str, np.ndarray], resolution: int,
              classes: Sequence[str]) -> np.ndarray:
  """[N, R, R] in [0, 1]: the fraction of each pixel the shape covers."""
  y, x = _pixel_centres(resolution)
  scale = factors["scale"][:, None, None]
  dx = (x - (factors["centre_x"][:, None, None] - 0.5)) / scale
  dy = (y - (0.5 - factors["centre_y"][:, None, None])) / scale
  cos = np.cos(factors["rotation"])[:, None, None]
  sin = np.sin(factors["rotation"])[:, None, None]
  local_x, local_y = cos * dx + sin * dy, cos * dy - sin * dx
  distance = np.empty(local_x.shape, np.float32)
  labels = np.asarray(factors["label"])
  for label in np.unique(labels):
    chosen = labels == label
    distance[chosen] = SIGNED_DISTANCES[classes[label]](local_x[chosen],
                                                         local_y[chosen])
  pixels = distance * scale * resolution
  return np.clip(0.5 - pixels, 0, 1)


def _render_chunk(factors: Mapping[str, np.ndarray], resolution: int,
                  classes: Sequence[str]) -> np.ndarray:
  colours = factors["background_colours"][:, None, None]  # [N, 1, 1, 2, 3]
  mixing = _background_mixing(factors, resolution)[..., None]
  image = colours[..., 0, :] + mixing * (colours[..., 1, :]
                                         - colours[..., 0, :])
  coverage = _coverage(factors, resolution, classes)[..., None]
  foreground = factors["foreground_colour"][:, None, None]
  image = image + coverage * (foreground - image)
  image = np.clip(factors["brightness"][:, None, None, None] * image, 0, 1)
  return np.round(image * 255).astype(np.uint8)


def _check_factors(factors: Mapping[str, np.ndarray],
                   classes: Sequence[str]) -> int:
  missing = [name for name in FACTOR_NAMES if name not in factors]
  if missing:
    raise ValueError(f"Factors {missing} are missing; render_examples needs "
                     f"all of {list(FACTOR_NAMES)}.")
  num_examples = len(factors["label"])
  ragged = [name for name in FACTOR_NAMES
            if len(factors[name]) != num_examples]
  if ragged:
    raise ValueError(f"Factors {ragged} do not have {num_examples} examples "
                     "like 'label'.")
  labels = np.asarray(factors["label"])
  if num_examples and (labels.min() < 0 or labels.max() >= len(classes)):
    raise ValueError(f"Labels must be in [0, {len(classes)}) for classes "
                     f"{list(classes)}; got {labels.min()}..{labels.max()}.")
  return num_examples


def render_examples(
    resolution: int, factors: Mapping[str, np.ndarray], *,
    classes: Sequence[str] = IN_DISTRIBUTION_CLASSES) -> np.ndarray:
  """uint8 [N, R, R, 3] images of the scenes `factors` describe.

  Args:
    resolution: R, one of `RESOLUTIONS`.
    factors: every name of `FACTOR_NAMES`, as `sample_factors` returns them
      (change one to render the same scene with that factor changed).
    classes: the shape names labels index (`OOD_CLASSES` for the OOD
      configs).
  """
  check_resolution(resolution)
  num_examples = _check_factors(factors, classes)
  factors = {name: np.asarray(factors[name]) for name in FACTOR_NAMES}
  factors = {name: (values if name in ("label", "background_kind")
                    else values.astype(np.float32))
             for name, values in factors.items()}
  chunk = chunk_size(resolution)
  images = np.empty((num_examples, resolution, resolution, 3), np.uint8)
  for start in range(0, num_examples, chunk):
    part = {name: values[start:start + chunk]
            for name, values in factors.items()}
    images[start:start + chunk] = _render_chunk(part, resolution, classes)
  return images
