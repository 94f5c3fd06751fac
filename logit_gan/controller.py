"""The training loop of a built run (orbit's controller and evaluator):
what `trainer.train` runs once the run is built and started.

`Controller.run` is a short loop of named steps: train up to the next
boundary (iterations_per_loop, a checkpoint, an evaluation or a summary)
in one tf.function call, check the losses and weights are finite
(non_finite.py: stop, or skip non-finite batches), save and stop on
SIGTERM (interruptions.py), write summaries, maybe checkpoint, maybe
evaluate. The compiled loop ends early, after the step that was running,
on SIGTERM or at a step the non-finite guard stops at. The `Evaluator`
measures the class agreement of EMA reconstructions of fixed test images
(standing statistics refilled from the same training batches every time,
as `trained.load` refills them) and draws the image grid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from logit_gan import evaluation
from logit_gan import gan as gan_lib
from logit_gan import interruptions
from logit_gan import non_finite
from logit_gan import progress as progress_lib
from logit_gan import run_dir
from logit_gan.classifiers import zoo
from logit_gan.data import pipeline


@dataclasses.dataclass(frozen=True)
class Settings:
  """`trainer.train`'s arguments besides model_dir and strategy."""
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
  skip_non_finite_batches: bool = False
  max_skipped_in_a_row: int = 10


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


# How many loops in a row D must look dead before the run stops.
DEAD_LOOPS = 5


class DeadDiscriminatorError(RuntimeError):
  """D outputs one constant on every image and no longer trains G."""


def discriminator_looks_dead(history: list[dict], loss_fn, *,
                             loops: int = DEAD_LOOPS, min_steps: int = 400,
                             tolerance: float = 1e-2) -> bool:
  """Whether D has scored real and fake images alike, at its loss's fixed
  point, for the last `loops` loops spanning at least `min_steps` steps.

  A D whose ReLU features all died outputs only its bias c, on every image:
  d_real = d_fake = c, and the hinge loss sits at relu(1 - c) + relu(1 + c)
  = 2 whatever c in [-1, 1]: the gradients on the bias cancel and none
  reach the dead features, so D does not recover and G gets no signal. Seen with too high a D learning rate for the logits'
  scale (shapes_mini/standard.gin at GAN.d_lr = 2e-3: c = -0.1677 from step
  1,400, its d_loss 2.000 and |d_real - d_fake| < 0.01 from step 500). A
  healthy D can pass through such a point but does not stay there (the
  robust shapes_mini run: |d_real - d_fake| >= 0.018 at all 70 loops).

  Args:
    history: the metrics of consecutive loops, oldest first, each a dict
      with "step", "d_real" and "d_fake" (D's mean outputs on the last real
      and fake batch) and "d_loss".
    loss_fn: the GAN's loss (losses.hinge, ...): (d_real [B], d_fake [B])
      -> Losses; the fixed point is its d_loss for the constant d_real.
    loops, min_steps: how long D must have looked dead.
    tolerance: on |d_real - d_fake| and on d_loss's distance to the fixed
      point.
  """
  recent = list(history)[-loops:]
  if (len(recent) < loops
      or recent[-1]["step"] - recent[0]["step"] < min_steps):
    return False
  for metrics in recent:
    constant = tf.constant([metrics["d_real"]], tf.float32)
    fixed_point = float(loss_fn(constant, constant).d_loss)
    if (abs(metrics["d_real"] - metrics["d_fake"]) >= tolerance
        or abs(metrics["d_loss"] - fixed_point) >= tolerance):
      return False
  return True


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


