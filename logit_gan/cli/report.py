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

Beside it, when the analysis's `reconstructions` kept its images
(images.npz) for two or more models, the 2AFC rating page
(report/two_afc.py): report/2afc.html beside report/index.html
(report/<name>_2afc.html beside report/<name>.html), linked from it, with
--two_afc_images images per pair of models in an order drawn from
--two_afc_seed. Score raters' answers with bin/analyze --score_2afc.
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
flags.DEFINE_integer("two_afc_images", 64, "Test images per pair of models "
                     "on the 2AFC rating page (fewer when the analysis "
                     "keeps fewer); 0: no 2AFC page.")
flags.DEFINE_integer("two_afc_seed", 0, "Seeds the 2AFC page's order of "
                     "trials and sides.")


def write_two_afc(flag) -> list[tuple[str, str]]:
  """The 2AFC page beside --out, when asked and available, with a line
  saying what it holds or why it is absent; the report's link to it,
  [(text, href)]."""
  import os  # pylint: disable=import-outside-toplevel
  from logit_gan.report import two_afc  # pylint: disable=import-outside-toplevel
  if flag.two_afc_images < 0:
    raise app.UsageError("--two_afc_images must be >= 0 (0: no 2AFC page).")
  if not flag.two_afc_images:
    return []
  page = two_afc.page_path(flag.out)
  try:
    described = two_afc.write(flag.analysis_dir, page,
                              count=flag.two_afc_images,
                              seed=flag.two_afc_seed)
  except two_afc.Unavailable as reason:
    print(f"2AFC page not written: {reason}")
    return []
  print(f"2AFC page: {described}")
  return [("Rate the reconstructions yourself: which is closer to the "
           "original? (2AFC, the paper's Table 1)", os.path.basename(page))]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  import os  # pylint: disable=import-outside-toplevel
  from logit_gan.report import build  # pylint: disable=import-outside-toplevel
  flag = flags.FLAGS
  written = build.write(flag.analysis_dir, flag.out, title=flag.title,
                        command=list(sys.argv),
                        extra_links=write_two_afc(flag))
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
