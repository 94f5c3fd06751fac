"""Property-based requests to every exported signature: random shapes,
dtypes and values (NaN and +-inf included), batch 0 and large batches,
sent three ways: `model.signatures[name]`, `keras.layers.TFSMLayer(path,
call_endpoint=name)` and TF Serving's REST JSON bodies (row "instances"
and columnar "inputs", parsed as TF Serving parses them:
tests/rest_requests.py). Every call returns valid outputs (uint8 images,
finite floats in [-1, 1], finite logits, classes in range) or raises an
error that names the input; the process never crashes; the ways that
both answer answer the same (docs/reliability.md).

The export is of an untrained tiny generator and classifier (the
signatures' checks do not depend on training) at 16x16 with 10 logits
and z_dim 120, the shapes of the example bodies in export/requests/, made
once per module with `export.export` as tests/test_export.py does."""

import json
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import rest_requests  # noqa: E402
from logit_gan import export  # noqa: E402
from logit_gan.classifiers import zoo  # noqa: E402
from logit_gan.generator import Generator  # noqa: E402

NUM_CLASSES, RESOLUTION, Z_DIM = 10, 16, 120
REQUESTS = sorted((pathlib.Path(__file__).resolve().parents[1] / "export"
                   / "requests").glob("*.json"))
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)
BATCHES = st.sampled_from([1, 3, 3, 256, 0])
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e30, -1e30])
ENDPOINTS = ("reconstruct_from_logits", "reconstruct_from_logits_seeded",
             "reconstruct", "classify")
# What each endpoint returns: {output: (dtype, trailing shape)}.
IMAGES = (RESOLUTION, RESOLUTION, 3)
OUTPUTS = {
    "reconstruct_from_logits": {"images": (np.uint8, IMAGES),
                                "images_float": (np.float32, IMAGES)},
    "reconstruct": {"reconstructions": (np.uint8, IMAGES),
                    "reconstructions_float": (np.float32, IMAGES),
                    "logits": (np.float32, (NUM_CLASSES,)),
                    "predicted_class": (np.int64, ())},
    "classify": {"logits": (np.float32, (NUM_CLASSES,)),
                 "predicted_class": (np.int64, ())}}
