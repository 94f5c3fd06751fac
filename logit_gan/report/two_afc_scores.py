"""Human ratings in the report: when the analysis folder holds raters'
scores (`bin/analyze --score_2afc=answers.json ... --out=<analysis_dir>`
writes <analysis_dir>/2afc.json, analyses/two_afc.py), the report shows
them as the paper's Table 1: per pair of models, the share of trials that
preferred each with its Wilson interval, the trials and the raters, and
the paper's value beside it where the pair is one the paper rated (4
subjects x 64 ImageNet images at 64x64: the GAN over the Dosovitskiy &
Brox decoder 87.5%, robust over standard 76.5%).
"""

from __future__ import annotations

import json
import os
from typing import Optional

from logit_gan import files
from logit_gan.analyses import two_afc as answers_lib
from logit_gan.report import findings as findings_lib
from logit_gan.report import markup

# (preferred role, other role, the paper's share preferring the first).
PAPER_TABLE_1 = (("logit_gan", "dosovitskiy_brox", 0.875),
                 ("robust", "standard", 0.765))


def read(analysis_dir: str) -> Optional[dict]:
  """<analysis_dir>/2afc.json, or None when no ratings were scored there;
  a ValueError naming the file when it is not bin/analyze's scores."""
  path = os.path.join(str(analysis_dir), answers_lib.SCORES_FILE)
  if not files.is_file(path):
    return None
  try:
    scores = json.loads(files.read_text(path))
  except (json.JSONDecodeError, UnicodeDecodeError) as error:
    raise ValueError(f"{path} is not JSON ({error}): score the answers "
                     "again with bin/analyze --score_2afc.") from None
  if not isinstance(scores, dict) or scores.get(
      "format") != answers_lib.SCORES_FORMAT:
    raise ValueError(f"{path} is not bin/analyze --score_2afc's scores: "
                     "score the answers again, or move the file away.")
  return scores


def paper_share(pair: list, models: dict) -> dict:
  """{model name: the paper's share of trials preferring it} for a pair
  the paper rated ({} otherwise); `models`: {name: describe()}."""
  first, second = pair
  for preferred, other, share in PAPER_TABLE_1:
    for a, b in ((first, second), (second, first)):
      if (findings_lib.plays_role(a, models, preferred)
          and findings_lib.plays_role(b, models, other)
          and not findings_lib.plays_role(a, models, other)):
        return {a: share, b: 1 - share}
  return {}


def rows(scores: dict, models: dict) -> list[dict]:
  """One row per model of each pair: the pair, the model, its count,
  share, interval, the pair's trials and raters, and the paper's share
  (None where the paper has none)."""
  out = []
  for pair in scores["pairs"]:
    paper = paper_share(pair["models"], models)
    for model in pair["models"]:
      preferred = pair["preferred"][model]
      out.append({"pair": " vs ".join(pair["models"]), "model": model,
                  **preferred, "trials": pair["trials"],
                  "raters": pair["raters"], "paper": paper.get(model)})
  return out


def section(analysis_dir: str, models: dict) -> str:
  """The report's section of the ratings, or '' without 2afc.json."""
  scores = read(analysis_dir)
  if scores is None:
    return ""
  percent = round(scores["confidence"] * 100)
  table = markup.table(
      ["pair", "preferred", f"share [{percent}% Wilson interval]",
       "count / trials", "raters", "paper (Table 1)"],
      [[markup.escape(row["pair"]), markup.escape(row["model"]),
        f"{row['share']:.3f} [{row['low']:.3f}, {row['high']:.3f}]",
        f"{row['count']} / {row['trials']}", str(row["raters"]),
        "–" if row["paper"] is None else f"{row['paper']:.1%}"]
       for row in rows(scores, models)])
  return (f"<h2 id='two_afc'>Human ratings: which reconstruction is closer "
          f"to the original? (2AFC, the paper's Table 1)</h2><p>"
          f"{scores['raters']} rater(s), {scores['trials']} trials, from "
          f"{markup.escape(', '.join(scores['files']))}. The interval treats "
          "every trial as independent. The paper: 4 subjects x 64 ImageNet "
          "images at 64x64.</p>" + table)
