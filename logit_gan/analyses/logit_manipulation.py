"""Fig. 8 (section 5.5): what shifting, scaling and perturbing the logits
does to the reconstruction, with the generator's noise held fixed.

Three experiments share one core. For each model, its own classifier gives
logits z [N, n_c] of the test images, `model.sample_noise(N, seed)` the
noise (the same for every manipulation value), and the unmanipulated
reconstruction G(z) the reference. At each manipulation value v:

  logit_shift         z + v;  v = r * (-1, -0.5, 0, 0.5, 1) (5 steps), with
                      the paper's r = 0.30 for a model whose `name` contains
                      "robust" and r = 0.10 otherwise (the paper's standard
                      ResNet-152); `ranges={name: r}` sets it per model.
  logit_scale         z * v;  v = 10^(e * (-1, -0.5, 0, 0.5, 1)), e = 0.3
                      for every model, as in the paper.
  logit_perturbation  z + sigma * eps, eps ~ N(0, I) [N, n_c] drawn once
                      per draw (`draws`, 3) and scaled by each sigma = 0 ...
                      sqrt(variance) in `steps` steps; variance = 0.55 is
                      the paper's sigma^2. Deviation: the paper shows only
                      sigma^2 = 0.55; the sweep from 0 gives a slope and a
                      known answer (sigma = 0 is the unmanipulated
                      reconstruction). Numbers are averaged over the draws
                      per image.

`relative=True` scales the shift and sigma ranges by the model's logit
spread s / `reference_spread`, where s is the mean over the test images of
each image's standard deviation across its n_c logits (population sd). The
default reference, 1.35, is an estimate of the paper's ImageNet ResNet-152
spread (its mean distance to the class mean, about 43 in 1,000 dimensions,
over sqrt(1000)); the paper reports no spread itself. Scale factors are
dimensionless and not rescaled. A 100-class shapes_mini ResNet has s about
4, so relative=True triples its shifts.

Numbers per manipulation value (params {"shift"|"scale"|"sigma": v}, one
value per image, mean with 95% bootstrap CI; paired differences between
models that share the values):
  brightness, contrast, sharpness  metrics.brightness/contrast/sharpness of
                        the manipulated reconstruction (luminance in [0, 1];
                        sharpness = variance of its Laplacian);
  rmse_to_unmanipulated metrics.rmse to G(z) ([-1, 1] pixel units): how much
                        the content changes;
  class_agreement       1 when the classifier's top class of the manipulated
                        reconstruction equals that of G(z), else 0.
And, without params, `<number>_slope`: each image's least-squares slope of
the number against the manipulation coordinate, mean over images with CI
and paired differences between every pair of models. The coordinate is v
for shifts (per logit unit), log10(v) for scales (per decade) and sigma
for perturbations (per unit sigma). `settings["values"]` has each model's
values.

Figures: `<statistic>.png`, each number against the manipulation per model
(when the models' values differ, against the fraction of each model's
range); `grid_<model>.png`, the first `grid_images` inputs with their
reconstructions across the manipulation (draw 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import dataclasses
from typing import Optional

import gin
import numpy as np

from logit_gan.analyses import common
from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import inversion
from logit_gan.analyses import metrics
from logit_gan.analyses import results

ROBUST_SHIFT_RANGE = 0.30  # Fig. 8a, robust ResNet-152.
STANDARD_SHIFT_RANGE = 0.10  # Fig. 8a, standard ResNet-152.
SCALE_EXPONENT_RANGE = 0.3  # Fig. 8b: 10^-0.3 ... 10^0.3.
PERTURBATION_VARIANCE = 0.55  # Fig. 8c: N(0, sigma^2 = 0.55).
REFERENCE_SPREAD = 1.35  # Estimated ImageNet ResNet-152 logit spread.
STEPS = 5
NUMBERS = ("brightness", "contrast", "sharpness", "rmse_to_unmanipulated",
           "class_agreement")


@dataclasses.dataclass(frozen=True)
class Manipulation:
  """One kind of logit manipulation.

  apply(z [N, n_c], v, eps [N, n_c] or None) -> manipulated z;
  coordinate(values [k]) -> [k], what slopes are taken against.
  """
  experiment: str
  param: str
  unit: str
  apply: Callable[[np.ndarray, float, Optional[np.ndarray]], np.ndarray]
  coordinate: Callable[[np.ndarray], np.ndarray]
  logx: bool = False


SHIFT = Manipulation("logit_shift", "shift", "logit unit",
                     lambda z, v, eps: z + np.float32(v), lambda v: v)
SCALE = Manipulation("logit_scale", "scale", "decade",
                     lambda z, v, eps: z * np.float32(v), np.log10,
                     logx=True)
PERTURBATION = Manipulation("logit_perturbation", "sigma", "unit sigma",
                            lambda z, v, eps: z + np.float32(v) * eps,
                            lambda v: v)


def logit_spread(logits: np.ndarray) -> float:
  """The mean over images of each image's population standard deviation
  across its logits [N, n_c]."""
  return float(np.mean(np.std(np.asarray(logits, np.float64), axis=1)))


def shift_range(model: inversion.InversionModel, *, robust_range: float,
                standard_range: float,
                ranges: Optional[Mapping[str, float]]) -> float:
  """`ranges[model.name]` if given, else robust_range when "robust" is in
  the model's name (case-insensitive), else standard_range."""
  if ranges and model.name in ranges:
    return float(ranges[model.name])
  return float(robust_range if "robust" in model.name.lower()
               else standard_range)


