"""`factor_recovery`: how much of each ground-truth factor the logits keep,
measured on reconstructions (beyond the paper; issue #23, experiment 13).

On the package's own datasets every test image x carries its factors f(x)
(foreground colour, background kind and colours, position, scale,
brightness, and for shapes_mini the hue within its family and the fill).
Each factor is read off an image by an instrument m:

  regressor    `factor_regressor`: a network trained on the training split
               with the ground truth (cached; trained on first use);
  closed_form  where a formula exists: the mean colour inside the true
               shape mask (foreground_colour) and outside it
               (background_colour), on [0, 1] pixels; the target is then
               the formula on the original, m(x), not f(x).

For each image i, model and factor, three errors against the target t_i
(f(x_i), or m(x_i) for closed forms), in the factor's standardised units
(continuous: mean |Δ| / sd over its dimensions; categorical: 0/1):

  reconstruction  e_r = err(m(G(Φ(x_i), ε)), t_i)
  chance          e_c = err(m(x_j), t_i), x_j another random test image of
                  the same predicted class (any other image when the class
                  has no other): what knowing the class alone gives;
  ceiling         e_0 = err(m(x_i), t_i): the instrument's own error (0 for
                  closed forms).

fraction_kept = (mean e_c − mean e_r) / (mean e_c − mean e_0): 1 when the
reconstruction carries the factor as well as the original does, 0 when no
better than another image of the class; it can leave [0, 1] by noise (or
when the reconstruction is worse than chance), and is reported as is, with
a bootstrap CI over images and paired differences between models. A
generator that returns the original gives exactly 1. Also per factor:
noise_spread, the mean over images of the sd of m across `noise_samples`
reconstructions of the same logits (standardised units): what the noise,
not the logits, decides. Compare fraction_kept with `logit_probe` (what the
logits carry at all): a factor the logits carry that reconstructions lack
is the generator's failure.

Figures: `fraction_kept.png`, fraction_kept per factor and instrument as
bars, one per model, with its 95% CI as the error bar;
`reconstructions.png`, the first `grid_images` originals above each
model's reconstructions.
"""

from __future__ import annotations

from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import factor_regressor
from logit_gan.analyses import figures
from logit_gan.analyses import logit_probe
from logit_gan.analyses import results as results_lib
from logit_gan.data.shapes import render
from logit_gan.data.shapes.geometry import IN_DISTRIBUTION_CLASSES

NAME = "factor_recovery"


def fraction_kept(rows: np.ndarray) -> float:
  """rows [n, 3] of (chance, reconstruction, ceiling) errors -> the
  fraction kept (module docstring); NaN when chance equals the ceiling."""
  chance, recon, ceiling = np.mean(rows, axis=0)
  if not chance - ceiling > 1e-12:
    return np.nan
  return float((chance - recon) / (chance - ceiling))


def _error(measured, target, sd) -> np.ndarray:
  measured, target = np.asarray(measured), np.asarray(target)
  if measured.ndim == 1:  # Categorical.
    return (measured != target).astype(np.float64)
  return np.mean(np.abs(measured - target) / sd, axis=1)


def _closed_form(images, masks) -> dict:
  """{"foreground_colour": [N, 3], "background_colour": [N, 3]}: mean
  [0, 1] colour inside (weighted by) and outside the masks [N, R, R]."""
  unit = (np.asarray(images, np.float64) + 1) / 2
  inside = masks[..., None]
  outside = (masks < 0.01)[..., None].astype(np.float64)
  return {"foreground_colour": (unit * inside).sum((1, 2))
                               / np.maximum(inside.sum((1, 2)), 1e-9),
          "background_colour": (unit * outside).sum((1, 2))
                               / np.maximum(outside.sum((1, 2)), 1e-9)}


class Instrument:
  """Reads factors off images: the regressor's and the closed forms."""

  def __init__(self, regressor, examples):
    self.regressor = regressor
    self.truth = logit_probe.with_hue_offset(examples.factors)
    if "shape" not in self.truth and examples.labels is not None:
      self.truth["label"] = examples.labels  # The 10-class shapes.
    shapes = (IN_DISTRIBUTION_CLASSES if "shape" in self.truth
              else examples.class_names or IN_DISTRIBUTION_CLASSES)
    self.masks = render.coverage(self.truth, examples.resolution, shapes)
    layout = regressor.layout
    self.sd = {name: np.asarray(layout.sd[s:s + w])
               for name, (s, w) in layout.continuous.items()}

  def measure(self, images, masks=None) -> dict:
    """{(factor, instrument): values} of images (masks: the true masks of
    the images' own scenes; default the originals')."""
    out = {(k, "regressor"): v for k, v in
           self.regressor.predict(images).items()}
    closed = _closed_form(images, self.masks if masks is None else masks)
    out.update({(k, "closed_form"): v for k, v in closed.items()})
    return out

  def targets(self, originals: dict) -> dict:
    """The target of each measure: the truth, or the original's formula."""
    out = {}
    for key in originals:
      name, instrument = key
      if instrument == "regressor":
        truth = np.asarray(self.truth[name])
        out[key] = truth.reshape(len(truth), -1) if key[0] in self.sd else (
            truth)
      else:
        out[key] = originals[key]
    return out

  def scale(self, key) -> np.ndarray:
    name, instrument = key
    return self.sd.get(name, 1.0) if instrument == "regressor" else 1.0


def _other_of_class(predicted: np.ndarray, rng) -> np.ndarray:
  """For each image another random image of its predicted class (or any
  other image when it is alone in its class)."""
  count = len(predicted)
  other = np.empty(count, np.int64)
  for i in range(count):
    pool = np.where((predicted == predicted[i]) & (np.arange(count) != i))[0]
    if not len(pool):
      pool = np.delete(np.arange(count), i)
    other[i] = rng.choice(pool)
  return other


