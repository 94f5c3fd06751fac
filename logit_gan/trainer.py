"""`bin/train`'s engine: data and classifier in, checkpoints and summaries out.

`train(model_dir)` (gin `train.*`) runs the logit-inversion GAN under a
tf.distribute strategy:

  1. the frozen classifier Φ (gin `classifier.*`) and the input pipeline
     (gin `dataset.*`, or a logit cache) are made first, so a missing
     dataset, weights file or cache fails before anything is built;
  2. `gan.LogitGAN` is built in the strategy's scope and restored from the
     latest checkpoint in `model_dir` when there is one (then trained at
     the learning rates configured now);
  3. `iterations_per_loop` steps run inside one tf.function call; after
     each call the losses and weights are checked (a NaN stops the run and
     keeps the last good checkpoint), summarised and shown;
  4. every `save_checkpoints_steps` a checkpoint is written; every
     `eval_every_steps` the EMA generator (standing statistics refilled)
     reconstructs a fixed set of test images and the classifier's class
     agreement with the originals is logged with an image grid.

`model_dir` receives checkpoints (G, D, EMA G, both optimizers, the step
and the gin config), `operative_config.gin`, TensorBoard event files,
`reconstructions.png` and `metrics.json` (the evaluation history); it may
be local or a gs:// bucket (files.py).
"""

from __future__ import annotations

import os
import time
from typing import Optional

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


def dataset_name() -> str:
  """The dataset `dataset.name` selects (the pipeline's default if unset)."""
  try:
    return gin.query_parameter("dataset.name")
  except ValueError:
    return "imagenet_64"


def data_dir() -> Optional[str]:
  """The TFDS directory `dataset.data_dir` names (None: TFDS's default)."""
  try:
    return gin.query_parameter("dataset.data_dir")
  except ValueError:
    return None


def discriminator_looks_dead(metrics: dict, tolerance: float = 1e-2) -> bool:
  """Whether D scores about 0 on real and fake images alike: the sign that
  every ReLU feature of Ψ died (too high a D learning rate), after which D
  gives G no signal and does not recover."""
  return (abs(metrics.get("d_real", 1.0)) < tolerance
          and abs(metrics.get("d_fake", 1.0)) < tolerance)


def _check_num_classes(classifier) -> None:
  try:
    bound = gin.query_parameter("Generator.num_classes")
  except ValueError:
    return
  if bound is not None and bound != classifier.num_classes:
    raise ValueError(
        f"Generator.num_classes = {bound}, but the classifier "
        f"{classifier.name!r} gives {classifier.num_classes} logits; the "
        "generator must be built for the classifier's logit width (drop the "
        "binding, or choose the classifier that matches).")


def _build_logit_cache(classifier, resolution: int, cache_dir: str,
                       chief: bool) -> None:
  """Caches the classifier's logits of the training split (once)."""
  if not chief:
    raise FileNotFoundError(
        f"No logit cache in {cache_dir}. In multi-worker training build it "
        "before starting the workers: bin/cache_logits --gin_file=... "
        f"--split=train --resolution={resolution} --output_dir={cache_dir}")
  logging.info("Caching %s's logits of the training split in %s (once; "
               "later runs read them).", classifier.name, cache_dir)
  logit_cache.cache_split(classifier, cache_dir, spec=pipeline.DatasetSpec(),
                          split="train", resolution=resolution)


def _check_training_data(classifier, resolution: int,
                         cache_dir: Optional[str], chief: bool = True) -> None:
  """Fails now, before anything is built, if the training data is missing
  or the cache was made by another classifier or dataset; builds a cache
  that does not exist yet."""
  if not cache_dir:
    pipeline.dataset(pipeline.DatasetSpec(), split="train",
                     resolution=resolution, batch_size=1)
    return
  if not tf.io.gfile.exists(os.path.join(cache_dir, logit_cache.METADATA)):
    _build_logit_cache(classifier, resolution, cache_dir, chief)
  logit_cache.check(
      logit_cache.read_info(cache_dir), classifier_name=classifier.name,
      classifier_fingerprint=logit_cache.fingerprint(classifier, resolution),
      dataset=logit_cache.DatasetId(dataset_name(), "train", resolution))


def _training_input(strategy, *, batch_size, batches_per_step, resolution,
                    seed, cache_dir, classifier_name):
  """A distributed dataset of {"images", ["logits"]}: each replica gets
  `batches_per_step` times its share of the global batch per step."""
  per_step = batch_size * batches_per_step

  def dataset_fn(context):
    if cache_dir:  # Checked by _check_training_data.
      data = logit_cache.read(
          cache_dir, classifier_name=classifier_name,
          classifier_fingerprint=None,
          dataset=logit_cache.DatasetId(dataset_name(), "train",
                                        resolution),
          batch_size=per_step, seed=seed, input_context=context)
      return data.map(lambda images, logits, labels:
                      {"images": images, "logits": logits})
    data = pipeline.dataset(pipeline.DatasetSpec(), split="train",
                            resolution=resolution, batch_size=per_step,
                            seed=seed, input_context=context)
    return data.map(lambda images, labels: {"images": images})

  return strategy.distribute_datasets_from_function(dataset_fn)


