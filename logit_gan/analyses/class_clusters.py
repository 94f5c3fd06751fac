"""Section 5.5: how tightly a classifier's logits cluster by class.

The paper picks 10 random ImageNet classes, takes each class's mean logit
vector over its validation images, and reports the mean l2 distance of the
samples to their class mean: 42.33 for the standard ResNet-152 and 43.78
for the robust one (1,000 logits), reading "non-robust logits are grouped
more tightly". Raw l2 grows with the logits' scale, which that comparison
does not control for, so the same distance divided by the mean logit norm
is reported too.

Per model (its own classifier's logits z [N, n_c] of the test images; no
reconstruction is needed):
  classes   `classes` (10) classes drawn at random (seed) from those with
            at least `min_class_size` (2) images, all of them when fewer;
            an image's class is its label (`class_source="label"`), the
            classifier's top class ("predicted"), or the label when the
            examples have labels and else the prediction ("auto", the
            default). With labels the classes, and so the images, are the
            same for every model; with predictions each model has its own.
  class mean  the mean of z over the class's test images (the image itself
            included, as in the paper).

Numbers (one value per image of the chosen classes, mean with 95% bootstrap
CI, paired differences over the images both models use):
  distance_to_class_mean  ||z_i - mean of z_i's class||;
  logit_norm              ||z_i||;
  relative_distance       mean distance / mean logit norm (ratio of means,
                          both resampled together), dimensionless.
`settings["chosen_classes"]` has each model's classes and `class_source_
used` what defined them. Figure: `per_class.png`, each chosen class's mean
distance per model (when the models share the classes).
"""

from __future__ import annotations

from collections.abc import Sequence
import itertools
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import inversion
from logit_gan.analyses import results
from logit_gan.analyses import stats

PAPER_DISTANCE = {"standard": 42.33, "robust": 43.78}  # ImageNet, 1,000-d.
CLASS_SOURCES = ("auto", "label", "predicted")


@gin.configurable("class_clusters", denylist=["models", "examples"])
def run(models: Sequence[inversion.InversionModel],
        examples: examples_lib.Examples, *, seed: int = 0,
        classes: int = 10, class_source: str = "auto",
        min_class_size: int = 2,
        num_images: Optional[int] = None) -> results.Result:
  """Section 5.5's class clusters (see the module docstring)."""
  source = resolve_class_source(class_source, examples)
  if classes < 1 or min_class_size < 1:
    raise ValueError(f"class_clusters needs classes >= 1 and "
                     f"min_class_size >= 1, not {classes!r} and "
                     f"{min_class_size!r}.")
  result, examples = common.begin(
      "class_clusters", models, examples,
      dict(seed=seed, classes=classes, class_source=class_source,
           min_class_size=min_class_size, num_images=num_images),
      num_images)
  if source == "label":  # Too few images per class: refused before work.
    choose_classes(examples.labels, classes, min_class_size, seed)
  distances, norms, chosen, per_class = {}, {}, {}, {}
  for model in models:
    logits = model.classify(examples.images).astype(np.float64)
    ids = examples.labels if source == "label" else logits.argmax(axis=1)
    chosen[model.name] = choose_classes(ids, classes, min_class_size, seed)
    distances[model.name], per_class[model.name] = class_distances(
        logits, ids, chosen[model.name])
    norms[model.name] = np.where(np.isfinite(distances[model.name]),
                                 np.linalg.norm(logits, axis=1), np.nan)
  result.settings.update(class_source_used=source, chosen_classes={
      m: c.tolist() for m, c in chosen.items()})
  result.add_per_image("distance_to_class_mean", distances, seed=seed)
  result.add_per_image("logit_norm", norms, seed=seed)
  add_ratio(result, "relative_distance", distances, norms, seed=seed)
  if all(np.array_equal(c, chosen[models[0].name]) for c in
         chosen.values()):
    result.figures["per_class.png"] = figures.line_plot(
        chosen[models[0].name], per_class,
        xlabel=f"class ({source})", ylabel="distance to class mean",
        title="class_clusters: per class")
  result.summary = summary(result, chosen, source)
  return result


