"""bin/demo (logit_gan/cli/demo.py, demo.py, stages.py): stages skipped when
complete, resumed when interrupted, progress lines, summaries and the
headline numbers. The driver runs for real over a fake toolchain
(tests/demo_fake_python.py stands in for the interpreter of the stage
commands and writes what each real command would), so these tests take
seconds; the real stages are `make demo`'s."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from logit_gan import demo
from logit_gan import demo_numbers
from logit_gan import stages

REPO = pathlib.Path(__file__).resolve().parents[1]
FAKE = REPO / "tests" / "demo_fake_python.py"


# The stage runner on its own.

def test_line_cleaner_keeps_lines_and_one_redraw_per_interval():
  now = [0.0]
  cleaner = stages.LineCleaner(redraw_s=10.0, clock=lambda: now[0])
  assert cleaner.feed(b"first line\nsecond") == ["first line"]
  assert cleaner.feed(b" half\r") == []  # '\r' may start '\r\n'.
  assert cleaner.feed(b"\n\x1b[32mgreen\x1b[0m\n\n") == [
      "second half", "green"]
  # A bar redrawn with '\r': the first redraw shows, the next within 10 s
  # do not, the one after 10 s does (20%: its '\r' was seen last).
  assert cleaner.feed(b"\r 10%\r 20%\r") == [" 10%"]
  now[0] = 10.5
  assert cleaner.feed(b" 30%\r 40%") == [" 20%"]
  assert cleaner.flush() == [" 40%"]
  # tqdm's nested bars (TFDS): '\r<bar>\x1b[A' then '\n', each a redraw.
  nested = b"\n\rsplits: 0/2\n\rexamples: 1\x1b[A\n\rexamples: 254\x1b[A\n"
  now[0] = 30.0
  assert cleaner.feed(nested) == ["splits: 0/2"]
  now[0] = 41.0
  assert cleaner.feed(b"\rexamples: 474\x1b[A\nDone.\n") == [
      "examples: 474", "Done."]


def test_command_lines_are_shell_lines():
  assert stages.command_line(
      ["bin/x", "--gin_bindings=a.b = 'c d'", 'say "hi"', "plain"]) == (
          "bin/x \"--gin_bindings=a.b = 'c d'\" 'say \"hi\"' plain")


def _step(tmp_path, name, expected, log):
  """A step whose command appends its name to `log` and creates a file."""
  output = tmp_path / name
  code = (f"open({str(log)!r}, 'a').write({name!r} + '\\n'); "
          f"open({str(output)!r}, 'w').close(); print('made', {name!r})")
  return stages.Step(name, [sys.executable, "-c", code],
                     done=output.exists, expected_minutes=lambda: expected,
                     summary=lambda: f"{name} ok" if output.exists() else "")


def test_stages_print_expectations_run_once_and_skip_when_complete(
    tmp_path):
  log = tmp_path / "ran.txt"
  plan = [stages.Stage("first", [_step(tmp_path, "a", 2.0, log),
                                 _step(tmp_path, "b", 1.0, log)]),
          stages.Stage("second", [_step(tmp_path, "c", 2.0, log)])]
  lines = []
  records = stages.run_stages(plan, lines.append)
  assert lines[0] == "[1/2] first — expected ~3.0 min, overall ETA ~5.0 min"
  assert "made a" in lines and "made c" in lines
  assert "    → a ok; b ok" in lines
  assert log.read_text().split() == ["a", "b", "c"]
  assert [r.ran for r in records] == [True, True, True]
  lines.clear()
  records = stages.run_stages(plan, lines.append)
  assert lines == ["[1/2] first — complete, skipped", "    → a ok; b ok",
                   "[2/2] second — complete, skipped", "    → c ok"]
  assert log.read_text().split() == ["a", "b", "c"]
  assert not any(r.ran for r in records)


def test_eta_scales_by_the_finished_steps():
  clock = stages._Clock()  # pylint: disable=protected-access
  assert clock.scale() == 1.0
  clock.add(expected=2.0, seconds=240)  # Took 4 min for 2 expected.
  clock.add(expected=1.0, seconds=30)
  assert clock.scale() == pytest.approx(4.5 / 3.0)
  assert stages.minutes(0.05) == "<0.1 min"
  assert stages.minutes(2.25) == "~2.2 min"
  assert stages.minutes(31.4) == "~31 min"


def test_a_failing_step_stops_and_a_rerun_does_only_what_is_left(tmp_path):
  log = tmp_path / "ran.txt"
  broken = stages.Step("broken", [sys.executable, "-c", "exit(4)"],
                       done=lambda: (tmp_path / "fixed").exists(),
                       expected_minutes=lambda: 1.0)
  plan = [stages.Stage("one", [_step(tmp_path, "a", 1.0, log)]),
          stages.Stage("two", [broken, _step(tmp_path, "b", 1.0, log)])]
  with pytest.raises(stages.StageFailed, match="exit code 4"):
    stages.run_stages(plan, lambda line: None)
  assert log.read_text().split() == ["a"]
  (tmp_path / "fixed").touch()
  stages.run_stages(plan, lambda line: None)
  assert log.read_text().split() == ["a", "b"]


def test_a_command_that_leaves_no_output_fails():
  step = stages.Step("lazy", [sys.executable, "-c", "pass"],
                     done=lambda: False, expected_minutes=lambda: 0.1)
  with pytest.raises(stages.StageFailed, match="outputs are incomplete"):
    stages.run_stages([stages.Stage("s", [step])], lambda line: None)


def test_a_silent_child_gets_heartbeats():
  lines = []
  code = stages.run_command(
      [sys.executable, "-c", "import time; time.sleep(2.5)"], lines.append,
      heartbeat=lambda seconds: f"alive {seconds:.0f}", heartbeat_s=1.0)
  assert code == 0
  assert 1 <= len(lines) <= 3 and all(l.startswith("alive") for l in lines)


# The demo's plan, driven for real over the fake toolchain.

@pytest.fixture
def fake(tmp_path):
  """(run(*flags, **env) -> CompletedProcess, calls() -> the fake's log)."""
  python = tmp_path / "fakepy"
  python.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
  python.chmod(0o755)
  log = tmp_path / "calls.jsonl"
  (tmp_path / "export" / "examples").mkdir(parents=True)
  env = {**os.environ, "FAKE_LOG": str(log),
         "TFDS_DATA_DIR": str(tmp_path / "tfds"), "PYTHONPATH": str(REPO)}
  args = [sys.executable, "-m", "logit_gan.cli.demo", f"--python={python}",
          f"--runs={tmp_path}/runs", f"--exports={tmp_path}/exports",
          f"--analysis={tmp_path}/analysis",
          f"--report={tmp_path}/report/index.html", "--gan_steps=1500",
          "--dnb_steps=1000"]

  def calls():
    if not log.exists():
      return []
    return [json.loads(line) for line in log.read_text().splitlines()]

  def start(*flags, **extra):
    return subprocess.Popen(args + list(flags), env={**env, **extra},
                            cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

  def run(*flags, **extra):
    process = start(*flags, **extra)
    out, _ = process.communicate(timeout=120)
    return process.returncode, out

  return run, start, calls


def _commands(calls):
  return [c["command"] for c in calls]


def test_the_demo_runs_every_stage_once_then_skips_them_all(fake,
                                                            tmp_path):
  run, _, calls = fake
  code, out = run()
  assert code == 0, out
  assert _commands(calls()) == (
      ["demo"] * 2 + ["train_classifier"] * 2 + ["cache_logits"] * 2
      + ["train"] * 3 + ["export"] * 3 + ["reconstruct", "analyze"]
      + ["report"])
  for index, name in enumerate(
      ("build the datasets", "train the classifiers", "cache their logits",
       "train the GANs and the decoder", "export the three", "analyse",
       "write the report"), 1):
    assert f"[{index}/7] {name} — expected " in out
  assert "→ shapes_mini: 100 train, 10 test images" in out
  assert "standard 50.00% clean, 25.00% PGD-10" in out
  assert "robust: class agreement 15.0% at step 1,500" in out
  assert "\r" not in out and "Generating shapes_mini: 0%" in out
  assert "class agreement: shapes_mini_robust 50.0% [49.0, 51.0]" in out
  record = json.loads((tmp_path / "report" / "demo.json").read_text())
  assert len(record["steps"]) == 15 and all(s["ran"]
                                            for s in record["steps"])
  assert record["machine"]["cores"] == os.cpu_count()
  assert record["machine"]["avx512"] in (True, False, None)
  assert len(record["gin_configs"]) == 5 and (
      "train.training_steps = 1500\n" in record["gin_configs"].values())
  # Again: nothing runs, every stage says so.
  code, out = run()
  assert code == 0, out
  assert len(calls()) == 15
  assert out.count("— complete, skipped") == 7


def _in_the_robust_gan(start, calls, tmp_path):
  """Starts the demo with 1 s per 500 fake GAN steps; returns (the driver,
  the robust GAN's pid) once that GAN has saved its first checkpoint."""
  driver = start(FAKE_STEP_S="1.0")
  checkpoint = tmp_path / "runs" / "shapes_mini_robust" / "ckpt-500.index"
  deadline = time.time() + 60
  while not checkpoint.exists() and time.time() < deadline:
    time.sleep(0.1)
  assert checkpoint.exists(), driver.communicate()[0]
  return driver, [c for c in calls() if c["command"] == "train"][-1]["pid"]


def test_killed_during_a_gan_the_rerun_resumes_and_redoes_nothing(
    fake, tmp_path):
  run, start, calls = fake
  driver, trainer = _in_the_robust_gan(start, calls, tmp_path)
  driver.kill()  # SIGKILL: the driver cannot clean up...
  driver.communicate()
  deadline = time.time() + 10  # ...but its child dies with it.
  while _alive(trainer) and time.time() < deadline:
    time.sleep(0.1)
  assert not _alive(trainer)
  before = _commands(calls())
  code, out = run()
  assert code == 0, out
  after = calls()[len(before):]
  # Datasets, classifiers and caches are not redone; the GAN resumes.
  assert _commands(after)[:3] == ["train"] * 3
  assert after[0]["start_step"] >= 500
  assert "[1/7] build the datasets — complete, skipped" in out


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  try:  # A zombie (exited, not yet reaped) counts as dead.
    with open(f"/proc/{pid}/stat") as stat:
      return stat.read().split()[2] != "Z"
  except OSError:
    return False


def test_sigterm_stops_the_child_and_says_how_to_go_on(fake, tmp_path):
  _, start, calls = fake
  driver, trainer = _in_the_robust_gan(start, calls, tmp_path)
  driver.send_signal(signal.SIGTERM)
  out, _ = driver.communicate(timeout=30)
  assert driver.returncode == 130, out
  assert "Run `make demo` (or this command) again" in out
  assert not _alive(trainer)


def test_a_failed_stage_is_reported_and_the_rerun_finishes(fake):
  run, _, calls = fake
  code, out = run(FAKE_FAIL="export")
  assert code == 1
  assert "error: export shapes_mini_robust (export the three) failed with " \
         "exit code 3" in out
  done_before = len(calls())
  code, out = run()
  assert code == 0, out
  assert _commands(calls()[done_before:]) == (
      ["export"] * 3 + ["reconstruct", "analyze"] + ["report"])


def test_more_gan_steps_resume_training_and_redo_what_follows(fake):
  run, _, calls = fake
  assert run()[0] == 0
  done_before = len(calls())
  code, out = run("--gan_steps=2000")
  assert code == 0, out
  after = calls()[done_before:]
  assert _commands(after) == (["train"] * 2 + ["export"] * 2
                              + ["reconstruct", "analyze"] + ["report"])
  assert [c["start_step"] for c in after[:2]] == [1500, 1500]


def test_plan_lists_steps_and_runs_nothing(fake):
  run, _, calls = fake
  code, out = run("--plan")
  assert code == 0, out
  assert calls() == []
  assert "robust GAN: to run, ~3.1 min" in out  # 1,500 steps x 2.05.
  assert "--gin_bindings=train.training_steps = 1500" in out


# Pieces of the plan.

def test_checkpoint_step_reads_the_latest(tmp_path):
  assert demo.checkpoint_step(str(tmp_path)) == 0
  (tmp_path / "checkpoint").write_text(
      'model_checkpoint_path: "ckpt-2500"\n'
      'all_model_checkpoint_paths: "ckpt-2000"\n'
      'all_model_checkpoint_paths: "ckpt-2500"\n')
  assert demo.checkpoint_step(str(tmp_path)) == 2500


def test_headline_reads_the_analysis(tmp_path):
  def record(experiment, number, model, mean, kind="value", **params):
    return {"experiment": experiment, "number": number, "model": model,
            "kind": kind, "params": params, "mean": mean, "low": mean - .1,
            "high": mean + .1, "n": 1000}
  (tmp_path / "opt").mkdir()
  (tmp_path / "metrics.json").write_text(json.dumps([
      record("reconstructions", "top1_agreement", "robust", 0.5),
      record("reconstructions", "top1_agreement", "robust - standard", 0.1,
             kind="difference"),
      record("iterative_stability", "agreement", "robust", 0.4, round=1),
      record("iterative_stability", "agreement", "robust", 0.2, round=5),
      *(record("factor_recovery", "fraction_kept", "robust", value,
               factor=factor, measure="regressor")
        for factor, value in (("scale", 0.7), ("hue", 0.2), ("x", 0.5),
                              ("y", 0.6)))]))
  (tmp_path / "opt" / "speed.json").write_text(json.dumps(
      {"images": 64, "models": {"optimization_robust": {
          "seconds_per_image": 0.07}}}))
  lines = demo_numbers.headline(str(tmp_path), str(tmp_path / "opt"))
  assert lines == [
      "class agreement: robust 50.0% [40.0, 60.0] (n=1000)",
      "iterative stability (round 1): robust 40.0% [30.0, 50.0] (n=1000)",
      "fraction kept, best 3 (robust): scale (regressor) 0.700 "
      "[0.600, 0.800] (n=1000), y (regressor) 0.600 [0.500, 0.700] "
      "(n=1000), x (regressor) 0.500 [0.400, 0.600] (n=1000)",
      "time per image (one reconstruct call): optimization_robust 70 ms "
      "(batch 64)"]


def test_a_truncated_output_counts_as_not_done(tmp_path):
  (tmp_path / "classifier.keras").touch()
  (tmp_path / "metrics.json").write_text('{"clean_accuracy": 0.8')
  assert not demo._classifier_done(str(tmp_path))  # pylint: disable=protected-access
  (tmp_path / "metrics.json").write_text('{"clean_accuracy": 0.8}')
  assert demo._classifier_done(str(tmp_path))  # pylint: disable=protected-access
