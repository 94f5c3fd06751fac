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

--optimization_baseline adds optimization-based inversion
(logit_gan/baselines/optimization_model.py, the slow path: hundreds of
classifier passes per image) of the FIRST export's classifier. The runner
gives every model every image, so the baseline runs separately: after
the experiments above, the --optimization_experiment experiments run on
[first export, baseline] over the first --optimization_images test images,
into <out>/optimization/ (its own metrics.json and result.json files, with
the paired differences between the export and the baseline on those
images). Its settings are gin's `optimization_inversion.*`.

Every run appends its command, flags, gin bindings, the exports' records
(with the operative gin config each bundles), the test images and the
machine to <out>/provenance.json (logit_gan/analyses/provenance.py) once
its experiments have run; bin/report copies them into its metrics.json.

--time_images=N times one reconstruct call of N test images per model
(after a warm-up call; median and range of 3) and writes <out>/speed.json
(and <out>/optimization/speed.json with the baseline): seconds per image
on this machine, for the paper's speed claim.

--score_2afc=answers.json (repeatable, one file per rater) only scores the
answers of the 2AFC rating page (bin/report's report/2afc.html,
logit_gan/analyses/two_afc.py): per pair of models, the share of trials
preferring each with its 95% Wilson interval, the trials and the raters,
printed as a table and written to <out>/2afc.json. It needs no
--export_dir.
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app
from absl import flags

from logit_gan.cli import common

common.define_gin_flags("my_analysis.gin",
                        "logit_probe.probes = ['ridge', 'mlp']")
flags.DEFINE_multi_string("export_dir", None, "An export to analyse: PATH "
                          "or NAME=PATH (NAME labels it in tables; default "
                          "the folder's name). Repeat to compare models.")
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
# The optimization baseline's default experiments: the reconstructions and
# their class (Fig. 1, Table 2), the dependence on the start (the paper's
# criticism), iterative stability and the factors kept: about 20
# inversions per image.
OPTIMIZATION_EXPERIMENTS = ("reconstructions", "noise_resampling",
                            "iterative_stability", "factor_recovery")
OPTIMIZATION_FOLDER = "optimization"
SPEED_FILE = "speed.json"
SPEED_REPEATS = 3
flags.DEFINE_bool("optimization_baseline", False, "Also run the "
                  "optimization-based inversion of the first export's "
                  "classifier beside it, on --optimization_images images, "
                  "into <out>/optimization (module docstring).")
flags.DEFINE_integer("optimization_images", 100, "Test images (the first "
                     "ones) the optimization baseline inverts.")
flags.DEFINE_multi_string("optimization_experiment",
                          list(OPTIMIZATION_EXPERIMENTS), "Experiments run "
                          "on the optimization baseline (repeatable).")
flags.DEFINE_multi_string("score_2afc", [], "Only score these answers "
                          "files of the 2AFC rating page (repeatable, one "
                          "per rater) into <out>/2afc.json; no --export_dir.")
flags.DEFINE_integer("time_images", 0, "Time reconstruct on this many test "
                     "images per model into <out>/speed.json; 0: no "
                     "timing.")


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


def check_optimization_flags(flag) -> list[str]:
  """The baseline's experiment names (an unknown one is a ValueError
  before any work); imports the baseline so that gin can bind its
  `optimization_inversion.*` settings. [] without --optimization_baseline."""
  if not flag.optimization_baseline:
    return []
  if flag.optimization_images < 1:
    raise app.UsageError("--optimization_images must be at least 1.")
  from logit_gan.analyses import registry
  names = list(dict.fromkeys(flag.optimization_experiment))
  for name in names:
    registry.get(name)  # Raises, listing the known names.
  from logit_gan.baselines import optimization  # pylint: disable=unused-import
  return names