def resolve_class_source(class_source: str,
                         examples: examples_lib.Examples) -> str:
  """"label" or "predicted"; a ValueError for an unknown source or labels
  asked of unlabelled examples."""
  if class_source not in CLASS_SOURCES:
    raise ValueError(f"class_clusters: class_source must be one of "
                     f"{CLASS_SOURCES}, not {class_source!r}.")
  if class_source == "label" and examples.labels is None:
    raise ValueError(
        f"class_clusters: class_source='label' but the examples from "
        f"{examples.source} have no labels; use 'predicted' (or 'auto').")
  if class_source == "auto":
    return "label" if examples.labels is not None else "predicted"
  return class_source


def choose_classes(ids: np.ndarray, classes: int, min_class_size: int,
                   seed: int) -> np.ndarray:
  """Sorted ids of `classes` random classes (all when fewer) among those
  with >= min_class_size images; a ValueError when none has enough."""
  present, counts = np.unique(np.asarray(ids), return_counts=True)
  eligible = present[counts >= min_class_size]
  if not len(eligible):
    raise ValueError(
        f"class_clusters: no class has {min_class_size} or more test images "
        f"(largest: {counts.max()}); give more images or lower "
        "min_class_size.")
  picked = np.random.default_rng(seed).choice(
      eligible, size=min(classes, len(eligible)), replace=False)
  return np.sort(picked)


def class_distances(logits: np.ndarray, ids: np.ndarray, chosen: np.ndarray
                    ) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
  """(distance of each image [N] to its class mean, NaN outside the chosen
  classes; per chosen class (mean, low, high) of its distances, the
  interval a bootstrap over the class's images)."""
  distances = np.full(len(logits), np.nan)
  per_class = []
  for class_id in chosen:
    members = np.flatnonzero(ids == class_id)
    centre = logits[members].mean(axis=0)
    distances[members] = np.linalg.norm(logits[members] - centre, axis=1)
    interval = stats.bootstrap_ci(distances[members], seed=int(class_id))
    per_class.append((interval.mean, interval.low, interval.high))
  return distances, per_class


def summary(result: results.Result, chosen: dict, source: str) -> str:
  """'classes by label (robust 10, standard 10): robust: distance ...,
  relative ...; ...'."""
  counts = ", ".join(f"{m} {len(c)}" for m, c in chosen.items())
  parts = [f"{m}: distance " + common.interval(
      result.get("distance_to_class_mean", m)) + ", relative "
      + common.interval(result.get("relative_distance", m))
      for m in chosen]
  return f"classes by {source} ({counts}): " + "; ".join(parts)


def ratio_of_means(rows: np.ndarray) -> float:
  """mean(rows[:, 0]) / mean(rows[:, 1])."""
  return float(rows[:, 0].mean() / rows[:, 1].mean())


def add_ratio(result: results.Result, name: str, numerators: dict,
              denominators: dict, *, seed: int) -> None:
  """Adds mean(numerator) / mean(denominator) of each model over its
  finite images, with a bootstrap CI resampling both together, and every
  pair's paired difference over the images finite in both."""
  rows = {m: np.stack([numerators[m], denominators[m]], axis=1)
          for m in numerators}
  finite = {m: np.isfinite(r).all(axis=1) for m, r in rows.items()}
  for model, model_rows in rows.items():
    result.add(name, model, stats.bootstrap_ci(
        model_rows[finite[model]], ratio_of_means, seed=seed))
  for a, b in itertools.combinations(rows, 2):
    keep = finite[a] & finite[b]
    interval = (stats.paired_difference_ci(
        rows[a][keep], rows[b][keep], ratio_of_means, seed=seed)
        if keep.any() else stats.Interval(np.nan, np.nan, np.nan, 0))
    result.numbers.append(results.Number(name, f"{a} - {b}", interval,
                                         {}, "difference", (a, b)))
