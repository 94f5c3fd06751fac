"""Experiments 5-7 of issue #22 (logit_shift/scale/perturbation,
class_clusters, iterative_stability): known answers on fakes whose answer
is known in closed form, and runs on the random tiny models."""

import math

import gin
import numpy as np
import pytest
import tensorflow as tf

import analysis_models
from logit_gan.analyses import class_clusters
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import iterative_stability
from logit_gan.analyses import logit_manipulation
from logit_gan.analyses import metrics
from logit_gan.analyses import registry


@pytest.fixture(scope="module")
def tiny():
  return analysis_models.tiny_models()


def random_examples(count: int, resolution: int = 16, *, labelled=True,
                    seed: int = 0, num_classes: int = 10):
  rng = np.random.default_rng(seed)
  images = rng.uniform(-1, 1, (count, resolution, resolution, 3))
  labels = rng.integers(0, num_classes, count) if labelled else None
  return examples_lib.Examples(images.astype(np.float32), labels,
                               source="random")


class LinearBrightness(inversion.InversionModel):
  """Fake: logits = images (flattened) @ W; G(z, noise) = a constant grey
  image of value slope * mean(z), so its brightness is (value + 1) / 2."""

  def __init__(self, name, slope, *, resolution=4, num_classes=10):
    self.name, self.slope = name, slope
    self.num_classes, self.z_dim, self.resolution = num_classes, 3, resolution
    self.weights = tf.constant(np.random.default_rng(7).normal(
        0, 0.3, (resolution * resolution * 3, num_classes)), tf.float32)

  def _reconstruct(self, logits, noise):
    value = self.slope * tf.reduce_mean(logits, axis=1)
    return tf.broadcast_to(value[:, None, None, None], [
        tf.shape(logits)[0], self.resolution, self.resolution, 3])

  def classify_tensor(self, images):
    return tf.reshape(images, [tf.shape(images)[0], -1]) @ self.weights


class Memorising(LinearBrightness):
  """Fake: G returns the stored image whose logits are nearest, so G(Phi(x))
  = x for every stored x."""

  def __init__(self, name, images):
    super().__init__(name, 0.0, resolution=images.shape[1])
    self.images = images
    self.logits = self.classify(images)

  def _reconstruct(self, logits, noise):
    gaps = np.linalg.norm(np.asarray(logits)[:, None] - self.logits[None],
                          axis=-1)
    return self.images[gaps.argmin(axis=1)]


class Prepared(LinearBrightness):
  """Fake: classify returns prepared logits [N, d]; image i carries i in
  its first pixel."""

  def __init__(self, name, logits):
    super().__init__(name, 0.0, num_classes=logits.shape[1])
    self.logits = np.asarray(logits, np.float32)

  def classify_tensor(self, images):
    index = tf.cast(tf.round(images[:, 0, 0, 0] * 1000.0), tf.int32)
    return tf.gather(self.logits, index)


def indexed_examples(count, labels, resolution=4):
  images = np.zeros((count, resolution, resolution, 3), np.float32)
  images[:, 0, 0, 0] = np.arange(count) / 1000.0
  return examples_lib.Examples(images, np.asarray(labels), source="indexed")


# logit_shift / logit_scale / logit_perturbation.

def test_the_identity_manipulation_reproduces_the_reconstruction(tiny):
  examples = random_examples(4)
  for run, identity, models in (
      (logit_manipulation.shift, {"shift": 0.0}, tiny),
      (logit_manipulation.scale, {"scale": 1.0}, tiny[1:]),
      (logit_manipulation.perturbation, {"sigma": 0.0}, tiny[:1])):
    result = run(models, examples, seed=3, steps=3, grid_images=2)
    for model in models:
      change = result.get("rmse_to_unmanipulated", model.name, **identity)
      assert (change.mean, change.low, change.high) == (0.0, 0.0, 0.0)
      assert result.get("class_agreement", model.name,
                        **identity).mean == 1.0
    assert set(result.figures) == {f"grid_{m.name}.png" for m in models} | {
        f"{name}.png" for name in logit_manipulation.NUMBERS}


def test_shift_ranges_default_by_the_model_name():
  models = [LinearBrightness("my_robust_1", 0.1),
            LinearBrightness("standard", 0.1), LinearBrightness("b", 0.1)]
  values = logit_manipulation.shift(models, random_examples(3, 4), ranges={
      "b": 2.0}).settings["values"]
  np.testing.assert_allclose(values["my_robust_1"], [-.3, -.15, 0, .15, .3])
  np.testing.assert_allclose(values["standard"], [-.1, -.05, 0, .05, .1])
  np.testing.assert_allclose(values["b"], [-2, -1, 0, 1, 2])
  scales = logit_manipulation.scale(models[:1], random_examples(3, 4))
  np.testing.assert_allclose(scales.settings["values"]["my_robust_1"],
                             10 ** np.array([-.3, -.15, 0, .15, .3]))


