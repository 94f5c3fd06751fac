"""bin/analyze and what it calls: the runner (reruns only what is missing),
`logit_probe` as an experiment (known answers on models whose logits are
pixels), and the command end to end and on bad input (one `error:` line,
exit code 2, before any work)."""

import io
import json
import os
import pathlib
import re
import subprocess
import sys

from absl import app
from absl import flags
import gin
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

import cli_main

from logit_gan import configurable
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import inversion
from logit_gan.analyses import probe_experiment
from logit_gan.analyses import registry
from logit_gan.analyses import results
from logit_gan.analyses import runner
from logit_gan.cli import common

REPO = pathlib.Path(__file__).resolve().parents[1]
PIXEL = 4  # The pixel models' resolution.
# The training run's operative config the fake exports bundle.
FAKE_OPERATIVE_CONFIG = "train.training_steps = 9\n"


class PixelModel(inversion.InversionModel):
  """Logits = the colour of pixel (0, 0) [3]; a faithful model draws that
  pixel back from the logits (the round trip keeps it), a forgetful one
  draws it from the noise (the round trip loses it)."""

  def __init__(self, name: str, *, faithful: bool = True,
               resolution: int = PIXEL):
    self.name, self.faithful = name, faithful
    self.num_classes, self.z_dim, self.resolution = 3, 3, resolution

  def classify_tensor(self, images):
    return tf.convert_to_tensor(images)[:, 0, 0, :]

  def _reconstruct(self, logits, noise):
    pixel = logits if self.faithful else 0.5 * noise
    padding = [[0, 0], [0, self.resolution - 1], [0, self.resolution - 1],
               [0, 0]]
    return tf.pad(pixel[:, None, None, :], padding)


def pixel_examples(n=200, seed=0, resolution=PIXEL):
  """Images whose pixel (0, 0) carries `carried` (red) and `kind` (green),
  pixel (R-1, R-1) carries `hidden`, which the pixel models do not read;
  labels independent of all three."""
  rng = np.random.default_rng(seed)
  carried, hidden = rng.uniform(-1, 1, (2, n))
  kind = rng.integers(0, 3, n)
  images = np.zeros((n, resolution, resolution, 3), np.float32)
  images[:, 0, 0] = np.stack([carried, kind / 2 - 0.5,
                              rng.uniform(-1, 1, n)], 1)
  images[:, -1, -1, 0] = hidden
  return examples_lib.Examples(
      images, rng.integers(0, 5, n),
      {"carried": carried, "hidden": hidden, "kind": kind}, "pixels")


# The runner, with a fake experiment.

CALLS = []


@configurable.configurable("fake_experiment",
                           denylist=["models", "examples", "seed"])
def fake_experiment(models, examples, *, seed=0, scale=1.0):
  """Brightness of the originals times `scale` plus the model's index."""
  CALLS.append(seed)
  result = results.Result("fake", settings={"seed": seed, "scale": scale},
                          models=[m.describe() for m in models],
                          examples=examples.describe())
  values = scale * examples.images.mean(axis=(1, 2, 3))
  result.add_per_image("brightness", {m.name: values + i for i, m in
                                      enumerate(models)}, seed=seed)
  result.figures["bars.png"] = figures.bar_plot(
      ["a", "b"], {"x": [(1.0, 0.5, 1.5), (2.0, np.nan, np.nan)]},
      ylabel="y")
  result.summary = f"scale {scale}"
  return result


@pytest.fixture
def fake_registered(monkeypatch):
  CALLS.clear()
  monkeypatch.setitem(registry.EXPERIMENTS, "fake", fake_experiment)
  return CALLS


def _run(out, examples=None, seed=0, **arguments):
  stream = io.StringIO()
  outcomes = runner.run_experiments(
      [PixelModel("a"), PixelModel("b")], examples or pixel_examples(40),
      ["fake"], str(out), seed=seed, progress=stream, **arguments)
  return outcomes, stream.getvalue()


