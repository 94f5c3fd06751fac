"""Interruptions of a training run from outside: preemption (SIGTERM) and a
lost worker (docs/reliability.md).

Preemption reaches Cloud TPU and GPU VMs and Kubernetes pods as SIGTERM,
some seconds before the kill. `preemption_watch(strategy)` gives:
  * one worker (the default, one_device, mirrored and TPU strategies):
    `SignalWatch`, our own SIGTERM handler. The signal's wakeup byte
    (`signal.set_wakeup_fd`) reaches a thread at once, even while the main
    thread is inside a compiled loop, and the thread sets `requested`, which
    the training loop reads before every step: a loop of
    `iterations_per_loop` steps ends after the step that was running;
  * several workers (multi_worker): `ClusterWatch`, TensorFlow's
    `tf.distribute.experimental.PreemptionCheckpointHandler` with a
    `TerminationConfig` whose save_fn and exit_fn are ours. Through the
    coordination service it agrees on the loop after which every worker
    saves (the loop after the one the signal arrived in), so that no
    worker waits in a collective for one that stopped.
Either way a checkpoint is saved at that step and `Preempted` is raised,
which the bin/ commands report in one line with exit code `EXIT_CODE`;
rerunning the command resumes from that step.

A worker of a multi-worker run that dies or hangs makes the others'
collectives fail: at once when its process is gone (the connection is
reset), after the coordination service's heartbeat timeout (10 s) when it
stops answering. `reporting_lost_workers` turns that error into a
`WorkerLostError` that says to restart every worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from typing import Callable, Iterator, Optional

from absl import logging
import tensorflow as tf

# sysexits.h's EX_TEMPFAIL, "a temporary failure; the user is invited to
# retry": what bin/train exits with after saving on SIGTERM.
EXIT_CODE = 75

# What a collective raises when a peer is gone (connection reset, heartbeat
# timeout, the coordination service's leader not answering).
LOST_WORKER_ERRORS = (tf.errors.UnavailableError,
                      tf.errors.DeadlineExceededError,
                      tf.errors.AbortedError)


class Preempted(Exception):
  """The run saved a checkpoint at `step` on SIGTERM and stopped.

  `exit_code` is what a bin/ command exits with (cli/common.py)."""
  exit_code = EXIT_CODE

  def __init__(self, step: int, path: Optional[str]):
    self.step, self.path = step, path
    super().__init__(
        f"preempted (SIGTERM): saved the checkpoint of step {step}, {path}. "
        "Rerun the same command to resume from it.")


class WorkerLostError(ConnectionError):
  """Another worker of a multi-worker run died or stopped answering."""


class SignalWatch:
  """SIGTERM for one worker: sets `requested` (a bool variable the training
  loop reads before each step) at once, through a thread woken by the
  signal's wakeup byte. Installed while entered; outside the main thread
  (where Python handles signals) it warns and does nothing."""

  def __init__(self):
    self.requested = tf.Variable(False, trainable=False,
                                 name="preemption_requested")
    self._installed = False

  def __enter__(self) -> "SignalWatch":
    if threading.current_thread() is not threading.main_thread():
      logging.warning("Training outside the main thread: SIGTERM ends the "
                      "process without a checkpoint.")
      return self
    read_fd, self._write_fd = os.pipe()
    os.set_blocking(self._write_fd, False)
    self._previous_handler = signal.signal(signal.SIGTERM, self._on_signal)
    self._previous_fd = signal.set_wakeup_fd(self._write_fd)
    self._thread = threading.Thread(target=self._watch, args=(read_fd,),
                                    name="sigterm_watch", daemon=True)
    self._thread.start()
    self._installed = True
    return self

  def _on_signal(self, signum, frame) -> None:
    del signum, frame  # The thread has set `requested` already.
    self.requested.assign(True)

  def _watch(self, read_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
      while True:
        data = pipe.read(64)
        if not data:  # __exit__ closed the pipe.
          return
        if signal.SIGTERM in data:
          logging.warning("SIGTERM: saving a checkpoint after this step.")
          self.requested.assign(True)

  def __exit__(self, *unused) -> None:
    if not self._installed:
      return
    signal.set_wakeup_fd(self._previous_fd)
    signal.signal(signal.SIGTERM, self._previous_handler)
    os.close(self._write_fd)
    self._thread.join()
    self._installed = False

  def check(self, step: int, save: Callable[[int], Optional[str]]) -> None:
    """After a loop ending at `step`: if SIGTERM came, `save(step)` and
    raise Preempted."""
    if bool(self.requested.numpy()):
      raise Preempted(step, save(step))


class ClusterWatch:
  """SIGTERM for several workers: TensorFlow's PreemptionCheckpointHandler,
  given a checkpoint of its own (empty, in a temporary folder: the run's
  checkpoints stay ours) and our save_fn and exit_fn. `requested` is never
  set: the workers stop together, between loops."""

  def __init__(self, strategy: tf.distribute.Strategy):
    self.requested = tf.Variable(False, trainable=False,
                                 name="preemption_requested")
    self._resolver = strategy.cluster_resolver
    self._handler = self._save = None
    self._saved = (0, None)

  def __enter__(self) -> "ClusterWatch":
    self._folder = tempfile.mkdtemp(prefix="logit_gan_preemption_")
    config = tf.distribute.experimental.TerminationConfig(
        exit_fn=self._exit, save_fn=self._save_at)
    self._handler = tf.distribute.experimental.PreemptionCheckpointHandler(
        self._resolver, tf.train.Checkpoint(),
        checkpoint_dir=os.path.join(self._folder, "checkpoint"),
        termination_config=config)
    return self

  def __exit__(self, *unused) -> None:
    shutil.rmtree(self._folder, ignore_errors=True)

  def _save_at(self, step: int) -> None:
    self._saved = (step, self._save(step))

  def _exit(self) -> None:
    raise Preempted(*self._saved)

  def check(self, step: int, save: Callable[[int], Optional[str]]) -> None:
    """After a loop ending at `step`: saves and raises Preempted at the
    step the workers agreed on, once one of them had SIGTERM."""
    self._save = save
    self._handler.save_checkpoint_if_preempted(step)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
  """Whether `strategy` spans a cluster of worker processes (TF_CONFIG)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  return bool(resolver is not None and resolver.cluster_spec().jobs)