def test_slopes_of_a_generator_linear_in_the_shift_are_its_slope():
  # brightness = (slope * (mean(z) + v) + 1) / 2: d brightness / dv = slope/2.
  models = [LinearBrightness("robust", 0.4), LinearBrightness("plain", 0.2)]
  result = logit_manipulation.shift(models, random_examples(20, 4),
                                    ranges={"plain": 0.5})
  total = metrics.LUMA.sum()
  for model, slope in (("robust", 0.4), ("plain", 0.2)):
    found = result.get("brightness_slope", model)
    assert found.mean == pytest.approx(slope / 2 * total, abs=1e-6)
    assert found.high - found.low < 1e-6
    assert result.get("contrast_slope", model).mean == pytest.approx(
        0, abs=1e-7)
    assert result.get("sharpness_slope", model).mean == pytest.approx(
        0, abs=1e-7)
  assert result.get("brightness_slope", "robust - plain").mean == (
      pytest.approx(0.1 * total, abs=1e-6))
  assert result.settings["values"]["plain"][-1] == 0.5


def test_relative_ranges_scale_by_the_logit_spread():
  model = LinearBrightness("robust", 0.4)
  examples = random_examples(10, 4)
  spread = np.std(model.classify(examples.images).astype(np.float64),
                  axis=1).mean()
  result = logit_manipulation.shift([model], examples, relative=True,
                                    reference_spread=2.0)
  np.testing.assert_allclose(result.settings["values"]["robust"],
                             0.3 * spread / 2.0 * np.linspace(-1, 1, 5),
                             rtol=1e-6)
  perturbed = logit_manipulation.perturbation(
      [model], examples, relative=True, reference_spread=2.0, steps=2)
  np.testing.assert_allclose(perturbed.settings["values"]["robust"],
                             [0, math.sqrt(0.55) * spread / 2.0], rtol=1e-6)


def test_perturbation_content_change_grows_as_the_expected_mean_noise():
  # Constant images a * mean(z + sigma eps): rmse to sigma = 0 is
  # a * sigma * |mean(eps)|, E = a * sigma * sqrt(2 / (pi * n_c)).
  model = LinearBrightness("robust", 0.4)
  result = logit_manipulation.perturbation([model],
                                           random_examples(300, 4), draws=2)
  expected = 0.4 * math.sqrt(2 / (math.pi * model.num_classes))
  found = result.get("rmse_to_unmanipulated_slope", "robust")
  assert found.contains(expected), (found, expected)
  assert result.get("rmse_to_unmanipulated", "robust", sigma=0.0).mean == 0


# class_clusters.

def expected_distance(sigma, dims, members):
  """E||x - class sample mean|| for x ~ N(mu, sigma^2 I_d) and `members`
  samples per class: sigma sqrt(1 - 1/n) E[chi_d]."""
  chi = math.sqrt(2) * math.exp(math.lgamma((dims + 1) / 2)
                                - math.lgamma(dims / 2))
  return sigma * math.sqrt(1 - 1 / members) * chi


def clusters(sigma, *, classes=12, members=30, dims=40, seed=0):
  rng = np.random.default_rng(seed)
  centres = rng.normal(0, 5, (classes, dims))
  labels = np.repeat(np.arange(classes), members)
  return centres[labels] + rng.normal(0, sigma, (len(labels), dims)), labels


def test_class_cluster_distance_of_gaussian_clusters_of_known_spread():
  tight, labels = clusters(0.5)
  loose, _ = clusters(1.0, seed=1)
  examples = indexed_examples(len(labels), labels)
  result = class_clusters.run(
      [Prepared("tight", tight), Prepared("loose", loose)], examples, seed=2)
  assert result.settings["class_source_used"] == "label"
  chosen = result.settings["chosen_classes"]["tight"]
  assert len(chosen) == 10 and chosen == result.settings[
      "chosen_classes"]["loose"]
  for model, sigma in (("tight", 0.5), ("loose", 1.0)):
    found = result.get("distance_to_class_mean", model)
    assert found.n == 300 and found.contains(expected_distance(sigma, 40, 30))
  difference = result.get("distance_to_class_mean", "tight - loose")
  assert difference.contains(expected_distance(0.5, 40, 30)
                             - expected_distance(1.0, 40, 30))
  keep = np.isin(labels, chosen)
  distances = np.concatenate([np.linalg.norm(
      tight[labels == c] - tight[labels == c].mean(0), axis=1)
      for c in chosen])
  assert result.get("relative_distance", "tight").mean == pytest.approx(
      distances.mean() / np.linalg.norm(tight[keep], axis=1).mean(),
      rel=1e-5)


def test_class_clusters_by_prediction_and_bad_sources():
  logits, labels = clusters(0.5, classes=4, members=5)
  examples = indexed_examples(len(labels), labels)
  unlabelled = examples_lib.Examples(examples.images, None, source="files")
  result = class_clusters.run([Prepared("m", logits)], unlabelled)
  assert result.settings["class_source_used"] == "predicted"
  predicted, counts = np.unique(logits.argmax(1), return_counts=True)
  assert result.settings["chosen_classes"]["m"] == sorted(
      predicted[counts >= 2])[:10]
  with pytest.raises(ValueError, match="have no labels"):
    class_clusters.run([Prepared("m", logits)], unlabelled,
                       class_source="label")
  with pytest.raises(ValueError, match="class_source must be one of"):
    class_clusters.run([Prepared("m", logits)], examples,
                       class_source="true")
  with pytest.raises(ValueError, match="no class has 6 or more"):
    class_clusters.run([Prepared("m", logits)], examples, min_class_size=6)


