"""ImageNet in miniature (`logit_gan_shapes_mini`): classes as attribute
triples, within-class variation, class-correlated context, stored factors,
unseen OOD shapes, determinism, and a tiny TFDS build."""

import colorsys

import numpy as np
import pytest
import tensorflow_datasets as tfds

import logit_gan.data  # noqa: F401  (registers the builders)
from logit_gan.data import shapes
from logit_gan.data.shapes import mini

NUM_SHAPES = len(shapes.IN_DISTRIBUTION_CLASSES)


def sample(num_examples=3000, seed=0, num_shapes=NUM_SHAPES):
  return mini.sample_factors(np.random.default_rng(seed), num_examples,
                             num_shapes=num_shapes)


def hue_distance(first, second):
  """Circular distance in turns."""
  difference = np.abs(np.asarray(first) - np.asarray(second)) % 1
  return np.minimum(difference, 1 - difference)


def rgb_hue(colours):
  return np.array([colorsys.rgb_to_hsv(*colour)[0] for colour in colours])


@pytest.fixture(scope="module")
def factors():
  return sample()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  config = shapes.make_mini_config(16, train_size=200, test_size=0,
                                   name="tiny_mini16")
  dataset = tfds.load(shapes.MINI_NAME, split="train", shuffle_files=False,
                      data_dir=str(tmp_path_factory.mktemp("mini")),
                      builder_kwargs={"config": config})
  return config, list(tfds.as_numpy(dataset))


def test_registered_with_its_configs_beside_the_ten_class_ones():
  builder_class = tfds.builder_cls(shapes.MINI_NAME)
  configs = {config.name: config for config in builder_class.BUILDER_CONFIGS}
  assert sorted(configs) == ["16", "32", "ood_16", "ood_32"]
  assert configs["16"].split_sizes == {"train": 100_000, "test": 10_000}
  assert len(configs["16"].classes) == 100
  assert len(configs["ood_32"].classes) == 50
  assert builder_class.code_path.name == "builder.py"
  assert len(tfds.builder_cls(shapes.NAME).BUILDER_CONFIGS) == 4


def test_class_names_describe_their_attributes():
  names = mini.class_names(shapes.IN_DISTRIBUTION_CLASSES)
  assert len(set(names)) == 100
  assert names[:3] == ("red_flat_circle", "red_striped_circle",
                       "yellow_flat_circle")
  attributes = mini.class_attributes(np.arange(100))
  for label, name in enumerate(names):
    hue, texture, shape = name.split("_", 2)
    assert mini.HUE_FAMILIES[attributes["hue_family"][label]] == hue
    assert mini.TEXTURES[attributes["texture"][label]] == texture
    assert shapes.IN_DISTRIBUTION_CLASSES[attributes["shape"][label]] == shape
  # Each class has neighbours differing in exactly one attribute.
  star = names.index("red_striped_star")
  assert {names[star ^ 1], names[star + 2]} == {"red_flat_star",
                                               "yellow_striped_star"}


def test_images_have_their_class_attributes(factors):
  stored = mini.class_attributes(factors["label"])
  for name in ("shape", "hue_family", "texture"):
    np.testing.assert_array_equal(factors[name], stored[name])
  centres = mini.hue_family_centre(factors["hue_family"])
  assert hue_distance(factors["foreground_hue"], centres).max() <= (
      mini.HUE_SPREAD + 1e-6)
  saturated = factors["foreground_saturation"] > 0.05
  np.testing.assert_allclose(
      hue_distance(rgb_hue(factors["foreground_colour"][saturated]),
                   factors["foreground_hue"][saturated]), 0, atol=1e-4)
  # Within a class the hue still varies across most of its family.
  in_class = factors["label"] == 0
  spread = hue_distance(factors["foreground_hue"][in_class], 0)
  assert spread.max() > 0.8 * mini.HUE_SPREAD


def test_rendering_shows_shape_and_texture(factors):
  """A large centred shape at brightness 1: flat fills are one colour (the
  foreground's), striped ones span the foreground and its darkened twin."""
  chosen = np.arange(40)
  scene = {name: values[chosen].copy() for name, values in factors.items()}
  scene.update(shape=np.zeros(40, np.int64), scale=np.full(40, 0.4),
               centre_x=np.full(40, 0.5), centre_y=np.full(40, 0.5),
               brightness=np.ones(40))
  images = shapes.render_mini_examples(32, scene).astype(float) / 255
  disc = images[:, 11:21, 11:21].reshape(40, -1, 3)  # Inside the circle.
  flat = scene["texture"] == mini.TEXTURES.index("flat")
  assert flat.any() and (~flat).any()
  np.testing.assert_allclose(disc[flat], np.broadcast_to(
      scene["foreground_colour"][flat, None], disc[flat].shape), atol=0.003)
  brightness = disc[~flat].max(axis=-1)
  assert np.all(brightness.max(axis=1) - brightness.min(axis=1) > 0.2)


