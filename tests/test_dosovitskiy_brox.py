"""The Dosovitskiy & Brox baseline: its losses one by one against numpy, its
decoder's size and determinism, its bad inputs, and a tiny run trained,
resumed, exported and loaded without logit_gan."""

import json
import pathlib
import textwrap

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

import analysis_models
import trainer_runs
from test_export import run_isolated
from logit_gan import config
from logit_gan import export
from logit_gan import gan
from logit_gan import methods
from logit_gan import run_dir as run_dir_lib
from logit_gan import trained
from logit_gan.analyses import inversion
from logit_gan.baselines import dosovitskiy_brox as dnb
from logit_gan.baselines.decoder import DecoderGenerator
from logit_gan.discriminator import Discriminator

N_C, R, B = analysis_models.NUM_CLASSES, analysis_models.RESOLUTION, 3


def images_like(seed, shape=(B, R, R, 3)):
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def tiny_decoder(**overrides):
  arguments = dict(resolution=R, fc_units=(16,), seed_channels=8,
                   channels=(8, 4), convolutions_after=1, z_dim=3)
  return DecoderGenerator(**{**arguments, **overrides}).build_for(N_C)


def decoder_parameters(n_c, fc_units, seed_channels, channels, after):
  """Trainable parameters of a DecoderGenerator, counted by hand."""
  widths = [n_c, *fc_units, 16 * seed_channels]
  count = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
  previous = seed_channels
  for i, width in enumerate(channels):
    count += 16 * previous * width + width  # 4x4 up-convolution.
    if i < after:
      count += 9 * width * width + width  # 3x3 convolution.
    previous = width
  return count + 9 * previous * 3 + 3  # To RGB.


def test_decoder_parameter_counts_are_pinned():
  assert decoder_parameters(1000, (4096, 4096), 256, (256, 256, 128, 64),
                            3) == 41_745_411
  assert DecoderGenerator(resolution=64).build_for(1000).count_params() == (
      41_745_411)
  # gin_configs/shapes_mini/dosovitskiy_brox.gin's decoder.
  config.parse(["shapes_mini/dosovitskiy_brox.gin"], [])
  decoder = DecoderGenerator().build_for(100)
  assert decoder.count_params() == decoder_parameters(
      100, (512, 512), 64, (64, 32), 2) == 985_123


def test_decoder_ignores_the_noise_and_draws_in_range():
  decoder = tiny_decoder()
  logits = np.random.default_rng(0).normal(0, 3, [B, N_C]).astype("float32")
  noises = [np.random.default_rng(s).normal(size=[B, 3]).astype("float32")
            for s in (1, 2)]
  first, second = [decoder(logits, n).numpy() for n in noises]
  assert first.shape == (B, R, R, 3)
  np.testing.assert_array_equal(first, second)
  assert np.abs(first).max() <= 1.0 and first.std() > 0
  assert decoder.deterministic


def test_decoder_is_rebuilt_from_its_config_and_copied_for_ema():
  decoder = tiny_decoder()
  rebuilt = DecoderGenerator.from_config(
      json.loads(json.dumps(decoder.get_config()))).build_for(N_C)
  assert ([(w.path, w.shape) for w in rebuilt.weights]
          == [(w.path, w.shape) for w in decoder.weights])
  copy = gan.copy_generator(decoder)
  logits, noise = tf.ones([2, N_C]), tf.zeros([2, 3])
  np.testing.assert_array_equal(copy(logits, noise).numpy(),
                                decoder(logits, noise).numpy())


def test_pixel_loss_is_the_mean_squared_difference():
  real = images_like(0)
  assert float(dnb.pixel_loss(real, real)) == 0.0
  fake = images_like(1)
  np.testing.assert_allclose(float(dnb.pixel_loss(real, fake)),
                             np.mean((fake - real) ** 2), rtol=1e-5)
  # A known answer: half the images 0.5 off everywhere, half exact.
  fake = np.zeros([2, R, R, 3], np.float32)
  fake[0] = 0.5
  assert float(dnb.pixel_loss(np.zeros_like(fake), fake)) == 0.125


def two_layer_model():
  keras.utils.set_random_seed(3)
  inputs = keras.Input((R, R, 3))
  hidden = keras.layers.Dense(5, name="a")(keras.layers.Flatten()(inputs))
  return keras.Model(inputs, keras.layers.Dense(2, name="b")(hidden))


