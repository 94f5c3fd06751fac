"""Reading and writing files wherever TensorFlow can: local paths, gs://
buckets (where a TPU run keeps its model_dir and exports), ram:// in tests.

pathlib would turn "gs://bucket/run" into "gs:/bucket/run", a local
folder, without an error; so paths a user may point at a bucket stay
strings, joined with os.path.join and opened through tf.io.gfile.
"""

from __future__ import annotations

import os

import tensorflow as tf


def write_bytes(path: str, data: bytes) -> str:
  """Writes data to path, creating its folder; returns path."""
  folder = os.path.dirname(path)
  if folder:
    tf.io.gfile.makedirs(folder)
  if tf.io.gfile.exists(path):  # Some filesystems (ram://) append on "wb".
    tf.io.gfile.remove(path)
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(data)
  return path


def write_text(path: str, text: str) -> str:
  return write_bytes(path, text.encode("utf-8"))


def read_text(path: str) -> str:
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read().decode("utf-8")


def is_file(path: str) -> bool:
  """An existing file, not a folder (tf.io.gfile has no isfile)."""
  return tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)


def is_remote(path: str) -> bool:
  """A URL-like path (gs://, s3://, ram://, http://) rather than a local
  one."""
  return "://" in str(path)


def expand_user(path: str) -> str:
  """`~` expanded in a local path; a remote one (gs://) is kept as it is."""
  return path if is_remote(path) else os.path.expanduser(path)