def symmetric(steps: int) -> np.ndarray:
  """[steps] from -1 to 1, 0 exactly in the middle when steps is odd."""
  check_steps(steps)
  return np.linspace(-1.0, 1.0, steps)


def check_steps(steps: int) -> None:
  if steps < 2:
    raise ValueError(f"A manipulation needs steps >= 2 (a slope needs two "
                     f"values), not {steps!r}.")


@gin.configurable("logit_shift", denylist=["models", "examples"])
def shift(models: Sequence[inversion.InversionModel],
          examples: examples_lib.Examples, *, seed: int = 0,
          robust_range: float = ROBUST_SHIFT_RANGE,
          standard_range: float = STANDARD_SHIFT_RANGE,
          ranges: Optional[Mapping[str, float]] = None, steps: int = STEPS,
          relative: bool = False,
          reference_spread: float = REFERENCE_SPREAD,
          num_images: Optional[int] = None,
          grid_images: int = 4) -> results.Result:
  """Fig. 8a: z + v at v = r * linspace(-1, 1, steps), r per model (see the
  module docstring; times spread / reference_spread when relative)."""
  check_steps(steps)
  settings = dict(seed=seed, robust_range=robust_range,
                  standard_range=standard_range, ranges=dict(ranges or {}),
                  steps=steps, relative=relative,
                  reference_spread=reference_spread, num_images=num_images,
                  grid_images=grid_images)
  def values(model, spread):
    scale = spread / reference_spread if relative else 1.0
    return symmetric(steps) * scale * shift_range(
        model, robust_range=robust_range, standard_range=standard_range,
        ranges=ranges)
  return run_manipulation(SHIFT, models, examples, values, settings,
                          draws=1)


@gin.configurable("logit_scale", denylist=["models", "examples"])
def scale(models: Sequence[inversion.InversionModel],
          examples: examples_lib.Examples, *, seed: int = 0,
          exponent_range: float = SCALE_EXPONENT_RANGE, steps: int = STEPS,
          num_images: Optional[int] = None,
          grid_images: int = 4) -> results.Result:
  """Fig. 8b: z * v at v = 10^(exponent_range * linspace(-1, 1, steps)),
  the same for every model."""
  check_steps(steps)
  settings = dict(seed=seed, exponent_range=exponent_range, steps=steps,
                  num_images=num_images, grid_images=grid_images)
  return run_manipulation(
      SCALE, models, examples,
      lambda model, spread: 10.0 ** (exponent_range * symmetric(steps)),
      settings, draws=1)