def test_runner_writes_then_reruns_only_what_changed(fake_registered,
                                                     tmp_path):
  outcomes, printed = _run(tmp_path)
  assert [o.ran for o in outcomes] == [True] and fake_registered == [0]
  assert "fake: scale 1.0 (" in printed and " s)\n" in printed
  assert "experiment 1/1" in printed and "ETA" in printed
  assert "\r" not in printed  # Not a terminal: no redrawing.
  records = results.read_metrics(tmp_path)
  assert {(r["model"], r["kind"]) for r in records} == {
      ("a", "value"), ("b", "value"), ("a - b", "difference")}
  assert (tmp_path / "fake" / "bars.png").read_bytes()[:4] == b"\x89PNG"

  (tmp_path / "metrics.json").unlink()  # Restored from result.json.
  outcomes, printed = _run(tmp_path)  # Same inputs: nothing runs.
  assert [o.ran for o in outcomes] == [False] and fake_registered == [0]
  assert "fake: up to date" in printed and "scale 1.0" in printed
  assert results.read_metrics(tmp_path) == records
  _run(tmp_path, seed=1)  # A changed seed reruns,
  gin.bind_parameter("fake_experiment.scale", 2.0)  # a changed setting,
  _run(tmp_path, seed=1)
  changed = pixel_examples(40)
  changed.images[0, 1, 1, 1] = 0.5  # one changed pixel,
  _run(tmp_path, changed, seed=1)
  _run(tmp_path, changed, seed=1, force=True)  # and force.
  assert fake_registered == [0, 1, 1, 1, 1]
  written = results.read_result(tmp_path, "fake")
  assert written["settings"] == {"seed": 1, "scale": 2.0}
  assert written["key"] == runner.input_key(
      "fake", fake_experiment, [PixelModel("a"), PixelModel("b")], changed,
      seed=1)


def test_runner_refuses_before_any_work(fake_registered, tmp_path):
  models = [PixelModel("a"), PixelModel("b")]
  with pytest.raises(ValueError, match="Unknown experiment 'nope'.*fake"):
    runner.run_experiments(models, pixel_examples(40), ["fake", "nope"],
                           str(tmp_path), seed=0, progress=False)
  other_size = pixel_examples(40, resolution=PIXEL + 2)
  with pytest.raises(ValueError, match="6x6 but the models draw 4x4.*"
                     "from_files"):
    runner.run_experiments(models, other_size, ["fake"], str(tmp_path),
                           seed=0, progress=False)
  with pytest.raises(ValueError, match="share the name"):
    runner.run_experiments([PixelModel("a"), PixelModel("a")],
                           pixel_examples(40), ["fake"], str(tmp_path),
                           seed=0, progress=False)
  assert fake_registered == [] and not os.listdir(tmp_path)


def test_needs_the_images_do_not_meet_refuse_or_skip(fake_registered,
                                                    monkeypatch, tmp_path):
  monkeypatch.setitem(registry.NEEDS, "fake", lambda settings: (
      ("labels",) if settings["scale"] > 1 else ("factors",)))
  models = [PixelModel("a"), PixelModel("b")]
  plain = examples_lib.Examples(pixel_examples(40).images, source="files:x")
  with pytest.raises(ValueError, match="fake needs a dataset with "
                     "ground-truth factors: shapes or shapes_mini .*files:x"):
    runner.run_experiments(models, plain, ["fake"], str(tmp_path), seed=0,
                           progress=False)
  stream = io.StringIO()
  outcomes = runner.run_experiments(models, plain, ["fake"], str(tmp_path),
                                    seed=0, skip_unmet=True, progress=stream)
  assert [(o.ran, o.skipped) for o in outcomes] == [(False, True)]
  assert stream.getvalue() == ("fake: skipped: the test images have no "
                               "factors\n")
  gin.bind_parameter("fake_experiment.scale", 2.0)  # Needs labels now.
  with pytest.raises(ValueError, match="fake needs labelled test images"):
    runner.run_experiments(models, plain, ["fake"], str(tmp_path), seed=0,
                           progress=False)
  outcomes, _ = _run(tmp_path)  # Labelled images with factors: it runs.
  assert [o.ran for o in outcomes] == [True] and fake_registered == [0]
  assert registry.needs("adversarial", {"select": "all"}) == ()


def test_settings_are_defaults_with_gin_bindings():
  assert runner.settings_of(fake_experiment) == {"scale": 1.0}
  gin.bind_parameter("logit_probe.splits", 2)
  settings = runner.settings_of(probe_experiment.run)
  assert settings["splits"] == 2 and settings["resamples"] == 1000
  assert "seed" not in settings and "models" not in settings