def test_feature_loss_uses_the_configured_comparator():
  model = two_layer_model()
  real, fake = images_like(0), images_like(1)
  (w_a, b_a), (w_b, b_b) = [model.get_layer(n).get_weights() for n in "ab"]
  features = {"a": lambda x: x.reshape(B, -1) @ w_a + b_a}
  features["b"] = lambda x: features["a"](x) @ w_b + b_b
  losses = {}
  for layer in ("a", "b"):
    expected = np.mean((features[layer](fake) - features[layer](real)) ** 2)
    comparator = dnb.Comparator(model, layer=layer)
    losses[layer] = float(dnb.feature_loss(comparator, real, fake))
    np.testing.assert_allclose(losses[layer], expected, rtol=1e-4)
  assert abs(losses["a"] - losses["b"]) > 1e-3 * losses["a"]
  # No layer: the model's output (here layer b's).
  np.testing.assert_allclose(
      float(dnb.feature_loss(dnb.Comparator(model), real, fake)), losses["b"],
      rtol=1e-5)
  assert float(dnb.feature_loss(dnb.Comparator(model), real, real)) == 0.0


def test_the_classifiers_penultimate_features_are_its_global_pool():
  classifier = analysis_models.tiny_classifier(4)
  comparator = dnb.configured_comparator(classifier)
  assert comparator.layer == "pool"
  images = images_like(2)
  relu = keras.Model(classifier.keras_model.input,
                     classifier.keras_model.get_layer("final_relu").output)
  np.testing.assert_allclose(comparator(images).numpy(),
                             relu(images).numpy().mean(axis=(1, 2)),
                             rtol=1e-5, atol=1e-6)
  config.parse([], ["comparator.layer = 'final_relu'"])
  inner = dnb.configured_comparator(classifier)
  assert inner.layer == "final_relu"
  assert inner.feature_shape(R) == (None, R // 8, R // 8, 16)


def tiny_model(classifier=None, **weights):
  classifier = classifier or analysis_models.tiny_classifier(4)
  return dnb.DosovitskiyBrox(
      N_C, classifier, comparator=dnb.Comparator.of_classifier(classifier),
      generator=tiny_decoder(), discriminator=Discriminator(
          ch=4, blocks_with_attention=""), use_ema=False, **weights)


def traced_step(seed, **weights):
  """(model, real images, logits, noise, gradients, metrics) of one traced
  decoder step. Traced, as the trainer runs it: TensorFlow 2.21's eager
  convolution gradient (oneDNN) corrupts the heap on the small ResNet."""
  classifier = analysis_models.tiny_classifier(4)
  model = tiny_model(classifier, **weights)
  images = images_like(seed)
  logits, noise = classifier(images), tf.zeros([B, 3])
  gradients, metrics = tf.function(model.generator_gradients)(
      logits, noise, 0.5, images)
  return model, images, logits, noise, gradients, metrics


@pytest.mark.slow  # Traces a decoder step.
def test_weights_scale_the_terms():
  model, images, logits, noise, _, metrics = traced_step(
      5, pixel_loss_weight=0.5, feature_loss_weight=3.0,
      adversarial_loss_weight=7.0)
  fake = model.generator(logits, noise).numpy()
  pool = model.comparator.model
  pixel = np.mean((fake - images) ** 2)
  feature = np.mean((pool(fake).numpy() - pool(images).numpy()) ** 2)
  np.testing.assert_allclose(float(metrics["g_pixel"]), pixel, rtol=1e-4)
  np.testing.assert_allclose(float(metrics["g_feature"]), feature, rtol=1e-4)
  np.testing.assert_allclose(
      float(metrics["g_loss"]), 7.0 * float(metrics["g_adversarial"])
      + 0.5 * pixel + 3.0 * feature, rtol=1e-5)
  assert set(metrics) | set(gan.METRICS) == set(model.metric_names)


@pytest.mark.slow  # Traces a decoder step.
def test_gradients_are_those_of_the_weighted_loss():
  """With only the pixel term, the decoder's gradients are those of
  2 x L_img (times the replica scale 0.5) computed with a tape here."""
  model, images, logits, noise, gradients, _ = traced_step(
      6, pixel_loss_weight=2.0, feature_loss_weight=0.0,
      adversarial_loss_weight=0.0)
  with tf.GradientTape() as tape:
    loss = 0.5 * 2.0 * tf.reduce_mean(
        tf.square(model.generator(logits, noise) - images))
  expected = tape.gradient(loss, model.generator.trainable_variables)
  assert len(gradients) == len(expected) == 12
  for got, want in zip(gradients, expected):
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4,
                               atol=1e-7)


