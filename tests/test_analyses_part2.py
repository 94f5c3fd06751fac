"""Known answers of the experiments of issue #23 on tiny models."""

import os

import numpy as np
from PIL import Image
from PIL import ImageEnhance
import pytest

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import logit_fits

import analysis_models


@pytest.fixture(scope="module")
def models():
  return analysis_models.tiny_models()


@pytest.fixture(scope="module")
def examples():
  rng = np.random.default_rng(0)
  return examples_lib.Examples(
      rng.uniform(-1, 1, (24, 16, 16, 3)).astype(np.float32),
      rng.integers(0, 10, 24), {}, "random")


def test_fitted_shift_and_scale_are_the_known_ones():
  z = np.random.default_rng(1).normal(size=(5, 10))
  np.testing.assert_allclose(logit_fits.fit_shift(z + 0.7, z), 0.7)
  np.testing.assert_allclose(logit_fits.fit_scale(2.5 * z, z), 2.5)
  np.testing.assert_allclose(logit_fits.fit_shift(z, z), 0.0)
  assert np.isnan(logit_fits.fit_scale(z[:1], 0 * z[:1])).all()


def test_adjustments_match_pil_and_keep_the_identity():
  rng = np.random.default_rng(2)
  pixels = rng.integers(0, 256, (1, 12, 12, 3), dtype=np.uint8)
  images = pixels / 127.5 - 1
  np.testing.assert_allclose(logit_fits.adjust_brightness(images, 1.0),
                             images, atol=1e-6)
  np.testing.assert_allclose(logit_fits.adjust_sharpness(images, 1.0),
                             images, atol=1e-6)
  dark = logit_fits.adjust_brightness(images, 0.5)
  np.testing.assert_allclose((dark + 1) / 2, (images + 1) / 4, atol=1e-6)
  for factor in (0.0, 2.0):
    ours = (logit_fits.adjust_sharpness(images, factor)[0] + 1) * 127.5
    theirs = np.asarray(ImageEnhance.Sharpness(
        Image.fromarray(pixels[0])).enhance(factor), np.float64)
    # PIL leaves the border unfiltered and rounds to uint8.
    np.testing.assert_allclose(ours[1:-1, 1:-1], theirs[1:-1, 1:-1],
                               atol=1.01)


@pytest.mark.parametrize("experiment", [logit_fits.brightness_fit,
                                        logit_fits.sharpness_fit])
def test_fits_at_the_identity_are_exact_and_models_are_paired(
    experiment, models, examples):
  result = experiment(models, examples, seed=3, num_images=16)
  for model in ("robust", "standard"):
    assert result.get("shift", model, factor=1.0).mean == pytest.approx(
        0, abs=1e-6)
    assert result.get("scale", model, factor=1.0).mean == pytest.approx(
        1, abs=1e-6)
    assert result.get("shift_slope_at_identity", model).n == 16
  difference = result.get("shift_slope_at_identity", "robust - standard")
  assert difference.mean == pytest.approx(
      result.get("shift_slope_at_identity", "robust").mean
      - result.get("shift_slope_at_identity", "standard").mean)
  assert set(result.figures) == {"shift.png", "scale.png"}
  again = experiment(models, examples, seed=3, num_images=16)
  assert again.records() == result.records()


def test_rotation_by_zero_costs_nothing_and_rotate_inverts(models, examples):
  from logit_gan.analyses import rotation
  images = examples.images[:3]
  np.testing.assert_array_equal(
      rotation.rotate(rotation.rotate(images, 90), -90), images)
  assert not np.array_equal(rotation.rotate(images, 90), images)
  with pytest.raises(ValueError, match="multiples of 90"):
    rotation.rotate(images, 45)
  still = rotation.run(models, examples, degrees=0, num_images=8)
  for model in ("robust", "standard"):
    assert still.get("rmse_cost", model).mean == 0
    assert still.get("prediction_kept", model).mean == 1
  turned = rotation.run(models, examples, degrees=90, num_images=8)
  assert turned.get("rmse_rotated", "robust").mean != turned.get(
      "rmse_unrotated", "robust").mean
  assert "rotation.png" in turned.figures


