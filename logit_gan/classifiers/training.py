"""Standard and adversarial (PGD, FGSM) training of the package's classifiers.

`train` is the gin root of `bin/train_classifier`: it trains a classifier on
a dataset split, evaluates clean and PGD accuracy on the test split, and
writes beside each other in `output_dir` (local, or remote such as gs://):

  classifier.keras      the trained Keras model (images in [-1, 1] ->
                        logits), written before the evaluations so that a
                        failing one does not lose the training run
  metrics.json          clean and PGD accuracy, the attack, the training
                        setup (run_dir.METRICS_FILE)
  operative_config.gin  the gin config that produced them
                        (run_dir.CONFIG_FILE)

Adversarial training (Madry et al. 2017) replaces each training batch by
its PGD (or FGSM, Goodfellow et al. 2015) perturbation inside the L-inf
ball of radius `epsilon`, in the package's [-1, 1] pixel units (8/255 in
[0, 1] units is 16/255 here). Attacks run the model in inference mode, so
they do not move its batch-norm statistics.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Optional

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from logit_gan import progress as progress_lib
from logit_gan import run_dir
from logit_gan.classifiers import adversarial
from logit_gan.classifiers import zoo
from logit_gan.data import pipeline

ATTACKS = ("none", "pgd", "fgsm")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class Attack:
  """An L-inf attack, in [-1, 1] pixel units."""
  method: str = "pgd"
  epsilon: float = 16 / 255
  step_size: float = 4 / 255
  steps: int = 7
  random_start: bool = True

  def __post_init__(self):
    if self.method not in ATTACKS:
      raise ValueError(f"Attack method {self.method!r} is not one of "
                       f"{ATTACKS}.")

  def __call__(self, model_fn, images, labels, seed, strength=1.0):
    """Attacked images; `strength` in [0, 1] scales epsilon and step size
    (the epsilon ramp of adversarial training)."""
    if self.method == "pgd":
      return adversarial.pgd_attack(
          model_fn, images, labels, epsilon=self.epsilon * strength,
          step_size=self.step_size * strength, steps=self.steps,
          random_start=self.random_start, seed=seed)
    if self.method == "fgsm":
      return adversarial.fgsm_attack(model_fn, images, labels,
                                     epsilon=self.epsilon * strength)
    return images


def _inference(model):
  return lambda images: model(images, training=False)


def _train_step_fn(model, optimizer, attack: Attack):
  loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

  @tf.function
  def step(images, labels, seed, strength):
    images = tf.cond(
        strength > 0,
        lambda: attack(_inference(model), images, labels, seed, strength),
        lambda: images)
    with tf.GradientTape() as tape:
      logits = model(images, training=True)
      loss = loss_fn(labels, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    accuracy = tf.reduce_mean(tf.cast(
        tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels),
        tf.float32))
    return loss, accuracy

  return step


def evaluate(model, dataset: tf.data.Dataset, attack: Optional[Attack] = None,
             max_examples: Optional[int] = None) -> tuple[float, int]:
  """Accuracy over `dataset` batches, on attacked images if `attack`, and
  the number of examples evaluated (at most `max_examples`).

  The attack's random start is seeded, so the number is reproducible."""
  attacked = None
  if attack is not None and attack.method != "none":
    seed = tf.constant([0, 1], tf.int32)
    attacked = lambda fn, images, labels: attack(fn, images, labels, seed)
  return adversarial.accuracy_and_count(_inference(model), dataset, attacked,
                                        max_examples=max_examples)


def attack_strength(step: int, clean_warmup_steps: int,
                    epsilon_ramp_steps: int) -> float:
  """The fraction of the full attack budget used at `step`: 0 during the
  clean warm-up, then a linear ramp to 1 over `epsilon_ramp_steps`."""
  if step < clean_warmup_steps:
    return 0.0
  if epsilon_ramp_steps <= 0:
    return 1.0
  return min(1.0, (step - clean_warmup_steps + 1) / epsilon_ramp_steps)


def _optimizer(learning_rate: float, weight_decay: float, steps: int):
  """AdamW with a cosine decay of the learning rate to 0 over `steps`."""
  schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
  return keras.optimizers.AdamW(schedule, weight_decay=weight_decay)


def _fit(model, optimizer, attack: Attack, data: tf.data.Dataset, *,
         steps: int, seed: int, clean_warmup_steps: int,
         epsilon_ramp_steps: int) -> float:
  """Trains `model` for `steps` batches of `data`, attacked by `attack`
  after the warm-up and ramp (`attack_strength`); returns the seconds the
  training took. Raises FloatingPointError when the loss is not finite."""
  step = _train_step_fn(model, optimizer, attack)
  progress = progress_lib.Progress(steps)
  start = time.time()
  for i, (images, labels) in enumerate(data.take(steps)):
    strength = attack_strength(i, clean_warmup_steps, epsilon_ramp_steps)
    loss, accuracy = step(images, labels, tf.constant([seed, i], tf.int32),
                          tf.constant(strength, tf.float32))
    if not np.isfinite(float(loss)):
      raise FloatingPointError(
          f"The classifier's loss became {float(loss)} at step {i}; lower "
          "train_classifier.learning_rate.")
    progress.update(i + 1, {"loss": float(loss), "accuracy": float(accuracy)})
  seconds = time.time() - start
  progress.finish(f"Trained the classifier for {steps} steps in "
                  f"{progress_lib.format_duration(seconds)}.")
  return seconds


