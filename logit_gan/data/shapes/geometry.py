"""The shapes' outlines: a signed distance function per shape name.

Each function takes x and y arrays in the shape's local frame (y up, the shape
inside the unit disc, its outer radius near 1) and returns the signed
distance to the outline: negative inside, positive outside. The renderer
scales, rotates and places the frame; see `render.py`.

In-distribution shapes stay distinct under any rotation and scale (no
square / diamond or cross / X pairs): circle, square, triangle, star
(5 points), cross, ring, half_disc, ellipse (axes 2:1), pacman (a disc missing
a quarter), tee. Out-of-distribution shapes: hexagon, heart, crescent, arrow,
hourglass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import numpy as np

IN_DISTRIBUTION_CLASSES = ("circle", "square", "triangle", "star", "cross",
                           "ring", "half_disc", "ellipse", "pacman", "tee")
OOD_CLASSES = ("hexagon", "heart", "crescent", "arrow", "hourglass")

SignedDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]

def _disc(x, y, *, radius=1.0, centre=(0.0, 0.0)):
  return np.hypot(x - centre[0], y - centre[1]) - radius


def _box(x, y, *, half_width, half_height, centre=(0.0, 0.0)):
  qx = np.abs(x - centre[0]) - half_width
  qy = np.abs(y - centre[1]) - half_height
  outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
  return outside + np.minimum(np.maximum(qx, qy), 0)


def _polygon(x, y, vertices: np.ndarray):
  """Exact distance to a simple polygon, signed by the even-odd rule."""
  distance_squared = np.full(x.shape, np.inf, np.float32)
  inside = np.zeros(x.shape, bool)
  for (ax, ay), (bx, by) in zip(vertices, np.roll(vertices, 1, axis=0)):
    ex, ey = bx - ax, by - ay
    wx, wy = x - ax, y - ay
    t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0, 1)
    distance_squared = np.minimum(distance_squared,
                                  (wx - ex * t)**2 + (wy - ey * t)**2)
    if ay != by:  # A horizontal edge never crosses the ray.
      crosses = ((ay > y) != (by > y)) & (x < ax + (y - ay) * ex / ey)
      inside ^= crosses
  return np.where(inside, -1, 1) * np.sqrt(distance_squared)


def _regular_polygon(sides: int, *, inner_radius: Optional[float] = None):
  """Vertices on the unit circle (a star when inner_radius is given)."""
  if inner_radius is None:
    angles = np.pi / 2 + 2 * np.pi * np.arange(sides) / sides
    radii = np.ones(sides)
  else:
    angles = np.pi / 2 + np.pi * np.arange(2 * sides) / sides
    radii = np.where(np.arange(2 * sides) % 2 == 0, 1.0, inner_radius)
  return np.stack([radii * np.cos(angles), radii * np.sin(angles)],
                  axis=1).astype(np.float32)


_SQUARE = _regular_polygon(4)
_TRIANGLE = _regular_polygon(3)
_STAR = _regular_polygon(5, inner_radius=0.45)
_HEXAGON = _regular_polygon(6)
_ARROW = np.array([(-0.95, -0.2), (0.15, -0.2), (0.15, -0.6), (0.95, 0.0),
                   (0.15, 0.6), (0.15, 0.2), (-0.95, 0.2)], np.float32)
_HOURGLASS = np.array([(-0.65, -0.75), (0.65, -0.75), (0.12, 0.0),
                       (0.65, 0.75), (-0.65, 0.75), (-0.12, 0.0)], np.float32)
# Heart: a square standing on a corner with a disc on each upper edge.
_HEART_K = 0.74  # Half the square's diagonal.
_HEART_BOTTOM = -1.1035 * _HEART_K  # Centres the heart vertically.
_HEART_SQUARE = np.array(
    [(0.0, _HEART_BOTTOM), (_HEART_K, _HEART_BOTTOM + _HEART_K),
     (0.0, _HEART_BOTTOM + 2 * _HEART_K),
     (-_HEART_K, _HEART_BOTTOM + _HEART_K)], np.float32)


def _ellipse(x, y, *, semi_axes=(1.0, 0.5)):
  """Quilez's approximate ellipse distance (exact on the boundary)."""
  a, b = semi_axes
  k0 = np.hypot(x / a, y / b)
  k1 = np.maximum(np.hypot(x / a**2, y / b**2), 1e-6)
  return np.where(k0 < 1e-3, -b, k0 * (k0 - 1) / k1)


def _pacman(x, y):
  """A unit disc without the quarter that opens towards +x."""
  wedge = (np.abs(y) - x) / np.sqrt(2)
  return np.maximum(_disc(x, y), -wedge)


def _heart(x, y):
  lobe_radius = _HEART_K / np.sqrt(2)
  lobe_y = _HEART_BOTTOM + 1.5 * _HEART_K
  lobes = np.minimum(
      _disc(x, y, radius=lobe_radius, centre=(_HEART_K / 2, lobe_y)),
      _disc(x, y, radius=lobe_radius, centre=(-_HEART_K / 2, lobe_y)))
  return np.minimum(lobes, _polygon(x, y, _HEART_SQUARE))


SIGNED_DISTANCES: dict[str, SignedDistance] = {
    "circle": _disc,
    "square": lambda x, y: _polygon(x, y, _SQUARE),
    "triangle": lambda x, y: _polygon(x, y, _TRIANGLE),
    "star": lambda x, y: _polygon(x, y, _STAR),
    "cross": lambda x, y: np.minimum(
        _box(x, y, half_width=0.95, half_height=0.3),
        _box(x, y, half_width=0.3, half_height=0.95)),
    "ring": lambda x, y: np.abs(np.hypot(x, y) - 0.72) - 0.28,
    "half_disc": lambda x, y: np.maximum(_disc(x, y), -y),
    "ellipse": _ellipse,
    "pacman": _pacman,
    "tee": lambda x, y: np.minimum(
        _box(x, y, half_width=0.75, half_height=0.2, centre=(0.0, 0.45)),
        _box(x, y, half_width=0.2, half_height=0.55, centre=(0.0, -0.3))),
    "hexagon": lambda x, y: _polygon(x, y, _HEXAGON),
    "heart": _heart,
    "crescent": lambda x, y: np.maximum(
        _disc(x, y), -_disc(x, y, radius=0.8, centre=(0.45, 0.0))),
    "arrow": lambda x, y: _polygon(x, y, _ARROW),
    "hourglass": lambda x, y: _polygon(x, y, _HOURGLASS),
}