@pytest.fixture(scope="module")
def shared_classifier_models():
  """Two models over one classifier: every image is 'correct' for both
  when labelled with its prediction."""
  from logit_gan.analyses import inversion
  classifier = analysis_models.tiny_classifier(5)
  return [inversion.InProcessModel(analysis_models.tiny_generator(seed),
                                   classifier, name=name)
          for name, seed in (("robust", 1), ("standard", 2))]


def test_adversarial_at_zero_epsilon_changes_nothing(
    shared_classifier_models, examples):
  from logit_gan.analyses import adversarial
  labels = shared_classifier_models[0].classify(examples.images).argmax(-1)
  labelled = examples_lib.Examples(examples.images, labels, {}, "labelled")
  still = adversarial.run(shared_classifier_models, labelled, epsilon=0.0,
                          num_images=12)
  assert still.settings["images_attacked"] == 12
  for model in ("robust", "standard"):
    assert still.get("attack_success", model).mean == 0
    assert still.get("reconstruction_change", model).mean == 0
  attacked = adversarial.run(shared_classifier_models, labelled,
                             epsilon=0.5, num_images=12)
  assert attacked.get("attack_success", "robust").mean > 0
  assert attacked.get("reconstruction_change", "robust").mean > 0
  stronger = adversarial.run(shared_classifier_models, labelled,
                             epsilon=0.5, attack="pgd", pgd_steps=3,
                             num_images=12)
  assert stronger.get("attack_success", "robust").mean >= attacked.get(
      "attack_success", "robust").mean
  with pytest.raises(ValueError, match="labelled"):
    adversarial.run(shared_classifier_models, examples_lib.Examples(
        examples.images), num_images=4)


def test_misclassified_splits_and_differences(models, examples):
  from logit_gan.analyses import misclassified
  from logit_gan.analyses import stats
  result = misclassified.run(models, examples, num_images=24, seed=1)
  model = models[0]
  correct = model.classify(examples.images).argmax(-1) == examples.labels
  assert result.get("accuracy", "robust").mean == pytest.approx(
      correct.mean())
  right = result.get("rmse", "robust", group="correct")
  wrong = result.get("rmse", "robust", group="incorrect")
  both = result.get("rmse", "robust", group="incorrect - correct")
  assert (right.n, wrong.n) == (correct.sum(), (~correct).sum())
  assert both.mean == pytest.approx(wrong.mean - right.mean)
  # The unpaired interval of a known difference covers it.
  rng = np.random.default_rng(0)
  interval = stats.difference_ci(rng.normal(1, 1, 400), rng.normal(0, 1, 300))
  assert interval.contains(1.0) and not interval.contains(0.0)


def test_ood_scores_each_source_and_skips_what_is_missing(
    models, examples, tmp_path):
  from logit_gan.analyses import ood
  from logit_gan.data import idx
  rng = np.random.default_rng(3)
  for prefix in ("train", "t10k"):
    idx.write(str(tmp_path / f"{prefix}-images-idx3-ubyte.gz"),
              rng.integers(0, 256, (6, 28, 28), dtype=np.uint8))
    idx.write(str(tmp_path / f"{prefix}-labels-idx1-ubyte.gz"),
              rng.integers(0, 10, 6).astype(np.uint8))
  result = ood.run(models, examples, num_images=6, sources=[
      f"idx:{tmp_path}", f"idx:{tmp_path}/missing"])
  assert list(result.settings["skipped"]) == [f"idx:{tmp_path}/missing"]
  scored = result.get("rmse", "robust", source=f"idx:{tmp_path}")
  assert scored.n == 6
  assert result.get("rmse", "robust - standard",
                    source="in_distribution").n == 6
  with pytest.raises(ValueError, match="Unknown ood source"):
    ood.load_source("nowhere", resolution=16, count=2)


def test_ood_defaults_to_the_unseen_shapes_and_fashion_mnist(models):
  from logit_gan.analyses import ood
  assert ood.default_sources(models) == ["shapes_mini_ood",
                                         "fashion_mnist_idx"]


@pytest.fixture(scope="module")
def shapes_examples(tiny_shapes_data_dir):
  return examples_lib.from_shapes("logit_gan_shapes/32", resolution=16,
                                  count=24, data_dir=tiny_shapes_data_dir)


