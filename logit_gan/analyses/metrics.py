"""Per-image metrics of the analyses: image distances, image statistics and
classifier consistency. Every function takes numpy arrays (or tensors) of
images float [N, R, R, 3] in [-1, 1] and returns float64 [N], one value per
image, so `results.Result.add_per_image` can put a CI on the mean.

Distances between two image sets a, b (row i of a against row i of b):
  mse   mean squared pixel error in [-1, 1] units;
  rmse  its square root;
  psnr  10 log10(peak² / mse) with pixels in [0, 1] (peak 1), capped at
        100 dB for identical images;
  ssim  tf.image.ssim on [0, 1] pixels (filter size min(11, R));
  lpips Zhang et al. (2018), `lpips.py`: pass the object `lpips.load_lpips()`
        gives (None when its weight files are absent) as `lpips=`.

Image statistics (Fig. 8's brightness, contrast and sharpness):
  luminance  0.299 R + 0.587 G + 0.114 B on [0, 1] pixels;
  brightness mean luminance; contrast its standard deviation;
  sharpness  variance of the 4-neighbour Laplacian of the luminance (valid
             region).

Classifier consistency of a reconstruction (beyond the paper): with z the
original's logits and z' the reconstruction's,
  top1_agreement  argmax z' == argmax z (0 or 1);
  kl              KL(softmax z || softmax z') in nats;
  cosine          cosine similarity of z and z'.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

PSNR_CAP = 100.0
LUMA = np.array([0.299, 0.587, 0.114])


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if a.shape != b.shape or a.ndim != 4:
    raise ValueError(f"Image distances need two [N, R, R, C] arrays of one "
                     f"shape, got {list(a.shape)} and {list(b.shape)}.")
  return a, b


def mse(a, b) -> np.ndarray:
  a, b = _pair(a, b)
  return np.mean((a - b) ** 2, axis=(1, 2, 3))


def rmse(a, b) -> np.ndarray:
  return np.sqrt(mse(a, b))


def psnr(a, b) -> np.ndarray:
  # Pixels in [0, 1]: the squared error is a quarter of [-1, 1]'s.
  error = mse(a, b) / 4.0
  with np.errstate(divide="ignore"):
    value = 10.0 * np.log10(1.0 / error)
  return np.minimum(value, PSNR_CAP)


def ssim(a, b) -> np.ndarray:
  a, b = _pair(a, b)
  size = min(11, a.shape[1], a.shape[2])
  return tf.image.ssim(tf.constant((a + 1) / 2, tf.float32),
                       tf.constant((b + 1) / 2, tf.float32), max_val=1.0,
                       filter_size=size).numpy().astype(np.float64)


DISTANCES: dict[str, Callable] = {"mse": mse, "rmse": rmse, "psnr": psnr,
                                  "ssim": ssim}
DEFAULT_DISTANCES = ("rmse", "psnr", "ssim")
# Higher is closer for these; lower for the rest.
SIMILARITIES = ("psnr", "ssim")


def luminance(images) -> np.ndarray:
  """[N, R, R] luminance in [0, 1] of [N, R, R, 3] images in [-1, 1]."""
  images = np.asarray(images, np.float64)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError("Image statistics need RGB images [N, R, R, 3], got "
                     f"shape {list(images.shape)}.")
  return ((images + 1) / 2) @ LUMA


def brightness(images) -> np.ndarray:
  return luminance(images).mean(axis=(1, 2))


def contrast(images) -> np.ndarray:
  return luminance(images).std(axis=(1, 2))


def sharpness(images) -> np.ndarray:
  y = luminance(images)
  laplacian = (y[:, :-2, 1:-1] + y[:, 2:, 1:-1] + y[:, 1:-1, :-2]
               + y[:, 1:-1, 2:] - 4 * y[:, 1:-1, 1:-1])
  return laplacian.var(axis=(1, 2))


STATISTICS: dict[str, Callable] = {"brightness": brightness,
                                   "contrast": contrast,
                                   "sharpness": sharpness}


def _logit_pair(z, z2) -> tuple[np.ndarray, np.ndarray]:
  z, z2 = np.asarray(z, np.float64), np.asarray(z2, np.float64)
  if z.shape != z2.shape or z.ndim != 2:
    raise ValueError("Classifier consistency needs two [N, n_c] logit "
                     f"arrays of one shape, got {list(z.shape)} and "
                     f"{list(z2.shape)}.")
  return z, z2


def top1_agreement(z, z2) -> np.ndarray:
  z, z2 = _logit_pair(z, z2)
  return (z.argmax(-1) == z2.argmax(-1)).astype(np.float64)


def _log_softmax(z: np.ndarray) -> np.ndarray:
  shifted = z - z.max(axis=-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def kl(z, z2) -> np.ndarray:
  z, z2 = _logit_pair(z, z2)
  log_p, log_q = _log_softmax(z), _log_softmax(z2)
  return np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)


def cosine(z, z2) -> np.ndarray:
  z, z2 = _logit_pair(z, z2)
  norms = np.linalg.norm(z, axis=-1) * np.linalg.norm(z2, axis=-1)
  return np.sum(z * z2, axis=-1) / np.maximum(norms, 1e-12)


CONSISTENCY: dict[str, Callable] = {"top1_agreement": top1_agreement,
                                    "kl": kl, "cosine": cosine}


def distances(a, b, kinds: Optional[Sequence[str]] = None, *,
              lpips: Optional[Callable] = None) -> dict[str, np.ndarray]:
  """{kind: float64 [N]} for each of `kinds`: names of DISTANCES, or
  "lpips", which needs `lpips` (an `lpips.LPIPS`, or any (a, b) -> [N]).
  Without `kinds`: DEFAULT_DISTANCES, and "lpips" when `lpips` is given."""
  if kinds is None:
    kinds = DEFAULT_DISTANCES + (("lpips",) if lpips is not None else ())
  unknown = [k for k in kinds if k not in DISTANCES and k != "lpips"]
  if unknown:
    raise ValueError(f"Unknown distance(s) {unknown}; choose from "
                     f"{sorted(DISTANCES) + ['lpips']}.")
  if "lpips" in kinds and lpips is None:
    raise ValueError(
        "The lpips distance needs lpips=<model>: lpips.load_lpips() loads "
        "one, or gives None when its weight files are absent "
        "(docs/metrics.md); then leave lpips out of kinds.")
  return {kind: (np.asarray(lpips(a, b), np.float64) if kind == "lpips"
                 else DISTANCES[kind](a, b)) for kind in kinds}


def consistency(z, z2) -> dict[str, np.ndarray]:
  """{name: [N]} of every CONSISTENCY measure."""
  return {name: function(z, z2) for name, function in CONSISTENCY.items()}
