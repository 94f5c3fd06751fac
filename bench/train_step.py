"""Benchmark of one LogitGAN training iteration on this machine (CPU).

What it measures: `logit_gan.gan.LogitGAN.train_step` inside one
`tf.function`, on a fixed random batch — one iteration is `disc_iters` (2)
discriminator updates plus one generator update plus the EMA update, i.e.
what the trainer runs per global step. Tracing (and XLA compilation) is
excluded: the first call and `--warmup` further calls are not timed; then
`--iterations` calls are timed one by one (wall clock, the call returns after
every op of the step has run). Reported: seconds per iteration (mean and
min) and images/s, counted as the real images D judges per iteration,
disc_iters x batch (the convention of BigGAN-PyTorch's iterations), plus the
process CPU time per iteration and the 1-minute load average before/after:
on a shared 2-core machine other processes inflate wall time, and CPU
s/iter ~ 2 x wall s/iter means the step had both cores to itself. Threading
is TensorFlow's default (nothing is pinned).

Shapes (`--shapes`):
  bench32  G ch 32 at 32x32, D ch 32, no self-attention, z_dim 120, n_c 10,
           batch 32 (inputs [3*32, 32, 32, 3] and [3*32, 10]: two D
           batches and G's own, GAN.fresh_generator_batch). Reference:
           BigGAN-PyTorch takes 1.84 s/iteration on the development
           machine (2 threads, AVX-512) and 4.53 s on an AMD EPYC Zen 3
           (AVX2); `--bench32_reference_s` sets the machine's figure
           (measure it with bench/biggan_pytorch_reference.py); target:
           25% faster, <= 0.8 x the reference.
  paper64  the paper's networks (Generator/Discriminator defaults: ch 96,
           64x64, attention at G's 64x64 block and after D's B1), n_c 1000,
           batch 4. Reference: BigGAN-PyTorch ~11.5 s/iteration, but its D
           is about half the size of compare_gan's, so compare FLOP/s.
Both bind `Generator.initializer` and `Discriminator.initializer` to
'normal' (orthogonal init of paper64 takes ~65 s; the initializer changes
weight values only, not the work of a step); `--orthogonal_init` keeps it.

Mixed precision (`--mixed_precision=mixed_bfloat16|mixed_float16`): the
model computes in that dtype (`GAN.mixed_precision`); FLOPs are counted the
same way.

XLA (`--xla=both|on|off`): `LogitGAN(jit_compile=True)` compiles each D and
G gradient computation with XLA (optimizer applies, noise and EMA stay in
the TF graph); each mode gets a freshly built model. A failure in one mode
is reported in the table instead of stopping the benchmark.

FLOPs: counted from the graph, not estimated by hand. The step (XLA off,
i.e. without nested XLA functions, so the whole computation is one graph
with static shapes) is traced with `get_concrete_function`, and every op the
runtime executes — those reachable from the function's outputs and control
outputs; gradients the tape builds but nothing uses are pruned by the
runtime and not counted — contributes TensorFlow's registered "flops"
statistic for its type: the statistics `tf.compat.v1.profiler` reports
with `ProfileOptionBuilder.float_operation()` (`ops.get_stats_for_node_def`).
A multiply-add counts 2 FLOPs; conv, conv-backprop (input and filter) and
matmuls dominate; some element-wise ops (ReLU, tanh, sqrt, ...) have no
registered statistic and count 0, so the total is a slight lower bound.
The same count is used for XLA on (same math; XLA fuses element-wise ops).
GFLOP/s = FLOPs per iteration / seconds per iteration.

Per-phase profile (`--phases`, on by default): each piece of the step,
called the way `_replica_step` calls it (same XLA setting), timed alone:
G forward (B), D forward (2B, real + fake as in the D step), one D gradient
computation, one G gradient computation, the D and G Adam applies and the
EMA update; "sum" weights them by their count per step (2 D gradients and
applies, 1 G), and "rest" is full step minus that sum (noise, slicing,
scheduling between the pieces).

Run: `make bench`, or `.venv/bin/python bench/train_step.py --shapes=bench32
--xla=off --output_json=/tmp/bench.json`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import platform
import statistics
import sys
import time
import traceback
from typing import Callable, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # Log noise only.

# Before tensorflow, as bin/ commands do: logit_gan's oneDNN default.
import logit_gan  # noqa: E402,F401
from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import gin  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
# Registers the "flops" statistics of tf.compat.v1.profiler's op types.
from tensorflow.python.framework import ops as tf_ops  # noqa: E402
from tensorflow.python.profiler.internal import flops_registry  # noqa: E402,F401

from logit_gan import config  # noqa: E402
from logit_gan import gan  # noqa: E402
from logit_gan.discriminator import Discriminator  # noqa: E402
from logit_gan.generator import Generator  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("shapes", ["bench32", "paper64"],
                  "Shapes to run: bench32, paper64.")
flags.DEFINE_integer("iterations", None,
                     "Timed iterations per shape and XLA mode; default 5 for "
                     "bench32, 2 for paper64.")
flags.DEFINE_integer("warmup", None, "Untimed iterations after the first "
                     "(tracing / compiling) call; default 1 for bench32, 0 "
                     "for paper64.")
flags.DEFINE_enum("xla", "both", ["both", "on", "off"],
                  "LogitGAN(jit_compile=...) settings to measure.")
flags.DEFINE_enum("mixed_precision", None, list(gan.MIXED_PRECISION_POLICIES),
                  "GAN.mixed_precision of the measured model (default: "
                  "float32).")
flags.DEFINE_boolean("phases", True, "Also time the pieces of the step.")
flags.DEFINE_integer("phase_repeats", None,
                     "Timed calls per phase; default 3 for bench32, 1 for "
                     "paper64 (after the first call and the warm-up).")
flags.DEFINE_boolean("orthogonal_init", False,
                     "Keep the orthogonal initializer (slow to build at "
                     "paper64; no effect on step time).")
flags.DEFINE_string("output_json", None, "Also write the results here.")
flags.DEFINE_integer("seed", 0, "Seed of the fixed random batch.")
flags.DEFINE_float("bench32_reference_s", None,
                   "BigGAN-PyTorch's seconds per iteration at bench32 on the "
                   "machine being measured (bench/biggan_pytorch_reference.py"
                   "); default 1.84, the AVX-512 development machine's; 4.53 "
                   "on an AMD EPYC Zen 3. The target is 0.8 times it.")


@dataclasses.dataclass(frozen=True)
class Shape:
  name: str
  description: str
  num_classes: int
  batch: int  # Global batch of one D (or G) update.
  bindings: tuple[str, ...]
  iterations: int
  warmup: int
  phase_repeats: int
  reference_s: float  # BigGAN-PyTorch, seconds per iteration, this machine.
  reference_note: str
  # Target: at most this fraction of the reference's seconds per iteration.
  target_fraction: Optional[float] = None


SHAPES = {
    "bench32": Shape(
        name="bench32",
        description="32x32, G/D ch 32, no attention, z 120, n_c 10, batch 32",
        num_classes=10, batch=32,
        bindings=("Generator.ch = 32", "Generator.resolution = 32",
                  "Generator.blocks_with_attention = ''",
                  "Generator.z_dim = 120", "Discriminator.ch = 32",
                  "Discriminator.blocks_with_attention = ''"),
        iterations=5, warmup=1, phase_repeats=3,
        reference_s=1.84, target_fraction=0.8,
        reference_note="BigGAN-PyTorch, same shape, 2 threads"),
    "paper64": Shape(
        name="paper64",
        description="paper 64x64, G/D ch 96, default attention, n_c 1000, "
                    "batch 4",
        num_classes=1000, batch=4, bindings=(),
        iterations=2, warmup=0, phase_repeats=1,
        reference_s=11.5,
        reference_note="BigGAN-PyTorch, its D ~half compare_gan's size; "
                       "compare FLOP/s"),
}


# FLOP counting.


def _reachable_ops(graph: tf.Graph) -> list[tf.Operation]:
  """The ops the function runtime keeps: those reachable from the outputs
  and the control outputs (stateful updates)."""
  stack = [t.op for t in graph.outputs] + list(graph.control_outputs)
  seen, order = set(), []
  while stack:
    op = stack.pop()
    if op.name in seen:
      continue
    seen.add(op.name)
    order.append(op)
    stack.extend(t.op for t in op.inputs)
    stack.extend(op.control_inputs)
  return order


@dataclasses.dataclass
class FlopCount:
  total: float
  by_type: dict[str, float]
  unknown_shape_ops: int  # Registered ops whose shapes were not static.
  nested_calls: int  # Function-call ops, whose bodies are not counted.

  def as_dict(self) -> dict:
    return dataclasses.asdict(self)


def count_flops(concrete: Callable) -> FlopCount:
  graph = concrete.graph
  by_type: dict[str, float] = {}
  unknown = nested = 0
  for op in _reachable_ops(graph):
    if "PartitionedCall" in op.type or op.type in ("While", "If",
                                                    "StatelessWhile",
                                                    "StatelessIf"):
      nested += 1
    try:
      stats = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
    except ValueError:  # An incomplete static shape.
      unknown += 1
      continue
    if stats.value:
      by_type[op.type] = by_type.get(op.type, 0.0) + float(stats.value)
  by_type = dict(sorted(by_type.items(), key=lambda kv: -kv[1]))
  return FlopCount(sum(by_type.values()), by_type, unknown, nested)


@contextlib.contextmanager
def _gradients_without_xla(model: gan.LogitGAN):
  """Traces the step with the plain (not jit-compiled) gradient functions,
  so that the whole step is one graph the FLOP counter can read."""
  saved = model.jit_compile
  model.jit_compile = False
  try:
    yield
  finally:
    model.jit_compile = saved


# Timing.


def _sync(outputs) -> None:
  """Waits for `outputs` (and so for the call that produced them)."""
  for value in tf.nest.flatten(outputs):
    if hasattr(value, "numpy"):
      value.numpy()


def time_calls(fn: Callable[[], object], repeats: int, warmup: int
               ) -> dict:
  """First call (tracing, compiling), `warmup` untimed calls, then `repeats`
  timed ones."""
  start = time.perf_counter()
  _sync(fn())
  first = time.perf_counter() - start
  for _ in range(warmup):
    _sync(fn())
  times, cpu_times = [], []
  for _ in range(repeats):
    start, cpu_start = time.perf_counter(), time.process_time()
    _sync(fn())
    times.append(time.perf_counter() - start)
    cpu_times.append(time.process_time() - cpu_start)
  return {"first_call_s": first, "times_s": times,
          "mean_s": statistics.fmean(times), "min_s": min(times),
          "cpu_s": statistics.fmean(cpu_times)}


def _load() -> Optional[float]:
  """The 1-minute load average (other processes skew the timings)."""
  try:
    return round(os.getloadavg()[0], 2)
  except OSError:
    return None


def _error_text(error: BaseException) -> str:
  text = f"{type(error).__name__}: {error}".strip()
  lines = text.splitlines()
  if len(lines) > 12:
    lines = lines[:12] + [f"... ({len(lines) - 12} more lines)"]
  return "\n".join(lines)


# One shape.


def _fixed_batch(shape: Shape, resolution: int, batches_per_step: int,
                 seed: int) -> dict:
  rng = np.random.default_rng(seed)
  rows = batches_per_step * shape.batch
  images = rng.uniform(-1.0, 1.0, (rows, resolution, resolution, 3))
  logits = 3.0 * rng.standard_normal((rows, shape.num_classes))
  return {"images": tf.constant(images, tf.float32),
          "logits": tf.constant(logits, tf.float32)}


def _parameters(model: keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _phase_functions(model: gan.LogitGAN, batch: dict, xla: bool
                     ) -> dict[str, tuple[int, Callable, Callable]]:
  """name -> (times per step, function as the step runs it, plain function
  for FLOP counting); each takes no arguments."""
  b = batch["logits"].shape[0] // model.batches_per_step
  images, logits = batch["images"][:b], batch["logits"][:b]
  epsilon = tf.random.stateless_normal([b, model.z_dim], [1, 2])
  seed = tf.constant([3, 4], tf.int32)
  fake = model.generator(logits, epsilon, training=True)
  both_images = tf.concat([images, fake], 0)
  both_logits = tf.concat([logits, logits], 0)
  d_vars = model.discriminator.trainable_variables
  g_vars = model.generator.trainable_variables
  d_grads, _ = tf.function(model.discriminator_gradients)(
      images, logits, epsilon, seed, 1.0)
  g_grads, _ = tf.function(model.generator_gradients)(logits, epsilon, 1.0)

  def g_forward():
    return model.generator(logits, epsilon, training=True)

  def d_forward():
    return model.discriminator(both_images, both_logits, training=True)

  def d_gradients(gradient_fn):
    return lambda: gradient_fn(images, logits, epsilon, seed, 1.0)

  def g_gradients(gradient_fn):
    return lambda: gradient_fn(logits, epsilon, 1.0)

  def d_apply():
    model.d_optimizer.apply_gradients(zip(d_grads, d_vars))
    return model.d_optimizer.iterations

  def g_apply():
    model.g_optimizer.apply_gradients(zip(g_grads, g_vars))
    return model.g_optimizer.iterations

  def ema():
    model.update_ema()
    return model.step

  compiled = lambda f: tf.function(f, jit_compile=xla)
  plain = tf.function
  d = model.disc_iters
  stepped_d, stepped_g = model.gradient_functions()  # As the step runs them.
  return {
      "G forward (B)": (0, compiled(g_forward), plain(g_forward)),
      "D forward (2B)": (0, compiled(d_forward), plain(d_forward)),
      "D gradients": (d, plain(d_gradients(stepped_d)),
                      plain(d_gradients(model.discriminator_gradients))),
      "G gradients": (1, plain(g_gradients(stepped_g)),
                      plain(g_gradients(model.generator_gradients))),
      "D Adam apply": (d, plain(d_apply), plain(d_apply)),
      "G Adam apply": (1, plain(g_apply), plain(g_apply)),
      "EMA update": (1, plain(ema), plain(ema)),
  }


def run_shape(shape: Shape, modes: list[bool]) -> dict:
  gin.clear_config()
  bindings = list(shape.bindings)
  if not FLAGS.orthogonal_init:
    bindings += ["Generator.initializer = 'normal'",
                 "Discriminator.initializer = 'normal'"]
  config.parse([], bindings)
  iterations = FLAGS.iterations or shape.iterations
  warmup = shape.warmup if FLAGS.warmup is None else FLAGS.warmup
  result = {"shape": dataclasses.asdict(shape), "gin_bindings": bindings,
            "mixed_precision": FLAGS.mixed_precision,
            "iterations": iterations, "warmup": warmup, "modes": {}}
  for xla in modes:
    mode = "on" if xla else "off"
    print(f"\n== {shape.name}: {shape.description}; XLA {mode}; "
          f"{FLAGS.mixed_precision or 'float32'}", flush=True)
    entry = result["modes"][mode] = {"load_before": _load()}
    try:
      _run_mode(shape, xla, entry, result)
    except Exception as error:  # pylint: disable=broad-except
      entry["error"] = _error_text(error)
      print(f"   FAILED: {entry['error']}", flush=True)
      traceback.print_exc(file=sys.stderr)
    finally:
      entry["load_after"] = _load()
      gc.collect()
      keras.backend.clear_session()
  return result


def _build_model(shape: Shape, xla: bool) -> gan.LogitGAN:
  """The GAN of the gin bindings parsed, with networks made from them in the
  measured precision, as the trainer makes them."""
  with gan.dtype_policy(FLAGS.mixed_precision):
    generator, discriminator = Generator(), Discriminator()
  return gan.LogitGAN(shape.num_classes, generator=generator,
                      discriminator=discriminator, ema_start_step=0,
                      jit_compile=xla, mixed_precision=FLAGS.mixed_precision)


def _run_mode(shape: Shape, xla: bool, entry: dict, result: dict) -> None:
  """Builds the model, counts its FLOPs once per shape, and times the step
  (and its phases) with XLA on or off, into `entry` and `result`."""
  start = time.perf_counter()
  model = _build_model(shape, xla)
  entry["build_s"] = time.perf_counter() - start
  batch = _fixed_batch(shape, model.resolution, model.batches_per_step,
                       FLAGS.seed)
  result.setdefault("model", {
      "disc_iters": model.disc_iters, "resolution": model.resolution,
      "g_params": _parameters(model.generator),
      "d_params": _parameters(model.discriminator),
      "input_shapes": {k: v.shape.as_list() for k, v in batch.items()}})
  sizes = result["model"]
  print(f"   built in {entry['build_s']:.1f} s; G {sizes['g_params']:,} / D "
        f"{sizes['d_params']:,} parameters; inputs {sizes['input_shapes']}",
        flush=True)
  if "flops" not in result:
    with _gradients_without_xla(model):
      concrete = tf.function(model.train_step).get_concrete_function(batch)
    result["flops"] = count_flops(concrete).as_dict()
    del concrete
    print(f"   {result['flops']['total'] / 1e9:.1f} GFLOP per iteration",
          flush=True)
  step = tf.function(lambda b: model.train_step(b))
  timing = time_calls(lambda: step(batch), result["iterations"],
                      result["warmup"])
  entry.update(timing)
  entry["images_per_s"] = model.disc_iters * shape.batch / timing["mean_s"]
  entry["gflops_per_s"] = result["flops"]["total"] / timing["mean_s"] / 1e9
  print(f"   step: first call {timing['first_call_s']:.1f} s; "
        f"{timing['mean_s']:.3f} s/iteration (min {timing['min_s']:.3f}, "
        f"{len(timing['times_s'])} timed: "
        + ", ".join(f"{t:.3f}" for t in timing["times_s"]) + "), "
        f"{entry['gflops_per_s']:.1f} GFLOP/s", flush=True)
  if FLAGS.phases:
    repeats = FLAGS.phase_repeats or shape.phase_repeats
    entry["phases"] = run_phases(model, batch, xla, repeats,
                                 result["warmup"], result)


def run_phases(model: gan.LogitGAN, batch: dict, xla: bool, repeats: int,
               warmup: int, result: dict) -> dict:
  phases = {}
  flops = result.setdefault("phase_flops", {})
  for name, (count, fn, plain) in _phase_functions(model, batch, xla).items():
    entry = phases[name] = {"per_step": count}
    try:
      if name not in flops:
        flops[name] = count_flops(plain.get_concrete_function()).total
      entry.update(time_calls(fn, repeats, warmup))
      entry["gflops_per_s"] = flops[name] / entry["mean_s"] / 1e9
      print(f"   {name:<15} {entry['mean_s'] * 1e3:9.1f} ms  "
            f"{flops[name] / 1e9:8.2f} GFLOP  (first call "
            f"{entry['first_call_s']:.1f} s)", flush=True)
    except Exception as error:  # pylint: disable=broad-except
      entry["error"] = _error_text(error)
      print(f"   {name}: FAILED: {entry['error']}", flush=True)
  return phases


# Report.


def _table(rows: list[list[str]]) -> str:
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths)))
  return "\n".join([line(rows[0]), "  ".join("-" * w for w in widths)]
                   + [line(r) for r in rows[1:]])


def _step_rows(results: list[dict], errors: list[str]) -> tuple[list, bool]:
  """The full-step table's rows, and whether the machine was busy."""
  rows = [["shape", "XLA", "s/iter", "min s", "images/s", "GFLOP/iter",
           "GFLOP/s", "ref s/iter", "vs ref", "target", "CPU s/iter",
           "1st call s", "load"]]
  busy = False
  for res in results:
    shape = res["shape"]
    total = res.get("flops", {}).get("total")
    for mode, entry in res["modes"].items():
      if "error" in entry and "mean_s" not in entry:
        rows.append([shape["name"], mode, "FAILED"] + [""] * 10)
        errors.append(f"{shape['name']} XLA {mode}: {entry['error']}")
        continue
      mean = entry["mean_s"]
      target = (None if shape["target_fraction"] is None else
                round(shape["target_fraction"] * shape["reference_s"], 2))
      loads = [entry.get("load_before"), entry.get("load_after")]
      busy |= any(l is not None and l > 1.5 * (os.cpu_count() or 1)
                  for l in loads)
      rows.append([
          shape["name"], mode, f"{mean:.3f}", f"{entry['min_s']:.3f}",
          f"{entry['images_per_s']:.1f}",
          f"{total / 1e9:.1f}" if total else "?",
          f"{entry['gflops_per_s']:.1f}" if total else "?",
          f"{shape['reference_s']:.2f}",
          f"{shape['reference_s'] / mean:.2f}x",
          "" if target is None else
          (f"<= {target:.2f} " + ("met" if mean <= target else "MISSED")),
          f"{entry['cpu_s']:.2f}", f"{entry['first_call_s']:.1f}",
          "/".join("?" if l is None else f"{l:.1f}" for l in loads)])
  return rows, busy


