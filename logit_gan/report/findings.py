"""The paper's findings (section 6, "Discussion") as checks on an analysis's
numbers: for each, whether this run reproduces its direction.

A finding names a paired difference in out/metrics.json (experiment,
number, params, and the two roles compared: "robust" vs "standard", or the
GAN vs a baseline), and the sign the paper found. Its status:

  reproduced                      the 95% CI excludes 0 on the paper's side;
  not reproduced                  the CI excludes 0 on the other side;
  inconclusive (CI includes 0)    neither;
  not measured                    the run lacks the number (e.g. no
                                  standard model, no baseline).

A "no difference" finding (misclassified images) is reproduced when the CI
includes 0 and not reproduced otherwise. Models are matched to roles by
name: "robust" / "standard" inside the model's name, "dosovitskiy_brox" /
"optimization" / "logit_gan" by method (the records' `models`). The speed
finding reads the optimization baseline's speed.json (report/speed.py:
its interval is the range over the timed calls).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive (CI includes 0)"
NOT_MEASURED = "not measured"


@dataclasses.dataclass(frozen=True)
class Finding:
  """One claim: the paired difference `first - second` of `number` in
  `experiment` at `params` has sign `sign` (+1, -1, or 0 for "no
  difference")."""
  claim: str
  experiment: str
  number: str
  first: str
  second: str
  sign: int
  params: tuple = ()
  paper: str = ""


FINDINGS = (
    Finding("Reconstructions keep the class: the classifier gives a "
            "robust model's reconstruction the original's class more often "
            "than the standard model's.", "reconstructions",
            "top1_agreement", "robust", "standard", +1,
            paper="Sections 5.1, 12 (54% vs 49.3% iterative stability)"),
    Finding("Robust logits give reconstructions closer to the original "
            "(SSIM) than standard logits.", "reconstructions", "ssim",
            "robust", "standard", +1, paper="Section 6, 2nd point; Fig. 1"),
    Finding("The feedforward GAN reconstructs closer to the original (SSIM) "
            "than the Dosovitskiy & Brox decoder on the same logits.",
            "reconstructions", "ssim", "robust", "dosovitskiy_brox", +1,
            paper="Section 6, 1st point; Table 2"),
    Finding("No difference in reconstruction fidelity (RMSE) between "
            "correctly and incorrectly classified images.", "misclassified",
            "rmse", "incorrect", "correct", 0,
            paper="Section 5.4, Figs. 6, 17, 18"),
    Finding("Interpolating between logits is smoother for the robust model "
            "(largest step over mean step).", "logit_interpolation",
            "smoothness", "robust", "standard", -1,
            paper="Section 6, 6th point; Figs. 9, 13, 14"),
    Finding("Robust logits encode out-of-distribution images more "
            "faithfully (RMSE on Fashion-MNIST).", "ood", "rmse", "robust",
            "standard", -1, (("source", "fashion_mnist_idx"),),
            paper="Section 5.6, Fig. 10"),
    Finding("Reconstructions keep their class through repeated inversion "
            "more often for the robust model.", "iterative_stability",
            "agreement", "robust", "standard", +1, (("round", 1),),
            paper="Section 12: 54% vs 49.3%"),
    Finding("Logit rescaling changes the reconstruction's contrast more "
            "for the robust model (contrast per decade of scale).",
            "logit_scale", "contrast_slope", "robust", "standard", +1,
            paper="Section 5.3, Fig. 8b; section 6, 5th point"),
    Finding("Brightening an image shifts the robust classifier's logits "
            "more than the standard one's (best-fit shift per unit of "
            "brightness at the identity).", "brightness_fit",
            "shift_slope_at_identity", "robust", "standard", +1,
            paper="Section 13, Figs. 19, 20"),
    Finding("The feedforward generator reconstructs an image faster than "
            "optimization-based inversion of the same classifier (time per "
            "image, GAN - optimization, on one batch; the interval is the "
            "range over the timed calls, not a CI).", "speed",
            "seconds_per_image", "logit_gan", "optimization", -1,
            paper="Sections 1, 2: 'computationally efficient', "
                  "'feedforward computation without expensive iterative "
                  "optimization'"),
)


def plays_role(record_model: str, models: dict, role: str) -> bool:
  """Whether a model (by name) plays `role`: "robust" / "standard" in its
  name (a GAN), or the method "dosovitskiy_brox", "optimization" or
  "logit_gan" (any GAN)."""
  method = models.get(record_model, {}).get("method", "")
  if role in ("dosovitskiy_brox", "optimization", "logit_gan"):
    return method == role
  return role in record_model and method in ("logit_gan", "")


def _matches(record: dict, finding: Finding, models: dict) -> bool:
  if (record.get("experiment"), record.get("number")) != (
      finding.experiment, finding.number):
    return False
  params = record.get("params") or {}
  if any(params.get(k) != v for k, v in finding.params):
    return False
  if finding.first in ("incorrect",):  # A group difference of one model.
    return params.get("group") == "incorrect - correct" and plays_role(
        record["model"], models, "robust")
  pair = record.get("models") or []
  return (record.get("kind") == "difference" and len(pair) == 2
          and plays_role(pair[0], models, finding.first)
          and plays_role(pair[1], models, finding.second))


def status(record: Optional[dict], sign: int) -> str:
  """The finding's status from the difference record (module docstring)."""
  if record is None or record.get("low") is None or record.get(
      "high") is None:
    return NOT_MEASURED
  low, high = record["low"], record["high"]
  includes_zero = low <= 0 <= high
  if sign == 0:
    return REPRODUCED if includes_zero else NOT_REPRODUCED
  if includes_zero:
    return INCONCLUSIVE
  return REPRODUCED if (low > 0) == (sign > 0) else NOT_REPRODUCED


def evaluate(records: list[dict], models: dict) -> list[dict]:
  """[{finding fields, status, record}] for every FINDING, given the
  metrics.json records and {model name: describe()} of the run."""
  out = []
  for finding in FINDINGS:
    record = next((r for r in records if _matches(r, finding, models)),
                  None)
    out.append({**dataclasses.asdict(finding), "status": status(
        record, finding.sign), "record": record})
  return out
