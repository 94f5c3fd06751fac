"""Export of a trained tiny run, and loading it the ways users do: in a
process that cannot import logit_gan, TF-Hub style, as a Keras layer, with
saved_model_cli."""

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import gin
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import config
from logit_gan import export
from logit_gan import run_dir as run_dir_lib
from logit_gan import trained
from logit_gan import trainer
from logit_gan.classifiers import zoo
from logit_gan.data import shapes
from logit_gan.generator import Generator

NUM_CLASSES, BATCH = 10, 3

# Run in a fresh interpreter: logit_gan must not be importable there.
NO_LOGIT_GAN = textwrap.dedent("""\
    import importlib.abc, sys
    class _Refuse(importlib.abc.MetaPathFinder):
      def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "logit_gan":
          raise ImportError("logit_gan is hidden from this process")
    sys.meta_path.insert(0, _Refuse())
    sys.path = [p for p in sys.path if p not in ("", ".")]
    try:
      import logit_gan
      raise SystemExit("logit_gan was importable")
    except ImportError:
      pass
    """)


def run_isolated(code: str, cwd) -> subprocess.CompletedProcess:
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  return subprocess.run([sys.executable, "-c", NO_LOGIT_GAN + code],
                        cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_shapes_data_dir):
  """A 2-step tiny training run with a saved (random) classifier."""
  root = tmp_path_factory.mktemp("export_run")
  classifier_path = root / "classifier.keras"
  zoo.save(zoo.small_resnet(NUM_CLASSES, width=8), str(classifier_path))
  gin.clear_config()
  config.parse(["tiny.gin"], [
      "dataset.name = 'shapes'",
      f"dataset.data_dir = '{tiny_shapes_data_dir}'",
      "classifier.name = 'small_resnet'",
      f"classifier.path = '{classifier_path}'",
      "train.batch_size = 4", "train.training_steps = 2",
      "train.iterations_per_loop = 1", "train.save_checkpoints_steps = 2",
      "train.eval_every_steps = 100", "train.eval_examples = 8",
      "train.grid_examples = 2", "train.grid_samples = 1",
      "train.standing_statistics_batches = 2",
      "GAN.ema_start_step = 1", "GAN.ema_decay = 0.5"])
  model_dir = root / "model"
  trainer.train(str(model_dir))
  gin.clear_config()
  return model_dir


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
  """(trained run, version dir, in-process reference outputs)."""
  run = trained.load(str(run_dir))
  export_dir = tmp_path_factory.mktemp("exports") / "tiny"
  version = pathlib.Path(export.export(
      run.model.inference_generator, str(export_dir),
      metadata={"classifier": run.classifier.name, "training_step": run.step,
                "gin_config": run.gin_config},
      classifier=run.classifier))
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 3, [BATCH, NUM_CLASSES]).astype(np.float32)
  noise = rng.normal(size=[BATCH, run.model.z_dim]).astype(np.float32)
  seeds = np.array([5, 0, 123456789012], np.int64)
  generator = run.model.inference_generator
  images = rng.integers(0, 256, [BATCH, 32, 32, 3], dtype=np.uint8)
  reference = {
      "logits": logits, "noise": noise, "seed": seeds, "images": images,
      "from_logits": generator(logits, noise, training=False).numpy(),
      "seeded": generator(logits, export.seeded_noise(seeds, 120),
                          training=False).numpy(),
      "classifier_logits": run.classifier(
          images.astype(np.float32) / 127.5 - 1).numpy()}
  np.savez(export_dir / "reference.npz", **reference)
  return run, version, reference


@pytest.mark.slow
def test_version_layout_and_metadata(exported):
  run, version, _ = exported
  assert version.name == "1"
  assert (version / "saved_model.pb").exists()
  info = json.loads((version / export.METADATA_FILE).read_text())
  assert info["num_classes"] == NUM_CLASSES
  assert info["z_dim"] == 120 and info["resolution"] == 32
  assert info["training_step"] == run.step == 2
  assert "Generator.ch = 8" in info["gin_config"]
  assert run.class_names == shapes.IN_DISTRIBUTION_CLASSES