@gin.configurable("logit_perturbation", denylist=["models", "examples"])
def perturbation(models: Sequence[inversion.InversionModel],
                 examples: examples_lib.Examples, *, seed: int = 0,
                 variance: float = PERTURBATION_VARIANCE, steps: int = STEPS,
                 draws: int = 3, relative: bool = False,
                 reference_spread: float = REFERENCE_SPREAD,
                 num_images: Optional[int] = None,
                 grid_images: int = 4) -> results.Result:
  """Fig. 8c: z + sigma * eps at sigma = sqrt(variance) * linspace(0, 1,
  steps) (times spread / reference_spread when relative), `draws` draws
  of eps per image, the same draws at every sigma."""
  check_steps(steps)
  if variance < 0 or draws < 1:
    raise ValueError(f"logit_perturbation needs variance >= 0 and draws "
                     f">= 1, not {variance!r} and {draws!r}.")
  settings = dict(seed=seed, variance=variance, steps=steps, draws=draws,
                  relative=relative, reference_spread=reference_spread,
                  num_images=num_images, grid_images=grid_images)
  def values(model, spread):
    scale = spread / reference_spread if relative else 1.0
    return np.sqrt(variance) * scale * np.linspace(0.0, 1.0, steps)
  return run_manipulation(PERTURBATION, models, examples, values, settings,
                          draws=draws)


def run_manipulation(kind: Manipulation,
                     models: Sequence[inversion.InversionModel],
                     examples: examples_lib.Examples,
                     values_of: Callable[[inversion.InversionModel, float],
                                         np.ndarray],
                     settings: dict, *, draws: int) -> results.Result:
  """The shared core: measures every model at its values
  (values_of(model, logit spread) -> [k]) and fills the Result."""
  result, examples = common.begin(
      kind.experiment, models, examples, settings, settings["num_images"])
  seed = settings["seed"]
  measured, grids, values, spreads = {}, {}, {}, {}
  for model in models:
    logits = model.classify(examples.images)
    spreads[model.name] = logit_spread(logits)
    values[model.name] = np.asarray(values_of(model, spreads[model.name]),
                                    np.float64)
    measured[model.name], grids[model.name] = measure(
        model, logits, values[model.name], kind, seed=seed, draws=draws,
        grid_images=settings["grid_images"])
  result.settings.update(
      values={m: v.tolist() for m, v in values.items()},
      logit_spread=spreads)
  curves = add_per_value(result, kind, measured, values, seed)
  add_slopes(result, kind, measured, values, seed)
  result.figures.update(line_figures(kind, curves, values))
  for model in models:
    result.figures[f"grid_{model.name}.png"] = grid_figure(
        examples.images, grids[model.name], values[model.name])
  result.summary = summary(result, kind, values)
  return result


def measure(model: inversion.InversionModel, logits: np.ndarray,
            values: np.ndarray, kind: Manipulation, *, seed: int,
            draws: int, grid_images: int
            ) -> tuple[dict[str, np.ndarray], np.ndarray]:
  """({number: [k, N] per value and image, averaged over draws}, the first
  grid_images reconstructions at each value [k, g, R, R, 3], draw 0)."""
  count = len(logits)
  noise = model.sample_noise(count, seed)
  base = model.reconstruct(logits, noise)
  base_logits = model.classify(base)
  eps = [np.random.default_rng([seed, draw]).standard_normal(
      logits.shape).astype(np.float32) for draw in range(draws)]
  out = {name: np.zeros((len(values), count)) for name in NUMBERS}
  grid = []
  for i, value in enumerate(values):
    for draw in range(draws):
      images = model.reconstruct(
          kind.apply(logits, float(value), eps[draw]), noise)
      if draw == 0:
        grid.append(images[:grid_images])
      numbers = image_numbers(model, images, base, base_logits)
      for name in NUMBERS:
        out[name][i] += numbers[name] / draws
  return out, np.stack(grid)


def image_numbers(model: inversion.InversionModel, images: np.ndarray,
                  base: np.ndarray,
                  base_logits: np.ndarray) -> dict[str, np.ndarray]:
  """{number: [N]} of manipulated reconstructions against the unmanipulated
  ones `base` and their logits."""
  numbers = {name: function(images)
             for name, function in metrics.STATISTICS.items()}
  numbers["rmse_to_unmanipulated"] = metrics.rmse(images, base)
  numbers["class_agreement"] = metrics.top1_agreement(
      model.classify(images), base_logits)
  return numbers


