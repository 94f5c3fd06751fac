"""Reading and writing files wherever TensorFlow can: local paths, gs://
buckets (where a TPU run keeps its model_dir and exports), ram:// in tests.

pathlib would turn "gs://bucket/run" into "gs:/bucket/run", a local
folder, without an error; so paths a user may point at a bucket stay
strings, joined with os.path.join and opened through tf.io.gfile.

Files are written atomically (`atomic_path`): under a temporary name in
the same folder, then renamed over the final name. A process killed
mid-write leaves the previous file (or none) and a hidden `.tmp-*` file,
never a half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator
import uuid

import tensorflow as tf

TEMPORARY_PREFIX = ".tmp-"


def _remove_if_exists(path: str) -> None:
  if tf.io.gfile.isdir(path):
    tf.io.gfile.rmtree(path)
  elif tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path` for the caller to write (a file
  or a folder); when the block ends without an error it is renamed to
  `path`, replacing what was there; on an error it is removed.

  The temporary name keeps `path`'s extension (`.tmp-1a2b3c4d-x.keras`),
  for writers that check it. A local rename is atomic; on gs:// a rename
  is a copy then a delete, so a reader sees the old or the new object,
  never part of one.
  """
  folder, name = os.path.split(str(path))
  if folder:
    tf.io.gfile.makedirs(folder)
  temporary = os.path.join(folder,
                           f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:8]}-{name}")
  try:
    yield temporary
    if tf.io.gfile.isdir(temporary) and tf.io.gfile.isdir(path):
      tf.io.gfile.rmtree(path)  # A folder cannot be renamed over another.
    tf.io.gfile.rename(temporary, str(path), overwrite=True)
  finally:
    _remove_if_exists(temporary)


def write_bytes(path: str, data: bytes) -> str:
  """Writes data to path atomically (`atomic_path`), creating its folder;
  returns path."""
  with atomic_path(path) as temporary:
    with tf.io.gfile.GFile(temporary, "wb") as f:
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
