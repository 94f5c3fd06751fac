"""`ood`: reconstructions of out-of-distribution images (the paper's
section 5.6, Fig. 10; issue #23, experiment 10).

Models trained on one dataset reconstruct images of others, robust beside
standard. Each source is one of:
  * a dataset name of `pipeline.SOURCES` — the package's unseen shapes
    (`shapes_ood`, `shapes_mini_ood`; read from (or built in) the TFDS data
    directory the test images came from), `fashion_mnist_idx` (Debian's
    real Fashion-MNIST, `apt-get install dataset-fashion-mnist`), or a
    prepared TFDS dataset the pipeline knows (`mnist`, `fashion_mnist`,
    `cifar100`, in that data directory);
  * `idx:DIR` for any directory of MNIST-format idx files (MNIST, KMNIST);
  * `tfds:NAME` for any other prepared TFDS dataset;
  * a folder of image files.
Grey images become RGB; everything is resized to the models' resolution.
The default sources: the models' own dataset's `_ood` variant when it has
one, and `fashion_mnist_idx`. A source that cannot be read (not installed,
not prepared) is skipped, and `result.settings["skipped"]` says why, so
`--all` still finishes; a source that is not one of the forms above, or a
folder without images, is an error before any work.

Numbers per source (params {"source": name}; the first `num_images` test
examples as "in_distribution", for reference) and model, on as many images
of each source as the reference has (the first ones): every reconstruction
metric (`common.score_reconstructions`: the `distances` to the original,
LPIPS among them when its weights exist, and the classifier consistency
top1_agreement, kl, cosine), paired between models on the same images.
Figure per source: originals above each model's reconstructions.
"""

from __future__ import annotations

from collections.abc import Sequence
import os
from typing import Optional

from absl import logging
import gin
import numpy as np

from logit_gan import image_files
from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import results as results_lib
from logit_gan.data import pipeline

NAME = "ood"
FASHION = "fashion_mnist_idx"
IN_DISTRIBUTION = "in_distribution"


def default_sources(models) -> list[str]:
  """The models' dataset's `_ood` variant (when it has one) and Debian's
  Fashion-MNIST."""
  sources = []
  dataset = (models[0].dataset or {}).get("name")
  if dataset and f"{dataset}_ood" in pipeline.SOURCES:
    sources.append(f"{dataset}_ood")
  return sources + [FASHION]


def check_source(source: str) -> None:
  """A ValueError unless `source` has one of the module docstring's forms;
  a FileNotFoundError for a folder without images."""
  if source.startswith(("tfds:", "idx:")) or source in pipeline.SOURCES:
    return
  if os.path.isdir(source):
    image_files.expand_folders([source])  # Raises when it holds none.
    return
  raise ValueError(f"Unknown ood source {source!r}: give a dataset name "
                   f"({', '.join(sorted(pipeline.SOURCES))}), idx:DIR, "
                   "tfds:NAME or a folder of images.")


def load_source(source: str, *, resolution: int, count: int,
                split: str = "test",
                data_dir: Optional[str] = None) -> examples_lib.Examples:
  """The first `count` images of a source (module docstring); `data_dir`
  is the TFDS data directory of dataset names and tfds:NAME (idx files
  have their own)."""
  check_source(source)
  if source.startswith("tfds:"):
    return examples_lib.from_tfds(source[5:], resolution=resolution,
                                  split=split, count=count,
                                  data_dir=data_dir)
  if source.startswith("idx:"):
    return examples_lib.from_dataset({"name": "idx", "data_dir": source[4:]},
                                     resolution=resolution, split=split,
                                     count=count)
  if source in pipeline.SOURCES:
    own_files = pipeline.SOURCES[source].idx_dir is not None
    return examples_lib.from_dataset(
        {"name": source, "data_dir": None if own_files else data_dir},
        resolution=resolution, split=split, count=count)
  found = image_files.expand_folders([source])
  return examples_lib.from_files(found[:count], resolution=resolution)


def _score_source(result, models, images, source: str, distances,
                  lpips_model, seed: int, grid_images: int) -> None:
  per_model, rows = {}, [images[:grid_images]]
  for model in models:
    noise = model.sample_noise(len(images), common.derive_seed(seed, NAME))
    per_model[model.name], kept = common.score_reconstructions(
        model, images, noise, distances, lpips=lpips_model,
        keep=grid_images)
    rows.append(kept)
  for metric in next(iter(per_model.values())):
    result.add_per_image(metric, {m: s[metric] for m, s in per_model.items()},
                         seed=seed, source=source)
  result.figures[f"{source.replace('/', '_').replace(':', '_')}.png"] = (
      figures.image_grid(rows, row_labels=["original"] + [
          m.name for m in models]))


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0,
        sources: Optional[Sequence[str]] = None,
        num_images: Optional[int] = 500,
        distances: Sequence[str] = ("rmse", "psnr", "ssim"),
        lpips: bool = True, grid_images: int = 8) -> results_lib.Result:
  """Reconstruction metrics on out-of-distribution sources (module
  docstring); `examples` gives the in-distribution reference. `seed`
  seeds the noise and the bootstrap."""
  result, examples = common.begin(NAME, models, examples, dict(
      seed=seed, sources=sources, num_images=num_images,
      distances=tuple(distances), lpips=lpips, grid_images=grid_images),
                                  num_images)
  sources = list(sources) if sources is not None else default_sources(models)
  for source in sources:
    check_source(source)
  result.settings["sources"] = sources
  distances, lpips_model = common.reconstruction_metrics(
      distances, lpips=lpips, experiment=NAME)
  result.settings.update(distances=distances, skipped={})
  _score_source(result, models, examples.images, IN_DISTRIBUTION, distances,
                lpips_model, seed, grid_images)
  for source in sources:
    try:
      loaded = load_source(source, resolution=models[0].resolution,
                           count=len(examples), data_dir=examples.data_dir)
    except (FileNotFoundError, ValueError) as error:
      logging.warning("ood: skipping %s: %s", source, error)
      result.settings["skipped"][source] = str(error)
      continue
    _score_source(result, models, loaded.images, source, distances,
                  lpips_model, seed, grid_images)
  kind = distances[0]
  result.summary = "; ".join(
      f"{source}: " + ", ".join(
          f"{m.name} {kind} {result.get(kind, m.name, source=source).mean:.3f}"
          for m in models)
      for source in [IN_DISTRIBUTION] + [
          s for s in sources if s not in result.settings["skipped"]])
  return result
