"""Non-finite batches: an update whose loss or gradients are NaN is left
out on every replica (`apply_if_finite`), and a run with
train.skip_non_finite_batches skips NaN batches, counts them in its
summaries and stops after train.max_skipped_in_a_row in a row
(non_finite.py; stopping at the first one: test_trainer.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import non_finite
from logit_gan.data import pipeline

from trainer_runs import checkpoint_values, run


def _updated(strategy, gradient_per_replica):
  """The weight of a one-weight model after `apply_if_finite` with each
  replica's gradient, and whether the update was left out."""
  with strategy.scope():
    weight = tf.Variable(1.0)
    optimizer = keras.optimizers.SGD(0.5)
    optimizer.build([weight])

  def replica_step():
    context = tf.distribute.get_replica_context()
    gradient = tf.gather(gradient_per_replica,
                         context.replica_id_in_sync_group)
    return non_finite.apply_if_finite(optimizer, [gradient], [weight],
                                      loss=tf.constant(0.0))

  skipped = tf.function(lambda: strategy.run(replica_step))()
  return float(weight.numpy()), strategy.experimental_local_results(skipped)


@pytest.mark.parametrize("strategy", [
    tf.distribute.get_strategy(),
    tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])],
    ids=["default", "mirrored"])
def test_non_finite_updates_are_left_out_on_every_replica(strategy):
  replicas = strategy.num_replicas_in_sync
  # Keras sums the replicas' gradients: 1.0, times the learning rate.
  weight, skipped = _updated(strategy, tf.fill([replicas], 1.0 / replicas))
  assert weight == 0.5 and not any(bool(s) for s in skipped)
  # A NaN on the last replica only: no replica updates.
  weight, skipped = _updated(strategy, tf.constant(
      [1.0 / replicas] * (replicas - 1) + [float("nan")]))
  assert weight == 1.0 and all(bool(s) for s in skipped)


SEED = 8  # train.seed's default


def poison_batches(monkeypatch, steps):
  """Makes every image of the training batches of `steps` (1-based) NaN,
  and nothing else the run reads (evaluation, standing statistics)."""
  original = pipeline.dataset
  bad = tf.constant([step - 1 for step in steps], tf.int64)

  def dataset(spec, *, split, **kwargs):
    data = original(spec, split=split, **kwargs)
    if "input_context" not in kwargs:  # Not the training input.
      return data
    return data.enumerate().map(lambda index, batch: (
        tf.where(tf.reduce_any(index == bad), float("nan"), batch[0]),
        batch[1]))

  monkeypatch.setattr(pipeline, "dataset", dataset)


def summaries(model_dir, tag):
  """{step: value} of a scalar summary in the run's event files."""
  values = {}
  for path in tf.io.gfile.glob(f"{model_dir}/events.out.tfevents.*"):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          values[event.step] = float(tf.make_ndarray(value.tensor))
  return values


@pytest.mark.slow
def test_nan_batches_are_skipped_counted_and_too_many_in_a_row_stop(
    tmp_path, tiny_shapes_data_dir, monkeypatch):
  poison_batches(monkeypatch, steps=[2, 5, 6])
  with pytest.raises(FloatingPointError,
                     match=r"2 batches in a row had non-finite losses or "
                     r"gradients \(steps 5-6; at step 6: d_loss.*last good "
                     r"checkpoint is .*ckpt-5"):
    run(tmp_path, tiny_shapes_data_dir, **{
        "train.training_steps": "8", "train.seed": str(SEED),
        "train.skip_non_finite_batches": "True",
        "train.max_skipped_in_a_row": "2"})
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-5")
  assert summaries(tmp_path, "non_finite/skipped_batches") == {
      1: 0.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0}
  # Step 2 left every network weight and Adam as they were; the step
  # counter moved on. Of 5 steps (2 D updates each) 2 were skipped.
  before, after = checkpoint_values(tmp_path, 1), checkpoint_values(tmp_path,
                                                                      2)
  kernels = [name for name in before if name.endswith(
      "kernel/.ATTRIBUTES/VARIABLE_VALUE")]
  assert kernels
  for name in kernels:
    np.testing.assert_array_equal(before[name], after[name], err_msg=name)
  values = checkpoint_values(tmp_path, 5)
  assert values["gan_step/.ATTRIBUTES/VARIABLE_VALUE"] == 5
  assert values["d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == 6
  assert values["g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == 3
