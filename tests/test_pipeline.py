"""Input pipelines on TFDS mock data, and the missing-dataset error."""

import io
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from logit_gan.data import pipeline


@pytest.mark.parametrize("name,resolution", [
    ("imagenet_64", 64), ("cifar100", 32), ("cifar100", 64), ("mnist", 64),
    ("fashion_mnist", 32)])
def test_batches_in_model_range(tmp_path, name, resolution):
  with tfds.testing.mock_data(num_examples=12):
    ds = pipeline.dataset(pipeline.DatasetSpec(name, str(tmp_path)),
                          split="test", resolution=resolution, batch_size=4)
    images, labels = next(iter(ds))
  assert images.shape == (4, resolution, resolution, 3)
  assert images.dtype == tf.float32 and labels.dtype == tf.int32
  assert -1.0 <= images.numpy().min() and images.numpy().max() <= 1.0
  assert images.numpy().std() > 0.05  # Not a constant image.


def test_grey_images_become_equal_rgb_channels(tmp_path):
  with tfds.testing.mock_data(num_examples=4):
    images, _ = next(iter(pipeline.dataset(
        pipeline.DatasetSpec("mnist", str(tmp_path)), split="train",
        resolution=28, batch_size=2, shuffle=False)))
  np.testing.assert_array_equal(images[..., 0], images[..., 1])
  np.testing.assert_array_equal(images[..., 0], images[..., 2])


def test_range_conversion_round_trips():
  pixels = tf.range(256, dtype=tf.int32)
  back = pipeline.to_uint8(pipeline.to_model_range(tf.cast(pixels, tf.uint8)))
  np.testing.assert_array_equal(back.numpy(), np.arange(256))
  assert pipeline.to_model_range(tf.constant([0, 255], tf.uint8)).numpy(
  ).tolist() == [-1.0, 1.0]


def test_square_resize_crops_the_centre():
  image = np.zeros((4, 8, 1), np.float32)
  image[:, 2:6] = 1.0  # The centre square is all ones, the sides zeros.
  resized = pipeline.square_resize(tf.constant(image), 2).numpy()
  np.testing.assert_allclose(resized, np.ones((2, 2, 1)))


def test_sharded_per_replica_batches(tmp_path):
  context = tf.distribute.InputContext(num_input_pipelines=2,
                                       input_pipeline_id=1,
                                       num_replicas_in_sync=2)
  with tfds.testing.mock_data(num_examples=16):
    images, _ = next(iter(pipeline.dataset(
        pipeline.DatasetSpec("cifar100", str(tmp_path)), split="train",
        resolution=32, batch_size=8, input_context=context)))
  assert images.shape[0] == 4  # The global batch of 8 over 2 replicas.


def test_missing_dataset_says_what_to_download(tmp_path):
  with pytest.raises(pipeline.DatasetNotFoundError,
                     match=r"cifar100.*not prepared.*tfds build cifar100.*"
                     r"dataset.data_dir"):
    pipeline.dataset(pipeline.DatasetSpec("cifar100", str(tmp_path)),
                     split="test")


def test_bad_name_and_split():
  with pytest.raises(ValueError, match="Unknown dataset 'imagenet'"):
    pipeline.dataset(pipeline.DatasetSpec("imagenet"))
  with pytest.raises(ValueError, match="splits"):
    pipeline.dataset(pipeline.DatasetSpec("mnist"), split="validation")


def test_shapes_at_16_are_the_stored_32_images_area_resized(
    tiny_shapes_data_dir):
  """shapes has 32 and 64 configs; 16x16 batches come from the 32 one."""
  read = lambda r: next(iter(pipeline.dataset(
      pipeline.DatasetSpec("shapes", tiny_shapes_data_dir), split="test",
      resolution=r, batch_size=8, shuffle=False)))
  small, small_labels = read(16)
  large, large_labels = read(32)
  assert small.shape == (8, 16, 16, 3)
  np.testing.assert_array_equal(small_labels, large_labels)
  # Area resizing of 2x2 blocks is their mean.
  means = tf.nn.avg_pool2d(large, 2, 2, "VALID")
  np.testing.assert_allclose(small, means, atol=1e-5)


@pytest.mark.parametrize("terminal", [False, True])
def test_building_shapes_draws_tfds_bars_only_on_a_terminal(
    monkeypatch, tmp_path, terminal):
  # TFDS's tqdm bars redraw with carriage returns even into a log file.
  from tensorflow_datasets.core.utils import tqdm_utils
  stderr = io.StringIO()
  stderr.isatty = lambda: terminal
  monkeypatch.setattr(sys, "stderr", stderr)
  bars_while_building = []

  class Unprepared:
    data_dir = str(tmp_path)

    def is_prepared(self):
      return False

    def download_and_prepare(self):
      bars_while_building.append(tqdm_utils._active)

  monkeypatch.setattr(pipeline.tfds, "builder", lambda *a, **kw: Unprepared())
  tfds.display_progress_bar(True)
  pipeline._builder("shapes", 32, str(tmp_path))
  assert bars_while_building == [terminal]
  assert tqdm_utils._active  # The user's setting is restored.