def _test_metrics(model, spec: pipeline.DatasetSpec, *, resolution: int,
                  eval_attack: Attack, eval_examples: int) -> dict:
  """Clean accuracy on the whole test split, and accuracy under
  `eval_attack` on its first `eval_examples` examples (and how many)."""
  test_data = lambda: pipeline.dataset(
      spec, split="test", resolution=resolution, batch_size=250,
      shuffle=False, drop_remainder=False)
  clean_accuracy, _ = evaluate(model, test_data())
  attacked_accuracy, attacked_examples = evaluate(
      model, test_data(), eval_attack, eval_examples)
  return {"clean_accuracy": clean_accuracy,
          "attacked_accuracy": attacked_accuracy,
          "eval_attack": dataclasses.asdict(eval_attack),
          "eval_examples": attacked_examples}


def _write_results(output_dir: str, metrics: dict) -> None:
  """The metrics and the gin config, through the run directory's names."""
  run_dir.write_metrics(output_dir, metrics)
  run_dir.write_config(output_dir, gin.config_str())
  logging.info("Clean accuracy %.4f, attacked accuracy %.4f; wrote %s",
               metrics["clean_accuracy"], metrics["attacked_accuracy"],
               output_dir)


@gin.configurable("train_classifier", denylist=["output_dir", "dataset"])
def train(output_dir: str, *,
          dataset: Optional[pipeline.DatasetSpec] = None,
          resolution: int = 32, num_classes: int = 10,
          architecture: str = "small_resnet",
          steps: int = 2000, batch_size: int = 128,
          learning_rate: float = 2e-3, weight_decay: float = 1e-4,
          adversarial_training: Optional[Attack] = None,
          clean_warmup_steps: int = 0, epsilon_ramp_steps: int = 0,
          eval_attack: Attack = Attack(), eval_examples: int = 2000,
          seed: int = 0) -> dict:
  """Trains a classifier and writes it, its metrics and its gin config.

  Args:
    output_dir: where classifier.keras, run_dir.METRICS_FILE and
      run_dir.CONFIG_FILE go; a local path or a tf.io.gfile URL (gs://).
    dataset: the dataset and its TFDS directory (None: `DatasetSpec()`,
      from gin's `dataset.name` and `dataset.data_dir`).
    resolution, num_classes: the classifier's input size and logit width.
    architecture: a trainable `zoo` model name ('small_resnet').
    steps, batch_size, learning_rate, weight_decay: AdamW with a cosine
      decay to 0 over `steps`.
    adversarial_training: an `Attack` (PGD or FGSM) for adversarial
      training; None trains on clean images.
    clean_warmup_steps, epsilon_ramp_steps: adversarial training first
      trains on clean images for `clean_warmup_steps`, then ramps the
      attack's epsilon and step size linearly from 0 to full over
      `epsilon_ramp_steps`. From scratch at full epsilon a small network
      can stay at chance; the ramp avoids that.
    eval_attack: the attack reported as "PGD accuracy" on the test split.
    eval_examples: how many test examples the attacked evaluation uses
      (the metrics record how many it did use: fewer if the split is
      smaller).
  """
  dataset = dataset or pipeline.DatasetSpec()
  tf.io.gfile.makedirs(output_dir)
  keras.utils.set_random_seed(seed)
  model = zoo.build_trainable(architecture, num_classes=num_classes,
                              resolution=resolution)
  train_seconds = _fit(
      model, _optimizer(learning_rate, weight_decay, steps),
      adversarial_training or Attack(method="none"),
      pipeline.dataset(dataset, split="train", resolution=resolution,
                       batch_size=batch_size, seed=seed),
      steps=steps, seed=seed, clean_warmup_steps=clean_warmup_steps,
      epsilon_ramp_steps=epsilon_ramp_steps)
  # Saved before the evaluations: a failing one does not lose the training.
  zoo.save(model, os.path.join(output_dir, "classifier.keras"))
  metrics = {
      **_test_metrics(model, dataset, resolution=resolution,
                      eval_attack=eval_attack, eval_examples=eval_examples),
      "adversarial_training": (dataclasses.asdict(adversarial_training)
                               if adversarial_training else None),
      "dataset": {"name": dataset.name, "resolution": resolution},
      "clean_warmup_steps": clean_warmup_steps,
      "epsilon_ramp_steps": epsilon_ramp_steps,
      "steps": steps, "batch_size": batch_size,
      "train_seconds": round(train_seconds, 1),
  }
  _write_results(output_dir, metrics)
  return metrics
