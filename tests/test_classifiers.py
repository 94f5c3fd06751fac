"""The classifier zoo (wrappers, weights, SavedModels, the small ResNet, save
and load, the gin factory) and the adversarial attacks."""

import functools
import pathlib
import sys
import types

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan.classifiers import adversarial
from logit_gan.classifiers import zoo


# Keras' own saving code converts variables with np.array(x, copy=False).
_KERAS_SAVING_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation:DeprecationWarning")


def _images(shape, seed=0):
  return tf.random.stateless_uniform(shape, seed=[seed, 1], minval=-1.0,
                                     maxval=1.0)


def _tiny_model(size=8, num_classes=5):
  return keras.Sequential([
      keras.Input((size, size, 3)),
      keras.layers.Conv2D(4, 3, activation="relu"),
      keras.layers.GlobalAveragePooling2D(),
      keras.layers.Dense(num_classes)])


def _linear_model(size=4, num_classes=5):
  return keras.Sequential([keras.Input((size, size, 3)),
                           keras.layers.Flatten(),
                           keras.layers.Dense(num_classes)])


def _cross_entropy(classifier, images, labels):
  return float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels, logits=classifier(images))))


# keras.applications.


@pytest.mark.slow  # Builds ResNet-152 V2 and Inception V3 (25-50 s each).
@pytest.mark.parametrize("name,native_size", [("resnet152v2", 224),
                                              ("inception_v3", 299)])
def test_application_logits_and_input_gradient(name, native_size):
  classifier = zoo.keras_application(name, weights=None)
  assert classifier.input_size == native_size
  assert classifier.num_classes == 1000
  assert classifier.trainable_variables == ()
  assert not classifier.keras_model.trainable

  @tf.function
  def logits_and_gradient(images):
    with tf.GradientTape() as tape:
      tape.watch(images)
      logits = classifier(images)
      score = logits[:, 0]
    return logits, tape.gradient(score, images)

  # The paper's 64x64 images, upsampled to the native size inside.
  logits, gradient = logits_and_gradient(_images([1, 64, 64, 3]))
  assert logits.shape == (1, 1000)
  assert np.all(np.isfinite(logits.numpy()))
  assert gradient.shape == (1, 64, 64, 3)
  assert np.abs(gradient.numpy()).max() > 0


@pytest.mark.parametrize("name,file_name", [
    ("resnet152v2", "resnet152v2_weights_tf_dim_ordering_tf_kernels.h5"),
    ("inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5")])
def test_imagenet_weights_offline_says_what_to_put_where(monkeypatch, name,
                                                         file_name):
  def offline(*args, **kwargs):
    raise Exception("URL fetch failure: [Errno -3] name resolution failed")

  monkeypatch.setattr(keras.utils, "get_file", offline)
  monkeypatch.delenv("KERAS_HOME", raising=False)
  with pytest.raises(FileNotFoundError) as error:
    zoo.keras_application(name, weights="imagenet")
  message = str(error.value)
  destination = pathlib.Path.home() / ".keras" / "models" / file_name
  assert str(destination) in message
  assert "storage.googleapis.com" in message and "weights=" in message


def test_missing_weights_file(tmp_path):
  missing = tmp_path / "resnet152v2_weights.h5"
  with pytest.raises(FileNotFoundError, match=str(missing)):
    zoo.keras_application("resnet152v2", weights=str(missing))


@pytest.mark.slow  # Builds Inception V3 three times.
@_KERAS_SAVING_WARNING
def test_weights_from_a_file_and_from_the_keras_cache(tmp_path, monkeypatch):
  source = zoo.keras_application("inception_v3", weights=None, input_size=75)
  path = tmp_path / "inception.weights.h5"
  source.keras_model.save_weights(str(path))
  images = _images([2, 40, 40, 3])
  expected = source(images).numpy()

  from_file = zoo.keras_application("inception_v3", weights=str(path),
                                    input_size=75)
  np.testing.assert_allclose(from_file(images), expected, atol=1e-4)

  monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: str(path))
  from_cache = zoo.keras_application("inception_v3", weights="imagenet",
                                     input_size=75)
  np.testing.assert_allclose(from_cache(images), expected, atol=1e-4)
  # preprocess_input maps [0, 255] back to [-1, 1] ('tf' mode), and images
  # are resized bilinearly to the input size.
  resized = tf.image.resize(images, [75, 75], method="bilinear")
  np.testing.assert_allclose(source.keras_model(resized), expected, atol=1e-4)


