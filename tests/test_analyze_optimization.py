"""bin/analyze --optimization_baseline and --time_images
(logit_gan/cli/analyze.py): the optimization baseline beside the first
model on the first --optimization_images test images, in its own folder,
and the time per image of each method."""

from __future__ import annotations

import json
import time
import types

from absl import app
import gin
import numpy as np
import pytest
import tensorflow as tf

import analysis_models
import cli_main
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import reconstructions  # Registers its settings.
from logit_gan.baselines import optimization  # Registers its gin settings.


@pytest.fixture(scope="module")
def analyze():
  """logit_gan.cli.analyze, its flags defined only while this module's
  tests run (other commands define flags of the same names)."""
  with cli_main.command_module("analyze") as module:
    yield module


def _examples(count: int) -> examples_lib.Examples:
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (count, 16, 16, 3)).astype(np.float32)
  return examples_lib.Examples(images, rng.integers(0, 10, count), {},
                               "random", None)


def _flag(tmp_path, **values) -> types.SimpleNamespace:
  defaults = dict(optimization_baseline=True, optimization_images=5,
                  optimization_experiment=["reconstructions"],
                  out=str(tmp_path), seed=0, force=False, time_images=2,
                  all=False)
  return types.SimpleNamespace(**{**defaults, **values})


@pytest.mark.slow  # ~10 s of CPU: traces the optimization and the runner.
def test_the_baseline_runs_beside_the_first_model_on_the_subset(
    analyze, tmp_path, capsys):
  assert optimization.Settings and reconstructions.NAME  # Registered.
  gin.bind_parameter("optimization_inversion.steps", 3)
  gin.bind_parameter("reconstructions.samples", 1)
  models = analysis_models.tiny_models()
  analyze.run_optimization_baseline(models, _examples(12),
                                    ["reconstructions"], _flag(tmp_path))
  folder = tmp_path / analyze.OPTIMIZATION_FOLDER
  records = json.loads((folder / "metrics.json").read_text())
  agreement = {r["model"]: r for r in records
               if (r["experiment"], r["number"]) == ("reconstructions",
                                                      "top1_agreement")}
  # The first model and its classifier's optimization inversion, paired,
  # on the first 5 images only; the second model is not in it.
  assert set(agreement) == {"robust", "optimization_robust",
                            "robust - optimization_robust"}
  assert {r["n"] for r in agreement.values()} == {5}
  speed = json.loads((folder / analyze.SPEED_FILE).read_text())
  assert speed["images"] == 2
  assert set(speed["models"]) == {"robust", "optimization_robust"}
  assert speed["models"]["optimization_robust"]["method"] == "optimization"
  # Again: the runner finds the experiment up to date.
  capsys.readouterr()
  analyze.run_optimization_baseline(models, _examples(12),
                                    ["reconstructions"],
                                    _flag(tmp_path, time_images=0))
  assert "reconstructions: up to date" in capsys.readouterr().out


@pytest.mark.parametrize("names, all_, skips", [
    (None, False, True),  # The defaults: factor_recovery needs factors.
    (["factor_recovery"], False, False),  # Named: refused if unmet.
    (["factor_recovery"], True, True),
])
def test_the_default_baseline_experiments_skip_what_images_do_not_allow(
    analyze, tmp_path, monkeypatch, names, all_, skips):
  from logit_gan.analyses import runner
  passed = {}
  monkeypatch.setattr(runner, "run_experiments",
                      lambda *args, **kwargs: passed.update(kwargs))
  monkeypatch.setattr(analyze, "write_speed", lambda *args: None)
  names = list(analyze.OPTIMIZATION_EXPERIMENTS) if names is None else names
  analyze.run_optimization_baseline(analysis_models.tiny_models(),
                                    _examples(4), names,
                                    _flag(tmp_path, all=all_))
  assert passed["skip_unmet"] is skips


def test_optimization_flags_are_checked_before_any_work(analyze, tmp_path):
  assert analyze.check_optimization_flags(
      _flag(tmp_path, optimization_baseline=False)) == []
  assert analyze.check_optimization_flags(_flag(
      tmp_path, optimization_experiment=["reconstructions",
                                         "reconstructions"])) == [
                                             "reconstructions"]
  with pytest.raises(ValueError, match="Unknown experiment 'recon'"):
    analyze.check_optimization_flags(
        _flag(tmp_path, optimization_experiment=["recon"]))
  with pytest.raises(app.UsageError, match="--optimization_images"):
    analyze.check_optimization_flags(_flag(tmp_path, optimization_images=0))


class _Sleepy(inversion.InversionModel):
  """Each reconstruct batch takes `seconds` (known time per image)."""
  name, method, num_classes, z_dim, resolution = "sleepy", "test", 10, 2, 16

  def __init__(self, seconds: float):
    self.seconds = seconds

  def _reconstruct(self, logits, noise):
    time.sleep(self.seconds)
    return tf.zeros((logits.shape[0], 16, 16, 3))

  def classify_tensor(self, images):
    return tf.zeros((images.shape[0], 10))


def test_time_per_image_is_the_call_over_the_images(analyze):
  timed = analyze.time_per_image([_Sleepy(0.08)], _examples(8), 4, seed=0)
  entry = timed["models"]["sleepy"]
  assert timed["images"] == 4 and timed["repeats"] == analyze.SPEED_REPEATS
  assert 0.02 <= entry["low"] <= entry["seconds_per_image"] <= entry["high"]
  assert entry["seconds_per_image"] < 0.2  # 0.08 s / 4, with slack.