def preemption_watch(strategy: tf.distribute.Strategy):
  """`ClusterWatch` for a multi-worker strategy, else `SignalWatch`."""
  return (ClusterWatch(strategy) if is_multi_worker(strategy)
          else SignalWatch())


def _cause(error: tf.errors.OpError) -> str:
  """What a collective's error says happened: the text after "aborted
  by:", with the task or RPC the next line names."""
  lines = [line.strip() for line in error.message.splitlines()] + [""]
  for line, following in zip(lines, lines[1:]):
    if "aborted by:" in line:
      cause = line.split("aborted by:", 1)[1].strip()
      named = following.startswith(("/job:", "RPC:"))
      return f"{cause} {following}" if named else cause
  return " ".join(error.message.split())[:300]


@contextlib.contextmanager
def reporting_lost_workers(strategy: tf.distribute.Strategy,
                           last_checkpoint: Callable[[], Optional[str]]
                           ) -> Iterator[None]:
  """Turns a collective's error in a multi-worker run into WorkerLostError
  naming what happened and the checkpoint the restarted workers resume
  from (`last_checkpoint()`)."""
  try:
    yield
  except LOST_WORKER_ERRORS as error:
    if not is_multi_worker(strategy):
      raise
    raise WorkerLostError(
        f"Lost contact with another worker ({_cause(error)}); collective "
        "training cannot go on without it. Restart every worker with the "
        "same command: they resume together from the last checkpoint, "
        f"{last_checkpoint()}.") from error
