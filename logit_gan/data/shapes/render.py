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

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from logit_gan.data.shapes import mini
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


def stored_resolution(resolution: int,
                      resolutions: tuple[int, ...] = RESOLUTIONS) -> int:
  """The stored config to read for images of `resolution`: the smallest
  of `resolutions` (`mini.RESOLUTIONS` for shapes_mini) at least as large
  (downsampling keeps edges anti-aliased), else the largest."""
  larger = [r for r in resolutions if r >= resolution]
  return min(larger) if larger else max(resolutions)


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


def _local_frame(factors: Mapping[str, np.ndarray],
                 resolution: int) -> tuple[np.ndarray, np.ndarray]:
  """[N, R, R] x and y of each pixel centre in the shape's frame (y up, the
  shape inside the unit disc)."""
  y, x = _pixel_centres(resolution)
  scale = factors["scale"][:, None, None]
  dx = (x - (factors["centre_x"][:, None, None] - 0.5)) / scale
  dy = (y - (0.5 - factors["centre_y"][:, None, None])) / scale
  cos = np.cos(factors["rotation"])[:, None, None]
  sin = np.sin(factors["rotation"])[:, None, None]
  return cos * dx + sin * dy, cos * dy - sin * dx


def _coverage(factors: Mapping[str, np.ndarray], resolution: int,
              shape_index: np.ndarray, names: Sequence[str],
              frame: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
  """[N, R, R] in [0, 1]: the fraction of each pixel the shape covers;
  `names[shape_index[n]]` is example n's shape."""
  local_x, local_y = frame
  distance = np.empty(local_x.shape, np.float32)
  shape_index = np.asarray(shape_index)
  for index in np.unique(shape_index):
    chosen = shape_index == index
    distance[chosen] = SIGNED_DISTANCES[names[index]](local_x[chosen],
                                                       local_y[chosen])
  pixels = distance * factors["scale"][:, None, None] * resolution
  return np.clip(0.5 - pixels, 0, 1)


def coverage(factors: Mapping[str, np.ndarray], resolution: int,
             shapes: Sequence[str] = IN_DISTRIBUTION_CLASSES) -> np.ndarray:
  """[N, R, R] float32 in [0, 1]: how much of each pixel the shape of each
  scene covers (its mask, antialiased as rendered). factors: scale,
  centre_x, centre_y, rotation and the shape index — 'shape' for
  shapes_mini, else 'label' — into `shapes`."""
  index = factors["shape"] if "shape" in factors else factors["label"]
  return _coverage(factors, resolution, index, shapes,
                   _local_frame(factors, resolution))


def _background(factors: Mapping[str, np.ndarray],
                resolution: int) -> np.ndarray:
  """[N, R, R, 3] float32: the background's colours mixed."""
  colours = factors["background_colours"][:, None, None]  # [N, 1, 1, 2, 3]
  mixing = _background_mixing(factors, resolution)[..., None]
  return colours[..., 0, :] + mixing * (colours[..., 1, :]
                                        - colours[..., 0, :])


def _to_uint8(image: np.ndarray, brightness: np.ndarray) -> np.ndarray:
  image = np.clip(brightness[:, None, None, None] * image, 0, 1)
  return np.round(image * 255).astype(np.uint8)


def _render_chunk(factors: Mapping[str, np.ndarray], resolution: int,
                  classes: Sequence[str]) -> np.ndarray:
  image = _background(factors, resolution)
  coverage = _coverage(factors, resolution, factors["label"], classes,
                       _local_frame(factors, resolution))[..., None]
  foreground = factors["foreground_colour"][:, None, None]
  image = image + coverage * (foreground - image)
  return _to_uint8(image, factors["brightness"])


def _render_mini_chunk(factors: Mapping[str, np.ndarray], resolution: int,
                       shapes: Sequence[str]) -> np.ndarray:
  """As `_render_chunk`, the shape filled with its texture: stripes across
  the shape's local y, 0.5 + 0.5 sin(2 pi (frequency * y + phase)) of the
  way from the foreground to its darkened twin."""
  frame = _local_frame(factors, resolution)
  image = _background(factors, resolution)
  coverage = _coverage(factors, resolution, factors["shape"], shapes,
                       frame)[..., None]
  fills = mini.fill_colours(factors)[:, None, None]  # [N, 1, 1, 2, 3]
  frequency = factors["texture_frequency"][:, None, None]
  phase = factors["texture_phase"][:, None, None]
  stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (frequency * frame[1] + phase))
  fill = fills[..., 0, :] + stripes[..., None] * (fills[..., 1, :]
                                                  - fills[..., 0, :])
  image = image + coverage * (fill - image)
  return _to_uint8(image, factors["brightness"])


def _check_factors(factors: Mapping[str, np.ndarray], names: Sequence[str],
                   index_name: str, classes: Sequence[str]) -> int:
  """The number of examples; `factors[index_name]` indexes `classes`."""
  missing = [name for name in names if name not in factors]
  if missing:
    raise ValueError(f"Factors {missing} are missing; rendering needs "
                     f"all of {list(names)}.")
  num_examples = len(factors["label"])
  ragged = [name for name in names if len(factors[name]) != num_examples]
  if ragged:
    raise ValueError(f"Factors {ragged} do not have {num_examples} examples "
                     "like 'label'.")
  index = np.asarray(factors[index_name])
  if num_examples and (index.min() < 0 or index.max() >= len(classes)):
    raise ValueError(f"{index_name.capitalize()}s must be in "
                     f"[0, {len(classes)}) for classes {list(classes)}; got "
                     f"{index.min()}..{index.max()}.")
  return num_examples


def _render_in_chunks(resolution: int, factors: Mapping[str, np.ndarray],
                      names: Sequence[str], integers: Sequence[str],
                      render_chunk: Callable[..., np.ndarray],
                      classes: Sequence[str]) -> np.ndarray:
  factors = {name: np.asarray(factors[name]) for name in names}
  factors = {name: (values if name in integers
                    else values.astype(np.float32))
             for name, values in factors.items()}
  num_examples = len(factors["label"])
  chunk = chunk_size(resolution)
  images = np.empty((num_examples, resolution, resolution, 3), np.uint8)
  for start in range(0, num_examples, chunk):
    part = {name: values[start:start + chunk]
            for name, values in factors.items()}
    images[start:start + chunk] = render_chunk(part, resolution, classes)
  return images


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
  _check_factors(factors, FACTOR_NAMES, "label", classes)
  return _render_in_chunks(resolution, factors, FACTOR_NAMES,
                           ("label", "background_kind"), _render_chunk,
                           classes)


def render_mini_examples(
    resolution: int, factors: Mapping[str, np.ndarray], *,
    shapes: Sequence[str] = IN_DISTRIBUTION_CLASSES) -> np.ndarray:
  """uint8 [N, R, R, 3] images of `shapes_mini` scenes (`mini.py`).

  Args:
    resolution: R, one of `mini.RESOLUTIONS`.
    factors: every name of `mini.FACTOR_NAMES`, as `mini.sample_factors`
      returns them; the 'shape' factor (not the label) picks the outline and
      'texture' the fill, so a changed attribute renders without relabelling.
    shapes: the shape names 'shape' indexes (`OOD_CLASSES` for the OOD
      configs).
  """
  mini.check_resolution(resolution)
  _check_factors(factors, mini.FACTOR_NAMES, "shape", shapes)
  return _render_in_chunks(resolution, factors, mini.FACTOR_NAMES,
                           mini.INTEGER_FACTORS, _render_mini_chunk, shapes)
