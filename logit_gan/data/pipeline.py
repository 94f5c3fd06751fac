"""tf.data pipelines: (image in [-1, 1], label) batches for every dataset.

One function, `dataset`, serves the paper's data and the offline data; a
`DatasetSpec` (gin `dataset.name`, `dataset.data_dir`, the one spelling for
every command) says which:

  name            TFDS source                               size  classes
  imagenet_64     imagenet_resized/64x64                    64    1000
                  (or downsampled_imagenet/64x64: no labels, label -1)
  cifar100        cifar100                                  32    100
  mnist           mnist (grey, repeated to RGB)             28    10
  fashion_mnist   fashion_mnist (grey, repeated to RGB)     28    10
  shapes          logit_gan_shapes/<32|64> (built locally)  32/64 10
  shapes_ood      logit_gan_shapes/ood_<32|64>              32/64 OOD
  shapes_mini     logit_gan_shapes_mini/<16|32> (ImageNet   16/32 100
                  in miniature, built locally)
  shapes_mini_ood logit_gan_shapes_mini/ood_<16|32>         16/32 OOD

Images are centre-cropped to a square and resized (area averaging when
shrinking, bilinear when enlarging) to `resolution` when their size differs.
The paper reconstructs CIFAR-100, MNIST and FashionMNIST with a model trained
on 64x64 ImageNet: give `resolution=64` for those.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Optional

from absl import logging
import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from logit_gan.data import idx


@dataclasses.dataclass(frozen=True)
class Source:
  """Where a dataset name's examples come from in TFDS."""
  tfds_names: tuple[str, ...]  # Tried in order; the first prepared one wins.
  native_size: Optional[int]
  splits: dict[str, str]  # Our split name -> the TFDS split.
  download_hint: str
  shapes_config: Optional[str] = None  # For the package's own datasets:
  shapes_mini: bool = False  # logit_gan_shapes_mini, not logit_gan_shapes.
  # MNIST-format idx files (data/idx.py) in data_dir, or else in this one.
  idx_dir: Optional[str] = None
  label_names: tuple[str, ...] = ()


_TRAIN_TEST = {"train": "train", "test": "test"}
SOURCES = {
    "imagenet_64": Source(
        ("imagenet_resized/64x64", "downsampled_imagenet/64x64"), 64,
        {"train": "train", "test": "validation", "validation": "validation"},
        "ImageNet needs a manual download: get the 64x64 downsampled "
        "ImageNet (image-net.org, 'Downsampled ImageNet 64x64'), then run "
        "`tfds build imagenet_resized/64x64 --data_dir=DIR "
        "--manual_dir=WHERE_YOU_PUT_IT` on a machine with the files"),
    "cifar100": Source(("cifar100",), 32, _TRAIN_TEST,
                       "run `tfds build cifar100 --data_dir=DIR` on a "
                       "machine with internet access"),
    "mnist": Source(("mnist",), 28, _TRAIN_TEST,
                    "run `tfds build mnist --data_dir=DIR` on a machine with "
                    "internet access"),
    "fashion_mnist": Source(("fashion_mnist",), 28, _TRAIN_TEST,
                            "run `tfds build fashion_mnist --data_dir=DIR` on "
                            "a machine with internet access"),
    "shapes": Source((), None, _TRAIN_TEST, "", shapes_config="{resolution}"),
    "shapes_ood": Source((), None, {"test": "test", "train": "train"}, "",
                         shapes_config="ood_{resolution}"),
    "shapes_mini": Source((), None, _TRAIN_TEST, "",
                          shapes_config="{resolution}", shapes_mini=True),
    "shapes_mini_ood": Source((), None, _TRAIN_TEST, "",
                              shapes_config="ood_{resolution}",
                              shapes_mini=True),
    # Any directory of MNIST-format idx files: gin dataset.data_dir = DIR.
    "idx": Source((), None, _TRAIN_TEST, "", idx_dir=""),
    # Debian's dataset-fashion-mnist package: the real Fashion-MNIST offline.
    "fashion_mnist_idx": Source((), 28, _TRAIN_TEST, "",
                                idx_dir=idx.DEBIAN_FASHION_MNIST,
                                label_names=idx.FASHION_MNIST_NAMES),
}


