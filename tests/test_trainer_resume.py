"""Checkpoints of bin/train's engine: resuming equals an uninterrupted run,
and a model_dir of another architecture is refused. (A file of its own so
that pytest-xdist's --dist loadfile can balance the slow trainer tests.)"""

import numpy as np
import pytest

from logit_gan import trainer

from trainer_runs import checkpoint_values, run


@pytest.fixture
def data_dir(tiny_shapes_data_dir):
  return tiny_shapes_data_dir


def test_resume_equals_uninterrupted(tmp_path, data_dir):
  """4 steps in one run; versus 2 steps, stop, resume, 2 more: the same
  variables (stateless noise, a checkpointed input pipeline, CPU)."""
  run(tmp_path / "straight", data_dir, **{"train.training_steps": "4"})
  run(tmp_path / "resumed", data_dir, **{"train.training_steps": "2"})
  run(tmp_path / "resumed", data_dir, **{"train.training_steps": "4"})
  straight = checkpoint_values(tmp_path / "straight", 4)
  resumed = checkpoint_values(tmp_path / "resumed", 4)
  assert straight.keys() == resumed.keys()
  for name in straight:
    np.testing.assert_array_equal(straight[name], resumed[name], err_msg=name)


def test_other_architecture_in_model_dir_is_refused(tmp_path, data_dir):
  run(tmp_path, data_dir, **{"train.training_steps": "1"})
  with pytest.raises(trainer.CheckpointMismatchError,
                     match="does not fit this model.*new --model_dir"):
    run(tmp_path, data_dir, **{"Generator.ch": "16",
                               "train.training_steps": "2"})
