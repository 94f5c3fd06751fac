"""`bin/train`'s engine: data and classifier in, checkpoints and summaries out.

`train(model_dir)` (gin `train.*`) is the one place gin is read: it makes
the frozen classifier Φ (gin `classifier.*`), the dataset spec (gin
`dataset.*`) and the networks (gin `Generator.*`, `Discriminator.*`) and
passes them down. The run then goes as orbit's controller does:

  1. `build_run`: the inputs are checked first (a missing dataset, weights
     file or cache fails before anything is built), then `gan.LogitGAN` is
     built in the strategy's scope with its input iterator, checkpoint and
     checkpoint manager;
  2. `start`: `run_dir.restore_or_init` restores the latest checkpoint in
     `model_dir` or saves the initial one; a resumed run trains at the
     learning rates configured now; the config and the run's record
     (run_dir.RECORD_FILE) are written;
  3. `Controller.run`: a short loop of named steps: train up to the next
     boundary (`iterations_per_loop` steps in one tf.function call), check
     the losses and weights are finite (a NaN stops the run and keeps the
     last good checkpoint), write summaries, maybe checkpoint
     (`save_checkpoints_steps`), maybe evaluate (`eval_every_steps`: the EMA
     generator, standing statistics refilled, reconstructs a fixed set of
     test images; the classifier's class agreement with the originals is
     logged with an image grid).

`model_dir` (local or gs://, files.py) receives what run_dir.py lists:
checkpoints (G, D, EMA G, both optimizers, the step and the gin config),
the operative config, run.json, TensorBoard event files, the
reconstruction grid and the evaluation history.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Optional

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from logit_gan import evaluation
from logit_gan import gan as gan_lib
from logit_gan import progress as progress_lib
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


def discriminator_looks_dead(metrics: dict, tolerance: float = 1e-2) -> bool:
  """Whether D scores about 0 on real and fake images alike: the sign that
  every ReLU feature of Ψ died (too high a D learning rate), after which D
  gives G no signal and does not recover."""
  return (abs(metrics.get("d_real", 1.0)) < tolerance
          and abs(metrics.get("d_fake", 1.0)) < tolerance)


@dataclasses.dataclass(frozen=True)
class Settings:
  """`train`'s arguments besides model_dir and strategy (see `train`)."""
  batch_size: int
  training_steps: int
  iterations_per_loop: int
  save_checkpoints_steps: int
  keep_checkpoint_max: int
  seed: int
  logit_cache_dir: Optional[str]
  eval_every_steps: int
  eval_examples: int
  grid_examples: int
  grid_samples: int
  standing_statistics_batches: int
  summary_every_steps: int
  checkpoint_input_pipeline: bool


@gin.configurable("train", denylist=["model_dir", "strategy"])
def train(model_dir: str, strategy: Optional[tf.distribute.Strategy] = None,
          *, batch_size: int = 2048, training_steps: int = 250_000,
          iterations_per_loop: int = 500, save_checkpoints_steps: int = 2500,
          keep_checkpoint_max: int = 5, seed: int = 8,
          logit_cache_dir: Optional[str] = None,
          eval_every_steps: int = 2500, eval_examples: int = 500,
          grid_examples: int = 8, grid_samples: int = 3,
          standing_statistics_batches: int = 8,
          summary_every_steps: int = 100,
          checkpoint_input_pipeline: bool = True) -> dict:
  """Trains the logit-inversion GAN; returns the final metrics.

  Args (gin `train.*`; compare_gan's names in brackets):
    model_dir: checkpoints, summaries and results (created; resumed from).
    strategy: a tf.distribute strategy (default: the current one).
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
  """
  settings = Settings(**{name: value for name, value in locals().items()
                         if name not in ("model_dir", "strategy")})
  strategy = strategy or tf.distribute.get_strategy()
  _check_batch_size(settings.batch_size, strategy)
  keras.utils.set_random_seed(settings.seed)
  with strategy.scope():  # First: a missing weights file fails early.
    classifier = zoo.build_classifier()
  run = build_run(
      str(model_dir), strategy, settings, classifier=classifier,
      classifier_arguments=gin.get_bindings("classifier"),
      spec=pipeline.DatasetSpec(), generator=Generator(),
      discriminator=Discriminator(), config_text=gin.config_str())
  return Controller(run, start(run)).run()


