"""Probes what a classifier's logits carry about each ground-truth factor of
the `shapes` test images (logit_gan.analyses.logit_probe), prints a table
and writes JSON.

  bin/logit_probe --gin_file=shapes/robust.gin \
      --data_dir=~/tensorflow_datasets --num_examples=6000 \
      --probe=ridge --probe=mlp --out=analysis/probe.json

The classifier comes from gin (`classifier.*`); the images and their factors
from the package's own dataset gin names (`dataset.name`: 'shapes',
'shapes_mini' or their '_ood'; `dataset.data_dir`, or --data_dir), in the
TFDS config stored at or above --resolution (or --dataset_config, e.g. '32'
or 'ood_16'), area-downsampled to --resolution (default: the classifier's
input size), built locally when missing. For shapes_mini the factors
include `foreground_hue_offset` (`with_hue_offset`), the hue within its
family without the wrap at red. For the 100-class miniature:

  bin/logit_probe --gin_file=shapes_mini/robust.gin --out=probe.json
"""

from __future__ import annotations

import json
import os

from absl import app
from absl import flags

from logit_gan.analyses.logit_probe import with_hue_offset
from logit_gan.cli import common

common.define_gin_flags("shapes/robust.gin",
                        "classifier.name = 'small_resnet'")
flags.DEFINE_string("out", None, "JSON file the results are written to.",
                    required=True)
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: gin "
                    "dataset.data_dir).")
flags.DEFINE_string("dataset_config", None, "TFDS config of gin dataset.name's "
                    "builder, e.g. '32' or 'ood_32' (default: the stored "
                    "resolution at or above --resolution).")
flags.DEFINE_integer("resolution", None, "Image side the classifier sees "
                     "(default: its input size).")
flags.DEFINE_string("split", "test", "Dataset split.")
flags.DEFINE_integer("num_examples", 6000, "Images probed (the first N).")
flags.DEFINE_integer("batch_size", 250, "Classifier batch size.")
flags.DEFINE_multi_enum("probe", ["ridge"], ["ridge", "mlp"],
                        "Probe(s): ridge (quadratic features) and/or mlp.")
flags.DEFINE_bool("quadratic", True, "Ridge on pairwise products too.")
flags.DEFINE_integer("splits", 4, "Random half splits.")
flags.DEFINE_integer("resamples", 1000, "Bootstrap resamples.")
flags.DEFINE_float("fixed_threshold", 0.9, "Class share of a factor at or "
                   "above which it counts as fixed by the class.")
flags.DEFINE_integer("seed", 0, "Seeds splits, folds, MLPs, bootstrap.")


def load_shapes(*, tfds_name, resolution, split, num_examples, data_dir):
  """The first `num_examples` images of TFDS `tfds_name`'s split (e.g.
  'logit_gan_shapes_mini/16'), area-resized to `resolution`, in [-1, 1]
  ([N, S, S, 3] float32), their labels [N] and every other stored feature as
  a factor (name -> [N, ...])."""
  import numpy as np
  import tensorflow as tf
  import tensorflow_datasets as tfds
  from logit_gan.data import pipeline
  # Registers the builders.
  from logit_gan.data import shapes  # pylint: disable=unused-import
  builder = tfds.builder(tfds_name, data_dir=data_dir)
  if not builder.is_prepared():
    pipeline.prepare_without_bars_in_logs(builder)
  data = tfds.as_numpy(builder.as_dataset(split=split).take(num_examples)
                       .batch(1000))
  batches = list(data)
  examples = {key: np.concatenate([batch[key] for batch in batches])
              for key in batches[0]}
  images = pipeline.to_model_range(examples.pop("image"))
  if images.shape[1] != resolution:
    images = tf.image.resize(images, [resolution, resolution], method="area")
  return images.numpy(), examples["label"], examples


def tfds_name_of(dataset_name: str, resolution: int,
                 dataset_config=None) -> str:
  """'<builder>/<config>' for gin's `dataset.name` at `resolution`, or with
  `dataset_config` that config of the same builder."""
  from logit_gan.data import pipeline
  try:
    name = pipeline.shapes_tfds_name(dataset_name, resolution)
  except ValueError as error:
    raise app.UsageError(f"logit_probe needs ground-truth factors: {error} "
                         "Set gin dataset.name (e.g. --gin_file="
                         "shapes_mini/robust.gin).") from error
  if dataset_config:
    name = f"{name.split('/')[0]}/{dataset_config}"
  return name


def _logits(classifier, images, batch_size):
  import numpy as np
  return np.concatenate([
      classifier(images[start:start + batch_size]).numpy()
      for start in range(0, len(images), batch_size)])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  common.parse_gin_flags()
  from logit_gan.analyses import logit_probe
  from logit_gan.classifiers import zoo
  flag = flags.FLAGS
  classifier = zoo.build_classifier()
  resolution = flag.resolution or classifier.input_size
  from logit_gan.data import pipeline
  spec = pipeline.DatasetSpec()
  tfds_name = tfds_name_of(spec.name, resolution, flag.dataset_config)
  images, labels, factors = load_shapes(
      tfds_name=tfds_name, resolution=resolution, split=flag.split,
      num_examples=flag.num_examples,
      data_dir=flag.data_dir or spec.data_dir)
  factors = with_hue_offset(factors)
  logits = _logits(classifier, images, flag.batch_size)
  results = {}
  for kind in flag.probe:
    result = logit_probe.probe(
        logits, factors, labels, probe=kind, quadratic=flag.quadratic,
        splits=flag.splits, resamples=flag.resamples,
        fixed_threshold=flag.fixed_threshold, seed=flag.seed)
    print(f"{kind} probe of {classifier.name}'s logits, {len(labels)} "
          f"images at {resolution}x{resolution}:\n{result.table()}")
    results[kind] = result.to_dict()
  os.makedirs(os.path.dirname(os.path.abspath(flag.out)), exist_ok=True)
  with open(flag.out, "w") as file:
    json.dump({"classifier": classifier.name, "resolution": resolution,
               "dataset": tfds_name, "split": flag.split,
               "probes": results}, file, indent=1)


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
