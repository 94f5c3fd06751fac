"""Bad paths given to the bin/ commands: a model_dir holding another
architecture's checkpoint, a damaged checkpoint, a classifier of another
logit width, a logit cache of another classifier, a dataset that does not
exist. Each is one line `error: ...` naming the problem and the fix, exit
code 2, and nothing written over (docs/reliability.md).

The commands run in this process (tests/cli_main.py) on one tiny run
trained for 0 steps (ckpt-0, run.json, a logit cache), made once."""

import hashlib
import json
import os
import pathlib
import re
import shutil

import keras
import pytest

import cli_main
import trainer_runs
from logit_gan import checkpoint_check
from logit_gan.classifiers import zoo
from logit_gan.classifiers.small_resnet import small_resnet

pytestmark = pytest.mark.slow  # The run: ~10 s.


def contents(folder) -> dict:
  """{relative path: SHA-256} of every file under folder."""
  folder = pathlib.Path(folder)
  return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes())
          .hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory, tiny_shapes_data_dir):
  """{"run": a model_dir trained on classifier "a" through "cache", "a",
  "b" (10 logits, other weights), "five" (5 logits): .keras files,
  "cache": its logit cache, "data_dir"}."""
  root = tmp_path_factory.mktemp("bad_paths")
  files = {"data_dir": tiny_shapes_data_dir, "cache": root / "cache",
           "run": root / "run"}
  for name, classes, seed in (("a", 10, 1), ("b", 10, 2), ("five", 5, 3)):
    keras.utils.set_random_seed(seed)
    files[name] = root / f"{name}.keras"
    zoo.save(small_resnet(classes, resolution=trainer_runs.RESOLUTION,
                          width=4), str(files[name]))
  trainer_runs.run(files["run"], tiny_shapes_data_dir, **{
      "train.training_steps": "0", "classifier.path": f"'{files['a']}'",
      "classifier.num_classes": "None",
      "train.logit_cache_dir": f"'{files['cache']}'"})
  return files


def copy_run(made, tmp_path) -> pathlib.Path:
  model_dir = tmp_path / "run"
  shutil.copytree(made["run"], model_dir)
  return model_dir


def assert_refused(ran, *patterns):
  assert ran.code == 2, ran.err[-3000:]
  assert ran.err.startswith("error: ") and ran.err.count("\n") == 1, ran.err
  for pattern in patterns:
    assert re.search(pattern, ran.err), ran.err


def export(model_dir, export_dir, *bindings):
  return cli_main.call("export", f"--model_dir={model_dir}",
                       f"--export_dir={export_dir}",
                       *[f"--gin_bindings={b}" for b in bindings])


def test_export_refuses_a_run_json_of_another_architecture(made, tmp_path):
  model_dir = copy_run(made, tmp_path)
  record = json.loads((model_dir / "run.json").read_text())
  record["generator"]["ch"] *= 2  # As if run.json came from another run.
  (model_dir / "run.json").write_text(json.dumps(record))
  before = contents(model_dir)
  assert_refused(
      export(model_dir, tmp_path / "exports"),
      f"The checkpoint {model_dir}/ckpt-0 does not fit the networks "
      f"{model_dir}/run.json describes \\(.*incompatible tensor",
      "Give the model_dir the checkpoint was trained in")
  assert contents(model_dir) == before
  assert not (tmp_path / "exports").exists()


def test_train_refuses_a_model_dir_of_another_architecture(made, tmp_path):
  model_dir = copy_run(made, tmp_path)
  before = contents(model_dir)
  bindings = trainer_runs.tiny_bindings(made["data_dir"], **{
      "Generator.ch": "16", "classifier.path": f"'{made['a']}'",
      "classifier.num_classes": "None",
      "train.logit_cache_dir": f"'{made['cache']}'"})
  ran = cli_main.call("train", "--gin_file=tiny.gin",
                      *[f"--gin_bindings={b}" for b in bindings],
                      f"--model_dir={model_dir}")
  assert_refused(ran, f"{model_dir} holds a checkpoint .* that does not fit "
                 "this model: .*incompatible tensor", "Use a new --model_dir")
  assert "In call to configurable" not in ran.err  # gin's note is dropped.
  assert contents(model_dir) == before  # operative_config.gin, run.json too.


