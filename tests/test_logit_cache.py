"""The logit cache: round trip, equality with fresh logits, refusals."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from logit_gan.data import logit_cache

DATASET = logit_cache.DatasetId("shapes", "test", 16)


def tiny_classifier(seed=0, n_c=5):
  keras.utils.set_random_seed(seed)
  return keras.Sequential([keras.Input((16, 16, 3)),
                           keras.layers.Conv2D(4, 3, activation="relu"),
                           keras.layers.GlobalAveragePooling2D(),
                           keras.layers.Dense(n_c)])


def batches(num=3, batch=4):
  rng = np.random.default_rng(0)
  for i in range(num):
    images = rng.uniform(-1, 1, (batch, 16, 16, 3)).astype(np.float32)
    yield tf.constant(images), tf.constant(np.arange(batch) + i, tf.int32)


def write(tmp_path, classifier, **kwargs):
  return logit_cache.write(classifier, batches(), str(tmp_path / "cache"),
                           classifier_name="tiny", dataset=DATASET,
                           examples_per_shard=5, **kwargs)


def test_cached_logits_equal_fresh_logits(tmp_path):
  classifier = tiny_classifier()
  info = write(tmp_path, classifier)
  assert info.num_examples == 12 and len(info.shards) == 3
  ds = logit_cache.read(str(tmp_path / "cache"), classifier_name="tiny",
                        classifier_fingerprint=logit_cache.fingerprint(
                            classifier, 16),
                        dataset=DATASET, batch_size=12, shuffle=False,
                        repeat=False)
  images, logits, labels = next(iter(ds))
  np.testing.assert_allclose(logits, classifier(images), rtol=1e-5,
                             atol=1e-5)
  # The stored images are the inputs, quantized to uint8.
  expected = np.concatenate([b[0].numpy() for b in batches()])
  assert np.abs(images.numpy() - expected).max() <= 1 / 127.5
  assert labels.numpy().tolist() == [0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5]


def test_refuses_another_classifier_or_dataset(tmp_path):
  write(tmp_path, tiny_classifier(seed=0))
  other = logit_cache.fingerprint(tiny_classifier(seed=1), 16)
  read = lambda **kw: logit_cache.read(str(tmp_path / "cache"), batch_size=4,
                                       **kw)
  with pytest.raises(logit_cache.CacheMismatchError, match="other weights"):
    read(classifier_name="tiny", classifier_fingerprint=other,
         dataset=DATASET)
  with pytest.raises(logit_cache.CacheMismatchError, match="'resnet'"):
    read(classifier_name="resnet", classifier_fingerprint=None,
         dataset=DATASET)
  with pytest.raises(logit_cache.CacheMismatchError, match="dataset"):
    read(classifier_name="tiny", classifier_fingerprint=None,
         dataset=logit_cache.DatasetId("shapes", "train", 16))


def test_missing_corrupt_and_existing_cache(tmp_path):
  with pytest.raises(FileNotFoundError, match="cache.json"):
    logit_cache.read_info(str(tmp_path))
  (tmp_path / "cache.json").write_text("{not json")
  with pytest.raises(ValueError, match="corrupt"):
    logit_cache.read_info(str(tmp_path))
  write(tmp_path, tiny_classifier())
  with pytest.raises(FileExistsError):
    write(tmp_path, tiny_classifier())
  info = json.loads((tmp_path / "cache" / "cache.json").read_text())
  assert info["dataset"] == {"name": "shapes", "split": "test",
                             "resolution": 16}


def test_fingerprint_tells_weights_apart():
  a, b = tiny_classifier(seed=0), tiny_classifier(seed=1)
  assert logit_cache.fingerprint(a, 16) == logit_cache.fingerprint(a, 16)
  assert logit_cache.fingerprint(a, 16) != logit_cache.fingerprint(b, 16)


def test_rejects_non_2d_classifier_output(tmp_path):
  flat = lambda images: tf.reduce_mean(images, axis=[1, 2, 3])
  with pytest.raises(ValueError, match=r"expected \[B, n_c\]"):
    logit_cache.write(flat, batches(), str(tmp_path / "c"),
                      classifier_name="flat", dataset=DATASET)


def test_cache_split_over_a_pipeline_equals_fresh_logits(tmp_path):
  from logit_gan.classifiers import zoo
  keras.utils.set_random_seed(0)
  classifier = zoo.Classifier.from_keras(
      zoo.small_resnet(100, resolution=32, width=8), name="mini",
      input_size=32)
  with tfds.testing.mock_data(num_examples=10):
    info = logit_cache.cache_split(classifier, str(tmp_path / "c"),
                                   dataset_name="cifar100", split="test",
                                   resolution=32, batch_size=4,
                                   data_dir=str(tmp_path / "data"))
  assert info.num_examples == 10 and info.classifier_name == "mini"
  images, logits, _ = next(iter(logit_cache.read(
      str(tmp_path / "c"), classifier_name="mini",
      classifier_fingerprint=logit_cache.fingerprint(classifier, 32),
      dataset=logit_cache.DatasetId("cifar100", "test", 32), batch_size=10,
      shuffle=False, repeat=False)))
  np.testing.assert_allclose(logits, classifier(images), rtol=1e-4, atol=1e-4)
