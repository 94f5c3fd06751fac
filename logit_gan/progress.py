"""A console progress line for long runs: step, rate, ETA, latest values.

On a terminal it redraws one line; otherwise (logs, CI) it prints a line at
most every `interval` seconds. The rate and ETA count only the steps run in
this process, so a resumed run's ETA is not flattered by earlier steps.
With an unknown total (a dataset of unknown size) it shows the count and
the rate. keras.utils.Progbar is not used: it redraws with carriage returns
and colour codes even into a log file (it treats every POSIX process as a
terminal), which fills logs with one enormous line.
"""

from __future__ import annotations

import sys
import time
from typing import Mapping, Optional, TextIO


def format_duration(seconds: float) -> str:
  seconds = int(round(max(seconds, 0)))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return (f"{hours}:{minutes:02d}:{seconds:02d}" if hours
          else f"{minutes}:{seconds:02d}")


class Progress:
  """Progress of `total` steps (None: unknown) starting from `start`."""

  def __init__(self, total: Optional[int], start: int = 0, *,
               unit: str = "step", interval: float = 10.0,
               stream: Optional[TextIO] = None, width: int = 24):
    self.total, self.start, self.unit = total, start, unit
    self.interval, self.width = interval, width
    self.stream = stream or sys.stdout
    self.interactive = getattr(self.stream, "isatty", lambda: False)()
    self.started = time.time()
    self._last_print = 0.0
    self.current = start

  def rate(self) -> float:
    elapsed = time.time() - self.started
    return (self.current - self.start) / elapsed if elapsed > 0 else 0.0

  def line(self, values: Mapping[str, float] = ()) -> str:
    rate = self.rate()
    if self.total is None:
      text = f"{self.unit} {self.current} {rate:.2f} {self.unit}/s"
    else:
      done = self.current / self.total if self.total else 1.0
      filled = int(self.width * done)
      bar = "=" * filled + (">" if filled < self.width else "")
      eta = (self.total - self.current) / rate if rate > 0 else float("nan")
      text = (f"{self.unit} {self.current}/{self.total} "
              f"[{bar:<{self.width}}] {rate:.2f} {self.unit}/s "
              f"ETA {format_duration(eta) if rate > 0 else '?'}")
    shown = " ".join(f"{k} {v:.4g}" for k, v in dict(values).items())
    return f"{text} {shown}".rstrip()

  def update(self, current: int, values: Mapping[str, float] = (),
             force: bool = False) -> None:
    self.current = current
    now = time.time()
    if self.interactive:
      self.stream.write("\r" + self.line(values) + "\x1b[K")
      self.stream.flush()
    elif force or now - self._last_print >= self.interval:
      self.stream.write(self.line(values) + "\n")
      self.stream.flush()
      self._last_print = now

  def finish(self, summary: str) -> None:
    if self.interactive:
      self.stream.write("\n")
    self.stream.write(summary + "\n")
    self.stream.flush()