@gin.configurable("dataset")
@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """Which dataset, and where TFDS keeps it: the one place these are set
  (gin `dataset.name`, `dataset.data_dir`, for every command).

  Attributes:
    name: one of `SOURCES` (gin `dataset.name`, as in the paper's config).
    data_dir: TFDS data directory (None: TFDS's default,
      ~/tensorflow_datasets); for 'idx' the directory of the idx files
      (data/idx.py), for 'fashion_mnist_idx' Debian's by default.
    shuffle_buffer: examples held by the training shuffle.
  """
  name: str = "imagenet_64"
  data_dir: Optional[str] = None
  shuffle_buffer: int = 10_000

  def __post_init__(self):
    if self.name not in SOURCES:
      raise ValueError(f"Unknown dataset {self.name!r}; choose one of "
                       f"{sorted(SOURCES)}.")


def label_names(spec: DatasetSpec, resolution: int
                ) -> Optional[tuple[str, ...]]:
  """The class names TFDS lists for the dataset (no download: TFDS ships
  them with the dataset's code), or None when it lists none."""
  try:
    return tuple(_builder(spec.name, resolution, spec.data_dir)
                 .info.features["label"].names)
  except (KeyError, AttributeError):
    return None


WHERE_DATA_DIR_GOES = ("gin `dataset.data_dir = 'DIR'` (a gin file, or "
                       "--gin_bindings=\"dataset.data_dir = 'DIR'\" for "
                       "bin/train, bin/train_classifier and bin/cache_logits)")


class DatasetNotFoundError(FileNotFoundError):
  """A dataset is not prepared in the data directory."""


def to_model_range(image: tf.Tensor) -> tf.Tensor:
  """uint8 [0, 255] -> float32 [-1, 1]."""
  return tf.cast(image, tf.float32) / 127.5 - 1.0


def to_uint8(image: tf.Tensor) -> tf.Tensor:
  """float [-1, 1] -> uint8 [0, 255], rounded and clipped."""
  return tf.cast(tf.clip_by_value(tf.round((image + 1.0) * 127.5), 0, 255),
                 tf.uint8)


def square_resize(image: tf.Tensor, resolution: int) -> tf.Tensor:
  """Centre-crops an [H, W, C] image to a square and resizes it."""
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  image = tf.image.resize_with_crop_or_pad(image, side, side)
  shrinking = side > resolution
  return tf.cond(
      shrinking,
      lambda: tf.image.resize(image, [resolution, resolution], method="area"),
      lambda: tf.image.resize(image, [resolution, resolution],
                              method="bilinear"))


def _prepare_example(example: dict, resolution: int) -> tuple:
  image = example["image"]
  if image.shape[-1] == 1:
    image = tf.image.grayscale_to_rgb(image)
  image = to_model_range(image)
  if image.shape[0] != resolution or image.shape[1] != resolution:
    image = square_resize(image, resolution)
  image = tf.ensure_shape(image, [resolution, resolution, 3])
  label = tf.cast(example.get("label", tf.constant(-1)), tf.int32)
  return image, label


def shapes_tfds_name(name: str, resolution: int) -> str:
  """The TFDS '<builder>/<config>' of the package's own dataset `name`
  ('shapes', 'shapes_mini', their '_ood') stored at or above `resolution`,
  e.g. 'logit_gan_shapes_mini/16'; ValueError for the other datasets."""
  source = SOURCES[name]
  if source.shapes_config is None:
    own = sorted(n for n, s in SOURCES.items() if s.shapes_config)
    raise ValueError(f"Dataset {name!r} is not one of the package's own "
                     f"(generated, with stored factors): {own}.")
  from logit_gan.data import shapes  # Registers the builders.
  builder_name, resolutions = (
      (shapes.MINI_NAME, shapes.mini.RESOLUTIONS) if source.shapes_mini
      else (shapes.NAME, shapes.RESOLUTIONS))
  config = source.shapes_config.format(
      resolution=shapes.stored_resolution(resolution, resolutions))
  return f"{builder_name}/{config}"


def _builder(name: str, resolution: int, data_dir: Optional[str]):
  source = SOURCES[name]
  if source.idx_dir is not None:
    directory = data_dir or source.idx_dir
    if not directory:
      raise ValueError(f"Dataset {name!r} reads the idx files in "
                       "dataset.data_dir; set it to their directory.")
    return idx.IdxBuilder(directory, name, source.label_names)
  if source.shapes_config is not None:
    tfds_name = shapes_tfds_name(name, resolution)
    builder = tfds.builder(tfds_name, data_dir=data_dir)
    if not builder.is_prepared():
      logging.info("Building %s in %s (generated locally, no download).",
                   tfds_name, builder.data_dir)
      prepare_without_bars_in_logs(builder)
    return builder
  builders = [tfds.builder(n, data_dir=data_dir) for n in source.tfds_names]
  prepared = [b for b in builders if b.is_prepared()]
  return prepared[0] if prepared else builders[0]


