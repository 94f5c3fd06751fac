"""L-infinity adversarial attacks: PGD (Madry et al. 2017), FGSM (Goodfellow
et al. 2015), and accuracy under attack.

Budgets are in the package's pixel units, images in [-1, 1]: that range is
twice as wide as [0, 1], so the usual epsilon of 8/255 in [0, 1] units is
16/255 here (`to_model_units(8 / 255)`), and likewise for step sizes.

Both attacks maximise the cross-entropy of the true labels with sign
gradients, keep the result inside the epsilon-ball around the clean images
and inside [-1, 1], run eagerly or inside tf.function, and return images with
no gradient path back to the inputs (`tf.stop_gradient`), ready to train or
evaluate on. They call `classifier_fn` as given: pass a model in inference
mode (e.g. `lambda x: model(x, training=False)`, or a `zoo.Classifier`) so
that attacking does not move batch-norm statistics.
"""

from __future__ import annotations

import numbers
from typing import Callable, Optional, Union

import tensorflow as tf

ClassifierFn = Callable[[tf.Tensor], tf.Tensor]
Attack = Callable[[ClassifierFn, tf.Tensor, tf.Tensor], tf.Tensor]
Seed = Union[int, tf.Tensor, tuple[int, int], None]
PIXEL_MIN, PIXEL_MAX = -1.0, 1.0


def to_model_units(budget_in_unit_range: float) -> float:
  """A budget in [0, 1] pixel units -> the package's [-1, 1] units (x2)."""
  return 2.0 * budget_in_unit_range


def _check_budget(**values) -> None:
  """Python numbers must be non-negative (tensors are taken as given)."""
  for name, value in values.items():
    if isinstance(value, numbers.Real) and not value >= 0:
      raise ValueError(f"{name} must be >= 0, not {value}.")


def _check_inputs(images, labels) -> tuple[tf.Tensor, tf.Tensor]:
  images = tf.convert_to_tensor(images)
  if not images.dtype.is_floating:
    raise ValueError(f"images have dtype {images.dtype.name}; expected "
                     "float32 in [-1, 1].")
  labels = tf.convert_to_tensor(labels)
  if not labels.dtype.is_integer or labels.shape.rank != 1:
    raise ValueError(f"labels have dtype {labels.dtype.name} and shape "
                     f"{labels.shape}; expected integer class indices [B].")
  if (images.shape.rank is not None and images.shape[0] is not None
      and labels.shape[0] is not None and images.shape[0] != labels.shape[0]):
    raise ValueError(f"images have batch size {images.shape[0]} but labels "
                     f"{labels.shape[0]}; they must be equal.")
  return tf.cast(images, tf.float32), tf.cast(labels, tf.int32)


def _loss_gradient(classifier_fn: ClassifierFn, images: tf.Tensor,
                   labels: tf.Tensor) -> tf.Tensor:
  """d/d images of the summed cross-entropy (summed, not averaged, so the
  per-example gradients do not shrink with the batch size)."""
  with tf.GradientTape() as tape:
    tape.watch(images)
    logits = classifier_fn(images)
    if logits.shape.rank != 2:
      raise ValueError(f"classifier_fn returned shape {logits.shape}; "
                       "expected logits [B, n_c].")
    loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=tf.cast(logits, tf.float32)))
  gradient = tape.gradient(loss, images)
  if gradient is None:
    raise ValueError("classifier_fn's logits are not differentiable with "
                     "respect to the images; an attack needs gradients.")
  return gradient


def _project(adversarial: tf.Tensor, images: tf.Tensor,
             epsilon) -> tf.Tensor:
  """Onto the epsilon-ball around `images`, then onto [-1, 1]."""
  adversarial = tf.clip_by_value(adversarial, images - epsilon,
                                 images + epsilon)
  return tf.clip_by_value(adversarial, PIXEL_MIN, PIXEL_MAX)


def _stateless_seed(seed: Seed) -> tf.Tensor:
  """A [2] int32 seed; an int s becomes [s, 0]; None draws one from the
  global generator (reproducible only under a global seed)."""
  if seed is None:
    return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
  seed = tf.convert_to_tensor(seed)
  if not seed.dtype.is_integer:
    raise ValueError(f"seed must be integer, not {seed.dtype.name}.")
  seed = tf.cast(seed, tf.int32)
  if seed.shape.rank == 0:
    return tf.stack([seed, 0])
  if seed.shape != (2,):
    raise ValueError(f"seed must be an int or shape [2], not {seed.shape}.")
  return seed


