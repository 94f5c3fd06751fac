"""The offline shapes dataset: determinism, factors and their ranges, class
balance, rendering that follows the factors, contrast, and a tiny TFDS build."""

import math

import numpy as np
import pytest
import tensorflow_datasets as tfds

import logit_gan.data  # noqa: F401  (registers the builder)
from logit_gan.data import shapes
from logit_gan.data.shapes import render as render_module

SCALAR_FACTORS = ("background_orientation", "stripe_frequency", "scale",
                  "centre_x", "centre_y", "rotation", "brightness")
FOREGROUND = (0.9, 0.2, 0.1)
BACKGROUND = (0.1, 0.2, 0.6)


def tiny_config(*, resolution=32, ood=False, seed=0):
  kind = "ood_" if ood else ""
  return shapes.make_config(resolution, ood=ood, seed=seed, train_size=20,
                            test_size=10,
                            name=f"tiny_{kind}{resolution}_seed{seed}")


def build_and_load(config, data_dir, split="train"):
  """Every example of a split, in file order, as numpy."""
  dataset = tfds.load(shapes.NAME, split=split, data_dir=str(data_dir),
                      builder_kwargs={"config": config}, shuffle_files=False)
  return list(tfds.as_numpy(dataset))


def scene(**changes):
  """One flat-background scene: a centred label-0 shape, changed by
  `changes`."""
  factors = {
      "label": 0, "foreground_colour": FOREGROUND, "background_kind": 0,
      "background_colours": (BACKGROUND, BACKGROUND),
      "background_orientation": 0.0, "stripe_frequency": 3.0, "scale": 0.3,
      "centre_x": 0.5, "centre_y": 0.5, "rotation": 0.0, "brightness": 1.0,
  }
  factors.update(changes)
  return {name: np.asarray([value]) for name, value in factors.items()}


def render(resolution=32, **changes):
  return shapes.render_examples(resolution, scene(**changes))[0]


def foreground_mask(image, colour=FOREGROUND):
  distance = np.abs(image / 255.0 - np.asarray(colour)).max(axis=-1)
  return distance < 0.02


@pytest.fixture(scope="module")
def tiny_train(tmp_path_factory):
  config = tiny_config()
  return config, build_and_load(config, tmp_path_factory.mktemp("tiny"))


def test_registered_with_the_four_configs():
  builder_class = tfds.builder_cls(shapes.NAME)
  configs = {config.name: config for config in builder_class.BUILDER_CONFIGS}
  assert sorted(configs) == ["32", "64", "ood_32", "ood_64"]
  assert configs["64"].resolution == 64 and not configs["64"].ood
  assert configs["ood_32"].ood and configs["ood_32"].resolution == 32
  assert configs["32"].split_sizes == {"train": 50_000, "test": 10_000}
  assert str(builder_class.VERSION) == "1.0.0"
  assert "1.0.0" in builder_class.RELEASE_NOTES


def test_load_gives_images_labels_and_every_factor(tiny_train):
  config, examples = tiny_train
  assert len(examples) == 20
  example = examples[0]
  assert set(example) == {"image", *shapes.FACTOR_NAMES}
  assert example["image"].shape == (32, 32, 3)
  assert example["image"].dtype == np.uint8
  assert example["foreground_colour"].shape == (3,)
  assert example["background_colours"].shape == (2, 3)
  for name in SCALAR_FACTORS:
    assert example[name].dtype == np.float32 and example[name].shape == ()
  labels = [int(example["label"]) for example in examples]
  assert np.bincount(labels).tolist() == [2] * len(config.classes)


def test_loaded_images_are_the_rendered_factors(tiny_train):
  _, examples = tiny_train
  factors = {name: np.stack([example[name] for example in examples])
             for name in shapes.FACTOR_NAMES}
  images = np.stack([example["image"] for example in examples])
  np.testing.assert_array_equal(shapes.render_examples(32, factors), images)


def test_same_seed_same_bytes_other_seed_differs(tiny_train, tmp_path):
  _, first = tiny_train
  again = build_and_load(tiny_config(), tmp_path / "again")
  other = build_and_load(tiny_config(seed=1), tmp_path / "other")
  for example, repeated in zip(first, again):
    assert example["image"].tobytes() == repeated["image"].tobytes()
    assert example["rotation"] == repeated["rotation"]
  assert not np.array_equal(np.stack([e["image"] for e in first]),
                            np.stack([e["image"] for e in other]))


