"""report/metrics.json: every number the report's pages show, with where
they come from, for a program to read instead of the HTML.

  {"analysis_dir": the folder read,
   "records":   the analysis's metrics.json records, as they are,
   "speed":     its speed.json (None without --time_images),
   "speed_records": speed.json as records (report/speed.py),
   "findings":  per finding of the paper (report/findings.py): claim,
                experiment, number, roles, sign, the paper's place,
                status, and the record it rests on (mean, low, high, n)
                or None,
   "paper_values": per experiment, the paper's values beside this run's
                (report/paper_values.py),
   "optimization": the optimization baseline's folder the same way
                ({"analysis_dir", "records", "speed", "speed_records",
                "paper_values"}) or None,
   "two_afc":   the raters' 2AFC scores (<analysis_dir>/2afc.json of
                bin/analyze --score_2afc) as rows with the paper's Table 1
                share beside (report/two_afc_scores.py), or None,
   "provenance": report/provenance.py's dict: bin/report's command, date
                and machine; bin/analyze's runs (commands, gin bindings,
                test images, machines); the models' records with the
                operative gin configs of the exports}

NaN is written as null, as in the analysis's metrics.json.
"""

from __future__ import annotations

import json
import math
from typing import Optional

from logit_gan import files
from logit_gan.report import analysis as analysis_lib
from logit_gan.report import findings as findings_lib
from logit_gan.report import paper_values
from logit_gan.report import provenance
from logit_gan.report import two_afc_scores

NUMBERS_FILE = "metrics.json"


def _folder(analysis: analysis_lib.Analysis) -> dict:
  """The numbers of one folder (records, speed, paper values)."""
  models = analysis.all_models()
  return {"analysis_dir": analysis.folder, "records": analysis.records,
          "speed": analysis.speed,
          "speed_records": analysis.speed_records(),
          "paper_values": {
              experiment: rows for experiment in analysis.experiments
              if (rows := paper_values.beside(experiment, analysis.records,
                                              models))}}


def collect(analysis: analysis_lib.Analysis, *,
            command: Optional[list] = None) -> dict:
  """The module docstring's dict of an Analysis (`command`: bin/report's
  argv, default sys.argv)."""
  return {**_folder(analysis),
          "findings": findings_lib.evaluate(analysis.all_records(),
                                            analysis.all_models()),
          "optimization": (_folder(analysis.optimization)
                           if analysis.optimization else None),
          "two_afc": _two_afc(analysis),
          "provenance": provenance.collect(analysis, command)}


def _two_afc(analysis: analysis_lib.Analysis) -> Optional[list]:
  scores = two_afc_scores.read(analysis.folder)
  return (two_afc_scores.rows(scores, analysis.all_models())
          if scores else None)


def _finite(value):
  """NaN and infinities as None, everywhere in a JSON-ready value."""
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {key: _finite(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite(item) for item in value]
  return value


def write(collected: dict, path: str) -> str:
  """Writes `collect`'s dict as JSON to path; returns it."""
  return files.write_text(path, json.dumps(_finite(collected), indent=1,
                                           default=str))
