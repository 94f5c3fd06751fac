"""Image files a user gives a command (bin/reconstruct): folders expanded
to their images, and any PNG, JPEG, GIF or BMP read as the uint8 RGB
square a model takes.

Every mode and depth TensorFlow decodes is accepted: greyscale, RGBA
(alpha dropped), palette, 16-bit (scaled to 8-bit); any size from 1x1 to
a large photo (centre-cropped in uint8, then area-averaged down or
bilinearly up). A file that does not decode is refused with a ValueError
naming it.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Iterable

from absl import logging
import tensorflow as tf

from logit_gan import files
from logit_gan.data import pipeline

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")


def expand_folders(given: Iterable[str], *,
                   note: Callable[[str], None] = logging.info) -> list[str]:
  """The files `given` names, with each folder replaced by its image files
  in name order (`note` is told of the other files skipped)."""
  paths = []
  for path in map(str, given):
    if not tf.io.gfile.isdir(path):
      paths.append(path)
      continue
    names = sorted(tf.io.gfile.listdir(path))
    inside = [os.path.join(path, name) for name in names]
    images = [p for p in inside if p.lower().endswith(IMAGE_SUFFIXES)
              and not tf.io.gfile.isdir(p)]
    skipped = [os.path.basename(p) for p in inside if p not in images]
    if skipped:
      note(f"note: skipped {len(skipped)} file(s) in {path} that are not "
           f"{'/'.join(IMAGE_SUFFIXES)} images: {', '.join(skipped)}")
    if not images:
      raise FileNotFoundError(f"No image files ({', '.join(IMAGE_SUFFIXES)}) "
                              f"in the folder {path}.")
    paths += images
  return paths


def _reason(message: str) -> str:
  """TensorFlow's decoding error without its op and function names."""
  message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "",
                   message.splitlines()[0])
  return re.sub(r"\s*\[Op:\w+\].*$", "", message)


def read(path: str, resolution: int) -> tf.Tensor:
  """uint8 [R, R, 3]: the file centre-cropped and resized (cropped in
  uint8 before anything is converted, so a large photo costs one copy of
  its pixels)."""
  if not files.is_file(path):
    raise FileNotFoundError(f"No image file {path}.")
  try:
    image = tf.io.decode_image(tf.io.read_file(path), channels=3,
                               dtype=tf.uint8, expand_animations=False)
  except tf.errors.InvalidArgumentError as error:
    raise ValueError(f"{path} is not a readable PNG, JPEG, GIF or BMP image "
                     f"({_reason(error.message)}).") from None
  image = pipeline.square_resize(image, resolution)
  return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
