"""Kill -9 of the commands that write artefacts, in the middle of writing
them: what is left is the previous artefact, whole, or none; never a half
one that loads (docs/reliability.md).

Each test runs the command's `logit_gan.cli` module in a subprocess with
one library function wrapped to print a marker and stop at the moment
under test, then kills the process with SIGKILL there."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from logit_gan.classifiers import zoo
from logit_gan.data import logit_cache
from logit_gan.data import pipeline

REPO = pathlib.Path(__file__).resolve().parents[1]
MARKER = "FAULT-INJECTION-POINT"


def kill_at_marker(setup: str, command: str, args: list[str],
                   tmp_path: pathlib.Path) -> None:
  """Runs `setup` (code that prints MARKER where the kill should land),
  then the command's cli module with `args`; kills it with SIGKILL when
  the marker appears."""
  code = textwrap.dedent(setup) + textwrap.dedent(f"""
      import sys
      sys.argv = ["bin/{command}", *{args!r}]
      from logit_gan.cli import {command}
      {command}.run()
      """)
  log = tmp_path / f"{command}.log"
  with open(log, "w") as stderr:
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=stderr,
                               text=True)
    try:
      for line in process.stdout:
        if MARKER in line:
          os.kill(process.pid, signal.SIGKILL)
          break
    finally:
      process.kill()
      returncode = process.wait(timeout=60)
  assert returncode == -signal.SIGKILL, (
      f"{command} ended ({returncode}) before the fault point:\n"
      + log.read_text()[-3000:])


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