def test_rendering_does_not_depend_on_chunking(monkeypatch):
  factors = shapes.sample_factors(np.random.default_rng(3), 30, num_classes=10)
  whole = shapes.render_examples(32, factors)
  monkeypatch.setattr(render_module, "_PIXELS_PER_CHUNK", 7 * 32 * 32)
  np.testing.assert_array_equal(shapes.render_examples(32, factors), whole)
  part = {name: values[11:17] for name, values in factors.items()}
  np.testing.assert_array_equal(shapes.render_examples(32, part),
                                whole[11:17])


def test_sampling_is_seeded():
  def sample(seed):
    return shapes.sample_factors(np.random.default_rng(seed), 50,
                                 num_classes=10)
  first, again, other = sample(0), sample(0), sample(1)
  for name in shapes.FACTOR_NAMES:
    np.testing.assert_array_equal(first[name], again[name])
  assert not np.array_equal(first["rotation"], other["rotation"])


def test_factors_within_documented_ranges(tiny_train):
  factors = shapes.split_factors(shapes.make_config(32, train_size=3000),
                                 "train")
  _, examples = tiny_train
  loaded = {name: np.stack([example[name] for example in examples])
            for name in shapes.FACTOR_NAMES}
  for values in (factors, loaded):
    for name in ("scale", "rotation", "brightness", "background_orientation",
                 "stripe_frequency"):
      low, high = shapes.FACTOR_RANGES[name]
      assert low <= values[name].min() and values[name].max() <= high, name
    margin = shapes.POSITION_MARGIN
    for name in ("centre_x", "centre_y"):
      assert np.all(values[name] >= values["scale"] + margin - 1e-6), name
      assert np.all(values[name] <= 1 - values["scale"] - margin + 1e-6), name
    for name in ("foreground_colour", "background_colours"):
      assert 0 <= values[name].min() and values[name].max() <= 1, name
    assert set(np.unique(values["background_kind"])) <= {0, 1, 2}
    flat = values["background_kind"] == shapes.BACKGROUND_KINDS.index("flat")
    np.testing.assert_array_equal(values["background_colours"][flat, 0],
                                  values["background_colours"][flat, 1])
  # Over 3,000 draws every kind appears and the ranges are covered.
  assert np.bincount(factors["background_kind"]).min() > 800
  assert factors["rotation"].max() - factors["rotation"].min() > 6.0
  assert factors["scale"].min() < 0.21 and factors["scale"].max() > 0.34


@pytest.mark.parametrize("ood,split,per_class", [
    (False, "train", 5000), (False, "test", 1000), (True, "test", 400)])
def test_classes_are_exactly_balanced(ood, split, per_class):
  factors = shapes.split_factors(shapes.make_config(32, ood=ood), split)
  classes = shapes.OOD_CLASSES if ood else shapes.IN_DISTRIBUTION_CLASSES
  assert np.bincount(factors["label"]).tolist() == [per_class] * len(classes)
  assert not np.array_equal(factors["label"][:20],
                            np.arange(20) % len(classes))  # Shuffled.


def test_rotation_rotates_the_shape():
  square = shapes.IN_DISTRIBUTION_CLASSES.index("square")
  upright = render(label=square).astype(int)
  tilted = render(label=square, rotation=math.pi / 4).astype(int)
  quarter_turn = render(label=square, rotation=math.pi / 2).astype(int)
  assert np.abs(upright - tilted).max() > 100
  assert np.abs(upright - quarter_turn).max() <= 1  # A square's symmetry.
  # Counter-clockwise on screen: a half disc (flat side down at rotation 0)
  # turned a quarter has its mass on the left.
  half_disc = shapes.IN_DISTRIBUTION_CLASSES.index("half_disc")
  mask = foreground_mask(render(label=half_disc, rotation=math.pi / 2))
  columns = np.nonzero(mask)[1]
  assert columns.mean() < 15.5


def test_brightness_scales_intensity_in_its_direction():
  means = [render(brightness=b).mean() for b in (0.6, 0.8, 1.0, 1.2, 1.4)]
  assert np.all(np.diff(means) > 0)
  dim, normal = render(brightness=0.6), render(brightness=1.0)
  np.testing.assert_allclose(dim, 0.6 * normal.astype(float), atol=1.0)


def test_position_and_scale_place_the_shape():
  image = render(centre_x=0.3, centre_y=0.65, scale=0.25, resolution=64)
  rows, columns = np.nonzero(foreground_mask(image))
  assert abs(columns.mean() + 0.5 - 0.3 * 64) < 0.5
  assert abs(rows.mean() + 0.5 - 0.65 * 64) < 0.5  # y grows downwards.
  red = image[..., 0].astype(float)
  background, foreground = red[0, 0], red[int(0.65 * 64), int(0.3 * 64)]
  coverage = (red - background) / (foreground - background)
  area = math.pi * (0.25 * 64)**2  # The disc's outer radius is the scale.
  assert abs(coverage.sum() - area) < 0.01 * area


