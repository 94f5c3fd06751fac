"""Section 12: does the classifier see the reconstruction as it saw the
original, and does that survive x -> Phi -> G -> Phi -> G ...?

Per model, with its own classifier Phi and generator G, and y_0 the top
class of Phi(x): x_1 = G(Phi(x), noise), x_r = G(Phi(x_{r-1}), noise), y_r
the top class of Phi(x_r), for r = 1 ... `rounds` (5). The noise is
`model.sample_noise(N, seed)` in every round (a fixed map iterated), or a
new draw per round (seed + r - 1) with `resample_noise=True`.

The paper (500 ImageNet validation images of 50 classes): the
reconstruction keeps the original's predicted class for 54% of the images
the robust ResNet-152 classified correctly and 35% of those it got wrong;
49.3% and 29.9% for the standard one. Only one round is reported there.

Numbers (one 0/1 value per image, mean with 95% bootstrap CI, paired
differences between models):
  agreement {"round": r}  y_r == y_0, for r = 1 ... rounds;
  agreement_correct       round 1, over the images the classifier got right
                          (y_0 == label; needs labels): each model its own
                          images, the paired difference over the images
                          both got right;
  agreement_incorrect     the same over the images it got wrong;
  accuracy                y_0 == label (needs labels).
Without labels only `agreement` is reported (settings["labelled"] says so).
Figures: `agreement.png`, agreement against the round per model (round 0 is
1 by definition); `chain.png`, one image (`chain_image`) through the rounds,
a row per model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import inversion
from logit_gan.analyses import results

PAPER = {"robust": (0.54, 0.35), "standard": (0.493, 0.299)}  # Correct, not.


@gin.configurable("iterative_stability", denylist=["models", "examples"])
def run(models: Sequence[inversion.InversionModel],
        examples: examples_lib.Examples, *, seed: int = 0, rounds: int = 5,
        resample_noise: bool = False, chain_image: int = 0,
        num_images: Optional[int] = None) -> results.Result:
  """Section 12's iterative stability (see the module docstring)."""
  if rounds < 1:
    raise ValueError(f"iterative_stability needs rounds >= 1, not "
                     f"{rounds!r}.")
  result, examples = common.begin(
      "iterative_stability", models, examples,
      dict(seed=seed, rounds=rounds, resample_noise=resample_noise,
           chain_image=chain_image, num_images=num_images), num_images)
  if not 0 <= chain_image < len(examples):
    raise ValueError(f"iterative_stability: chain_image {chain_image} is "
                     f"not one of the {len(examples)} test images.")
  labelled = examples.labels is not None
  result.settings["labelled"] = labelled
  predictions, chains = {}, []
  for model in models:
    predictions[model.name], chain = iterate(
        model, examples.images, rounds=rounds, seed=seed,
        resample_noise=resample_noise, keep=chain_image)
    chains.append(np.concatenate([examples.images[chain_image:chain_image
                                                  + 1], chain]))
  curves = {m: [(1.0, 1.0, 1.0)] for m in predictions}
  for r in range(1, rounds + 1):
    added = result.add_per_image("agreement", {
        m: p[r] == p[0] for m, p in predictions.items()}, seed=seed, round=r)
    for model, interval in added.items():
      curves[model].append((interval.mean, interval.low, interval.high))
  if labelled:
    add_split(result, predictions, examples.labels, seed)
  result.figures["agreement.png"] = figures.line_plot(
      list(range(rounds + 1)), curves, xlabel="round",
      ylabel="agreement with round 0's class",
      title="iterative_stability")
  result.figures["chain.png"] = figures.image_grid(
      chains, row_labels=list(predictions), column_labels=["input"] + [
          f"round {r}" for r in range(1, rounds + 1)])
  result.summary = summary(result, list(predictions), rounds, labelled)
  return result


def iterate(model: inversion.InversionModel, images: np.ndarray, *,
            rounds: int, seed: int, resample_noise: bool, keep: int
            ) -> tuple[np.ndarray, np.ndarray]:
  """(top classes [rounds + 1, N] of x_0 = images, x_1, ...; image `keep`
  of each round [rounds, R, R, 3])."""
  logits = model.classify(images)
  predictions, kept = [logits.argmax(axis=1)], []
  noise = model.sample_noise(len(images), seed)
  for r in range(1, rounds + 1):
    if resample_noise and r > 1:
      noise = model.sample_noise(len(images), seed + r - 1)
    reconstructions = model.reconstruct(logits, noise)
    kept.append(reconstructions[keep])
    logits = model.classify(reconstructions)
    predictions.append(logits.argmax(axis=1))
  return np.stack(predictions), np.stack(kept)


def add_split(result: results.Result, predictions: dict,
              labels: np.ndarray, seed: int) -> None:
  """Adds accuracy and round 1's agreement over the images each model
  classified correctly and incorrectly (NaN elsewhere)."""
  correct = {m: p[0] == labels for m, p in predictions.items()}
  agree = {m: (p[1] == p[0]).astype(np.float64)
           for m, p in predictions.items()}
  result.add_per_image("accuracy", correct, seed=seed)
  result.add_per_image("agreement_correct", {
      m: np.where(correct[m], agree[m], np.nan) for m in agree}, seed=seed)
  result.add_per_image("agreement_incorrect", {
      m: np.where(correct[m], np.nan, agree[m]) for m in agree}, seed=seed)


def summary(result: results.Result, names: Sequence[str], rounds: int,
            labelled: bool) -> str:
  """'robust: agreement round 1 ... (originals right ..., wrong ...),
  round 5 ...; standard ...'."""
  parts = []
  for model in names:
    text = f"{model}: agreement round 1 " + common.interval(
        result.get("agreement", model, round=1))
    if labelled:
      text += " (originals right {}, wrong {})".format(*(
          common.interval(result.get(name, model))
          for name in ("agreement_correct", "agreement_incorrect")))
    if rounds > 1:
      text += f", round {rounds} " + common.interval(
          result.get("agreement", model, round=rounds))
    parts.append(text)
  return "; ".join(parts)
