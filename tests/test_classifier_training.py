"""Classifier training end to end on mock data: files, metrics, attacks."""

import json
import re

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from logit_gan import run_dir
from logit_gan.classifiers import training
from logit_gan.classifiers import zoo
from logit_gan.data import pipeline


MOCK_EXAMPLES = 40  # Per split, under tfds.testing.mock_data.


def _train(output_dir, data_dir, *, attack=None, steps=3, eval_examples=13):
  """A tiny run on mock CIFAR-100 (eval batches of 250 hold whole splits)."""
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    return training.train(
        output_dir, dataset=pipeline.DatasetSpec("cifar100", data_dir),
        resolution=32, num_classes=100, steps=steps,
        batch_size=8, adversarial_training=attack,
        clean_warmup_steps=1, epsilon_ramp_steps=2,
        eval_attack=training.Attack(epsilon=0.1, step_size=0.05, steps=2),
        eval_examples=eval_examples)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["none", "pgd", "fgsm"])
def test_train_writes_classifier_metrics_and_config(tmp_path, method):
  attack = None if method == "none" else training.Attack(
      method=method, epsilon=0.1, step_size=0.05, steps=2)
  metrics = _train(str(tmp_path), str(tmp_path / "data"), attack=attack)
  saved = json.loads((tmp_path / "metrics.json").read_text())
  assert saved == metrics
  assert metrics["eval_examples"] == 13  # Not a multiple of the batch.
  assert 0.0 <= metrics["attacked_accuracy"] <= 1.0
  assert 0.0 <= metrics["clean_accuracy"] <= 1.0
  assert (metrics["adversarial_training"] or {}).get("method",
                                                     "none") == method
  classifier = zoo.load(str(tmp_path / "classifier.keras"))
  assert classifier.num_classes == 100
  assert (tmp_path / run_dir.CONFIG_FILE).exists()


def test_unknown_attack_method():
  with pytest.raises(ValueError, match="'pgd2' is not one of"):
    training.Attack(method="pgd2")


def test_gin_selects_adversarial_training(tmp_path):
  gin.parse_config("""
      train_classifier.adversarial_training = @Attack()
      Attack.method = 'fgsm'
  """)
  bound = gin.query_parameter("train_classifier.adversarial_training")
  assert bound.selector == "Attack"


def test_attack_strength_is_zero_in_warmup_then_ramps_linearly():
  strengths = [training.attack_strength(step, 2, 4) for step in range(8)]
  assert strengths == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
  assert training.attack_strength(0, 0, 0) == 1.0


def test_attack_strength_scales_the_budget():
  model = zoo.small_resnet(10, resolution=32, width=4)
  images = tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -0.5, 0.5)
  labels = tf.constant([0, 1, 2, 3])
  attack = training.Attack(method="pgd", epsilon=0.2, step_size=0.1, steps=3)
  model_fn = lambda x: model(x, training=False)
  half = attack(model_fn, images, labels, tf.constant([0, 1]), strength=0.5)
  full = attack(model_fn, images, labels, tf.constant([0, 1]))
  assert np.max(np.abs(half - images)) <= 0.1 + 1e-6
  assert np.max(np.abs(full - images)) > 0.1 + 1e-3


@pytest.mark.slow
def test_train_writes_to_a_remote_output_dir(tmp_path, monkeypatch):
  # TF's in-memory filesystem stands in for gs://; pathlib made 'ram:/...'
  # of such paths, a local directory (here under tmp_path).
  monkeypatch.chdir(tmp_path)
  output_dir = f"ram://cls_test/{tmp_path.name}/out"
  metrics = _train(output_dir, str(tmp_path / "data"), steps=1,
                   eval_examples=1000)
  with tf.io.gfile.GFile(f"{output_dir}/metrics.json") as file:
    assert json.load(file) == metrics
  # The split is smaller than asked for: the count says what was used.
  assert metrics["eval_examples"] == MOCK_EXAMPLES
  assert tf.io.gfile.exists(f"{output_dir}/{run_dir.CONFIG_FILE}")
  assert zoo.load(f"{output_dir}/classifier.keras").num_classes == 100


@pytest.mark.slow
def test_classifier_is_saved_before_the_evaluations(tmp_path, monkeypatch):
  def failing_evaluate(*args, **kwargs):
    raise RuntimeError("evaluation failed")

  monkeypatch.setattr(training, "evaluate", failing_evaluate)
  with pytest.raises(RuntimeError, match="evaluation failed"):
    _train(str(tmp_path), str(tmp_path / "data"), steps=1)
  assert zoo.load(str(tmp_path / "classifier.keras")).num_classes == 100


class _ZeroAttack(training.Attack):
  """An attack whose images are known: all zeros."""

  def __call__(self, model_fn, images, labels, seed, strength=1.0):
    return tf.zeros_like(images)


@pytest.mark.slow
def test_train_step_trains_on_attacked_images_after_the_warmup():
  model = zoo.small_resnet(4, resolution=8, width=4)
  step = training._train_step_fn(model, keras.optimizers.SGD(0.1),
                                 _ZeroAttack())
  images = tf.random.stateless_uniform([6, 8, 8, 3], [3, 4], -1.0, 1.0)
  labels = tf.constant([0, 1, 2, 3, 0, 1])
  loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

  def loss_on(batch):  # Before the step updates the weights.
    return float(loss_fn(labels, model(batch, training=True)))

  for strength in (0.0, 1.0, 0.5):  # Clean warm-up, full attack, the ramp.
    clean, attacked = loss_on(images), loss_on(tf.zeros_like(images))
    assert abs(clean - attacked) > 1e-3  # Else the test could not tell.
    loss, _ = step(images, labels, tf.constant([0, 1]), tf.constant(strength))
    np.testing.assert_allclose(float(loss), attacked if strength else clean,
                               rtol=1e-5)


@pytest.mark.parametrize("old,new", [
    ("train_classifier.dataset_name = 'shapes'", "dataset.name = 'shapes'"),
    ("train_classifier.data_dir = '/tmp/tfds'",
     "dataset.data_dir = '/tmp/tfds'")])
def test_old_dataset_bindings_are_refused_with_the_new_name(old, new):
  from logit_gan import config
  with pytest.raises(ValueError, match=f"was renamed: bind {re.escape(new)}"):
    config.parse([], [old])


def test_gin_names_the_dataset_of_classifier_training():
  from logit_gan import config
  config.parse(["shapes/classifier_robust.gin"], [])
  assert pipeline.DatasetSpec().name == "shapes"
