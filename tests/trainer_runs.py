"""Helpers for the trainer tests: a tiny shapes run, its checkpoints, and a
disk that fills up."""

import contextlib
import pathlib
import resource
import signal

import gin
import tensorflow as tf

from logit_gan import config
from logit_gan import trainer


# The trainer tests train the tiny networks at 16x16 without attention:
# tracing a step is most of a tiny run's time, and these tests are about the
# trainer (test_networks.py and test_gan.py cover attention and 32x32).
RESOLUTION = 16


def tiny_bindings(data_dir, **overrides):
  bindings = {
      "dataset.name": "'shapes'", "dataset.data_dir": f"'{data_dir}'",
      "Generator.resolution": str(RESOLUTION),
      "Generator.blocks_with_attention": "''",
      "Discriminator.blocks_with_attention": "''",
      "classifier.name": "'small_resnet'", "classifier.num_classes": "10",
      "train.batch_size": "4", "train.training_steps": "2",
      "train.iterations_per_loop": "1", "train.save_checkpoints_steps": "1",
      "train.eval_every_steps": "100", "train.eval_examples": "8",
      "train.grid_examples": "2", "train.grid_samples": "2",
      "train.standing_statistics_batches": "1",
      "GAN.ema_start_step": "1", "GAN.ema_decay": "0.5",
  }
  bindings.update(overrides)
  return [f"{key} = {value}" for key, value in bindings.items()]


def run(model_dir, data_dir, gin_files=("tiny.gin",), strategy=None,
        **overrides):
  gin.clear_config()
  config.parse(list(gin_files), tiny_bindings(data_dir, **overrides))
  return trainer.train(str(model_dir), strategy)


def checkpoint_values(model_dir, step):
  reader = tf.train.load_checkpoint(str(pathlib.Path(model_dir) /
                                        f"ckpt-{step}"))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if name.endswith(".ATTRIBUTES/VARIABLE_VALUE")
          and "input_pipeline" not in name and "gin_config" not in name}


def group(values, prefix):
  return {k: v for k, v in values.items() if k.startswith(prefix)}


@contextlib.contextmanager
def disk_full(after_bytes: int = 0):
  """While the block runs, a write that grows any file of this process
  beyond `after_bytes` fails as on a full disk (RLIMIT_FSIZE: the write
  fails with EFBIG, "File too large", SIGXFSZ being ignored)."""
  limit = resource.getrlimit(resource.RLIMIT_FSIZE)
  handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
  resource.setrlimit(resource.RLIMIT_FSIZE, (after_bytes, limit[1]))
  try:
    yield
  finally:
    resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    signal.signal(signal.SIGXFSZ, handler)