# logit_probe as an experiment.

def test_logit_probe_keeps_what_the_round_trip_keeps():
  result = probe_experiment.run(
      [PixelModel("faithful"), PixelModel("forgetful", faithful=False)],
      pixel_examples(), splits=2, resamples=200)

  def score(number, model, factor, source):
    return result.get(number, model, factor=factor, probe="ridge",
                      source=source)
  for model in ("faithful", "forgetful"):
    assert score("r2", model, "carried", "originals").mean > 0.99
    assert score("within_class", model, "carried", "originals").mean > 0.8
    assert score("accuracy", model, "kind", "originals").mean == 1.0
    assert abs(score("r2", model, "hidden", "originals").mean) < 0.1
  assert score("r2", "faithful", "carried", "reconstructions").mean > 0.99
  assert score("accuracy", "faithful", "kind", "reconstructions").mean == 1
  lost = score("r2", "forgetful", "carried", "reconstructions")
  assert lost.low < 0.0 < lost.high or abs(lost.mean) < 0.1
  assert score("accuracy", "forgetful", "kind", "reconstructions").mean < 0.5
  chance = result.get("chance", "faithful", factor="kind").mean
  assert 0.3 < chance < 0.4
  assert set(result.figures) == {
      f"{m}_ridge{w}.png" for m in ("faithful", "forgetful")
      for w in ("", "_within_class")}
  faithful, forgetful = result.summary.split("; ")
  assert faithful.startswith("faithful: R² 0.4") and "orig / 0.4" in faithful
  assert forgetful.startswith("forgetful: R² 0.4") and "orig / -0.0" in (
      forgetful)


def test_logit_probe_refuses_examples_without_factors():
  plain = examples_lib.Examples(pixel_examples(40).images, None, {}, "files")
  with pytest.raises(ValueError, match="logit_probe needs a dataset with "
                     "ground-truth factors: shapes or shapes_mini"):
    probe_experiment.run([PixelModel("a")], plain)
  with pytest.raises(ValueError, match="probes = \\('lasso',\\)"):
    probe_experiment.run([PixelModel("a")], pixel_examples(40),
                         probes=("lasso",))


def test_constant_factors_are_left_out_and_listed():
  examples = pixel_examples(60)
  examples.factors["constant"] = np.zeros(60)
  result = probe_experiment.run([PixelModel("a")], examples,
                                reconstructions=False, splits=1,
                                resamples=20)
  assert result.settings["skipped_factors"] == ["constant"]
  assert {n.params.get("source") for n in result.numbers} == {
      "originals", None}


# The command, in this process.

def _analyze_module():
  """logit_gan.cli.analyze imported afresh with its flags, the flags other
  commands define set aside meanwhile (tests/cli_main.py)."""
  return cli_main.command_module("analyze")


@pytest.fixture
def analyze(capsys):
  """analyze(*args) -> (exit code (None: success), stdout, stderr) of
  bin/analyze's main, user errors reported as `common.run` does."""
  with _analyze_module() as module:
    def call(*args):
      argv = flags.FLAGS(["analyze", *map(str, args)])
      try:
        code = common.report_user_errors(module.main)(argv)
      finally:
        flags.FLAGS.unparse_flags()
      printed = capsys.readouterr()
      return code, printed.out, printed.err
    yield call


class _FakeExport(tf.Module):
  """A SavedModel with bin/export's describe, classify and
  reconstruct_from_logits signatures, computing PixelModel's arithmetic
  (saved in a second, where a real export takes tens)."""

  def __init__(self, dataset, *, with_classify=True):
    super().__init__()
    info = {"num_classes": tf.constant(3), "z_dim": tf.constant(3),
            "resolution": tf.constant(PIXEL),
            "method": tf.constant("logit_gan"),
            "gin_config": tf.constant(FAKE_OPERATIVE_CONFIG),
            "dataset": tf.constant(json.dumps(dataset))}
    model = PixelModel("fake")
    self.describe = tf.function(lambda: info, input_signature=[])
    rows = tf.TensorSpec([None, 3], tf.float32)
    self.reconstruct_from_logits = tf.function(
        lambda given: {"images_float": model._reconstruct(  # pylint: disable=protected-access
            given["logits"], given["noise"])},
        input_signature=[{"logits": rows, "noise": rows}])
    if with_classify:
      self.classify = tf.function(
          lambda given: {"logits": model.classify_tensor(given["images"])},
          input_signature=[{"images": tf.TensorSpec(
              [None, PIXEL, PIXEL, 3], tf.float32)}])