def test_weights_urls_are_keras_own():
  from keras.src.applications import inception_v3, resnet
  resnet152v2 = zoo.APPLICATIONS["resnet152v2"]
  assert resnet152v2.weights_url == (resnet.BASE_WEIGHTS_PATH
                                     + resnet152v2.weights_file)
  assert resnet152v2.weights_md5 == resnet.WEIGHTS_HASHES["resnet152v2"][0]
  assert zoo.APPLICATIONS["inception_v3"].weights_url == (
      inception_v3.WEIGHTS_PATH)


# The Classifier wrapper's checks.


@pytest.mark.parametrize("head,rank", [
    (keras.layers.Conv2D(4, 3), 4),
    (keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=[1, 2, 3])), 1)])
def test_output_that_is_not_logits_raises(head, rank):
  model = keras.Sequential([keras.Input((8, 8, 3)), head])
  with pytest.raises(ValueError, match=f"{rank}-D output"):
    zoo.Classifier.from_keras(model)


@pytest.mark.parametrize("images,problem", [
    (tf.zeros([8, 8, 3]), "shape"),
    (tf.zeros([1, 8, 8, 1]), "shape"),
    (tf.zeros([1, 8, 8, 3], tf.uint8), "dtype")])
def test_bad_images_raise(images, problem):
  classifier = zoo.Classifier.from_keras(_tiny_model())
  with pytest.raises(ValueError, match=problem):
    classifier(images)


def test_any_input_size_is_resized():
  classifier = zoo.Classifier.from_keras(_tiny_model())
  for shape in ([3, 8, 8, 3], [3, 5, 7, 3], [3, 32, 32, 3]):
    assert classifier(_images(shape)).shape == (3, 5)


# SavedModel.


class _Exported(tf.Module):
  """A SavedModel taking [0, 1] images, as most published models do."""

  def __init__(self, model, outputs="logits"):
    super().__init__()
    self.model = model
    self.outputs = outputs

  @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32)])
  def __call__(self, images):
    logits = self.model(images * 2.0 - 1.0, training=False)
    if self.outputs == "maps":
      return tf.reshape(logits, [-1, 1, 1, logits.shape[-1]])
    if self.outputs == "dict":
      return {"logits": logits, "probabilities": tf.nn.softmax(logits)}
    return logits


def test_saved_model_round_trip(tmp_path):
  model = _tiny_model()
  expected = model(_images([2, 8, 8, 3]), training=False).numpy()
  tf.saved_model.save(_Exported(model), str(tmp_path / "module"))
  classifier = zoo.saved_model(str(tmp_path / "module"), input_size=8)
  assert classifier.num_classes == 5
  np.testing.assert_allclose(classifier(_images([2, 8, 8, 3])), expected,
                             atol=1e-5)

  images = _images([2, 16, 16, 3])
  with tf.GradientTape() as tape:
    tape.watch(images)
    logits = classifier(images)
  assert np.abs(tape.gradient(logits, images).numpy()).max() > 0


def test_saved_model_signature_from_export_archive(tmp_path):
  model = _tiny_model()
  archive = keras.export.ExportArchive()
  archive.track(model)
  archive.add_endpoint(
      "serve", lambda images: model(images, training=False),
      input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32)])
  archive.write_out(str(tmp_path / "archive"), verbose=False)
  classifier = zoo.saved_model(str(tmp_path / "archive"), input_size=8,
                               signature="serving_default",
                               input_range=(-1, 1), num_classes=5)
  images = _images([3, 8, 8, 3])
  np.testing.assert_allclose(classifier(images),
                             model(images, training=False), atol=1e-5)
  logits = tf.function(classifier)(images)
  np.testing.assert_allclose(logits, model(images, training=False), atol=1e-5)


def test_saved_model_outputs_are_checked(tmp_path):
  model = _tiny_model()
  tf.saved_model.save(_Exported(model, "maps"), str(tmp_path / "maps"))
  with pytest.raises(ValueError, match="4-D output"):
    zoo.saved_model(str(tmp_path / "maps"), input_size=8)

  tf.saved_model.save(_Exported(model, "dict"), str(tmp_path / "dict"))
  with pytest.raises(ValueError, match="output_key"):
    zoo.saved_model(str(tmp_path / "dict"), input_size=8)
  classifier = zoo.saved_model(str(tmp_path / "dict"), input_size=8,
                               output_key="logits")
  assert classifier(_images([1, 8, 8, 3])).shape == (1, 5)
  with pytest.raises(ValueError, match="num_classes=7"):
    zoo.saved_model(str(tmp_path / "dict"), input_size=8,
                    output_key="logits", num_classes=7)


def test_saved_model_missing_directory(tmp_path):
  with pytest.raises(FileNotFoundError, match="No SavedModel directory"):
    zoo.saved_model(str(tmp_path / "nowhere"), input_size=8)
  with pytest.raises(FileNotFoundError, match="saved_model.pb"):
    zoo.saved_model(str(tmp_path), input_size=8)


