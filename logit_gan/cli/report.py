"""Writes the HTML report of a bin/analyze output folder.

  bin/report --analysis_dir=analysis --out=report/index.html

One self-contained page (figures inlined, no network): the paper's findings
checked on this run's numbers (reproduced / not reproduced / inconclusive),
then every experiment with its numbers, intervals and figures. Prints the
page's path and the findings' statuses.
"""

from __future__ import annotations

from absl import app
from absl import flags

from logit_gan.cli import common

flags.DEFINE_string("analysis_dir", "analysis", "A bin/analyze --out folder.")
flags.DEFINE_string("out", "report/index.html", "The page written.")
flags.DEFINE_string("title", "logit_gan report", "The page's title.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  import os  # pylint: disable=import-outside-toplevel
  from logit_gan.analyses import results  # pylint: disable=import-outside-toplevel
  from logit_gan.report import findings  # pylint: disable=import-outside-toplevel
  from logit_gan.report import html  # pylint: disable=import-outside-toplevel
  flag = flags.FLAGS
  page = html.write(flag.analysis_dir, flag.out, title=flag.title)
  for finding in findings.evaluate(results.read_metrics(flag.analysis_dir),
                                   html.models_of(flag.analysis_dir)):
    print(f"{finding['status']:>30}: {finding['claim']}")
  print(f"Report: {os.path.abspath(page)}")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