class Controller:
  """The training loop of a started run, one named step per concern (as
  orbit's controller): train to the next boundary, check finite, stop on
  SIGTERM, write summaries, maybe checkpoint, maybe evaluate."""

  def __init__(self, run: Run, start_step: int):
    self._run = run
    self.settings = run.settings
    self.start_step = self.step = start_step
    self.evaluator = Evaluator(run)
    # Evaluations after the restored checkpoint are about to be redone.
    self.history = [entry for entry in run_dir.read_metrics(run.model_dir)
                    or [] if entry["step"] <= start_step]
    self.metrics = {}
    self.discriminator_history = []  # The last DEAD_LOOPS loops' metrics.
    self.guard = non_finite.Guard(
        skip=self.settings.skip_non_finite_batches,
        max_in_a_row=self.settings.max_skipped_in_a_row)
    self.preemption = interruptions.preemption_watch(run.strategy)
    self._train_function = _train_function(run, self.guard,
                                           self.preemption.requested)

  def run(self) -> dict:
    """Trains to `training_steps`; returns the final metrics and step. On
    SIGTERM it saves the current step and raises
    interruptions.Preempted."""
    total = self.settings.training_steps
    bar = progress_lib.Progress(total, self.start_step)
    began = time.time()
    with self.preemption, _flushing(self.evaluator.writer):
      while self.step < total:
        steps, seconds = self._train(self._steps_to_next_boundary())
        self.preemption.check(self.step, self._save)
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

  def _train(self, steps: int) -> tuple[int, float]:
    """Runs up to `steps` steps in one call (fewer when the loop stops
    early), checks the result (`non_finite.Guard.check`) and advances;
    returns the steps run and the seconds they took."""
    began = time.time()
    result, done, weights_finite = self._train_function(tf.constant(steps))
    self.metrics = {name: float(value) for name, value in result.items()}
    done, seconds = int(done), time.time() - began
    self.guard.check(self.metrics, bool(weights_finite),
                     first=self.step + 1, last=self.step + done,
                     checkpoint=self._run.manager.latest_checkpoint)
    self.step += done
    return done, seconds

  def _save(self, step: int) -> str:
    """Saves the checkpoint of `step` (run_dir.save_checkpoint) unless it
    is the latest already; returns its path."""
    manager = self._run.manager
    if manager.latest_checkpoint and _latest_step(manager) == step:
      return manager.latest_checkpoint
    return run_dir.save_checkpoint(manager, step)

  def _watch_discriminator(self) -> None:
    """Stops the run once D looks dead (`discriminator_looks_dead`): its
    later steps would train nothing."""
    history = [*self.discriminator_history,
               {"step": self.step, **self.metrics}][-DEAD_LOOPS:]
    self.discriminator_history = history
    model = self._run.model
    if discriminator_looks_dead(history, model.loss_fn):
      raise DeadDiscriminatorError(
          f"Step {self.step}: D has scored real and fake images alike since "
          f"step {history[0]['step']} (d_real {history[-1]['d_real']:.4f}, "
          f"d_fake {history[-1]['d_fake']:.4f}, d_loss "
          f"{history[-1]['d_loss']:.4f}: the loss's fixed point, where D "
          "gets no gradient): its ReLU features died and it no longer "
          "trains G, so the run stops here. The usual cause is too high a D "
          f"learning rate for the scale of the classifier's logits "
          f"(GAN.d_lr = {model.d_lr:g}). Start again in a new --model_dir "
          "(the checkpoints since then hold the dead D) with a lower "
          f"GAN.d_lr, e.g. --gin_bindings=\"GAN.d_lr = {model.d_lr / 2:g}\".")

  def _write_summaries(self, steps: int, seconds: float) -> None:
    model = self._run.model
    with self.evaluator.writer.as_default(step=self.step):
      for name, value in self.metrics.items():
        if name != non_finite.SKIPPED:
          tf.summary.scalar(f"losses/{name}", value)
      if self.guard.skip:
        tf.summary.scalar("non_finite/skipped_batches", self.guard.skipped)
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
      self._save(self.step)

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
    return {**self.metrics, **final, "step": self.step}


def _train_function(run: Run, guard: non_finite.Guard, stop: tf.Variable):
  """Up to `steps` (a scalar tensor) training steps in one tf.function
  call: before each step it ends when `stop` is set (SIGTERM), after each
  when `guard` says so (non-finite values). It returns the last step's
  metrics, the steps run and whether every weight is finite."""
  model, iterator, strategy = run.model, run.iterator, run.strategy

  @tf.function
  def run_steps(steps):
    metrics = {name: tf.constant(0.0) for name in model.metric_names}
    done = tf.constant(0)
    for _ in tf.range(steps):
      if stop.read_value():
        break
      metrics = model.train_step(next(iterator), strategy)
      done += 1
      if guard.stops_after(metrics):
        break
    return metrics, done, model.weights_are_finite()

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


@contextlib.contextmanager
def _flushing(writer):
  """Flushes the summary `writer` when the block ends, by an error (a
  divergence, a preemption) too."""
  try:
    yield
  finally:
    writer.flush()


def _next_multiple(step: int, every: int) -> int:
  return (step // every + 1) * every if every > 0 else 2**62


def _latest_step(manager) -> int:
  latest = manager.latest_checkpoint
  return int(latest.rsplit("-", 1)[-1]) if latest else 0