def test_saved_model_from_a_remote_path_and_a_hub_handle(tmp_path,
                                                         monkeypatch):
  # TF's in-memory filesystem stands in for gs://: such paths must reach
  # tf.io.gfile whole (pathlib made 'ram:/...' of them) and not TF-Hub.
  monkeypatch.chdir(tmp_path)  # Where a mangled path would land.
  remote = f"ram://cls_test/{tmp_path.name}"
  model = _tiny_model()
  tf.saved_model.save(_Exported(model), f"{remote}/module")
  resolved = []

  def resolve(handle):
    resolved.append(handle)
    return f"{remote}/module"

  monkeypatch.setitem(sys.modules, "tensorflow_hub",
                      types.SimpleNamespace(resolve=resolve))
  images = _images([2, 8, 8, 3])
  expected = model(images, training=False)
  classifier = zoo.saved_model(f"{remote}/module", input_size=8)
  assert classifier.name == "module" and not resolved
  np.testing.assert_allclose(classifier(images), expected, atol=1e-5)

  handle = "https://tfhub.dev/owner/classifier/1"
  from_hub = zoo.saved_model(handle, input_size=8)
  assert resolved == [handle]
  np.testing.assert_allclose(from_hub(images), expected, atol=1e-5)
  with pytest.raises(FileNotFoundError,
                     match=f"No SavedModel directory at {remote}/nowhere"):
    zoo.saved_model(f"{remote}/nowhere", input_size=8)


# The small ResNet, save and load, gin.


def test_small_resnet_shape_and_parameter_count():
  model = zoo.small_resnet(10)  # 32x32, width 32, one block per stage.
  assert model(_images([2, 32, 32, 3]), training=False).shape == (2, 10)

  def block(c_in, c_out):  # BN(c_in), 1x1 shortcut, conv, BN(c_out), conv.
    return 2 * c_in + c_in * c_out + 9 * c_in * c_out + 2 * c_out + (
        9 * c_out * c_out)

  stem = 3 * 3 * 3 * 32
  stages = block(32, 32) + block(32, 64) + block(64, 128)
  head = 2 * 128 + 128 * 10 + 10  # Final BN, Dense.
  assert stem + stages + head == 309_290
  trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
  assert trainable == 309_290

  classifier = zoo.Classifier.from_keras(model)
  assert classifier.input_size == 32 and classifier.trainable_variables == ()
  with pytest.raises(ValueError, match="divisible"):
    zoo.small_resnet(10, resolution=28, blocks_per_stage=(1, 1, 1))


@_KERAS_SAVING_WARNING
def test_save_and_load(tmp_path):
  model = zoo.small_resnet(4, resolution=16, width=8)
  images = _images([3, 16, 16, 3])
  expected = model(images, training=False).numpy()
  path = tmp_path / "run" / "classifier.keras"
  zoo.save(model, str(path))
  classifier = zoo.load(str(path))
  assert classifier.num_classes == 4 and classifier.name == "small_resnet"
  np.testing.assert_allclose(classifier(images), expected, atol=1e-5)

  with pytest.raises(ValueError, match=r"\.keras"):
    zoo.save(model, str(tmp_path / "classifier.h5"))
  with pytest.raises(FileNotFoundError, match="No classifier file"):
    zoo.load(str(tmp_path / "missing.keras"))
  corrupt = tmp_path / "corrupt.keras"
  corrupt.write_bytes(b"not a zip archive")
  with pytest.raises(ValueError, match="not a readable Keras model"):
    zoo.load(str(corrupt))


