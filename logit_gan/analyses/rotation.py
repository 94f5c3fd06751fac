"""`rotation`: does a rotated image's reconstruction, rotated back, still
look like the original? (the paper's section 13.1, Fig. 27; issue #23,
experiment 12).

For each image x (the first `num_images`), with noise ε from `seed` held
fixed: the reconstruction r = G(Φ(x), ε), and r_θ = rot_−θ(G(Φ(rot_θ(x)),
ε)) of the image rotated by θ (a multiple of 90°, counter-clockwise),
counter-rotated. Numbers per model (per-image CIs, paired between models),
for each d of `distances` (rmse, ssim): <d>_rotated = d(x, r_θ) (the
rotated path), <d>_unrotated = d(x, r) (the unrotated reconstruction) and
<d>_cost = d(x, r_θ) − d(x, r) (0: the rotation costs nothing); plus
prediction_kept, how often Φ classifies rot_θ(x) as it classifies x.
θ = 0 gives r_θ = r exactly. Figure `rotation.png`: per image, the
original, then per model r and r_θ. The paper saw textures kept and
objects "horribly disfigured" (robust ResNet-152 on ImageNet, whose
objects are nearly always upright).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import figures
from logit_gan.analyses import metrics
from logit_gan.analyses import results as results_lib

NAME = "rotation"


def rotate(images: np.ndarray, degrees: int) -> np.ndarray:
  """[N, R, R, C] rotated counter-clockwise by a multiple of 90 degrees."""
  if degrees % 90:
    raise ValueError(f"rotation takes multiples of 90 degrees (exact on "
                     f"the pixel grid), not {degrees}.")
  return np.rot90(images, k=(degrees // 90) % 4, axes=(1, 2)).copy()


def _paths(model, images, noise, degrees) -> tuple[np.ndarray, ...]:
  logits = model.classify(images)
  plain = model.reconstruct(logits, noise)
  rotated_logits = model.classify(rotate(images, degrees))
  back = rotate(model.reconstruct(rotated_logits, noise), -degrees)
  return logits, rotated_logits, plain, back


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0, degrees: int = 90,
        num_images: Optional[int] = 500,
        distances: Sequence[str] = ("rmse", "ssim"),
        grid_images: int = 6) -> results_lib.Result:
  """Reconstructions of rotated images, counter-rotated (module docstring).

  Args:
    models: inversion models of one resolution.
    examples: test images; the first `num_images` are used (None: all).
    seed: seeds the noise and the bootstrap.
    degrees: the rotation, a multiple of 90.
    distances: metrics.DISTANCES names.
    grid_images: images in the figure (original, reconstruction, rotated
      reconstruction counter-rotated, per model).
  """
  rotate(examples.images[:1], degrees)  # Refuses other angles.
  metrics.distances(examples.images[:1], examples.images[:1],
                    distances)  # Refuses unknown names.
  result, examples = common.begin(NAME, models, examples, dict(
      seed=seed, degrees=degrees, num_images=num_images,
      distances=tuple(distances), grid_images=grid_images), num_images)
  images = examples.images
  outputs = {m.name: _paths(m, images, m.sample_noise(
      len(images), common.derive_seed(seed, NAME)), degrees) for m in models}
  for kind in distances:
    plain = {name: metrics.distances(images, o[2], (kind,))[kind]
             for name, o in outputs.items()}
    back = {name: metrics.distances(images, o[3], (kind,))[kind]
            for name, o in outputs.items()}
    result.add_per_image(f"{kind}_rotated", back, seed=seed)
    result.add_per_image(f"{kind}_unrotated", plain, seed=seed)
    result.add_per_image(f"{kind}_cost", {name: back[name] - plain[name]
                                          for name in outputs}, seed=seed)
  result.add_per_image("prediction_kept", {
      name: metrics.top1_agreement(o[0], o[1]) for name, o in
      outputs.items()}, seed=seed)
  rows, labels = [images[:grid_images]], ["original"]
  for name, o in outputs.items():
    rows += [o[2][:grid_images], o[3][:grid_images]]
    labels += [f"{name}", f"{name} rot"]
  result.figures["rotation.png"] = figures.image_grid(
      [np.stack(column) for column in zip(*rows)],
      column_labels=labels)
  kind = distances[0]
  result.summary = "; ".join(
      f"{name}: {kind} rotated {result.get(f'{kind}_rotated', name)} vs "
      f"unrotated {result.get(f'{kind}_unrotated', name)}"
      for name in outputs)
  return result
