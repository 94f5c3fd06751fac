"""Resumable stages of child commands, run for a person watching
(`bin/demo`, logit_gan/demo.py).

A `Stage` is a named list of `Step`s; a step is a command (argv) with a
`done()` check on its outputs, its expected minutes and a `summary()`
line. `run_stages` runs, in order, every step whose `done()` is False and
skips the others, so running the same stages again after an interruption
finishes the work and redoes nothing complete (each command resumes its
own partial work: `bin/train` from its last checkpoint, `bin/analyze` only
the missing experiments). It prints

  [k/K] <stage> — expected ~M min, overall ETA ~T min
  <the child's own output, line by line>
    → <the stage's summary: its steps' summaries joined by '; '>

M and T are the expected minutes of the steps still to run, scaled by how
long the steps run so far took against their expectations (the ratio of
the sums: a machine twice as slow doubles the ETA after its first stage).
A child silent for `heartbeat_s` gets a line saying how long it has run.
Output passes through without carriage returns or terminal escapes (a
child redrawing a line with '\\r' has at most one redraw shown per
`redraw_s`), so a log of it reads as plain lines.

A failed step ends the run with `StageFailed` (its exit code); Ctrl-C or
SIGTERM stops the child (`terminate`, then `kill` after a grace period)
and raises KeyboardInterrupt. On Linux each child is also asked to die
with the driver (PR_SET_PDEATHSIG), so a killed driver leaves no trainer
running that a rerun would race with.
"""

from __future__ import annotations

import dataclasses
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from typing import Callable, Mapping, Optional, Sequence, TextIO

from logit_gan import progress as progress_lib

# Terminal control sequences (colours, cursor moves, line clears).
_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]")
_TERMINATE_GRACE_S = 15.0


@dataclasses.dataclass
class Step:
  """One command of a stage.

  label: a short name for messages ("robust GAN").
  command: the argv to run.
  done: whether the step's outputs are complete (then it is skipped).
  expected_minutes: the expected minutes of what is left to do (called
    before the step runs, so it may look at partial outputs).
  summary: one line about the finished step's outputs ('' for none).
  after: called when the command has succeeded, before `done()` is
    checked (e.g. to write a stamp that `done` reads).
  """
  label: str
  command: Sequence[str]
  done: Callable[[], bool]
  expected_minutes: Callable[[], float]
  summary: Callable[[], str] = lambda: ""
  after: Optional[Callable[[], None]] = None


@dataclasses.dataclass
class Stage:
  name: str
  steps: Sequence[Step]


@dataclasses.dataclass
class StepRecord:
  """What happened to a step: run (with its seconds and expectation) or
  skipped because it was complete."""
  stage: str
  label: str
  command: list
  ran: bool
  seconds: float = 0.0
  expected_minutes: float = 0.0


class StageFailed(RuntimeError):
  """A step's command failed: a non-zero exit code, or exit code 0 with
  its outputs still incomplete."""

  def __init__(self, stage: str, step: Step, returncode: int):
    self.stage, self.step, self.returncode = stage, step, returncode
    what = (f"failed with exit code {returncode}" if returncode else
            "exited 0 but its outputs are incomplete")
    super().__init__(f"{step.label} ({stage}) {what}: "
                     f"{command_line(step.command)}")


def command_line(command: Sequence) -> str:
  """The command as a shell line: plain words bare, words with spaces or
  quotes in double quotes where that is safe, else shlex's quoting."""
  words = []
  for word in map(str, command):
    if shlex.quote(word) == word:
      words.append(word)
    elif not any(c in word for c in '"$`\\!'):
      words.append(f'"{word}"')
    else:
      words.append(shlex.quote(word))
  return " ".join(words)


def minutes(value: float) -> str:
  """'~3 min', '~0.5 min', '<0.1 min' for expected durations."""
  if value < 0.1:
    return "<0.1 min"
  return f"~{value:.1f} min" if value < 10 else f"~{value:.0f} min"


class LineCleaner:
  """Bytes of a child's output in, printable lines out: split at '\\n'
  and '\\r', terminal escapes removed, blank lines dropped, and of the
  redrawn progress lines (a segment ended or preceded by a lone '\\r', or
  holding a cursor-up escape, as tqdm's nested bars write) at most one per
  `redraw_s` kept."""

  def __init__(self, redraw_s: float = 10.0,
               clock: Callable[[], float] = time.monotonic):
    self.redraw_s, self.clock = redraw_s, clock
    self._pending = b""
    self._after_return = False
    self._last_redraw = -float("inf")

  def feed(self, data: bytes) -> list[str]:
    self._pending += data
    lines = []
    while True:
      match = re.search(rb"\r\n|\n|\r", self._pending)
      if match is None or (match.group() == b"\r"
                           and match.end() == len(self._pending)):
        break  # A trailing '\r' may be the first half of '\r\n'.
      raw = self._pending[:match.start()]
      self._pending = self._pending[match.end():]
      redraw = (match.group() == b"\r" or self._after_return
                or b"\x1b[A" in raw)
      self._after_return = match.group() == b"\r"
      text = self._text(raw)
      if text and redraw:
        now = self.clock()
        if now - self._last_redraw < self.redraw_s:
          continue
        self._last_redraw = now
      lines.extend(text)
    return lines

  def flush(self) -> list[str]:
    segment, self._pending = self._pending, b""
    return self._text(segment.rstrip(b"\r"))

  @staticmethod
  def _text(segment: bytes) -> list[str]:
    text = _ESCAPES.sub(b"", segment).decode("utf-8", "replace").rstrip()
    return [text] if text.strip() else []


