"""Time per reconstructed image: the exported GAN against optimization-based
inversion of the same classifier, measured in one run.

The paper calls its feedforward inversion "computationally efficient"
against optimization-based inversion (its Section 2; Mahendran & Vedaldi
2015); this turns the claim into a number. Target: the GAN at least 1000x
faster per image.

What runs (random weights: speed does not depend on them):
  GAN           shapes_mini's generator (gin_configs/shapes_mini/gan.gin:
                Generator ch 16, 16x16, no attention, z_dim 30) for 100
                logits, exported with `export.export` and its classifier
                bundled, loaded back with `analyses.inversion.load` and
                called through `ExportedModel.reconstruct` (numpy in and
                out, the `reconstruct_from_logits` signature): what an
                analysis pays per image.
  optimization  `OptimizationInversion` with the default Settings (gin
                optimization_inversion.*: 200 Adam steps, batch 64) on the
                same classifier: the package's small ResNet for 100
                classes at 16x16 (width 32, shapes_mini's classifier), in
                process (its fastest form), and with --via_export also
                through the export's differentiable `classify` signature
                (`OptimizationInversion.from_model`, what `bin/analyze
                --optimization_baseline` builds).

Measured: batch-1 latency (median over --latency_repeats calls for the
GAN, one call for optimization) and batch-64 throughput (images/s, median
over --throughput_repeats calls for the GAN, one call for optimization).
Every configuration is called once untimed first (tracing). Wall clock;
the process CPU time and the 1-minute load average are reported beside it
(the machine may be shared: CPU s ~ cores x wall s means the call had the
cores to itself). The ratios divide optimization's seconds per image by
the GAN's at the same batch size.

Run: `make bench`, or `.venv/bin/python bench/inversion_speed.py
--output_json=/tmp/inversion_speed.json`. About a minute on an idle 2-core
machine. Numbers measured so far: docs/baselines.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import tempfile
import time
from typing import Callable

from logit_gan import runtime  # Loads no TensorFlow.

runtime.configure()  # As bin/ commands do, before TensorFlow loads.

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from logit_gan import export  # noqa: E402
from logit_gan.analyses import inversion  # noqa: E402
from logit_gan.baselines import optimization  # noqa: E402
from logit_gan.baselines.optimization_model import (  # noqa: E402
    OptimizationInversion)
from logit_gan.classifiers.classifier import Classifier  # noqa: E402
from logit_gan.classifiers.small_resnet import small_resnet  # noqa: E402
from logit_gan.generator import Generator  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch", 64, "Images per call for the throughput.")
flags.DEFINE_integer("latency_repeats", 30, "Timed batch-1 GAN calls.")
flags.DEFINE_integer("throughput_repeats", 10, "Timed batch GAN calls.")
flags.DEFINE_boolean("via_export", True, "Also time optimization through "
                     "the export's classify signature.")
flags.DEFINE_string("output_json", None, "Also write the results here.")
flags.DEFINE_integer("seed", 0, "Seed of the weights, logits and noise.")

NUM_CLASSES, RESOLUTION, Z_DIM, G_CH = 100, 16, 30, 16


def machine() -> str:
  """The CPU's model name (as `lscpu` prints it) and the core count."""
  name = platform.processor() or "unknown CPU"
  try:
    with open("/proc/cpuinfo") as cpuinfo:
      names = [line.split(":", 1)[1].strip() for line in cpuinfo
               if line.startswith("model name")]
    name = names[0] if names else name
  except OSError:
    pass
  return f"{name}, {runtime.usable_cpus()} CPUs"


def _load() -> float:
  try:
    return round(os.getloadavg()[0], 2)
  except OSError:
    return float("nan")


def timed(call: Callable[[], object], repeats: int) -> dict:
  """One untimed call (tracing), then `repeats` timed ones: median wall
  seconds, mean CPU seconds, load average before."""
  call()
  load = _load()
  walls, cpus = [], []
  for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
  return {"seconds": statistics.median(walls), "cpu_seconds":
          statistics.fmean(cpus), "repeats": repeats, "load": load}


def build_export(directory: str, seed: int) -> tuple[str, Classifier]:
  """Exports a random shapes_mini-sized GAN with its classifier bundled."""
  keras.utils.set_random_seed(seed)
  generator = Generator(ch=G_CH, resolution=RESOLUTION, z_dim=Z_DIM,
                        blocks_with_attention="", use_moving_averages=True)
  generator.build_for(NUM_CLASSES)
  classifier = Classifier.from_keras(
      small_resnet(NUM_CLASSES, resolution=RESOLUTION), name="small_resnet")
  metadata = {"classifier": classifier.name, "training_step": 0,
              "gin_config": "", "method": "logit_gan",
              "noise_distribution": "normal",
              "dataset": json.dumps({"name": "shapes_mini"})}
  return export.export(generator, directory, metadata=metadata,
                       classifier=classifier), classifier


def per_image(entry: dict, images: int) -> dict:
  return {**entry, "images": images,
          "seconds_per_image": entry["seconds"] / images,
          "images_per_second": images / entry["seconds"]}