def _check_batch_size(batch_size: int, strategy) -> None:
  replicas = strategy.num_replicas_in_sync
  if batch_size % replicas:
    raise ValueError(f"train.batch_size = {batch_size} does not split over "
                     f"{replicas} replicas; use a multiple of {replicas}.")


def _check_num_classes(generator, classifier) -> None:
  bound = generator.num_classes
  if bound is not None and bound != classifier.num_classes:
    raise ValueError(
        f"Generator.num_classes = {bound}, but the classifier "
        f"{classifier.name!r} gives {classifier.num_classes} logits; the "
        "generator must be built for the classifier's logit width (drop the "
        "binding, or choose the classifier that matches).")


@dataclasses.dataclass
class Run:
  """A built run: what `start` and the `Controller`'s steps share."""
  model_dir: str
  strategy: tf.distribute.Strategy
  settings: Settings
  spec: pipeline.DatasetSpec
  classifier: zoo.Classifier
  model: gan_lib.LogitGAN
  iterator: Any
  checkpoint: tf.train.Checkpoint
  manager: tf.train.CheckpointManager
  chief: bool
  config_text: str
  record: run_dir.RunRecord


def build_run(model_dir: str, strategy: tf.distribute.Strategy,
              settings: Settings, *, classifier, classifier_arguments: dict,
              spec: pipeline.DatasetSpec, generator: Generator,
              discriminator: Discriminator, config_text: str) -> Run:
  """Checks the inputs, then builds the GAN, its input iterator, its
  checkpoint and checkpoint manager (nothing is restored yet)."""
  chief = _is_chief(strategy)
  _check_num_classes(generator, classifier)
  resolution = generator.resolution
  _check_training_data(classifier, spec, resolution,
                       settings.logit_cache_dir, chief=chief)
  tf.io.gfile.makedirs(model_dir)  # Not before the inputs are known good.
  with strategy.scope():
    model = gan_lib.LogitGAN(
        classifier.num_classes,
        None if settings.logit_cache_dir else classifier,
        generator=generator, discriminator=discriminator, seed=settings.seed)
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
      discriminator=model.discriminator.get_config(), gan=model.settings())
  return Run(model_dir, strategy, settings, spec, classifier, model,
             iterator, checkpoint, manager, chief, config_text, record)


def start(run: Run) -> int:
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
      dataset=logit_cache.DatasetId(spec.name, "train", resolution))


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


def standing_statistics_logits(classifier, spec: pipeline.DatasetSpec, *,
                               resolution: int, batch_size: int,
                               batches: int, seed: int) -> list[tf.Tensor]:
  """The classifier's logits of `batches` shuffled training batches: the
  batches the EMA generator's standing statistics are filled from, the same
  at every evaluation and at export, so an exported generator equals the
  last evaluated one."""
  data = pipeline.dataset(spec, split="train", resolution=resolution,
                          batch_size=batch_size, seed=seed + 1)
  return [tf.constant(np.asarray(classifier(images)), tf.float32)
          for images, _ in data.take(batches)]


def evaluation_batch_size(batch_size: int) -> int:
  """The batch of standing statistics and evaluation: the training batch,
  at most 256."""
  return min(batch_size, 256)


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