def test_every_class_renders_differently():
  classes = shapes.IN_DISTRIBUTION_CLASSES + shapes.OOD_CLASSES
  factors = {name: np.repeat(values, len(classes), axis=0)
             for name, values in scene().items()}
  factors["label"] = np.arange(len(classes))
  images = shapes.render_examples(32, factors, classes=classes).astype(int)
  for first in range(len(classes)):
    for second in range(first + 1, len(classes)):
      differing = np.abs(images[first] - images[second]).max(axis=-1) > 50
      assert differing.sum() >= 10, (classes[first], classes[second])


def test_shapes_fill_and_fit_the_unit_disc():
  coordinates = np.linspace(-1.5, 1.5, 301, dtype=np.float32)
  x, y = np.meshgrid(coordinates, coordinates)
  radius = np.hypot(x, y)
  for name, signed_distance in shapes.SIGNED_DISTANCES.items():
    distance = signed_distance(x, y)
    assert np.all(distance[radius > 1.005] > 0), name  # Never clipped.
    assert radius[distance < 0].max() > 0.85, name  # Scale = outer radius.
    assert (distance < 0).mean() > 0.03, name


def test_edges_are_anti_aliased():
  image = render(resolution=32, scale=0.27, centre_x=0.51)
  red = image[..., 0].astype(int)
  foreground, background = round(FOREGROUND[0] * 255), round(
      BACKGROUND[0] * 255)
  between = (red > background + 10) & (red < foreground - 10)
  assert between.sum() >= 20


def test_foreground_contrasts_with_background():
  factors = shapes.sample_factors(np.random.default_rng(0), 3000,
                                  num_classes=10)
  assert shapes.contrast(factors).min() >= shapes.MIN_CONTRAST
  # In pixels: a centred disc's centre against the corners of its background.
  factors.update(label=np.zeros(3000, int), scale=np.full(3000, 0.3),
                 centre_x=np.full(3000, 0.5), centre_y=np.full(3000, 0.5))
  images = shapes.render_examples(32, factors).astype(float) / 255
  centre = images[:, 16, 16]
  for corner in (images[:, 0, 0], images[:, 0, -1], images[:, -1, 0],
                 images[:, -1, -1]):
    gap = np.linalg.norm(centre - corner, axis=-1)
    assert gap.min() >= shapes.MIN_CONTRAST - 0.01


def test_contrast_measures_what_brightness_leaves():
  factors = scene(foreground_colour=(0.9, 0.9, 0.9),
                  background_colours=((0.1, 0.1, 0.1), (0.9, 0.9, 0.9)))
  assert shapes.contrast(factors)[0] == pytest.approx(0.0, abs=1e-6)
  factors = scene(foreground_colour=(0.8, 0.8, 0.8), brightness=1.4,
                  background_colours=((1.0, 1.0, 1.0),) * 2)
  assert shapes.contrast(factors)[0] == pytest.approx(0.0, abs=1e-6)
  factors = scene(foreground_colour=(1.0, 1.0, 1.0),
                  background_colours=((0.0, 0.0, 0.0),) * 2)
  assert shapes.contrast(factors)[0] == pytest.approx(math.sqrt(3))


def test_ood_labels_are_disjoint_from_in_distribution(tmp_path):
  def label_names(config_name):
    return tfds.builder(f"{shapes.NAME}/{config_name}",
                        data_dir=str(tmp_path)).info.features["label"].names
  in_distribution, ood = label_names("32"), label_names("ood_64")
  assert len(in_distribution) == 10 and len(ood) >= 4
  assert not set(in_distribution) & set(ood)
  examples = build_and_load(tiny_config(ood=True), tmp_path, split="test")
  assert {int(e["label"]) for e in examples} == set(range(len(ood)))
  assert examples[0]["image"].shape == (32, 32, 3)


def test_bad_resolution_names_the_allowed_ones(tmp_path):
  with pytest.raises(ValueError, match=r"resolutions \(32, 64\), not 48"):
    shapes.make_config(48)
  with pytest.raises(ValueError, match=r"resolutions \(32, 64\), not 48"):
    shapes.render_examples(48, scene())
  with pytest.raises(ValueError, match=r"'32', '64', 'ood_32', 'ood_64'"):
    tfds.builder(f"{shapes.NAME}/48", data_dir=str(tmp_path))


def test_bad_factors_are_named():
  factors = scene()
  del factors["rotation"]
  with pytest.raises(ValueError, match="rotation"):
    shapes.render_examples(32, factors)
  with pytest.raises(ValueError, match=r"Labels must be in \[0, 5\)"):
    shapes.render_examples(32, scene(label=7), classes=shapes.OOD_CLASSES)
