"""The test images of an analysis, with their labels and, for the package's
own datasets, their ground-truth factors.

`Examples` holds images float32 [N, R, R, 3] in [-1, 1], labels int64 [N]
(or None: image files have none), factors (name -> [N, ...], empty unless
the dataset stores them) and where they came from. Three sources:

  from_dataset  a `DatasetSpec` (as a dict, e.g. the one an export's
                `describe` records) or its name: the package's own datasets
                (`shapes`, `shapes_mini`, their `_ood`) with every stored
                feature as a factor, any other (`cifar100`, `mnist`, ...)
                through the training pipeline;
  from_files    image files or folders (`image_files`), no labels;
  from_tfds     any TFDS name (`fashion_mnist`, 'cifar100:3.*'), grey made
                RGB, resized to R.

Which images: the first `count` of the split, in its stored order (the
package's datasets are generated in random order, so these are a random
sample), so the same call gives the same images. `data_dir` records the
TFDS data directory they were read from (None: TFDS's default, or not from
TFDS), so that an experiment needing more of the same data (the factor
regressor's training split, the `_ood` variant) reads it from there too.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from logit_gan import image_files
from logit_gan.data import pipeline


@dataclasses.dataclass
class Examples:
  """Test images (see the module docstring)."""
  images: np.ndarray
  labels: Optional[np.ndarray] = None
  factors: dict = dataclasses.field(default_factory=dict)
  source: str = ""
  class_names: Optional[tuple[str, ...]] = None
  data_dir: Optional[str] = None

  def __post_init__(self):
    images = np.asarray(self.images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3 or (
        images.shape[1] != images.shape[2]):
      raise ValueError(f"Examples from {self.source or 'the caller'}: images "
                       "must be [N, R, R, 3], got "
                       f"{list(images.shape)}.")
    if len(images) == 0:
      raise ValueError(f"No test images in {self.source or 'the input'}.")
    self.images = images

  def __len__(self) -> int:
    return len(self.images)

  @property
  def resolution(self) -> int:
    return int(self.images.shape[1])

  def subset(self, indices) -> "Examples":
    """The examples at `indices` (an index array or a boolean mask)."""
    indices = np.asarray(indices)
    return Examples(self.images[indices],
                    None if self.labels is None else self.labels[indices],
                    {k: v[indices] for k, v in self.factors.items()},
                    self.source, self.class_names, self.data_dir)

  def describe(self) -> dict:
    return {"source": self.source, "count": len(self),
            "resolution": self.resolution,
            "labelled": self.labels is not None,
            "factors": sorted(self.factors)}


def _resized(images, resolution: int) -> np.ndarray:
  if images.shape[1] != resolution:
    images = tf.image.resize(images, [resolution, resolution],
                             method="area" if images.shape[1] > resolution
                             else "bilinear")
  return np.asarray(images, np.float32)


def from_shapes(tfds_name: str, *, resolution: int, split: str = "test",
                count: int, data_dir: Optional[str] = None) -> Examples:
  """The first `count` images of the package's TFDS `tfds_name` (e.g.
  'logit_gan_shapes_mini/16'; built when missing), area-resized to
  `resolution`, with their labels and every other feature as a factor."""
  import tensorflow_datasets as tfds
  from logit_gan.data import shapes  # pylint: disable=unused-import
  builder = tfds.builder(tfds_name, data_dir=data_dir)
  if not builder.is_prepared():
    pipeline.prepare_without_bars_in_logs(builder)
  batches = list(tfds.as_numpy(builder.as_dataset(split=split).take(count)
                               .batch(1000)))
  if not batches:
    raise ValueError(f"{tfds_name} split {split!r} holds no examples.")
  features = {key: np.concatenate([batch[key] for batch in batches])
              for key in batches[0]}
  images = pipeline.to_model_range(features.pop("image")).numpy()
  labels = features.pop("label").astype(np.int64)
  names = builder.info.features["label"].names
  return Examples(_resized(images, resolution), labels, features,
                  f"{tfds_name}:{split}", tuple(names) if names else None,
                  data_dir)


def from_dataset(dataset: Union[dict, str, pipeline.DatasetSpec], *,
                 resolution: int, split: str = "test",
                 count: int = 1000) -> Examples:
  """The first `count` test images of a dataset of `pipeline.SOURCES`."""
  if isinstance(dataset, str):
    dataset = {"name": dataset}
  spec = dataset if isinstance(dataset, pipeline.DatasetSpec) else (
      pipeline.DatasetSpec(**{k: v for k, v in dict(dataset).items()
                              if k in ("name", "data_dir")}))
  if pipeline.SOURCES[spec.name].shapes_config is not None:
    return from_shapes(pipeline.shapes_tfds_name(spec.name, resolution),
                       resolution=resolution, split=split, count=count,
                       data_dir=spec.data_dir)
  data = pipeline.dataset(spec, split=split, resolution=resolution,
                          batch_size=min(count, 500), shuffle=False,
                          repeat=False, drop_remainder=False)
  images, labels = [], []
  for batch_images, batch_labels in data:
    images.append(batch_images.numpy())
    labels.append(batch_labels.numpy().astype(np.int64))
    if sum(map(len, images)) >= count:
      break
  if not images:
    raise ValueError(f"Dataset {spec.name!r} split {split!r} is empty.")
  return Examples(np.concatenate(images)[:count],
                  np.concatenate(labels)[:count], {}, f"{spec.name}:{split}",
                  pipeline.label_names(spec, resolution), spec.data_dir)


def from_files(paths: Sequence[str], *, resolution: int) -> Examples:
  """Image files and folders (folders give their images in name order)."""
  found = image_files.expand_folders(paths)
  if not found:
    raise ValueError("No image files given.")
  images = np.stack([image_files.read(path, resolution).numpy()
                     for path in found])
  return Examples(pipeline.to_model_range(images).numpy(), None, {},
                  "files:" + ",".join(found[:3]) + (
                      f",... ({len(found)})" if len(found) > 3 else ""))


def from_tfds(name: str, *, resolution: int, split: str = "test",
              count: int = 1000, data_dir: Optional[str] = None) -> Examples:
  """The first `count` images of any prepared TFDS dataset `name` (grey
  becomes RGB); a clear error when it is unknown or not prepared."""
  import tensorflow_datasets as tfds
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except Exception as error:  # TFDS raises several kinds for a bad name.
    raise ValueError(f"TFDS has no dataset {name!r} ({error}).") from None
  if not builder.is_prepared():
    raise FileNotFoundError(
        f"TFDS dataset {name!r} is not prepared in {builder.data_dir}: run "
        f"`tfds build {name} --data_dir=DIR` on a machine with internet "
        "access and copy DIR here (this machine may have none).")
  data = builder.as_dataset(split=split).take(count).batch(500)
  images, labels = [], []
  for batch in tfds.as_numpy(data):
    image = batch["image"]
    if image.shape[-1] == 1:
      image = np.repeat(image, 3, axis=-1)
    images.append(_resized(pipeline.to_model_range(image).numpy(),
                           resolution))
    if "label" in batch:
      labels.append(batch["label"].astype(np.int64))
  if not images:
    raise ValueError(f"TFDS {name!r} split {split!r} is empty.")
  return Examples(np.concatenate(images),
                  np.concatenate(labels) if labels else None, {},
                  f"tfds:{name}:{split}", data_dir=data_dir)
