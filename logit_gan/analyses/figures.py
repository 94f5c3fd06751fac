"""Figures of the analyses, as PNG bytes: image grids (PIL), line plots
with confidence bands and grouped bar charts with error bars (matplotlib,
Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import io
from typing import Optional

import numpy as np
from PIL import Image
from PIL import ImageDraw

PAD = 2
LABEL_HEIGHT = 12


def to_uint8(images) -> np.ndarray:
  """[..., 3] in [-1, 1] -> uint8, as pipeline.to_uint8 (round((x+1)*127.5))."""
  images = np.clip(np.asarray(images, np.float32), -1.0, 1.0)
  return np.round((images + 1.0) * 127.5).astype(np.uint8)


def png(image: np.ndarray) -> bytes:
  """uint8 [H, W, 3] -> PNG bytes."""
  buffer = io.BytesIO()
  Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def image_grid(rows: Sequence[np.ndarray], *,
               row_labels: Optional[Sequence[str]] = None,
               column_labels: Optional[Sequence[str]] = None,
               scale: int = 4) -> bytes:
  """A PNG of rows of images: rows[i] is [k_i, R, R, 3] in [-1, 1] (rows may
  differ in length; shorter ones are left blank), each image upscaled by
  `scale` (nearest neighbour, so pixels stay visible), white gaps, labels
  (short text) on the left of rows and above columns."""
  if not rows:
    raise ValueError("image_grid needs at least one row of images.")
  rows = [to_uint8(r) for r in rows]
  size = rows[0].shape[1] * scale
  columns = max(len(r) for r in rows)
  left = 8 + 6 * max((len(t) for t in row_labels or ()), default=0) if (
      row_labels) else 0
  top = LABEL_HEIGHT if column_labels else 0
  canvas = Image.new("RGB", (left + columns * (size + PAD) + PAD,
                             top + len(rows) * (size + PAD) + PAD), "white")
  draw = ImageDraw.Draw(canvas)
  for i, row in enumerate(rows):
    y = top + PAD + i * (size + PAD)
    if row_labels:
      draw.text((2, y + size // 2 - 5), str(row_labels[i]), fill="black")
    for j, image in enumerate(row):
      tile = Image.fromarray(image).resize((size, size), Image.NEAREST)
      canvas.paste(tile, (left + PAD + j * (size + PAD), y))
  for j, text in enumerate(column_labels or ()):
    draw.text((left + PAD + j * (size + PAD), 1), str(text)[:size // 6],
              fill="black")
  return png(np.asarray(canvas))


def line_plot(x: Sequence[float], series: Mapping[str, Sequence], *,
              xlabel: str, ylabel: str, title: str = "",
              logx: bool = False) -> bytes:
  """A PNG line plot: series[label] = [(mean, low, high) per x] (low/high
  may be NaN: no band), one line with a shaded band per label."""
  plt = _pyplot()
  figure, axes = plt.subplots(figsize=(4.2, 3.0), dpi=110)
  for label, points in series.items():
    points = np.asarray(points, np.float64).reshape(len(x), 3)
    axes.plot(x, points[:, 0], marker="o", markersize=3, label=label)
    if np.isfinite(points[:, 1:]).all():
      axes.fill_between(x, points[:, 1], points[:, 2], alpha=0.25)
  if logx:
    axes.set_xscale("log")
  axes.set_xlabel(xlabel)
  axes.set_ylabel(ylabel)
  if title:
    axes.set_title(title, fontsize=9)
  axes.legend(fontsize=7)
  axes.grid(alpha=0.3)
  return _png_of(plt, figure)


def bar_plot(categories: Sequence[str], series: Mapping[str, Sequence], *,
             ylabel: str, title: str = "") -> bytes:
  """A PNG of grouped bars: series[label] = [(mean, low, high) per
  category], one colour per label, the interval as an error bar (a NaN
  mean draws no bar, NaN low/high no error bar), category names under the
  groups (rotated), a line at 0."""
  plt = _pyplot()
  width = 0.8 / max(len(series), 1)
  figure, axes = plt.subplots(
      figsize=(max(4.2, 0.32 * len(categories) * len(series) + 1.5), 3.4),
      dpi=110)
  positions = np.arange(len(categories), dtype=np.float64)
  for index, (label, points) in enumerate(series.items()):
    points = np.asarray(points, np.float64).reshape(len(categories), 3)
    mean = np.nan_to_num(points[:, 0])
    below = np.where(np.isfinite(points[:, 1]), mean - points[:, 1], 0.0)
    above = np.where(np.isfinite(points[:, 2]), points[:, 2] - mean, 0.0)
    axes.bar(positions + (index - (len(series) - 1) / 2) * width, mean,
             width, yerr=np.maximum([below, above], 0.0), capsize=2,
             label=label, error_kw={"elinewidth": 0.8})
  axes.axhline(0.0, color="black", linewidth=0.6)
  axes.set_xticks(positions)
  axes.set_xticklabels(categories, rotation=60, ha="right", fontsize=7)
  axes.set_ylabel(ylabel)
  if title:
    axes.set_title(title, fontsize=9)
  axes.legend(fontsize=7)
  axes.grid(alpha=0.3, axis="y")
  return _png_of(plt, figure)


def _pyplot():
  """matplotlib's pyplot on the Agg backend (imported only when a figure
  is drawn)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  return pyplot


def _png_of(plt, figure) -> bytes:
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  return buffer.getvalue()