def truncate_data(model_dir):
  data = model_dir / "ckpt-1.data-00000-of-00001"
  data.write_bytes(data.read_bytes()[:data.stat().st_size // 2])


def garble_index(model_dir):
  index = model_dir / "ckpt-1.index"
  index.write_bytes(bytes(b ^ 0x5A for b in index.read_bytes()))


def remove_data(model_dir):
  (model_dir / "ckpt-1.data-00000-of-00001").unlink()


def damaged_copy(made, tmp_path, damage) -> pathlib.Path:
  """A copy of the run with a ckpt-1 (ckpt-0 again) damaged."""
  model_dir = copy_run(made, tmp_path)
  for suffix in (".index", ".data-00000-of-00001"):
    shutil.copy(model_dir / f"ckpt-0{suffix}", model_dir / f"ckpt-1{suffix}")
  (model_dir / "checkpoint").write_text(
      'model_checkpoint_path: "ckpt-1"\n'
      'all_model_checkpoint_paths: "ckpt-0"\n'
      'all_model_checkpoint_paths: "ckpt-1"\n')
  damage(model_dir)
  return model_dir


DAMAGES = [(truncate_data, "Read less bytes than requested"),
           (garble_index, "not an sstable"),
           (remove_data, "ckpt-1.data-00000-of-00001; No such file")]


@pytest.mark.parametrize("damage, reason", DAMAGES)
def test_a_damaged_checkpoint_is_named_with_an_earlier_one(
    made, tmp_path, damage, reason):
  model_dir = damaged_copy(made, tmp_path, damage)
  assert checkpoint_check.damage(str(model_dir / "ckpt-0")) is None
  with pytest.raises(checkpoint_check.CheckpointDamagedError) as raised:
    checkpoint_check.check_readable(str(model_dir / "ckpt-1"),
                                    model_dir=str(model_dir))
  assert re.search(f"The checkpoint {model_dir}/ckpt-1 is damaged: .*"
                   f"{reason}.*missing, truncated or corrupt.*give an "
                   f"earlier one, --checkpoint={model_dir}/ckpt-0",
                   str(raised.value)), str(raised.value)


# Through bin/export: a truncated shard (TensorFlow's IndexError) and a
# garbled index (its restore error); a deleted shard fails as the latter.
@pytest.mark.parametrize("damage, reason", DAMAGES[:2])
def test_export_refuses_a_damaged_checkpoint(made, tmp_path, damage, reason):
  model_dir = damaged_copy(made, tmp_path, damage)
  before = contents(model_dir)
  assert_refused(export(model_dir, tmp_path / "exports"),
                 f"The checkpoint {model_dir}/ckpt-1 is damaged: .*{reason}",
                 f"give an earlier one, --checkpoint={model_dir}/ckpt-0")
  assert contents(model_dir) == before
  assert not (tmp_path / "exports").exists()


def test_export_refuses_a_classifier_of_another_logit_width(made, tmp_path):
  assert_refused(
      export(made["run"], tmp_path / "exports",
             f"classifier.path = '{made['five']}'"),
      "five.keras'} gives 5 logits, but the generator in .* takes 10: it "
      f"was trained on .*'path': '{made['a']}'}} \\(run.json\\)",
      "bind classifier.path to where its file moved")
  assert not (tmp_path / "exports").exists()


def train(made, model_dir):
  """bin/train of 0 steps on model_dir, with the made run's settings."""
  bindings = trainer_runs.tiny_bindings(made["data_dir"], **{
      "train.training_steps": "0", "classifier.path": f"'{made['a']}'",
      "classifier.num_classes": "None",
      "train.logit_cache_dir": f"'{made['cache']}'"})
  return cli_main.call("train", "--gin_file=tiny.gin",
                       *[f"--gin_bindings={b}" for b in bindings],
                       f"--model_dir={model_dir}")


@pytest.mark.parametrize("damage, reason", DAMAGES)
def test_train_names_a_damaged_checkpoint_and_how_to_resume_before_it(
    made, tmp_path, damage, reason):
  model_dir = damaged_copy(made, tmp_path, damage)
  before = contents(model_dir)
  ran = train(made, model_dir)
  assert_refused(ran, f"The checkpoint {model_dir}/ckpt-1 is damaged: "
                 f".*{reason}", f"resume from {model_dir}/ckpt-0: move "
                 f"ckpt-1.index and ckpt-1.data-\\* out of {model_dir} and "
                 f"set the first line of {model_dir}/checkpoint to "
                 'model_checkpoint_path: "ckpt-0"')
  assert contents(model_dir) == before
  # The cure, as the message gives it, resumes from ckpt-0.
  for moved in model_dir.glob("ckpt-1.*"):
    moved.rename(tmp_path / moved.name)
  lines = (model_dir / "checkpoint").read_text().splitlines()
  (model_dir / "checkpoint").write_text(
      "\n".join(['model_checkpoint_path: "ckpt-0"', *lines[1:]]) + "\n")
  ran = train(made, model_dir)
  assert ran.code is None, ran.err[-3000:]
  assert (model_dir / "checkpoint").read_text().startswith(
      'model_checkpoint_path: "ckpt-0"')


def test_train_refuses_a_logit_cache_of_another_classifier(made, tmp_path):
  cache = contents(made["cache"])
  bindings = trainer_runs.tiny_bindings(made["data_dir"], **{
      "classifier.path": f"'{made['b']}'", "classifier.num_classes": "None",
      "train.logit_cache_dir": f"'{made['cache']}'"})
  ran = cli_main.call("train", "--gin_file=tiny.gin",
                      *[f"--gin_bindings={b}" for b in bindings],
                      f"--model_dir={tmp_path / 'new_run'}")
  assert_refused(ran, f"The logit cache in {made['cache']} was made with a "
                 "classifier with "
                 "other weights", "give train.logit_cache_dir a new folder")
  assert contents(made["cache"]) == cache
  assert not (tmp_path / "new_run").exists()


@pytest.mark.parametrize("binding, message", [
    ("dataset.name = 'no_such_dataset'",
     "Unknown dataset 'no_such_dataset'; choose one of .*'shapes'"),
    ("dataset.name = 'cifar100'", "Dataset 'cifar100' .* is not prepared in "
     ".*empty.*dataset.data_dir")])
def test_train_classifier_refuses_a_dataset_that_is_not_there(
    tmp_path, binding, message):
  output = tmp_path / "out"
  output.mkdir()
  (output / "metrics.json").write_text('{"previous": true}')
  (tmp_path / "empty").mkdir()
  ran = cli_main.call(
      "train_classifier", "--gin_file=shapes/classifier_standard.gin",
      f"--gin_bindings={binding}",
      f"--gin_bindings=dataset.data_dir = '{tmp_path / 'empty'}'",
      f"--output_dir={output}")
  assert_refused(ran, message)
  assert os.listdir(output) == ["metrics.json"]
  assert (output / "metrics.json").read_text() == '{"previous": true}'
