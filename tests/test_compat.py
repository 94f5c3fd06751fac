"""The paper's compare_gan config: every network binding takes effect."""

import pathlib

import gin
import numpy as np
import pytest

from logit_gan import compat
from logit_gan import config
from logit_gan import layers
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator

REPO = pathlib.Path(__file__).resolve().parents[1]
PAPER_CONFIG = REPO / "gin_configs" / "compare_gan" / "paper.gin"
SHARED_CONFIG = REPO.parent / "shared" / "paper" / "compare_gan_config.gin"
SMALL = ["Generator.ch = 8", "Discriminator.ch = 8"]


def build_small(n_c=10):
  generator = Generator().build_for(n_c)
  discriminator = Discriminator().build_for(n_c, generator.resolution)
  return generator, discriminator


def test_shipped_config_is_the_papers():
  if not SHARED_CONFIG.exists():
    pytest.skip(f"{SHARED_CONFIG} is not beside this checkout")
  assert PAPER_CONFIG.read_text() == SHARED_CONFIG.read_text()


def test_paper_config_builds_the_paper_networks():
  config.parse([str(PAPER_CONFIG)], SMALL)
  generator, discriminator = build_small()
  assert (generator.resolution, generator.z_dim) == (64, 120)
  assert generator.embed is not None and generator.hierarchical_z
  norms = layers.sublayers(generator, layers.StandardizeBatch)
  assert norms and all(not n.use_moving_averages and n.decay == 0.9
                       and n.epsilon == 1e-5 for n in norms)
  # Unbound in the paper's config: compare_gan's None, global statistics on
  # the TPUs the paper trained on.
  assert all(n.use_cross_replica_mean is None for n in norms)
  for network in (generator, discriminator):
    sn = layers.spectral_norm_layers(network)
    assert sn and all(l.singular_value == "auto" for l in sn)
  assert discriminator.embedding is not None
  # Orthogonal init: the first conv's columns are orthonormal.
  kernel = generator.blocks[0].conv1.kernel.numpy().reshape(-1, 128)
  np.testing.assert_allclose(kernel.T @ kernel, np.eye(128), atol=1e-4)
  # dataset.name is a logit_gan name too: it binds directly.
  assert gin.query_parameter("dataset.name") == "imagenet_64"


def flipped_paper_config(tmp_path):
  """The paper's file with every network binding set to another value."""
  text = PAPER_CONFIG.read_text()
  for old, new in [
      ("G.spectral_norm = True", "G.spectral_norm = False"),
      ("D.spectral_norm = True", "D.spectral_norm = False"),
      ("project_labels = True", "project_labels = False"),
      ("embed_labels = True", "embed_labels = False"),
      ("hierarchical_z = True", "hierarchical_z = False"),
      ("singular_value = 'auto'", "singular_value = 'left'"),
      ("standardize_batch.decay = 0.9", "standardize_batch.decay = 0.5"),
      ("epsilon = 1e-05", "epsilon = 0.001"),
      ("use_moving_averages = False", "use_moving_averages = True"),
      ("weights.initializer = 'orthogonal'", "weights.initializer = 'normal'"),
      ("options.z_dim = 120", "options.z_dim = 60"),
  ]:
    assert old in text, old
    text = text.replace(old, new)
  path = tmp_path / "flipped.gin"
  path.write_text(text)
  return path


def test_every_network_binding_takes_effect(tmp_path):
  config.parse([str(flipped_paper_config(tmp_path))], SMALL)
  generator, discriminator = build_small()
  assert generator.z_dim == 60 and not generator.hierarchical_z
  assert generator.embed is None
  assert discriminator.embedding is None
  norms = layers.sublayers(generator, layers.StandardizeBatch)
  assert all(n.use_moving_averages and n.decay == 0.5 and n.epsilon == 1e-3
             for n in norms)
  assert not layers.spectral_norm_layers(generator)
  assert not layers.spectral_norm_layers(discriminator)
  kernel = generator.blocks[0].conv1.kernel.numpy()
  assert abs(kernel.std() - 0.02) < 0.002


def test_singular_value_binding_reaches_both_networks():
  config.parse([str(PAPER_CONFIG)],
               SMALL + ["spectral_norm.singular_value = 'right'"])
  for network in build_small():
    sn = layers.spectral_norm_layers(network)
    assert all(l.u.shape[0] == 1 for l in sn)


