"""bin/report's one call: the report of a bin/analyze folder, written
beside `out_file` (report/index.html):

  index.html         the page (html.py), with links to the two below;
  optimization.html  the optimization baseline's page, from
                     <analysis_dir>/optimization (bin/analyze
                     --optimization_baseline), when that folder has
                     numbers; it links back to index.html;
  metrics.json       every number the pages show, and the provenance
                     (numbers.py);
  results.md         the headline numbers as one Markdown table, under the
                     bin/analyze command that made them (markdown.py).

A stale optimization.html (the folder gone from the analysis) is removed,
so the pages never disagree.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from typing import Optional, Sequence

import tensorflow as tf

from logit_gan.report import analysis as analysis_lib
from logit_gan.report import html
from logit_gan.report import markdown
from logit_gan.report import numbers

OPTIMIZATION_PAGE = "optimization.html"


@dataclasses.dataclass(frozen=True)
class Written:
  """The files written, and the findings the index page shows."""
  index: str
  metrics: str
  optimization: Optional[str]
  findings: list


def write(analysis_dir: str, out_file: str, *,
          title: str = "logit_gan report",
          command: Optional[list] = None,
          extra_links: Sequence[tuple[str, str]] = ()) -> Written:
  """Writes the module docstring's files; `command` is bin/report's argv
  for the provenance (default sys.argv); `extra_links` [(text, href)]:
  more pages linked from the top of the index (the 2AFC page). A FileNotFoundError saying what
  to run when analysis_dir holds no numbers."""
  analysis = analysis_lib.read(analysis_dir)
  collected = numbers.collect(analysis, command=command)
  folder = os.path.dirname(str(out_file))
  index_name = os.path.basename(str(out_file))
  metrics = os.path.join(folder, numbers.NUMBERS_FILE)
  page = os.path.join(folder, OPTIMIZATION_PAGE)
  links = [("every number and the provenance: metrics.json",
            numbers.NUMBERS_FILE), ("provenance", "#provenance")]
  optimization = None
  if analysis.optimization:
    optimization = html.write(
        analysis.optimization.folder, page,
        title=f"{title}: the optimization baseline",
        links=[("the main report", index_name)] + links[:1],
        provenance=collected["provenance"])
    links.insert(0, (f"the optimization baseline: {OPTIMIZATION_PAGE}",
                     OPTIMIZATION_PAGE))
  elif tf.io.gfile.exists(page):
    tf.io.gfile.remove(page)
  index = html.write(analysis_dir, out_file, title=title,
                     links=[*extra_links, *links],
                     provenance=collected["provenance"])
  numbers.write(collected, metrics)
  markdown.write(analysis.records, os.path.join(folder, markdown.RESULTS_FILE),
                 title=title, command=_analysis_command(collected),
                 order=analysis.experiments)
  return Written(index=index, metrics=metrics, optimization=optimization,
                 findings=collected["findings"])


def _analysis_command(collected: dict) -> str:
  """The latest bin/analyze command line of the provenance, shell-quoted;
  a note when the analysis recorded none."""
  runs = collected["provenance"].get("analysis_runs") or []
  if not runs or not runs[-1].get("command"):
    return "(bin/analyze's command was not recorded)"
  return shlex.join(["bin/analyze", *runs[-1]["command"][1:]])