def pgd_attack(classifier_fn: ClassifierFn, images, labels, *, epsilon,
               step_size, steps: int, random_start: bool = True,
               seed: Seed = None) -> tf.Tensor:
  """Projected gradient descent in the L-inf ball (Madry et al. 2017).

  From a uniform random start in the ball (if `random_start`), `steps`
  times: x <- project(x + step_size * sign(grad cross-entropy)).

  Args:
    classifier_fn: images [B, H, W, 3] in [-1, 1] -> logits [B, n_c].
    images: clean images [B, H, W, 3] float in [-1, 1].
    labels: the true classes [B], int.
    epsilon, step_size: in [-1, 1] units (8/255 in [0, 1] units is 16/255).
    steps: number of gradient steps (a Python int or scalar tensor).
    random_start: start from a uniform point in the ball (clipped to range).
    seed: stateless seed of the random start: an int, a [2] int tensor, or
      None to draw one (reproducible only under a global seed).

  Returns:
    Adversarial images [B, H, W, 3] within epsilon of `images` and in
    [-1, 1], without a gradient path to the inputs.
  """
  _check_budget(epsilon=epsilon, step_size=step_size, steps=steps)
  images, labels = _check_inputs(images, labels)
  adversarial = images
  if random_start:
    noise = tf.random.stateless_uniform(
        tf.shape(images), seed=_stateless_seed(seed), minval=-epsilon,
        maxval=epsilon)
    adversarial = _project(images + noise, images, epsilon)

  def step(index, adversarial):
    gradient = _loss_gradient(classifier_fn, adversarial, labels)
    adversarial = adversarial + step_size * tf.sign(gradient)
    return index + 1, _project(adversarial, images, epsilon)

  _, adversarial = tf.while_loop(lambda index, _: index < steps, step,
                                 (tf.constant(0), adversarial))
  return tf.stop_gradient(adversarial)


def fgsm_attack(classifier_fn: ClassifierFn, images, labels, *,
                epsilon) -> tf.Tensor:
  """The fast gradient sign method (Goodfellow et al. 2015): one step of
  size `epsilon` ([-1, 1] units) along the sign of the loss gradient,
  clipped to [-1, 1]. Pixels with a zero gradient do not move."""
  _check_budget(epsilon=epsilon)
  images, labels = _check_inputs(images, labels)
  gradient = _loss_gradient(classifier_fn, images, labels)
  adversarial = tf.clip_by_value(images + epsilon * tf.sign(gradient),
                                 PIXEL_MIN, PIXEL_MAX)
  return tf.stop_gradient(adversarial)


def adversarial_accuracy(classifier_fn: ClassifierFn,
                         dataset: tf.data.Dataset,
                         attack: Optional[Attack] = None, *,
                         max_examples: Optional[int] = None) -> float:
  """Top-1 accuracy of `classifier_fn` over (images, labels) batches, on the
  images `attack(classifier_fn, images, labels)` returns, or on the clean
  images when `attack` is None. Evaluates the first `max_examples` examples
  exactly (the last batch is cut short), or all of a smaller dataset;
  `accuracy_and_count` also says how many.

  Example: `adversarial_accuracy(classifier, test_batches,
  functools.partial(pgd_attack, epsilon=16 / 255, step_size=4 / 255,
  steps=10))`.
  """
  return accuracy_and_count(classifier_fn, dataset, attack,
                            max_examples=max_examples)[0]


def accuracy_and_count(classifier_fn: ClassifierFn, dataset: tf.data.Dataset,
                       attack: Optional[Attack] = None, *,
                       max_examples: Optional[int] = None
                       ) -> tuple[float, int]:
  """`adversarial_accuracy` and the number of examples it was measured on,
  so that a report can state what was measured rather than what was asked."""
  if max_examples is not None and max_examples < 1:
    raise ValueError(f"max_examples must be >= 1 or None, not {max_examples}.")

  @tf.function(reduce_retracing=True)
  def correct(images, labels):
    if attack is not None:
      images = attack(classifier_fn, images, labels)
    predictions = tf.argmax(classifier_fn(images), axis=-1,
                            output_type=tf.int32)
    return tf.reduce_sum(tf.cast(
        tf.equal(predictions, tf.cast(labels, tf.int32)), tf.int32))

  hits = total = 0
  for images, labels in dataset:
    if max_examples is not None:
      images = images[:max_examples - total]
      labels = labels[:max_examples - total]
    hits += int(correct(images, labels))
    total += int(labels.shape[0])
    if max_examples is not None and total >= max_examples:
      break
  if not total:
    raise ValueError("The dataset is empty; no accuracy to compute.")
  return hits / total, total