class Controller:
  """The training loop of a started run, one named step per concern (as
  orbit's controller): train to the next boundary, check finite, write
  summaries, maybe checkpoint, maybe evaluate."""

  def __init__(self, run: Run, start_step: int):
    self._run = run
    self.settings = run.settings
    self.start_step = self.step = start_step
    self.evaluator = Evaluator(run)
    # Evaluations after the restored checkpoint are about to be redone.
    self.history = [entry for entry in run_dir.read_metrics(run.model_dir)
                    or [] if entry["step"] <= start_step]
    self.metrics = {}
    self.dead_loops = 0
    self._train_function = _train_function(run)

  def run(self) -> dict:
    """Trains to `training_steps`; returns the final metrics and step."""
    total = self.settings.training_steps
    bar = progress_lib.Progress(total, self.start_step)
    began = time.time()
    while self.step < total:
      steps = self._steps_to_next_boundary()
      seconds = self._train(steps)
      self._watch_discriminator()
      self._write_summaries(steps, seconds)
      shown = {k: self.metrics[k]
               for k in ("d_loss", "g_loss", "d_real", "d_fake")}
      self._maybe_checkpoint()
      result = self._maybe_evaluate(began)
      if result:
        shown["agreement"] = result["class_agreement"]
      bar.update(self.step, shown,
                 force=self.step % self.settings.eval_every_steps == 0)
    return self._finish(bar, began)

  def _steps_to_next_boundary(self) -> int:
    s = self.settings
    boundaries = [s.training_steps,
                  _next_multiple(self.step, s.iterations_per_loop),
                  _next_multiple(self.step, s.save_checkpoints_steps),
                  _next_multiple(self.step, s.eval_every_steps),
                  _next_multiple(self.step, s.summary_every_steps)]
    return min(boundaries) - self.step

  def _train(self, steps: int) -> float:
    """Runs `steps` steps in one call, checks the result is finite and
    advances; returns the seconds they took."""
    began = time.time()
    result, weights_finite = self._train_function(tf.constant(steps))
    self.metrics = {name: float(value) for name, value in result.items()}
    seconds = time.time() - began
    self._check_finite(bool(weights_finite), steps)
    self.step += steps
    return seconds

  def _check_finite(self, weights_finite: bool, steps: int) -> None:
    bad = [name for name, value in self.metrics.items()
           if not np.isfinite(value)]
    if not weights_finite:  # A last update can break finite losses.
      bad.append("the network weights")
    if bad:
      manager = self._run.manager
      raise FloatingPointError(
          f"Training diverged: {', '.join(bad)} became non-finite in steps "
          f"{self.step + 1}-{self.step + steps}. Nothing after step "
          f"{_latest_step(manager)} was saved; the last good checkpoint is "
          f"{manager.latest_checkpoint}. Lower GAN.g_lr / GAN.d_lr or check "
          "the input data, then rerun to resume from it.")

  def _watch_discriminator(self) -> None:
    dead = discriminator_looks_dead(self.metrics)
    self.dead_loops = self.dead_loops + 1 if dead else 0
    if self.dead_loops == 3:
      logging.warning(
          "Step %d: D has scored about 0 on real and fake images for 3 "
          "loops (d_real %.2g, d_fake %.2g): its features have probably "
          "died and it no longer trains G. Lower GAN.d_lr, or restart from "
          "an earlier checkpoint with train.training_steps.", self.step,
          self.metrics["d_real"], self.metrics["d_fake"])

  def _write_summaries(self, steps: int, seconds: float) -> None:
    model = self._run.model
    with self.evaluator.writer.as_default(step=self.step):
      for name, value in self.metrics.items():
        tf.summary.scalar(f"losses/{name}", value)
      tf.summary.scalar("optimizer/g_lr", model.g_lr)
      tf.summary.scalar("optimizer/d_lr", model.d_lr)
      tf.summary.scalar("speed/steps_per_sec", steps / seconds)
      tf.summary.scalar("speed/images_per_sec",  # Real images D judged.
                        steps * self.settings.batch_size * model.disc_iters
                        / seconds)

  def _at(self, every: int) -> bool:
    return (self.step % every == 0
            or self.step == self.settings.training_steps)

  def _maybe_checkpoint(self) -> None:
    if self._at(self.settings.save_checkpoints_steps):
      self._run.manager.save(checkpoint_number=self.step)

  def _maybe_evaluate(self, began: float) -> Optional[dict]:
    if not self._at(self.settings.eval_every_steps):
      return None
    result = self.evaluator.evaluate(self.step)
    result["minutes"] = round((time.time() - began) / 60, 2)
    self.history.append(result)
    logging.info("Step %d: class agreement %.4f (%d test images).",
                 self.step, result["class_agreement"],
                 self.settings.eval_examples)
    if self._run.chief:
      run_dir.write_metrics(self._run.model_dir, self.history)
    return result

  def _finish(self, bar, began: float) -> dict:
    run = self._run
    self.evaluator.writer.flush()
    final = self.history[-1] if self.history else {}
    bar.finish(
        f"Trained steps {self.start_step}-{self.step} of "
        f"{self.settings.training_steps} in "
        f"{progress_lib.format_duration(time.time() - began)}; "
        f"D updates {int(run.model.d_updates.numpy())}; class agreement "
        f"{final.get('class_agreement', float('nan')):.4f} "
        f"({self.settings.eval_examples} test images); checkpoints and "
        f"summaries in {run.model_dir}; originals beside reconstructions in "
        f"{run_dir.path(run.model_dir, run_dir.RECONSTRUCTIONS_FILE)}.")
    _cleanup_scratch(run.model_dir, run.strategy)
    return {**self.metrics, **final, "step": self.step}


