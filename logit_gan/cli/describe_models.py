"""Prints the generator's and discriminator's stages, shapes and parameters.

  bin/describe_models --gin_file=compare_gan/paper.gin --num_classes=1000
"""

from __future__ import annotations

from absl import app
from absl import flags
from absl import logging

from logit_gan.cli import common

common.define_gin_flags("compare_gan/paper.gin")
flags.DEFINE_integer("num_classes", 1000,
                     "Logit width n_c of the classifier being inverted.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  common.parse_gin_flags()
  from logit_gan import describe
  from logit_gan.discriminator import Discriminator
  from logit_gan.generator import Generator
  logging.info("Building the networks (orthogonal initialization of the "
               "full-size networks takes a minute or more on 2 CPU cores).")
  print(describe.describe(Generator(), Discriminator(), flags.FLAGS.num_classes))


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
