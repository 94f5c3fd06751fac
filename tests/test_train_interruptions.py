"""bin/train interrupted: kill -9 at chosen moments and at a random one,
and SIGTERM (preemption). Each next start resumes from the last complete
checkpoint, never from a partial one, loses at most
`save_checkpoints_steps` steps, and the run reaches the variables of an
uninterrupted one (docs/reliability.md).

bin/train runs as a subprocess of its cli module with test hooks (HOOKS):
they print a marker line after every training loop and every saved
checkpoint, and kill the process (SIGKILL on itself) at the moment the
test names: mid logit-cache build, a checkpoint's files written but not
merged, merged but not yet named by the `checkpoint` file."""

import os
import pathlib
import random
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf

from trainer_runs import checkpoint_values, run, tiny_bindings

pytestmark = pytest.mark.slow  # Each test starts bin/train several times.

REPO = pathlib.Path(__file__).resolve().parents[1]
MARKER = "LOGIT-GAN-TEST"
STEPS = 24
# One D update per step: half the tracing of the default, which is most
# of each start's time.
BINDINGS = {"train.training_steps": str(STEPS),
            "train.save_checkpoints_steps": "2", "GAN.disc_iters": "1"}

# Run in the child before bin/train's cli module: sys.argv[1] names the
# fault ("none", "cache:<examples>", "merge:<step>", "state:<step>",
# "term:<steps run>").
HOOKS = f"""
import os, signal, sys
from logit_gan import runtime
runtime.configure()  # As bin/train does, before TensorFlow loads.
from tensorflow.python.checkpoint import checkpoint_management
from tensorflow.python.ops import gen_io_ops
from logit_gan import controller, run_dir
from logit_gan.data import logit_cache

kind, _, at = sys.argv.pop(1).partition(":")
sys.argv[0] = "bin/train"

def say(text):
  print("{MARKER}", text, flush=True)

def die(where):
  say("KILL " + where)
  os.kill(os.getpid(), signal.SIGKILL)

def wrap(module, name, before=None, after=None):
  original = getattr(module, name)
  def wrapped(*args, **kwargs):
    if before:
      before(*args, **kwargs)
    result = original(*args, **kwargs)
    if after:
      after(*args, **kwargs)
    return result
  setattr(module, name, wrapped)

def text(value):
  return value if isinstance(value, str) else value.numpy().decode()

wrap(controller.Controller, "_train",
     after=lambda self, steps: say(f"STEP {{self.step}}"))
wrap(run_dir, "save_checkpoint",
     after=lambda manager, step: say(f"SAVED {{step}}"))
examples = [0]
def count_example(*args):
  examples[0] += 1
  if kind == "cache" and examples[0] == int(at):
    die(f"after {{at}} cached examples")
wrap(logit_cache, "_serialize", before=count_example)
def argument(args, kwargs, index, name):
  return text(kwargs[name] if name in kwargs else args[index])

def before_merge(*args, **kwargs):
  prefix = argument(args, kwargs, 1, "destination_prefix")
  if kind == "merge" and prefix.endswith(f"ckpt-{{at}}"):
    die(f"ckpt-{{at}} written, not merged")
wrap(gen_io_ops, "merge_v2_checkpoints", before=before_merge)
def before_state(*args, **kwargs):
  path = argument(args, kwargs, 1, "model_checkpoint_path")
  if kind == "state" and path.endswith(f"ckpt-{{at}}"):
    die(f"ckpt-{{at}} merged, not named in 'checkpoint'")
wrap(checkpoint_management, "update_checkpoint_state_internal",
     before=before_state)

# "term:<n>": a real SIGTERM to this process from inside the n-th training
# step it runs (a py_function in the compiled loop), then a pause for the
# watch thread to see it: mid-loop on a machine of any speed.
if kind == "term":
  import time
  import tensorflow as tf
  from logit_gan import non_finite
  executed = [0]
  def count_step():
    executed[0] += 1
    if executed[0] == int(at):
      say(f"TERM in step {{at}}")
      os.kill(os.getpid(), signal.SIGTERM)
      time.sleep(0.5)
    return 0
  original_stops_after = non_finite.Guard.stops_after
  def stops_after(self, metrics):
    tf.py_function(count_step, [], tf.int32)
    return original_stops_after(self, metrics)
  non_finite.Guard.stops_after = stops_after

from logit_gan.cli import train
train.run()
"""


class Start:
  """One start of bin/train: its exit code, markers and output."""

  def __init__(self, returncode, markers, output):
    self.returncode, self.markers, self.output = returncode, markers, output

  def numbers(self, kind: str) -> list[int]:
    return [int(m.split()[1]) for m in self.markers if m.startswith(kind)]

  def resumed_from(self) -> int:
    """The step the start restored (0: none), from its log."""
    found = re.findall(r"Resuming from \S+ckpt-(\d+) at step (\d+)\.",
                       self.output)
    return int(found[0][1]) if found else 0


