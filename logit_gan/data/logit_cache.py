"""A cache of a frozen classifier's logits over a dataset split.

GAN training conditions on z = Phi(x) for every real image; the classifier
is frozen, so its logits can be computed once and read back with the images
instead of running it at every step. A cache directory holds

  cache.json               what made it: classifier name and fingerprint
                           (its logits on a fixed probe batch),
                           dataset name, split and resolution, and counts
  shard-00000.tfrecord, ... (image uint8 [R, R, 3], logits float32
                           [n_c], label int64) examples

cache.json is written last, atomically, and lists each shard's size in
bytes: a build killed midway leaves shards without cache.json, which no
reader accepts (`read_info` says the build was interrupted) and the next
`write` into the folder replaces; a shard truncated later is refused.

Images are stored as uint8, and the logits are computed from exactly the
stored pixels, so reading the cache gives the logits the classifier gives
for the images read. Reading checks the classifier's fingerprint (its logits
on a fixed probe batch) and the dataset against the request, and refuses a
mismatch rather than training a GAN on another classifier's logits.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Iterable, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from logit_gan import files
from logit_gan import progress as progress_lib
from logit_gan.data import pipeline

METADATA = "cache.json"
# 2: the fingerprint is the probe logits. Version 1 stored a hash of them
# and is refused: rebuild such a cache with bin/cache_logits.
FORMAT_VERSION = 2
# How far a classifier's probe logits may move and still count as the one
# that wrote the cache: a fraction of the largest probe logit (at least 1).
# Other hardware, XLA or bfloat16 move them by far less; other weights by
# more.
FINGERPRINT_TOLERANCE = 0.05


@dataclasses.dataclass(frozen=True)
class DatasetId:
  name: str
  split: str
  resolution: int


@dataclasses.dataclass(frozen=True)
class CacheInfo:
  classifier_name: str
  classifier_fingerprint: list  # The probe logits, [8][n_c].
  dataset: DatasetId
  num_classes: int
  num_examples: int
  shards: tuple[str, ...]
  format_version: int = FORMAT_VERSION
  # Each shard's size in bytes; () in caches written before sizes were
  # recorded (not checked there).
  shard_sizes: tuple[int, ...] = ()

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2)

  @classmethod
  def from_json(cls, text: str) -> "CacheInfo":
    fields = json.loads(text)
    fields["dataset"] = DatasetId(**fields["dataset"])
    fields["shards"] = tuple(fields["shards"])
    fields["shard_sizes"] = tuple(fields.get("shard_sizes", ()))
    return cls(**fields)


class CacheMismatchError(ValueError):
  """The cache was made by another classifier or from another dataset."""


SHARD_PATTERN = "shard-*.tfrecord"


def _shard_files(directory: str) -> list[str]:
  return sorted(tf.io.gfile.glob(os.path.join(directory, SHARD_PATTERN)))


def _remove_partial_build(directory: str) -> None:
  """Deletes the shards an interrupted build left (no cache.json)."""
  stale = _shard_files(directory)
  if stale:
    logging.warning("%s holds %d shard(s) of an interrupted logit-cache "
                    "build (no %s); replacing them.", directory, len(stale),
                    METADATA)
  for path in stale:
    tf.io.gfile.remove(path)


def fingerprint(classifier: Callable, resolution: int) -> np.ndarray:
  """The classifier's logits [8, n_c] on a fixed batch of random images.

  Weights-agnostic (works for SavedModels too); compared within
  FINGERPRINT_TOLERANCE (`fingerprint_difference`), so that the same
  classifier on other hardware, under XLA or in bfloat16 still matches.
  """
  probe = tf.random.stateless_uniform([8, resolution, resolution, 3],
                                      seed=[20210, 7], minval=-1, maxval=1)
  return np.asarray(classifier(probe), np.float64)


def fingerprint_difference(stored: list,
                           logits: np.ndarray) -> Optional[float]:
  """How far `logits` are from a cache's stored fingerprint, as a fraction
  of the largest stored logit (at least 1); None if they cannot be the same
  classifier's (another shape)."""
  stored = np.asarray(stored, np.float64)
  if stored.shape != logits.shape:
    return None
  scale = max(1.0, float(np.abs(stored).max()))
  return float(np.abs(stored - logits).max()) / scale


def _serialize(image: np.ndarray, logits: np.ndarray, label: int) -> bytes:
  feature = {
      "image": tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[image.tobytes()])),
      "logits": tf.train.Feature(float_list=tf.train.FloatList(value=logits)),
      "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
  }
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