@pytest.mark.slow
def test_reload_without_logit_gan_matches_in_process(exported):
  _, version, _ = exported
  code = textwrap.dedent(f"""
      import numpy as np, tensorflow as tf
      ref = np.load({str(version.parent / 'reference.npz')!r})
      model = tf.saved_model.load({str(version)!r})
      out = {{}}
      r = model.signatures["serving_default"](
          logits=tf.constant(ref["logits"]), noise=tf.constant(ref["noise"]))
      out["from_logits"] = r["images_float"].numpy()
      out["from_logits_uint8"] = r["images"].numpy()
      r = model.signatures["reconstruct_from_logits_seeded"](
          logits=tf.constant(ref["logits"]), seed=tf.constant(ref["seed"]))
      out["seeded"] = r["images_float"].numpy()
      r = model.signatures["reconstruct"](images=tf.constant(ref["images"]))
      out["classifier_logits"] = r["logits"].numpy()
      out["predicted_class"] = r["predicted_class"].numpy()
      d = model.describe()
      out["num_classes"] = d["num_classes"].numpy()
      np.savez({str(version.parent / 'reloaded.npz')!r}, **out)
      """)
  result = run_isolated(code, version.parent)
  assert result.returncode == 0, result.stderr[-3000:]
  ref = np.load(version.parent / "reference.npz")
  out = np.load(version.parent / "reloaded.npz")
  np.testing.assert_allclose(out["from_logits"], ref["from_logits"],
                             atol=1e-5)
  expected_uint8 = np.clip(np.round((ref["from_logits"] + 1) * 127.5), 0,
                           255)
  assert np.abs(out["from_logits_uint8"].astype(int) - expected_uint8).max() <= 1
  np.testing.assert_allclose(out["seeded"], ref["seeded"], atol=1e-5)
  np.testing.assert_allclose(out["classifier_logits"],
                             ref["classifier_logits"], atol=1e-4)
  np.testing.assert_array_equal(out["predicted_class"],
                                ref["classifier_logits"].argmax(-1))
  assert out["num_classes"] == NUM_CLASSES


@pytest.mark.slow
def test_seeded_signature_is_deterministic_across_loads(exported):
  _, version, reference = exported
  loaded = [tf.saved_model.load(str(version)) for _ in range(2)]
  logits = tf.constant(reference["logits"])
  first, second = [
      m.signatures["reconstruct_from_logits_seeded"](
          logits=logits, seed=tf.constant(reference["seed"]))["images"]
      for m in loaded]
  np.testing.assert_array_equal(first.numpy(), second.numpy())
  # Row i depends on seed[i] alone, not on the rest of the batch.
  alone = loaded[0].signatures["reconstruct_from_logits_seeded"](
      logits=logits[1:2], seed=tf.constant(reference["seed"][1:2]))["images"]
  np.testing.assert_array_equal(alone.numpy()[0], first.numpy()[1])


def call_endpoint(version, name, via, **inputs):
  """Calls endpoint `name` as the restored method (`model.<name>(...)`) or
  through `model.signatures[name]` (what TF Serving runs)."""
  model = tf.saved_model.load(str(version))
  tensors = {k: tf.constant(v) for k, v in inputs.items()}
  if via == "signature":
    return model.signatures[name](**tensors)
  return getattr(model, name)(tensors)


BAD_INPUTS = {
    "rank": (dict(logits=np.zeros([2, 1, NUM_CLASSES], np.float32),
                  noise=np.zeros([2, 120], np.float32)), "logits"),
    "width": (dict(logits=np.zeros([2, NUM_CLASSES + 1], np.float32),
                   noise=np.zeros([2, 120], np.float32)), "logits"),
    "z_dim": (dict(logits=np.zeros([2, NUM_CLASSES], np.float32),
                   noise=np.zeros([2, 64], np.float32)), "noise"),
    "empty": (dict(logits=np.zeros([0, NUM_CLASSES], np.float32),
                   noise=np.zeros([0, 120], np.float32)), "empty batch"),
    "batch_mismatch": (dict(logits=np.zeros([2, NUM_CLASSES], np.float32),
                            noise=np.zeros([3, 120], np.float32)),
                       "noise and logits"),
}


