"""A user's own `.keras` classifier inverted end to end: a tiny greyscale
Keras model saved with `model.save`, a GAN trained two steps on its
penultimate features at 16x16 (bound through gin as a user would), exported
with the classifier, and reconstructions from logits and from pixels with the
loaded SavedModel.

Written against the public entry points (trainer.train through gin, as
trainer_runs.run does; trained.load and export.export, as test_export.py
does), so that it survives changes inside them."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import export
from logit_gan import trained
from trainer_runs import RESOLUTION, run

FEATURES, BATCH = 8, 3
# ITU-R BT.601, typed here rather than read from the package.
BT601 = np.array([0.299, 0.587, 0.114], np.float32)
# Keras' own saving code converts variables with np.array(x, copy=False).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation:DeprecationWarning")


def _user_model():
  """A greyscale 16x16 classifier of 10 classes with a layer 'features'."""
  inputs = keras.Input((RESOLUTION, RESOLUTION, 1), name="grey")
  hidden = keras.layers.Conv2D(4, 3, strides=2, activation="relu",
                               name="conv")(inputs)
  hidden = keras.layers.GlobalAveragePooling2D(name="pool")(hidden)
  features = keras.layers.Dense(FEATURES, activation="tanh",
                                name="features")(hidden)
  logits = keras.layers.Dense(10, name="logits")(features)
  return keras.Model(inputs, logits, name="users_mnist_like")


@pytest.fixture(scope="module")
def user_export(tmp_path_factory, tiny_shapes_data_dir):
  """(the user's model, the loaded export's version directory)."""
  root = tmp_path_factory.mktemp("user_classifier")
  model = _user_model()
  model.save(str(root / "users_model.keras"))
  run(root / "model", tiny_shapes_data_dir,
      **{"classifier.name": "'keras_file'",
         "classifier.path": f"'{root / 'users_model.keras'}'",
         "classifier.input_size": str(RESOLUTION),
         "classifier.channels": "1",
         "classifier.input_range": "(0, 1)",
         "classifier.layer": "'features'",
         "classifier.num_classes": str(FEATURES)})
  loaded_run = trained.load(str(root / "model"))
  assert loaded_run.classifier.num_classes == FEATURES
  version = export.export(
      loaded_run.model.inference_generator, str(root / "exports"),
      metadata={"classifier": loaded_run.classifier.name,
                "training_step": loaded_run.step,
                "gin_config": loaded_run.gin_config},
      classifier=loaded_run.classifier)
  return model, pathlib.Path(version)


@pytest.mark.slow
def test_users_keras_classifier_end_to_end(user_export):
  model, version = user_export
  loaded = tf.saved_model.load(str(version))
  described = loaded.signatures["describe"]()
  assert int(described["num_classes"]) == FEATURES
  assert int(described["resolution"]) == RESOLUTION
  rng = np.random.default_rng(0)

  # From logits (here: the user's penultimate features).
  logits = rng.normal(0, 1, [BATCH, FEATURES]).astype(np.float32)
  noise = rng.normal(size=[BATCH, int(described["z_dim"])]).astype(np.float32)
  out = loaded.signatures["reconstruct_from_logits"](
      logits=tf.constant(logits), noise=tf.constant(noise))
  assert out["images"].dtype == tf.uint8
  assert out["images"].shape == (BATCH, RESOLUTION, RESOLUTION, 3)
  images_float = out["images_float"].numpy()
  assert images_float.dtype == np.float32
  assert images_float.shape == (BATCH, RESOLUTION, RESOLUTION, 3)
  assert np.all(np.isfinite(images_float))
  assert images_float.min() >= -1.0 and images_float.max() <= 1.0

  # From pixels: the bundled classifier is the user's model on the
  # luminance in [0, 1], cut at 'features'.
  pixels = rng.integers(0, 256, [BATCH, RESOLUTION, RESOLUTION, 3],
                        dtype=np.uint8)
  out = loaded.signatures["reconstruct"](images=tf.constant(pixels))
  grey = (pixels.astype(np.float32) / 255.0 @ BT601)[..., None]
  features = keras.Model(model.input, model.get_layer("features").output)
  np.testing.assert_allclose(out["logits"].numpy(), features(grey),
                             rtol=1e-4, atol=1e-4)
  assert out["reconstructions"].dtype == tf.uint8
  assert out["reconstructions"].shape == (BATCH, RESOLUTION, RESOLUTION, 3)
  reconstructions = out["reconstructions_float"].numpy()
  assert np.all(np.isfinite(reconstructions))
  assert reconstructions.min() >= -1.0 and reconstructions.max() <= 1.0
  np.testing.assert_array_equal(out["predicted_class"].numpy(),
                                features(grey).numpy().argmax(-1))