def write(classifier: Callable, batches: Iterable, directory: str, *,
          classifier_name: str, dataset: DatasetId,
          examples_per_shard: int = 10_000,
          total_batches: Optional[int] = None) -> CacheInfo:
  """Runs `classifier` once over `batches` of (images in [-1, 1], labels)
  and writes the cache to `directory` (created; must not hold a complete
  cache; an interrupted build's shards are replaced)."""
  out = str(directory)  # Local or gs://: see logit_gan/files.py.
  if tf.io.gfile.exists(os.path.join(out, METADATA)):
    raise FileExistsError(f"{out} already holds a logit cache; remove it or "
                          "choose another directory.")
  tf.io.gfile.makedirs(out)
  _remove_partial_build(out)
  classify = tf.function(classifier)
  progress = progress_lib.Progress(total_batches, unit="batch")
  shard_paths, writer, count, num_classes = [], None, 0, None
  try:
    for batches_done, (images, labels) in enumerate(batches, 1):
      pixels = pipeline.to_uint8(images)
      logits = classify(pipeline.to_model_range(pixels)).numpy()
      if logits.ndim != 2:
        raise ValueError(f"The classifier returned logits of shape "
                         f"{logits.shape}; expected [B, n_c].")
      num_classes = logits.shape[1]
      for image, row, label in zip(pixels.numpy(), logits, labels.numpy()):
        if count % examples_per_shard == 0:
          if writer is not None:
            writer.close()
          shard_paths.append(f"shard-{len(shard_paths):05d}.tfrecord")
          writer = tf.io.TFRecordWriter(os.path.join(out, shard_paths[-1]))
        writer.write(_serialize(image, row, int(label)))
        count += 1
      progress.update(batches_done)
  finally:
    if writer is not None:
      writer.close()
  if not count:
    raise ValueError("No examples to cache: the dataset is empty.")
  names = tuple(shard_paths)
  info = CacheInfo(classifier_name=classifier_name,
                   classifier_fingerprint=np.round(fingerprint(
                       classifier, dataset.resolution), 4).tolist(),
                   dataset=dataset, num_classes=int(num_classes),
                   num_examples=count, shards=names,
                   shard_sizes=tuple(tf.io.gfile.stat(os.path.join(
                       out, name)).length for name in names))
  # Last, atomically: the cache exists for readers only from here on.
  files.write_text(os.path.join(out, METADATA), info.to_json())
  progress.finish(f"Cached the logits of {count} examples from "
                  f"{classifier_name} in {out}.")
  return info


def read_info(directory: str) -> CacheInfo:
  """The cache's metadata, after checking that its shards are whole."""
  path = os.path.join(directory, METADATA)
  if not tf.io.gfile.exists(path):
    if tf.io.gfile.isdir(directory) and _shard_files(directory):
      raise FileNotFoundError(
          f"{directory} holds an interrupted logit-cache build (shards but "
          f"no {METADATA}); run bin/cache_logits (or bin/train) again to "
          "rebuild it there.")
    raise FileNotFoundError(
        f"No logit cache in {directory} ({METADATA} is missing). Make one "
        "with logit_gan.data.logit_cache.write (bin/cache_logits).")
  try:
    info = CacheInfo.from_json(files.read_text(path))
  except (ValueError, TypeError, KeyError) as error:
    raise ValueError(f"{path} is corrupt ({error}); delete the cache "
                     "directory and write it again.") from error
  if info.format_version != FORMAT_VERSION:
    raise ValueError(
        f"{path} is a version-{info.format_version} logit cache; this "
        f"version of logit_gan reads version {FORMAT_VERSION} only. Delete "
        f"{directory} and rebuild it with bin/cache_logits.")
  _check_shards(directory, info)
  return info


def _check_shards(directory: str, info: CacheInfo) -> None:
  """Raises ValueError naming a shard that is missing or not the size
  cache.json records (truncated)."""
  for name, size in zip(info.shards, info.shard_sizes):
    shard = os.path.join(directory, name)
    actual = (tf.io.gfile.stat(shard).length
              if tf.io.gfile.exists(shard) else None)
    if actual != size:
      found = "is missing" if actual is None else f"has {actual} bytes"
      raise ValueError(
          f"Logit-cache shard {shard} {found}, not the {size} bytes "
          f"{METADATA} records: the cache is damaged. Delete {directory} "
          "and rebuild it with bin/cache_logits.")


