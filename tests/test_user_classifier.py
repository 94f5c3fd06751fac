"""A classifier of the user's own (a `.keras` file or a SavedModel) with its
preprocessing declared: numerics against independent computations, and the
errors that name the problem and the fix."""

import json

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan.classifiers import keras_file
from logit_gan.classifiers import preprocessing
from logit_gan.classifiers import saved_model
from logit_gan.classifiers import zoo

# Keras' own saving code converts variables with np.array(x, copy=False).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation:DeprecationWarning")

# ITU-R BT.601, typed here rather than read from the module under test.
BT601 = np.array([0.299, 0.587, 0.114], np.float32)


def _images(shape, seed=0):
  return tf.random.stateless_uniform(shape, seed=[seed, 2], minval=-1.0,
                                     maxval=1.0).numpy()


def _saved(model, tmp_path, name="model.keras"):
  path = str(tmp_path / name)
  model.save(path)
  return path


def _pixels_model(size, channels):
  """A "classifier" whose logits are its input pixels, flattened: what it
  returns is exactly the preprocessed image."""
  return keras.Sequential([keras.Input((size, size, channels)),
                           keras.layers.Flatten(name="pixels")],
                          name="pixels_model")


def _features_model(size=8, channels=1):
  inputs = keras.Input((size, size, channels), name="images")
  hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
  hidden = keras.layers.GlobalAveragePooling2D(name="pool")(hidden)
  features = keras.layers.Dense(6, activation="relu", name="features")(hidden)
  logits = keras.layers.Dense(3, name="logits")(features)
  return keras.Model(inputs, logits, name="user_model")


# Numerics.


def test_greyscale_model_gets_the_luminance_in_its_range(tmp_path):
  path = _saved(_pixels_model(4, 1), tmp_path)
  classifier = keras_file.keras_file(path, channels=1, input_range=(0, 1))
  images = _images([2, 4, 4, 3])
  luminance = images @ BT601  # [2, 4, 4], in [-1, 1].
  expected = (luminance + 1) / 2
  np.testing.assert_allclose(classifier(images), expected.reshape(2, 16),
                             atol=1e-6)
  # TensorFlow's own conversion agrees (to its rounded weights).
  grey = tf.image.rgb_to_grayscale((images + 1) / 2).numpy()
  np.testing.assert_allclose(classifier(images), grey.reshape(2, 16),
                             atol=1e-3)
  assert classifier.num_classes == 16 and classifier.input_size == 4


def test_range_then_mean_and_std_per_channel(tmp_path):
  path = _saved(_pixels_model(2, 3), tmp_path)
  mean, std = [1.0, 2.0, 3.0], [0.5, 2.0, 4.0]
  classifier = keras_file.keras_file(path, input_range=(-2, 6), mean=mean,
                                     std=std)
  images = _images([3, 2, 2, 3])
  in_range = -2 + (images + 1) * 4  # [-1, 1] -> [-2, 6].
  expected = (in_range - np.array(mean)) / np.array(std)
  np.testing.assert_allclose(classifier(images), expected.reshape(3, 12),
                             rtol=1e-5, atol=1e-5)
  # No declaration: [0, 1], as published models mostly take.
  default = keras_file.keras_file(path)
  np.testing.assert_allclose(default(images),
                             ((images + 1) / 2).reshape(3, 12), atol=1e-6)


@pytest.mark.parametrize("name", ["resnet_v2", "inception_v3", "vgg16",
                                  "densenet"])
def test_named_preprocessing_is_keras_applications_own(tmp_path, name):
  path = _saved(_pixels_model(4, 3), tmp_path)
  classifier = keras_file.keras_file(path, preprocessing=name)
  images = _images([2, 4, 4, 3])
  pixels = (images + 1) * 127.5  # [0, 255], what preprocess_input takes.
  module = getattr(keras.applications, name)
  expected = np.asarray(module.preprocess_input(pixels.copy()))
  np.testing.assert_allclose(classifier(images), expected.reshape(2, 48),
                             rtol=1e-5, atol=1e-4)


def test_layer_output_is_the_sub_models(tmp_path):
  model = _features_model()
  path = _saved(model, tmp_path)
  classifier = keras_file.keras_file(path, channels=1, input_range=(0, 1),
                                     layer="features")
  assert classifier.num_classes == 6
  assert classifier.name == "user_model_features"
  images = _images([3, 8, 8, 3])
  preprocessed = ((images @ BT601 + 1) / 2)[..., None]
  features = keras.Model(model.input, model.get_layer("features").output)
  np.testing.assert_allclose(classifier(images), features(preprocessed),
                             atol=1e-5)
  # Without a layer, the final logits; gradients reach the RGB images.
  logits = keras_file.keras_file(path, input_range=(0, 1))
  np.testing.assert_allclose(logits(images), model(preprocessed), atol=1e-5)
  images = tf.constant(_images([2, 16, 16, 3]))
  with tf.GradientTape() as tape:
    tape.watch(images)
    score = tf.reduce_sum(classifier(images))
  assert np.abs(tape.gradient(score, images).numpy()).max() > 0


class _Exported(tf.Module):
  """A greyscale SavedModel with logits and penultimate features."""

  def __init__(self, model):
    super().__init__()
    self.model = model
    self.features = keras.Model(model.input,
                                model.get_layer("features").output)

  @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
  def __call__(self, images):
    return {"logits": self.model(images, training=False),
            "features": self.features(images, training=False)}


