"""Checkpoints of bin/train's engine: what a run writes, resuming an
interrupted run equals the uninterrupted one, and a model_dir of another
architecture is refused.

The tests share one 4-step run (tracing its training step is most of a
run's time) and copy it before changing it. (A file of its own so that
pytest-xdist's --dist loadfile can balance the slow trainer tests.)"""

import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from logit_gan import run_dir

from trainer_runs import checkpoint_values, disk_full, group, run

pytestmark = pytest.mark.slow  # Each test trains (or resumes) a tiny run.

# Three D updates per G update, to see the count follow the binding; an
# evaluation halfway, which must not disturb the training that follows it.
BINDINGS = {"GAN.disc_iters": "3", "train.training_steps": "4",
            "train.eval_every_steps": "2", "train.keep_checkpoint_max": "5"}


@pytest.fixture(scope="module")
def data_dir(tiny_shapes_data_dir):
  return tiny_shapes_data_dir


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory, data_dir):
  """(model_dir, result) of an uninterrupted 4-step tiny run that
  checkpoints every step and keeps every checkpoint."""
  model_dir = tmp_path_factory.mktemp("four_steps")
  return model_dir, run(model_dir, data_dir, **BINDINGS)


def _copy(model_dir, tmp_path):
  return shutil.copytree(model_dir, tmp_path / "copy")


def _interrupt_after(model_dir: pathlib.Path, step: int) -> None:
  """Makes `model_dir` what a run killed after saving its checkpoint of
  `step` leaves: no later checkpoints, and the checkpoint file naming it."""
  for path in model_dir.glob("ckpt-*"):
    if int(path.name.split(".")[0].split("-")[1]) > step:
      path.unlink()
  tf.compat.v1.train.update_checkpoint_state(
      str(model_dir), str(model_dir / f"ckpt-{step}"),
      [str(model_dir / f"ckpt-{s}") for s in range(step + 1)])


def test_steps_train_every_network_and_checkpoint(four_steps):
  model_dir, result = four_steps
  assert result["step"] == 4
  before, after = checkpoint_values(model_dir, 0), checkpoint_values(
      model_dir, 4)
  for network in ("generator/", "discriminator/", "ema_generator/"):
    changed = [k for k in group(before, network)
               if not np.array_equal(before[k], after[k])]
    assert changed, f"no {network} variable changed in four steps"
  assert after["gan_step/.ATTRIBUTES/VARIABLE_VALUE"] == 4
  assert after["d_updates/.ATTRIBUTES/VARIABLE_VALUE"] == 4 * 3
  assert checkpoint_values(model_dir, 1)[
      "d_updates/.ATTRIBUTES/VARIABLE_VALUE"] == 3
  assert (model_dir / "operative_config.gin").exists()
  assert (model_dir / "reconstructions.png").exists()
  assert 0.0 <= result["class_agreement"] <= 1.0
  assert list(model_dir.glob("events.out.tfevents.*"))


def test_resume_equals_uninterrupted(four_steps, tmp_path, data_dir):
  """4 steps in one run; versus a run interrupted after its step-2
  checkpoint, resumed for 2 more: the same variables (stateless noise, a
  checkpointed input pipeline, CPU)."""
  resumed_dir = _copy(four_steps[0], tmp_path)
  _interrupt_after(resumed_dir, 2)
  assert tf.train.latest_checkpoint(str(resumed_dir)).endswith("ckpt-2")
  result = run(resumed_dir, data_dir, **BINDINGS)
  assert result["step"] == 4
  straight = checkpoint_values(four_steps[0], 4)
  resumed = checkpoint_values(resumed_dir, 4)
  assert straight.keys() == resumed.keys()
  for name in straight:
    np.testing.assert_array_equal(straight[name], resumed[name], err_msg=name)


def test_other_architecture_in_model_dir_is_refused(four_steps, tmp_path,
                                                   data_dir):
  model_dir = _copy(four_steps[0], tmp_path)
  with pytest.raises(run_dir.CheckpointMismatchError,
                     match="does not fit this model.*new --model_dir"):
    run(model_dir, data_dir, **{**BINDINGS, "Generator.ch": "16",
                                "train.training_steps": "6"})


def test_a_failed_checkpoint_write_stops_with_the_last_one_intact(
    four_steps, tmp_path, data_dir, monkeypatch):
  """The disk fills up while the checkpoint of step 3 is written: the run
  stops with an error naming the step and the last complete checkpoint,
  which stays the latest, whole."""
  model_dir = _copy(four_steps[0], tmp_path)
  _interrupt_after(model_dir, 2)
  save = tf.train.CheckpointManager.save

  def save_on_a_full_disk(manager, checkpoint_number=None, **kwargs):
    if checkpoint_number != 3:
      return save(manager, checkpoint_number=checkpoint_number, **kwargs)
    with disk_full(after_bytes=64 * 1024):  # The data file is ~2 MB.
      return save(manager, checkpoint_number=checkpoint_number, **kwargs)

  monkeypatch.setattr(tf.train.CheckpointManager, "save", save_on_a_full_disk)
  with pytest.raises(run_dir.CheckpointWriteError,
                     match=f"checkpoint of step 3 into {model_dir} \\(File too "
                     f"large.*The last complete checkpoint, {model_dir}/ckpt-2,"
                     " is intact"):
    run(model_dir, data_dir, **BINDINGS)
  assert tf.train.latest_checkpoint(str(model_dir)).endswith("ckpt-2")
  assert not (model_dir / "ckpt-3.index").exists()
  kept, before = (checkpoint_values(model_dir, 2),
                  checkpoint_values(four_steps[0], 2))
  for name in before:
    np.testing.assert_array_equal(kept[name], before[name], err_msg=name)