def test_context_is_correlated_with_the_class_not_fixed_by_it(factors):
  assert abs(factors["typical_context"].mean() - 0.7) < 0.03
  preferred_hue, preferred_kind = mini.preferred_contexts(NUM_SHAPES)
  labels = factors["label"]
  # Measured from the stored colours and kinds, not the flag.
  background_hue = rgb_hue(factors["background_colours"][:, 0])
  near = hue_distance(background_hue, preferred_hue[labels]) <= (
      mini.CONTEXT_HUE_SPREAD + 1e-4)
  matches = near & (factors["background_kind"] == preferred_kind[labels])
  assert 0.68 < matches.mean() < 0.76
  assert matches[factors["typical_context"] == 1].all()
  # Preferred hues keep away from the class's own hue family.
  centres = mini.hue_family_centre(mini.class_attributes(
      np.arange(100))["hue_family"])
  assert hue_distance(preferred_hue, centres).min() >= 0.25 - 1e-6
  assert preferred_hue.std() > 0.2  # Spread around the wheel.


def test_factors_stored_and_in_range(factors, tiny):
  _, examples = tiny
  loaded = {name: np.stack([example[name] for example in examples])
            for name in mini.FACTOR_NAMES}
  assert set(examples[0]) == {"image", *mini.FACTOR_NAMES}
  for values in (factors, loaded):
    for name, (low, high) in mini.FACTOR_RANGES.items():
      assert low - 1e-6 <= values[name].min(), name
      assert values[name].max() <= high + 1e-6, name
    for name in ("centre_x", "centre_y"):
      assert np.all(np.abs(values[name] - 0.5) <= 0.5 - values["scale"]
                    - shapes.POSITION_MARGIN + 1e-6), name
    for name in ("foreground_colour", "background_colours"):
      assert 0 <= values[name].min() and values[name].max() <= 1, name
    assert mini.contrast(values).min() >= shapes.MIN_CONTRAST
    flat = values["background_kind"] == shapes.BACKGROUND_KINDS.index("flat")
    np.testing.assert_array_equal(values["background_colours"][flat, 0],
                                  values["background_colours"][flat, 1])
  assert np.bincount(factors["label"], minlength=100).tolist() == [30] * 100


def test_tiny_config_builds_and_stores_the_rendered_factors(tiny):
  config, examples = tiny
  assert len(examples) == 200
  assert examples[0]["image"].shape == (16, 16, 3)
  factors = {name: np.stack([example[name] for example in examples])
             for name in mini.FACTOR_NAMES}
  images = np.stack([example["image"] for example in examples])
  np.testing.assert_array_equal(config.render(factors), images)
  np.testing.assert_array_equal(
      shapes.render_mini_examples(16, factors), images)


def test_same_seed_same_scenes_other_seed_differs():
  config = shapes.make_mini_config(32, train_size=60, test_size=20, seed=4)
  first, again = (shapes.split_factors(config, "train") for _ in range(2))
  for name in mini.FACTOR_NAMES:
    np.testing.assert_array_equal(first[name], again[name])
  np.testing.assert_array_equal(config.render(first), config.render(again))
  other = shapes.split_factors(
      shapes.make_mini_config(32, train_size=60, seed=5), "train")
  assert not np.array_equal(first["foreground_hue"], other["foreground_hue"])
  ten_class = shapes.split_factors(shapes.make_config(32, train_size=60,
                                                      seed=4), "train")
  assert not np.array_equal(first["rotation"], ten_class["rotation"])


def test_ood_configs_hold_unseen_shapes_in_the_same_style(tmp_path):
  def label_names(config_name):
    return tfds.builder(f"{shapes.MINI_NAME}/{config_name}",
                        data_dir=str(tmp_path)).info.features["label"].names
  in_distribution, ood = label_names("16"), label_names("ood_16")
  assert len(ood) == 50 and not set(in_distribution) & set(ood)
  seen = {name.split("_", 2)[2] for name in in_distribution}
  unseen = {name.split("_", 2)[2] for name in ood}
  assert unseen == set(shapes.OOD_CLASSES) and not seen & unseen
  config = shapes.make_mini_config(16, ood=True, train_size=0, test_size=100)
  factors = shapes.split_factors(config, "test")
  assert set(np.unique(factors["shape"])) == set(range(5))
  assert config.render(factors).shape == (100, 16, 16, 3)


def test_bad_resolution_and_factors_are_named(tmp_path):
  with pytest.raises(ValueError, match=r"resolutions \(16, 32\), not 64"):
    shapes.make_mini_config(64)
  with pytest.raises(ValueError, match=r"'16', '32', 'ood_16', 'ood_32'"):
    tfds.builder(f"{shapes.MINI_NAME}/64", data_dir=str(tmp_path))
  factors = sample(10)
  factors["shape"][0] = 7
  with pytest.raises(ValueError, match=r"Shapes must be in \[0, 5\)"):
    shapes.render_mini_examples(16, factors, shapes=shapes.OOD_CLASSES)
  del factors["texture_phase"]
  with pytest.raises(ValueError, match="texture_phase"):
    shapes.render_mini_examples(16, factors)
