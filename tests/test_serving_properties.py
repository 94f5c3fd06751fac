"""Property-based requests to every exported signature: random shapes,
dtypes and values (NaN and +-inf included), batch 0 and large batches.
Every call returns valid images (uint8, finite floats in [-1, 1]) or
raises an error that names the input; the process never crashes
(docs/reliability.md).

The export is of an untrained tiny generator and classifier (the
signatures' checks do not depend on training), made once per module
with `export.export` as tests/test_export.py does."""

import numpy as np
import pytest
import tensorflow as tf

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from logit_gan import export  # noqa: E402
from logit_gan.classifiers import zoo  # noqa: E402
from logit_gan.generator import Generator  # noqa: E402

NUM_CLASSES, RESOLUTION = 10, 32
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
BATCHES = st.sampled_from([0, 1, 3, 256])
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e30, -1e30])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
  generator = Generator(ch=8, resolution=RESOLUTION, num_classes=NUM_CLASSES,
                        blocks_with_attention="B1",
                        use_moving_averages=True)  # No standing statistics.
  generator(tf.zeros([1, NUM_CLASSES]), tf.zeros([1, generator.z_dim]),
            training=False)
  classifier = zoo.Classifier.from_keras(
      zoo.small_resnet(NUM_CLASSES, resolution=RESOLUTION, width=8),
      name="small_resnet", input_size=RESOLUTION)
  version = export.export(
      generator, str(tmp_path_factory.mktemp("exports") / "tiny"),
      metadata={"classifier": "small_resnet", "training_step": 0,
                "gin_config": ""}, classifier=classifier)
  return tf.saved_model.load(version)


@st.composite
def float_rows(draw, width_choices, finite: bool):
  """A float array [B, width] (B and width drawn), optionally sprinkled
  with NaN, +-inf and huge values."""
  batch = draw(BATCHES)
  width = draw(st.sampled_from(width_choices))
  rng = np.random.default_rng(draw(st.integers(0, 2**31)))
  rows = rng.normal(0, draw(st.sampled_from([1.0, 30.0])), [batch, width])
  if not finite and rows.size:
    for _ in range(draw(st.integers(1, 4))):
      rows.flat[draw(st.integers(0, rows.size - 1))] = draw(SPECIAL)
  dtype = draw(st.sampled_from([np.float32, np.float32, np.float64]))
  return rows.astype(dtype)


def call(model, signature, **inputs):
  """The signature's outputs, or the error it raised (must name an input)."""
  try:
    return model.signatures[signature](
        **{name: tf.constant(value) for name, value in inputs.items()})
  except (tf.errors.InvalidArgumentError, TypeError, ValueError) as error:
    assert any(name in str(error) for name in inputs), str(error)[:500]
    return None


def assert_valid(outputs, prefix):
  if outputs is None:
    return
  images, floats = outputs[prefix].numpy(), outputs[f"{prefix}_float"].numpy()
  assert images.dtype == np.uint8 and images.shape[1:] == (
      RESOLUTION, RESOLUTION, 3)
  assert np.isfinite(floats).all() and np.abs(floats).max() <= 1


@pytest.mark.slow
@SETTINGS
@given(logits=float_rows([NUM_CLASSES, NUM_CLASSES, 7], finite=True),
       noise=float_rows([120, 120, 5], finite=True))
def test_reconstruct_from_logits_finite_requests(model, logits, noise):
  assert_valid(call(model, "reconstruct_from_logits", logits=logits,
                    noise=noise), "images")


@pytest.mark.slow
@SETTINGS
@given(logits=float_rows([NUM_CLASSES, 3], finite=True),
       seed=st.lists(st.integers(-2**63, 2**63 - 1), max_size=5),
       dtype=st.sampled_from([np.int64, np.int64, np.int32]))
def test_reconstruct_from_logits_seeded_requests(model, logits, seed, dtype):
  assert_valid(call(model, "reconstruct_from_logits_seeded", logits=logits,
                    seed=np.array(seed, np.int64).astype(dtype)), "images")


@pytest.mark.slow
@SETTINGS
@given(batch=BATCHES, size=st.sampled_from([RESOLUTION, RESOLUTION, 16]),
       channels=st.sampled_from([3, 3, 1, 4]),
       dtype=st.sampled_from([np.uint8, np.uint8, np.float32]),
       seed=st.integers(0, 2**31))
def test_reconstruct_image_requests(model, batch, size, channels, dtype,
                                    seed):
  images = np.random.default_rng(seed).integers(
      0, 256, [batch, size, size, channels]).astype(dtype)
  outputs = call(model, "reconstruct", images=images)
  assert_valid(outputs, "reconstructions")
  if outputs is not None:
    assert np.isfinite(outputs["logits"].numpy()).all()


@pytest.mark.slow
@SETTINGS
@given(logits=float_rows([NUM_CLASSES], finite=False),
       noise=float_rows([120], finite=False))
def test_reconstruct_from_logits_non_finite_requests(model, logits, noise):
  assert_valid(call(model, "reconstruct_from_logits", logits=logits,
                    noise=noise), "images")