def measure(model: inversion.InversionModel, logits: np.ndarray,
            repeats: tuple[int, int]) -> dict:
  """Batch-1 latency and batch-B throughput of model.reconstruct."""
  noise = model.sample_noise(len(logits), seed=1)
  return {
      "batch_1": per_image(timed(lambda: model.reconstruct(
          logits[:1], noise[:1]), repeats[0]), 1),
      f"batch_{len(logits)}": per_image(timed(lambda: model.reconstruct(
          logits, noise), repeats[1]), len(logits))}


def run(directory: str) -> dict:
  version, classifier = build_export(directory, FLAGS.seed)
  gan = inversion.load(version, name="gan", batch_size=FLAGS.batch)
  images = np.random.default_rng(FLAGS.seed).uniform(
      -1, 1, (FLAGS.batch, RESOLUTION, RESOLUTION, 3)).astype(np.float32)
  logits = gan.classify(images)
  results = {"gan": measure(gan, logits, (FLAGS.latency_repeats,
                                          FLAGS.throughput_repeats))}
  print(f"GAN timed ({time.strftime('%X')}).", flush=True)
  models = {"optimization": OptimizationInversion(
      classifier, name="optimization", progress=False)}
  if FLAGS.via_export:
    models["optimization_via_export"] = OptimizationInversion.from_model(
        gan, progress=False)
  for name, model in models.items():
    results[name] = measure(model, logits, (1, 1))
    results[name]["settings"] = dataclasses.asdict(model.settings)
    print(f"{name} timed ({time.strftime('%X')}).", flush=True)
  return results


def ratios(results: dict, batch_key: str) -> dict:
  """Optimization's seconds per image over the GAN's, per batch size, in
  wall time and (for the batch) in process CPU time."""
  def ratio(name: str, key: str, field: str) -> float:
    return results[name][key][field] / results["gan"][key][field]
  return {name: {"batch_1": ratio(name, "batch_1", "seconds"),
                 batch_key: ratio(name, batch_key, "seconds"),
                 f"{batch_key}_cpu": ratio(name, batch_key, "cpu_seconds")}
          for name in results if name != "gan"}


def table(results: dict, batch_key: str, ratio: dict) -> str:
  rows = [["method", "batch 1 s", f"{batch_key} images/s",
           f"{batch_key} s/image", "CPU s/image", "load",
           "x GAN batch 1", f"x GAN {batch_key}", "x GAN CPU"]]
  for name, entry in results.items():
    one, many = entry["batch_1"], entry[batch_key]
    factors = ratio.get(name, {"batch_1": 1, batch_key: 1,
                               f"{batch_key}_cpu": 1})
    rows.append([name, f"{one['seconds']:.3g}",
                 f"{many['images_per_second']:.4g}",
                 f"{many['seconds_per_image']:.3g}",
                 f"{many['cpu_seconds'] / many['images']:.3g}",
                 f"{many['load']:.2f}", f"{factors['batch_1']:.0f}",
                 f"{factors[batch_key]:.0f}",
                 f"{factors[f'{batch_key}_cpu']:.0f}"])
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  return "\n".join("  ".join(cell.ljust(width) for cell, width
                             in zip(row, widths)).rstrip() for row in rows)


def main(argv):
  del argv
  started = time.perf_counter()
  print(f"{machine()}; TensorFlow {tf.__version__}, Keras "
        f"{keras.__version__}; load {_load()}", flush=True)
  with tempfile.TemporaryDirectory() as directory:
    results = run(directory)
  batch_key = f"batch_{FLAGS.batch}"
  ratio = ratios(results, batch_key)
  settings = optimization.Settings()
  print(f"\nOptimization: {settings.steps} Adam steps per image (default "
        "Settings). Ratios: optimization's seconds per image / the GAN's.\n")
  print(table(results, batch_key, ratio))
  wall, cpu = (ratio["optimization"][key]
               for key in (batch_key, f"{batch_key}_cpu"))
  steps = settings.steps * 1000 / cpu  # The cost is linear in steps.
  print(f"\nThe GAN is {wall:.0f}x faster per image than in-process "
        f"optimization at batch {FLAGS.batch} ({cpu:.0f}x in CPU time); "
        f"target >= 1000x: {'met' if min(wall, cpu) >= 1000 else 'NOT met'}"
        f". One Adam step costs {cpu / settings.steps:.2f} GAN images of "
        f"CPU time: 1000x takes ~{steps:.0f} steps. Total "
        f"{time.perf_counter() - started:.0f} s.")
  if FLAGS.output_json:
    payload = {"machine": machine(), "tensorflow": tf.__version__,
               "keras": keras.__version__, "results": results,
               "ratios": ratio, "steps_for_1000x": steps}
    with open(FLAGS.output_json, "w") as output:
      json.dump(payload, output, indent=1)
    print(f"Wrote {FLAGS.output_json}")


if __name__ == "__main__":
  app.run(main)