def check(info: CacheInfo, *, classifier_name: str,
          classifier_fingerprint: Optional[np.ndarray],
          dataset: DatasetId, directory: Optional[str] = None) -> None:
  """Raises CacheMismatchError unless the cache was made as requested
  (`classifier_fingerprint`: `fingerprint` of the classifier in use);
  the message names `directory` when given."""
  problems = []
  if info.classifier_name != classifier_name:
    problems.append(f"classifier {info.classifier_name!r}, not "
                    f"{classifier_name!r}")
  if classifier_fingerprint is not None:
    difference = fingerprint_difference(info.classifier_fingerprint,
                                        classifier_fingerprint)
    if difference is None or difference > FINGERPRINT_TOLERANCE:
      moved = ("differ in shape" if difference is None else
               f"differ by {difference:.1%} of the largest, more than "
               f"{FINGERPRINT_TOLERANCE:.0%}")
      problems.append("a classifier with other weights (its logits on the "
                      f"fingerprint's probe images {moved})")
  if info.dataset != dataset:
    problems.append(f"dataset {info.dataset}, not {dataset}")
  if problems:
    where = f" in {directory}" if directory else ""
    raise CacheMismatchError(
        f"The logit cache{where} was made with " + "; ".join(problems)
        + ". Write a new cache for this classifier and dataset: give "
        "train.logit_cache_dir a new folder (bin/train builds the cache "
        "there), or build one with bin/cache_logits --output_dir=FOLDER.")


def read(directory: str, *, classifier_name: str,
         classifier_fingerprint: Optional[np.ndarray], dataset: DatasetId,
         batch_size: int, shuffle: bool = True, repeat: bool = True,
         seed: int = 0, input_context=None) -> tf.data.Dataset:
  """(images [B, R, R, 3] in [-1, 1], logits [B, n_c], labels [B]) batches
  from a cache, after checking it was made by this classifier and dataset."""
  info = read_info(directory)
  check(info, classifier_name=classifier_name,
        classifier_fingerprint=classifier_fingerprint, dataset=dataset,
        directory=directory)
  resolution, n_c = dataset.resolution, info.num_classes
  spec = {"image": tf.io.FixedLenFeature([], tf.string),
          "logits": tf.io.FixedLenFeature([n_c], tf.float32),
          "label": tf.io.FixedLenFeature([], tf.int64)}

  def parse(records):
    """A batch of records at once: a third of the CPU time of parsing them
    one by one, which on a 2-core machine is taken from the training step."""
    examples = tf.io.parse_example(records, spec)
    # The batch's static size (drop_remainder), which TPUs need.
    images = tf.reshape(tf.io.decode_raw(examples["image"], tf.uint8),
                        [records.shape[0] or -1, resolution, resolution, 3])
    return (pipeline.to_model_range(images), examples["logits"],
            tf.cast(examples["label"], tf.int32))

  shard_files = [os.path.join(directory, s) for s in info.shards]
  ds = tf.data.Dataset.from_tensor_slices(shard_files)
  per_replica_batch = batch_size
  by_file = pipeline.enough_files(len(shard_files), input_context)
  if input_context is not None and by_file:
    ds = ds.shard(input_context.num_input_pipelines,
                  input_context.input_pipeline_id)
  # Unshuffled reads keep the written order: one file at a time.
  ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=4 if shuffle else 1,
                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if input_context is not None:
    if not by_file:
      ds = ds.shard(input_context.num_input_pipelines,
                    input_context.input_pipeline_id)
    per_replica_batch = input_context.get_per_replica_batch_size(batch_size)
    seed += input_context.input_pipeline_id
  if shuffle:
    ds = ds.shuffle(10_000, seed=seed)
  if repeat:
    ds = ds.repeat()
  ds = ds.batch(per_replica_batch, drop_remainder=repeat)
  ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ds.prefetch(tf.data.AUTOTUNE)


def cache_split(classifier, output_dir: str, *, spec: pipeline.DatasetSpec,
                split: str, resolution: int,
                batch_size: int = 250) -> CacheInfo:
  """Runs a `logit_gan.classifiers.zoo.Classifier` once over a split of the
  dataset `spec` names and writes its logit cache to `output_dir`
  (bin/cache_logits)."""
  batches = pipeline.dataset(spec, split=split, resolution=resolution,
                             batch_size=batch_size, shuffle=False,
                             repeat=False, drop_remainder=False)
  known = int(batches.cardinality())  # TFDS splits know their size.
  return write(classifier, batches, output_dir,
               classifier_name=classifier.name,
               dataset=DatasetId(spec.name, split, resolution),
               total_batches=known if known >= 0 else None)