# iterative_stability.

def test_a_generator_that_returns_the_original_is_stable_every_round():
  examples = random_examples(40, 4, seed=4)
  model = Memorising("robust", examples.images)
  result = iterative_stability.run([model], examples, rounds=3)
  for r in (1, 2, 3):
    assert result.get("agreement", "robust", round=r).mean == 1.0
  predicted = model.classify(examples.images).argmax(1)
  right = predicted == examples.labels
  assert 0 < right.sum() < len(right)
  assert result.get("accuracy", "robust").mean == pytest.approx(right.mean())
  assert result.get("agreement_correct", "robust").n == right.sum()
  assert result.get("agreement_correct", "robust").mean == 1.0
  assert result.get("agreement_incorrect", "robust").mean == 1.0


class OneImage(LinearBrightness):
  """Fake: G draws the same image whatever the logits."""

  def __init__(self, name, image):
    super().__init__(name, 0.0, resolution=image.shape[0])
    self.image = image

  def _reconstruct(self, logits, noise):
    return tf.broadcast_to(self.image, [tf.shape(logits)[0],
                                        *self.image.shape])


def test_a_generator_of_one_image_keeps_only_that_class():
  examples = random_examples(60, 4, seed=5, labelled=False)
  model = OneImage("standard", examples.images[0])
  predicted = model.classify(examples.images).argmax(1)
  expected = np.mean(predicted == predicted[0])
  assert 0 < expected < 1
  result = iterative_stability.run([model], examples, rounds=2)
  for r in (1, 2):
    assert result.get("agreement", "standard", round=r).mean == (
        pytest.approx(expected))
  assert result.settings["labelled"] is False
  with pytest.raises(KeyError):
    result.get("agreement_correct", "standard")


# Shared: the tiny models, seeds, gin, the registry, bad input.

def test_tiny_models_run_the_logit_only_and_iterative_experiments(tiny):
  examples = random_examples(4)
  examples.labels = np.array([3, 3, 1, 1])
  clusters_result = class_clusters.run(tiny, examples)
  assert clusters_result.settings["chosen_classes"]["robust"] == [1, 3]
  assert "per_class.png" in clusters_result.figures
  stability = iterative_stability.run(tiny, examples, rounds=2)
  assert set(stability.figures) == {"agreement.png", "chain.png"}
  for result in (clusters_result, stability):
    # The runner's line and the report name the experiment.
    assert not result.summary.startswith(result.experiment)
    assert "robust" in result.summary and "standard" in result.summary
    assert [m["name"] for m in result.models] == ["robust", "standard"]


@pytest.mark.parametrize("name", ["logit_perturbation", "class_clusters",
                                  "iterative_stability"])
def test_the_same_call_gives_the_same_numbers(name):
  experiment = registry.get(name)
  models = [LinearBrightness("robust", 0.3), LinearBrightness("std", 0.1)]
  examples = random_examples(12, 4)
  examples.labels = np.arange(12) % 3
  first = experiment(models, examples, seed=1, num_images=9)
  second = experiment(models, examples, seed=1, num_images=9)
  assert first.records() == second.records()
  assert first.examples["count"] == 9 and first.settings["seed"] == 1
  assert all(png.startswith(b"\x89PNG") for png in first.figures.values())


def test_settings_are_bound_by_gin_under_the_experiment_name():
  gin.bind_parameter("logit_scale.steps", 3)
  gin.bind_parameter("iterative_stability.rounds", 2)
  model = [LinearBrightness("robust", 0.3)]
  result = logit_manipulation.scale(model, random_examples(3, 4))
  assert result.settings["steps"] == 3
  assert len(result.settings["values"]["robust"]) == 3
  result = iterative_stability.run(model, random_examples(3, 4))
  assert result.get("agreement", "robust", round=2).n == 3
  for name in ("logit_shift", "logit_scale", "logit_perturbation",
               "class_clusters", "iterative_stability"):
    assert registry.get(name).__module__ == (
        "logit_gan.analyses." + registry.EXPERIMENTS[name].split(":")[0])


def test_bad_input_is_refused_before_any_work(tiny):
  with pytest.raises(ValueError, match="test images are 8x8"):
    logit_manipulation.shift(tiny, random_examples(3, 8))
  with pytest.raises(ValueError, match="steps >= 2"):
    logit_manipulation.scale(tiny, random_examples(3), steps=1)
  with pytest.raises(ValueError, match="rounds >= 1"):
    iterative_stability.run(tiny, random_examples(3), rounds=0)
  with pytest.raises(ValueError, match="chain_image 5"):
    iterative_stability.run(tiny, random_examples(3), chain_image=5)
