"""A user's mistake at the command line is one line `error: ...` and exit
code 2, not a traceback: gin, paths, image files (docs/reliability.md)."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from absl.testing import flagsaver
import gin
import numpy as np
import pytest
import tensorflow as tf

import cli_main
from logit_gan import config
from logit_gan import image_files
from logit_gan import interruptions
from logit_gan import run_dir
from logit_gan.analyses import inversion
from logit_gan.analyses import registry
from logit_gan.analyses import results
from logit_gan.cli import common

REPO = pathlib.Path(__file__).resolve().parents[1]


def failing(error):
  def main(argv):
    raise error
  return main


@pytest.mark.parametrize("error", [
    ValueError("gin line 3:\n  bad value"), FileNotFoundError("No file x"),
    TypeError("'<=' not supported\n  In call to configurable 'train' (...)"),
    tf.errors.NotFoundError(None, None, "gs://b/x not found"),
    # Faults of the machine or of the training (REPORTED_FAULTS).
    run_dir.NotWritableError("Cannot write to /m (File too large). Give "
                             "--model_dir a folder ..."),
    run_dir.CheckpointWriteError("Could not write the checkpoint of step 3"),
    interruptions.WorkerLostError("Lost contact with another worker"),
    FloatingPointError("Training diverged at step 7: d_loss became NaN")])
def test_user_errors_are_one_line_and_exit_code_2(error, capsys):
  assert common.report_user_errors(failing(error))(["cmd"]) == 2
  printed = capsys.readouterr().err
  assert printed.startswith("error: ") and printed.count("\n") == 1
  assert " ".join(str(error).split()) in printed


def test_gins_note_is_left_out_of_errors_raised_in_a_configurable(capsys):
  error = FloatingPointError("Training diverged at step 3.\n  In call to "
                             "configurable 'train' (<function train at 0x7f>)")
  assert common.report_user_errors(failing(error))(["cmd"]) == 2
  assert capsys.readouterr().err == "error: Training diverged at step 3.\n"


def test_preemption_is_one_line_and_its_own_exit_code(capsys):
  preempted = interruptions.Preempted(7, "/m/ckpt-7")
  assert common.report_user_errors(failing(preempted))(["cmd"]) == 75
  assert capsys.readouterr().err == (
      "preempted (SIGTERM): saved the checkpoint of step 7, /m/ckpt-7. Rerun "
      "the same command to resume from it.\n")


def test_bugs_and_debug_keep_the_traceback():
  with pytest.raises(KeyError):
    common.report_user_errors(failing(KeyError("bug")))(["cmd"])
  with pytest.raises(TypeError):  # Not raised through a gin binding.
    common.report_user_errors(failing(TypeError("bug")))(["cmd"])
  with flagsaver.flagsaver(debug=True):
    with pytest.raises(ValueError):
      common.report_user_errors(failing(ValueError("x")))(["cmd"])


@pytest.mark.parametrize("binding, message", [
    ("Generatorr.ch = 8", "No configurable matching 'Generatorr'"),
    ("Generator.chh = 8", "doesn't have a parameter named 'chh'"),
    ("train_classifier.steps = 'many'",
     "train_classifier.steps = 'many': expected int, got str"),
    ("train.training_steps = 2.5", "expected int, got float"),
    ("GAN.fresh_generator_batch = 1", "expected bool, got int"),
    ("dataset.name = 3", "expected str, got int"),
    ("eval/Attack.steps = 2.0", "eval/Attack.steps = 2.0: expected int")])
def test_bad_gin_bindings_are_value_errors_naming_them(binding, message):
  with pytest.raises(ValueError, match="--gin_bindings.*" + message.replace(
      ".", r"\.")):
    config.parse([], [binding])


@pytest.mark.parametrize("binding", ["Generator.ch = [1", "Generator.ch == 1"])
def test_gin_syntax_errors_name_the_source(binding, capsys):
  with pytest.raises(SyntaxError) as raised:
    config.parse([], [binding])
  assert raised.value.filename == "--gin_bindings"
  assert common.report_user_errors(failing(raised.value))(["cmd"]) == 2
  assert "--gin_bindings" in capsys.readouterr().err


def test_good_values_of_the_declared_types_bind():
  config.parse([], ["Attack.epsilon = 1", "dataset.data_dir = None",
                    "train.training_steps = 3", "dataset.name = 'shapes'"])
  assert gin.query_parameter("Attack.epsilon") == 1


def test_a_missing_gin_file_lists_the_known_ones():
  with pytest.raises(FileNotFoundError) as raised:
    config.parse(["robustt.gin"])
  for known in ("robust.gin", "shapes/robust.gin", "tiny.gin"):
    assert known in str(raised.value)


def write_png(path, pixels):
  path.write_bytes(tf.io.encode_png(pixels).numpy())
  return str(path)


def write_images_of_every_kind(folder: pathlib.Path) -> dict:
  """RGBA, 16-bit greyscale, 1x1 and 4000x3000 PNGs of one value each,
  written into folder: {name: the uint8 value every pixel must read as}.
  The photo's side bands (black) are outside its centre square."""
  photo = np.full([3000, 4000, 3], 255, np.uint8)
  photo[:, :500] = photo[:, -500:] = 0
  cases = {"rgba.png": (np.full([5, 7, 4], 200, np.uint8), 200),
           "grey16.png": (np.full([6, 6, 1], 65535, np.uint16), 255),
           "one.png": (np.full([1, 1, 3], 9, np.uint8), 9),
           "photo.png": (photo, 255)}
  for name, (pixels, _) in cases.items():
    write_png(folder / name, pixels)
  return {name: value for name, (_, value) in cases.items()}


