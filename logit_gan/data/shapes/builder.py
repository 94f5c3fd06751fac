"""The offline `shapes` dataset: coloured shapes with known nuisance factors.

The TFDS builders `logit_gan_shapes` (10 classes) and `logit_gan_shapes_mini`
(ImageNet in miniature, `mini.py`) and their configs (see the package
docstring, `logit_gan/data/shapes/__init__.py`): a split's factors come from
one generator, `np.random.default_rng([seed, ood, split_index])` (with a
fourth key, 1, for the miniature), and are rendered in chunks; both are
registered with TFDS when this module is imported.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
from typing import Optional

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

from logit_gan.data.shapes import mini, render
from logit_gan.data.shapes.factors import (BACKGROUND_KINDS, FACTOR_RANGES,
                                           sample_factors)
from logit_gan.data.shapes.geometry import (IN_DISTRIBUTION_CLASSES,
                                            OOD_CLASSES)
from logit_gan.data.shapes.render import (RESOLUTIONS, check_resolution,
                                          render_examples,
                                          render_mini_examples)

NAME = "logit_gan_shapes"
MINI_NAME = "logit_gan_shapes_mini"
TRAIN_SIZE = 50_000
TEST_SIZE = 10_000
OOD_TRAIN_SIZE = 2_000
OOD_TEST_SIZE = 2_000
MINI_TRAIN_SIZE = 100_000
MINI_TEST_SIZE = 10_000
MINI_OOD_TRAIN_SIZE = 5_000
MINI_OOD_TEST_SIZE = 5_000
SPLIT_INDEX = {"train": 0, "test": 1}



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
    self.check_resolution(self.resolution)
    for split, size in (("train", self.train_size), ("test", self.test_size)):
      if size < 0:
        raise ValueError(f"The {split} size must be >= 0, not {size}.")

  check_resolution = staticmethod(check_resolution)

  @property
  def shapes(self) -> tuple[str, ...]:
    return OOD_CLASSES if self.ood else IN_DISTRIBUTION_CLASSES

  @property
  def classes(self) -> tuple[str, ...]:
    return self.shapes

  @property
  def split_sizes(self) -> dict[str, int]:
    sizes = {"train": self.train_size, "test": self.test_size}
    return {split: size for split, size in sizes.items() if size}

  def rng(self, split: str) -> np.random.Generator:
    return np.random.default_rng([self.seed, int(self.ood),
                                  SPLIT_INDEX[split]])

  def sample_factors(self, rng: np.random.Generator,
                     num_examples: int) -> dict[str, np.ndarray]:
    return sample_factors(rng, num_examples, num_classes=len(self.classes))

  def render(self, factors: dict[str, np.ndarray]) -> np.ndarray:
    return render_examples(self.resolution, factors, classes=self.classes)


@dataclasses.dataclass(eq=False)
class MiniConfig(ShapesConfig):
  """A `shapes_mini` config (`mini.py`): 100 classes, or 50 OOD ones."""
  resolution: int = 16
  train_size: int = MINI_TRAIN_SIZE

  check_resolution = staticmethod(mini.check_resolution)

  @property
  def classes(self) -> tuple[str, ...]:
    return mini.class_names(self.shapes)

  def rng(self, split: str) -> np.random.Generator:
    return np.random.default_rng([self.seed, int(self.ood),
                                  SPLIT_INDEX[split], 1])

  def sample_factors(self, rng: np.random.Generator,
                     num_examples: int) -> dict[str, np.ndarray]:
    return mini.sample_factors(rng, num_examples, num_shapes=len(self.shapes))

  def render(self, factors: dict[str, np.ndarray]) -> np.ndarray:
    return render_mini_examples(self.resolution, factors, shapes=self.shapes)


def _make(config_class, resolution: int, ood: bool,
          sizes: tuple[int, int], seed: int, name: Optional[str]):
  shapes = OOD_CLASSES if ood else IN_DISTRIBUTION_CLASSES
  description = (f"{resolution}x{resolution} RGB, "
                 f"{'out-of-distribution' if ood else 'in-distribution'} "
                 f"{'classes' if config_class is ShapesConfig else 'shapes'} "
                 f"{', '.join(shapes)}.")
  return config_class(name=name or f"{'ood_' if ood else ''}{resolution}",
                      description=description, resolution=resolution, ood=ood,
                      train_size=sizes[0], test_size=sizes[1], seed=seed)


def make_config(resolution: int, *, ood: bool = False,
                train_size: Optional[int] = None,
                test_size: Optional[int] = None, seed: int = 0,
                name: Optional[str] = None) -> ShapesConfig:
  """A config with the standard sizes unless given; named like the built-in
  ones ('32', 'ood_64') unless `name` is given."""
  default_train, default_test = ((OOD_TRAIN_SIZE, OOD_TEST_SIZE) if ood
                                 else (TRAIN_SIZE, TEST_SIZE))
  return _make(ShapesConfig, resolution, ood, (
      default_train if train_size is None else train_size,
      default_test if test_size is None else test_size), seed, name)


def make_mini_config(resolution: int, *, ood: bool = False,
                     train_size: Optional[int] = None,
                     test_size: Optional[int] = None, seed: int = 0,
                     name: Optional[str] = None) -> MiniConfig:
  """A `shapes_mini` config, as `make_config` ('16', 'ood_32', ...)."""
  default_train, default_test = ((MINI_OOD_TRAIN_SIZE, MINI_OOD_TEST_SIZE)
                                 if ood else (MINI_TRAIN_SIZE, MINI_TEST_SIZE))
  return _make(MiniConfig, resolution, ood, (
      default_train if train_size is None else train_size,
      default_test if test_size is None else test_size), seed, name)


def split_factors(config: ShapesConfig, split: str) -> dict[str, np.ndarray]:
  """The factors of every example of a split, in key order."""
  if split not in SPLIT_INDEX:
    raise ValueError(f"Splits are {sorted(SPLIT_INDEX)}, not {split!r}.")
  return config.sample_factors(config.rng(split),
                               config.split_sizes.get(split, 0))


def _range_doc(bounds) -> str:
  return f"[{bounds[0]:.4g}, {bounds[1]:.4g}]"


def _scalars(docs: dict[str, str], ranges) -> dict:
  return {name: tfds.features.Scalar(np.float32,
                                     doc=tfds.features.Documentation(
                                         desc=desc,
                                         value_range=_range_doc(ranges[name])))
          for name, desc in docs.items()}


_SCALAR_DOCS = {
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
_MINI_SCALAR_DOCS = {
    "foreground_hue": "turns; the hue family's centre +- 0.1",
    "foreground_saturation": "HSV saturation of foreground_colour",
    "foreground_value": "HSV value of foreground_colour",
    "texture_frequency": "stripes' cycles per unit of shape radius "
                         "(striped only)",
    "texture_phase": "stripes' phase in cycles (striped only)",
}


def _features(config: ShapesConfig) -> tfds.features.FeaturesDict:
  resolution = config.resolution
  is_mini = isinstance(config, MiniConfig)
  ranges = mini.FACTOR_RANGES if is_mini else FACTOR_RANGES
  features = {
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
      **_scalars(_SCALAR_DOCS, ranges),
  }
  if is_mini:
    features.update(
        shape=tfds.features.ClassLabel(names=config.shapes),
        hue_family=tfds.features.ClassLabel(names=mini.HUE_FAMILIES),
        texture=tfds.features.ClassLabel(names=mini.TEXTURES),
        typical_context=tfds.features.ClassLabel(names=("atypical",
                                                        "typical")),
        **_scalars(_MINI_SCALAR_DOCS, ranges))
  return tfds.features.FeaturesDict(features)


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
  RESOLUTIONS = RESOLUTIONS
  DESCRIPTION = __doc__.split("\n\n")[0]

  def __init__(self, *, config: str | ShapesConfig | None = None, **kwargs):
    names = [built_in.name for built_in in self.BUILDER_CONFIGS]
    if isinstance(config, str) and config.split(":")[0] not in names:
      raise ValueError(f"{self.name} has configs {names} (resolutions "
                       f"{self.RESOLUTIONS}), not {config!r}; pass a "
                       f"{type(self.BUILDER_CONFIGS[0]).__name__} for other "
                       "sizes or seeds.")
    super().__init__(config=config, **kwargs)

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    """This file. TFDS 4.9.10's own lookup imports `importlib_resources`,
    which it does not install on Python >= 3.9 (tensorflow/datasets#11212)."""
    return epath.Path(__file__)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=self.DESCRIPTION + " " + (
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
    chunk = render.chunk_size(config.resolution)
    for start in range(0, len(factors["label"]), chunk):
      part = {name: values[start:start + chunk]
              for name, values in factors.items()}
      images = config.render(part)
      for offset, image in enumerate(images):
        example = {name: values[offset] for name, values in part.items()}
        yield start + offset, {"image": image, **example}


class LogitGanShapesMini(LogitGanShapes):
  """ImageNet in miniature: 100 fine-grained classes with class-correlated
  backgrounds and every factor stored; see `mini.py`'s docstring."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {
      "1.0.0": "First release: 100 classes (10 shapes x 5 hue families x "
               "flat/striped) and 50 out-of-distribution ones at 16 and 32 "
               "pixels, 0.7-probable class-preferred backgrounds.",
  }
  BUILDER_CONFIGS = [make_mini_config(resolution, ood=ood)
                     for ood in (False, True)
                     for resolution in mini.RESOLUTIONS]
  DEFAULT_BUILDER_CONFIG_NAME = "16"
  RESOLUTIONS = mini.RESOLUTIONS
  DESCRIPTION = mini.__doc__.split("\n\n")[0]