@pytest.fixture(scope="module")
def fake_exports(tmp_path_factory):
  """{name: version folder}: pixel models trained on 'shapes_mini' (two),
  'cifar100', and one exported without its classifier."""
  root = tmp_path_factory.mktemp("fake_exports")
  made = {}
  for name, dataset, with_classify in [
      ("mini_a", "shapes_mini", True), ("mini_b", "shapes_mini", True),
      ("cifar", "cifar100", True), ("old", "shapes_mini", False)]:
    made[name] = str(root / name / "1")
    tf.saved_model.save(_FakeExport({"name": dataset},
                                    with_classify=with_classify),
                        made[name])
  return made


def _png_folder(folder, count, size=(7, 5)):
  folder.mkdir()
  rng = np.random.default_rng(0)
  for index in range(count):
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
        folder / f"{index}.png")
  return folder


def test_command_reads_image_files_at_the_models_size(
    analyze, fake_exports, fake_registered, tmp_path):
  images = _png_folder(tmp_path / "images", 3)
  out = tmp_path / "out"
  code, printed, _ = analyze(
      f"--export_dir=first={fake_exports['mini_a']}",
      f"--export_dir={fake_exports['mini_b']}", "--experiment=fake",
      f"--images={images}", f"--out={out}", "--seed=3")
  assert code is None and fake_registered == [3]
  assert "3 test images from files:" in printed and "fake: scale 1.0" in (
      printed)
  assert f"Numbers: {out}/metrics.json" in printed
  written = results.read_result(out, "fake")
  assert written["examples"]["resolution"] == PIXEL
  assert written["examples"]["count"] == 3
  assert [m["name"] for m in written["models"]] == ["first", "mini_b"]
  assert written["models"][1]["path"] == fake_exports["mini_b"]
  # The run's provenance: its flags, the exports' operative configs, the
  # test images and this machine.
  (run,) = json.loads((out / "provenance.json").read_text())["runs"]
  assert run["flags"]["experiment"] == ["fake"] and run["flags"]["seed"] == 3
  assert run["flags"]["export_dir"][0] == f"first={fake_exports['mini_a']}"
  assert [e["name"] for e in run["exports"]] == ["first", "mini_b"]
  assert run["exports"][1]["operative_config"] == FAKE_OPERATIVE_CONFIG
  assert run["exports"][1]["path"] == fake_exports["mini_b"]
  assert run["images"]["count"] == 3 and run["experiments"] == ["fake"]
  assert run["machine"]["cores"] == os.cpu_count()


@pytest.mark.parametrize("arguments, message", [
    (["--experiment=nope", "--export_dir=/no/such/export"],
     "Unknown experiment 'nope'; choose from .*logit_probe"),
    (["--experiment=fake", "--gin_bindings=fake_experiment.scales = 2"],
     "fake_experiment.*scales"),
    (["--experiment=fake", "--export_dir={old}"],
     "no `classify` signature.*Export it again with bin/export"),
    (["--experiment=fake", "--export_dir={empty}"],
     "is not a SavedModel"),
    (["--experiment=fake", "--export_dir={mini_a}", "--export_dir={cifar}"],
     "trained on different datasets .*'mini_a': 'shapes_mini', 'cifar': "
     "'cifar100'.*--images or --tfds"),
    (["--experiment=fake", "--export_dir={mini_a}", "--images={empty}"],
     "No image files .* in the folder"),
    (["--experiment=fake", "--export_dir={mini_a}",
      "--tfds=no_such_dataset_xyz"], "TFDS has no dataset "
     "'no_such_dataset_xyz'"),
    (["--experiment=fake", "--export_dir={mini_a}", "--tfds=mnist",
      "--data_dir={empty}"], "'mnist' is not prepared in .*run `tfds build "
     "mnist --data_dir=DIR`"),
    (["--experiment=logit_probe", "--export_dir={mini_a}",
      "--images={images}"], "logit_probe needs a dataset with ground-truth "
     "factors: shapes or shapes_mini"),
])
def test_bad_input_is_one_error_line_before_any_work(
    analyze, fake_exports, fake_registered, tmp_path, arguments, message):
  places = {**fake_exports, "empty": tmp_path / "empty",
            "images": _png_folder(tmp_path / "images", 3)}
  (tmp_path / "empty").mkdir()
  arguments = [a.format(**places) for a in arguments]
  if not any(a.startswith("--export_dir") for a in arguments):
    arguments.append(f"--export_dir={fake_exports['mini_a']}")
  code, printed, error = analyze(*arguments, f"--out={tmp_path / 'out'}")
  assert code == 2 and error.startswith("error: ")
  assert error.count("\n") == 1, error
  assert re.search(message, error), error
  assert fake_registered == [] and not (tmp_path / "out").exists()


