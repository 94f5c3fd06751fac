"""The experiments of issue #22, part 1a: reconstructions, noise resampling,
noise interpolation and logit interpolation.

Known answers come from a coded model whose "generator" writes the logits
(and, scaled by `noise_weight`, the noise) into the pixels and whose
classifier reads them back, so every distance has a closed form; the tiny
random networks of analysis_models check the experiments end to end
(numbers, figures, determinism, gin)."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import logit_interpolation
from logit_gan.analyses import noise
from logit_gan.analyses import reconstructions
from logit_gan.analyses import registry

import analysis_models

RESOLUTION, CLASSES, Z_DIM = 16, 10, 6
PIXELS = RESOLUTION * RESOLUTION * 3
SCALE = 10.0  # Pixel value = logit / SCALE.


class CodedModel(inversion.InversionModel):
  """Pixels [0, n_c) hold logits / SCALE, the next z_dim hold noise_weight
  * noise, the rest are 0; classify reads the logits back. `blind` draws
  zeros whatever the input. Records every noise draw in `draws`."""

  def __init__(self, name, noise_weight=0.1, deterministic=False,
               blind=False):
    self.name, self.noise_weight, self.blind = name, noise_weight, blind
    self.num_classes, self.z_dim, self.resolution = CLASSES, Z_DIM, RESOLUTION
    self.deterministic = deterministic
    self.draws = []

  def encode(self, logits, noise):
    logits, noise = np.asarray(logits, np.float32), np.asarray(noise,
                                                               np.float32)
    flat = np.zeros((len(logits), PIXELS), np.float32)
    if not self.blind:
      flat[:, :CLASSES] = logits / SCALE
      flat[:, CLASSES:CLASSES + Z_DIM] = self.noise_weight * noise
    return flat.reshape(-1, RESOLUTION, RESOLUTION, 3)

  def _reconstruct(self, logits, noise):
    return tf.constant(self.encode(logits.numpy(), noise.numpy()))

  def classify_tensor(self, images):
    return tf.reshape(images, [-1, PIXELS])[:, :CLASSES] * SCALE

  def sample_noise(self, count, seed):
    drawn = super().sample_noise(count, seed)
    self.draws.append(drawn)
    return drawn


def coded_examples(classes, value=5.0):
  """Coded images of one-hot logits value * e_c (noise pixels 0)."""
  logits = value * np.eye(CLASSES, dtype=np.float32)[list(classes)]
  images = CodedModel("x").encode(logits, np.zeros((len(logits), Z_DIM)))
  return examples_lib.Examples(images, np.asarray(classes), source="coded")


@pytest.fixture(scope="module")
def tiny():
  return analysis_models.tiny_models()


@pytest.fixture(scope="module")
def random_examples():
  rng = np.random.default_rng(0)
  return examples_lib.Examples(
      rng.uniform(-1, 1, (10, RESOLUTION, RESOLUTION, 3)), source="random")


def test_registry_names_the_functions_built_here():
  assert registry.get("reconstructions") is reconstructions.run
  assert registry.get("noise_resampling") is noise.resampling
  assert registry.get("noise_interpolation") is noise.interpolation
  assert registry.get("logit_interpolation") is logit_interpolation.run


def test_reconstructions_known_distances_and_paired_difference():
  a, b = CodedModel("a", noise_weight=0.1), CodedModel("b", noise_weight=0.3)
  examples = coded_examples(np.arange(300) % CLASSES)  # Three chunks.
  assert len(common.chunks(300)) == 3
  result = reconstructions.run([a, b], examples, seed=5, samples=2,
                               figure_images=130)
  np.testing.assert_array_equal(a.draws[0], b.draws[0])  # Same noise.
  norms = [np.linalg.norm(d, axis=1) / np.sqrt(PIXELS) for d in a.draws]
  for model, weight in (("a", 0.1), ("b", 0.3)):
    assert result.get("rmse", model).mean == pytest.approx(
        weight * norms[0].mean(), rel=1e-5)
    assert result.get("rmse_over_samples", model).mean == pytest.approx(
        weight * np.mean(norms), rel=1e-5)
    assert result.get("top1_agreement", model).mean == 1.0
    assert result.get("kl", model).mean == pytest.approx(0, abs=1e-6)
    assert result.get("cosine", model).mean == pytest.approx(1, abs=1e-6)
  assert result.get("rmse", "a - b").mean == pytest.approx(
      -0.2 * norms[0].mean(), rel=1e-5)
  assert result.get("psnr", "a").n == 300
  assert [(c.start, c.stop) for c in common.chunks(5, 2)] == [(0, 2), (2, 5)]
  perfect = reconstructions.run([CodedModel("p", noise_weight=0.0)],
                                examples, samples=1)
  assert perfect.get("psnr", "p").mean == 100.0  # The cap: identical.
  assert perfect.get("ssim", "p").mean == pytest.approx(1.0)


def test_resampling_known_distances_and_ratio():
  model = CodedModel("coded", noise_weight=0.2)
  examples = coded_examples(range(8), value=3.0)  # Every pair equally far.
  result = noise.resampling([model], examples, samples=4)
  draws = model.draws[-1].reshape(4, 4, Z_DIM)  # [pairs, samples, z].
  within = np.mean([np.linalg.norm(g[s] - g[t]) for g in draws
                    for s in range(4) for t in range(s + 1, 4)])
  within *= 0.2 / np.sqrt(PIXELS)
  between = 3.0 * np.sqrt(2) / SCALE / np.sqrt(PIXELS)
  assert result.get("resampling_distance", "coded").mean == pytest.approx(
      within, rel=1e-5)
  assert result.get("between_images_distance", "coded").mean == (
      pytest.approx(between, rel=1e-5))
  assert result.get("resampling_ratio", "coded").mean == pytest.approx(
      within / between, rel=1e-5)


def test_resampling_is_zero_without_noise_and_odd_counts_form_a_triple():
  ignores = CodedModel("ignores", noise_weight=0.0)
  flagged = CodedModel("decoder", noise_weight=0.0, deterministic=True)
  result = noise.resampling([ignores, flagged], coded_examples(range(5)))
  for name in ("ignores", "decoder"):
    assert result.get("resampling_distance", name).mean == 0.0
    assert result.get("resampling_ratio", name).mean == 0.0
    assert result.get("between_images_distance", name).n == 5
  assert len(flagged.draws[-1]) == 2  # Two groups, one draw each.
  assert len(ignores.draws[-1]) == 2 * 8
  groups = noise._groups(5, seed=0)
  assert sorted(np.concatenate(groups)) == list(range(5))
  assert [len(g) for g in groups] == [2, 3]


def test_noise_interpolation_linear_generator_and_known_ends():
  model = CodedModel("linear", noise_weight=0.5)
  result = noise.interpolation([model], coded_examples(range(6)), steps=8)
  assert result.get("path_length_ratio", "linear").mean == pytest.approx(
      1.0, abs=1e-5)
  assert result.get("largest_step_ratio", "linear").mean == pytest.approx(
      1 / 7, abs=1e-5)
  start, end = model.draws
  assert result.get("endpoint_distance", "linear").mean == pytest.approx(
      np.mean(np.linalg.norm(end - start, axis=1)) * 0.5 / np.sqrt(PIXELS),
      rel=1e-5)


def test_paths_end_exactly_at_the_end_reconstructions(tiny):
  model = tiny[0]
  rng = np.random.default_rng(1)
  logits = rng.normal(0, 1, (3, 2, CLASSES)).astype(np.float32)
  ends = model.sample_noise(6, seed=2).reshape(3, 2, -1)
  path_logits = common.interpolate(logits[:, 0], logits[:, 1], 5)
  path_noise = common.interpolate(ends[:, 0], ends[:, 1], 5)
  np.testing.assert_array_equal(path_noise[:, -1], ends[:, 1])
  paths = common.reconstruct_paths(model, path_logits, path_noise)
  np.testing.assert_array_equal(paths[:, 0], model.reconstruct(
      logits[:, 0], ends[:, 0]))
  np.testing.assert_array_equal(paths[:, -1], model.reconstruct(
      logits[:, 1], ends[:, 1]))
  middle = model.reconstruct(0.5 * (logits[:, 0] + logits[:, 1]),
                             0.5 * (ends[:, 0] + ends[:, 1]))
  np.testing.assert_allclose(paths[:, 2], middle, atol=1e-5)


def test_logit_interpolation_flips_where_the_logits_cross():
  perfect, blind = CodedModel("perfect"), CodedModel("blind", blind=True)
  result = logit_interpolation.run([perfect, blind],
                                   coded_examples([1, 2, 3, 4, 5, 6]))
  # (1 - t) 5 e_a + t 5 e_b reads as class b from t = 4/7 on (8 steps).
  assert result.get("flip_t", "perfect").mean == pytest.approx(4 / 7)
  assert result.get("flipped", "perfect").mean == 1.0
  assert result.get("smoothness", "perfect").mean == pytest.approx(1.0,
                                                                   abs=1e-5)
  assert result.get("flipped", "perfect").n == 3  # Three disjoint pairs.
  # Zeros read as class 0, never the second image's: no flip, no steps.
  assert result.get("flipped", "blind").mean == 0.0
  assert result.get("flip_t", "blind").n == 0
  assert result.get("smoothness", "blind").n == 0
  assert result.get("flipped", "perfect - blind").mean == 1.0


@pytest.mark.parametrize("function, settings, headline, seeded_number", [
    (reconstructions.run, dict(samples=2), "rmse", "rmse"),
    (noise.resampling, dict(samples=3), "resampling_ratio",
     "resampling_ratio"),
    (noise.interpolation, dict(steps=4), "path_length_ratio",
     "endpoint_distance")])
def test_tiny_models_end_to_end_deterministic(
    tiny, random_examples, function, settings, headline, seeded_number):
  first = function(tiny, random_examples, seed=3, num_images=6,
                   figure_images=2, **settings)
  again = function(tiny, random_examples, seed=3, num_images=6,
                   figure_images=2, **settings)
  assert first.records() == again.records()
  assert first.settings.items() >= {**settings, "seed": 3,
                                    "num_images": 6}.items()
  value = first.get(headline, "robust")
  assert value.n == 6 and np.isfinite(value.mean) and value.low <= (
      value.mean) <= value.high
  assert first.get(headline, "robust - standard").n == 6
  assert "robust:" in first.summary and "standard:" in first.summary
  assert first.examples["count"] == 6 and len(first.models) == 2
  assert all(png.startswith(b"\x89PNG") for png in first.figures.values())
  coded = CodedModel("coded", noise_weight=0.3)
  seeded = [function([coded], random_examples, seed=seed, num_images=6,
                     **settings).get(seeded_number, "coded").mean
            for seed in (3, 3, 4)]
  assert seeded[0] == seeded[1] != seeded[2]


def test_tiny_logit_interpolation_and_its_refusal(tiny, random_examples):
  robust, standard = tiny
  result = logit_interpolation.run([robust], random_examples, steps=4,
                                   figure_pairs=2)
  again = logit_interpolation.run([robust], random_examples, steps=4,
                                  figure_pairs=2)
  assert result.records() == again.records()
  assert result.settings["pairs"] == result.get("flipped", "robust").n >= 1
  assert result.get("smoothness", "robust").mean >= 1.0
  assert result.figures["logit_interpolation.png"].startswith(b"\x89PNG")
  # The random standard network predicts one class for every image.
  assert len(set(standard.classify(random_examples.images).argmax(1))) == 1
  with pytest.raises(ValueError, match="different predicted classes"):
    logit_interpolation.run(tiny, random_examples)


def test_settings_come_from_gin_and_bad_input_is_refused(random_examples):
  model = CodedModel("coded")
  gin.parse_config("noise_resampling.samples = 3\n"
                   "reconstructions.distances = ('rmse',)")
  assert noise.resampling([model], random_examples).settings["samples"] == 3
  result = reconstructions.run([model], random_examples)
  assert {n.name for n in result.numbers} >= {"rmse", "top1_agreement"}
  assert "ssim" not in {n.name for n in result.numbers}
  small = examples_lib.Examples(np.zeros((2, 8, 8, 3)))
  with pytest.raises(ValueError, match="resolution"):
    reconstructions.run([model], small)
  with pytest.raises(ValueError, match="not a similarity"):
    noise.interpolation([model], random_examples, distance="ssim")
  with pytest.raises(ValueError, match="samples must be >= 2"):
    noise.resampling([model], random_examples, samples=1)
  with pytest.raises(ValueError, match="Unknown distance.*give one or more of"):
    reconstructions.run([model], random_examples, distances=("lpipz",))
  with pytest.raises(ValueError, match="num_images"):
    logit_interpolation.run([model], random_examples, num_images=0)
  with pytest.raises(ValueError, match="steps >= 2"):
    logit_interpolation.run([model], random_examples, steps=1)


@pytest.mark.slow
def test_exports_give_the_in_process_numbers(tiny, tiny_exports,
                                             random_examples):
  exported = [inversion.load(tiny_exports[name])
              for name in ("robust", "standard")]
  for function in (reconstructions.run, noise.interpolation):
    on_exports = function(exported, random_examples, num_images=4)
    in_process = function(tiny, random_examples, num_images=4)
    for ours, theirs in zip(on_exports.numbers, in_process.numbers):
      assert (ours.name, ours.model) == (theirs.name, theirs.model)
      assert ours.value.mean == pytest.approx(theirs.value.mean, rel=1e-3,
                                              abs=1e-4)
