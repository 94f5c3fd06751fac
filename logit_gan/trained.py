"""A trained LogitGAN brought back from its `bin/train` model_dir.

What export and the analyses start from: the gin config the run wrote
(`operative_config.gin`), its classifier, the networks restored from a
checkpoint, and the EMA generator's standing statistics refilled exactly as
the trainer's evaluation fills them (same training batches, same noise), so
what is loaded reproduces the last evaluation.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Optional, Sequence

from absl import logging
import gin
import keras
import tensorflow as tf

from logit_gan import config
from logit_gan import files
from logit_gan import gan as gan_lib
from logit_gan import run_dir
from logit_gan import trainer
from logit_gan.classifiers import zoo
from logit_gan.data import pipeline
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator


@dataclasses.dataclass
class Trained:
  """A restored run. `model.inference_generator` is ready for inference."""
  model: gan_lib.LogitGAN
  classifier: zoo.Classifier
  step: int
  checkpoint_path: str
  gin_config: str
  class_names: Optional[tuple[str, ...]] = None  # When the dataset has them.


def _train_setting(name: str):
  """`train.<name>` as the run bound it, else `train`'s default."""
  try:
    return gin.query_parameter(f"train.{name}")
  except ValueError:
    return inspect.signature(trainer.train).parameters[name].default


def load(model_dir: str, *, checkpoint: Optional[str] = None,
         gin_bindings: Sequence[str] = ()) -> Trained:
  """Restores the run in `model_dir` (its latest checkpoint, or
  `checkpoint`); `gin_bindings` override its config (e.g. a classifier path
  that moved). Replaces the process's gin config with the run's."""
  model_dir = str(model_dir)  # Local or gs://: see files.py.
  config_file = run_dir.path(model_dir, run_dir.CONFIG_FILE)
  if not tf.io.gfile.exists(config_file):
    raise FileNotFoundError(
        f"{config_file} is missing: {model_dir} is not a bin/train model_dir "
        "(bin/train writes its config there when training starts).")
  gin.clear_config()
  config.parse([config_file], gin_bindings)
  seed = _train_setting("seed")
  keras.utils.set_random_seed(seed)  # As the trainer: same random classifier.
  classifier = zoo.build_classifier()
  model = gan_lib.LogitGAN(classifier.num_classes, classifier,
                           generator=Generator(),
                           discriminator=Discriminator(), seed=seed)
  gin_config = tf.Variable("", trainable=False)
  path = run_dir.restore_or_init(model.checkpoint(gin_config=gin_config),
                                 model_dir, checkpoint_path=checkpoint,
                                 partial=True)
  step = int(model.step.numpy())
  standing_logits = trainer.standing_statistics_logits(
      classifier, resolution=model.resolution,
      batch_size=trainer.evaluation_batch_size(_train_setting("batch_size")),
      batches=_train_setting("standing_statistics_batches"), seed=seed)
  model.fill_standing_statistics(standing_logits)
  logging.info("Restored %s (step %d) with standing statistics.", path, step)
  return Trained(model, classifier, step, path,
                 gin_config.numpy().decode() or files.read_text(config_file),
                 _class_names(classifier.num_classes, model.resolution))


def _class_names(num_classes: int, resolution: int
                 ) -> Optional[tuple[str, ...]]:
  """The training dataset's class names, when there is one per logit."""
  names = pipeline.label_names(pipeline.DatasetSpec(), resolution)
  return names if names and len(names) == num_classes else None