def _model_errors(model, images, instrument, originals, targets, seed,
                  noise_samples) -> tuple[dict, dict, np.ndarray]:
  """({key: errors [N, 3] (chance, reconstruction, ceiling)}, {key: noise
  spread [N]}, the first noise sample's reconstructions) of one model;
  key = (factor, measure), originals = the instrument on the images."""
  logits = model.classify(images)
  other = _other_of_class(logits.argmax(-1), np.random.default_rng(
      common.derive_seed(seed, NAME, "chance")))
  samples = []
  for k in range(noise_samples):
    noise = model.sample_noise(len(images), common.derive_seed(
        seed, NAME, "noise", k))
    samples.append(model.reconstruct(logits, noise))
  measured = [instrument.measure(s) for s in samples]
  errors, spread = {}, {}
  for key, target in targets.items():
    scale = instrument.scale(key)
    chance_measure = np.asarray(originals[key])[other]  # m(x_j).
    errors[key] = np.stack([_error(chance_measure, target, scale),
                            _error(measured[0][key], target, scale),
                            _error(originals[key], target, scale)], axis=1)
    values = np.stack([np.asarray(m[key], np.float64).reshape(
        len(images), -1) for m in measured])  # [K, N, d]
    spread[key] = (np.mean(values.std(axis=0) / scale, axis=1)
                   if key[1] == "closed_form" or key[0] in instrument.sd
                   else np.mean(values != values[:1], axis=(0, 2)))
  return errors, spread, samples[0]


@gin.configurable(NAME, denylist=["models", "examples", "regressor"])
def run(models, examples, *, seed: int = 0,
        num_images: Optional[int] = 1000, noise_samples: int = 4,
        regressor: Optional[object] = None,
        grid_images: int = 8) -> results_lib.Result:
  """Fraction of each factor kept by each model (module docstring).

  Args:
    models: inversion models of the examples' resolution.
    examples: test images of the package's shapes or shapes_mini, with
      their factors; the first `num_images` are used (None: all).
    seed: seeds the noise, the chance images and the bootstrap.
    noise_samples: reconstructions per image (>= 1; noise_spread needs 2).
    regressor: a FactorRegressor; default the cached one of the examples'
      dataset and resolution (`factor_regressor.cached`, trained on its
      training split in the examples' TFDS data directory on first use).
    grid_images: images in the figure.
  """
  if not examples.factors:
    raise ValueError("factor_recovery needs test images with ground-truth "
                     "factors: the package's shapes or shapes_mini (e.g. "
                     "bin/analyze on a shapes export without --images).")
  if noise_samples < 1:
    raise ValueError(f"{NAME}: noise_samples must be >= 1, not "
                     f"{noise_samples!r}.")
  result, examples = common.begin(NAME, models, examples, dict(
      seed=seed, num_images=num_images, noise_samples=noise_samples,
      grid_images=grid_images), num_images)
  if regressor is None:
    regressor = factor_regressor.cached(
        examples.source.split(":")[0], examples.resolution,
        data_dir=examples.data_dir)
  result.settings["regressor"] = getattr(regressor, "info", {})
  images = examples.images
  instrument = Instrument(regressor, examples)
  originals = instrument.measure(images)
  targets = instrument.targets(originals)
  per_model, rows = {}, [images[:grid_images]]
  for model in models:
    errors, spread, reconstructions = _model_errors(
        model, images, instrument, originals, targets, seed, noise_samples)
    per_model[model.name] = (errors, spread)
    rows.append(reconstructions[:grid_images])
  for key in targets:
    _add_factor(result, key, per_model, seed)
  result.figures["fraction_kept.png"] = _bars(result, models, list(targets))
  result.figures["reconstructions.png"] = figures.image_grid(
      rows, row_labels=["original"] + [m.name for m in models])
  result.summary = _summary(result, models, targets)
  return result


def _add_factor(result, key, per_model, seed) -> None:
  """The numbers of one (factor, measure) for every model."""
  params = {"factor": key[0], "measure": key[1]}
  result.add_per_image("fraction_kept", {
      m: e[key] for m, (e, _) in per_model.items()}, seed=seed,
      statistic=fraction_kept, **params)
  for column, name in enumerate(("chance_error", "reconstruction_error",
                                 "ceiling_error")):
    result.add_per_image(name, {m: e[key][:, column] for m, (e, _) in
                                per_model.items()}, seed=seed, **params)
  result.add_per_image("noise_spread", {m: s[key] for m, (_, s) in
                                        per_model.items()},
                       seed=seed, **params)


def _bars(result, models, keys: list) -> bytes:
  """fraction_kept of each (factor, measure) in `keys`, a bar per model
  with its 95% CI (figures.bar_plot)."""
  series = {model.name: [
      (kept.mean, kept.low, kept.high) for kept in (
          result.get("fraction_kept", model.name, factor=factor,
                     measure=measure) for factor, measure in keys)]
            for model in models}
  return figures.bar_plot(
      [f"{factor} ({measure})" for factor, measure in keys], series,
      ylabel="fraction kept (1: as the original)",
      title="factor_recovery: fraction kept, 95% CI")


def _summary(result, models, targets) -> str:
  parts = []
  for model in models:
    kept = {key[0]: result.get("fraction_kept", model.name, factor=key[0],
                               measure=key[1]).mean
            for key in targets if key[1] == "regressor"}
    best = sorted(kept, key=lambda k: -np.nan_to_num(kept[k], nan=-9))[:3]
    parts.append(f"{model.name}: most kept " + ", ".join(
        f"{k} {kept[k]:.2f}" for k in best))
  return "; ".join(parts)