def write_unreadable_images(folder: pathlib.Path) -> list[str]:
  """A text file named .png, a truncated PNG and a corrupt JPEG in
  folder; their paths."""
  (folder / "text.png").write_text("not an image")
  whole = tf.io.encode_png(np.zeros([64, 64, 3], np.uint8)).numpy()
  (folder / "truncated.png").write_bytes(whole[:len(whole) // 2])
  jpeg = tf.io.encode_jpeg(np.zeros([50, 80, 3], np.uint8)).numpy()
  (folder / "corrupt.jpg").write_bytes(jpeg[:200])
  return [str(folder / name) for name in ("text.png", "truncated.png",
                                          "corrupt.jpg")]


def test_image_files_of_any_mode_size_and_depth_are_read(tmp_path):
  """All become uint8 [R, R, 3]; the large one is centre-cropped."""
  for name, value in write_images_of_every_kind(tmp_path).items():
    image = image_files.read(str(tmp_path / name), 16)
    assert image.dtype == tf.uint8 and image.shape == (16, 16, 3), name
    assert np.all(image.numpy() == value), name


def test_unreadable_image_files_are_value_errors_naming_them(tmp_path):
  for path in write_unreadable_images(tmp_path):
    with pytest.raises(ValueError, match=f"^{path} is not a readable PNG"):
      image_files.read(path, 16)
  with pytest.raises(FileNotFoundError, match="No image file"):
    image_files.read(str(tmp_path / "missing.png"), 16)


def test_a_folder_gives_its_images_in_name_order(tmp_path):
  for name in ("b.png", "a.JPG", "c.gif"):
    (tmp_path / name).write_bytes(b"")
  (tmp_path / "notes.txt").write_text("")
  (tmp_path / "sub.png").mkdir()
  notes = []
  paths = image_files.expand_folders([str(tmp_path), "x.png"],
                                     note=notes.append)
  assert [os.path.basename(p) for p in paths] == [
      "a.JPG", "b.png", "c.gif", "x.png"]
  assert len(notes) == 1 and "notes.txt, sub.png" in notes[0]
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="No image files"):
    image_files.expand_folders([str(tmp_path / "empty")])


def run_command(command, *args, cwd):
  return subprocess.run([sys.executable, str(REPO / "bin" / command), *args],
                        capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.mark.slow  # Three subprocesses importing TensorFlow.
def test_commands_report_user_errors_as_one_line(tmp_path):
  ran = run_command("train_classifier", "--gin_file=shapes/classifier_robust",
                    "--gin_bindings=train_classifier.steps = 'many'",
                    f"--output_dir={tmp_path / 'out'}", cwd=tmp_path)
  assert ran.returncode == 2, ran.stderr[-3000:]
  assert ran.stderr.splitlines()[-1] == (
      "error: --gin_bindings:1: train_classifier.steps = 'many': expected "
      "int, got str.")
  assert "Traceback" not in ran.stderr
  assert not (tmp_path / "out").exists()  # Nothing written.
  ran = run_command("reconstruct", f"--export_dir={tmp_path / 'none'}",
                    f"--images={tmp_path}", cwd=tmp_path)
  assert ran.returncode == 2, ran.stderr[-3000:]
  assert ran.stderr.splitlines()[-1] == (
      f"error: No image files (.png, .jpg, .jpeg, .gif, .bmp) in the folder "
      f"{tmp_path}.")
  assert "Traceback" not in ran.stderr
  # A model_dir that cannot be written, refused before anything is built.
  (tmp_path / "file").write_text("")
  ran = run_command("train", "--gin_file=tiny.gin",
                    "--gin_bindings=classifier.name = 'small_resnet'",
                    "--gin_bindings=classifier.num_classes = 10",
                    f"--model_dir={tmp_path / 'file' / 'model'}", cwd=tmp_path)
  assert ran.returncode == 2, ran.stderr[-3000:]
  assert ran.stderr.splitlines()[-1].startswith(
      f"error: Cannot write to {tmp_path / 'file' / 'model'} (")
  assert "Traceback" not in ran.stderr


class _NotAnExport(tf.Module):
  """A SavedModel that is not one of bin/export: a variable, no describe."""

  def __init__(self):
    super().__init__()
    self.weights = tf.Variable(tf.ones([1000]))
    self.double = tf.function(lambda x: 2 * x * self.weights[0],
                              input_signature=[tf.TensorSpec([], tf.float32)])


def not_exports(root: pathlib.Path) -> dict:
  """{case: (path, the error it must give)}: folders that are not an
  export, each made under root."""
  model_dir = root / "model_dir"  # A bin/train model_dir given instead.
  model_dir.mkdir(parents=True)
  (model_dir / "run.json").write_text("{}")
  (root / "empty" / "1").mkdir(parents=True)  # A version without a model.
  (root / "garbage" / "1").mkdir(parents=True)
  (root / "garbage" / "1" / "saved_model.pb").write_bytes(b"\x00\xffnot")
  tf.saved_model.save(_NotAnExport(), str(root / "other" / "1"))
  shutil.copytree(root / "other", root / "truncated")
  data = next((root / "truncated" / "1" / "variables").glob("*.data-*"))
  data.write_bytes(data.read_bytes()[:100])
  return {
      "missing": (root / "missing", f"No export {root / 'missing'}: give a "
                  "bin/export --export_dir or one of its version folders"),
      "model_dir": (model_dir, f"{model_dir} is not a SavedModel .*it is a "
                    "bin/train model_dir: export it first with bin/export "
                    f"--model_dir={model_dir}"),
      "empty_version": (root / "empty", "is not a SavedModel \\(no "
                        "saved_model.pb\\) and holds no numbered version"),
      "garbage": (root / "garbage", f"The SavedModel {root / 'garbage' / '1'}"
                  " does not load \\(.*\\): its files are damaged or "
                  "incomplete; export it again with bin/export"),
      "truncated": (root / "truncated", f"The SavedModel "
                    f"{root / 'truncated' / '1'} does not load"),
      "other": (root / "other", f"{root / 'other' / '1'} is a SavedModel but "
                "not one of bin/export \\(it has no `describe` endpoint\\)")}


@pytest.fixture(scope="module")
def bad_exports(tmp_path_factory):
  return not_exports(tmp_path_factory.mktemp("not_exports"))


def assert_one_error_line(ran, pattern):
  assert ran.code == 2, ran.err[-3000:]
  assert ran.err.startswith("error: ") and ran.err.count("\n") == 1, ran.err
  assert re.search(pattern, ran.err), ran.err


@pytest.mark.parametrize("case", ["missing", "model_dir", "empty_version",
                                  "garbage", "truncated", "other"])
@pytest.mark.parametrize("command", ["reconstruct", "analyze"])
def test_a_folder_that_is_not_an_export_is_one_error_line(
    bad_exports, recording, tmp_path, command, case):
  path, message = bad_exports[case]
  image = write_png(tmp_path / "a.png", np.zeros([4, 4, 3], np.uint8))
  arguments = ([f"--images={image}"] if command == "reconstruct"
               else ["--experiment=record", f"--images={image}"])
  ran = cli_main.call(command, f"--export_dir={path}", *arguments,
                      f"--out={tmp_path / 'out'}")
  assert_one_error_line(ran, message)
  assert not (tmp_path / "out").exists() and not recording


# Images given to bin/analyze (read by the same image_files.read).

SEEN = []


def record_examples(models, examples, *, seed=0):
  """An experiment that keeps the test images it is given."""
  SEEN.append(examples)
  result = results.Result("record", settings={"seed": seed},
                          models=[m.describe() for m in models],
                          examples=examples.describe())
  result.summary = f"{len(examples)} images"
  return result


@pytest.fixture
def recording(monkeypatch):
  """bin/analyze --experiment=record keeps its Examples in the list."""
  SEEN.clear()
  monkeypatch.setitem(registry.EXPERIMENTS, "record", record_examples)
  return SEEN


class _MeanColour(inversion.InversionModel):
  """A 16x16 inversion model in this process: logits = mean colour."""
  name, num_classes, z_dim, resolution = "mean_colour", 3, 1, 16

  def classify_tensor(self, images):
    return tf.reduce_mean(images, axis=[1, 2])

  def _reconstruct(self, logits, noise):
    return tf.tile(logits[:, None, None], [1, 16, 16, 1])


@pytest.fixture
def analyze_images(monkeypatch, recording, tmp_path):
  """analyze_images(*paths) -> (Ran, Examples or None): bin/analyze
  --images on the paths, with the mean-colour model for --export_dir."""
  monkeypatch.setattr(inversion, "load", lambda *_, **__: _MeanColour())
  def call(*paths):
    ran = cli_main.call("analyze", "--export_dir=model", "--experiment=record",
                        *[f"--images={p}" for p in paths],
                        f"--out={tmp_path / 'out'}")
    return ran, (recording[-1] if recording else None)
  return call


def test_analyze_reads_a_folder_of_images_of_any_kind(analyze_images,
                                                      tmp_path):
  folder = tmp_path / "images"
  folder.mkdir()
  values = write_images_of_every_kind(folder)
  (folder / "notes.txt").write_text("")
  (folder / "sub.png").mkdir()
  ran, examples = analyze_images(folder)
  assert ran.code is None, ran.err[-3000:]
  assert ran.err.startswith(f"note: skipped 2 file(s) in {folder}")
  assert "notes.txt, sub.png" in ran.err and "record: 4 images" in ran.out
  assert examples.images.shape == (4, 16, 16, 3)
  for image, name in zip(examples.images, sorted(values)):  # Name order.
    np.testing.assert_allclose(image, values[name] / 127.5 - 1, atol=1e-6)


def test_analyze_refuses_unreadable_images_in_one_line(analyze_images,
                                                       tmp_path):
  for path in write_unreadable_images(tmp_path):
    ran, examples = analyze_images(path)
    assert_one_error_line(ran, f"^error: {path} is not a readable PNG, "
                          "JPEG, GIF or BMP image \\(.+\\)")
    assert examples is None and not (tmp_path / "out").exists()
