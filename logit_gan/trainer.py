"""`bin/train`'s engine: data and classifier in, checkpoints and summaries out.

`train(model_dir)` (gin `train.*`) is the one place gin is read: it makes
the frozen classifier Φ (gin `classifier.*`), the dataset spec (gin
`dataset.*`) and the networks (gin `Generator.*`, `Discriminator.*`; a
baseline's generator: `methods.py`) and passes them down. The run then
goes as orbit's controller does:

  1. `build_run`: model_dir is checked writable (a probe file) and the
     inputs are checked (a missing dataset, weights file or cache fails
     before anything is built), then `gan.LogitGAN` is built in the
     strategy's scope with its input iterator, checkpoint and checkpoint
     manager;
  2. `start`: `run_dir.restore_or_init` restores the latest checkpoint in
     `model_dir` or saves the initial one; a resumed run trains at the
     learning rates configured now; the config and the run's record
     (run_dir.RECORD_FILE) are written;
  3. `controller.Controller.run`: a short loop of named steps: train up
     to the next boundary (`iterations_per_loop` steps in one tf.function
     call), check the losses and weights are finite (a NaN stops the run
     and keeps the last good checkpoint, or its batch is skipped:
     non_finite.py), save and stop on SIGTERM (interruptions.py), write
     summaries, maybe checkpoint (`save_checkpoints_steps`), maybe evaluate
     (`eval_every_steps`: the EMA generator, standing statistics refilled,
     reconstructs a fixed set of test images; the classifier's class
     agreement with the originals is logged with an image grid).
A lost worker of a multi-worker run is reported as
interruptions.WorkerLostError; a failed checkpoint write as
run_dir.CheckpointWriteError.

`model_dir` (local or gs://, files.py) receives what run_dir.py lists:
checkpoints (G, D, EMA G, both optimizers, the step and the gin config),
the operative config, run.json, TensorBoard event files, the
reconstruction grid and the evaluation history.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from absl import logging
import gin
import keras
import tensorflow as tf

from logit_gan import controller
from logit_gan import interruptions
from logit_gan import losses
from logit_gan import methods
from logit_gan import noise
from logit_gan import run_dir
from logit_gan.classifiers import zoo
from logit_gan.data import logit_cache
from logit_gan.data import pipeline
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def make_strategy(name: str = "default", tpu: Optional[str] = None
                  ) -> tf.distribute.Strategy:
  """The tf.distribute strategy `name` (one of `STRATEGIES`).

  'multi_worker' reads the cluster from the TF_CONFIG environment variable;
  'tpu' connects to `tpu` (a name or grpc:// address), else to $TPU_NAME,
  else to the TPU VM's own TPU ('local').
  """
  if tpu and name != "tpu":
    raise ValueError(f"--tpu={tpu} is for --strategy=tpu, not "
                     f"--strategy={name}.")
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "one_device":
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus
                                           else "/cpu:0")
  if name == "mirrored":
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise ValueError("--strategy=multi_worker needs the cluster in the "
                       "TF_CONFIG environment variable (see tf.distribute."
                       "MultiWorkerMirroredStrategy).")
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == "tpu":
    # TensorFlow reads '' as $TPU_NAME and fails without it; 'local' is
    # the TPU attached to this VM.
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=tpu or os.environ.get("TPU_NAME") or "local")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")


@gin.configurable("train", denylist=["model_dir", "strategy"])
def train(model_dir: str, strategy: Optional[tf.distribute.Strategy] = None,
          *, method: str = "logit_gan",
          batch_size: int = 2048, training_steps: int = 250_000,
          iterations_per_loop: int = 500, save_checkpoints_steps: int = 2500,
          keep_checkpoint_max: int = 5, seed: int = 8,
          logit_cache_dir: Optional[str] = None,
          eval_every_steps: int = 2500, eval_examples: int = 500,
          grid_examples: int = 8, grid_samples: int = 3,
          standing_statistics_batches: int = 8,
          summary_every_steps: int = 100,
          checkpoint_input_pipeline: bool = True,
          skip_non_finite_batches: bool = False,
          max_skipped_in_a_row: int = 10) -> dict:
  """Trains the logit-inversion GAN or a baseline; returns final metrics.

  Args (gin `train.*`; compare_gan's names in brackets):
    model_dir: checkpoints, summaries and results (created; resumed from).
    strategy: a tf.distribute strategy (default: the current one).
    method: what to train: 'logit_gan' or 'dosovitskiy_brox' (methods.py).
    batch_size: the global batch per D update [options.batch_size].
    training_steps: G updates to reach [options.training_steps].
    iterations_per_loop: steps per tf.function call
      [run_config.iterations_per_loop].
    save_checkpoints_steps, keep_checkpoint_max: checkpoint cadence and
      retention [run_config.*].
    seed: seeds the initialization, the data order and the noise
      [run_config.tf_random_seed].
    logit_cache_dir: a `bin/cache_logits` directory of the training split,
      built here first when it does not exist (single-worker runs); None
      runs the classifier inside each step.
    eval_every_steps, eval_examples: class agreement of EMA reconstructions
      of this many test images, this often (and at the end).
    grid_examples, grid_samples: the image grid of originals beside
      reconstructions with this many noise samples each.
    standing_statistics_batches: training batches that fill the EMA
      generator's standing BN statistics before each evaluation.
    summary_every_steps: TensorBoard scalar cadence.
    checkpoint_input_pipeline: save the input iterator's position (and
      shuffle buffer) with each checkpoint, so a resumed run sees the data
      the uninterrupted run would have. Off, and under a tf.distribute
      strategy other than the default (whose iterators TensorFlow cannot
      checkpoint): a resumed run restarts the data order.
    skip_non_finite_batches, max_skipped_in_a_row: leave out the updates of
      a batch whose losses or gradients are NaN or inf, and stop after this
      many such steps in a row (non_finite.py); off: stop at the first.
  """
  settings = controller.Settings(**{
      name: value for name, value in locals().items()
      if name not in ("model_dir", "strategy", "method")})
  strategy = strategy or tf.distribute.get_strategy()
  _check_batch_size(settings.batch_size, strategy)
  keras.utils.set_random_seed(settings.seed)
  return _start_and_train(
      _configured_run(str(model_dir), strategy, settings, method))


def _configured_run(model_dir: str, strategy: tf.distribute.Strategy,
                    settings: controller.Settings,
                    method: str) -> controller.Run:
  """`build_run` with what gin configures: the classifier (built first, so
  that a missing weights file fails early), the dataset spec, the method's
  generator and step functions, and D."""
  with strategy.scope():
    classifier = zoo.build_classifier()
    arguments = methods.get(method).arguments(classifier)
  return build_run(
      model_dir, strategy, settings, classifier=classifier,
      classifier_arguments=gin.get_bindings("classifier"),
      spec=pipeline.DatasetSpec(), generator=methods.get(method).generator(),
      discriminator=Discriminator(), config_text=gin.config_str(),
      step_functions={**configured_step_functions(), **arguments},
      method=method)


def _start_and_train(run: controller.Run) -> dict:
  """Starts `run` (`start`) and trains it to the end; returns the final
  metrics. A lost worker is reported as interruptions.WorkerLostError."""
  with interruptions.reporting_lost_workers(
      run.strategy, lambda: run.manager.latest_checkpoint):
    result = controller.Controller(run, start(run)).run()
  _cleanup_scratch(run.model_dir, run.strategy)
  return result


def configured_step_functions() -> dict:
  """What gin selects for the training step, read once here at the entry
  and passed to `gan.LogitGAN`: `loss.fn`, `penalty.fn`,
  `z.distribution_fn` and `eval_z.distribution_fn`."""
  return {"loss_fn": losses.configured_loss(),
          "penalty_fn": losses.configured_penalty(),
          "train_distribution": noise.configured_train_sampler(),
          "eval_distribution": noise.configured_eval_sampler()}


def _check_batch_size(batch_size: int, strategy) -> None:
  replicas = strategy.num_replicas_in_sync
  if batch_size % replicas:
    raise ValueError(f"train.batch_size = {batch_size} does not split over "
                     f"{replicas} replicas; use a multiple of {replicas}.")


def _check_num_classes(generator, classifier) -> None:
  bound = generator.num_classes
  if bound is not None and bound != classifier.num_classes:
    raise ValueError(
        f"{type(generator).__name__}.num_classes = {bound}, but the "
        f"classifier {classifier.name!r} gives {classifier.num_classes} "
        "logits; the generator must be built for the classifier's logit "
        "width (drop the binding, or choose the classifier that matches).")


def build_run(model_dir: str, strategy: tf.distribute.Strategy,
              settings: controller.Settings, *, classifier,
              classifier_arguments: dict,
              spec: pipeline.DatasetSpec, generator: Generator,
              discriminator: Discriminator, config_text: str,
              step_functions: Optional[dict] = None,
              method: str = "logit_gan") -> controller.Run:
  """Checks the inputs, then builds the GAN (or the baseline `method`, with
  `step_functions`, the `configured_step_functions()` keywords and the
  method's own; None: the paper's), its input iterator, its checkpoint and
  checkpoint manager (nothing is restored yet)."""
  chief = _is_chief(strategy)
  _check_num_classes(generator, classifier)
  # Each worker probes the folder it writes its checkpoints into.
  run_dir.check_writable(_checkpoint_dir(model_dir, strategy))
  resolution = generator.resolution
  _check_training_data(classifier, spec, resolution,
                       settings.logit_cache_dir, chief=chief)
  tf.io.gfile.makedirs(model_dir)  # Not before the inputs are known good.
  with strategy.scope():
    model = methods.get(method).model(
        classifier.num_classes,
        None if settings.logit_cache_dir else classifier,
        generator=generator, discriminator=discriminator, seed=settings.seed,
        **(step_functions or {}))
  model.skip_non_finite = settings.skip_non_finite_batches
  iterator = iter(_training_input(
      strategy, spec, batch_size=settings.batch_size,
      batches_per_step=model.batches_per_step, resolution=resolution,
      seed=settings.seed, cache_dir=settings.logit_cache_dir,
      classifier_name=classifier.name))
  checkpoint = model.checkpoint(
      gin_config=tf.Variable(config_text, trainable=False),
      **_pipeline_entry(iterator, strategy,
                        settings.checkpoint_input_pipeline))
  manager = tf.train.CheckpointManager(
      checkpoint, _checkpoint_dir(model_dir, strategy),
      max_to_keep=settings.keep_checkpoint_max, step_counter=model.step,
      checkpoint_interval=None)
  record = run_dir.RunRecord(
      dataset=dataclasses.asdict(spec), resolution=resolution,
      batch_size=settings.batch_size, seed=settings.seed,
      standing_statistics_batches=settings.standing_statistics_batches,
      classifier=dict(classifier_arguments),
      generator=model.generator.get_config(),
      discriminator=model.discriminator.get_config(), gan=model.settings(),
      method=model.method)
  return controller.Run(model_dir, strategy, settings, spec, classifier, model,
             iterator, checkpoint, manager, chief, config_text, record)


def start(run: controller.Run) -> int:
  """Restores the run or initialises it (run_dir.restore_or_init), then
  writes its config and record; returns the step to start from.

  Written after restoring: a model_dir refused as another architecture
  keeps the config it was trained with."""
  resumed_from = run_dir.restore_or_init(run.checkpoint, run.model_dir,
                                         manager=run.manager)
  step = int(run.model.step.numpy())
  if resumed_from and step:
    logging.info("Resuming from %s at step %d.", resumed_from, step)
  changed = run.model.use_configured_learning_rates()
  for binding, (restored, rate) in changed.items():
    logging.info("%s = %g; the checkpoint had trained at %g. Continuing at "
                 "%g.", binding, rate, restored, rate)
  if run.chief:
    run_dir.write_config(run.model_dir, run.config_text)
    run_dir.write_record(run.model_dir, run.record)
  return step


def _build_logit_cache(classifier, spec: pipeline.DatasetSpec,
                       resolution: int, cache_dir: str, chief: bool) -> None:
  """Caches the classifier's logits of the training split (once)."""
  if not chief:
    raise FileNotFoundError(
        f"No logit cache in {cache_dir}. In multi-worker training build it "
        "before starting the workers: bin/cache_logits --gin_file=... "
        f"--split=train --resolution={resolution} --output_dir={cache_dir}")
  run_dir.check_writable(cache_dir, "train.logit_cache_dir")
  logging.info("Caching %s's logits of the training split in %s (once; "
               "later runs read them).", classifier.name, cache_dir)
  logit_cache.cache_split(classifier, cache_dir, spec=spec, split="train",
                          resolution=resolution)


def _check_training_data(classifier, spec: pipeline.DatasetSpec,
                         resolution: int, cache_dir: Optional[str],
                         chief: bool = True) -> None:
  """Fails now, before anything is built, if the training data is missing
  or the cache was made by another classifier or dataset; builds a cache
  that does not exist yet."""
  if not cache_dir:
    pipeline.dataset(spec, split="train", resolution=resolution,
                     batch_size=1)
    return
  if not tf.io.gfile.exists(os.path.join(cache_dir, logit_cache.METADATA)):
    _build_logit_cache(classifier, spec, resolution, cache_dir, chief)
  logit_cache.check(
      logit_cache.read_info(cache_dir), classifier_name=classifier.name,
      classifier_fingerprint=logit_cache.fingerprint(classifier, resolution),
      dataset=logit_cache.DatasetId(spec.name, "train", resolution),
      directory=cache_dir)


def _training_input(strategy, spec: pipeline.DatasetSpec, *, batch_size,
                    batches_per_step, resolution, seed, cache_dir,
                    classifier_name):
  """A distributed dataset of {"images", ["logits"]}: each replica gets
  `batches_per_step` times its share of the global batch per step."""
  per_step = batch_size * batches_per_step

  def dataset_fn(context):
    if cache_dir:  # Checked by _check_training_data.
      data = logit_cache.read(
          cache_dir, classifier_name=classifier_name,
          classifier_fingerprint=None,
          dataset=logit_cache.DatasetId(spec.name, "train", resolution),
          batch_size=per_step, seed=seed, input_context=context)
      return data.map(lambda images, logits, labels:
                      {"images": images, "logits": logits})
    data = pipeline.dataset(spec, split="train", resolution=resolution,
                            batch_size=per_step, seed=seed,
                            input_context=context)
    return data.map(lambda images, labels: {"images": images})

  return strategy.distribute_datasets_from_function(dataset_fn)


def _is_chief(strategy) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  return (resolver.task_type == "chief"
          or (resolver.task_type == "worker" and resolver.task_id == 0
              and "chief" not in resolver.cluster_spec().as_dict()))


def _checkpoint_dir(model_dir: str, strategy) -> str:
  """The chief writes into model_dir; other workers (which must save too,
  in multi-worker training) into a scratch folder."""
  if _is_chief(strategy):
    return model_dir
  task = strategy.cluster_resolver.task_id
  return os.path.join(model_dir, f".worker{task}_scratch")


def _pipeline_entry(iterator, strategy, wanted: bool) -> dict:
  """{"input_pipeline": iterator} for the checkpoint when it can hold it.

  A tf.distribute strategy's iterator (DistributedIterator) is not
  trackable in TF 2.21, and a checkpoint refuses it; a TPU's
  MultiDeviceIterator has no state to save either. Such runs resume with
  the data order restarted."""
  if not wanted:
    return {}
  if isinstance(iterator, tf.__internal__.tracking.Trackable):
    return {"input_pipeline": iterator}
  logging.warning(
      "train.checkpoint_input_pipeline: %s's input iterator cannot be "
      "checkpointed; a resumed run restarts the data order.",
      type(strategy).__name__)
  return {}


def _cleanup_scratch(model_dir, strategy) -> None:
  scratch = _checkpoint_dir(model_dir, strategy)
  # A run resumed at its last step saves nothing, so may have no scratch.
  if not _is_chief(strategy) and tf.io.gfile.exists(scratch):
    tf.io.gfile.rmtree(scratch)