def slopes(coordinate: np.ndarray, values: np.ndarray) -> np.ndarray:
  """Least-squares slope [N] of values [k, N] against coordinate [k]."""
  x = np.asarray(coordinate, np.float64)
  centred = x - x.mean()
  denominator = np.sum(centred ** 2)
  if not denominator > 0:
    raise ValueError("A slope needs at least two distinct manipulation "
                     f"values, got {x.tolist()}.")
  return centred @ (values - values.mean(axis=0)) / denominator


def param(value: float) -> float:
  """A manipulation value as a params entry: 6 significant digits."""
  return float(f"{value:.6g}")


def add_per_value(result: results.Result, kind: Manipulation,
                  measured: Mapping[str, Mapping[str, np.ndarray]],
                  values: Mapping[str, np.ndarray], seed: int) -> dict:
  """Adds each number at each value; models with the same values are
  compared (paired differences). Returns {number: {model: [Interval]}}."""
  groups: dict[tuple, list[str]] = {}
  for model, model_values in values.items():
    groups.setdefault(tuple(param(v) for v in model_values), []).append(
        model)
  curves = {name: {model: [] for model in values} for name in NUMBERS}
  for key, group in groups.items():
    for i, value in enumerate(key):
      for name in NUMBERS:
        added = result.add_per_image(
            name, {m: measured[m][name][i] for m in group}, seed=seed,
            **{kind.param: value})
        for model in group:
          curves[name][model].append(added[model])
  return curves


def add_slopes(result: results.Result, kind: Manipulation,
               measured: Mapping[str, Mapping[str, np.ndarray]],
               values: Mapping[str, np.ndarray], seed: int) -> None:
  """Adds `<number>_slope` of every model, with paired differences."""
  for name in NUMBERS:
    result.add_per_image(f"{name}_slope", {
        model: slopes(kind.coordinate(values[model]), measured[model][name])
        for model in values}, seed=seed)


def line_figures(kind: Manipulation, curves: Mapping,
                 values: Mapping[str, np.ndarray]) -> dict[str, bytes]:
  """{"<number>.png": line plot of the number against the manipulation}."""
  first = next(iter(values.values()))
  shared = all(np.array_equal(v, first) for v in values.values())
  if shared:
    x, xlabel = first, kind.param
  else:
    x = first / np.max(np.abs(first))
    xlabel = f"{kind.param} / model's largest (" + ", ".join(
        f"{m} {np.max(np.abs(v)):.3g}" for m, v in values.items()) + ")"
  return {f"{name}.png": figures.line_plot(
      x, {model: [(i.mean, i.low, i.high) for i in intervals]
          for model, intervals in curves[name].items()},
      xlabel=xlabel, ylabel=name, title=f"{kind.experiment}: {name}",
      logx=kind.logx and shared) for name in NUMBERS}


def grid_figure(inputs: np.ndarray, grid: np.ndarray,
                values: np.ndarray) -> bytes:
  """Rows: an input, then its reconstructions at each value (grid [k, g,
  R, R, 3])."""
  rows = [np.concatenate([inputs[j:j + 1], grid[:, j]])
          for j in range(grid.shape[1])]
  return figures.image_grid(
      rows, column_labels=["input"] + [f"{v:.3g}" for v in values])


def summary(result: results.Result, kind: Manipulation,
            values: Mapping[str, np.ndarray]) -> str:
  """'slopes per logit unit: robust: slopes brightness ..., contrast ...,
  sharpness ...; at shift -0.3/0.3 rmse ..., class agreement ...; ...'."""
  parts = []
  for model, model_values in values.items():
    ends = [param(model_values[0]), param(model_values[-1])]
    rmse = [result.get("rmse_to_unmanipulated", model, **{kind.param: v})
            for v in ends]
    agreement = [result.get("class_agreement", model, **{kind.param: v})
                 for v in ends]
    slopes_text = ", ".join(
        f"{name} " + common.interval(
            result.get(f"{name}_slope", model))
        for name in ("brightness", "contrast", "sharpness"))
    parts.append(
        f"{model}: slopes {slopes_text}; at {kind.param} "
        f"{ends[0]:.3g}/{ends[-1]:.3g} rmse "
        f"{rmse[0].mean:.3f}/{rmse[1].mean:.3f}, class agreement "
        f"{agreement[0].mean:.2f}/{agreement[1].mean:.2f}")
  return f"slopes per {kind.unit}: " + "; ".join(parts)
