"""`ood`: reconstructions of out-of-distribution images (the paper's
section 5.6, Fig. 10; issue #23, experiment 10).

Models trained on one dataset reconstruct images of others, robust beside
standard. Each source is one of:
  * a dataset name of `pipeline.SOURCES` — the package's unseen shapes
    (`shapes_ood`, `shapes_mini_ood`), `fashion_mnist_idx` (Debian's real
    Fashion-MNIST, `apt-get install dataset-fashion-mnist`), `idx:DIR` for
    any directory of MNIST-format idx files (MNIST, KMNIST), or a prepared
    TFDS dataset the pipeline knows (`mnist`, `fashion_mnist`, `cifar100`);
  * `tfds:NAME` for any other prepared TFDS dataset;
  * a folder of image files.
Grey images become RGB; everything is resized to the models' resolution.
The default sources: the models' own dataset's `_ood` variant when it has
one, and `fashion_mnist_idx`. A source that cannot be read (not installed,
not prepared) is skipped, and `result.settings["skipped"]` says why, so
`--all` still finishes.

Numbers per source (params {"source": name}, the test examples as
"in_distribution" for reference) and model: every reconstruction metric
(distances to the original, classifier consistency; `misclassified.
reconstruction_scores`), paired between models on the same images. Figure
per source: originals above each model's reconstructions.
"""

from __future__ import annotations

from collections.abc import Sequence
import os
from typing import Optional

from absl import logging
import gin
import numpy as np

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import misclassified
from logit_gan.analyses import results as results_lib
from logit_gan.data import pipeline

FASHION = "fashion_mnist_idx"


def default_sources(models) -> list[str]:
  """The models' dataset's `_ood` variant (when it has one) and Debian's
  Fashion-MNIST."""
  sources = []
  dataset = (models[0].dataset or {}).get("name")
  if dataset and f"{dataset}_ood" in pipeline.SOURCES:
    sources.append(f"{dataset}_ood")
  return sources + [FASHION]


def load_source(source: str, *, resolution: int, count: int,
                split: str = "test") -> examples_lib.Examples:
  """The first `count` images of a source (module docstring)."""
  if source.startswith("tfds:"):
    return examples_lib.from_tfds(source[5:], resolution=resolution,
                                  split=split, count=count)
  if source.startswith("idx:"):
    return examples_lib.from_dataset({"name": "idx", "data_dir": source[4:]},
                                     resolution=resolution, split=split,
                                     count=count)
  if source in pipeline.SOURCES:
    return examples_lib.from_dataset(source, resolution=resolution,
                                     split=split, count=count)
  if os.path.isdir(source):
    found = examples_lib.from_files([source], resolution=resolution)
    return found.subset(np.arange(min(count, len(found))))
  raise ValueError(f"Unknown ood source {source!r}: give a dataset name "
                   f"({', '.join(sorted(pipeline.SOURCES))}), idx:DIR, "
                   "tfds:NAME or a folder of images.")


def _score_source(result, models, images, source: str, kinds, seed: int,
                  grid_images: int) -> None:
  per_model, rows = {}, [images[:grid_images]]
  for model in models:
    scores, _, reconstructions = misclassified.reconstruction_scores(
        model, images, model.sample_noise(len(images), seed), kinds)
    per_model[model.name] = scores
    rows.append(reconstructions[:grid_images])
  for metric in next(iter(per_model.values())):
    result.add_per_image(metric, {m: s[metric] for m, s in per_model.items()},
                         seed=seed, source=source)
  result.figures[f"{source.replace('/', '_').replace(':', '_')}.png"] = (
      figures.image_grid(rows, row_labels=["original"] + [
          m.name for m in models]))


@gin.configurable("ood", denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0,
        sources: Optional[Sequence[str]] = None, num_images: int = 500,
        kinds: Sequence[str] = ("rmse", "psnr", "ssim"),
        grid_images: int = 8) -> results_lib.Result:
  """Reconstruction metrics on out-of-distribution sources (module
  docstring); `examples` gives the in-distribution reference."""
  sources = list(sources) if sources is not None else default_sources(models)
  resolution = models[0].resolution
  result = results_lib.Result(
      "ood", settings={"sources": sources, "num_images": num_images,
                       "kinds": list(kinds), "seed": seed, "skipped": {}},
      models=[m.describe() for m in models],
      examples=examples.describe())
  _score_source(result, models, examples.images[:num_images],
                "in_distribution", kinds, seed, grid_images)
  for source in sources:
    try:
      loaded = load_source(source, resolution=resolution, count=num_images)
    except (FileNotFoundError, ValueError) as error:
      logging.warning("ood: skipping %s: %s", source, error)
      result.settings["skipped"][source] = str(error)
      continue
    _score_source(result, models, loaded.images, source, kinds, seed,
                  grid_images)
  kind = kinds[0]
  result.summary = "; ".join(
      f"{source}: " + ", ".join(
          f"{m.name} {kind} {result.get(kind, m.name, source=source).mean:.3f}"
          for m in models)
      for source in ["in_distribution"] + [
          s for s in sources if s not in result.settings["skipped"]])
  return result
