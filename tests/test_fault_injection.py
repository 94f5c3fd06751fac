"""Kill -9 of the commands that write artefacts, in the middle of writing
them: what is left is the previous artefact, whole, or none; never a half
one that loads (docs/reliability.md).

Each test runs the command's `logit_gan.cli` module in a subprocess with
one library function wrapped to print a marker and stop at the moment
under test, then kills the process with SIGKILL there; or (bin/export)
polls for the file the command is writing and kills it when it appears."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

import analysis_models
import trainer_runs
from logit_gan import export
from logit_gan.classifiers import zoo
from logit_gan.data import logit_cache
from logit_gan.data import pipeline

REPO = pathlib.Path(__file__).resolve().parents[1]
MARKER = "FAULT-INJECTION-POINT"


def start_command(setup: str, command: str, args: list[str],
                  log: pathlib.Path, *, read_stdout: bool = True
                  ) -> subprocess.Popen:
  """Runs `setup` (code run first), then the command's cli module with
  `args`, in a subprocess whose stderr goes to log and stdout to a pipe
  (`read_stdout`: the caller reads it, else it would fill) or nowhere."""
  code = textwrap.dedent(setup) + textwrap.dedent(f"""
      import sys
      sys.argv = ["bin/{command}", *{args!r}]
      from logit_gan.cli import {command}
      {command}.run()
      """)
  with open(log, "w") as stderr:
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stderr=stderr, text=True,
        stdout=subprocess.PIPE if read_stdout else subprocess.DEVNULL)


def assert_killed(process: subprocess.Popen, command: str,
                  log: pathlib.Path) -> None:
  process.kill()  # If it is still running: the fault point never came.
  returncode = process.wait(timeout=60)
  assert returncode == -signal.SIGKILL, (
      f"{command} ended ({returncode}) before the fault point:\n"
      + log.read_text()[-3000:])


def kill_at_marker(setup: str, command: str, args: list[str],
                   tmp_path: pathlib.Path) -> None:
  """Runs `setup` (code that prints MARKER where the kill should land),
  then the command's cli module with `args`; kills it with SIGKILL when
  the marker appears."""
  log = tmp_path / f"{command}.log"
  process = start_command(setup, command, args, log)
  try:
    for line in process.stdout:
      if MARKER in line:
        os.kill(process.pid, signal.SIGKILL)
        break
  finally:
    assert_killed(process, command, log)


@pytest.fixture
def classifier_file(tmp_path):
  keras.utils.set_random_seed(1)
  path = str(tmp_path / "previous" / "classifier.keras")
  zoo.save(zoo.small_resnet(10, width=8), path)
  return path


@pytest.mark.slow
def test_kill_during_the_logit_cache_build_leaves_no_cache_that_loads(
    tmp_path, tiny_shapes_data_dir, classifier_file):
  output = tmp_path / "cache"
  # After the 3rd of 32 batches: a shard is open, half written.
  setup = f"""
      import time
      from logit_gan import progress
      update = progress.Progress.update
      def update_then_stop(self, done, *args, **kwargs):
        update(self, done, *args, **kwargs)
        if done == 3:
          print("{MARKER}", flush=True)
          time.sleep(300)
      progress.Progress.update = update_then_stop
      """
  kill_at_marker(setup, "cache_logits", [
      "--gin_bindings=classifier.name = 'small_resnet'",
      f"--gin_bindings=classifier.path = '{classifier_file}'",
      "--gin_bindings=dataset.name = 'shapes'",
      f"--gin_bindings=dataset.data_dir = '{tiny_shapes_data_dir}'",
      "--split=train", "--resolution=32", "--batch_size=4",
      f"--output_dir={output}"], tmp_path)
  assert [p.name for p in output.iterdir()] == ["shard-00000.tfrecord"]
  with pytest.raises(FileNotFoundError, match="interrupted logit-cache build"):
    logit_cache.read_info(str(output))
  # Running it again rebuilds the cache in place.
  classifier = zoo.load(classifier_file, name="small_resnet")
  info = logit_cache.cache_split(
      classifier, str(output),
      spec=pipeline.DatasetSpec("shapes", tiny_shapes_data_dir),
      split="train", resolution=32, batch_size=32)
  assert info.num_examples == 128
  assert logit_cache.read_info(str(output)) == info


@pytest.mark.slow
def test_kill_while_saving_the_classifier_keeps_the_previous_one(
    tmp_path, tiny_shapes_data_dir, classifier_file):
  output = pathlib.Path(classifier_file).parent
  previous = zoo.load(classifier_file).keras_model.get_weights()
  (output / "metrics.json").write_text('{"previous": true}')
  # When the .keras zip's entries are written but not its directory.
  setup = f"""
      import time, zipfile
      close = zipfile.ZipFile.close
      def stop_before_closing(self):
        if self.mode == "w" and str(getattr(self.fp, "name", "")).endswith(
            ".keras"):
          self.fp.flush()
          print("{MARKER}", flush=True)
          time.sleep(300)
        close(self)
      zipfile.ZipFile.close = stop_before_closing
      """
  kill_at_marker(setup, "train_classifier", [
      "--gin_file=shapes/classifier_standard.gin",
      f"--gin_bindings=dataset.data_dir = '{tiny_shapes_data_dir}'",
      "--gin_bindings=train_classifier.steps = 2",
      "--gin_bindings=train_classifier.batch_size = 8",
      "--gin_bindings=train_classifier.eval_examples = 8",
      f"--output_dir={output}"], tmp_path)
  # The half-written file is there under a temporary name, and unreadable.
  half = [p for p in output.iterdir() if p.name.startswith(".tmp-")]
  assert len(half) == 1 and half[0].stat().st_size > 0
  with pytest.raises(ValueError, match="not a readable Keras model file"):
    zoo.load(str(half[0]))
  # classifier.keras is the previous one, whole; so is metrics.json.
  for kept, before in zip(zoo.load(classifier_file).keras_model.get_weights(),
                          previous):
    np.testing.assert_array_equal(kept, before)
  assert (output / "metrics.json").read_text() == '{"previous": true}'


def kill_when_it_appears(setup: str, command: str, args: list[str],
                         tmp_path: pathlib.Path, path: pathlib.Path,
                         timeout: float = 600) -> list[str]:
  """Runs the command (after `setup`) and kills it with SIGKILL as soon as
  `path` exists (polled every millisecond); returns what `path` held
  then (relative paths: how far the write had come)."""
  log = tmp_path / f"{command}.log"
  process = start_command(setup, command, args, log, read_stdout=False)
  began, held = time.monotonic(), None
  try:
    while process.poll() is None and time.monotonic() - began < timeout:
      if path.exists():
        os.kill(process.pid, signal.SIGKILL)
        held = sorted(str(p.relative_to(path)) for p in path.rglob("*"))
        break
      time.sleep(0.001)
  finally:
    assert_killed(process, command, log)
  return held


def tree(folder: pathlib.Path) -> dict:
  return {str(p.relative_to(folder)): p.read_bytes()
          for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_kill_while_exporting_keeps_the_versions_and_shows_no_half_one(
    tmp_path, tiny_shapes_data_dir):
  model_dir, export_dir = tmp_path / "run", tmp_path / "exports"
  trainer_runs.run(model_dir, tiny_shapes_data_dir,
                   **{"train.training_steps": "0"})
  # bin/export writes version 1 whole, then version 2, killed as soon as
  # its staging folder appears. Publishing version 2 (the rename) waits,
  # so the kill always lands before it.
  setup = """
      import time
      import tensorflow as tf
      from logit_gan import export
      export_once = export.export
      def export_twice(*args, **kwargs):
        export_once(*args, **kwargs)
        return export_once(*args, **kwargs)
      export.export = export_twice
      rename = tf.io.gfile.rename
      def slow_rename(source, target, *args, **kwargs):
        if source.endswith(".2.incomplete"):
          time.sleep(300)
        return rename(source, target, *args, **kwargs)
      tf.io.gfile.rename = slow_rename
      """
  held = kill_when_it_appears(setup, "export", [
      f"--model_dir={model_dir}", f"--export_dir={export_dir}",
      "--nowith_classifier"], tmp_path,
      export_dir / ".2.incomplete")
  print(f"bin/export killed with .2.incomplete holding {held}")
  # Version 1 is whole and loads; the half one is not a numbered folder
  # (TF Serving, bin/reconstruct and bin/analyze see version 1 alone).
  assert sorted(os.listdir(export_dir)) == [".2.incomplete", "1"]
  assert export.versions(str(export_dir)) == [(1, str(export_dir / "1"))]
  kept = tree(export_dir / "1")
  assert int(export.load(str(export_dir)).describe()["training_step"]) == 0
  # The next export (here of a tiny generator: bin/export's numbering and
  # staging are export.export's) is version 2 and removes the stale
  # staging folder.
  written = export.export(analysis_models.tiny_generator(seed=1),
                          str(export_dir), metadata={"classifier": "none"})
  assert written == str(export_dir / "2")
  assert sorted(os.listdir(export_dir)) == ["1", "2"]
  assert int(export.load(written).describe()["z_dim"]) == (
      analysis_models.Z_DIM)
  assert tree(export_dir / "1") == kept