OUTPUTS["reconstruct_from_logits_seeded"] = OUTPUTS[
    "reconstruct_from_logits"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """(the loaded export, {endpoint: its TFSMLayer})."""
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
  layers = {name: keras.layers.TFSMLayer(version, call_endpoint=name)
            for name in ENDPOINTS}
  return tf.saved_model.load(version), layers


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


def assert_names_an_input(error, inputs):
  """The error names an input, or (a wrong dtype given to
  `signatures[...]`, TF Serving's path) its position in name order with
  the dtype it has, which TensorFlow's message gives instead."""
  text = str(error)
  position = re.search(r"input #(\d+)\(zero-based\) was expected to be a "
                       r"\w+ tensor but is a (\w+) tensor", text)
  if position and isinstance(inputs, dict):
    name = sorted(inputs)[int(position.group(1))]
    given = tf.as_dtype(inputs[name].dtype)
    assert given.name == {"double": "float64", "float": "float32"}.get(
        position.group(2), position.group(2)), text[:500]
    return
  assert any(name in text for name in inputs), text[:500]


def assert_valid(outputs: dict, endpoint: str) -> None:
  """Every output of the endpoint, of its dtype and shape, in range."""
  expected = OUTPUTS[endpoint]
  assert set(outputs) == set(expected)
  batch = len(next(iter(outputs.values())))
  for name, (dtype, trailing) in expected.items():
    value = np.asarray(outputs[name])
    assert value.dtype == dtype and value.shape == (batch, *trailing), name
    if dtype == np.float32:
      assert np.isfinite(value).all(), name
      if name.endswith("_float"):
        assert np.abs(value).max(initial=0) <= 1, name
    if name == "predicted_class":
      assert ((0 <= value) & (value < NUM_CLASSES)).all()


def outcome(text: str) -> None:
  """Counts an outcome in hypothesis's statistics (pytest
  --hypothesis-show-statistics), when run by hypothesis."""
  if hypothesis.currently_in_test_context():
    hypothesis.event(text)


def answer(function, endpoint, inputs):
  """function's outputs as numpy (checked valid), or None when it raised
  an error naming an input."""
  try:
    outputs = function(inputs)
  except (tf.errors.InvalidArgumentError, TypeError, ValueError) as error:
    assert_names_an_input(error, inputs)
    outcome(f"{endpoint}: refused")
    return None
  outputs = {name: np.asarray(value) for name, value in outputs.items()}
  assert_valid(outputs, endpoint)
  outcome(f"{endpoint}: answered")
  return outputs


def assert_same(first, second):
  if first is not None and second is not None:
    for name in first:
      np.testing.assert_allclose(second[name], first[name], atol=1e-5)


def request(exported, endpoint, **inputs):
  """Sends `inputs` to the signature and to its TFSMLayer: each answers
  validly or names an input; when both answer, alike. TFSMLayer (a Keras
  layer) casts float64 inputs to float32 where the signature refuses
  them. Returns the signature's outputs (or None)."""
  model, layers = exported
  tensors = {name: tf.constant(value) for name, value in inputs.items()}
  by_signature = answer(lambda given: model.signatures[endpoint](**given),
                        endpoint, tensors)
  by_layer = answer(layers[endpoint], endpoint, tensors)
  assert_same(by_signature, by_layer)
  return by_signature


@pytest.mark.slow
@SETTINGS
@given(logits=float_rows([NUM_CLASSES, NUM_CLASSES, 7], finite=True),
       noise=float_rows([Z_DIM, Z_DIM, 5], finite=True))
def test_reconstruct_from_logits_finite_requests(exported, logits, noise):
  request(exported, "reconstruct_from_logits", logits=logits, noise=noise)


@pytest.mark.slow
@SETTINGS
@given(logits=float_rows([NUM_CLASSES, NUM_CLASSES, 3], finite=True),
       data=st.data(),
       dtype=st.sampled_from([np.int64, np.int64, np.int32]))
def test_reconstruct_from_logits_seeded_requests(exported, logits, data,
                                                 dtype):
  """Any int64 seeds (one per row, or a wrong count)."""
  count = data.draw(st.sampled_from([len(logits)] * 3 + [2]))
  seed = data.draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=count,
                            max_size=count))
  request(exported, "reconstruct_from_logits_seeded", logits=logits,
          seed=np.array(seed, np.int64).astype(dtype))


def images_of(draw, dtypes) -> np.ndarray:
  """Images [B, S, S, C] of the model's shape (half the time) or of a
  drawn batch (0 too), size, channel count and dtype, values 0-255."""
  if draw(st.booleans()):
    shape = [draw(st.sampled_from([1, 3, 256])), *IMAGES]
  else:
    size = draw(st.sampled_from([RESOLUTION, 8]))
    shape = [draw(BATCHES), size, size, draw(st.sampled_from([3, 1, 4]))]
  rng = np.random.default_rng(draw(st.integers(0, 2**31)))
  return rng.integers(0, 256, shape).astype(draw(st.sampled_from(dtypes)))


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_reconstruct_image_requests(exported, data):
  images = images_of(data.draw, [np.uint8, np.uint8, np.float32])
  request(exported, "reconstruct", images=images)


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_classify_requests(exported, data):
  """float32 images in [-1, 1]; NaN, +-inf, huge values, other sizes,
  channels and dtypes and batch 0 are refused naming `images`."""
  images = images_of(data.draw, [np.float32] * 3 + [np.float64, np.uint8])
  if images.dtype != np.uint8:  # Pixels as the model takes them.
    images = images / images.dtype.type(127.5) - 1
    if images.size and data.draw(st.integers(0, 3)) == 0:
      for _ in range(data.draw(st.integers(1, 3))):
        images.flat[data.draw(st.integers(0, images.size - 1))] = data.draw(
            SPECIAL)
  request(exported, "classify", images=images)


