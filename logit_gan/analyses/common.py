"""What the experiments share: checking their inputs and starting a Result,
seeds derived by purpose, image chunks, the reconstruction metrics (with
LPIPS when its weights exist), linear paths and their step distances,
tiled figures and the one-line summary.

Every experiment calls `begin` before any work, which refuses bad input
(no model, models that cannot be compared, test images of another size, a
bad `num_images`) and records the settings, models and examples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import math
from typing import Optional

import numpy as np

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import lpips as lpips_lib
from logit_gan.analyses import metrics
from logit_gan.analyses import results

# Images per chunk: experiments that draw several reconstructions per image
# compute their numbers chunk by chunk, so memory does not grow with N.
CHUNK_IMAGES = 128


def begin(experiment: str, models: Sequence[inversion.InversionModel],
          examples: examples_lib.Examples, settings: Mapping,
          num_images: Optional[int]) -> tuple[results.Result,
                                              examples_lib.Examples]:
  """A Result with settings, models and examples filled in, and the first
  `num_images` examples (all when None); a ValueError naming the problem
  when the models cannot be compared or the images do not fit them."""
  models = list(models)
  inversion.check_compatible(models)
  if examples.resolution != models[0].resolution:
    raise ValueError(
        f"{experiment}: the test images are {examples.resolution}x"
        f"{examples.resolution} but the models draw {models[0].resolution}x"
        f"{models[0].resolution}; give images of the models' resolution "
        "(examples.from_dataset(..., resolution=R) resizes).")
  if num_images is not None:
    if int(num_images) < 1:
      raise ValueError(f"{experiment}: num_images must be >= 1 or None "
                       f"(all), not {num_images!r}.")
    examples = examples.subset(np.arange(min(int(num_images),
                                             len(examples))))
  result = results.Result(experiment, settings=dict(settings),
                          models=[m.describe() for m in models],
                          examples=examples.describe())
  return result, examples


def derive_seed(seed: int, *purpose) -> int:
  """A 31-bit seed from `seed` and a purpose (strings or integers): draws
  for different purposes never share a seed, and the same call gives the
  same seed."""
  words = [int(seed) & 0xFFFFFFFF] + [
      int.from_bytes(p.encode(), "little") % (1 << 32) if isinstance(p, str)
      else int(p) & 0xFFFFFFFF for p in purpose]
  return int(np.random.SeedSequence(words).generate_state(1)[0] >> 1)


def chunks(count: int, size: int = CHUNK_IMAGES) -> list[slice]:
  """Consecutive slices covering range(count), each of `size` rows except
  the last, which is merged into the one before when it would hold a
  single row (a chunk of one image has no other image to compare with)."""
  starts = list(range(0, count, size))
  if len(starts) > 1 and count - starts[-1] < 2:
    starts.pop()
  ends = starts[1:] + [count]
  return [slice(start, end) for start, end in zip(starts, ends)]


def reconstruction_metrics(distances: Sequence[str], *, lpips: bool,
                           experiment: str
                           ) -> tuple[tuple[str, ...], Optional[Callable]]:
  """(the distances to report, the LPIPS model or None): `distances`
  (names of metrics.DISTANCES, or "lpips"), plus "lpips" when `lpips` is
  True and its weight files load (`lpips.load_lpips()`, docs/metrics.md;
  when they are absent it says so once and the run goes on without). A
  ValueError before any work for an unknown name, or "lpips" named
  without its weight files."""
  distances = tuple(distances)
  known = sorted(metrics.DISTANCES) + ["lpips"]
  unknown = [k for k in distances if k not in known]
  if unknown or not distances:
    raise ValueError(f"Unknown distance(s) {unknown} in {experiment}."
                     f"distances = {distances!r}: give one or more of "
                     f"{known}.")
  model = None
  if lpips or "lpips" in distances:
    model = lpips_lib.load_lpips()
    if model is None and "lpips" in distances:
      raise ValueError(f"{experiment}: distances name 'lpips' but its "
                       "weight files are absent (docs/metrics.md says "
                       "which and where); add them or leave lpips out.")
  if model is not None and "lpips" not in distances:
    distances += ("lpips",)
  return distances, model


def score_reconstructions(model: inversion.InversionModel,
                          images: np.ndarray, noise: np.ndarray,
                          distances: Sequence[str], *,
                          logits: Optional[np.ndarray] = None,
                          lpips: Optional[Callable] = None, keep: int = 0
                          ) -> tuple[dict[str, np.ndarray], np.ndarray]:
  """Every reconstruction metric of one model, chunk by chunk (memory
  bounded at any N).

  Args:
    model: the inversion model; z = model.classify(images) unless `logits`
      [N, n_c] gives it.
    images: originals x [N, R, R, 3] in [-1, 1].
    noise: ε [N, z_dim]; the reconstructions are G(z, ε).
    distances: names of metrics.DISTANCES (and "lpips" with `lpips`).
    lpips: an LPIPS model (`reconstruction_metrics`) or None.
    keep: how many reconstructions (the first ones) to return.

  Returns:
    ({metric: float64 [N]}: each distance of G(z, ε) to x and the
    classifier consistency (top1_agreement, kl, cosine) of Φ(G(z, ε)) with
    z; the first `keep` reconstructions [min(keep, N), R, R, 3]).
  """
  if logits is None:
    logits = model.classify(images)
  scores: dict[str, list] = {}
  kept = []
  for rows in chunks(len(images)):
    reconstruction = model.reconstruct(logits[rows], noise[rows])
    kept.append(reconstruction[:max(0, keep - rows.start)])
    chunk = {**metrics.distances(images[rows], reconstruction, distances,
                                 lpips=lpips),
             **metrics.consistency(logits[rows],
                                   model.classify(reconstruction))}
    for name, value in chunk.items():
      scores.setdefault(name, []).append(value)
  return ({name: np.concatenate(parts) for name, parts in scores.items()},
          np.concatenate(kept))


def interpolate(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
  """[n, steps, d]: (1 - t) a + t b at t = 0, 1/(steps-1), ..., 1 for rows
  a, b [n, d]; the first and last points are a and b exactly."""
  if steps < 2:
    raise ValueError(f"An interpolation needs steps >= 2 (both ends), not "
                     f"{steps!r}.")
  t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
  return ((1 - t) * a[:, None] + t * b[:, None]).astype(np.float32)


def reconstruct_paths(model: inversion.InversionModel, logits: np.ndarray,
                      noise: np.ndarray) -> np.ndarray:
  """Reconstructions [n, k, R, R, 3] along paths of logits [n, k, n_c] and
  noise [n, k, z_dim]. The two ends are reconstructed by calls of their
  own, so they equal `model.reconstruct(logits[:, 0], noise[:, 0])` (and
  [:, -1]) bit for bit, whatever the batching does to the rest."""
  n, k = logits.shape[:2]
  first = model.reconstruct(logits[:, 0], noise[:, 0])
  last = model.reconstruct(logits[:, -1], noise[:, -1])
  inner = model.reconstruct(
      logits[:, 1:-1].reshape(n * (k - 2), -1),
      noise[:, 1:-1].reshape(n * (k - 2), -1)).reshape(
          (n, k - 2) + first.shape[1:])
  return np.concatenate([first[:, None], inner, last[:, None]], axis=1)


def path_steps(paths: np.ndarray,
               kind: str = "rmse") -> tuple[np.ndarray, np.ndarray]:
  """(distances [n, k-1] between consecutive images of paths [n, k, R, R,
  3], distances [n] from the first image to the last)."""
  n, k = paths.shape[:2]
  image = paths.shape[2:]
  steps = metrics.DISTANCES[kind](paths[:, :-1].reshape((-1,) + image),
                                  paths[:, 1:].reshape((-1,) + image))
  ends = metrics.DISTANCES[kind](paths[:, 0], paths[:, -1])
  return steps.reshape(n, k - 1), ends


def check_distance(kind: str, experiment: str) -> None:
  """A ValueError unless `kind` is a distance (lower = closer)."""
  if kind not in metrics.DISTANCES or kind in metrics.SIMILARITIES:
    choices = sorted(set(metrics.DISTANCES) - set(metrics.SIMILARITIES))
    raise ValueError(f"{experiment}: distance must be one of {choices} "
                     f"(a distance, not a similarity), not {kind!r}.")


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
  """numerator / denominator, NaN where the denominator is 0."""
  numerator = np.asarray(numerator, np.float64)
  denominator = np.asarray(denominator, np.float64)
  safe = np.where(denominator > 0, denominator, 1.0)
  return np.where(denominator > 0, numerator / safe, np.nan)


def tiles(images: np.ndarray) -> list[np.ndarray]:
  """Images [k, R, R, 3] as the rows of a near-square tile (side
  ceil(sqrt(k))), filled with white where k is not a square."""
  side = math.ceil(math.sqrt(len(images)))
  blank = np.ones((side * side - len(images),) + images.shape[1:],
                  np.float32)
  filled = np.concatenate([images, blank])
  return [filled[row * side:(row + 1) * side] for row in range(side)]


def t_labels(steps: int) -> list[str]:
  """Column labels t=0 ... t=1 of a path of `steps` points."""
  return [f"t={t:.2g}" for t in np.linspace(0, 1, steps)]


def white(resolution: int) -> np.ndarray:
  """[1, R, R, 3] white image in [-1, 1]: a spacer in figures."""
  return np.ones((1, resolution, resolution, 3), np.float32)


def add_numbers(result: results.Result, per_model: Mapping[str, Mapping],
                names: Sequence[str], seed: int) -> None:
  """result.add_per_image for each of `names`, from per_model[model][name]
  (per-image values [N], the same images for every model)."""
  for name in names:
    result.add_per_image(name, {model: values[name] for model, values in
                                per_model.items()}, seed=seed)


def summary(result: results.Result, names: Sequence[str],
            models: Sequence[str]) -> str:
  """'robust: rmse 0.412 [0.401, 0.423], ssim ...; standard: ...' for the
  unparameterised numbers `names` of each model (a summary names no
  experiment: the runner's line and the report do)."""
  parts = []
  for model in models:
    values = ", ".join(f"{name} {result.get(name, model)}"
                       for name in names)
    parts.append(f"{model}: {values}")
  return "; ".join(parts)


def number(value: float) -> str:
  """A number for a summary line: 3 significant digits, sign kept."""
  return f"{value:.3g}"


def interval(value) -> str:
  """'mean [low, high]' of a stats.Interval with 3 significant digits (the
  slopes and sharpness values span many orders of magnitude)."""
  return (f"{number(value.mean)} [{number(value.low)}, "
          f"{number(value.high)}]")
