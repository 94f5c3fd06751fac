"""Whether a checkpoint's files read: a damaged checkpoint (a file missing,
truncated or corrupt: a failed copy, a full disk) told apart from a whole
one of another model.

TensorFlow reports a damaged checkpoint in ways that name neither the
file nor the cure: "not an sstable (bad magic number)" for a garbled
index, an IndexError "Read less bytes than requested" for a truncated data
shard, a restore that "does not fit" for a missing shard. `check_readable`
reads every tensor of the checkpoint (one at a time: memory for the
largest only; an input pipeline's state, a variant, is not readable
outside a restore and is skipped) and raises `CheckpointDamagedError` saying which checkpoint
is damaged and which earlier ones the model_dir holds. It costs a read of
the checkpoint, so callers run it after a restore failed, to explain why.
"""

from __future__ import annotations

import os
from typing import Optional

import tensorflow as tf


class CheckpointDamagedError(ValueError):
  """A checkpoint's files are missing, truncated or corrupt."""


def damage(prefix: str) -> Optional[str]:
  """Why the checkpoint `prefix` (e.g. runs/x/ckpt-200) cannot be read, or
  None when its index and every tensor of its data shards read."""
  try:
    reader = tf.train.load_checkpoint(str(prefix))
    for name, dtype in reader.get_variable_to_dtype_map().items():
      if dtype != tf.variant:  # An input pipeline's state: not readable here.
        reader.get_tensor(name)
  except (IndexError, tf.errors.OpError) as error:
    message = getattr(error, "message", None) or str(error)
    return " ".join(message.splitlines()[0].split())[:300]
  return None


def earlier_checkpoints(model_dir: str, prefix: str) -> list[str]:
  """The other checkpoints of model_dir's `checkpoint` file whose index
  exists, latest first."""
  state = tf.train.get_checkpoint_state(str(model_dir))
  if state is None:
    return []
  found = [path if os.path.isabs(path) or "://" in path
           else os.path.join(str(model_dir), path)
           for path in state.all_model_checkpoint_paths]
  return [path for path in reversed(found)
          if os.path.basename(path) != os.path.basename(str(prefix))
          and tf.io.gfile.exists(f"{path}.index")]


def check_readable(prefix: str, *, model_dir: str, earlier_flag: str = (
    "--checkpoint"), training: bool = False) -> None:
  """Raises CheckpointDamagedError when the checkpoint `prefix` in
  model_dir does not read (`damage`), naming it, the reason, and the
  earlier checkpoints to give with `earlier_flag` instead; `training`:
  how bin/train resumes from the latest earlier one instead."""
  reason = damage(prefix)
  if reason is None:
    return
  earlier = earlier_checkpoints(model_dir, prefix)
  if not earlier:
    cure = ("copy the files again from where they were trained, or train "
            "again")
  elif training:
    cure = resume_from_earlier(model_dir, prefix, earlier[0])
  else:
    cure = (f"give an earlier one, {earlier_flag}={earlier[0]}"
            + (f" (or {', '.join(earlier[1:])})" if earlier[1:] else "")
            + ", or copy the files again")
  raise CheckpointDamagedError(
      f"The checkpoint {prefix} is damaged: {reason}. Its files "
      f"({os.path.basename(str(prefix))}.index, .data-*) are missing, "
      f"truncated or corrupt (a failed copy or a full disk): {cure}.")


def resume_from_earlier(model_dir: str, prefix: str, earlier: str) -> str:
  """What to do so that bin/train, which resumes from the latest
  checkpoint its `checkpoint` file names, resumes from `earlier`."""
  name = os.path.basename(str(prefix))
  return (f"copy the files again, or resume from {earlier}: move {name}.index "
          f"and {name}.data-* out of {model_dir} and set the first line of "
          f"{os.path.join(str(model_dir), 'checkpoint')} to "
          f"model_checkpoint_path: \"{os.path.basename(earlier)}\"")