@pytest.fixture(scope="module")
def tiny_regressor(shapes_examples, tmp_path_factory):
  from logit_gan.analyses import factor_regressor
  regressor = factor_regressor.train(shapes_examples.images,
                                     shapes_examples.factors, steps=30,
                                     batch_size=16)
  directory = str(tmp_path_factory.mktemp("regressor"))
  factor_regressor.save(regressor, directory)
  loaded = factor_regressor.load(directory)
  np.testing.assert_allclose(loaded.outputs(shapes_examples.images),
                             regressor.outputs(shapes_examples.images),
                             atol=1e-5)
  assert factor_regressor.load(str(tmp_path_factory.mktemp("empty"))) is None
  return loaded


def test_factor_recovery_of_the_original_is_one_and_of_another_near_chance(
    shapes_examples, tiny_regressor):
  from logit_gan.analyses import factor_recovery
  images = shapes_examples.images
  perfect = analysis_models.MemoryModel(images, "perfect")
  derangement = np.roll(np.arange(len(images)), 5)
  other = analysis_models.MemoryModel(images, "other", shuffle=derangement)
  result = factor_recovery.run([perfect, other], shapes_examples,
                               regressor=tiny_regressor, noise_samples=2)
  keys = {(n.params["factor"], n.params["measure"]) for n in result.numbers}
  assert result.figures["fraction_kept.png"][:4] == b"\x89PNG"  # The bars.
  assert ("foreground_colour", "closed_form") in keys
  assert ("background_kind", "regressor") in keys
  for factor, measure in keys:
    kept = result.get("fraction_kept", "perfect", factor=factor,
                      measure=measure)
    assert kept.mean == pytest.approx(1.0) or np.isnan(kept.mean)
    assert result.get("noise_spread", "perfect", factor=factor,
                      measure=measure).mean == 0
    chance = result.get("fraction_kept", "other", factor=factor,
                        measure=measure)
    if np.isfinite(chance.mean):  # Another image: about chance.
      assert chance.low <= 0.5 and chance.mean < 0.75, (factor, chance)


def test_factor_recovery_refuses_examples_without_factors(models, examples):
  from logit_gan.analyses import factor_recovery
  with pytest.raises(ValueError, match="ground-truth factors"):
    factor_recovery.run(models, examples)


def test_coverage_masks_are_the_rendered_shapes(shapes_examples):
  from logit_gan.data.shapes import render
  from logit_gan.data.shapes import IN_DISTRIBUTION_CLASSES
  factors = {k: v[:4] for k, v in shapes_examples.factors.items()}
  factors["label"] = shapes_examples.labels[:4]
  masks = render.coverage(factors, 32, IN_DISTRIBUTION_CLASSES)
  assert masks.shape == (4, 32, 32)
  # The shape covers about pi r^2 (circle) to less (star) of the image.
  area = masks.mean(axis=(1, 2))
  assert np.all(area > 0.02) and np.all(area < 0.5)


def test_factor_regressor_is_cached_per_training_settings(
    tiny_shapes_data_dir, tmp_path, monkeypatch):
  import keras
  from logit_gan.analyses import factor_regressor
  trained = []

  def quick_train(images, factors, *, steps):  # A dense layer, untrained.
    trained.append((len(images), steps))
    layout = factor_regressor.Layout.of(factors)
    network = keras.Sequential([keras.Input(images.shape[1:]),
                                keras.layers.Flatten(),
                                keras.layers.Dense(layout.width)])
    return factor_regressor.FactorRegressor(network, layout)
  monkeypatch.setattr(factor_regressor, "train", quick_train)
  settings = dict(cache_dir=str(tmp_path), train_images=32,
                  data_dir=tiny_shapes_data_dir)
  first = factor_regressor.cached("logit_gan_shapes/32", 16, steps=3,
                                  **settings)
  assert trained == [(32, 3)]
  assert first.info == {"dataset": "logit_gan_shapes/32", "resolution": 16,
                        "steps": 3, "train_images": 32, "images_used": 32}
  assert os.listdir(tmp_path) == ["logit_gan_shapes_32_16"]
  again = factor_regressor.cached("logit_gan_shapes/32", 16, steps=3,
                                  **settings)
  images = np.zeros((2, 16, 16, 3), np.float32)
  np.testing.assert_allclose(again.outputs(images), first.outputs(images),
                             atol=1e-6)
  assert trained == [(32, 3)] and again.info == first.info  # The cache.
  factor_regressor.cached("logit_gan_shapes/32", 16, steps=4, **settings)
  assert trained == [(32, 3), (32, 4)]  # Other settings: trained again.
