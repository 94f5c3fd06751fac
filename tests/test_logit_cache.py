"""The logit cache: round trip, equality with fresh logits, refusals."""

import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from logit_gan.data import logit_cache
from logit_gan.data import pipeline

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
  # Training batches keep their static size (TPUs compile for it).
  training = logit_cache.read(str(tmp_path / "cache"), classifier_name="tiny",
                              classifier_fingerprint=None, dataset=DATASET,
                              batch_size=4)
  assert [spec.shape.as_list() for spec in training.element_spec] == [
      [4, 16, 16, 3], [4, 5], [4]]


@pytest.mark.parametrize("examples_per_shard", [12, 5])  # 1 and 3 files.
def test_input_pipelines_partition_the_cache(tmp_path, examples_per_shard):
  """Two pipelines (workers) read disjoint parts that together are the
  cache, whether there are fewer files than pipelines or not."""
  classifier = tiny_classifier()
  logit_cache.write(classifier, batches(), str(tmp_path / "cache"),
                    classifier_name="tiny", dataset=DATASET,
                    examples_per_shard=examples_per_shard)
  def rows(context):
    ds = logit_cache.read(str(tmp_path / "cache"), classifier_name="tiny",
                          classifier_fingerprint=None, dataset=DATASET,
                          batch_size=2, shuffle=False, repeat=False,
                          input_context=context)
    return {tuple(row) for _, logits, _ in ds for row in logits.numpy()}

  parts = [rows(tf.distribute.InputContext(num_input_pipelines=2,
                                           input_pipeline_id=i,
                                           num_replicas_in_sync=2))
           for i in range(2)]
  everything = rows(None)
  assert len(everything) == 12
  assert parts[0] and parts[1] and not parts[0] & parts[1]
  assert parts[0] | parts[1] == everything


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
  stored = logit_cache.fingerprint(a, 16).tolist()
  assert logit_cache.fingerprint_difference(
      stored, logit_cache.fingerprint(a, 16)) == 0.0
  assert logit_cache.fingerprint_difference(
      stored, logit_cache.fingerprint(b, 16)) > logit_cache.FINGERPRINT_TOLERANCE


@pytest.mark.parametrize("scale, accepted", [(1.01, True), (1.5, False)])
def test_fingerprint_tolerates_small_numerical_differences(tmp_path, scale,
                                                           accepted):
  """The same classifier computed otherwise (other hardware, bfloat16)
  moves its logits a little; a 1% change is accepted, 50% refused."""
  classifier = tiny_classifier()
  write(tmp_path, classifier)
  moved = logit_cache.fingerprint(classifier, 16) * scale
  info = logit_cache.read_info(str(tmp_path / "cache"))
  check = lambda: logit_cache.check(info, classifier_name="tiny",
                                    classifier_fingerprint=moved,
                                    dataset=DATASET)
  if accepted:
    check()
  else:
    with pytest.raises(logit_cache.CacheMismatchError, match="other weights"):
      check()


def test_version_1_caches_are_refused_with_how_to_rebuild(tmp_path):
  classifier = tiny_classifier()
  write(tmp_path, classifier)
  path = tmp_path / "cache" / "cache.json"
  fields = json.loads(path.read_text())
  # A version-1 cache.json: a hash of the probe logits.
  fields["classifier_fingerprint"] = "0123456789abcdef"
  fields["format_version"] = 1
  path.write_text(json.dumps(fields))
  with pytest.raises(ValueError, match=r"version-1 logit cache.*"
                     r"rebuild it with bin/cache_logits"):
    logit_cache.read_info(str(tmp_path / "cache"))


def test_rejects_non_2d_classifier_output(tmp_path):
  flat = lambda images: tf.reduce_mean(images, axis=[1, 2, 3])
  with pytest.raises(ValueError, match=r"expected \[B, n_c\]"):
    logit_cache.write(flat, batches(), str(tmp_path / "c"),
                      classifier_name="flat", dataset=DATASET)


@pytest.mark.slow
def test_cache_split_over_a_pipeline_equals_fresh_logits(tmp_path,
                                                        monkeypatch):
  from logit_gan.classifiers import zoo
  totals = []  # The progress bar's total, for its ETA.
  real_write = logit_cache.write
  monkeypatch.setattr(logit_cache, "write", lambda *a, **kw: (
      totals.append(kw.get("total_batches")), real_write(*a, **kw))[1])
  keras.utils.set_random_seed(0)
  classifier = zoo.Classifier.from_keras(
      zoo.small_resnet(100, resolution=32, width=8), name="mini",
      input_size=32)
  with tfds.testing.mock_data(num_examples=10):
    info = logit_cache.cache_split(
        classifier, str(tmp_path / "c"),
        spec=pipeline.DatasetSpec("cifar100", str(tmp_path / "data")),
        split="test", resolution=32, batch_size=4)
  assert info.num_examples == 10 and info.classifier_name == "mini"
  assert totals == [3]  # 10 examples in batches of 4.
  images, logits, _ = next(iter(logit_cache.read(
      str(tmp_path / "c"), classifier_name="mini",
      classifier_fingerprint=logit_cache.fingerprint(classifier, 32),
      dataset=logit_cache.DatasetId("cifar100", "test", 32), batch_size=10,
      shuffle=False, repeat=False)))
  np.testing.assert_allclose(logits, classifier(images), rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # A subprocess importing TensorFlow.
def test_cache_logits_refuses_its_removed_flags_with_the_gin_bindings(
    tmp_path):
  repo = pathlib.Path(__file__).resolve().parents[1]
  ran = subprocess.run(
      [sys.executable, str(repo / "bin" / "cache_logits"), "--dataset=shapes",
       "--data_dir=/tmp/tfds", f"--output_dir={tmp_path}"],
      capture_output=True, text=True, timeout=300, cwd=repo)
  assert ran.returncode != 0
  for binding in ("dataset.name = 'shapes'", "dataset.data_dir = '/tmp/tfds'"):
    assert f'--gin_bindings="{binding}"' in ran.stderr, ran.stderr[-2000:]
  assert not list(tmp_path.iterdir())  # Nothing was cached.
