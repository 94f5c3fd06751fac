"""TF Serving's REST predict bodies turned into a signature's input
tensors, by TF Serving's rules (tensorflow_serving/util/json_tensor.cc,
`FillPredictRequestFromJson`), so that tests can send the bodies a client
would send without running TF Serving.

  {"signature_name": "reconstruct", "instances": [{"images": ...}, ...]}
  {"signature_name": "reconstruct", "inputs": {"images": [...]}}

The rules kept: the body is a JSON object (NaN, Infinity and -Infinity are
accepted as numbers); `signature_name` defaults to "serving_default";
exactly one of "instances" (row format: a non-empty list, one object per
example with every input's name as a key, or bare values when the
signature has one input; every example's value of an input must have one
shape, and the rows are stacked into [len(instances), ...]) or "inputs"
(columnar: an object of whole tensors, or a bare value for a one-input
signature; no batch is implied, so inputs may hold 0 rows); a tensor's
shape is that of its first elements at every level and every list must
match it; numbers convert to the input's dtype: a float input takes any
number whose float value is exact (integers up to 2^24 for float32,
finite values within its range; NaN and +-inf pass), an integer input
takes JSON integers only (no 1.0), of int32 range for int32 and uint8 and
int64 range for int64; uint8 keeps the low 8 bits, as TF Serving's
int_val does (300 becomes 44). TF Serving checks no shape against the
signature: that is left to the model.
"""

from __future__ import annotations

import json
import math

import numpy as np
import tensorflow as tf

DEFAULT_SIGNATURE = "serving_default"
# The integers each integer dtype's JSON value may hold (int32's "IsInt"
# for the narrow types, TF Serving stores them as int_val).
INTEGER_RANGES = {tf.int32: (-2**31, 2**31 - 1), tf.uint8: (-2**31, 2**31 - 1),
                  tf.int64: (-2**63, 2**63 - 1)}


class RestError(ValueError):
  """A body TF Serving refuses (HTTP 400), with its reason."""


def _number(value, dtype: tf.DType, where: str):
  """One JSON scalar as `dtype` takes it, or a RestError naming `where`."""
  wrong = RestError(f"{where}: JSON value {value!r} is not of the expected "
                    f"type {dtype.name}.")
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise wrong
  if dtype.is_floating:
    exact = 2 ** np.finfo(dtype.as_numpy_dtype).nmant * 2 - 1
    too_big = (abs(value) > exact if isinstance(value, int)
               else math.isfinite(value) and abs(value) > dtype.max)
    if too_big:
      raise RestError(f"{where}: cannot convert JSON value {value!r} to "
                      f"{dtype.name} without loss of precision.")
    return value
  low, high = INTEGER_RANGES[dtype]
  if not isinstance(value, int) or not low <= value <= high:
    raise wrong
  return value


def _shape(value) -> list[int]:
  """The dense shape of nested lists: the first element's at each level."""
  shape = []
  while isinstance(value, list):
    shape.append(len(value))
    if not value:
      break
    value = value[0]
  return shape


def tensor(value, dtype: tf.DType, where: str) -> np.ndarray:
  """A JSON value (a number or nested lists) as an array of `dtype`."""
  shape, flat = _shape(value), []

  def fill(item, level):
    if not isinstance(item, list):
      if level != len(shape):
        raise RestError(f"{where}: value {item!r} at level {level + 1}, "
                        f"expected at level {len(shape)}.")
      flat.append(_number(item, dtype, where))
      return
    if level >= len(shape) or len(item) != shape[level]:
      expected = shape[level] if level < len(shape) else "no list"
      raise RestError(f"{where}: a list of size {len(item)} at level "
                      f"{level}, expected {expected}.")
    for element in item:
      fill(element, level + 1)

  fill(value, 0)
  wide = np.array(flat, np.float64 if dtype.is_floating else np.int64)
  # Wraps uint8 as TF Serving's int_val does.
  return wide.reshape(shape).astype(dtype.as_numpy_dtype)


def _rows(instances, specs: dict) -> dict:
  """Row format: one example per element, stacked."""
  if not isinstance(instances, list) or not instances:
    raise RestError("'instances' must be a non-empty list.")
  objects = isinstance(instances[0], dict)
  if not objects and len(specs) > 1:
    raise RestError(f"'instances' is a plain list, but the signature takes "
                    f"{sorted(specs)}: give one object per example.")
  columns = {name: [] for name in specs}
  for index, row in enumerate(instances):
    if isinstance(row, dict) != objects:
      raise RestError(f"'instances' element {index} is not like element 0.")
    row = row if objects else {next(iter(specs)): row}
    if set(row) != set(specs):
      raise RestError(f"'instances' element {index} has the keys "
                      f"{sorted(row)}; they must be {sorted(specs)}.")
    for name, value in row.items():
      where = f"'instances' element {index} key {name}"
      array = tensor(value, specs[name].dtype, where)
      if columns[name] and array.shape != columns[name][0].shape:
        raise RestError(f"{where}: shape {list(array.shape)}, expected "
                        f"{list(columns[name][0].shape)}.")
      columns[name].append(array)
  return {name: np.stack(arrays) for name, arrays in columns.items()}


def _columns(inputs, specs: dict) -> dict:
  """Columnar format: each input's whole tensor."""
  if not isinstance(inputs, dict):
    if len(specs) > 1:
      raise RestError(f"'inputs' is a plain value, but the signature takes "
                      f"{sorted(specs)}: give an object of them.")
    inputs = {next(iter(specs)): inputs}
  missing = sorted(set(specs) - set(inputs))
  if missing:
    raise RestError(f"Missing named input(s) {missing} in 'inputs'.")
  return {name: tensor(inputs[name], spec.dtype, f"'inputs' key {name}")
          for name, spec in specs.items()}


def parse(body: str, signatures) -> tuple[str, dict[str, tf.Tensor]]:
  """(signature name, {input name: tensor}) of a REST predict body, for a
  loaded SavedModel's `signatures`; a RestError where TF Serving refuses."""
  try:
    document = json.loads(body)  # Accepts NaN and +-Infinity, as TF does.
  except ValueError as error:
    raise RestError(f"JSON parse error: {error}.") from None
  if not isinstance(document, dict):
    raise RestError("The body must be a JSON object with 'instances' or "
                    "'inputs'.")
  name = document.get("signature_name", DEFAULT_SIGNATURE)
  if not isinstance(name, str) or name not in signatures:
    raise RestError(f"No signature {name!r} in 'signature_name'; the model "
                    f"has {sorted(signatures.keys())}.")
  specs = signatures[name].structured_input_signature[1]
  if not specs:
    raise RestError(f"Signature {name!r} takes no inputs.")
  if ("instances" in document) == ("inputs" in document):
    raise RestError("Give exactly one of 'instances' or 'inputs'.")
  arrays = (_rows(document["instances"], specs) if "instances" in document
            else _columns(document["inputs"], specs))
  return name, {key: tf.constant(value) for key, value in arrays.items()}