def test_defaults_are_the_papers_weights():
  model = tiny_model()
  assert model.settings()["adversarial_loss_weight"] == 100.0
  # Per value: λ ½ N s² for N values on a scale s times ours.
  np.testing.assert_allclose(model.settings()["feature_loss_weight"],
                             0.01 / 2 * 13 * 13 * 256)
  np.testing.assert_allclose(model.settings()["pixel_loss_weight"],
                             2e-6 / 2 * 227 * 227 * 3 * 127.5 ** 2)
  assert round(model.settings()["pixel_loss_weight"]) == 2513
  assert model.method == "dosovitskiy_brox" and model.deterministic
  assert not gan.LogitGAN.deterministic


def test_a_comparator_without_the_configured_layer_is_refused():
  with pytest.raises(ValueError, match=r"no layer 'conv5'.*layers are "
                     r"\[.*'a', 'b'\]"):
    dnb.Comparator(two_layer_model(), layer="conv5")
  config.parse([], ["comparator.layer = 'conv5'"])
  with pytest.raises(ValueError, match="no layer 'conv5'.*'pool'"):
    dnb.configured_comparator(analysis_models.tiny_classifier(4))


def test_a_comparator_that_cannot_take_the_images_is_refused():
  inputs = keras.Input((R, R, 1))  # Greyscale: not the decoder's RGB.
  model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="c")(inputs))
  classifier = analysis_models.tiny_classifier(4)
  with pytest.raises(ValueError, match=r"cannot take the decoder's images "
                     r"\[B, 16, 16, 3\]"):
    dnb.DosovitskiyBrox(N_C, classifier, comparator=dnb.Comparator(model),
                        generator=tiny_decoder(),
                        discriminator=Discriminator(ch=4))


@pytest.mark.parametrize("arguments, message", [
    (dict(resolution=24), "power of two"),
    (dict(channels=(8,)), "give 2 positive widths"),
    (dict(initializer="he"), "choose one of"),
    (dict(z_dim=0), "z_dim >= 1"),
])
def test_bad_decoder_arguments(arguments, message):
  with pytest.raises(ValueError, match=message):
    DecoderGenerator(**{"resolution": R, **arguments})


def test_bad_weights_comparator_path_and_method():
  with pytest.raises(ValueError, match="pixel_loss_weight = -1"):
    tiny_model(pixel_loss_weight=-1.0)
  with pytest.raises(ValueError, match="every loss weight is 0"):
    tiny_model(pixel_loss_weight=0.0, feature_loss_weight=0.0,
               adversarial_loss_weight=0.0)
  config.parse([], ["comparator.path = '/nonexistent/c.keras'"])
  with pytest.raises(FileNotFoundError, match="comparator.path"):
    dnb.configured_comparator(analysis_models.tiny_classifier(4))
  with pytest.raises(ValueError, match=r"'gan'.*\['dosovitskiy_brox', "
                     r"'logit_gan'\]"):
    methods.get("gan")


# A tiny D&B run: trainer_runs' tiny shapes run with the decoder.
DNB_BINDINGS = {
    "train.method": "'dosovitskiy_brox'",
    "DecoderGenerator.resolution": str(trainer_runs.RESOLUTION),
    "DecoderGenerator.fc_units": "(16,)",
    "DecoderGenerator.seed_channels": "8",
    "DecoderGenerator.channels": "(8, 8)",
    "DecoderGenerator.z_dim": "2",
    "GAN.disc_iters": "1", "GAN.fresh_generator_batch": "False",
    "loss.fn": "@non_saturating",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_shapes_data_dir):
  """Two steps, then resumed for a third."""
  root = tmp_path_factory.mktemp("dosovitskiy_brox")
  data = tiny_shapes_data_dir
  results = {
      "first": trainer_runs.run(root, data, **DNB_BINDINGS),
      "resumed": trainer_runs.run(root, data, **DNB_BINDINGS,
                                  **{"train.training_steps": "3"})}
  gin.clear_config()
  return root, results


