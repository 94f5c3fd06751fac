"""Runs a frozen classifier once over a dataset split and caches its logits.

  bin/cache_logits --gin_bindings="classifier.name = 'small_resnet'" \
      --gin_bindings="classifier.path = 'runs/classifiers/robust/classifier.keras'" \
      --dataset=shapes --split=train --resolution=32 --output_dir=runs/cache/robust_train
"""

from __future__ import annotations

from absl import app
from absl import flags

from logit_gan.cli import common

common.define_gin_flags("shapes/robust.gin",
                        "classifier.name = 'small_resnet'")
flags.DEFINE_string("output_dir", None, "Where the cache is written.",
                    required=True)
flags.DEFINE_string("dataset", "shapes", "Dataset name (see logit_gan.data).")
flags.DEFINE_string("split", "train", "Dataset split: train or test.")
flags.DEFINE_integer("resolution", 32, "Image size the cache holds.")
flags.DEFINE_integer("batch_size", 250, "Classifier batch size.")
flags.DEFINE_string("data_dir", None, "TFDS data directory.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  common.parse_gin_flags()
  from logit_gan.classifiers import zoo
  from logit_gan.data import logit_cache
  flag = flags.FLAGS
  info = logit_cache.cache_split(
      zoo.build_classifier(), flag.output_dir, dataset_name=flag.dataset,
      split=flag.split, resolution=flag.resolution,
      batch_size=flag.batch_size, data_dir=flag.data_dir)
  print(f"cached {info.num_examples} examples of {info.dataset} from "
        f"{info.classifier_name} in {flag.output_dir}")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