def time_per_image(models: list, examples, count: int, seed: int) -> dict:
  """Seconds per image of one `reconstruct` call of the first `count`
  images per model: a warm-up call (tracing), then the median, lowest and
  highest of SPEED_REPEATS calls. On this machine, as it is loaded."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  images = examples.images[:count]
  timed = {"images": len(images), "repeats": SPEED_REPEATS, "models": {}}
  for model in models:
    logits = model.classify(images)
    noise = model.sample_noise(len(images), seed)
    model.reconstruct(logits, noise)
    seconds = []
    for _ in range(SPEED_REPEATS):
      began = time.perf_counter()
      model.reconstruct(logits, noise)
      seconds.append((time.perf_counter() - began) / len(images))
    timed["models"][model.name] = {
        "method": model.method, "seconds_per_image": float(np.median(
            seconds)), "low": min(seconds), "high": max(seconds)}
  return timed


def write_speed(models: list, examples, out: str, flag) -> None:
  """--time_images: speed.json in `out`, and a line per model."""
  if flag.time_images < 1:
    return
  from logit_gan import files
  timed = time_per_image(models, examples, flag.time_images, flag.seed)
  files.write_text(os.path.join(out, SPEED_FILE),
                   json.dumps(timed, indent=2))
  print("time per image (reconstruct, batch of "
        f"{timed['images']}): " + "; ".join(
            f"{name} {entry['seconds_per_image'] * 1000:.3g} ms"
            for name, entry in timed["models"].items()))


def run_optimization_baseline(models: list, test_examples, names: list,
                              flag) -> None:
  """The baseline beside the first export on the first
  --optimization_images images, into <out>/optimization (module doc)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from logit_gan.analyses import runner
  from logit_gan.baselines import optimization_model
  first = models[0]
  baseline = optimization_model.OptimizationInversion.from_model(first)
  subset = test_examples.subset(np.arange(min(flag.optimization_images,
                                              len(test_examples))))
  out = os.path.join(flag.out, OPTIMIZATION_FOLDER)
  print(f"Optimization baseline (the slow path, {baseline.settings.steps} "
        f"steps per image): {baseline.name} beside {first.name} on the "
        f"first {len(subset)} test images -> {out}.")
  # The default experiments skip what the images do not allow, as --all.
  default = names == list(OPTIMIZATION_EXPERIMENTS)
  runner.run_experiments([first, baseline], subset, names, out,
                         seed=flag.seed, force=flag.force,
                         skip_unmet=flag.all or default)
  write_speed([first, baseline], subset, out, flag)


def record_run(flag, models: list, test_examples, names: list[str],
               baseline_names: list[str]) -> None:
  """Appends this run (command, flags, gin bindings, the exports' records,
  the test images, the machine) to <out>/provenance.json
  (logit_gan/analyses/provenance.py), once its experiments have run (a
  run refused or stopped before then records nothing)."""
  import gin  # pylint: disable=import-outside-toplevel
  from logit_gan.analyses import provenance
  values = {defined.name: defined.value for defined in
            flags.FLAGS.flags_by_module_dict().get(__name__, [])}
  values.update(gin_file=list(flag.gin_file),
                gin_bindings=list(flag.gin_bindings))
  provenance.append(flag.out, provenance.run_record(
      flag_values=values, models=models, experiments=names,
      optimization_experiments=baseline_names,
      images=test_examples.describe(), gin_config=gin.config_str()))


def score_two_afc(flag) -> None:
  """--score_2afc: the pooled answers' table, and <out>/2afc.json."""
  if flag.export_dir or flag.experiment or flag.all:
    raise app.UsageError("--score_2afc only scores answers: give it without "
                         "--export_dir, --experiment and --all.")
  from logit_gan.analyses import two_afc
  scores = two_afc.score_files(flag.score_2afc)
  print(two_afc.table(scores))
  print(f"Scores: {two_afc.write(scores, flag.out)}")


def main(argv):
  flag = flags.FLAGS
  if len(argv) > 1 and not flag.images:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if flag.score_2afc:
    score_two_afc(flag)
    return
  if not flag.export_dir:
    raise app.UsageError("Give --export_dir=PATH (repeatable) of the models "
                         "to analyse, or --score_2afc=FILE to score 2AFC "
                         "answers.")
  if flag.num_images < 1:
    raise app.UsageError("--num_images must be at least 1.")
  names = experiment_names(flag)
  baseline_names = check_optimization_flags(flag)
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
  record_run(flag, models, test_examples, names, baseline_names)
  write_speed(models, test_examples, flag.out, flag)
  print(f"Numbers: {os.path.join(flag.out, results.METRICS_FILE)}; "
        "figures and result.json: " + ", ".join(
            outcome.folder for outcome in outcomes if not outcome.skipped)
        + ".")
  if baseline_names:
    run_optimization_baseline(models, test_examples, baseline_names, flag)


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
