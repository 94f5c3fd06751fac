"""Writes the HTML report of a bin/analyze output folder.

  bin/report --analysis_dir=analysis --out=report/index.html

One self-contained page (figures inlined, no network): the paper's findings
checked on this run's numbers (reproduced / not reproduced / inconclusive),
then every experiment with its numbers, intervals and figures, and the
provenance. Beside it: optimization.html, the optimization baseline's page
(when the analysis has <analysis_dir>/optimization), and metrics.json,
every number the pages show with the commands, gin configs and machine
they come from (logit_gan/report/build.py). Prints the findings' statuses
and the files' paths.
"""

from __future__ import annotations

import sys

from absl import app
from absl import flags

from logit_gan.cli import common

flags.DEFINE_string("analysis_dir", "analysis", "A bin/analyze --out folder.")
flags.DEFINE_string("out", "report/index.html", "The page written; "
                    "optimization.html and metrics.json go beside it.")
flags.DEFINE_string("title", "logit_gan report", "The page's title.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  import os  # pylint: disable=import-outside-toplevel
  from logit_gan.report import build  # pylint: disable=import-outside-toplevel
  flag = flags.FLAGS
  written = build.write(flag.analysis_dir, flag.out, title=flag.title,
                        command=list(sys.argv))
  for finding in written.findings:
    print(f"{finding['status']:>30}: {finding['claim']}")
  print(f"Report: {os.path.abspath(written.index)}")
  if written.optimization:
    print(f"The optimization baseline: "
          f"{os.path.abspath(written.optimization)}")
  print(f"Numbers and provenance: {os.path.abspath(written.metrics)}")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
