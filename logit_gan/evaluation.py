"""What training watches: class agreement of reconstructions, image grids.

Class agreement is the paper's basic test of an inversion: the frozen
classifier, shown the reconstruction G(Φ(x), ε), predicts the class it
predicted for the original x.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from logit_gan import files
from logit_gan.data import pipeline


def logits_in_batches(classifier: Callable, images, batch_size: int = 250
                      ) -> tf.Tensor:
  """The classifier's logits [N, n_c] for images [N, H, W, 3]."""
  return tf.concat([tf.cast(classifier(images[i:i + batch_size]), tf.float32)
                    for i in range(0, len(images), batch_size)], 0)


def class_agreement(original_logits, reconstruction_logits) -> float:
  """The fraction of reconstructions whose predicted class is the
  original's."""
  original = np.argmax(np.asarray(original_logits), -1)
  reconstructed = np.argmax(np.asarray(reconstruction_logits), -1)
  if original.shape != reconstructed.shape or not original.size:
    raise ValueError(f"Cannot compare {original.shape} original and "
                     f"{reconstructed.shape} reconstruction predictions.")
  return float(np.mean(original == reconstructed))


def reconstruction_grid(originals, reconstructions: Sequence,
                        border: int = 2, min_tile: int = 64) -> np.ndarray:
  """One row per original: the original, a gap, then its reconstructions.

  Args:
    originals: [B, H, W, 3] in [-1, 1].
    reconstructions: a list of [B, H, W, 3] in [-1, 1], one per noise sample.
    min_tile: images smaller than this are enlarged by the integer factor
      s = min_tile // H (nearest neighbour, so pixels stay visible).
  Returns:
    uint8 [rows * (sH + border) + border, columns * (sW + border) + ..., 3].
  """
  scale = max(1, min_tile // int(originals.shape[1]))
  enlarge = lambda x: np.repeat(np.repeat(x, scale, axis=1), scale, axis=2)
  originals = enlarge(pipeline.to_uint8(originals).numpy())
  samples = [enlarge(pipeline.to_uint8(r).numpy()) for r in reconstructions]
  count, height, width, _ = originals.shape
  columns = 1 + len(samples)
  gap = 2 * border  # a wider gap after the original column
  grid = np.full((count * (height + border) + border,
                  columns * (width + border) + border + gap, 3), 255,
                 np.uint8)
  for row in range(count):
    top = border + row * (height + border)
    tiles = [originals[row]] + [sample[row] for sample in samples]
    for column, tile in enumerate(tiles):
      left = border + column * (width + border) + (gap if column else 0)
      grid[top:top + height, left:left + width] = tile
  return grid


def write_png(image: np.ndarray, path: str) -> str:
  return files.write_bytes(str(path), tf.io.encode_png(image).numpy())
