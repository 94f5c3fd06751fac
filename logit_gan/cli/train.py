"""Trains the logit-inversion GAN.

  bin/train --gin_file=robust.gin --model_dir=runs/robust
  bin/train --gin_file=shapes/robust.gin --model_dir=runs/shapes_robust
  bin/train --gin_file=robust.gin --model_dir=gs://... --strategy=tpu \
      --tpu=my-tpu

Rerunning with the same --model_dir resumes from its latest checkpoint.
Exit codes: 0 trained to train.training_steps; 2 an error named in one line
(`error: ...`: a bad input, an unwritable model_dir, a diverged run, a lost
worker); 75 preempted (SIGTERM), after saving the current step: rerun to
resume (docs/training.md).
"""

from __future__ import annotations

from absl import app
from absl import flags

from logit_gan.cli import common

common.define_gin_flags()
flags.DEFINE_string("model_dir", None, "Where checkpoints, TensorBoard "
                    "summaries, operative_config.gin, metrics.json and "
                    "reconstructions.png go; resumed from if it holds a "
                    "checkpoint.", required=True)
flags.DEFINE_enum("strategy", "default",
                  ["default", "one_device", "mirrored", "multi_worker",
                   "tpu"],
                  "tf.distribute strategy: default (no distribution), "
                  "one_device, mirrored (all local GPUs), multi_worker "
                  "(cluster from TF_CONFIG) or tpu.")
flags.DEFINE_string("tpu", None, "TPU name or grpc:// address for "
                    "--strategy=tpu (unset: $TPU_NAME, else the TPU VM's "
                    "own TPU).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from logit_gan import trainer
  # The strategy comes first: multi-worker and TPU setup must precede any
  # other TensorFlow work.
  strategy = trainer.make_strategy(flags.FLAGS.strategy, flags.FLAGS.tpu)
  common.parse_gin_flags()
  trainer.train(flags.FLAGS.model_dir, strategy)


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