@pytest.mark.slow
@pytest.mark.parametrize("via", ["method", "signature"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_fail_naming_the_input(exported, case, via):
  _, version, _ = exported
  inputs, named = BAD_INPUTS[case]
  with pytest.raises((ValueError, TypeError,
                      tf.errors.InvalidArgumentError)) as error:
    call_endpoint(version, "reconstruct_from_logits", via, **inputs)
  assert named in str(error.value)


@pytest.mark.slow
def test_wrong_dtype_is_refused_before_running(exported):
  _, version, _ = exported
  inputs = dict(logits=np.zeros([2, NUM_CLASSES], np.int32),
                noise=np.zeros([2, 120], np.float32))
  with pytest.raises(TypeError, match="dtype=tf.int32, name='logits'"):
    call_endpoint(version, "reconstruct_from_logits", "method", **inputs)
  # The signature (TF Serving's path) names the input by its position.
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"input #0.*expected to be a float tensor"):
    call_endpoint(version, "reconstruct_from_logits", "signature", **inputs)


@pytest.mark.slow
def test_image_of_the_wrong_size_is_refused_not_resized(exported):
  _, version, _ = exported
  with pytest.raises((ValueError, TypeError)) as error:
    call_endpoint(version, "reconstruct", "method",
                  images=np.zeros([1, 64, 64, 3], np.uint8))
  assert "images" in str(error.value)


@pytest.mark.slow
def test_exporting_again_makes_version_2_and_keeps_1(exported):
  run, version, _ = exported
  files = {p: p.read_bytes() for p in version.rglob("*") if p.is_file()}
  second = pathlib.Path(export.export(
      run.model.inference_generator, str(version.parent),
      metadata={"classifier": "none", "training_step": 2,
                "gin_config": ""}))
  assert second.name == "2"
  assert {p: p.read_bytes() for p in version.rglob("*")
          if p.is_file()} == files
  assert not list(version.parent.glob(".*incomplete"))
  loaded = tf.saved_model.load(str(second))
  assert "reconstruct" not in loaded.signatures


@pytest.mark.slow
def test_keras_tfsm_layer_inside_a_keras_model(exported):
  import keras
  _, version, reference = exported
  layer = keras.layers.TFSMLayer(str(version),
                                 call_endpoint="reconstruct_from_logits")
  logits = keras.Input([NUM_CLASSES], name="logits")
  noise = keras.Input([120], name="noise")
  outputs = layer({"logits": logits, "noise": noise})
  model = keras.Model([logits, noise], outputs["images_float"])
  images = model([reference["logits"], reference["noise"]])
  np.testing.assert_allclose(np.asarray(images), reference["from_logits"],
                             atol=1e-5)
  # Pixels to reconstruction, the classifier bundled.
  layer = keras.layers.TFSMLayer(str(version), call_endpoint="reconstruct")
  pixels = keras.Input([32, 32, 3], dtype="uint8", name="images")
  model = keras.Model(pixels, layer({"images": pixels})["logits"])
  np.testing.assert_allclose(np.asarray(model(reference["images"])),
                             reference["classifier_logits"], atol=1e-4)


REPO = pathlib.Path(__file__).resolve().parents[1]
REQUESTS = sorted((REPO / "export" / "requests").glob("*.json"))


def load_grpc_example():
  import importlib.util
  spec = importlib.util.spec_from_file_location(
      "grpc_predict", REPO / "export" / "grpc_predict.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_example_requests_fit_the_demo_model():
  """The bodies are for `make demo`'s shapes_robust export: its image size,
  noise width and logit width (the shapes classes)."""
  gin.clear_config()
  config.parse(["shapes/robust.gin"], [])
  try:
    generator = Generator()  # Builds no weights.
    resolution, z_dim = generator.resolution, generator.z_dim
  finally:
    gin.clear_config()
  widths = {"images": [resolution, resolution, 3], "noise": [z_dim],
            "logits": [len(shapes.IN_DISTRIBUTION_CLASSES)], "seed": []}
  for request_file in REQUESTS:
    for row in json.loads(request_file.read_text())["instances"]:
      for name, value in row.items():
        assert list(np.shape(value)) == widths[name], (request_file.name, name)


def _at_resolution(body: dict, resolution: int) -> dict:
  """`body` with its images resized to the test model's size (the bodies
  are for the demo's 16x16 model; the tiny test model is 32x32)."""
  rows = []
  for row in body["instances"]:
    if "images" in row:
      image = tf.image.resize(np.asarray(row["images"], np.float32),
                              [resolution, resolution], method="bilinear")
      row = {**row, "images": np.round(image.numpy()).astype(int).tolist()}
    rows.append(row)
  return {**body, "instances": rows}


@pytest.mark.slow
@pytest.mark.parametrize("request_file", REQUESTS, ids=lambda p: p.stem)
def test_example_requests_match_the_signatures(exported, request_file):
  """The REST bodies in export/requests, and the gRPC PredictRequest the
  example client builds from them, have the signature's input names,
  dtypes and shapes, and run on it."""
  from tensorflow_serving.apis import predict_pb2
  run, version, _ = exported
  model = tf.saved_model.load(str(version))
  body = _at_resolution(json.loads(request_file.read_text()),
                        run.model.inference_generator.resolution)
  signature = model.signatures[body["signature_name"]]
  specs = signature.structured_input_signature[1]
  rows = body["instances"]
  assert all(set(row) == set(specs) for row in rows)
  # REST row format: one value per input per instance, batched by TF
  # Serving into [len(rows), ...].
  rest = {name: tf.constant([row[name] for row in rows], spec.dtype)
          for name, spec in specs.items()}
  for name, spec in specs.items():
    assert spec.shape.is_compatible_with(rest[name].shape), name
  outputs = signature(**rest)
  grpc_example = load_grpc_example()
  request = grpc_example.build_request("shapes_robust", body)
  assert isinstance(request, predict_pb2.PredictRequest)
  assert request.model_spec.signature_name == body["signature_name"]
  assert set(request.inputs) == set(specs)
  grpc_inputs = {name: tf.constant(tf.make_ndarray(proto))
                 for name, proto in request.inputs.items()}
  for name, spec in specs.items():
    assert grpc_inputs[name].dtype == spec.dtype, name
    assert spec.shape.is_compatible_with(grpc_inputs[name].shape), name
  for name, value in signature(**grpc_inputs).items():
    np.testing.assert_array_equal(value.numpy(), outputs[name].numpy())


@pytest.mark.slow
def test_saved_model_cli_shows_and_runs(exported, tmp_path):
  _, version, reference = exported
  cli = pathlib.Path(sys.executable).parent / "saved_model_cli"
  shown = subprocess.run([str(cli), "show", "--dir", str(version), "--all"],
                         capture_output=True, text=True, timeout=300)
  assert shown.returncode == 0, shown.stderr[-2000:]
  for name in ("serving_default", "reconstruct_from_logits",
               "reconstruct_from_logits_seeded", "reconstruct", "describe"):
    assert f"signature_def['{name}']" in shown.stdout
  np.save(tmp_path / "logits.npy", reference["logits"])
  np.save(tmp_path / "noise.npy", reference["noise"])
  ran = subprocess.run(
      [str(cli), "run", "--dir", str(version), "--tag_set", "serve",
       "--signature_def", "reconstruct_from_logits", "--inputs",
       f"logits={tmp_path / 'logits.npy'};noise={tmp_path / 'noise.npy'}",
       "--outdir", str(tmp_path / "out")],
      capture_output=True, text=True, timeout=300)
  assert ran.returncode == 0, ran.stderr[-2000:]
  np.testing.assert_allclose(np.load(tmp_path / "out" / "images_float.npy"),
                             reference["from_logits"], atol=1e-5)


@pytest.mark.slow
def test_tensorflow_hub_load_without_logit_gan(exported):
  _, version, reference = exported
  code = textwrap.dedent(f"""
      import numpy as np, tensorflow as tf, tensorflow_hub as hub
      ref = np.load({str(version.parent / 'reference.npz')!r})
      model = hub.load({str(version)!r})
      images = model.reconstruct_from_logits(
          {{"logits": tf.constant(ref["logits"]),
            "noise": tf.constant(ref["noise"])}})["images_float"]
      np.testing.assert_allclose(images.numpy(), ref["from_logits"],
                                 atol=1e-5)
      print("hub ok")
      """)
  result = run_isolated(code, version.parent)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "hub ok" in result.stdout


def run_bin(name, *args, cwd=REPO):
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  return subprocess.run([sys.executable, str(REPO / "bin" / name), *args],
                        cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=600)


@pytest.mark.slow
def test_bin_export_then_bin_reconstruct(run_dir, tmp_path):
  export_dir = tmp_path / "exports"
  # (Versions after the first: test_exporting_again_makes_version_2_...)
  result = run_bin("export", f"--model_dir={run_dir}",
                   f"--export_dir={export_dir}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"{export_dir / '1'}" in result.stdout
  # Any size and format: centre-cropped and resized to 32x32.
  rng = np.random.default_rng(1)
  wide = rng.integers(0, 256, [40, 60, 3], dtype=np.uint8)
  small = rng.integers(0, 256, [20, 20, 3], dtype=np.uint8)
  tf.io.write_file(str(tmp_path / "wide.png"), tf.io.encode_png(wide))
  tf.io.write_file(str(tmp_path / "small.jpg"), tf.io.encode_jpeg(small))
  out = tmp_path / "grid.png"
  result = run_bin("reconstruct", f"--export_dir={export_dir}", "--images",
                   str(tmp_path / "wide.png"), str(tmp_path / "small.jpg"),
                   "--num_samples=3", f"--out={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "from " + str(export_dir / "1") in result.stdout
  # Each image's predicted class, by number and by the dataset's name.
  printed = re.findall(r"predicted class (\d+) \((\w+)\)", result.stdout)
  assert len(printed) == 2
  assert all(shapes.IN_DISTRIBUTION_CLASSES[int(i)] == name
             for i, name in printed)
  grid = tf.io.decode_png(tf.io.read_file(str(out))).numpy()
  # evaluation.reconstruction_grid's layout: 32x32 tiles shown at 64x64.
  border, gap, tile = 2, 4, 64
  assert grid.shape == (2 * (tile + border) + border,
                        4 * (tile + border) + border + gap, 3)
  # Row 1, column 0 is the original: wide.png centre-cropped to 40x40.
  expected = tf.image.resize(wide[:, 10:50][None].astype(np.float32),
                             [32, 32], method="area")[0].numpy()
  shown = grid[border:border + tile, border:border + tile].astype(np.float32)
  np.testing.assert_array_equal(shown[0::2, 0::2], shown[1::2, 1::2])
  assert np.abs(shown[::2, ::2] - np.round(expected)).max() <= 1


@pytest.mark.slow
def test_bin_reconstruct_missing_image_is_a_clear_error(exported, tmp_path):
  _, version, _ = exported
  result = run_bin("reconstruct", f"--export_dir={version}",
                   f"--images={tmp_path / 'nope.png'}")
  assert result.returncode != 0
  assert "No image file" in result.stderr


@pytest.mark.slow
def test_load_rebuilds_from_the_record_whatever_gin_holds(run_dir, exported):
  """run.json records the run; loading it after gin.clear_config(), with gin
  holding bindings that would build other networks, classifier and data,
  gives the same model, and leaves gin's bindings as they were."""
  run, _, _ = exported
  record = run_dir_lib.read_record(str(run_dir))
  assert record.dataset["name"] == "shapes" and record.resolution == 32
  assert record.classifier["name"] == "small_resnet"
  assert record.generator["ch"] == 8 and record.batch_size == 4
  assert record.gan["use_ema"] and record.standing_statistics_batches == 2
  assert record.gan["eval_distribution"] == "normal"
  gin.clear_config()
  unrelated = ["Generator.ch = 16", "Discriminator.ch = 4",
               "classifier.name = 'resnet50'", "dataset.name = 'mnist'",
               "train.seed = 3", "train.batch_size = 7", "GAN.use_ema = False",
               "eval_z.distribution_fn = @tf.random.stateless_uniform"]
  config.parse([], unrelated)
  before = gin.config_str()
  again = trained.load(str(run_dir))
  assert gin.config_str() == before
  assert again.step == run.step and again.record == record
  ours = again.model.inference_generator.weights
  theirs = run.model.inference_generator.weights
  assert [w.path for w in ours] == [w.path for w in theirs]
  for a, b in zip(ours, theirs):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=b.path)


@pytest.mark.slow
def test_load_of_a_run_from_before_the_record(run_dir, exported, tmp_path):
  """A model_dir without run.json loads from its operative config."""
  import shutil
  run, _, _ = exported
  old = shutil.copytree(run_dir, tmp_path / "old")
  (old / run_dir_lib.RECORD_FILE).unlink()
  loaded = trained.load(str(old))
  assert loaded.step == run.step
  for a, b in zip(loaded.model.inference_generator.weights,
                  run.model.inference_generator.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=b.path)


def test_load_refuses_bindings_that_change_the_run():
  record = run_dir_lib.RunRecord(
      dataset={"name": "shapes", "data_dir": None, "shuffle_buffer": 10},
      resolution=32, batch_size=4, seed=8, standing_statistics_batches=1,
      classifier={"name": "small_resnet"}, generator={}, discriminator={},
      gan={})
  moved = trained._override(record, ["classifier.path = '/new/c.keras'",
                                     "dataset.data_dir = '/new'"])
  assert moved.classifier == {"name": "small_resnet",
                              "path": "/new/c.keras"}
  assert moved.dataset["data_dir"] == "/new"
  with pytest.raises(ValueError, match="only classifier.\\*, dataset.\\*"):
    trained._override(record, ["Generator.ch = 16"])
