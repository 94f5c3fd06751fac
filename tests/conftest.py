"""Test setup: two logical CPU devices (for tf.distribute tests), a clean gin
config and fixed seeds for every test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from logit_gan import runtime  # noqa: E402  Loads no TensorFlow.

runtime.configure()  # As bin/ commands do, before TensorFlow loads.

import gin  # noqa: E402
import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must run before TensorFlow initializes its devices, so at import time.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


# The files that take minutes (tracing tiny networks, training runs), longest
# first. `make test` runs pytest-xdist with --dist loadfile, which hands whole
# files to its two workers in collection order: started first, they no
# longer leave one worker busy while the other has finished.
SLOWEST_FILES = ("test_train_interruptions.py", "test_export.py",
                 "test_trainer.py", "test_gan.py", "test_multi_worker.py",
                 "test_user_classifier_export.py",
                 "test_trainer_checkpoints.py", "test_fault_injection.py",
                 "test_classifiers.py", "test_non_finite.py")


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(SLOWEST_FILES)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(autouse=True)
def clean_state():
  gin.clear_config()
  keras.utils.set_random_seed(0)
  yield
  gin.clear_config()


@pytest.fixture(scope="session")
def tiny_shapes_data_dir(tmp_path_factory):
  """A TFDS data dir whose `logit_gan_shapes/32` has 128 training and 32
  test images: a tiny config built, then put where the standard 32x32
  config is read from (so `dataset.name = 'shapes'` reads it)."""
  import tensorflow_datasets as tfds
  from logit_gan.data import shapes
  directory = tmp_path_factory.mktemp("tfds")
  tiny = shapes.make_config(32, train_size=128, test_size=32, name="tiny32")
  tfds.builder(shapes.NAME, config=tiny,
               data_dir=str(directory)).download_and_prepare()
  (directory / shapes.NAME / "tiny32").rename(directory / shapes.NAME / "32")
  return str(directory)


@pytest.fixture(scope="session")
def tiny_exports(tmp_path_factory):
  """{"robust": version dir, "standard": version dir}: two random tiny
  exports (tests/analysis_models.py), 16x16, 10 logits."""
  import analysis_models  # pylint: disable=import-outside-toplevel
  root = str(tmp_path_factory.mktemp("tiny_exports"))
  return {name: analysis_models.tiny_export(root, name, seed)
          for name, seed in (("robust", 1), ("standard", 2))}
