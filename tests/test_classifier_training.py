"""Classifier training end to end on mock data: files, metrics, attacks."""

import json

import gin
import pytest
import tensorflow_datasets as tfds

from logit_gan.classifiers import training
from logit_gan.classifiers import zoo


@pytest.mark.parametrize("method", ["none", "pgd", "fgsm"])
def test_train_writes_classifier_metrics_and_config(tmp_path, method):
  attack = None if method == "none" else training.Attack(
      method=method, epsilon=0.1, step_size=0.05, steps=2)
  with tfds.testing.mock_data(num_examples=40):
    metrics = training.train(
        str(tmp_path), dataset_name="cifar100", resolution=32,
        data_dir=str(tmp_path / "data"), num_classes=100, steps=3,
        batch_size=8, adversarial_training=attack,
        clean_warmup_steps=1, epsilon_ramp_steps=2,
        eval_attack=training.Attack(epsilon=0.1, step_size=0.05, steps=2),
        eval_examples=16)
  saved = json.loads((tmp_path / "metrics.json").read_text())
  assert saved == metrics
  assert 0.0 <= metrics["attacked_accuracy"] <= 1.0
  assert 0.0 <= metrics["clean_accuracy"] <= 1.0
  assert (metrics["adversarial_training"] or {}).get("method",
                                                     "none") == method
  classifier = zoo.load(str(tmp_path / "classifier.keras"))
  assert classifier.num_classes == 100
  assert (tmp_path / "operative.gin").exists()


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
  import numpy as np
  import tensorflow as tf
  model = zoo.small_resnet(10, resolution=32, width=4)
  images = tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -0.5, 0.5)
  labels = tf.constant([0, 1, 2, 3])
  attack = training.Attack(method="pgd", epsilon=0.2, step_size=0.1, steps=3)
  model_fn = lambda x: model(x, training=False)
  half = attack(model_fn, images, labels, tf.constant([0, 1]), strength=0.5)
  full = attack(model_fn, images, labels, tf.constant([0, 1]))
  assert np.max(np.abs(half - images)) <= 0.1 + 1e-6
  assert np.max(np.abs(full - images)) > 0.1 + 1e-3