@pytest.mark.slow
@SETTINGS
@given(logits=float_rows([NUM_CLASSES], finite=False),
       noise=float_rows([Z_DIM], finite=False))
def test_reconstruct_from_logits_non_finite_requests(exported, logits, noise):
  request(exported, "reconstruct_from_logits", logits=logits, noise=noise)


# TF Serving's REST bodies.

def rest_call(exported, body: str):
  """TF Serving's answer to a REST predict body: (endpoint, outputs), or
  (endpoint, None) when the body or the signature refused it, naming the
  input."""
  model, _ = exported
  try:
    name, inputs = rest_requests.parse(body, model.signatures)
  except rest_requests.RestError as error:
    assert_names_an_input(error, ("logits", "noise", "seed", "images",
                                  "instances", "inputs"))
    outcome("refused by the REST parser")
    return None, None
  endpoint = "reconstruct_from_logits" if name == "serving_default" else name
  return endpoint, answer(lambda given: model.signatures[name](**given),
                          endpoint, inputs)


def as_json(array: np.ndarray) -> list:
  """An array as JSON values: floats (NaN and +-inf as TF Serving writes
  them), ints as ints."""
  return array.tolist()


@st.composite
def rest_bodies(draw):
  """A REST predict body: a signature, row or columnar, inputs of drawn
  shapes (mostly right) and values (NaN, +-inf, ints where floats go and
  floats where ints go, uint8 out of range)."""
  endpoint = draw(st.sampled_from(ENDPOINTS + ("serving_default",)))
  rng = np.random.default_rng(draw(st.integers(0, 2**31)))
  batch = draw(st.sampled_from([1, 3, 0]))
  width = lambda right: draw(st.sampled_from([right, right, right, 4]))
  if endpoint in ("reconstruct", "classify"):
    side = width(RESOLUTION)
    values = {"images": rng.integers(-2, 258, [batch, side, side, 3])}
    if endpoint == "classify":
      values["images"] = values["images"] / 127.5 - 1
  else:
    values = {"logits": rng.normal(0, 5, [batch, width(NUM_CLASSES)])}
    values.update({"seed": rng.integers(-2**62, 2**62, [batch])}
                  if endpoint.endswith("seeded") else
                  {"noise": rng.normal(0, 1, [batch, width(Z_DIM)])})
  for name, value in values.items():
    if value.size and value.dtype == np.float64 and draw(st.booleans()):
      value.flat[draw(st.integers(0, value.size - 1))] = draw(SPECIAL)
    if draw(st.integers(0, 5)) == 0:  # The other kind of number.
      values[name] = (value.round() if value.dtype == np.float64
                      else value.astype(np.float64))
  body = {"signature_name": endpoint}
  if draw(st.booleans()):
    body["inputs"] = {name: as_json(value) for name, value in values.items()}
  else:
    body["instances"] = [{name: as_json(value[i]) for name, value in
                          values.items()} for i in range(batch)]
  return json.dumps(body)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True)
@given(body=rest_bodies())
def test_rest_bodies_as_tf_serving_parses_them(exported, body):
  rest_call(exported, body)


@pytest.mark.slow
@pytest.mark.parametrize("request_file", REQUESTS, ids=lambda p: p.stem)
def test_example_bodies_in_rows_and_columns(exported, request_file):
  """export/requests/ bodies run through the REST parser, in rows as
  written and as columns, give what the signature gives the arrays."""
  model, _ = exported
  rows = json.loads(request_file.read_text())
  columns = {"signature_name": rows["signature_name"], "inputs": {
      name: [row[name] for row in rows["instances"]]
      for name in rows["instances"][0]}}
  endpoint, by_rows = rest_call(exported, json.dumps(rows))
  _, by_columns = rest_call(exported, json.dumps(columns))
  assert by_rows is not None and by_columns is not None
  specs = model.signatures[endpoint].structured_input_signature[1]
  direct = model.signatures[endpoint](**{
      name: tf.constant(value, specs[name].dtype)
      for name, value in columns["inputs"].items()})
  assert_same({k: v.numpy() for k, v in direct.items()}, by_rows)
  assert_same(by_rows, by_columns)