def test_unsupported_value_names_the_binding(tmp_path):
  path = tmp_path / "bad.gin"
  path.write_text("G.batch_norm_fn = @self_modulated_batch_norm\n")
  with pytest.raises(ValueError, match=r"bad.gin:1: .*G.batch_norm_fn.*"
                     r"conditional_batch_norm"):
    config.parse([str(path)])


def test_syntax_error_names_the_file_and_line(tmp_path):
  path = tmp_path / "typo.gin"
  path.write_text("Generator.ch = 8\nDiscriminator.ch 8\n")
  with pytest.raises(SyntaxError) as error:
    config.parse([str(path)])
  assert error.value.filename == str(path) and error.value.lineno == 2
  with pytest.raises(SyntaxError) as error:
    config.parse([], ["Generator.ch = "])
  assert error.value.filename == "--gin_bindings"


def test_unknown_compare_gan_binding_lists_known_ones():
  with pytest.raises(ValueError, match=r"Unknown compare_gan binding "
                     r"standardize_batch.momentum.*use_moving_averages"):
    config.parse([], ["standardize_batch.momentum = 0.1"])


def test_unknown_native_binding_and_reference_fail():
  with pytest.raises(ValueError, match="Generator"):
    config.parse([], ["Generator.channels = 8"])
  with pytest.raises(ValueError, match="no configurable named 'nowhere'"):
    config.parse([], ["Generator.ch = @nowhere"])
  with pytest.raises(ValueError, match=r"extra.gin:1: cannot import "
                     r"'no_such_module'"):
    config._apply("import no_such_module\n", "extra.gin", None)
  # Inside a list, tuple or dict too.
  for value in ("[@typo_fn]", "(1, @typo_fn)", "{'a': [@typo_fn]}"):
    with pytest.raises(ValueError, match="no configurable named 'typo_fn'"):
      config.parse([], [f"GAN.mixed_precision = {value}"])


def test_bare_names_are_found_in_gin_configs():
  assert config.find_gin_file("compare_gan/paper") == PAPER_CONFIG
  with pytest.raises(FileNotFoundError, match="gin_configs"):
    config.find_gin_file("no_such_config.gin")


def test_native_names_and_includes(tmp_path):
  (tmp_path / "base.gin").write_text("Generator.ch = 8\n")
  (tmp_path / "top.gin").write_text(
      "include 'base.gin'\nCH = 16\nDiscriminator.ch = %CH\n")
  config.parse([str(tmp_path / "top.gin")])
  assert Generator().ch == 8
  assert Discriminator().ch == 16
  gin.clear_config()


def paper_bindings():
  """key -> value text of every binding line in the paper's file."""
  lines = [l.split("=", 1) for l in PAPER_CONFIG.read_text().splitlines()
           if "=" in l and not l.startswith("#")]
  return {k.strip(): v.strip() for k, v in lines}


def test_every_training_binding_takes_effect():
  import ast
  config.parse([str(PAPER_CONFIG)])
  bindings = paper_bindings()
  checked = 0
  for key, targets in compat.TRAINING_BINDINGS.items():
    if key not in bindings:
      continue
    for target in targets:
      assert gin.query_parameter(target) == ast.literal_eval(bindings[key]), (
          key, target)
      checked += 1
  assert checked >= 12
  assert gin.query_parameter("loss.fn").selector == "hinge"
  assert gin.query_parameter("penalty.fn").selector == "no_penalty"
  assert gin.query_parameter("z.distribution_fn").selector == (
      "tf.random.normal")


@pytest.mark.parametrize("name, classifier", [
    ("robust.gin", "saved_model"), ("standard.gin", "resnet152v2"),
    ("inception.gin", "inception_v3")])
def test_paper_runs_differ_only_in_the_classifier(name, classifier):
  config.parse([name])
  assert gin.query_parameter("classifier.name") == classifier
  assert gin.query_parameter("train.batch_size") == 2048
  assert gin.query_parameter("train.training_steps") == 250_000
  assert gin.query_parameter("GAN.g_lr") == 0.0001
  assert gin.query_parameter("dataset.name") == "imagenet_64"


@pytest.mark.parametrize("path", sorted(
    str(p.relative_to(REPO / "gin_configs"))
    for p in (REPO / "gin_configs").rglob("*.gin")))
def test_every_shipped_gin_file_parses(path):
  config.parse([path])
  header = (REPO / "gin_configs" / path).read_text().splitlines()[0]
  assert header.startswith(f"# {path}") or path.startswith("compare_gan/"), (
      "Each gin file's header starts with its name and says what it is.")
