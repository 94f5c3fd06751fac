"""`make demo`: the paper's story end to end on shapes_mini, in a report a
person opens in a browser (issue #25; the stages in logit_gan/demo.py).

  bin/demo --runs=runs --exports=exports --analysis=analysis \\
      --report=report/index.html --num_images=1000

builds the datasets, trains the standard and robust classifiers, caches
their logits, trains a GAN per classifier and the Dosovitskiy & Brox
decoder, exports the three, runs bin/analyze --all on them (with the
optimization baseline on a subset) and writes report/index.html. Before
each stage a line with its expected minutes and the overall ETA, the
commands' own progress, and a one-line summary after; at the end the
report's path and the headline numbers. Everything is also appended to
<runs>/demo.log, and <report folder>/demo.json records each command, its
time and expectation, the runs' operative gin configs and the machine.

Run it again after a failure or Ctrl-C: complete steps are skipped and an
interrupted GAN resumes from its last checkpoint. `--plan` lists the
steps, whether each is complete and what it would run, and runs nothing.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time

from absl import app
from absl import flags

from logit_gan import demo
from logit_gan import demo_numbers
from logit_gan import machine
from logit_gan import stages as stages_lib
from logit_gan.cli import common


flags.DEFINE_string("runs", "runs", "Training runs, classifiers, logit "
                    "caches and demo.log.")
flags.DEFINE_string("exports", "exports", "The exported models.")
flags.DEFINE_string("analysis", "analysis", "bin/analyze's output folder.")
flags.DEFINE_string("report", "report/index.html", "The report page.")
flags.DEFINE_integer("num_images", 1000, "Test images every analysis uses.")
flags.DEFINE_integer("gan_steps", 1500, "Training steps of each GAN "
                     "(docs/results.md, \"make demo\": class agreement "
                     "against steps, and the 30-minute budget).")
flags.DEFINE_integer("dnb_steps", 1000, "Training steps of the Dosovitskiy "
                     "& Brox decoder.")
flags.DEFINE_integer("optimization_images", 64, "Test images the "
                     "optimization baseline inverts (~100x slower per "
                     "image than the GAN).")
flags.DEFINE_integer("time_images", 64, "Images per method timed for the "
                     "time per image.")
flags.DEFINE_string("python", None, "The interpreter of the stage commands "
                    "(default: the one running this).")
flags.DEFINE_bool("plan", False, "List the steps and what is complete; run "
                  "nothing.")
flags.DEFINE_string("build_dataset", None, "Build this package dataset "
                    "(shapes_mini, shapes_mini_ood) at 16x16 and exit: "
                    "what stage 1 runs.")


def _settings():
  flag = flags.FLAGS
  for name in ("num_images", "gan_steps", "dnb_steps", "time_images"):
    if flag[name].value < 1:
      raise app.UsageError(f"--{name} must be at least 1.")
  if flag.optimization_images < 1:
    raise app.UsageError("--optimization_images must be at least 1.")
  kind, slower = demo.machine_kind()
  settings = demo.Settings(
      runs=flag.runs, exports=flag.exports, analysis=flag.analysis,
      report=flag.report, num_images=flag.num_images,
      gan_steps=flag.gan_steps, dnb_steps=flag.dnb_steps,
      optimization_images=flag.optimization_images,
      time_images=flag.time_images, python=flag.python or sys.executable,
      slower=slower)
  return settings, kind


def _show_plan(stages) -> None:
  for index, stage in enumerate(stages, 1):
    print(f"[{index}/{len(stages)}] {stage.name}")
    for step in stage.steps:
      state = ("complete" if step.done() else
               f"to run, ~{step.expected_minutes():.1f} min")
      print(f"  {step.label}: {state}")
      print(f"    $ {stages_lib.command_line(step.command)}")


def _terminate_as_interrupt(signum, frame):  # pylint: disable=unused-argument
  raise KeyboardInterrupt(f"signal {signum}")


def _run(settings, kind: str, printer) -> int:
  printer(f"make demo: the paper's story on shapes_mini in 7 stages "
          f"({time.strftime('%Y-%m-%d %H:%M')}). Expected times were "
          f"measured on the {demo.MEASURED_ON} machine kind; this machine: "
          f"{kind}" + ("" if settings.slower == 1 else
                       f" (times x{settings.slower})") + ".")
  env = {**os.environ, "PYTHONUNBUFFERED": "1"}
  began = time.monotonic()
  record = {"settings": dataclasses.asdict(settings), "kind": kind,
            "machine": machine.describe(), "steps": []}
  try:
    record["steps"] = stages_lib.run_stages(demo.plan(settings), printer,
                                            env=env)
  except stages_lib.StageFailed as error:
    printer(f"error: {error}. Fix it and run `make demo` (or this "
            "command) again: complete steps are kept.")
    return 1
  except KeyboardInterrupt:
    printer("Interrupted. Run `make demo` (or this command) again to go "
            "on: complete steps are kept, an interrupted GAN resumes from "
            "its last checkpoint.")
    return 130
  record["seconds"] = round(time.monotonic() - began, 1)
  record["steps"] = [dataclasses.asdict(step) for step in record["steps"]]
  record["gin_configs"] = demo.operative_configs(settings)
  demo_numbers.write_record(
      os.path.join(settings.report_dir(), "demo.json"), record)
  printer(f"Done in {record['seconds'] / 60:.1f} min. Report: "
          f"{os.path.abspath(settings.report)} (the optimization baseline: "
          f"{os.path.abspath(demo.optimization_page(settings))})")
  for line in demo_numbers.headline(
      settings.analysis, os.path.join(settings.analysis,
                                      demo.OPTIMIZATION_FOLDER)):
    printer(f"  {line}")
  return 0


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  flag = flags.FLAGS
  if flag.build_dataset:
    print(f"{flag.build_dataset}: {demo.build_dataset(flag.build_dataset)}")
    return 0
  settings, kind = _settings()
  if flag.plan:
    _show_plan(demo.plan(settings))
    return 0
  os.makedirs(settings.runs, exist_ok=True)
  signal.signal(signal.SIGTERM, _terminate_as_interrupt)
  with open(os.path.join(settings.runs, "demo.log"), "a",
            encoding="utf-8") as log:
    return _run(settings, kind, stages_lib.Printer(sys.stdout, log))


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
