"""Trains a classifier (standard or adversarial) and reports clean and PGD
accuracy on the test split.

  bin/train_classifier --gin_file=shapes/classifier_robust.gin \
      --output_dir=runs/classifiers/robust
"""

from __future__ import annotations

from absl import app
from absl import flags

from logit_gan.cli import common

common.define_gin_flags("shapes/classifier_robust.gin",
                        "train_classifier.steps = 100")
flags.DEFINE_string("output_dir", None, "Where classifier.keras, "
                    "metrics.json and operative_config.gin are written.",
                    required=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  common.parse_gin_flags()
  from logit_gan.classifiers import training
  metrics = training.train(flags.FLAGS.output_dir)
  print(f"clean accuracy {metrics['clean_accuracy']:.4f}, attacked accuracy "
        f"{metrics['attacked_accuracy']:.4f} -> {flags.FLAGS.output_dir}")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
