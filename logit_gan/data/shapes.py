"""The offline `shapes` dataset: coloured shapes with known nuisance factors.

A TFDS dataset, `logit_gan_shapes`, generated locally and deterministically
from a seed (nothing is downloaded), registered when `logit_gan.data` is
imported. It stands in for ImageNet on machines without it, and, because every
nuisance factor of every image is stored beside it, lets the analyses ask what
a classifier's logits keep: render the same scene with one factor changed
(`render_examples`) and compare the reconstructions.

Configs (`tfds.load('logit_gan_shapes/32', data_dir=...)`; the pipeline serves
other resolutions by area-resizing the next larger config):

  name     resolution  classes                   splits
  32, 64   32, 64      10 in-distribution        train 50,000, test 10,000
  ood_32,  32, 64      5 never seen in training  train 2,000, test 2,000
  ood_64

In-distribution classes, chosen to stay distinct under any rotation and scale
(no square / diamond or cross / X pairs): circle, square, triangle, star
(5 points), cross, ring, half_disc, ellipse (axes 2:1), pacman (a disc missing
a quarter), tee. Out-of-distribution classes: hexagon, heart, crescent, arrow,
hourglass.

Factors, one feature each, sampled independently and uniformly (colours
resampled until the contrast condition holds):

  feature                 range
  label                   ClassLabel; exactly N / num_classes per class when
                          the split size N is a multiple of num_classes
  foreground_colour       RGB float32 in [0, 1]^3
  background_kind         ClassLabel: flat, gradient, stripes
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

Rendering is vectorized numpy: each shape is a signed distance function in a
local frame where the shape fits in the unit disc; pixel coverage is
clip(0.5 - distance in pixels, 0, 1), an analytic anti-aliased edge. The
background mixes its two colours by t (0 for flat, a linear ramp for gradient,
0.5 + 0.5 sin for stripes); the shape is composited over it.

Determinism: a split's factors come from one generator,
`np.random.default_rng([seed, ood, split_index])`, and each image depends only
on its own factors, so the same seed gives the same bytes however the work is
chunked. The 32 and 64 configs share their seed: they hold the same scenes at
two resolutions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
import dataclasses
import math
from typing import Optional

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

NAME = "logit_gan_shapes"
RESOLUTIONS = (32, 64)
IN_DISTRIBUTION_CLASSES = ("circle", "square", "triangle", "star", "cross",
                           "ring", "half_disc", "ellipse", "pacman", "tee")
OOD_CLASSES = ("hexagon", "heart", "crescent", "arrow", "hourglass")
BACKGROUND_KINDS = ("flat", "gradient", "stripes")

TRAIN_SIZE = 50_000
TEST_SIZE = 10_000
OOD_TRAIN_SIZE = 2_000
OOD_TEST_SIZE = 2_000
SPLIT_INDEX = {"train": 0, "test": 1}

SCALE_RANGE = (0.2, 0.35)
POSITION_MARGIN = 0.02
ROTATION_RANGE = (0.0, 2 * math.pi)
BRIGHTNESS_RANGE = (0.6, 1.4)
ORIENTATION_RANGE = (0.0, 2 * math.pi)
STRIPE_FREQUENCY_RANGE = (2.0, 5.0)
MIN_CONTRAST = 0.35

# Ranges of the scalar factors; the centre's range also depends on the scale.
FACTOR_RANGES = {
    "scale": SCALE_RANGE,
    "centre_x": (SCALE_RANGE[0] + POSITION_MARGIN,
                 1 - SCALE_RANGE[0] - POSITION_MARGIN),
    "centre_y": (SCALE_RANGE[0] + POSITION_MARGIN,
                 1 - SCALE_RANGE[0] - POSITION_MARGIN),
    "rotation": ROTATION_RANGE,
    "brightness": BRIGHTNESS_RANGE,
    "background_orientation": ORIENTATION_RANGE,
    "stripe_frequency": STRIPE_FREQUENCY_RANGE,
}
FACTOR_NAMES = ("label", "foreground_colour", "background_kind",
                "background_colours", "background_orientation",
                "stripe_frequency", "scale", "centre_x", "centre_y",
                "rotation", "brightness")

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


# Signed distances, in the shape's local frame (y up, the shape inside the
# unit disc): negative inside, positive outside.

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


# Factors.


def _uniform(rng: np.random.Generator, bounds, size) -> np.ndarray:
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
        "foreground_colour": _uniform(rng, (0, 1), (len(pending), 3)),
        "background_colours": _uniform(rng, (0, 1), (len(pending), 2, 3)),
        "brightness": _uniform(rng, BRIGHTNESS_RANGE, len(pending)),
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
  scale = _uniform(rng, SCALE_RANGE, num_examples)
  low, high = scale + POSITION_MARGIN, 1 - scale - POSITION_MARGIN
  factors = {
      "label": labels.astype(np.int64),
      "background_kind": kinds.astype(np.int64),
      "background_orientation": _uniform(rng, ORIENTATION_RANGE, num_examples),
      "stripe_frequency": _uniform(rng, STRIPE_FREQUENCY_RANGE, num_examples),
      "scale": scale,
      "centre_x": (low + (high - low) * rng.uniform(size=num_examples)
                   ).astype(np.float32),
      "centre_y": (low + (high - low) * rng.uniform(size=num_examples)
                   ).astype(np.float32),
      "rotation": _uniform(rng, ROTATION_RANGE, num_examples),
  }
  factors.update(_sample_colours(rng, kinds))
  return factors


# Rendering.


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
  chunk = max(1, _PIXELS_PER_CHUNK // resolution**2)
  images = np.empty((num_examples, resolution, resolution, 3), np.uint8)
  for start in range(0, num_examples, chunk):
    part = {name: values[start:start + chunk]
            for name, values in factors.items()}
    images[start:start + chunk] = _render_chunk(part, resolution, classes)
  return images


# The TFDS builder.


@dataclasses.dataclass(eq=False)
class ShapesConfig(tfds.core.BuilderConfig):
  """A resolution, a class set (in-distribution or OOD), split sizes, a seed.

  Tests and smoke runs give small sizes and their own `name` (TFDS refuses a
  custom config named like a built-in one).
  """
  resolution: int = 32
  ood: bool = False
  train_size: int = TRAIN_SIZE
  test_size: int = TEST_SIZE
  seed: int = 0

  def __post_init__(self):
    check_resolution(self.resolution)
    for split, size in (("train", self.train_size), ("test", self.test_size)):
      if size < 0:
        raise ValueError(f"The {split} size must be >= 0, not {size}.")

  @property
  def classes(self) -> tuple[str, ...]:
    return OOD_CLASSES if self.ood else IN_DISTRIBUTION_CLASSES

  @property
  def split_sizes(self) -> dict[str, int]:
    sizes = {"train": self.train_size, "test": self.test_size}
    return {split: size for split, size in sizes.items() if size}


def make_config(resolution: int, *, ood: bool = False,
                train_size: Optional[int] = None,
                test_size: Optional[int] = None, seed: int = 0,
                name: Optional[str] = None) -> ShapesConfig:
  """A config with the standard sizes unless given; named like the built-in
  ones ('32', 'ood_64') unless `name` is given."""
  default_train, default_test = ((OOD_TRAIN_SIZE, OOD_TEST_SIZE) if ood
                                 else (TRAIN_SIZE, TEST_SIZE))
  classes = OOD_CLASSES if ood else IN_DISTRIBUTION_CLASSES
  return ShapesConfig(
      name=name or f"{'ood_' if ood else ''}{resolution}",
      description=(f"{resolution}x{resolution} RGB, "
                   f"{'out-of-distribution' if ood else 'in-distribution'} "
                   f"classes {', '.join(classes)}."),
      resolution=resolution, ood=ood,
      train_size=default_train if train_size is None else train_size,
      test_size=default_test if test_size is None else test_size, seed=seed)


def split_factors(config: ShapesConfig, split: str) -> dict[str, np.ndarray]:
  """The factors of every example of a split, in key order."""
  if split not in SPLIT_INDEX:
    raise ValueError(f"Splits are {sorted(SPLIT_INDEX)}, not {split!r}.")
  rng = np.random.default_rng([config.seed, int(config.ood),
                               SPLIT_INDEX[split]])
  return sample_factors(rng, config.split_sizes.get(split, 0),
                        num_classes=len(config.classes))


def _range_doc(bounds) -> str:
  return f"[{bounds[0]:.4g}, {bounds[1]:.4g}]"


def _features(config: ShapesConfig) -> tfds.features.FeaturesDict:
  resolution = config.resolution
  scalar_docs = {
      "background_orientation": "radians; gradient direction or across the "
                                "stripes",
      "stripe_frequency": "cycles per image side (stripes only)",
      "scale": "outer radius of the shape, a fraction of the image side",
      "centre_x": "shape centre, fraction of the width from the left; in "
                  "[scale + 0.02, 1 - scale - 0.02]",
      "centre_y": "shape centre, fraction of the height from the top; in "
                  "[scale + 0.02, 1 - scale - 0.02]",
      "rotation": "radians, counter-clockwise on screen",
      "brightness": "multiplicative, applied last, then clipped to [0, 1]",
  }
  scalars = {
      name: tfds.features.Scalar(np.float32, doc=tfds.features.Documentation(
          desc=desc, value_range=_range_doc(FACTOR_RANGES[name])))
      for name, desc in scalar_docs.items()}
  return tfds.features.FeaturesDict({
      "image": tfds.features.Image(shape=(resolution, resolution, 3)),
      "label": tfds.features.ClassLabel(names=config.classes),
      "foreground_colour": tfds.features.Tensor(
          shape=(3,), dtype=np.float32,
          doc=tfds.features.Documentation(desc="RGB", value_range="[0, 1]")),
      "background_kind": tfds.features.ClassLabel(names=BACKGROUND_KINDS),
      "background_colours": tfds.features.Tensor(
          shape=(2, 3), dtype=np.float32, doc=tfds.features.Documentation(
              desc="RGB at mixing 0 and 1 (flat: equal)",
              value_range="[0, 1]")),
      **scalars,
  })


class LogitGanShapes(tfds.core.GeneratorBasedBuilder):
  """Coloured shapes with stored nuisance factors; see the module docstring."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {
      "1.0.0": "First release: 10 in-distribution and 5 out-of-distribution "
               "shapes at 32 and 64 pixels, with 10 stored nuisance factors.",
  }
  BUILDER_CONFIGS = [make_config(resolution, ood=ood)
                     for ood in (False, True) for resolution in RESOLUTIONS]
  DEFAULT_BUILDER_CONFIG_NAME = "32"

  def __init__(self, *, config: str | ShapesConfig | None = None, **kwargs):
    names = [built_in.name for built_in in self.BUILDER_CONFIGS]
    if isinstance(config, str) and config.split(":")[0] not in names:
      raise ValueError(f"{NAME} has configs {names} (resolutions "
                       f"{RESOLUTIONS}), not {config!r}; pass a ShapesConfig "
                       "for other sizes or seeds.")
    super().__init__(config=config, **kwargs)

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    """This file. TFDS 4.9.10's own lookup imports `importlib_resources`,
    which it does not install on Python >= 3.9 (tensorflow/datasets#11212)."""
    return epath.Path(__file__)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=__doc__.split("\n\n")[0] + " " + (
            self.builder_config.description or ""),
        features=_features(self.builder_config),
        supervised_keys=("image", "label"))

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {split: self._generate_examples(split)
            for split in self.builder_config.split_sizes}

  def _generate_examples(self, split: str) -> Iterator[tuple[int, dict]]:
    config = self.builder_config
    factors = split_factors(config, split)
    chunk = max(1, _PIXELS_PER_CHUNK // config.resolution**2)
    for start in range(0, len(factors["label"]), chunk):
      part = {name: values[start:start + chunk]
              for name, values in factors.items()}
      images = render_examples(config.resolution, part,
                               classes=config.classes)
      for offset, image in enumerate(images):
        example = {name: values[offset] for name, values in part.items()}
        yield start + offset, {"image": image, **example}
