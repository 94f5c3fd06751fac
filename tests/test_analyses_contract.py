"""What every registered experiment (registry.names()) promises: bad input
is refused before any work, the same seed gives the same numbers (another
seed other intervals), and its Result is named, described and summarised
as the runner and the report expect. On a cheap linear model and
shapes_mini scenes rendered in memory, so every experiment runs in about a
second."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import factor_regressor
from logit_gan.analyses import figures
from logit_gan.analyses import inversion
from logit_gan.analyses import logit_probe
from logit_gan.analyses import registry
from logit_gan.data import shapes

RESOLUTION, CLASSES, Z_DIM = 16, 10, 4


class LinearModel(inversion.InversionModel):
  """logits = flatten(x) W, reconstruction = tanh([z, ε] V) reshaped
  (W, V fixed random maps from `seed`): differentiable, so attacks work,
  and cheap. `calls` counts the classifier's and generator's batches."""

  def __init__(self, name, seed=0, resolution=RESOLUTION):
    self.name, self.resolution = name, resolution
    self.num_classes, self.z_dim = CLASSES, Z_DIM
    rng = np.random.default_rng(seed)
    pixels = resolution * resolution * 3
    self.w = tf.constant(rng.normal(0, 0.1, (pixels, CLASSES)), tf.float32)
    self.v = tf.constant(rng.normal(0, 0.5, (CLASSES + Z_DIM, pixels)),
                         tf.float32)
    self.calls = 0

  def classify_tensor(self, images):
    self.calls += 1
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    return flat @ self.w

  def _reconstruct(self, logits, noise):
    self.calls += 1
    flat = tf.tanh(tf.concat([logits, noise], axis=1) @ self.v)
    return tf.reshape(flat, [-1, self.resolution, self.resolution, 3])


def scenes(count=24, resolution=RESOLUTION, seed=0):
  """shapes_mini test images rendered in memory, with labels and every
  factor, as Examples."""
  config = shapes.make_mini_config(RESOLUTION, train_size=1,
                                   test_size=count)
  factors = config.sample_factors(np.random.default_rng(seed), count)
  images = config.render(factors).astype(np.float32) / 127.5 - 1
  if resolution != RESOLUTION:
    images = np.asarray(tf.image.resize(images, [resolution, resolution]))
  labels = factors.pop("label").astype(np.int64)
  return examples_lib.Examples(images, labels, factors, "scenes")


def untrained_regressor(examples):
  """A FactorRegressor over a random dense layer (fast, deterministic)."""
  layout = factor_regressor.Layout.of(
      logit_probe.with_hue_offset(examples.factors))
  keras.utils.set_random_seed(0)
  network = keras.Sequential([keras.Input((RESOLUTION, RESOLUTION, 3)),
                              keras.layers.Flatten(),
                              keras.layers.Dense(layout.width)])
  return factor_regressor.FactorRegressor(network, layout)


# Small settings of each experiment (what is not named: the defaults).
QUICK = {
    "reconstructions": dict(samples=2),
    "noise_resampling": dict(samples=3),
    "noise_interpolation": dict(steps=4),
    "logit_interpolation": dict(steps=4),
    "logit_shift": dict(steps=3), "logit_scale": dict(steps=3),
    "logit_perturbation": dict(draws=1, steps=3),
    "brightness_fit": dict(factors=(0.5, 1.0, 1.5)),
    "sharpness_fit": dict(factors=(0.5, 1.0, 1.5)),
    "class_clusters": dict(class_source="predicted"),
    "iterative_stability": dict(rounds=2),
    "logit_probe": dict(splits=1, resamples=20),
    "adversarial": dict(select="all"),
    "ood": dict(sources=[]),
    "factor_recovery": dict(noise_samples=2),
}


def run(name, models, examples, **settings):
  settings = {**QUICK.get(name, {}), **settings}
  if name == "factor_recovery" and examples.resolution == RESOLUTION:
    settings["regressor"] = untrained_regressor(examples)
  return registry.get(name)(models, examples, **settings)


@pytest.fixture(scope="module")
def examples():
  return scenes()


@pytest.mark.parametrize("name", registry.names())
def test_bad_input_is_refused_before_any_work(name, examples):
  models = [LinearModel("robust"), LinearModel("standard", seed=1)]
  small = scenes(resolution=8)
  with pytest.raises(ValueError, match=f"{name}: the test images are 8x8 "
                     "but the models draw 16x16"):
    run(name, models, small)
  mixed = [models[0], LinearModel("standard", resolution=8)]
  with pytest.raises(ValueError, match="draw different resolutions"):
    run(name, mixed, examples)
  with pytest.raises(ValueError, match="No inversion model"):
    run(name, [], examples)
  if name != "logit_probe":  # It probes every image it is given.
    with pytest.raises(ValueError, match="num_images must be >= 1"):
      run(name, models, examples, num_images=0)
  assert [m.calls for m in models + mixed] == [0, 0, 0, 0]


@pytest.fixture
def quick_plots(monkeypatch):
  """Line and bar plots as a stub PNG: matplotlib takes most of these
  runs' time, and the figures are the other tests' subject."""
  for plot in ("line_plot", "bar_plot"):
    monkeypatch.setattr(figures, plot, lambda *a, **k: b"\x89PNG plot")


@pytest.mark.slow
@pytest.mark.parametrize("name", registry.names())
def test_the_same_seed_gives_the_same_numbers(name, examples, quick_plots):
  def models():
    return [LinearModel("robust"), LinearModel("standard", seed=1)]
  first = run(name, models(), examples, seed=3)
  assert run(name, models(), examples, seed=3).records() == first.records()
  assert run(name, models(), examples, seed=4).records() != first.records()
  assert first.experiment == name and first.settings["seed"] == 3
  assert [m["name"] for m in first.models] == ["robust", "standard"]
  assert first.examples["source"] == "scenes"
  # One line naming each model but not the experiment (the runner's line
  # and the report do).
  assert "\n" not in first.summary and not first.summary.startswith(name)
  assert "robust" in first.summary
  assert all(png[:4] == b"\x89PNG" for png in first.figures.values())


@pytest.mark.parametrize("name", ["reconstructions", "misclassified", "ood"])
def test_lpips_joins_the_distances_when_its_weights_exist(
    name, examples, monkeypatch):
  from logit_gan.analyses import lpips
  from test_metrics import tiny_backbone  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  metric = lpips.LPIPS(
      backbone=tiny_backbone(rng.normal(size=(3, 4)), np.zeros(4),
                             rng.normal(size=(4, 5)), np.zeros(5)),
      heads=[np.ones(4), np.ones(5)], min_size=8)
  models = [LinearModel("robust"), LinearModel("standard", seed=1)]
  monkeypatch.setattr(lpips, "load_lpips", lambda: None)  # No files.
  without = run(name, models, examples, num_images=8)
  assert "lpips" not in {n.name for n in without.numbers}
  with pytest.raises(ValueError, match="'lpips' but its weight files are "
                     "absent"):
    run(name, models, examples, distances=("rmse", "lpips"))
  monkeypatch.setattr(lpips, "load_lpips", lambda: metric)  # Files.
  found = run(name, models, examples, num_images=8)
  assert found.settings["distances"] == ("rmse", "psnr", "ssim", "lpips")
  scored = [n.value.mean for n in found.numbers
            if n.name == "lpips" and n.model == "robust"]
  assert scored and np.isfinite(scored).any()
  if name == "reconstructions":
    logits = models[0].classify(examples.images[:8])
    noise = models[0].sample_noise(8, common.derive_seed(0, name, 0))
    expected = metric(examples.images[:8],
                      models[0].reconstruct(logits, noise))
    assert found.get("lpips", "robust").mean == pytest.approx(
        expected.mean(), rel=1e-6)
