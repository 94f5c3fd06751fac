"""The console progress line: its rate and ETA, and how it writes to logs."""

import io

import pytest

from logit_gan import progress


class Clock:
  """Stands in for time.time so that rates and ETAs are exact."""

  def __init__(self, now: float = 1000.0):
    self.now = now

  def __call__(self) -> float:
    return self.now


class Terminal(io.StringIO):

  def isatty(self) -> bool:
    return True


@pytest.fixture
def clock(monkeypatch):
  fake = Clock()
  monkeypatch.setattr(progress.time, "time", fake)
  return fake


@pytest.mark.parametrize("seconds, text", [
    (0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3599, "59:59"),
    (3600, "1:00:00"), (3725, "1:02:05"), (-5, "0:00")])
def test_format_duration(seconds, text):
  assert progress.format_duration(seconds) == text


def test_rate_and_eta_count_only_this_process_steps(clock):
  # A run resumed at step 400 of 1,000 that does 100 steps in 20 s: 5
  # steps/s and 500 steps to go, so 100 s, whatever steps 0-400 took.
  bar = progress.Progress(1000, start=400, stream=io.StringIO())
  clock.now += 20
  bar.update(500)
  assert bar.rate() == pytest.approx(5.0)
  line = bar.line({"d_loss": 1.23456, "agreement": 0.5})
  assert line.startswith("step 500/1000 [============>")
  assert "5.00 step/s ETA 1:40 d_loss 1.235 agreement 0.5" in line


def test_log_stream_gets_whole_lines_at_most_every_interval(clock):
  stream = io.StringIO()
  bar = progress.Progress(100, stream=stream, interval=10.0)
  for _ in range(11):  # One step per second: lines at steps 1 and 11.
    clock.now += 1
    bar.update(bar.current + 1)
  clock.now += 1
  bar.update(12, force=True)  # E.g. after an evaluation.
  lines = stream.getvalue().splitlines()
  assert [line.split()[1] for line in lines] == ["1/100", "11/100", "12/100"]
  assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
  bar.finish("done")
  assert stream.getvalue().splitlines()[3:] == ["done"]


def test_terminal_redraws_one_line_then_ends_it(clock):
  stream = Terminal()
  bar = progress.Progress(4, stream=stream, unit="batch")
  for _ in range(4):
    clock.now += 2
    bar.update(bar.current + 1)
  bar.finish("all cached")
  text = stream.getvalue()
  assert text.count("\r") == 4 and text.count("\n") == 2
  last_draw = text.split("\r")[-1]
  assert last_draw.startswith("batch 4/4 [========================] 0.50 "
                              "batch/s ETA 0:00")
  assert text.endswith("\nall cached\n")


def test_unknown_total_shows_count_and_rate_without_eta(clock):
  bar = progress.Progress(None, unit="batch", stream=io.StringIO())
  clock.now += 4
  bar.update(10)
  assert bar.line() == "batch 10 2.50 batch/s"