def test_experiments_are_named_once(analyze, fake_exports):
  with pytest.raises(app.UsageError, match="--experiment=NAME.*or --all"):
    analyze(f"--export_dir={fake_exports['mini_a']}")
  with pytest.raises(app.UsageError, match="not both"):
    analyze(f"--export_dir={fake_exports['mini_a']}", "--all",
            "--experiment=logit_probe")


@pytest.mark.parametrize("value, expected", [
    ("exports/robust", (None, "exports/robust")),
    ("robust=exports/robust/3", ("robust", "exports/robust/3")),
    ("/data/a=b/export", (None, "/data/a=b/export"))])
def test_export_dir_names(value, expected):
  with _analyze_module() as module:
    assert module.parse_export_dir(value) == expected


# End to end on tiny exports of the analyses' tests.

@pytest.fixture(scope="module")
def tiny_mini_data_dir(tmp_path_factory):
  """A TFDS data dir whose `logit_gan_shapes_mini/16` has 64 training and
  64 test images and whose `logit_gan_shapes_mini/ood_16` (the unseen
  shapes) 16 of each (tiny configs built in seconds, then put where the
  standard 16x16 configs are read from), so an export trained on
  shapes_mini reads them."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  from logit_gan.data import pipeline  # pylint: disable=import-outside-toplevel
  from logit_gan.data import shapes  # pylint: disable=import-outside-toplevel
  directory = tmp_path_factory.mktemp("tfds_mini")
  for ood, size, standard in ((False, 64, "16"), (True, 16, "ood_16")):
    tiny = shapes.make_mini_config(16, ood=ood, train_size=size,
                                   test_size=size, name=f"tiny_{standard}")
    pipeline.prepare_without_bars_in_logs(
        tfds.builder(shapes.MINI_NAME, config=tiny, data_dir=str(directory)))
    (directory / shapes.MINI_NAME / f"tiny_{standard}").rename(
        directory / shapes.MINI_NAME / standard)
  return str(directory)


@pytest.mark.slow
def test_command_probes_two_exports_on_their_dataset(
    analyze, tiny_exports, tiny_mini_data_dir, tmp_path):
  out = tmp_path / "analysis"
  arguments = [f"--export_dir={tiny_exports['robust']}",
               f"--export_dir={tiny_exports['standard']}",
               "--experiment=logit_probe", f"--out={out}",
               f"--data_dir={tiny_mini_data_dir}", "--num_images=64",
               "--gin_bindings=logit_probe.splits = 2",
               "--gin_bindings=logit_probe.resamples = 100"]
  code, printed, _ = analyze(*arguments)
  assert code is None, printed
  assert "64 test images from logit_gan_shapes_mini/16:test" in printed
  assert re.search(r"logit_probe: robust: R² .* \(ridge\); standard: R² "
                   r".* \([\d.]+ s\)", printed)
  records = results.read_metrics(out)
  scored = {(r["model"], r["params"]["factor"], r["params"]["source"])
            for r in records if r["number"] == "r2"}
  for model in ("robust", "standard"):
    for source in ("originals", "reconstructions"):
      assert (model, "foreground_hue_offset", source) in scored
      assert (model, "scale", source) in scored
  shape = [r for r in records if r["number"] == "accuracy" and r["params"][
      "factor"] == "shape"]
  assert len(shape) == 4 and all(r["n"] == 64 for r in shape)
  assert all(0 <= r["mean"] <= 1 and r["low"] <= r["high"] for r in shape)
  for name in ("robust_ridge.png", "standard_ridge_within_class.png"):
    assert (out / "logit_probe" / name).read_bytes()[:4] == b"\x89PNG"

  code, printed, _ = analyze(*arguments)  # Nothing is missing: no rerun.
  assert code is None and "logit_probe: up to date" in printed
  assert results.read_metrics(out) == records


@pytest.mark.slow
def test_bin_analyze_reports_a_bad_name_in_one_line():
  ran = subprocess.run(
      [sys.executable, str(REPO / "bin" / "analyze"), "--export_dir=x",
       "--experiment=reconstruction"], capture_output=True, text=True,
      timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
  assert ran.returncode == 2
  assert ran.stderr.startswith("error: Unknown experiment 'reconstruction'")
  assert ran.stderr.count("\n") == 1


# Settings that keep `--all` on the tiny exports within seconds per
# experiment (the arithmetic is the defaults' at smaller sizes). The tiny
# test split holds each class once and the random models get almost
# nothing right, so class_clusters groups by predicted class and
# adversarial attacks every image (its default: those both models get
# right, as the paper).
QUICK_BINDINGS = (
    "reconstructions.samples = 2", "noise_resampling.samples = 3",
    "noise_interpolation.steps = 4", "logit_interpolation.steps = 4",
    "logit_perturbation.draws = 1", "iterative_stability.rounds = 2",
    "class_clusters.class_source = 'predicted'",
    "logit_probe.splits = 2", "logit_probe.resamples = 100",
    "adversarial.select = 'all'", "factor_recovery.noise_samples = 2",
    "factor_regressor.steps = 20", "factor_regressor.train_images = 64")


@pytest.mark.slow
def test_all_experiments_end_to_end_then_the_report(
    analyze, tiny_exports, tiny_mini_data_dir, tmp_path):
  out = tmp_path / "analysis"
  arguments = [f"--export_dir={tiny_exports['robust']}",
               f"--export_dir={tiny_exports['standard']}", "--all",
               f"--out={out}", f"--data_dir={tiny_mini_data_dir}",
               "--num_images=32"] + [
                   f"--gin_bindings={binding}" for binding in QUICK_BINDINGS
               ] + [f"--gin_bindings=factor_regressor.cache_dir = "
                    f"'{tmp_path / 'regressors'}'"]
  code, printed, _ = analyze(*arguments)
  assert code is None, printed
  records = results.read_metrics(out)
  for name in registry.names():
    written = results.read_result(out, name)
    assert written is not None, (name, printed)
    finite = [n for n in written["numbers"] if n["mean"] is not None]
    assert finite, (name, written["numbers"][:3])
    assert re.search(rf"^{name}: .* \([\d.]+ s\)$", printed, re.M), name
    assert written["models"][0]["name"] == "robust"
    assert any(r["experiment"] == name for r in records), name
    for figure in written["figures"]:
      assert (out / name / figure).read_bytes()[:4] == b"\x89PNG"
  # The regressor was trained once, at the models' resolution, and cached.
  assert os.listdir(tmp_path / "regressors") == [
      "logit_gan_shapes_mini_16_16"]
  ood = results.read_result(out, "ood")
  scored = {n["params"].get("source") for n in ood["numbers"]}
  assert "shapes_mini_ood" in scored  # From --data_dir, like the test set.
  assert ("fashion_mnist_idx" in scored) != (
      "fashion_mnist_idx" in ood["settings"]["skipped"])

  from logit_gan.report import build  # pylint: disable=import-outside-toplevel
  written = build.write(str(out), str(tmp_path / "report" / "index.html"))
  text = pathlib.Path(written.index).read_text()
  for name in registry.names():
    assert f'<h2 id="{name}">' in text and "Not run" not in text
  assert "fraction_kept.png" in results.read_result(
      out, "factor_recovery")["figures"]
  numbers = json.loads(pathlib.Path(written.metrics).read_text())
  assert numbers["records"] == records and written.optimization is None
  (run,) = numbers["provenance"]["analysis_runs"]
  assert [e["name"] for e in run["exports"]] == ["robust", "standard"]
  assert run["experiments"] == registry.names()

  code, printed, _ = analyze(*arguments)  # Nothing is missing: no rerun.
  assert code is None
  for name in registry.names():
    assert f"{name}: up to date" in printed, (name, printed)
  assert results.read_metrics(out) == records