@pytest.mark.slow
def test_trains_resumes_and_records_the_method(runs):
  root, results = runs
  assert (results["first"]["step"], results["resumed"]["step"]) == (2, 3)
  for name in ("g_adversarial", "g_pixel", "g_feature"):
    assert np.isfinite(results["resumed"][name]), name
  assert results["resumed"]["g_pixel"] > 0 and results["resumed"][
      "g_feature"] > 0
  # The second run started from step 2: it kept the first's evaluation.
  assert [entry["step"] for entry in run_dir_lib.read_metrics(
      str(root))] == [2, 3]
  values = trainer_runs.checkpoint_values(root, 3)
  assert trainer_runs.group(values, "generator")
  assert trainer_runs.group(values, "ema_generator")
  record = run_dir_lib.read_record(str(root))
  assert record.method == "dosovitskiy_brox"
  assert record.generator["fc_units"] == [16]
  assert record.gan["adversarial_loss_weight"] == 100.0


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory):
  """(loaded run, version dir, reference arrays saved beside it)."""
  root, _ = runs
  run = trained.load(str(root))
  export_dir = tmp_path_factory.mktemp("dnb_exports") / "dnb"
  version = pathlib.Path(export.export(
      run.model.inference_generator, str(export_dir),
      metadata=export.run_metadata(run), classifier=run.classifier,
      eval_distribution=run.model.eval_distribution))
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 3, [B, N_C]).astype(np.float32)
  images = rng.integers(0, 256, [B, R, R, 3], dtype=np.uint8)
  decoder = run.model.inference_generator
  reference = {
      "logits": logits, "images": images,
      "noise_a": rng.normal(size=[B, 2]).astype(np.float32),
      "noise_b": rng.normal(size=[B, 2]).astype(np.float32),
      "decoded": decoder(logits, tf.zeros([B, 2])).numpy(),
      "from_pixels": decoder(run.classifier(images / 127.5 - 1),
                             tf.zeros([B, 2])).numpy()}
  np.savez(export_dir / "reference.npz", **reference)
  return run, version, reference


@pytest.mark.slow
def test_loaded_run_is_the_baseline(exported):
  run, version, reference = exported
  assert isinstance(run.model, dnb.DosovitskiyBrox)
  assert isinstance(run.model.inference_generator, DecoderGenerator)
  assert run.step == 3
  model = inversion.load(str(version.parent))
  assert model.method == "dosovitskiy_brox" and model.deterministic
  np.testing.assert_allclose(
      model.reconstruct(reference["logits"], reference["noise_a"]),
      reference["decoded"], atol=1e-5)


@pytest.mark.slow
def test_export_loads_without_logit_gan_and_ignores_the_noise(exported):
  _, version, _ = exported
  code = textwrap.dedent(f"""
      import numpy as np, tensorflow as tf
      ref = np.load({str(version.parent / 'reference.npz')!r})
      model = tf.saved_model.load({str(version)!r})
      run = model.signatures["serving_default"]
      seeded = model.signatures["reconstruct_from_logits_seeded"]
      logits = tf.constant(ref["logits"])
      out = {{name: run(logits=logits, noise=tf.constant(ref[name]))[
          "images_float"].numpy() for name in ("noise_a", "noise_b")}}
      out["seeded"] = seeded(logits=logits, seed=tf.constant(
          [5, 6, 7], tf.int64))["images_float"].numpy()
      out["from_pixels"] = model.signatures["reconstruct"](
          images=tf.constant(ref["images"]))["reconstructions_float"].numpy()
      d = model.describe()
      out["method"] = d["method"].numpy().decode()
      out["deterministic"] = d["deterministic"].numpy()
      np.savez({str(version.parent / 'reloaded.npz')!r}, **out)
      """)
  result = run_isolated(code, version.parent)
  assert result.returncode == 0, result.stderr[-3000:]
  ref = np.load(version.parent / "reference.npz")
  out = np.load(version.parent / "reloaded.npz")
  for name in ("noise_a", "noise_b", "seeded"):
    np.testing.assert_allclose(out[name], ref["decoded"], atol=1e-5,
                               err_msg=name)
  np.testing.assert_allclose(out["from_pixels"], ref["from_pixels"],
                             atol=1e-4)
  assert str(out["method"]) == "dosovitskiy_brox"
  assert int(out["deterministic"]) == 1