def test_saved_model_greyscale_and_layer_as_output_key(tmp_path):
  model = _features_model()
  tf.saved_model.save(_Exported(model), str(tmp_path / "module"))
  images = _images([2, 8, 8, 3])
  preprocessed = 255 * ((images @ BT601 + 1) / 2)[..., None]
  classifier = saved_model.saved_model(
      str(tmp_path / "module"), input_size=8, channels=1,
      input_range=(0, 255), layer="features")
  assert classifier.num_classes == 6
  features = keras.Model(model.input, model.get_layer("features").output)
  np.testing.assert_allclose(classifier(images), features(preprocessed),
                             rtol=1e-5, atol=1e-4)
  with pytest.raises(ValueError, match=r"\['features', 'logits'\], not "
                     "'penultimate'"):
    saved_model.saved_model(str(tmp_path / "module"), input_size=8,
                            channels=1, layer="penultimate")
  with pytest.raises(ValueError, match="Set one"):
    saved_model.saved_model(str(tmp_path / "module"), input_size=8,
                            channels=1, layer="features", output_key="logits")


def test_from_gin_and_again_from_its_json_record(tmp_path):
  model = _features_model()
  path = _saved(model, tmp_path)
  gin.parse_config(["classifier.name = 'keras_file'",
                    f"classifier.path = '{path}'",
                    "classifier.input_size = 8",
                    "classifier.channels = 1",
                    "classifier.input_range = (0, 1)",
                    "classifier.layer = 'features'"])
  classifier = zoo.build_classifier()
  # What a run record stores, and the classifier rebuilt from it.
  record = json.loads(json.dumps(
      {"name": gin.query_parameter("classifier.name"),
       **{key: gin.query_parameter(f"classifier.{key}") for key in
          ("path", "input_size", "channels", "input_range", "layer")}}))
  gin.clear_config()
  rebuilt = zoo.build_classifier(**record)
  images = _images([2, 8, 8, 3])
  np.testing.assert_allclose(rebuilt(images), classifier(images), atol=1e-6)
  assert rebuilt.num_classes == 6


# Errors that name the problem and the fix.


def test_missing_file_and_a_directory(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"No classifier file at .*"
                     r"nope\.keras.*model\.save"):
    keras_file.keras_file(str(tmp_path / "nope.keras"))
  with pytest.raises(ValueError, match="is a directory.*'saved_model'"):
    keras_file.keras_file(str(tmp_path))


def test_unknown_layer_lists_the_layers(tmp_path):
  path = _saved(_features_model(), tmp_path)
  with pytest.raises(ValueError, match=r"no layer 'penultimate'; its layers "
                     r"are \['images', 'conv', 'pool', 'features', 'logits'\]"):
    keras_file.keras_file(path, layer="penultimate")


def test_output_that_is_not_a_vector(tmp_path):
  path = _saved(_features_model(), tmp_path)
  with pytest.raises(ValueError, match=r"'conv' .* 4-D .*\[B, 6, 6, 4\].*"
                     "pooling or flattening"):
    keras_file.keras_file(path, layer="conv")
  maps = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
  with pytest.raises(ValueError, match="4-D output"):
    keras_file.keras_file(_saved(maps, tmp_path, "maps.keras"))


def test_mean_std_and_a_named_preprocessing_conflict(tmp_path):
  path = _saved(_pixels_model(4, 3), tmp_path)
  with pytest.raises(ValueError, match="Both mean/std and preprocessing="
                     "'resnet_v2'.*Drop mean and std, or drop preprocessing"):
    keras_file.keras_file(path, mean=[0.5] * 3, std=[0.2] * 3,
                          preprocessing="resnet_v2")
  with pytest.raises(ValueError, match="input_range.*takes pixels in "
                     r"\[0, 255\]"):
    keras_file.keras_file(path, input_range=(0, 1), preprocessing="vgg16")
  with pytest.raises(ValueError, match="Unknown preprocessing 'resnet_v3'.*"
                     "'resnet_v2'"):
    keras_file.keras_file(path, preprocessing="resnet_v3")
  with pytest.raises(ValueError, match="both mean and std"):
    keras_file.keras_file(path, mean=[0.5] * 3)
  with pytest.raises(ValueError, match="mean has 2 values"):
    keras_file.keras_file(path, mean=[0.5] * 2, std=[0.5] * 2)


def test_channels_must_be_one_or_three(tmp_path):
  two = _saved(_pixels_model(4, 2), tmp_path, "two.keras")
  with pytest.raises(ValueError, match="channels must be 1 .* or 3 .*not 2"):
    keras_file.keras_file(two)
  with pytest.raises(ValueError, match="channels must be 1"):
    preprocessing.declared(channels=4)
  rgb = _saved(_pixels_model(4, 3), tmp_path, "rgb.keras")
  with pytest.raises(ValueError, match=r"classifier.channels = 1, but .*"
                     r"\[B, 4, 4, 3\]; set classifier.channels = 3"):
    keras_file.keras_file(rgb, channels=1)
  with pytest.raises(ValueError, match="classifier.input_size = 8"):
    keras_file.keras_file(rgb, input_size=8)
  grey = _saved(_pixels_model(4, 1), tmp_path, "grey.keras")
  with pytest.raises(ValueError, match="'vgg16' takes RGB images"):
    keras_file.keras_file(grey, preprocessing="vgg16")


def test_arguments_a_run_record_cannot_store_are_refused(tmp_path):
  path = _saved(_pixels_model(4, 3), tmp_path)
  with pytest.raises(ValueError, match=r"classifier.path = PosixPath.*"
                     "cannot be recorded"):
    zoo.build_classifier("keras_file", path=tmp_path / "model.keras")
  assert zoo.build_classifier("keras_file", path=path,
                              input_range=[0, 1]).num_classes == 48
