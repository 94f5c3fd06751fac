"""`misclassified`: are reconstructions of images the classifier gets wrong
any different? (the paper's section 5.4, Figs. 6, 17, 18; issue #23,
experiment 8).

For each model, the test images (the first `num_images`; labels needed)
are split by whether the model's classifier gets them right. Every
reconstruction metric (`common.score_reconstructions`: the `distances` of
the reconstruction G(Φ(x), ε) to the original, LPIPS among them when its
weights exist, and the classifier consistency top1_agreement, kl, cosine
of Φ(G(Φ(x), ε)) with Φ(x)) is reported for the correct and the incorrect
group, each with its CI (params {"group": "correct" | "incorrect"}), and
the difference incorrect − correct with its CI (an unpaired bootstrap over
the two groups, `stats.difference_ci`); plus each model's `accuracy`. A
group without images has NaN numbers (n = 0). The paper saw "no
qualitative difference"; here it is a number. Figure `<model>.png`: the
first `grid_images` misclassified images above their reconstructions,
labelled with the predicted class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import figures
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import stats

NAME = "misclassified"


def _add_groups(result, model_name: str, scores: dict, correct: np.ndarray,
                seed: int) -> None:
  for metric, values in scores.items():
    right, wrong = values[correct], values[~correct]
    for group, part in (("correct", right), ("incorrect", wrong)):
      result.add(metric, model_name, stats.bootstrap_ci(part, seed=seed)
                 if len(part) else stats.Interval(np.nan, np.nan, np.nan, 0),
                 group=group)
    result.add(metric, model_name, stats.difference_ci(wrong, right,
                                                       seed=seed),
               group="incorrect - correct")


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0,
        num_images: Optional[int] = 1000,
        distances: Sequence[str] = ("rmse", "psnr", "ssim"),
        lpips: bool = True, grid_images: int = 8) -> results_lib.Result:
  """Reconstruction metrics split by correct / incorrect (module
  docstring). `seed` seeds the noise and the bootstrap; `lpips` adds LPIPS
  to `distances` when its weight files exist."""
  if examples.labels is None:
    raise ValueError("misclassified needs labelled test images; give a "
                     "dataset, not image files.")
  result, examples = common.begin(
      NAME, models, examples, dict(seed=seed, num_images=num_images,
                                   distances=tuple(distances), lpips=lpips,
                                   grid_images=grid_images), num_images)
  distances, lpips_model = common.reconstruction_metrics(
      distances, lpips=lpips, experiment=NAME)
  result.settings["distances"] = distances
  images, labels = examples.images, examples.labels
  for model in models:
    logits = model.classify(images)
    noise = model.sample_noise(len(images), common.derive_seed(seed, NAME))
    scores, _ = common.score_reconstructions(
        model, images, noise, distances, logits=logits, lpips=lpips_model)
    correct = logits.argmax(-1) == labels
    result.add("accuracy", model.name, stats.bootstrap_ci(
        correct.astype(np.float64), seed=seed))
    _add_groups(result, model.name, scores, correct, seed)
    wrong = np.where(~correct)[0][:grid_images]
    if len(wrong):
      result.figures[f"{model.name}.png"] = figures.image_grid(
          [images[wrong], model.reconstruct(logits[wrong], noise[wrong])],
          row_labels=["original", "recon"],
          column_labels=[_class_name(examples, logits[i].argmax())
                         for i in wrong])
  kind = distances[0]
  result.summary = "; ".join(
      f"{m.name}: accuracy {result.get('accuracy', m.name).mean:.3f}, "
      f"{kind} incorrect - correct "
      f"{result.get(kind, m.name, group='incorrect - correct')}"
      for m in models)
  return result


def _class_name(examples, index: int) -> str:
  names = examples.class_names
  return names[index] if names and index < len(names) else str(index)