@_KERAS_SAVING_WARNING
def test_save_and_load_a_remote_path(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # Where a mangled path would land.
  remote = f"ram://cls_test/{tmp_path.name}"
  model = zoo.small_resnet(4, resolution=16, width=8)
  images = _images([2, 16, 16, 3])
  zoo.save(model, f"{remote}/run/classifier.keras")
  assert tf.io.gfile.exists(f"{remote}/run/classifier.keras")
  classifier = zoo.load(f"{remote}/run/classifier.keras")
  np.testing.assert_allclose(classifier(images),
                             model(images, training=False), atol=1e-5)
  with pytest.raises(FileNotFoundError,
                     match=f"No classifier file at {remote}/missing.keras"):
    zoo.load(f"{remote}/missing.keras")


def test_build_classifier_from_gin(tmp_path):
  gin.parse_config(["classifier.name = 'small_resnet'",
                    "classifier.num_classes = 3",
                    "classifier.resolution = 16",
                    "classifier.width = 8"])
  classifier = zoo.build_classifier()
  assert classifier.num_classes == 3 and classifier.input_size == 16

  with pytest.raises(ValueError, match="Unknown classifier 'resnet50'"):
    zoo.build_classifier("resnet50")
  gin.clear_config()
  with pytest.raises(ValueError, match="No classifier chosen: pass a "
                     "--gin_file.*classifier.name.*small_resnet"):
    zoo.build_classifier()
  with pytest.raises(ValueError, match="num_clases"):
    zoo.build_classifier("small_resnet", num_clases=3)


# Attacks.


def test_pgd_raises_the_loss_inside_the_ball_and_the_pixel_range():
  classifier = zoo.Classifier.from_keras(_tiny_model())
  images = _images([6, 8, 8, 3]).numpy()
  images[:, 0] = 1.0  # Rows at the range's edges, where clipping binds.
  images[:, 1] = -1.0
  images = tf.constant(images)
  labels = tf.argmax(classifier(images), -1, output_type=tf.int32)
  epsilon = adversarial.to_model_units(8 / 255)
  attack = tf.function(functools.partial(
      adversarial.pgd_attack, classifier, epsilon=epsilon,
      step_size=epsilon / 4, steps=10))

  adversarial_images = attack(images, labels, seed=[3, 4])
  distance = np.abs(adversarial_images.numpy() - images.numpy())
  assert distance.max() <= epsilon + 1e-6
  assert adversarial_images.numpy().min() >= -1.0
  assert adversarial_images.numpy().max() <= 1.0
  assert (_cross_entropy(classifier, adversarial_images, labels)
          > _cross_entropy(classifier, images, labels) + 1e-3)

  # Stateless seeds: the same seed gives the same images, another differs.
  np.testing.assert_array_equal(attack(images, labels, seed=[3, 4]),
                                adversarial_images)
  assert np.abs(attack(images, labels, seed=[5, 6]).numpy()
                - adversarial_images.numpy()).max() > 0


def test_pgd_without_steps_or_start_returns_the_images():
  classifier = zoo.Classifier.from_keras(_tiny_model())
  images = _images([2, 8, 8, 3])
  same = adversarial.pgd_attack(classifier, images, tf.constant([0, 1]),
                                epsilon=0.1, step_size=0.01, steps=0,
                                random_start=False)
  np.testing.assert_array_equal(same, images)
  with pytest.raises(ValueError, match="epsilon"):
    adversarial.pgd_attack(classifier, images, tf.constant([0, 1]),
                           epsilon=-0.1, step_size=0.01, steps=1)


def test_fgsm_moves_every_unclipped_pixel_by_epsilon():
  model = _linear_model()  # Its input gradient has no zero entries.
  images = _images([4, 4, 4, 3]).numpy()
  images[:, 0] = 1.0
  images[:, 1] = -1.0
  labels = tf.constant([0, 1, 2, 3])
  epsilon = 0.1
  adversarial_images = tf.function(adversarial.fgsm_attack)(
      model, tf.constant(images), labels, epsilon=epsilon).numpy()

  moved = np.abs(adversarial_images - images)
  interior = np.abs(images) <= 1.0 - epsilon
  np.testing.assert_allclose(moved[interior], epsilon, atol=1e-6)
  clipped = np.abs(adversarial_images) == 1.0
  assert np.all(interior | clipped | np.isclose(moved, epsilon, atol=1e-6))
  assert adversarial_images.min() >= -1.0 and adversarial_images.max() <= 1.0
  assert (_cross_entropy(model, adversarial_images, labels)
          > _cross_entropy(model, images, labels))


def test_adversarial_accuracy():
  classifier = zoo.Classifier.from_keras(_tiny_model())
  images = _images([16, 8, 8, 3])
  labels = tf.argmax(classifier(images), -1, output_type=tf.int32)
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
  assert adversarial.adversarial_accuracy(classifier, dataset) == 1.0
  attack = functools.partial(adversarial.pgd_attack, epsilon=0.5,
                             step_size=0.1, steps=10, seed=0)
  assert adversarial.adversarial_accuracy(classifier, dataset, attack) < 1.0


def test_accuracy_counts_exactly_max_examples():
  classifier = zoo.Classifier.from_keras(_tiny_model())
  images = _images([16, 8, 8, 3])
  predicted = tf.argmax(classifier(images), -1, output_type=tf.int32)
  # The first 12 labels are the predictions, the last 4 are not.
  labels = tf.concat([predicted[:12], (predicted[12:] + 1) % 5], 0)
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
  assert adversarial.adversarial_accuracy(classifier, dataset,
                                          max_examples=12) == 1.0
  assert adversarial.accuracy_and_count(classifier, dataset,
                                        max_examples=12) == (1.0, 12)
  assert adversarial.accuracy_and_count(classifier, dataset,
                                        max_examples=100) == (0.75, 16)
