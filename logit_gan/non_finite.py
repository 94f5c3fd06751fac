"""Non-finite losses and gradients in training: stop there, or skip the
batch (docs/training.md, "Errors and warnings").

By default (`train.skip_non_finite_batches = False`) the training loop
ends at the first step whose losses are NaN or inf, and the run stops with
a FloatingPointError that names that step, the losses and the last good
checkpoint; nothing after that checkpoint is saved.

With `train.skip_non_finite_batches = True`, every optimizer update whose
loss or gradients are not finite on some replica is left out
(`apply_if_finite`): the network weights and Adam's moments keep their
values, while the step counter, the noise and the data move on, so the
batch is skipped. A step counts as skipped when any of its updates was.
`Guard` counts them in the training loop (TensorBoard
`non_finite/skipped_batches`, since the process started) and stops the
run after `train.max_skipped_in_a_row` skipped steps in a row. Weights
that become non-finite anyway (a BN moving average fed NaN logits) still
stop the run.
"""

from __future__ import annotations

from typing import Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf

# The key of `gan.LogitGAN.train_step`'s result that says whether the step
# left out an update: 1.0 or 0.0 (the same on every replica).
SKIPPED = "skipped"


def _all_finite(tensors) -> tf.Tensor:
  return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t))
                        for t in tensors if t is not None])


def apply(optimizer, gradients: list, variables: list, loss: tf.Tensor, *,
          skip: bool) -> tf.Tensor:
  """One optimizer update of `variables`; with `skip`, `apply_if_finite`.
  Returns whether the update was left out (a bool scalar)."""
  if skip:
    return apply_if_finite(optimizer, gradients, variables, loss)
  optimizer.apply_gradients(zip(gradients, variables))
  return tf.constant(False)


def apply_if_finite(optimizer, gradients: list, variables: list,
                    loss: tf.Tensor) -> tf.Tensor:
  """Applies `gradients` to `variables` with `optimizer` unless `loss` or a
  gradient is NaN or inf on any replica; returns whether the update was
  left out (a bool scalar, the same on every replica).

  Call it in a replica context (inside `strategy.run`), where optimizers
  apply their updates. Under Keras' LossScaleOptimizer only the loss is
  checked: overflowing scaled gradients are its own business (it skips
  the update and lowers its scale). As Keras' LossScaleOptimizer does, the
  condition is taken in a cross-replica context when the strategy needs
  merge_call, which a branch of a replica-context cond cannot hold.
  """
  context = tf.distribute.get_replica_context()
  checked = [loss]
  if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
    checked += list(gradients)
  bad = context.all_reduce(tf.distribute.ReduceOp.SUM,
                           1.0 - tf.cast(_all_finite(checked), tf.float32))
  finite = tf.equal(bad, 0.0)

  def apply(gradients) -> None:
    optimizer.apply_gradients(zip(gradients, variables))

  def leave_out() -> None:
    return None

  if tf.__internal__.distribute.strategy_supports_no_merge_call():
    tf.cond(finite, lambda: apply(gradients), leave_out)
  else:
    def cross_replica(strategy, finite, gradients):
      def apply_on_every_replica() -> None:
        strategy.extended.call_for_each_replica(apply, args=(gradients,))

      # The same on every replica: the count was all-reduced.
      tf.cond(strategy.experimental_local_results(finite)[0],
              apply_on_every_replica, leave_out)

    context.merge_call(cross_replica, args=(finite, gradients))
  return tf.logical_not(finite)


class Guard:
  """What the training loop does after a step with non-finite values.

  `stops_after` runs inside the compiled loop after every step and says
  whether to end the loop there; `check` runs after the loop and raises
  FloatingPointError (naming the step, the losses and the last good
  checkpoint) when the run must stop. The counts are variables outside any
  checkpoint: they start at 0 in each process.
  """

  def __init__(self, *, skip: bool, max_in_a_row: int):
    if max_in_a_row < 1:
      raise ValueError(f"train.max_skipped_in_a_row must be >= 1, not "
                       f"{max_in_a_row}.")
    self.skip, self.max_in_a_row = skip, max_in_a_row
    self.in_a_row = tf.Variable(0, dtype=tf.int64, trainable=False,
                                name="skipped_in_a_row")
    self.skipped = tf.Variable(0, dtype=tf.int64, trainable=False,
                               name="skipped_batches")
    self._reported = 0

  def stops_after(self, metrics: dict) -> tf.Tensor:
    """In the compiled loop, after a step with `metrics`: counts a skipped
    step and says whether the loop must end here (a non-finite loss when
    not skipping; too many skipped steps in a row when skipping)."""
    if not self.skip:
      return tf.logical_not(_all_finite(
          [value for name, value in metrics.items() if name != SKIPPED]))
    skipped = metrics[SKIPPED] > 0
    self.in_a_row.assign(tf.where(skipped, self.in_a_row + 1, 0))
    self.skipped.assign_add(tf.cast(skipped, tf.int64))
    return self.in_a_row >= self.max_in_a_row

  def check(self, metrics: dict, weights_finite: bool, *, first: int,
            last: int, checkpoint: Optional[str]) -> None:
    """After a loop over steps `first`..`last` ending with `metrics`:
    logs newly skipped batches; raises FloatingPointError if the run must
    stop (`checkpoint`: the last good one, None if there is none)."""
    bad = [name for name, value in metrics.items()
           if name != SKIPPED and not np.isfinite(value)]
    keep = (f"Nothing after it was saved: the last good checkpoint is "
            f"{checkpoint}; rerun to resume from it.")
    if bad and not self.skip:
      raise FloatingPointError(
          f"Training diverged at step {last}: {', '.join(bad)} became NaN "
          f"or inf. {keep} Lower GAN.g_lr / GAN.d_lr, check the input "
          "data, or set train.skip_non_finite_batches = True to skip such "
          "batches.")
    if self.skip:
      self._report_skipped(first, last)
      if int(self.in_a_row.numpy()) >= self.max_in_a_row:
        what = ", ".join(bad) if bad else "the gradients"
        raise FloatingPointError(
            f"{self.max_in_a_row} batches in a row had non-finite losses "
            f"or gradients (steps {last - self.max_in_a_row + 1}-{last}; "
            f"at step {last}: {what}); skipping them does not help. {keep} "
            "Lower GAN.g_lr / GAN.d_lr or check the input data.")
    if not weights_finite:  # A last update can break finite losses.
      raise FloatingPointError(
          f"Training diverged: the network weights became NaN or inf in "
          f"steps {first}-{last}. {keep} Lower GAN.g_lr / GAN.d_lr or check "
          "the input data.")

  def _report_skipped(self, first: int, last: int) -> None:
    total = int(self.skipped.numpy())
    if total > self._reported:
      logging.warning(
          "Skipped %d batch(es) with non-finite losses or gradients in "
          "steps %d-%d (%d since the start; train.skip_non_finite_batches).",
          total - self._reported, first, last, total)
      self._reported = total