def _phase_rows(res: dict, modes: list[str], errors: list[str]) -> list:
  """One shape's per-phase table: each phase, their weighted sum, the full
  step and the rest."""
  head = ["phase (" + res["shape"]["name"] + ")", "x/step", "GFLOP"]
  for mode in modes:
    head += [f"ms XLA {mode}", f"GFLOP/s {mode}"]
  rows = [head]
  sums = {mode: 0.0 for mode in modes}
  for name in res["modes"][modes[0]]["phases"]:
    count = res["modes"][modes[0]]["phases"][name]["per_step"]
    flops = res.get("phase_flops", {}).get(name)
    row = [name, str(count) if count else "-",
           "?" if flops is None else f"{flops / 1e9:.2f}"]
    for mode in modes:
      phase = res["modes"][mode]["phases"][name]
      if "mean_s" not in phase:
        row += ["FAILED", ""]
        errors.append(f"{res['shape']['name']} XLA {mode} phase {name}: "
                      f"{phase['error']}")
        continue
      sums[mode] += count * phase["mean_s"]
      row += [f"{phase['mean_s'] * 1e3:.1f}", f"{phase['gflops_per_s']:.1f}"]
    rows.append(row)
  total = res.get("flops", {}).get("total")
  step = {m: res["modes"][m] for m in modes}
  rows.append(["sum (x/step)", "", ""] + sum(
      ([f"{sums[m] * 1e3:.1f}", ""] for m in modes), []))
  rows.append(["full step", "1",
               "?" if total is None else f"{total / 1e9:.2f}"] + sum(
      ([f"{step[m]['mean_s'] * 1e3:.1f}", f"{step[m]['gflops_per_s']:.1f}"]
       for m in modes), []))
  rows.append(["rest (step - sum)", "", ""] + sum(
      ([f"{(step[m]['mean_s'] - sums[m]) * 1e3:.1f}", ""] for m in modes),
      []))
  return rows