def start(model_dir, cache_dir, data_dir, fault="none", *, kill_after=None,
          **overrides) -> Start:
  """Runs bin/train (with HOOKS) to the end or to its fault. `kill_after`
  (seconds): SIGKILL that long after its first training loop ended."""
  bindings = tiny_bindings(data_dir, **{
      **BINDINGS, "train.logit_cache_dir": f"'{cache_dir}'", **overrides})
  command = [sys.executable, "-c", HOOKS, fault, "--gin_file=tiny.gin",
             f"--model_dir={model_dir}"]
  command += [f"--gin_bindings={b}" for b in bindings]
  process = subprocess.Popen(
      command, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  markers, output, timers = [], [], []
  try:
    for line in process.stdout:
      output.append(line)
      if not line.startswith(MARKER):
        continue
      markers.append(line.split(maxsplit=1)[1].strip())
      if kill_after is not None and markers[-1].startswith("STEP"):
        timers.append(threading.Timer(kill_after, process.kill))
        timers[-1].start()
        kill_after = None
    process.wait(timeout=300)
  finally:
    process.kill()
    for timer in timers:
      timer.cancel()
  return Start(process.returncode, markers, "".join(output))


def latest_step(model_dir) -> int:
  latest = tf.train.latest_checkpoint(str(model_dir))
  return int(latest.rsplit("-", 1)[1]) if latest else -1


@pytest.fixture(scope="module")
def data_dir(tiny_shapes_data_dir):
  return tiny_shapes_data_dir


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data_dir):
  """(model_dir, cache_dir) of the run without interruptions, in this
  process."""
  directory = tmp_path_factory.mktemp("uninterrupted")
  cache_dir = directory / "cache"
  run(directory / "model", data_dir, **{
      **BINDINGS, "train.logit_cache_dir": f"'{cache_dir}'"})
  return directory / "model", cache_dir


def assert_same_variables(model_dir, reference_dir, step=STEPS):
  """Every variable of the checkpoints of `step` equal, but the count of
  checkpoints saved."""
  reached, reference = (checkpoint_values(model_dir, step),
                        checkpoint_values(reference_dir, step))
  for values in (reached, reference):
    values.pop("save_counter/.ATTRIBUTES/VARIABLE_VALUE")
  assert reached.keys() == reference.keys()
  for name in reference:
    np.testing.assert_array_equal(reached[name], reference[name],
                                  err_msg=name)


def test_kill_9_at_five_moments_resumes_to_the_uninterrupted_variables(
    tmp_path, data_dir, uninterrupted):
  model_dir, cache_dir = tmp_path / "model", tmp_path / "cache"

  def killed(fault="none", **kwargs):
    started = start(model_dir, cache_dir, data_dir, fault, **kwargs)
    assert started.returncode == -signal.SIGKILL, (
        f"{fault} {kwargs}:\n{started.output[-3000:]}")
    return started

  # 1. During the first logit-cache build: shards, no cache.json.
  killed("cache:64")
  assert not (cache_dir / "cache.json").exists()
  assert list(cache_dir.glob("shard-*")) and latest_step(model_dir) == -1
  # 2. During the write of the initial checkpoint: its shards are in
  # ckpt-0_temp/, not merged.
  killed("merge:0")
  assert (cache_dir / "cache.json").exists()
  assert (model_dir / "ckpt-0_temp").is_dir() and latest_step(model_dir) == -1
  # 3. With its files complete, before the `checkpoint` file names it:
  # not complete, so not read.
  killed("state:0")
  assert (model_dir / "ckpt-0.index").exists() and latest_step(model_dir) == -1
  # 4. During the write of ckpt-6, after training steps 1-6.
  started = killed("merge:6")
  assert started.resumed_from() == 0 and started.numbers("STEP")[-1] == 6
  assert (model_dir / "ckpt-6_temp").is_dir() and latest_step(model_dir) == 4
  # 5. At a random moment after training resumed: in a loop, a checkpoint
  # write or the printing between them.
  delay = random.uniform(0.0, 1.2)
  started = killed(kill_after=delay)
  assert started.resumed_from() == 4
  trained = started.numbers("STEP")[-1]
  saved = [4] + started.numbers("SAVED")
  # The kill may land after a save, before its marker is printed.
  resumed_at = latest_step(model_dir)
  assert resumed_at in (saved[-1], saved[-1] + 2), (delay, saved)
  assert trained - resumed_at <= 2, (delay, trained, resumed_at)
  print(f"killed {delay:.2f} s after step 5, at step {trained}; resumed "
        f"from {resumed_at}")
  # Then to the end, from the last complete checkpoint.
  finished = start(model_dir, cache_dir, data_dir)
  assert finished.returncode == 0, finished.output[-3000:]
  assert finished.resumed_from() == resumed_at
  assert f"Trained steps {resumed_at}-{STEPS} of {STEPS}" in finished.output
  assert_same_variables(model_dir, uninterrupted[0])


def test_sigterm_saves_the_current_step_and_the_run_resumes_from_it(
    tmp_path, data_dir, uninterrupted, caplog):
  """SIGTERM in the middle of a loop of 12 steps (sent in step 18): the
  loop ends after the step it was running, that step is saved, and the
  command exits with 75 and says so; rerunning resumes from there to the
  uninterrupted run's variables."""
  import logging
  model_dir = tmp_path / "model"
  every = {"train.iterations_per_loop": "12",
           "train.save_checkpoints_steps": "12"}
  preempted = start(model_dir, uninterrupted[1], data_dir, "term:18",
                    **every)
  assert preempted.returncode == 75, preempted.output[-3000:]
  step = latest_step(model_dir)
  print(f"SIGTERM in step 18: saved step {step}")
  assert "TERM in step 18" in preempted.markers
  assert 18 <= step < STEPS, preempted.markers
  assert (f"preempted (SIGTERM): saved the checkpoint of step {step}, "
          f"{model_dir}/ckpt-{step}. Rerun the same command to resume from "
          "it.") in preempted.output
  assert "Traceback" not in preempted.output
  caplog.set_level(logging.INFO, logger="absl")
  run(model_dir, data_dir, **{**BINDINGS, **every,
                              "train.logit_cache_dir": f"'{uninterrupted[1]}'"})
  assert f"Resuming from {model_dir}/ckpt-{step} at step {step}." in caplog.text
  assert_same_variables(model_dir, uninterrupted[0])
