"""A trained LogitGAN brought back from its `bin/train` model_dir.

What export and the analyses start from: the run's record (run_dir's
run.json: dataset, resolution, batch size, seed, classifier, the networks'
configs), its classifier, the networks restored from a checkpoint, and the
EMA generator's standing statistics refilled exactly as the trainer's
evaluation fills them (same training batches, same noise), so what is
loaded reproduces the last evaluation. Loading reads no gin state.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Optional, Sequence

from absl import logging
import gin
from gin import config_parser
import keras
import tensorflow as tf

from logit_gan import checkpoint_check
from logit_gan import config
from logit_gan import controller
from logit_gan import files
from logit_gan import gan as gan_lib
from logit_gan import methods
from logit_gan import noise
from logit_gan import run_dir
from logit_gan import trainer
from logit_gan.classifiers import zoo
from logit_gan.data import pipeline
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator

# Selectors whose bindings `load` applies to the record: a classifier file or
# a dataset directory that moved. Anything else would change the trained run.
OVERRIDABLE = ("classifier", "dataset")


@dataclasses.dataclass
class Trained:
  """A restored run. `model.inference_generator` is ready for inference."""
  model: gan_lib.LogitGAN
  classifier: zoo.Classifier
  step: int
  checkpoint_path: str
  gin_config: str
  class_names: Optional[tuple[str, ...]] = None  # When the dataset has them.
  record: Optional[run_dir.RunRecord] = None


def load(model_dir: str, *, checkpoint: Optional[str] = None,
         gin_bindings: Sequence[str] = ()) -> Trained:
  """Restores the run in `model_dir` (its latest checkpoint, or
  `checkpoint`) from its record, whatever gin holds.

  gin_bindings: `classifier.*` and `dataset.*` bindings applied to the
    record (e.g. a classifier path or data_dir that moved); others are
    refused.

  A user's mistake is a ValueError saying what to give instead: a
  classifier of another logit width than the generator's, a checkpoint
  that does not fit the networks run.json describes
  (run_dir.CheckpointMismatchError), a damaged one
  (checkpoint_check.CheckpointDamagedError).
  """
  model_dir = str(model_dir)  # Local or gs://: see files.py.
  recorded = run_dir.read_record(model_dir) or _legacy_record(model_dir)
  record = _override(recorded, gin_bindings)
  # Seeded as the trainer seeds it: the same classifier if it is random.
  keras.utils.set_random_seed(record.seed)
  classifier = _ungin(zoo.build_classifier)(**record.classifier)
  _check_logit_width(record, classifier, model_dir,
                     trained_with=recorded.classifier)
  model = build_model(record, classifier)
  gin_config = tf.Variable("", trainable=False)
  path = _restore(model.checkpoint(gin_config=gin_config), model_dir,
                  checkpoint)
  step = int(model.step.numpy())
  spec = _ungin(pipeline.DatasetSpec)(**record.dataset)
  model.fill_standing_statistics(controller.standing_statistics_logits(
      classifier, spec, resolution=record.resolution,
      batch_size=controller.evaluation_batch_size(record.batch_size),
      batches=record.standing_statistics_batches, seed=record.seed))
  logging.info("Restored %s (step %d) with standing statistics.", path, step)
  return Trained(model, classifier, step, path,
                 gin_config.numpy().decode() or _config_text(model_dir),
                 _class_names(spec, classifier.num_classes, record.resolution),
                 record)


def _check_logit_width(record: run_dir.RunRecord, classifier,
                       model_dir: str, *, trained_with: dict) -> None:
  """A ValueError when the classifier (e.g. a classifier.path binding)
  gives another number of logits than the run's generator takes."""
  width = record.generator.get("num_classes")
  if width is not None and classifier.num_classes != width:
    raise ValueError(
        f"The classifier {record.classifier} gives {classifier.num_classes} "
        f"logits, but the generator in {model_dir} takes {width}: it was "
        f"trained on {trained_with} ({run_dir.RECORD_FILE}). Give that "
        "classifier (leave out the classifier binding, or bind "
        "classifier.path to where its file moved).")