def _flops_lines(results: list[dict]) -> list[str]:
  lines = ["FLOPs: TensorFlow's registered per-op 'flops' statistics "
           "(tf.compat.v1.profiler float_operation), summed over the ops "
           "the runtime executes in the XLA-off graph of one train_step "
           "(multiply-add = 2); used for both XLA modes."]
  for res in results:
    flops = res.get("flops")
    if not flops:
      continue
    top = ", ".join(f"{k} {v / 1e9:.1f}" for k, v in
                    list(flops["by_type"].items())[:4])
    lines.append(f"  {res['shape']['name']}: {flops['total'] / 1e9:.2f} "
                 f"GFLOP/iteration ({top}, ... GFLOP); ops with unknown "
                 f"shapes {flops['unknown_shape_ops']}, nested calls "
                 f"{flops['nested_calls']}.")
  return lines


def report(results: list[dict]) -> str:
  errors = []
  rows, busy = _step_rows(results, errors)
  out = ["Full training iteration (LogitGAN.train_step: 2 D updates + 1 G "
         "update + EMA), wall clock, "
         f"{FLAGS.mixed_precision or 'float32'}", _table(rows),
         "images/s = disc_iters x batch real images per iteration / mean "
         "s/iter; 'vs ref' = reference s/iter / ours; 'CPU s/iter' = "
         "process CPU time per iteration (all threads); '1st call' = "
         "tracing (+ XLA compiling) + first run, not in s/iter; 'load' = "
         "1-min load average before/after."]
  if busy:
    out.append(f"WARNING: the load average exceeded 1.5 x {os.cpu_count()} "
               "CPUs: other processes competed for the CPUs; the times are "
               "pessimistic.")
  for res in results:
    shape = res["shape"]
    out.append(f"{shape['name']}: {shape['description']}; reference "
               f"{shape['reference_s']} s/iter ({shape['reference_note']}).")
  for res in results:
    modes = [m for m, e in res["modes"].items() if "phases" in e]
    if modes:
      out += ["", f"Per-phase profile, {res['shape']['name']} (each piece "
              "timed alone; mean of the timed calls)",
              _table(_phase_rows(res, modes, errors))]
  out += [""] + _flops_lines(results)
  if errors:
    out += ["", "Failures:"] + ["  " + e.replace("\n", "\n    ")
                                for e in errors]
  return "\n".join(out)


