"""The paper's own values beside this run's, where the paper gives a
number an experiment measures, with a sentence on what differs between
the paper's setting and a run of this package.

  reconstructions      Table 2, LPIPS (lower is better): robust ResNet-152
                       0.3138, its D&B decoder 0.3092, standard 0.3755
  class_clusters       Section 5.5, mean l2 distance to the class mean:
                       standard 42.33, robust 43.78
  iterative_stability  Section 12, round 1's agreement over the images the
                       classifier got right / wrong: robust 54% / 35%,
                       standard 49.3% / 29.9%

Models take the paper's rows by role (findings.plays_role: "robust" /
"standard" in the name, "dosovitskiy_brox" by method). Only the values
of the run's main folder are matched (kind "value").
"""

from __future__ import annotations

import dataclasses

from logit_gan.analyses import iterative_stability
from logit_gan.report import findings as findings_lib
from logit_gan.report import markup


@dataclasses.dataclass(frozen=True)
class PaperValue:
  """The paper's `value` of `number` (at `params`) for the model in
  `role`, described as `row` (the paper's table row or sentence)."""
  experiment: str
  number: str
  role: str
  value: float
  row: str
  params: tuple = ()


_ITERATIVE = iterative_stability.PAPER  # {role: (correct, incorrect)}
PAPER_VALUES = (
    PaperValue("reconstructions", "lpips", "robust", 0.3138,
               "Table 2: robust ResNet-152, this method"),
    PaperValue("reconstructions", "lpips", "dosovitskiy_brox", 0.3092,
               "Table 2: robust ResNet-152, D&B decoder"),
    PaperValue("reconstructions", "lpips", "standard", 0.3755,
               "Table 2: standard ResNet-152"),
    PaperValue("class_clusters", "distance_to_class_mean", "standard",
               42.33, "Section 5.5: standard ResNet-152"),
    PaperValue("class_clusters", "distance_to_class_mean", "robust", 43.78,
               "Section 5.5: robust ResNet-152"),
    *(PaperValue("iterative_stability", f"agreement_{group}", role,
                 _ITERATIVE[role][column],
                 f"Section 12: {role} ResNet-152, originals classified "
                 f"{'correctly' if group == 'correct' else 'incorrectly'}")
      for column, group in enumerate(("correct", "incorrect"))
      for role in ("robust", "standard")),
)

# What differs between the paper's measurement and this run's.
DIFFERS = {
    "reconstructions": (
        "The paper: ImageNet at 64×64, ResNet-152s with 1,000 logits, LPIPS "
        "of the published code over an unstated set of images. This run: "
        "the exports' own data (shapes_mini: 16×16, 100 logits), LPIPS "
        "after resizing to 64 px, only when its weights are installed; "
        "compare the order of the models, not the values."),
    "class_clusters": (
        "The paper: 10 random ImageNet classes, 1,000 logits of ResNet-152s. "
        "This run: the run's classes and logit width; raw l2 grows with "
        "the logits' scale and width, so relative_distance (distance over "
        "the mean logit norm) is the comparable number, and the paper's "
        "reading rests on the sign of robust - standard."),
    "iterative_stability": (
        "The paper: 500 ImageNet validation images of 50 classes, one "
        "round. This run: the first test images of the exports' dataset "
        "(another task, other accuracies, so other correct/incorrect "
        "groups); compare the gaps (correct over incorrect, robust over "
        "standard), not the percentages."),
}


def beside(experiment: str, records: list[dict], models: dict
           ) -> list[dict]:
  """[{"row", "paper", "model", "record"}] for each paper value of
  `experiment` and each model of the run in its role (record: the run's
  value record); [] when the paper gives none."""
  out = []
  for paper in (p for p in PAPER_VALUES if p.experiment == experiment):
    for record in records:
      params = record.get("params") or {}
      if (record.get("experiment"), record.get("number"), record.get(
          "kind")) == (experiment, paper.number, "value") and all(
              params.get(k) == v for k, v in paper.params) and (
                  findings_lib.plays_role(record["model"], models,
                                          paper.role)):
        out.append({"row": paper.row, "number": paper.number,
                    "paper": paper.value, "model": record["model"],
                    "record": record})
  return out


def table(experiment: str, rows: list[dict]) -> str:
  """The section's 'paper beside this run' table and what differs; ''
  when the paper gives no value the run measured."""
  if not rows:
    return ""
  body = [[markup.escape(r["row"]), markup.escape(r["number"]),
           f"{r['paper']:.4g}", markup.escape(r["model"]),
           markup.interval_n(r["record"])] for r in rows]
  return ("<p><b>The paper's values beside this run's.</b> "
          f"{markup.escape(DIFFERS.get(experiment, ''))}</p>"
          + markup.table(["the paper", "number", "paper's value",
                          "this run's model", "this run [95% CI] (n)"],
                         body))