def _train_function(run: Run):
  """`steps` (a scalar tensor) training steps in one tf.function call; it
  returns the last step's metrics and whether every weight is finite."""
  model, iterator, strategy = run.model, run.iterator, run.strategy

  @tf.function
  def run_steps(steps):
    metrics = {name: tf.constant(0.0) for name in gan_lib.METRICS}
    for _ in tf.range(steps):
      metrics = model.train_step(next(iterator), strategy)
    return metrics, model.weights_are_finite()

  return run_steps


class Evaluator:
  """Class agreement of EMA reconstructions of fixed test images, and an
  image grid of originals beside reconstructions."""

  def __init__(self, run: Run):
    self._run = run
    settings = run.settings
    self.writer = (tf.summary.create_file_writer(run.model_dir) if run.chief
                   else tf.summary.create_noop_writer())
    data = pipeline.dataset(run.spec, split="test",
                            resolution=run.model.resolution,
                            batch_size=settings.eval_examples, shuffle=False,
                            repeat=False, drop_remainder=False)
    self.images, _ = next(iter(data))
    self.logits = evaluation.logits_in_batches(run.classifier, self.images)
    self._standing_logits = None  # Made at the first evaluation.

  def standing_logits(self) -> list[tf.Tensor]:
    if self._standing_logits is None:
      run, settings = self._run, self._run.settings
      self._standing_logits = standing_statistics_logits(
          run.classifier, run.spec, resolution=run.model.resolution,
          batch_size=evaluation_batch_size(settings.batch_size),
          batches=settings.standing_statistics_batches, seed=settings.seed)
    return self._standing_logits

  def evaluate(self, step: int) -> dict:
    """Refills the standing statistics, then measures and draws."""
    run, settings = self._run, self._run.settings
    model, logits = run.model, self.logits
    model.fill_standing_statistics(self.standing_logits())
    reconstructions = tf.concat(
        [model.reconstruct(logits[i:i + 250], seed=i)
         for i in range(0, len(logits), 250)], 0)
    agreement = evaluation.class_agreement(
        logits, evaluation.logits_in_batches(run.classifier,
                                             reconstructions))
    shown = self.images[:settings.grid_examples]
    samples = [model.reconstruct(logits[:settings.grid_examples],
                                 seed=10_000 + s)
               for s in range(settings.grid_samples)]
    grid = evaluation.reconstruction_grid(shown, samples)
    with self.writer.as_default(step=step):
      tf.summary.scalar("eval/class_agreement", agreement)
      tf.summary.image("eval/originals_and_reconstructions", grid[None])
    if run.chief:
      evaluation.write_png(
          grid, run_dir.path(run.model_dir, run_dir.RECONSTRUCTIONS_FILE))
    return {"step": step, "class_agreement": agreement}


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


def _next_multiple(step: int, every: int) -> int:
  return (step // every + 1) * every if every > 0 else 2**62


def _latest_step(manager) -> int:
  latest = manager.latest_checkpoint
  return int(latest.rsplit("-", 1)[-1]) if latest else 0


def _cleanup_scratch(model_dir, strategy) -> None:
  scratch = _checkpoint_dir(model_dir, strategy)
  # A run resumed at its last step saves nothing, so may have no scratch.
  if not _is_chief(strategy) and tf.io.gfile.exists(scratch):
    tf.io.gfile.rmtree(scratch)
