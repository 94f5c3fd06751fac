"""Runs the paper's experiments on exported inversion models and writes
their numbers (with 95% CIs) and figures (docs/analyses.md).

  bin/analyze --export_dir=exports/shapes_mini_robust \
      --export_dir=exports/shapes_mini_standard \
      --experiment=logit_probe --experiment=reconstructions --out=analysis/

writes analysis/<experiment>/*.png and result.json, and analysis/
metrics.json (one record per experiment, model and number), prints one line
per experiment and a progress line with ETA, and reruns only what is
missing (a changed model, image, setting or seed reruns; --force reruns
all). --all runs every experiment of `logit_gan.analyses.registry` that
the test images allow (one without the labels or ground-truth factors it
needs is skipped with a line saying so; named with --experiment, it is an
error).

--export_dir NAME=PATH names a model (default: the export's folder name);
PATH is a bin/export --export_dir or one of its version folders, exported
with its classifier (bin/export's default). The test images: --images
(files or folders, resized to the models' resolution), or --tfds (any
prepared TFDS dataset), or by default the first --num_images of --split of
the dataset the first export was trained on (its `describe` records it; the
package's shapes datasets are built on first use, which takes minutes).
--data_dir is the TFDS data directory of the default and --tfds images.

Settings of the experiments are gin bindings under their names
(--gin_bindings="logit_probe.probes = ['ridge', 'mlp']"); --seed seeds
every experiment.
"""

from __future__ import annotations

import os
import sys

from absl import app
from absl import flags

from logit_gan.cli import common

common.define_gin_flags("my_analysis.gin",
                        "logit_probe.probes = ['ridge', 'mlp']")
flags.DEFINE_multi_string("export_dir", None, "An export to analyse: PATH "
                          "or NAME=PATH (NAME labels it in tables; default "
                          "the folder's name). Repeat to compare models.",
                          required=True)
flags.DEFINE_multi_string("experiment", [], "Experiment name (repeatable); "
                          "see --all.")
flags.DEFINE_bool("all", False, "Run every known experiment.")
flags.DEFINE_string("out", "analysis", "Output folder.")
flags.DEFINE_multi_string("images", [], "Image files or folders to use as "
                          "test images (no labels or factors).")
flags.DEFINE_string("tfds", None, "A TFDS dataset name for the test images, "
                    "e.g. 'cifar100' (must be prepared in --data_dir).")
flags.DEFINE_string("split", "test", "Split of the default or --tfds "
                    "dataset.")
flags.DEFINE_integer("num_images", 1000, "Test images: the first N of the "
                     "split.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: the one "
                    "the export records, else TFDS's default).")
flags.DEFINE_integer("seed", 0, "Seed of every experiment (noise, splits, "
                     "bootstrap).")
flags.DEFINE_bool("force", False, "Rerun experiments whose results are up "
                  "to date.")


def parse_export_dir(value: str) -> tuple[str | None, str]:
  """'NAME=PATH' -> (NAME, PATH); 'PATH' -> (None, PATH). A '=' inside a
  path (after a '/') is part of the path."""
  name, separator, path = value.partition("=")
  if separator and name and "/" not in name and os.sep not in name:
    return name, path
  return None, value


def experiment_names(flag) -> list[str]:
  """--all or the --experiment names; a UsageError when neither or both."""
  from logit_gan.analyses import registry
  if flag.all and flag.experiment:
    raise app.UsageError("Give --experiment or --all, not both.")
  if not flag.all and not flag.experiment:
    raise app.UsageError("Give --experiment=NAME (repeatable) or --all; "
                         f"experiments: {', '.join(registry.names())}.")
  return registry.names() if flag.all else list(flag.experiment)


def prepare_experiments(names: list[str]) -> None:
  """Resolves every name (an unknown one is a ValueError listing the known
  ones, before anything loads), importing the experiments' modules so that
  gin can bind their settings, then parses gin."""
  from logit_gan.analyses import registry
  for name in names:
    if name not in registry.EXPERIMENTS:
      registry.get(name)  # Raises, listing the known names.
  for name in names:
    registry.get(name)
  common.parse_gin_flags()


def load_models(values: list[str]) -> list:
  """The ExportedModels of the --export_dir values."""
  from logit_gan.analyses import inversion
  models = []
  for value in values:
    name, path = parse_export_dir(value)
    models.append(inversion.load(path, name=name))
  inversion.check_compatible(models)
  return models


def default_dataset(models: list, data_dir: str | None) -> dict:
  """The training dataset the exports record (with --data_dir), or a
  ValueError when one records none or two differ."""
  recorded = {model.name: model.dataset for model in models}
  missing = [name for name, dataset in recorded.items() if not dataset]
  if missing:
    raise ValueError(f"The export(s) {missing} record no training dataset; "
                     "give the test images with --images or --tfds.")
  names = {name: dataset["name"] for name, dataset in recorded.items()}
  if len(set(names.values())) > 1:
    raise ValueError(f"The exports were trained on different datasets "
                     f"{names}: give common test images with --images or "
                     "--tfds, or analyse them separately.")
  dataset = dict(recorded[models[0].name])
  if data_dir:
    dataset["data_dir"] = data_dir
  return dataset


def load_examples(models: list, flag, extra_images: list[str]):
  """The test images the flags name (module docstring)."""
  from logit_gan import image_files
  from logit_gan.analyses import examples
  resolution = models[0].resolution
  images = list(flag.images) + extra_images
  if images and flag.tfds:
    raise app.UsageError("Give --images or --tfds, not both.")
  if images:
    paths = image_files.expand_folders(
        images, note=lambda text: print(text, file=sys.stderr))
    return examples.from_files(paths, resolution=resolution)
  if flag.tfds:
    return examples.from_tfds(flag.tfds, resolution=resolution,
                              split=flag.split, count=flag.num_images,
                              data_dir=flag.data_dir)
  return examples.from_dataset(default_dataset(models, flag.data_dir),
                               resolution=resolution, split=flag.split,
                               count=flag.num_images)


def main(argv):
  flag = flags.FLAGS
  if len(argv) > 1 and not flag.images:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if flag.num_images < 1:
    raise app.UsageError("--num_images must be at least 1.")
  names = experiment_names(flag)
  prepare_experiments(names)
  models = load_models(flag.export_dir)
  test_examples = load_examples(models, flag, list(argv[1:]))
  print(f"{len(test_examples)} test images from {test_examples.source}; "
        f"models: {', '.join(m.name for m in models)}.")
  from logit_gan.analyses import results
  from logit_gan.analyses import runner
  outcomes = runner.run_experiments(models, test_examples, names, flag.out,
                                    seed=flag.seed, force=flag.force,
                                    skip_unmet=flag.all)
  print(f"Numbers: {os.path.join(flag.out, results.METRICS_FILE)}; "
        "figures and result.json: " + ", ".join(
            outcome.folder for outcome in outcomes if not outcome.skipped)
        + ".")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
