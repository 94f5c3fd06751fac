"""bin/train's engine end to end on a tiny shapes dataset: the paper's
config, the logit cache, and the errors that must come before training
(steps, checkpoints and resuming: test_trainer_checkpoints.py)."""

import json
import logging
import pathlib

import gin
import pytest
import tensorflow as tf

from logit_gan import config
from logit_gan import files
from logit_gan import run_dir
from logit_gan import trainer

from trainer_runs import RESOLUTION, checkpoint_values, run, tiny_bindings

REPO = pathlib.Path(__file__).resolve().parents[1]
PAPER_CONFIG = REPO / "gin_configs" / "compare_gan" / "paper.gin"


@pytest.fixture
def data_dir(tiny_shapes_data_dir):
  return tiny_shapes_data_dir


@pytest.mark.slow
def test_paper_config_builds_and_trains(tmp_path, data_dir):
  """The paper's compare_gan file, with tiny sizes and its own batch size
  overridden through compare_gan's names."""
  result = run(tmp_path, data_dir, gin_files=(str(PAPER_CONFIG),),
               **{"Generator.ch": "8", "Discriminator.ch": "8",
                  "options.batch_size": "4", "options.training_steps": "1",
                  "run_config.iterations_per_loop": "1"})
  assert result["step"] == 1
  values = checkpoint_values(tmp_path, 1)
  assert values["d_updates/.ATTRIBUTES/VARIABLE_VALUE"] == 2  # disc_iters
  assert gin.query_parameter("GAN.d_lr") == 0.0005
  assert gin.query_parameter("train.seed") == 8
  # paper.gin's eval_z.distribution_fn, recorded for loading without gin.
  record = run_dir.read_record(str(tmp_path))
  assert record.gan["eval_distribution"] == "normal"


def test_missing_dataset_fails_before_building(tmp_path):
  from logit_gan.data import pipeline
  with pytest.raises(pipeline.DatasetNotFoundError, match="data_dir"):
    run(tmp_path / "model", str(tmp_path / "empty"),
        **{"dataset.name": "'mnist'"})
  assert not (tmp_path / "model").exists()  # No empty model_dir left.


def test_unwritable_model_dir_fails_before_building(tmp_path, data_dir):
  (tmp_path / "file").write_text("")
  with pytest.raises(run_dir.NotWritableError,
                     match=f"Cannot write to {tmp_path}/file/model .*Give "
                     "--model_dir a folder this user may write to"):
    run(tmp_path / "file" / "model", data_dir)


def test_missing_classifier_file_is_named(tmp_path, data_dir):
  missing = tmp_path / "nowhere" / "classifier.keras"
  with pytest.raises(Exception, match="nowhere"):
    run(tmp_path, data_dir, **{"classifier.path": f"'{missing}'",
                               "classifier.num_classes": "None"})


def test_logit_width_must_match_the_classifier(tmp_path, data_dir):
  with pytest.raises(ValueError, match="Generator.num_classes = 7.*10 "
                     "logits"):
    run(tmp_path, data_dir, **{"Generator.num_classes": "7"})


@gin.configurable
def nan_loss(d_real, d_fake):
  from logit_gan import losses
  nan = tf.constant(float("nan"))
  return losses.Losses(nan + tf.reduce_mean(d_real), nan, nan,
                       nan + tf.reduce_mean(d_fake))


@pytest.mark.slow
def test_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path, data_dir):
  with pytest.raises(FloatingPointError,
                     match=r"diverged at step 1: d_loss, d_loss_real, "
                     r"d_loss_fake, g_loss became NaN or inf.*last good "
                     r"checkpoint is .*ckpt-0.*skip_non_finite_batches"):
    # A loop of 2 steps, which ends after the first.
    run(tmp_path, data_dir, **{"loss.fn": "@nan_loss",
                               "train.iterations_per_loop": "2",
                               "train.save_checkpoints_steps": "2"})
  assert sorted(p.name for p in tmp_path.glob("ckpt-*.index")) == [
      "ckpt-0.index"]


@tf.custom_gradient
def _nan_gradient(x):
  return tf.identity(x), lambda dy: dy * float("nan")


@gin.configurable
def nan_gradient_loss(d_real, d_fake):
  """The hinge loss, but G's gradient is NaN: its loss is finite when
  reported (before the update), the weights it updates are not."""
  from logit_gan import losses
  hinge = losses.hinge(d_real, d_fake)
  return hinge._replace(g_loss=_nan_gradient(hinge.g_loss))


