"""Runs a frozen classifier once over a dataset split and caches its logits.

  bin/cache_logits --gin_bindings="classifier.name = 'small_resnet'" \
      --gin_bindings="classifier.path = 'runs/classifiers/robust/classifier.keras'" \
      --gin_bindings="dataset.name = 'shapes'" \
      --split=train --resolution=32 --output_dir=runs/cache/robust_train

The dataset and its TFDS directory are gin's `dataset.name` and
`dataset.data_dir`, as for bin/train and bin/train_classifier.
"""

from __future__ import annotations

from absl import app
from absl import flags

from logit_gan.cli import common

common.define_gin_flags("shapes/robust.gin",
                        "classifier.name = 'small_resnet'")
flags.DEFINE_string("output_dir", None, "Where the cache is written.",
                    required=True)
flags.DEFINE_string("split", "train", "Dataset split: train or test.")
flags.DEFINE_integer("resolution", 32, "Image size the cache holds.")
flags.DEFINE_integer("batch_size", 250, "Classifier batch size.")
# Removed flags, kept only to be refused with the gin binding that
# replaced each.
REMOVED_FLAGS = {"dataset": "dataset.name", "data_dir": "dataset.data_dir"}
flags.DEFINE_string("dataset", None, "Removed: use "
                    "--gin_bindings=\"dataset.name = 'shapes'\".")
flags.DEFINE_string("data_dir", None, "Removed: use "
                    "--gin_bindings=\"dataset.data_dir = 'DIR'\".")


def refuse_removed_flags(flag_values) -> None:
  """Raises app.UsageError naming the gin binding of each removed flag
  given."""
  given = [(name, binding, flag_values[name].value)
           for name, binding in REMOVED_FLAGS.items()
           if flag_values[name].value is not None]
  if given:
    raise app.UsageError(
        " ".join(f"--{name} was removed: give --gin_bindings=\"{binding} = "
                 f"'{value}'\" instead." for name, binding, value in given)
        + " (One spelling of the dataset for every command.)")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  refuse_removed_flags(flags.FLAGS)
  common.parse_gin_flags()
  from logit_gan.classifiers import zoo
  from logit_gan.data import logit_cache
  from logit_gan.data import pipeline
  flag = flags.FLAGS
  info = logit_cache.cache_split(
      zoo.build_classifier(), flag.output_dir, spec=pipeline.DatasetSpec(),
      split=flag.split, resolution=flag.resolution,
      batch_size=flag.batch_size)
  print(f"cached {info.num_examples} examples of {info.dataset} from "
        f"{info.classifier_name} in {flag.output_dir}")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
