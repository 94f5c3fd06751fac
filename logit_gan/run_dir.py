"""A run directory: its file names, its record, and restore-or-init.

`bin/train`'s model_dir holds:
  operative_config.gin  CONFIG_FILE: the gin config the run trained with,
                        for people and for resuming with `bin/train`;
  run.json              RECORD_FILE: what rebuilding the trained networks
                        needs, without gin (`RunRecord`);
  metrics.json          METRICS_FILE: the evaluation history;
  reconstructions.png   RECONSTRUCTIONS_FILE: originals beside the last
                        evaluation's reconstructions;
  ckpt-N.*, checkpoint  the checkpoints (`restore_or_init`,
                        `save_checkpoint`);
  events.out.*          TensorBoard summaries.
A checkpoint is complete once the `checkpoint` file names it: TensorFlow
writes its files under a temporary name (ckpt-N_temp/), renames them, then
rewrites that file atomically. A write killed or failed midway leaves the
previous checkpoint as the latest, and `check_writable` refuses a folder
that cannot be written before any work.
Classifier training writes CONFIG_FILE and METRICS_FILE into its output
directory the same way. Directories may be local or gs:// (files.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional
import uuid

from absl import logging
import tensorflow as tf

from logit_gan import checkpoint_check
from logit_gan import files

CONFIG_FILE = "operative_config.gin"
RECORD_FILE = "run.json"
METRICS_FILE = "metrics.json"
RECONSTRUCTIONS_FILE = "reconstructions.png"


class CheckpointMismatchError(ValueError):
  """The model_dir holds a checkpoint of another architecture."""


class NotWritableError(OSError):
  """A folder the run must write to cannot be written (permissions, a
  read-only file system, a full disk)."""


class CheckpointWriteError(OSError):
  """Writing a checkpoint failed; the previous one is intact."""


def _reason(error: Exception) -> str:
  """What went wrong, without the path TensorFlow puts first."""
  text = " ".join(str(error).split())
  return text.rsplit("; ", 1)[-1] if "; " in text else text


def check_writable(directory: str, what: str = "--model_dir") -> None:
  """Writes a 4 KiB probe file into `directory` (created for it, and
  removed again when it was not there and is still empty: the workers of
  one run probe their folders at once) and deletes it; raises
  NotWritableError naming the folder, `what` gives it, and the fix."""
  directory = str(directory)
  existed = tf.io.gfile.isdir(directory)
  probe = path(directory, f".write-probe-{uuid.uuid4().hex[:8]}")
  try:
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(probe, "wb") as f:
      f.write(b"\0" * 4096)
    tf.io.gfile.remove(probe)
  except (tf.errors.OpError, OSError) as error:
    raise NotWritableError(
        f"Cannot write to {directory} ({_reason(error)}). Give {what} a "
        "folder this user may write to, on a disk with free space.") from None
  finally:
    if tf.io.gfile.exists(probe):
      tf.io.gfile.remove(probe)
    if not existed:
      _remove_if_empty(directory)


def _remove_if_empty(directory: str) -> None:
  """Removes the local folder `directory` when it holds nothing (another
  process may have written into it meanwhile); object stores such as gs://
  have no empty folders to remove."""
  if "://" in directory:
    return
  try:
    os.rmdir(directory)
  except OSError:
    pass  # Missing, or not empty: another worker's files.


def save_checkpoint(manager: tf.train.CheckpointManager, step: int) -> str:
  """Saves the checkpoint of `step`; returns its path. A failed write
  (a full disk, lost permissions) raises CheckpointWriteError naming the
  last complete checkpoint, which stays the latest."""
  try:
    return manager.save(checkpoint_number=step)
  except (tf.errors.OpError, OSError) as error:
    raise CheckpointWriteError(
        f"Could not write the checkpoint of step {step} into "
        f"{manager.directory} ({_reason(error)}). The last complete "
        f"checkpoint, {tf.train.latest_checkpoint(manager.directory)}, is "
        "intact. Free space or restore the folder's permissions, then rerun "
        "to resume from it.") from error


def path(directory: str, name: str) -> str:
  """`name` (one of this module's file names) inside `directory`."""
  return os.path.join(str(directory), name)


def write_config(directory: str, text: str) -> str:
  """Writes the operative gin config; returns its path."""
  return files.write_text(path(directory, CONFIG_FILE), text)


def read_config(directory: str) -> str:
  return files.read_text(path(directory, CONFIG_FILE))


def write_metrics(directory: str, history: Any) -> str:
  """Writes metrics (a JSON value: the trainer's list of evaluations, a
  classifier's dict of accuracies); returns the path."""
  return files.write_text(path(directory, METRICS_FILE),
                          json.dumps(history, indent=2))


def read_metrics(directory: str) -> Any:
  """The metrics written by `write_metrics`, or None when there are none."""
  metrics_file = path(directory, METRICS_FILE)
  if not tf.io.gfile.exists(metrics_file):
    return None
  return json.loads(files.read_text(metrics_file))


@dataclasses.dataclass(frozen=True)
class RunRecord:
  """What a trained run needs to be rebuilt without gin (run.json).

  dataset: the training data, `dataclasses.asdict` of the DatasetSpec
    ({"name", "data_dir", "shuffle_buffer"}).
  resolution, batch_size, seed, standing_statistics_batches: `train.*` as
    the run used them (the EMA generator's standing statistics are refilled
    from the same batches as the trainer's evaluation).
  classifier: {"name": ..., **arguments}, `zoo.build_classifier`'s.
  generator, discriminator: the networks' `get_config()`.
  gan: the `gan.LogitGAN` settings (besides its networks) the checkpoint's
    structure and inference depend on.
  method: the `methods.METHODS` name: which model and generator classes
    (absent from runs before baselines: the GAN).
  """
  dataset: dict
  resolution: int
  batch_size: int
  seed: int
  standing_statistics_batches: int
  classifier: dict
  generator: dict
  discriminator: dict
  gan: dict
  method: str = "logit_gan"
  version: int = 1

  def replace(self, **changes) -> "RunRecord":
    return dataclasses.replace(self, **changes)


def write_record(directory: str, record: RunRecord) -> str:
  """Writes run.json; returns its path."""
  return files.write_text(path(directory, RECORD_FILE),
                          json.dumps(dataclasses.asdict(record), indent=2))


def read_record(directory: str) -> Optional[RunRecord]:
  """The run's record, or None for a run directory older than run.json."""
  record_file = path(directory, RECORD_FILE)
  if not tf.io.gfile.exists(record_file):
    return None
  return RunRecord(**json.loads(files.read_text(record_file)))


def restore_or_init(checkpoint: tf.train.Checkpoint, model_dir: str, *,
                    manager: Optional[tf.train.CheckpointManager] = None,
                    checkpoint_path: Optional[str] = None,
                    partial: bool = False) -> Optional[str]:
  """Restores `checkpoint` or initialises the run; the one place deciding.

  In this order:
    1. `checkpoint_path` given: restore it (it must exist);
    2. else the latest checkpoint in `model_dir`: restore it (every worker
       reads the chief's: a worker's scratch copies are deleted when a run
       ends, and all workers must resume from the same step);
    3. else, with a `manager` (training): save the initial state as ckpt-0,
       the state a diverged run can return to; without one (loading a
       trained run): FileNotFoundError.
  `partial`: the checkpoint may hold objects `checkpoint` lacks (loading
  for inference leaves out the input pipeline). Returns the path restored,
  or None when the run was initialised. A checkpoint of another
  architecture raises CheckpointMismatchError; a damaged one (when
  training) checkpoint_check.CheckpointDamagedError.
  """
  model_dir = str(model_dir)
  restored = checkpoint_path or _existing_checkpoint(model_dir, manager)
  if restored is None:
    logging.info("No checkpoint in %s; starting from step 0.", model_dir)
    save_checkpoint(manager, 0)
    return None
  if not tf.io.gfile.exists(f"{restored}.index"):
    raise FileNotFoundError(
        f"No checkpoint {restored} (its {restored}.index is missing); name "
        f"one of {model_dir}/ckpt-N, or leave the checkpoint out for the "
        "latest.")
  try:
    status = checkpoint.restore(restored)
    if partial:
      status = status.expect_partial()
    status.assert_existing_objects_matched()
  except (ValueError, AssertionError, IndexError,
          tf.errors.OpError) as error:
    if manager is not None:  # Training: a damaged checkpoint, named as such.
      checkpoint_check.check_readable(restored, model_dir=model_dir,
                                      training=True)
    raise CheckpointMismatchError(
        f"{model_dir} holds a checkpoint ({restored}) that does not fit this "
        f"model: {str(error).splitlines()[0][:300]}. Use a new --model_dir, "
        f"or the config it was trained with ({path(model_dir, CONFIG_FILE)}"
        f"; loading rebuilds it from {RECORD_FILE}).") from None
  return restored


def _existing_checkpoint(model_dir: str, manager) -> Optional[str]:
  latest = tf.train.latest_checkpoint(model_dir)
  if latest is None and manager is None:
    raise FileNotFoundError(
        f"{model_dir} holds no checkpoint. Train first: bin/train "
        f"--gin_file=... --model_dir={model_dir}")
  return latest
