"""`misclassified`: are reconstructions of images the classifier gets wrong
any different? (the paper's section 5.4, Figs. 6, 17, 18; issue #23,
experiment 8).

For each model, the test images (the first `num_images`; labels needed)
are split by whether the model's classifier gets them right. Every
reconstruction metric (distances of the reconstruction to the original and
the reconstruction's classifier consistency, `metrics`) is reported for
the correct and the incorrect group, each with its CI (params {"group":
"correct" | "incorrect"}), and the difference incorrect − correct with its
CI (an unpaired bootstrap over the two groups, `stats.difference_ci`). The
paper saw "no qualitative difference"; here it is a number. Figure: a few
misclassified images beside their reconstructions, labelled with the
predicted class, per model.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import numpy as np

from logit_gan.analyses import figures
from logit_gan.analyses import metrics
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import stats


def reconstruction_scores(model, images: np.ndarray, noise: np.ndarray,
                          kinds: Sequence[str]) -> tuple[dict, np.ndarray,
                                                         np.ndarray]:
  """({metric: per-image [N]}, logits [N, n_c], reconstructions) of
  model on images: the distances `kinds` of each reconstruction to its
  original and its classifier consistency."""
  logits = model.classify(images)
  reconstructions = model.reconstruct(logits, noise)
  scores = metrics.distances(images, reconstructions, kinds)
  scores.update(metrics.consistency(logits,
                                    model.classify(reconstructions)))
  return scores, logits, reconstructions


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


@gin.configurable("misclassified", denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0, num_images: int = 1000,
        kinds: Sequence[str] = ("rmse", "psnr", "ssim"),
        grid_images: int = 8) -> results_lib.Result:
  """Reconstruction metrics split by correct / incorrect (module
  docstring)."""
  if examples.labels is None:
    raise ValueError("misclassified needs labelled test images; give a "
                     "dataset, not image files.")
  images, labels = examples.images[:num_images], examples.labels[:num_images]
  result = results_lib.Result(
      "misclassified", settings={"num_images": len(images), "seed": seed,
                                 "kinds": list(kinds)},
      models=[m.describe() for m in models],
      examples=examples.subset(np.arange(len(images))).describe())
  for model in models:
    scores, logits, reconstructions = reconstruction_scores(
        model, images, model.sample_noise(len(images), seed), kinds)
    correct = logits.argmax(-1) == labels
    result.add("accuracy", model.name, stats.bootstrap_ci(
        correct.astype(np.float64), seed=seed))
    _add_groups(result, model.name, scores, correct, seed)
    wrong = np.where(~correct)[0][:grid_images]
    if len(wrong):
      result.figures[f"{model.name}.png"] = figures.image_grid(
          [images[wrong], reconstructions[wrong]],
          row_labels=["original", "recon"],
          column_labels=[_class_name(examples, logits[i].argmax())
                         for i in wrong])
  kind = kinds[0]
  result.summary = "; ".join(
      f"{m.name}: {kind} incorrect - correct "
      f"{result.get(kind, m.name, group='incorrect - correct')}"
      for m in models)
  return result


def _class_name(examples, index: int) -> str:
  names = examples.class_names
  return names[index] if names and index < len(names) else str(index)
