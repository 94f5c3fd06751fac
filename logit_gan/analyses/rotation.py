"""`rotation`: does a rotated image's reconstruction, rotated back, still
look like the original? (the paper's section 13.1, Fig. 27; issue #23,
experiment 12).

For each image x (the first `num_images`), with noise ε from `seed` held
fixed: the reconstruction r = G(Φ(x), ε), and r_θ = rot_−θ(G(Φ(rot_θ(x)),
ε)) of the image rotated by θ (a multiple of 90°, counter-clockwise),
counter-rotated. Numbers per model (per-image CIs, paired between models),
for each distance kind: d(x, r_θ) (the rotated path), d(x, r) (the
unrotated reconstruction) and their difference d(x, r_θ) − d(x, r) (0: the
rotation costs nothing); plus how often Φ classifies rot_θ(x) as it
classifies x. θ = 0 gives r_θ = r exactly. The paper saw textures kept and
objects "horribly disfigured" (robust ResNet-152 on ImageNet, whose
objects are nearly always upright).
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import numpy as np

from logit_gan.analyses import figures
from logit_gan.analyses import metrics
from logit_gan.analyses import results as results_lib


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


@gin.configurable("rotation", denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0, degrees: int = 90,
        num_images: int = 500, kinds: Sequence[str] = ("rmse", "ssim"),
        grid_images: int = 6) -> results_lib.Result:
  """Reconstructions of rotated images, counter-rotated (module docstring).

  Args:
    models: inversion models of one resolution.
    examples: test images; the first `num_images` are used.
    degrees: the rotation, a multiple of 90.
    kinds: metrics.DISTANCES names.
    grid_images: images in the figure (original, reconstruction, rotated
      reconstruction counter-rotated, per model).
  """
  images = examples.images[:num_images]
  result = results_lib.Result(
      "rotation", settings={"degrees": degrees, "num_images": len(images),
                            "kinds": list(kinds), "seed": seed},
      models=[m.describe() for m in models],
      examples=examples.subset(np.arange(len(images))).describe())
  outputs = {m.name: _paths(m, images, m.sample_noise(len(images), seed),
                            degrees) for m in models}
  for kind in kinds:
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
  rows = [images[:grid_images]]
  labels = ["original"]
  for name, o in outputs.items():
    rows += [o[2][:grid_images], o[3][:grid_images]]
    labels += [f"{name}", f"{name} rot"]
  result.figures["rotation.png"] = figures.image_grid(
      [np.stack(column) for column in zip(*rows)],
      column_labels=labels)
  kind = kinds[0]
  result.summary = "; ".join(
      f"{name}: {kind} rotated {result.get(f'{kind}_rotated', name)} vs "
      f"unrotated {result.get(f'{kind}_unrotated', name)}"
      for name in outputs)
  return result
