"""Checkpoints of bin/train's engine: what two steps write, resuming equals
an uninterrupted run, and a model_dir of another architecture is refused.

The tests share one 2-step run (tracing the tiny networks is most of a run's
time) and copy it before changing it. (A file of its own so that
pytest-xdist's --dist loadfile can balance the slow trainer tests.)"""

import shutil

import numpy as np
import pytest

from logit_gan import trainer

from trainer_runs import checkpoint_values, group, run

# Three D updates per G update, to see the count follow the binding.
DISC_ITERS = {"GAN.disc_iters": "3"}


@pytest.fixture(scope="module")
def data_dir(tiny_shapes_data_dir):
  return tiny_shapes_data_dir


@pytest.fixture(scope="module")
def two_steps(tmp_path_factory, data_dir):
  """(model_dir, result) of a 2-step tiny run that checkpoints every step."""
  model_dir = tmp_path_factory.mktemp("two_steps")
  return model_dir, run(model_dir, data_dir, **DISC_ITERS)


def _copy(model_dir, tmp_path):
  return shutil.copytree(model_dir, tmp_path / "copy")


def test_two_steps_train_every_network_and_checkpoint(two_steps):
  model_dir, result = two_steps
  assert result["step"] == 2
  before, after = checkpoint_values(model_dir, 0), checkpoint_values(
      model_dir, 2)
  for network in ("generator/", "discriminator/", "ema_generator/"):
    changed = [k for k in group(before, network)
               if not np.array_equal(before[k], after[k])]
    assert changed, f"no {network} variable changed in two steps"
  assert after["gan_step/.ATTRIBUTES/VARIABLE_VALUE"] == 2
  assert after["d_updates/.ATTRIBUTES/VARIABLE_VALUE"] == 2 * 3
  assert checkpoint_values(model_dir, 1)[
      "d_updates/.ATTRIBUTES/VARIABLE_VALUE"] == 3
  assert (model_dir / "operative_config.gin").exists()
  assert (model_dir / "reconstructions.png").exists()
  assert 0.0 <= result["class_agreement"] <= 1.0
  assert list(model_dir.glob("events.out.tfevents.*"))


def test_resume_equals_uninterrupted(two_steps, tmp_path, data_dir):
  """4 steps in one run; versus 2 steps, stop, resume, 2 more: the same
  variables (stateless noise, a checkpointed input pipeline, CPU)."""
  run(tmp_path / "straight", data_dir,
      **DISC_ITERS, **{"train.training_steps": "4"})
  resumed_dir = _copy(two_steps[0], tmp_path)
  result = run(resumed_dir, data_dir,
               **DISC_ITERS, **{"train.training_steps": "4"})
  assert result["step"] == 4
  straight = checkpoint_values(tmp_path / "straight", 4)
  resumed = checkpoint_values(resumed_dir, 4)
  assert straight.keys() == resumed.keys()
  for name in straight:
    np.testing.assert_array_equal(straight[name], resumed[name], err_msg=name)


def test_other_architecture_in_model_dir_is_refused(two_steps, tmp_path,
                                                   data_dir):
  model_dir = _copy(two_steps[0], tmp_path)
  with pytest.raises(trainer.CheckpointMismatchError,
                     match="does not fit this model.*new --model_dir"):
    run(model_dir, data_dir, **DISC_ITERS,
        **{"Generator.ch": "16", "train.training_steps": "4"})

