"""The logit probe on synthetic logits with known answers, its statistics,
its input checks and its command's argument errors."""

import numpy as np
import pytest

import cli_main

from logit_gan.analyses import logit_probe
from logit_gan.analyses import stats

N = 800
NUM_CLASSES = 8


def _world(seed=0, n=N):
  """Labels [n]; logits [n, 12]: class one-hot (scaled, noisy) plus two
  columns carrying the independent normals a and q."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, NUM_CLASSES, n)
  a, q, free = rng.normal(size=(3, n))
  logits = np.concatenate([
      3.0 * np.eye(NUM_CLASSES)[labels]
      + 0.3 * rng.normal(size=(n, NUM_CLASSES)),
      a[:, None], q[:, None], rng.normal(size=(n, 2))], axis=1)
  return rng, labels, logits, a, q, free


def _probe(logits, factors, labels, **arguments):
  arguments.setdefault("splits", 2)
  arguments.setdefault("resamples", 200)
  return logit_probe.probe(logits, factors, labels, **arguments)


def test_linear_factor_and_independent_factor():
  rng, labels, logits, a, _, free = _world()
  result = _probe(logits, {"carried": 2 * a + 1, "free": free,
                           "pair": np.stack([a, free], 1)}, labels)
  carried, independent = result["carried"], result["free"]
  assert carried.metric == "r2" and carried.kind == "continuous"
  assert carried.score.mean >= 0.95 and carried.score.low >= 0.9
  assert independent.score.contains(0.0) or abs(independent.score.mean) < 0.05
  assert (independent.score.low <= independent.score.mean
          <= independent.score.high)
  # Multi-output R² is the plain mean of the per-column R²s.
  pair = result["pair"]
  assert len(pair.per_column) == 2 and pair.per_column[0] >= 0.95
  assert abs(pair.per_column[1]) < 0.05
  assert pair.score.mean == pytest.approx(np.mean(pair.per_column))
  assert carried.score.n == N


def test_quadratic_relation_needs_quadratic_features():
  _, labels, logits, _, q, _ = _world()
  factors = {"square": q**2}
  quadratic = _probe(logits, factors, labels)["square"]
  linear = _probe(logits, factors, labels, quadratic=False)["square"]
  assert quadratic.score.mean >= 0.9
  assert linear.score.mean < 0.1


def test_categorical_factor_recovered_and_random_at_chance():
  rng, labels, logits, a, _, _ = _world()
  result = _probe(logits, {"sign": (a > 0).astype(int),
                           "random": rng.integers(0, 3, N)}, labels)
  sign, random = result["sign"], result["random"]
  assert sign.metric == "accuracy" and sign.kind == "categorical"
  assert sign.score.mean >= 0.9
  assert sign.chance == pytest.approx(np.mean(a > 0) if np.mean(a > 0) > 0.5
                                      else np.mean(a <= 0))
  assert abs(random.score.mean - random.chance) < 0.08
  assert random.score.low <= random.chance + 0.02


def test_factor_fixed_by_the_class():
  _, labels, logits, _, _, _ = _world()
  class_values = np.linspace(-1, 1, NUM_CLASSES)[labels]
  result = _probe(logits, {"class_value": class_values, "class": labels},
                  labels)
  for name in ("class_value", "class"):
    fixed = result[name]
    assert fixed.fixed_by_class and fixed.class_share == pytest.approx(1.0)
    assert np.isnan(fixed.within_class.mean)
    assert "does not vary within class" in fixed.within_class_note
    assert fixed.to_dict()["within_class"]["mean"] is None
  assert "does not vary within class" in result.table()


def test_within_class_variation_carried_by_the_logits():
  _, labels, logits, a, _, free = _world()
  offsets = np.linspace(-5, 5, NUM_CLASSES)[labels]
  result = _probe(logits, {"carried": offsets + 0.5 * a,
                           "not_carried": offsets + 0.5 * free}, labels)
  carried, not_carried = result["carried"], result["not_carried"]
  assert carried.fixed_by_class and not_carried.fixed_by_class
  assert carried.class_share > 0.9
  assert carried.within_class.mean >= 0.9
  assert abs(not_carried.within_class.mean) < 0.05


def test_mlp_fits_a_non_linear_factor():
  _, labels, logits, a, q, _ = _world()
  result = _probe(logits, {"product": np.abs(a) + q**2}, labels,
                  probe="mlp", splits=1, resamples=100,
                  mlp=logit_probe.MlpSettings(steps=250))
  assert result["product"].score.mean >= 0.8
  assert result.settings["probe"] == "mlp"


def test_probe_is_deterministic_given_the_seed():
  _, labels, logits, a, _, free = _world()
  factors = {"a": a + 0.3 * free}
  settings = {"resamples": 50, "quadratic": False}
  first = _probe(logits, factors, labels, seed=3, **settings).to_dict()
  assert first == _probe(logits, factors, labels, seed=3, **settings).to_dict()
  assert first != _probe(logits, factors, labels, seed=4, **settings).to_dict()


def test_quadratic_features_cap_the_products_by_components():
  rng = np.random.default_rng(0)
  fit, test = rng.normal(size=(50, 40)), rng.normal(size=(10, 40))
  x_fit, x_test = logit_probe.quadratic_features(fit, test, max_components=5)
  assert x_fit.shape == (50, 40 + 15) and x_test.shape == (10, 55)
  np.testing.assert_allclose(x_fit.mean(axis=0), 0, atol=1e-9)
  small = logit_probe.quadratic_features(fit[:, :4], test[:, :4])[0]
  assert small.shape == (50, 4 + 10)


@pytest.mark.parametrize("change, message", [
    (lambda f, l, g: (f, l, g[:-1], {}), "N = 799"),
    (lambda f, l, g: (f, l, g[:10], {}), "logits must be"),
    (lambda f, l, g: ({"x": f["x"][:-1]}, l, g, {}), "'x'"),
    (lambda f, l, g: (f, l, np.where(np.arange(N)[:, None] == 5, np.nan, g),
                      {}), "NaN or inf in 1 row"),
    (lambda f, l, g: (f, l, g, {"x": "ordinal"}), "unknown kind 'ordinal'"),
    (lambda f, l, g: (f, l, g, {"y": "continuous"}), "not factors"),
    (lambda f, l, g: ({"one": np.ones(N)}, l, g, {}), "'one' takes one value"),
    (lambda f, l, g: ({"x": np.where(np.arange(N) == 3, np.nan, f["x"])}, l,
                      g, {}), "'x' has NaN"),
    (lambda f, l, g: (f, l.astype(float), g, {}), "labels must be"),
    (lambda f, l, g: ({}, l, g, {}), "No factors"),
])
def test_bad_input_is_refused_with_the_reason(change, message):
  _, labels, logits, a, _, _ = _world()
  factors, labels, logits, kinds = change({"x": a}, labels, logits)
  with pytest.raises(ValueError, match=message):
    logit_probe.probe(logits, factors, labels, kinds=kinds, resamples=10)


def test_unknown_probe_is_refused():
  _, labels, logits, a, _, _ = _world()
  with pytest.raises(ValueError, match="Unknown probe 'lasso'"):
    logit_probe.probe(logits, {"a": a}, labels, probe="lasso")


def test_bootstrap_ci_covers_the_mean_of_a_known_distribution():
  values = np.random.default_rng(1).normal(3.0, 1.0, size=2000)
  interval = stats.bootstrap_ci(values, seed=0)
  assert interval.contains(3.0) and interval.n == 2000
  assert interval.mean == pytest.approx(values.mean())
  assert interval.high - interval.low == pytest.approx(
      2 * 1.96 / np.sqrt(2000), rel=0.15)
  assert interval.to_dict()["confidence"] == 0.95
  assert interval == stats.bootstrap_ci(values, seed=0)


def test_paired_difference_cancels_what_the_pairs_share():
  rng = np.random.default_rng(2)
  shared = rng.normal(0, 10, size=500)
  a, b = shared + 1.0 + rng.normal(0, 0.1, 500), shared
  paired = stats.paired_difference_ci(a, b, seed=0)
  assert paired.contains(1.0) and paired.high - paired.low < 0.05
  with pytest.raises(ValueError, match="same number of examples"):
    stats.paired_difference_ci(a, b[:-1])
  with pytest.raises(ValueError, match="confidence"):
    stats.bootstrap_ci(a, confidence=95)


@pytest.fixture(scope="module")
def command():
  """logit_gan.cli.logit_probe, its flags defined only while this module's
  tests run (other commands define flags of the same names)."""
  with cli_main.command_module("logit_probe") as module:
    yield module


def test_command_refuses_unexpected_arguments(command):
  from absl import app
  from absl import flags
  flags.FLAGS(["logit_probe", "--out=/tmp/x.json"])
  try:
    with pytest.raises(app.UsageError, match="Unexpected arguments"):
      command.main(["logit_probe", "stray"])
  finally:
    flags.FLAGS.unparse_flags()


@pytest.mark.parametrize("name, resolution, config, expected", [
    ("shapes_mini", 16, None, "logit_gan_shapes_mini/16"),
    ("shapes_mini", 16, "32", "logit_gan_shapes_mini/32"),
    ("shapes_mini_ood", 16, None, "logit_gan_shapes_mini/ood_16"),
    ("shapes", 16, None, "logit_gan_shapes/32"),
    ("shapes", 32, "ood_32", "logit_gan_shapes/ood_32"),
])
def test_command_reads_the_gin_dataset(command, name, resolution, config,
                                       expected):
  assert command.tfds_name_of(name, resolution, config) == expected


def test_command_refuses_a_dataset_without_factors(command):
  from absl import app
  with pytest.raises(app.UsageError, match="shapes_mini"):
    command.tfds_name_of("imagenet_64", 64)


def test_command_adds_the_hue_offset_that_does_not_wrap(command):
  factors = {"hue_family": np.array([0, 0, 1, 4]),
             "foreground_hue": np.array([0.95, 0.05, 0.25, 0.8])}
  offset = command.with_hue_offset(factors)["foreground_hue_offset"]
  np.testing.assert_allclose(offset, [-0.05, 0.05, 0.05, 0.0], atol=1e-9)
  assert "foreground_hue_offset" not in command.with_hue_offset(
      {"foreground_hue": factors["foreground_hue"]})
