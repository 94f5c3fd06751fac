"""A classifier's declared preprocessing: [-1, 1] RGB -> the network's input.

The package's images are [B, S, S, 3] float32 in [-1, 1]; a network wants
its own channels, range and normalisation. `declared(...)` builds the map
from what a user states about their network, in this order:

  1. channels: 3 keeps RGB; 1 takes the luminance Y = 0.299 R + 0.587 G +
     0.114 B (ITU-R BT.601, the weights of tf.image.rgb_to_grayscale), so a
     greyscale network sees the brightness of colour images.
  2. either a named keras.applications preprocessing ('resnet_v2',
     'inception_v3', 'vgg16', ...: `keras.applications.<name>.
     preprocess_input`, applied to pixels in [0, 255], which is what those
     functions take),
  3. or a linear map onto `input_range` (default [0, 1]), then
     (x - mean) / std per channel if given.

Every argument is a number, a list of numbers or a string, so a run record
can store them as JSON.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import keras
import tensorflow as tf

Preprocess = Callable[[tf.Tensor], tf.Tensor]

# ITU-R BT.601 luma weights, as tf.image.rgb_to_grayscale uses them.
LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)
DEFAULT_INPUT_RANGE = (0.0, 1.0)
_NOT_NAMED = ("imagenet_utils",)  # Has preprocess_input, but takes a mode.


def named_preprocessings() -> list[str]:
  """The keras.applications modules with a `preprocess_input`."""
  return sorted(
      name for name in dir(keras.applications) if name not in _NOT_NAMED
      and callable(getattr(getattr(keras.applications, name),
                           "preprocess_input", None)))


def named_preprocess_input(name: str) -> Preprocess:
  """keras.applications.<name>.preprocess_input; raises on unknown names."""
  known = named_preprocessings()
  if name not in known:
    raise ValueError(f"Unknown preprocessing {name!r}: it must name a "
                     "keras.applications module with a preprocess_input, "
                     f"one of {known}.")
  return getattr(keras.applications, name).preprocess_input


def luminance(images: tf.Tensor) -> tf.Tensor:
  """[..., 3] RGB -> [..., 1] luminance (BT.601 weights; same range)."""
  weights = tf.constant(LUMINANCE_WEIGHTS, images.dtype)
  return tf.reduce_sum(images * weights, axis=-1, keepdims=True)


def _check_range(input_range: Sequence[float]) -> tuple[float, float]:
  values = tuple(float(v) for v in input_range)
  if len(values) != 2 or not values[0] < values[1]:
    raise ValueError(f"input_range must be (low, high) with low < high, not "
                     f"{tuple(input_range)}.")
  return values


def _floats(values) -> tuple[float, ...]:
  """A number or a sequence of numbers as a tuple of floats."""
  if isinstance(values, (int, float)):
    return (float(values),)
  return tuple(float(v) for v in values)


def _check_statistics(mean, std, channels: int):
  """mean and std as float tuples of 1 or `channels` values, or Nones."""
  if (mean is None) != (std is None):
    raise ValueError("Pass both mean and std, or neither.")
  if mean is None:
    return None, None
  mean, std = _floats(mean), _floats(std)
  for label, values in (("mean", mean), ("std", std)):
    if len(values) not in (1, channels):
      raise ValueError(f"{label} has {len(values)} values; give 1 or one "
                       f"per channel ({channels}).")
  if min(std) <= 0:
    raise ValueError(f"std must be positive, not {std}.")
  return mean, std


def _check_named(preprocessing: str, channels: int, input_range, mean):
  if mean is not None:
    raise ValueError(
        f"Both mean/std and preprocessing={preprocessing!r} are set: a named "
        "preprocessing does its own normalisation. Drop mean and std, or "
        "drop preprocessing.")
  if input_range is not None:
    raise ValueError(
        f"Both input_range and preprocessing={preprocessing!r} are set: a "
        "named preprocessing takes pixels in [0, 255]. Drop input_range, "
        "or drop preprocessing.")
  if channels != 3:
    raise ValueError(
        f"preprocessing={preprocessing!r} takes RGB images, but channels="
        f"{channels}; for a greyscale network declare input_range (and "
        "mean/std) instead.")
  return named_preprocess_input(preprocessing)


def declared(*, channels: int = 3,
             input_range: Optional[Sequence[float]] = None,
             mean: Optional[Sequence[float]] = None,
             std: Optional[Sequence[float]] = None,
             preprocessing: Optional[str] = None) -> Preprocess:
  """The map [B, S, S, 3] in [-1, 1] -> [B, S, S, channels] of the module
  docstring.

  Args:
    channels: 3 (RGB) or 1 (greyscale: the luminance).
    input_range: (low, high), the network's pixel range; default (0, 1).
    mean, std: per-channel (or one) normalisation after `input_range`.
    preprocessing: a keras.applications module name ('resnet_v2', ...);
      excludes `input_range`, `mean` and `std`.
  """
  channels = int(channels)
  if channels not in (1, 3):
    raise ValueError(f"channels must be 1 (greyscale) or 3 (RGB), not "
                     f"{channels}.")
  if preprocessing is not None:
    preprocess_input = _check_named(preprocessing, channels, input_range,
                                    mean)
    return lambda images: preprocess_input((images + 1.0) * 127.5)
  low, high = _check_range(input_range or DEFAULT_INPUT_RANGE)
  mean, std = _check_statistics(mean, std, channels)

  def preprocess(images: tf.Tensor) -> tf.Tensor:
    if channels == 1:
      images = luminance(images)
    images = low + (images + 1.0) * (0.5 * (high - low))
    if mean is not None:
      images = (images - tf.constant(mean, images.dtype)) / tf.constant(
          std, images.dtype)
    return images

  return preprocess