def _die_with_parent() -> None:  # pragma: no cover - runs in the child.
  """Linux: the child gets SIGTERM when the driver dies (even by SIGKILL)."""
  try:
    import ctypes  # pylint: disable=import-outside-toplevel
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig,
                                            int(signal.SIGTERM))
  except (OSError, AttributeError):
    pass


class Printer:
  """Writes lines to the console stream and, if given, a log file."""

  def __init__(self, stream: TextIO, log: Optional[TextIO] = None):
    self.stream, self.log = stream, log

  def __call__(self, text: str) -> None:
    for target in (self.stream, self.log):
      if target is not None:
        target.write(text + "\n")
        target.flush()


def _stop(process: subprocess.Popen) -> None:
  """SIGTERM, then SIGKILL after a grace period."""
  if process.poll() is not None:
    return
  process.terminate()
  try:
    process.wait(_TERMINATE_GRACE_S)
  except subprocess.TimeoutExpired:
    process.kill()
    process.wait()


def run_command(command: Sequence[str], print_line: Callable[[str], None],
                *, env: Optional[Mapping[str, str]] = None,
                heartbeat: Optional[Callable[[float], str]] = None,
                heartbeat_s: float = 60.0, redraw_s: float = 10.0) -> int:
  """Runs `command` with its stdout and stderr passed to `print_line`
  line by line (`LineCleaner`); after `heartbeat_s` of silence prints
  `heartbeat(seconds running)`. Returns the exit code; on
  KeyboardInterrupt stops the child first."""
  process = subprocess.Popen(
      list(map(str, command)), stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
      env=None if env is None else dict(env),
      preexec_fn=_die_with_parent if sys.platform.startswith("linux")
      else None)
  cleaner = LineCleaner(redraw_s)
  began = last_output = time.monotonic()
  descriptor = process.stdout.fileno()
  try:
    while True:
      ready, _, _ = select.select([descriptor], [], [], 1.0)
      now = time.monotonic()
      if ready:
        data = os.read(descriptor, 65536)
        if not data:
          break
        for line in cleaner.feed(data):
          print_line(line)
          last_output = now
      elif heartbeat is not None and now - last_output >= heartbeat_s:
        print_line(heartbeat(now - began))
        last_output = now
    for line in cleaner.flush():
      print_line(line)
    return process.wait()
  except BaseException:
    _stop(process)
    raise
  finally:
    process.stdout.close()


class _Clock:
  """Expected against actual minutes of the steps run so far."""

  def __init__(self):
    self.expected = self.actual = 0.0

  def scale(self) -> float:
    return self.actual / self.expected if self.expected > 0 else 1.0

  def add(self, expected: float, seconds: float) -> None:
    self.expected += expected
    self.actual += seconds / 60


def _remaining(stages: Sequence[Stage]) -> float:
  """Expected minutes of the steps not done in `stages`."""
  return sum(step.expected_minutes() for stage in stages
             for step in stage.steps if not step.done())


def _summary(stage: Stage) -> str:
  parts = []
  for step in stage.steps:
    try:
      text = step.summary()
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
      text = f"{step.label}: no summary ({error})"
    if text:
      parts.append(text)
  return "; ".join(parts)


def _run_step(stage: Stage, step: Step, print_line, clock: _Clock,
              options: dict) -> StepRecord:
  expected = step.expected_minutes()
  print_line(f"  $ {command_line(step.command)}")
  began = time.monotonic()

  def heartbeat(seconds: float) -> str:
    return (f"  ... {step.label}: {progress_lib.format_duration(seconds)} "
            f"so far, expected {minutes(expected * clock.scale())} in all")

  code = run_command(step.command, print_line, heartbeat=heartbeat,
                     **options)
  seconds = time.monotonic() - began
  if code != 0:
    raise StageFailed(stage.name, step, code)
  if step.after is not None:
    step.after()
  if not step.done():
    raise StageFailed(stage.name, step, 0)  # Exited 0 but left no output.
  clock.add(expected, seconds)
  return StepRecord(stage.name, step.label, list(map(str, step.command)),
                    True, seconds, expected)


def run_stages(stages: Sequence[Stage], print_line: Callable[[str], None],
               *, env: Optional[Mapping[str, str]] = None,
               heartbeat_s: float = 60.0, redraw_s: float = 10.0
               ) -> list[StepRecord]:
  """Runs the steps not done of each stage, in order (module docstring);
  returns a record per step. Raises StageFailed when a command fails (or
  exits 0 without completing its outputs)."""
  clock, records = _Clock(), []
  options = dict(env=env, heartbeat_s=heartbeat_s, redraw_s=redraw_s)
  for index, stage in enumerate(stages, 1):
    todo = [step for step in stage.steps if not step.done()]
    head = f"[{index}/{len(stages)}] {stage.name}"
    if not todo:
      print_line(f"{head} — complete, skipped")
    else:
      scale = clock.scale()
      this = sum(step.expected_minutes() for step in todo)
      print_line(f"{head} — expected {minutes(this * scale)}, overall ETA "
                 f"{minutes((this + _remaining(stages[index:])) * scale)}")
    for step in stage.steps:  # A step may depend on the one before it.
      if not step.done():
        records.append(_run_step(stage, step, print_line, clock, options))
      else:
        records.append(StepRecord(stage.name, step.label,
                                  list(map(str, step.command)), False))
    summary = _summary(stage)
    if summary:
      print_line(f"    → {summary}")
  return records
