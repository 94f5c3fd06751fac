"""`make demo`'s plan: the paper's story on shapes_mini, as seven stages of
`logit_gan.stages` (what `bin/demo` runs; docs/results.md, "make demo").

  1 build the datasets      logit_gan_shapes_mini/16 (100 classes, 100,000
                            train / 10,000 test images) and its
                            out-of-distribution variant ood_16 (the `ood`
                            analysis), in TFDS's data directory
  2 train the classifiers   standard and robust (PGD) small ResNets at 16x16
  3 cache their logits      of the 100,000 training images, per classifier
  4 train the inverters     a GAN per classifier and the Dosovitskiy & Brox
                            decoder on the robust logits
  5 export the three        SavedModels with their classifier bundled
  6 analyse                 bin/analyze --all on the three exports, and the
                            optimization baseline beside the robust GAN on
                            the first --optimization_images test images
  7 report                  report/index.html, optimization.html,
                            metrics.json, results.md and 2afc.html (one
                            bin/report)

Every step is skipped when its output is complete, checked from files
alone (no TensorFlow in the driver): a built dataset has its
dataset_info.json; a classifier its classifier.keras and metrics.json; a
logit cache its cache.json; a GAN a checkpoint at its step count (an
interrupted one resumes from its last checkpoint); an export a numbered
version newer than the run's latest checkpoint; the analysis a stamp
written when bin/analyze finished on the same command and export
versions (bin/analyze itself reruns only missing experiments); a report
is newer than the numbers it shows. An interrupted classifier starts over
(classifier training keeps no checkpoints).

Expected durations (`EXPECTED_MINUTES`) are measured on the AVX-512
machine kind (docs/results.md, "Machine kinds"), idle, unless noted; on a
machine without AVX-512 they are multiplied by `SLOWER_KIND_FACTOR`.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import sys
from typing import Optional, Sequence

from logit_gan import machine
from logit_gan import stages as stages_lib

MEASURED_ON = "AVX-512"
# Zen 3 (AVX2, no AVX-512) against AVX-512, both 2 cores (docs/results.md):
# the 10-class demo's GAN 23:45 vs 11:18, its classifiers 16 vs 7 minutes.
SLOWER_KIND_FACTOR = 2.2

# Minutes on the AVX-512 kind, measured in the full `make demo` of
# 2026-12-02 from a fresh clone (report/demo.json; docs/results.md, "make
# demo"), a niced test run beside it for its first 14 minutes.
EXPECTED_MINUTES = {
    "build shapes_mini": 0.8,       # 110,000 images: 48 s
    "build shapes_mini_ood": 0.15,  # 10,000 images: 8 s
    "classifier standard": 2.6,     # 154 s, start-up and evaluations in
    "classifier robust": 5.3,       # 316 s (PGD-3 training)
    "logit cache": 0.4,             # 100,000 images: 21-25 s
    "gan per 1000 steps": 2.05,     # 1,500 steps: 217 s robust, 152 s std
    "dnb per 1000 steps": 0.9,      # 1,000 steps in 52 s
    "export": 0.2,                  # 7-11 s, start-up included
    "analysis": 3.0,                # with the baseline: 241 s in all
    "optimization per 64 images": 1.0,
    "report": 0.1,                  # 3.5 s per page
}

CLASSIFIERS = ("standard", "robust")
# The inversion models: (run and export name, gin file, its classifier).
INVERTERS = (("shapes_mini_robust", "shapes_mini/robust.gin", "robust"),
             ("shapes_mini_standard", "shapes_mini/standard.gin",
              "standard"),
             ("shapes_mini_dosovitskiy_brox",
              "shapes_mini/dosovitskiy_brox.gin", "robust"))
DATASETS = (("shapes_mini", "logit_gan_shapes_mini/16"),
            ("shapes_mini_ood", "logit_gan_shapes_mini/ood_16"))
RESOLUTION = 16
STAMP_FILE = "demo_stamp.json"
# Images of the README's export section, reconstructed after the export
# (relative to the working directory: the repository for `make demo`).
EXAMPLE_IMAGES = os.path.join("export", "examples")
OPTIMIZATION_FOLDER = "optimization"


@dataclasses.dataclass(frozen=True)
class Settings:
  """Where the demo writes, and its sizes (bin/demo's flags).

  runs, exports, analysis: folders; report: the page (its folder gets
  optimization.html and demo.json too). num_images: test images analysed
  (never fewer for the budget). gan_steps: steps of each GAN; dnb_steps:
  of the decoder. optimization_images: test images the optimization
  baseline inverts (it is ~100x slower per image than the GAN).
  time_images: images per method timed for "time per image".
  python: the interpreter of the child commands.
  """
  runs: str = "runs"
  exports: str = "exports"
  analysis: str = "analysis"
  report: str = "report/index.html"
  num_images: int = 1000
  gan_steps: int = 1500
  dnb_steps: int = 1000
  optimization_images: int = 64
  time_images: int = 64
  python: str = sys.executable
  slower: float = 1.0  # SLOWER_KIND_FACTOR on another machine kind.

  def expected(self, key: str, amount: float = 1.0) -> float:
    return EXPECTED_MINUTES[key] * amount * self.slower

  def module(self, name: str) -> list[str]:
    return [self.python, "-m", f"logit_gan.cli.{name}"]

  def classifier_dir(self, kind: str) -> str:
    return os.path.join(self.runs, "classifiers", f"mini_{kind}")

  def cache_dir(self, kind: str) -> str:
    return os.path.join(self.runs, "cache", f"mini_{kind}_train_16")

  def report_dir(self) -> str:
    return os.path.dirname(self.report) or "."


def machine_kind() -> tuple[str, float]:
  """('AVX-512', 1.0) on a CPU with AVX-512, else a description and
  SLOWER_KIND_FACTOR (the CPU's flags: `machine.has_avx512`)."""
  avx512 = machine.has_avx512()
  if avx512 is None:
    return "unknown (no CPU flags)", SLOWER_KIND_FACTOR
  if avx512:
    return MEASURED_ON, 1.0
  return "without AVX-512", SLOWER_KIND_FACTOR


def _read_json(path: str):
  with open(path, encoding="utf-8") as file:
    return json.load(file)


def _json_or_none(path: str):
  """The file's JSON, or None when it is missing or unreadable (a done
  check then says "not done" and the step runs again)."""
  try:
    return _read_json(path)
  except (OSError, ValueError):
    return None


def _exists(*paths: str) -> bool:
  return all(os.path.exists(path) for path in paths)


def _mtime(path: str) -> float:
  return os.stat(path).st_mtime if os.path.exists(path) else 0.0


# Stage 1: the datasets.

def tfds_dir() -> str:
  """TFDS's data directory: $TFDS_DATA_DIR, else ~/tensorflow_datasets."""
  return os.path.expanduser(os.environ.get("TFDS_DATA_DIR")
                            or "~/tensorflow_datasets")


def _dataset_info(tfds_name: str) -> Optional[str]:
  """The dataset_info.json of a prepared `builder/config`, or None (TFDS
  writes it into the version folder only when the build completed)."""
  found = sorted(glob.glob(os.path.join(tfds_dir(), tfds_name, "*",
                                        "dataset_info.json")))
  return found[-1] if found else None


def _dataset_summary(name: str, tfds_name: str) -> str:
  info = _read_json(_dataset_info(tfds_name))
  sizes = ", ".join(
      f"{sum(int(n) for n in split.get('shardLengths', [])):,} "
      f"{split['name']}" for split in info.get("splits", []))
  return f"{name}: {sizes} images"


def build_dataset(name: str, resolution: int = RESOLUTION) -> str:
  """Builds the package's dataset `name` ('shapes_mini', ...) at
  `resolution` in TFDS's data directory, with TFDS's progress bars on
  (stage 1 runs it in a child; the driver shows a redraw every 10 s).
  Returns the prepared directory."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  from logit_gan.data import pipeline  # pylint: disable=import-outside-toplevel
  builder = tfds.builder(pipeline.shapes_tfds_name(name, resolution))
  if not builder.is_prepared():
    tfds.display_progress_bar(True)
    builder.download_and_prepare()
  return builder.data_dir


def dataset_steps(settings: Settings) -> list[stages_lib.Step]:
  return [stages_lib.Step(
      f"build {name}", settings.module("demo") + [f"--build_dataset={name}"],
      done=lambda t=tfds_name: _dataset_info(t) is not None,
      expected_minutes=lambda n=name: settings.expected(f"build {n}"),
      summary=lambda n=name, t=tfds_name: _dataset_summary(n, t))
          for name, tfds_name in DATASETS]


# Stage 2: the classifiers.

def _classifier_done(directory: str) -> bool:
  metrics = _json_or_none(os.path.join(directory, "metrics.json"))
  return (isinstance(metrics, dict) and "clean_accuracy" in metrics
          and _exists(os.path.join(directory, "classifier.keras")))


def _classifier_summary(kind: str, directory: str) -> str:
  metrics = _read_json(os.path.join(directory, "metrics.json"))
  return (f"{kind} {metrics['clean_accuracy']:.2%} clean, "
          f"{metrics['attacked_accuracy']:.2%} PGD-"
          f"{metrics.get('eval_attack', {}).get('steps', '?')} "
          f"({metrics.get('train_seconds', float('nan')):.0f} s training)")


def classifier_steps(settings: Settings) -> list[stages_lib.Step]:
  def step(kind: str) -> stages_lib.Step:
    directory = settings.classifier_dir(kind)
    return stages_lib.Step(
        f"{kind} classifier", settings.module("train_classifier") + [
            f"--gin_file=shapes_mini/classifier_{kind}.gin",
            f"--output_dir={directory}"],
        done=lambda: _classifier_done(directory),
        expected_minutes=lambda: settings.expected(f"classifier {kind}"),
        summary=lambda: _classifier_summary(kind, directory))
  return [step(kind) for kind in CLASSIFIERS]


# Stage 3: the logit caches.

def _classifier_bindings(settings: Settings, kind: str) -> list[str]:
  """The gin bindings that point a shapes_mini config at this demo's
  classifier and logit cache (the configs name runs/...)."""
  path = os.path.join(settings.classifier_dir(kind), "classifier.keras")
  return [f"--gin_bindings=classifier.path = '{path}'",
          f"--gin_bindings=train.logit_cache_dir = "
          f"'{settings.cache_dir(kind)}'"]


def _cache_summary(kind: str, directory: str) -> str:
  info = _read_json(os.path.join(directory, "cache.json"))
  return (f"{kind}: {info['num_examples']:,} x {info['num_classes']} "
          f"logits of {info['dataset']['name']} {info['dataset']['split']}")


def cache_steps(settings: Settings) -> list[stages_lib.Step]:
  def step(kind: str) -> stages_lib.Step:
    directory = settings.cache_dir(kind)
    return stages_lib.Step(
        f"{kind} logit cache", settings.module("cache_logits") + [
            f"--gin_file=shapes_mini/{kind}.gin",
            *_classifier_bindings(settings, kind), "--split=train",
            f"--resolution={RESOLUTION}", f"--output_dir={directory}"],
        done=lambda: _exists(os.path.join(directory, "cache.json")),
        expected_minutes=lambda: settings.expected("logit cache"),
        summary=lambda: _cache_summary(kind, directory))
  return [step(kind) for kind in CLASSIFIERS]


# Stage 4: the inverters.

def checkpoint_step(model_dir: str) -> int:
  """The step of a run's latest checkpoint (its `checkpoint` file names
  ckpt-<step>), 0 when it has none."""
  try:
    with open(os.path.join(model_dir, "checkpoint"), encoding="utf-8") as f:
      text = f.read()
  except OSError:
    return 0
  match = re.search(r'^model_checkpoint_path:\s*"[^"]*?ckpt-(\d+)"', text,
                    re.MULTILINE)
  return int(match.group(1)) if match else 0


def _latest_checkpoint_file(model_dir: str) -> str:
  step = checkpoint_step(model_dir)
  return os.path.join(model_dir, f"ckpt-{step}.index")


def _inverter_summary(name: str, model_dir: str) -> str:
  history = _read_json(os.path.join(model_dir, "metrics.json"))
  last = history[-1]
  return (f"{name}: class agreement {last['class_agreement']:.1%} at step "
          f"{last['step']:,}")


def inverter_steps(settings: Settings) -> list[stages_lib.Step]:
  steps = []
  for name, gin_file, kind in INVERTERS:
    model_dir = os.path.join(settings.runs, name)
    decoder = "dosovitskiy_brox" in name
    total = settings.dnb_steps if decoder else settings.gan_steps
    per_1000 = "dnb per 1000 steps" if decoder else "gan per 1000 steps"
    steps.append(stages_lib.Step(
        name.replace("shapes_mini_", "") + (" decoder" if decoder else
                                            " GAN"),
        settings.module("train") + [
            f"--gin_file={gin_file}", f"--model_dir={model_dir}",
            *_classifier_bindings(settings, kind),
            f"--gin_bindings=train.training_steps = {total}"],
        done=lambda d=model_dir, t=total: checkpoint_step(d) >= t,
        expected_minutes=lambda d=model_dir, t=total, k=per_1000:
        settings.expected(k, max(t - checkpoint_step(d), 0) / 1000),
        summary=lambda n=name, d=model_dir: _inverter_summary(n, d)))
  return steps


# Stage 5: the exports.

def export_versions(export_dir: str) -> list[str]:
  """The numbered version folders of an export, lowest first."""
  if not os.path.isdir(export_dir):
    return []
  numbers = sorted(int(entry) for entry in os.listdir(export_dir)
                   if entry.isdigit())
  return [os.path.join(export_dir, str(number)) for number in numbers]


def export_current(export_dir: str, model_dir: str) -> bool:
  """Whether export_dir has a version written after the run's latest
  checkpoint (a run trained on later gets exported again)."""
  versions = export_versions(export_dir)
  return bool(versions) and _mtime(versions[-1]) >= _mtime(
      _latest_checkpoint_file(model_dir))


def _examples_step(settings: Settings) -> stages_lib.Step:
  """The README's example images reconstructed by the robust GAN's export
  alone (bin/reconstruct)."""
  export_dir = os.path.join(settings.exports, INVERTERS[0][0])
  out = os.path.join(settings.runs, INVERTERS[0][0],
                     "examples_reconstructed.png")
  return stages_lib.Step(
      "reconstruct export/examples", settings.module("reconstruct") + [
          f"--export_dir={export_dir}", f"--images={EXAMPLE_IMAGES}",
          "--num_samples=4", f"--out={out}"],
      done=lambda: _exists(out) and _mtime(out) >= _mtime(
          (export_versions(export_dir) or [""])[-1]),
      expected_minutes=lambda: settings.expected("export"),
      summary=lambda: f"examples: {out}")


def export_steps(settings: Settings) -> list[stages_lib.Step]:
  steps = []
  for name, _, _ in INVERTERS:
    model_dir = os.path.join(settings.runs, name)
    export_dir = os.path.join(settings.exports, name)
    steps.append(stages_lib.Step(
        f"export {name}", settings.module("export") + [
            f"--model_dir={model_dir}", f"--export_dir={export_dir}"],
        done=lambda e=export_dir, m=model_dir: export_current(e, m),
        expected_minutes=lambda: settings.expected("export"),
        summary=lambda e=export_dir: export_versions(e)[-1]))
  if os.path.isdir(EXAMPLE_IMAGES):
    steps.append(_examples_step(settings))
  return steps


# Stage 6: the analysis.

def _export_dirs(settings: Settings) -> list[str]:
  return [os.path.join(settings.exports, name) for name, _, _ in INVERTERS]


def analysis_command(settings: Settings) -> list[str]:
  """bin/analyze --all on the three exports (the robust GAN first: the
  optimization baseline inverts its classifier), the factor regressor
  cached under runs/ so that a fresh clone trains its own."""
  regressors = os.path.join(settings.runs, "factor_regressors")
  return settings.module("analyze") + [
      *(f"--export_dir={path}" for path in _export_dirs(settings)),
      "--all", f"--out={settings.analysis}",
      f"--num_images={settings.num_images}", "--optimization_baseline",
      f"--optimization_images={settings.optimization_images}",
      f"--time_images={settings.time_images}",
      f"--gin_bindings=factor_regressor.cache_dir = '{regressors}'"]


def _analysis_stamp(settings: Settings) -> dict:
  """What the analysis was made from: the command (without the
  interpreter) and the exports' latest versions."""
  return {"command": analysis_command(settings)[3:],
          "exports": [(export_versions(path) or [""])[-1]
                      for path in _export_dirs(settings)]}


def _stamp_path(settings: Settings) -> str:
  return os.path.join(settings.analysis, STAMP_FILE)


def _write_stamp(settings: Settings) -> None:
  with open(_stamp_path(settings), "w", encoding="utf-8") as file:
    json.dump(_analysis_stamp(settings), file, indent=2)


def analysis_done(settings: Settings) -> bool:
  return (_exists(os.path.join(settings.analysis, "metrics.json"))
          and _json_or_none(_stamp_path(settings))
          == _analysis_stamp(settings))


def _analysis_summary(settings: Settings) -> str:
  parts = []
  for folder in (settings.analysis, os.path.join(settings.analysis,
                                                 OPTIMIZATION_FOLDER)):
    metrics = os.path.join(folder, "metrics.json")
    if _exists(metrics):
      records = _read_json(metrics)
      experiments = sorted({r["experiment"] for r in records})
      count = len(experiments)
      parts.append(f"{count} experiment{'s' * (count != 1)}, "
                   f"{len(records):,} numbers in {metrics}")
  return "; ".join(parts)


def analysis_steps(settings: Settings) -> list[stages_lib.Step]:
  return [stages_lib.Step(
      "analysis", analysis_command(settings),
      done=lambda: analysis_done(settings),
      expected_minutes=lambda: settings.expected("analysis") +
      settings.expected("optimization per 64 images",
                        settings.optimization_images / 64),
      summary=lambda: _analysis_summary(settings),
      after=lambda: _write_stamp(settings))]


# Stage 7: the report pages.

def optimization_page(settings: Settings) -> str:
  return os.path.join(settings.report_dir(), "optimization.html")


def report_steps(settings: Settings) -> list[stages_lib.Step]:
  """bin/report on the analysis folder: index.html, metrics.json and, from
  its optimization sub-folder, optimization.html; done when each is newer
  than both folders' numbers."""
  numbers = [os.path.join(settings.analysis, "metrics.json"),
             os.path.join(settings.analysis, OPTIMIZATION_FOLDER,
                          "metrics.json")]
  written = [settings.report, optimization_page(settings),
             os.path.join(settings.report_dir(), "metrics.json")]

  def done() -> bool:
    newest = max(_mtime(path) for path in numbers)
    return all(_exists(path) and _mtime(path) >= newest for path in written)
  return [stages_lib.Step(
      f"report {os.path.basename(settings.report)}",
      settings.module("report") + [
          f"--analysis_dir={settings.analysis}", f"--out={settings.report}",
          "--title=logit_gan: make demo"],
      done=done, expected_minutes=lambda: settings.expected("report", 2),
      summary=lambda: os.path.abspath(settings.report))]


STAGES = (("build the datasets", dataset_steps),
          ("train the classifiers", classifier_steps),
          ("cache their logits", cache_steps),
          ("train the GANs and the decoder", inverter_steps),
          ("export the three", export_steps),
          ("analyse", analysis_steps),
          ("write the report", report_steps))


def operative_configs(settings: Settings) -> dict[str, str]:
  """{path: text} of the operative gin config of every classifier and
  inverter run (for the record, demo.json)."""
  folders = [settings.classifier_dir(kind) for kind in CLASSIFIERS] + [
      os.path.join(settings.runs, name) for name, _, _ in INVERTERS]
  configs = {}
  for folder in folders:
    path = os.path.join(folder, "operative_config.gin")
    if _exists(path):
      with open(path, encoding="utf-8") as file:
        configs[path] = file.read()
  return configs


def plan(settings: Settings) -> list[stages_lib.Stage]:
  """The seven stages (module docstring)."""
  return [stages_lib.Stage(name, steps(settings)) for name, steps in STAGES]