def main(argv):
  del argv
  unknown = [s for s in FLAGS.shapes if s not in SHAPES]
  if unknown:
    raise app.UsageError(f"Unknown --shapes {unknown}; choose from "
                         f"{sorted(SHAPES)}.")
  modes = {"both": [False, True], "off": [False], "on": [True]}[FLAGS.xla]
  print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; threading: "
        f"intra {tf.config.threading.get_intra_op_parallelism_threads()}, "
        f"inter {tf.config.threading.get_inter_op_parallelism_threads()} "
        "(0 = TensorFlow's default); TF_ENABLE_ONEDNN_OPTS="
        f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}", flush=True)
  start = time.perf_counter()
  shapes = dict(SHAPES)
  if FLAGS.bench32_reference_s is not None:
    shapes["bench32"] = dataclasses.replace(
        SHAPES["bench32"], reference_s=FLAGS.bench32_reference_s)
  results = [run_shape(shapes[name], modes) for name in FLAGS.shapes]
  text = report(results)
  print("\n" + text)
  print(f"\nTotal benchmark time {time.perf_counter() - start:.0f} s.")
  if FLAGS.output_json:
    payload = {"tensorflow": tf.__version__, "keras": keras.__version__,
               "cpus": os.cpu_count(), "results": results}
    with open(FLAGS.output_json, "w") as f:
      json.dump(payload, f, indent=1)
    print(f"Wrote {FLAGS.output_json}")


if __name__ == "__main__":
  app.run(main)
