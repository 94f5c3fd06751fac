"""The run directory: its files, its record, and restore-or-init decided
in one place and one order."""

import dataclasses
import pathlib
import re

import pytest
import tensorflow as tf

from logit_gan import run_dir

from trainer_runs import disk_full

PACKAGE = pathlib.Path(run_dir.__file__).resolve().parent


def make_record(**changes):
  record = run_dir.RunRecord(
      dataset={"name": "shapes", "data_dir": "/data", "shuffle_buffer": 10},
      resolution=16, batch_size=4, seed=8, standing_statistics_batches=1,
      classifier={"name": "small_resnet", "num_classes": 10},
      generator={"ch": 8, "resolution": 16, "channel_multipliers": [4, 4, 4]},
      discriminator={"ch": 8, "resolution": 16}, gan={"use_ema": True})
  return dataclasses.replace(record, **changes)


def test_record_round_trip(tmp_path):
  assert run_dir.read_record(str(tmp_path)) is None  # A run from before.
  record = make_record()
  path = run_dir.write_record(str(tmp_path), record)
  assert path.endswith(run_dir.RECORD_FILE)
  assert run_dir.read_record(str(tmp_path)) == record


def test_config_and_metrics(tmp_path):
  assert run_dir.read_metrics(str(tmp_path)) is None
  run_dir.write_metrics(str(tmp_path), [{"step": 1, "class_agreement": 0.5}])
  assert run_dir.read_metrics(str(tmp_path)) == [{"step": 1,
                                                  "class_agreement": 0.5}]
  run_dir.write_config(str(tmp_path), "train.seed = 3\n")
  assert (tmp_path / run_dir.CONFIG_FILE).read_text() == "train.seed = 3\n"
  assert run_dir.read_config(str(tmp_path)) == "train.seed = 3\n"


def _checkpoint(shape=(2,)):
  return tf.train.Checkpoint(weights=tf.Variable(tf.ones(shape)),
                             gan_step=tf.Variable(0, dtype=tf.int64))


def test_restore_or_init_in_order(tmp_path):
  """No checkpoint: with a manager the initial state is saved as ckpt-0;
  then the latest is restored; a named one is restored instead; a named one
  that does not exist, or none without a manager, fail by name."""
  model_dir = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
    run_dir.restore_or_init(_checkpoint(), model_dir)
  checkpoint = _checkpoint()
  manager = tf.train.CheckpointManager(checkpoint, model_dir, max_to_keep=5)
  assert run_dir.restore_or_init(checkpoint, model_dir,
                                 manager=manager) is None
  assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-0")
  checkpoint.weights.assign([2.0, 2.0])
  manager.save(checkpoint_number=5)
  fresh = _checkpoint()
  assert run_dir.restore_or_init(fresh, model_dir).endswith("ckpt-5")
  assert fresh.weights.numpy().tolist() == [2.0, 2.0]
  first = f"{model_dir}/ckpt-0"
  assert run_dir.restore_or_init(fresh, model_dir,
                                 checkpoint_path=first) == first
  assert fresh.weights.numpy().tolist() == [1.0, 1.0]
  with pytest.raises(FileNotFoundError, match="ckpt-9.index is missing"):
    run_dir.restore_or_init(fresh, model_dir,
                            checkpoint_path=f"{model_dir}/ckpt-9")


def test_other_architecture_is_refused(tmp_path):
  checkpoint = _checkpoint()
  tf.train.CheckpointManager(checkpoint, str(tmp_path), 1).save(0)
  with pytest.raises(run_dir.CheckpointMismatchError,
                     match="does not fit this model.*new --model_dir"):
    run_dir.restore_or_init(_checkpoint(shape=(3,)), str(tmp_path))


def test_restore_or_init_is_the_only_restore():
  """Training and loading restore through run_dir.restore_or_init alone,
  and the run directory's file names are spelled only in run_dir.py."""
  restores, literals = [], []
  for path in PACKAGE.rglob("*.py"):
    text = path.read_text()
    if path.name == "run_dir.py":
      continue
    if re.search(r"\.restore\(", text):
      restores.append(path.name)
    # bin/analyze's output folder has a metrics.json and figures of its
    # own (analyses/), not a run directory's.
    analysis = path.parent.name in ("analyses", "report")
    # The demo driver reads finished runs' files without TensorFlow, which
    # run_dir imports: it spells the names (tests/test_demo.py covers it).
    if path.name in ("demo.py", "demo_numbers.py"):
      continue
    for name in (run_dir.CONFIG_FILE, run_dir.RECORD_FILE,
                 run_dir.METRICS_FILE, run_dir.RECONSTRUCTIONS_FILE):
      if analysis and name in (run_dir.METRICS_FILE,
                               run_dir.RECONSTRUCTIONS_FILE):
        continue
      if f'"{name}"' in text or f"'{name}'" in text:
        literals.append(f"{path.relative_to(PACKAGE)}: {name}")
  assert not restores, restores
  assert not literals, literals
  for module in ("trainer.py", "trained.py"):
    assert "run_dir.restore_or_init(" in (PACKAGE / module).read_text()


def test_a_folder_that_cannot_be_written_is_named_before_any_work(tmp_path):
  """The probe of bin/train's model_dir (and of a logit cache to build):
  a full disk, and a path through a file."""
  run_dir.check_writable(str(tmp_path / "new"), "--model_dir")
  assert not list(tmp_path.iterdir())  # The probe and the new folder gone.
  with disk_full():
    with pytest.raises(run_dir.NotWritableError,
                       match=f"Cannot write to {tmp_path}/new \\(File too "
                       "large\\). Give --model_dir a folder"):
      run_dir.check_writable(str(tmp_path / "new"), "--model_dir")
  assert not list(tmp_path.iterdir())
  (tmp_path / "file").write_text("")
  with pytest.raises(run_dir.NotWritableError,
                     match=f"Cannot write to {tmp_path}/file/run .*Give "
                     "train.logit_cache_dir a folder"):
    run_dir.check_writable(str(tmp_path / "file" / "run"),
                           "train.logit_cache_dir")