def _evaluation_set(classifier, resolution: int, examples: int):
  """The first `examples` test images, and the classifier's logits."""
  data = pipeline.dataset(pipeline.DatasetSpec(), split="test",
                          resolution=resolution,
                          batch_size=examples, shuffle=False, repeat=False,
                          drop_remainder=False)
  images, _ = next(iter(data))
  return images, evaluation.logits_in_batches(classifier, images)


def standing_statistics_logits(classifier, *, resolution: int,
                               batch_size: int, batches: int, seed: int
                               ) -> list[tf.Tensor]:
  """The classifier's logits of `batches` shuffled training batches: the
  batches the EMA generator's standing statistics are filled from, the same
  at every evaluation and at export, so an exported generator equals the
  last evaluated one."""
  data = pipeline.dataset(pipeline.DatasetSpec(), split="train",
                          resolution=resolution, batch_size=batch_size,
                          seed=seed + 1)
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
  strategy = strategy or tf.distribute.get_strategy()
  model_dir = str(model_dir)  # Local or gs://: see files.py.
  replicas = strategy.num_replicas_in_sync
  if batch_size % replicas:
    raise ValueError(f"train.batch_size = {batch_size} does not split over "
                     f"{replicas} replicas; use a multiple of {replicas}.")
  keras.utils.set_random_seed(seed)

  with strategy.scope():
    classifier = zoo.build_classifier()
  _check_num_classes(classifier)
  resolution = Generator().resolution  # Cheap: builds no weights.
  _check_training_data(classifier, resolution, logit_cache_dir,
                       chief=_is_chief(strategy))
  tf.io.gfile.makedirs(model_dir)  # Not before the inputs are known good.
  eval_images, eval_logits = _evaluation_set(classifier, resolution,
                                             eval_examples)
  with strategy.scope():
    model = gan_lib.LogitGAN(classifier.num_classes,
                             None if logit_cache_dir else classifier,
                             generator=Generator(),
                             discriminator=Discriminator(), seed=seed)
  iterator = iter(_training_input(
      strategy, batch_size=batch_size,
      batches_per_step=model.batches_per_step,
      resolution=resolution, seed=seed, cache_dir=logit_cache_dir,
      classifier_name=classifier.name))
  config_text = gin.config_str()
  checkpoint = model.checkpoint(
      gin_config=tf.Variable(config_text, trainable=False),
      **_pipeline_entry(iterator, strategy, checkpoint_input_pipeline))
  manager = tf.train.CheckpointManager(
      checkpoint, _checkpoint_dir(model_dir, strategy),
      max_to_keep=keep_checkpoint_max, step_counter=model.step,
      checkpoint_interval=None)
  resumed_from = run_dir.restore_or_init(checkpoint, model_dir,
                                         manager=manager)
  start = int(model.step.numpy())
  if resumed_from and start:
    logging.info("Resuming from %s at step %d.", resumed_from, start)
  changed = model.use_configured_learning_rates()
  for binding, (restored, rate) in changed.items():
    logging.info("%s = %g; the checkpoint had trained at %g. Continuing at "
                 "%g.", binding, rate, restored, rate)
  chief = _is_chief(strategy)
  if chief:
    run_dir.write_config(model_dir, config_text)
  writer = (tf.summary.create_file_writer(str(model_dir)) if chief
            else tf.summary.create_noop_writer())

  @tf.function
  def run_steps(steps):
    metrics = {name: tf.constant(0.0) for name in gan_lib.METRICS}
    for _ in tf.range(steps):
      metrics = model.train_step(next(iterator), strategy)
    return metrics, model.weights_are_finite()

  standing_logits = []  # Computed at the first evaluation, then reused.

  def evaluate(step):
    if not standing_logits:
      standing_logits.extend(standing_statistics_logits(
          classifier, resolution=resolution,
          batch_size=evaluation_batch_size(batch_size),
          batches=standing_statistics_batches, seed=seed))
    return _evaluate(model, classifier, eval_images, eval_logits, step,
                     model_dir, writer, standing_logits=standing_logits,
                     grid_examples=grid_examples, grid_samples=grid_samples,
                     write_files=chief)

  # Evaluations after the restored checkpoint are about to be redone.
  history = [entry for entry in run_dir.read_metrics(model_dir) or []
             if entry["step"] <= start]
  bar = progress_lib.Progress(training_steps, start)
  step = start
  began = time.time()
  metrics = {}
  dead_loops = 0
  while step < training_steps:
    boundaries = [training_steps, _next_multiple(step, iterations_per_loop),
                  _next_multiple(step, save_checkpoints_steps),
                  _next_multiple(step, eval_every_steps),
                  _next_multiple(step, summary_every_steps)]
    steps = min(boundaries) - step
    loop_start = time.time()
    result, weights_finite = run_steps(tf.constant(steps))
    metrics = {name: float(value) for name, value in result.items()}
    seconds = time.time() - loop_start
    bad = [name for name, value in metrics.items() if not np.isfinite(value)]
    if not bool(weights_finite):  # A last update can break finite losses.
      bad.append("the network weights")
    if bad:
      raise FloatingPointError(
          f"Training diverged: {', '.join(bad)} became non-finite in steps "
          f"{step + 1}-{step + steps}. Nothing after step "
          f"{_latest_step(manager)} was saved; the last good checkpoint is "
          f"{manager.latest_checkpoint}. Lower GAN.g_lr / GAN.d_lr or check "
          "the input data, then rerun to resume from it.")
    step += steps
    dead_loops = dead_loops + 1 if discriminator_looks_dead(metrics) else 0
    if dead_loops == 3:
      logging.warning(
          "Step %d: D has scored about 0 on real and fake images for 3 "
          "loops (d_real %.2g, d_fake %.2g): its features have probably "
          "died and it no longer trains G. Lower GAN.d_lr, or restart from "
          "an earlier checkpoint with train.training_steps.", step,
          metrics["d_real"], metrics["d_fake"])
    with writer.as_default(step=step):
      for name, value in metrics.items():
        tf.summary.scalar(f"losses/{name}", value)
      tf.summary.scalar("optimizer/g_lr", model.g_lr)
      tf.summary.scalar("optimizer/d_lr", model.d_lr)
      tf.summary.scalar("speed/steps_per_sec", steps / seconds)
      tf.summary.scalar("speed/images_per_sec",  # Real images D judged.
                        steps * batch_size * model.disc_iters / seconds)
    shown = {k: metrics[k] for k in ("d_loss", "g_loss", "d_real", "d_fake")}
    if step % save_checkpoints_steps == 0 or step == training_steps:
      manager.save(checkpoint_number=step)
    if step % eval_every_steps == 0 or step == training_steps:
      result = evaluate(step)
      result["minutes"] = round((time.time() - began) / 60, 2)
      history.append(result)
      shown["agreement"] = result["class_agreement"]
      logging.info("Step %d: class agreement %.4f (%d test images).", step,
                   result["class_agreement"], eval_examples)
      if chief:
        run_dir.write_metrics(model_dir, history)
    bar.update(step, shown, force=step % eval_every_steps == 0)
  writer.flush()
  final = history[-1] if history else {}
  bar.finish(f"Trained steps {start}-{step} of {training_steps} in "
             f"{progress_lib.format_duration(time.time() - began)}; "
             f"D updates {int(model.d_updates.numpy())}; class agreement "
             f"{final.get('class_agreement', float('nan')):.4f} "
             f"({eval_examples} test images); checkpoints and summaries in "
             f"{model_dir}; originals beside reconstructions in "
             f"{run_dir.path(model_dir, run_dir.RECONSTRUCTIONS_FILE)}.")
  _cleanup_scratch(model_dir, strategy)
  return {**metrics, **final, "step": step}


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


def _evaluate(model, classifier, images, logits, step, model_dir, writer, *,
              standing_logits, grid_examples, grid_samples,
              write_files) -> dict:
  """Class agreement of EMA reconstructions; an image grid."""
  model.fill_standing_statistics(standing_logits)
  reconstructions = tf.concat(
      [model.reconstruct(logits[i:i + 250], seed=i)
       for i in range(0, len(logits), 250)], 0)
  agreement = evaluation.class_agreement(
      logits, evaluation.logits_in_batches(classifier, reconstructions))
  shown = images[:grid_examples]
  samples = [model.reconstruct(logits[:grid_examples], seed=10_000 + s)
             for s in range(grid_samples)]
  grid = evaluation.reconstruction_grid(shown, samples)
  with writer.as_default(step=step):
    tf.summary.scalar("eval/class_agreement", agreement)
    tf.summary.image("eval/originals_and_reconstructions", grid[None])
  if write_files:
    evaluation.write_png(
        grid, run_dir.path(model_dir, run_dir.RECONSTRUCTIONS_FILE))
  return {"step": step, "class_agreement": agreement}