def prepare_without_bars_in_logs(builder) -> None:
  """Builds; TFDS's tqdm bars are turned off while stderr is not a terminal
  (they redraw with carriage returns even into a log file)."""
  if sys.stderr.isatty():
    builder.download_and_prepare()
    return
  from tensorflow_datasets.core.utils import tqdm_utils
  was_on = getattr(tqdm_utils, "_active", True)
  tfds.display_progress_bar(False)
  try:
    builder.download_and_prepare()
  finally:
    tfds.display_progress_bar(was_on)


def enough_files(num_files: Optional[int], input_context) -> bool:
  """Whether each input pipeline can read files of its own (True without an
  input context or when the count is unknown). Otherwise (fewer files than
  pipelines, e.g. a small dataset) every pipeline reads all files, in one
  order, and keeps every n-th example: a pipeline without files would end
  at once."""
  return (input_context is None or num_files is None
          or num_files >= input_context.num_input_pipelines)


def _enough_files(builder, split: str, input_context) -> bool:
  try:
    shards = builder.info.splits[split].num_shards
  except (KeyError, ValueError):  # No split metadata (e.g. mock data).
    shards = None
  return enough_files(shards, input_context)


def _read_config(builder, tfds_split: str, seed: int, input_context):
  """TFDS's ReadConfig, and whether each input pipeline reads files of its
  own (else the caller shards the examples)."""
  shard_files = _enough_files(builder, tfds_split, input_context)
  pipeline_seed = seed
  if input_context is not None:
    pipeline_seed = seed + input_context.input_pipeline_id
  # Without files of their own, the pipelines must read the files in one
  # order for every n-th example to partition the data: a shared seed.
  return tfds.ReadConfig(
      input_context=input_context if shard_files else None,
      shuffle_seed=pipeline_seed if shard_files else seed), shard_files


def _examples(spec: DatasetSpec, builder, split: str, *, shuffle: bool,
              seed: int, input_context) -> tf.data.Dataset:
  """The split's examples (dicts), sharded per input pipeline; raises
  DatasetNotFoundError, saying what to do, if the split is not prepared."""
  source = SOURCES[spec.name]
  read_config, shard_files = _read_config(builder, source.splits[split], seed,
                                          input_context)
  try:
    examples = builder.as_dataset(split=source.splits[split],
                                  shuffle_files=shuffle,
                                  read_config=read_config)
  except AssertionError as error:  # TFDS's "could not find data" error.
    raise DatasetNotFoundError(
        f"Dataset {spec.name!r} ({builder.name}) is not prepared in "
        f"{builder.data_dir_root}: {source.download_hint}; then give DIR "
        f"as {WHERE_DATA_DIR_GOES}.") from error
  if input_context is not None and not shard_files:
    examples = examples.shard(input_context.num_input_pipelines,
                              input_context.input_pipeline_id)
  return examples


def dataset(spec: DatasetSpec, *, split: str = "train",
            resolution: int = 64, batch_size: int = 64,
            shuffle: bool = True, repeat: Optional[bool] = None,
            seed: int = 0,
            input_context: Optional[tf.distribute.InputContext] = None,
            drop_remainder: bool = True) -> tf.data.Dataset:
  """Batched, prefetched (images [B, R, R, 3] in [-1, 1], labels [B] int32).

  Args:
    spec: the dataset and its TFDS directory (`DatasetSpec`).
    split: 'train' or 'test' ('test' is ImageNet's validation split).
    resolution: output size R.
    batch_size: the global batch; with `input_context`, each input pipeline
      yields its per-replica share.
    shuffle, repeat: repeat defaults to True for 'train', False otherwise.
    seed: shuffling seed (offset per input pipeline).
    input_context: from `strategy.distribute_datasets_from_function`; files
      are sharded across input pipelines.
  """
  source = SOURCES[spec.name]
  if split not in source.splits:
    raise ValueError(f"Dataset {spec.name!r} has splits "
                     f"{sorted(source.splits)}, not {split!r}.")
  builder = _builder(spec.name, resolution, spec.data_dir)
  examples = _examples(spec, builder, split, shuffle=shuffle, seed=seed,
                       input_context=input_context)
  per_replica_batch = batch_size
  if input_context is not None:
    per_replica_batch = input_context.get_per_replica_batch_size(batch_size)
    seed += input_context.input_pipeline_id
  if shuffle:
    examples = examples.shuffle(spec.shuffle_buffer, seed=seed)
  if split == "train" if repeat is None else repeat:
    examples = examples.repeat()
  examples = examples.map(lambda e: _prepare_example(e, resolution),
                          num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
  return examples.batch(per_replica_batch,
                        drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