def _restore(checkpoint: tf.train.Checkpoint, model_dir: str,
             checkpoint_path: Optional[str]) -> str:
  """Restores the run's latest checkpoint (or `checkpoint_path`); a
  damaged checkpoint, or one that does not fit the networks run.json
  describes, is a ValueError saying which and what to do."""
  try:
    return run_dir.restore_or_init(checkpoint, model_dir,
                                   checkpoint_path=checkpoint_path,
                                   partial=True)
  except run_dir.CheckpointMismatchError as error:
    prefix = checkpoint_path or tf.train.latest_checkpoint(model_dir)
    checkpoint_check.check_readable(prefix, model_dir=model_dir)
    cause = error.__context__ or error  # run_dir's message is for bin/train.
    record_file = run_dir.path(model_dir, run_dir.RECORD_FILE)
    raise run_dir.CheckpointMismatchError(
        f"The checkpoint {prefix} does not fit the networks {record_file} "
        f"describes ({' '.join(str(cause).split())[:300]}): one of them "
        "comes from another run. Give the model_dir the checkpoint was "
        f"trained in, with its own {run_dir.RECORD_FILE}.") from None


def build_model(record: run_dir.RunRecord, classifier) -> gan_lib.LogitGAN:
  """The LogitGAN (or baseline: `record.method`) `record` describes (not
  restored), built from the networks' configs and the GAN's settings:
  every argument explicit, so gin's bindings, whatever they are, change
  nothing. A baseline gets no training-only arguments (a comparator)."""
  method = methods.get(record.method)
  return method.model(
      classifier.num_classes, classifier,
      generator=method.generator.from_config(record.generator),
      discriminator=Discriminator.from_config(record.discriminator),
      jit_compile=False, **record.gan)


def _ungin(configurable):
  """The function or class behind a gin configurable, so that bindings gin
  holds are not filled in (the record gives the arguments)."""
  if inspect.isclass(configurable):
    return configurable  # Called with every field given: gin adds nothing.
  return getattr(configurable, "__wrapped__", configurable)


def _override(record: run_dir.RunRecord,
              bindings: Sequence[str]) -> run_dir.RunRecord:
  """`record` with `classifier.*` / `dataset.*` bindings applied."""
  targets = {"classifier": dict(record.classifier),
             "dataset": dict(record.dataset)}
  for text in bindings:
    for statement in config_parser.ConfigParser(
        text, gin.config.ParserDelegate()):
      if (not isinstance(statement, config_parser.BindingStatement)
          or statement.scope or statement.selector not in OVERRIDABLE
          or not statement.arg_name):
        raise ValueError(
            f"--gin_bindings {text!r}: loading a trained run takes only "
            f"{', '.join(f'{s}.*' for s in OVERRIDABLE)} bindings (a "
            "classifier file or dataset directory that moved); the rest "
            f"is the trained run's, in {run_dir.RECORD_FILE}.")
      targets[statement.selector][statement.arg_name] = statement.value
  return record.replace(**targets)


def _config_text(model_dir: str) -> str:
  config_file = run_dir.path(model_dir, run_dir.CONFIG_FILE)
  return files.read_text(config_file) if tf.io.gfile.exists(
      config_file) else ""


def _legacy_record(model_dir: str) -> run_dir.RunRecord:
  """The record of a run directory from before run.json, from its gin config.

  Fallback only: this parses the run's operative_config.gin into the
  process's gin config (replacing it) and reads `train`'s defaults from its
  signature, which current runs never need."""
  config_file = run_dir.path(model_dir, run_dir.CONFIG_FILE)
  if not tf.io.gfile.exists(config_file):
    raise FileNotFoundError(
        f"{config_file} is missing: {model_dir} is not a bin/train model_dir "
        "(bin/train writes its config there when training starts).")
  gin.clear_config()
  config.parse([config_file])
  defaults = {name: parameter.default for name, parameter
              in inspect.signature(trainer.train).parameters.items()}
  train = {**defaults, **gin.get_bindings("train")}
  generator = Generator()
  return run_dir.RunRecord(
      dataset=dataclasses.asdict(pipeline.DatasetSpec()),
      resolution=generator.resolution, batch_size=train["batch_size"],
      seed=train["seed"],
      standing_statistics_batches=train["standing_statistics_batches"],
      classifier=gin.get_bindings("classifier"),
      generator=generator.get_config(),
      discriminator=Discriminator().get_config(),
      gan={**{name: value for name, value in gin.get_bindings("GAN").items()
              if name != "jit_compile"}, "seed": train["seed"],
           "eval_distribution": noise.configured_eval_sampler()})


def _class_names(spec: pipeline.DatasetSpec, num_classes: int,
                 resolution: int) -> Optional[tuple[str, ...]]:
  """The training dataset's class names, when there is one per logit."""
  names = pipeline.label_names(spec, resolution)
  return names if names and len(names) == num_classes else None