@pytest.mark.slow
def test_nan_weights_behind_finite_losses_are_not_saved(tmp_path, data_dir):
  with pytest.raises(FloatingPointError,
                     match=r"the network weights became NaN or inf in steps "
                     r"1-1.*last good checkpoint is .*ckpt-0"):
    run(tmp_path, data_dir, **{"loss.fn": "@nan_gradient_loss"})
  assert sorted(p.name for p in tmp_path.glob("ckpt-*.index")) == [
      "ckpt-0.index"]


@pytest.mark.slow
def test_training_reads_a_logit_cache_of_its_classifier(tmp_path, data_dir,
                                                        monkeypatch):
  import keras
  from logit_gan.classifiers import zoo
  from logit_gan.data import logit_cache
  from logit_gan.data import pipeline
  config.parse(["tiny.gin"], tiny_bindings(data_dir))
  keras.utils.set_random_seed(8)  # What train() seeds the classifier with.
  logit_cache.cache_split(zoo.build_classifier(), str(tmp_path / "cache"),
                          spec=pipeline.DatasetSpec("shapes", data_dir),
                          split="train", resolution=RESOLUTION)
  # A cache directory that does not exist yet is built before training, the
  # same cache as the one made above; training reads it.
  reads = []
  read = logit_cache.read
  monkeypatch.setattr(logit_cache, "read",
                      lambda directory, **kw: reads.append(directory)
                      or read(directory, **kw))
  fresh = tmp_path / "fresh_cache"
  result = run(tmp_path / "model", data_dir,
               **{"train.logit_cache_dir": f"'{fresh}'",
                  "train.training_steps": "1"})
  assert result["step"] == 1
  assert reads == [str(fresh)]
  assert logit_cache.read_info(str(fresh)) == logit_cache.read_info(
      str(tmp_path / "cache"))
  # Another classifier (another seed) must not train on these logits.
  with pytest.raises(logit_cache.CacheMismatchError):
    run(tmp_path / "other", data_dir,
        **{"train.logit_cache_dir": f"'{tmp_path / 'cache'}'",
           "train.seed": "9"})


@pytest.mark.slow
def test_resuming_a_distributed_run_in_a_bucket(data_dir, caplog):
  """A TPU-style run: a tf.distribute strategy (OneDeviceStrategy, whose
  iterator type Mirrored and TPU share) and a model_dir URL (gs:// there;
  TF's in-memory ram:// here).

  Files go through tf.io.gfile (pathlib would make a local folder "ram:");
  the iterator, which TensorFlow cannot checkpoint under a strategy, is
  left out with a warning instead of failing the first save. The resumed
  run trains at the learning rates its config now gives, not those
  restored with the optimizers (lowering them is the remedy the divergence
  error suggests), replaces the evaluations an interrupted run logged after
  its checkpoint, and trained.load reads the result."""
  from logit_gan import trained
  strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
  model_dir = "ram://logit_gan_tests/model_dir"
  run(model_dir, data_dir, strategy=strategy,
      **{"train.training_steps": "1", "train.eval_every_steps": "1"})
  metrics_file = f"{model_dir}/metrics.json"
  history = json.loads(files.read_text(metrics_file))
  assert [entry["step"] for entry in history] == [1]
  stale = {**history[0], "step": 2, "class_agreement": -1.0}
  files.write_text(metrics_file, json.dumps(history + [stale]))
  caplog.set_level(logging.INFO, logger="absl")
  run(model_dir, data_dir, strategy=strategy,
      **{"GAN.g_lr": "3e-5", "GAN.d_lr": "7e-5"})
  out = caplog.text  # The trainer logs through absl.
  assert "Resuming from ram://logit_gan_tests/model_dir/ckpt-1 at step 1." \
      in out
  assert "GAN.g_lr = 3e-05; the checkpoint had trained at" in out
  for name in ("operative_config.gin", "reconstructions.png", "ckpt-2.index"):
    assert tf.io.gfile.exists(f"{model_dir}/{name}"), name
  assert not pathlib.Path("ram:").exists()
  # (tf.train.list_variables takes a ram:// prefix for a directory.)
  reader = tf.compat.v1.train.NewCheckpointReader(f"{model_dir}/ckpt-2")
  names = list(reader.get_variable_to_shape_map())
  assert names and not any("input_pipeline" in name for name in names)
  learning_rates = {name.split("/")[0]: reader.get_tensor(name)
                    for name in names if "learning_rate" in name}
  assert learning_rates == pytest.approx({"g_optimizer": 3e-5,
                                          "d_optimizer": 7e-5})
  history = json.loads(files.read_text(metrics_file))
  assert [entry["step"] for entry in history] == [1, 2]
  assert history[1]["class_agreement"] >= 0.0
  assert trained.load(model_dir).step == 2


def test_tpu_flag_needs_the_tpu_strategy():
  with pytest.raises(ValueError, match="--tpu=node-1 is for --strategy=tpu"):
    trainer.make_strategy("mirrored", "node-1")
