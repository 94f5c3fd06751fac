"""What a classifier's logits carry about each ground-truth factor, before any
generator: held-out probes from logits to factors (issue #21).

For logits [N, n_c] of N images, their class labels [N] and named factors
(continuous [N] or [N, k]; categorical [N] integers), `probe` fits a probe
from the logits to each factor on a random half of the images and scores it
on the other half:

  continuous   R² = 1 - SSE / SST on the held-out half, per column, then the
               plain average over columns (`per_column` keeps each). It can
               be negative (worse than predicting the held-out mean) and is
               reported as is.
  categorical  accuracy of the argmax of the probe's one-hot regression;
               `chance` is the majority category's share of all N.

Fixed by the class or not. `class_share` is how much of a factor the class
alone explains, on all N: for a continuous factor the R² of the class means
(between-class share of the variance, averaged over columns); for a
categorical one 1 - errors(each class's majority category) / errors(the
overall majority category). A factor is `fixed_by_class` when class_share >=
`fixed_threshold` (0.9). `within_class` measures what the logits add beyond
the true class: the probe is fitted to the factor's deviation from its class
mean (class means from the fit half; for categorical factors the one-hot's
class-conditional frequencies), and on the held-out half the prediction
class mean + predicted deviation is scored against the class mean alone:
1 - SSE(prediction) / SSE(class mean) for continuous factors, 1 -
errors(prediction) / errors(class majority) for categorical ones; 0 = the
logits add nothing to the class, 1 = they pin the rest down. When the factor
does not vary within any class it is NaN and `within_class_note` says why.

Probes (`probe=`, `probes.py`): `ridge`, closed-form ridge on standardised
logits and, with `quadratic`, their pairwise products (of at most
`max_quadratic_components` principal components), the penalty chosen by
inner cross-validation; `mlp`, one hidden ReLU layer trained with Adam and
early stopping.

Confidence intervals. Two things vary: which half the probe is fitted on,
and which images it is scored on. `splits` random half splits (4) each give
a fitted probe and a held-out score; the point estimate is their mean.
Resample r scores split r mod `splits` on a bootstrap resample of that
split's held-out half (predictions fixed), and the interval is the
percentile interval of the `resamples` such scores, so it covers both the
split-to-split spread and the test-sampling noise. It does not refit the
probe on resampled fit halves (resamples x fits: too slow for the MLP).
Interval.n is N.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Optional

import numpy as np

from logit_gan.analyses import stats
from logit_gan.analyses.probes import (MlpSettings, Ridge, fit_mlp,
                                      quadratic_features, standardise)

KINDS = ("continuous", "categorical")
PROBES = ("ridge", "mlp")
ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
MIN_EXAMPLES = 20


@dataclasses.dataclass(frozen=True)
class FactorResult:
  """One factor's probe.

  Attributes:
    name, kind: the factor and 'continuous' or 'categorical'.
    metric: 'r2' (continuous) or 'accuracy' (categorical) of `score`.
    score: held-out R² (mean over columns) or accuracy, with its interval.
    chance: categorical: the majority category's share; continuous: None.
    per_column: continuous: held-out R² of each column, mean over splits.
    class_share: in (-inf, 1]; what the class alone explains (module doc).
    fixed_by_class: class_share >= the threshold.
    within_class: what the logits add beyond the class (module doc), or
      NaN with `within_class_note` saying why.
  """
  name: str
  kind: str
  metric: str
  score: stats.Interval
  chance: Optional[float]
  per_column: tuple[float, ...]
  class_share: float
  fixed_by_class: bool
  within_class: stats.Interval
  within_class_note: str = ""

  def to_dict(self) -> dict:
    return {"name": self.name, "kind": self.kind, "metric": self.metric,
            "score": self.score.to_dict(), "chance": self.chance,
            "per_column": [_json_float(v) for v in self.per_column],
            "class_share": _json_float(self.class_share),
            "fixed_by_class": self.fixed_by_class,
            "within_class": self.within_class.to_dict(),
            "within_class_note": self.within_class_note}


@dataclasses.dataclass(frozen=True)
class ProbeResult:
  """Every factor's `FactorResult`, in the order given, and the settings."""
  factors: dict[str, FactorResult]
  settings: dict

  def __getitem__(self, name: str) -> FactorResult:
    return self.factors[name]

  def to_dict(self) -> dict:
    return {"settings": dict(self.settings),
            "factors": {name: result.to_dict()
                        for name, result in self.factors.items()}}

  def table(self) -> str:
    """A fixed-width table, one factor a line."""
    lines = [f"{'factor':24} {'fixed':5} {'class':>6} {'metric':8} "
             f"{'held-out [95% CI]':26} {'within class [95% CI]':26}"]
    for result in self.factors.values():
      within = (str(result.within_class) if np.isfinite(
          result.within_class.mean) else result.within_class_note)
      lines.append(
          f"{result.name:24} {'yes' if result.fixed_by_class else 'no':5} "
          f"{result.class_share:6.2f} {result.metric:8} "
          f"{str(result.score):26} {within}")
    return "\n".join(lines)


def with_hue_offset(factors: Mapping[str, np.ndarray]) -> dict:
  """`factors` plus, for shapes_mini (which stores `hue_family`),
  `foreground_hue_offset` [N]: the hue's signed distance from its family's
  centre in turns, in [-0.1, 0.1). `foreground_hue` itself wraps at red
  (0.95 and 0.05 are both red), so its within-class R² mostly says on which
  side of 0 a red hue lies; the offset does not wrap."""
  if "hue_family" not in factors or "foreground_hue" not in factors:
    return dict(factors)
  from logit_gan.data.shapes import mini  # Only shapes_mini has families.
  centre = mini.hue_family_centre(factors["hue_family"])
  offset = (factors["foreground_hue"] - centre + 0.5) % 1.0 - 0.5
  return {**factors, "foreground_hue_offset": offset}


def _json_float(value) -> Optional[float]:
  return float(value) if np.isfinite(value) else None


# Input checks.

def _infer_kind(values: np.ndarray) -> str:
  integral = np.issubdtype(values.dtype, np.integer) or values.dtype == bool
  return "categorical" if integral and values.ndim == 1 else "continuous"


def _check_factor(name: str, values, kind: Optional[str], count: int):
  values = np.asarray(values)
  if values.ndim == 0 or len(values) != count:
    raise ValueError(f"Factor {name!r} has shape {values.shape}; it needs "
                     f"{count} rows, one per logit vector.")
  kind = kind or _infer_kind(values)
  if kind not in KINDS:
    raise ValueError(f"Factor {name!r} has unknown kind {kind!r}; kinds "
                     f"are {KINDS}.")
  if kind == "categorical":
    if values.ndim != 1:
      raise ValueError(f"Categorical factor {name!r} must be [N], not "
                       f"{values.shape}.")
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
      raise ValueError(f"Categorical factor {name!r} has NaN or inf.")
    values = np.unique(values, return_inverse=True)[1].reshape(-1)
  else:
    values = values.reshape(count, -1).astype(np.float64)
    if not np.all(np.isfinite(values)):
      raise ValueError(f"Factor {name!r} has NaN or inf values.")
  if np.all(values == values[:1]):
    raise ValueError(f"Factor {name!r} takes one value only; nothing to "
                     "probe.")
  if kind == "continuous":
    constant = np.flatnonzero(np.all(values == values[:1], axis=0))
    if constant.size:
      raise ValueError(f"Factor {name!r} is constant in column(s) "
                       f"{constant.tolist()}; drop them.")
  return values, kind


def _check_inputs(logits, factors, labels, kinds):
  logits = np.asarray(logits, dtype=np.float64)
  if logits.ndim != 2 or len(logits) < MIN_EXAMPLES:
    raise ValueError(f"logits must be [N, n_c] with N >= {MIN_EXAMPLES}, "
                     f"got shape {logits.shape}.")
  if not np.all(np.isfinite(logits)):
    rows = np.flatnonzero(~np.all(np.isfinite(logits), axis=1))
    raise ValueError(f"logits have NaN or inf in {rows.size} row(s), the "
                     f"first {rows[:5].tolist()}.")
  labels = np.asarray(labels)
  if labels.shape != (len(logits),) or not np.issubdtype(labels.dtype,
                                                          np.integer):
    raise ValueError(f"labels must be [N] integers with N = {len(logits)} "
                     f"(the logits' rows), got {labels.dtype} of shape "
                     f"{labels.shape}.")
  if not factors:
    raise ValueError("No factors given to probe.")
  kinds = dict(kinds or {})
  unknown = sorted(set(kinds) - set(factors))
  if unknown:
    raise ValueError(f"kinds names {unknown}, which are not factors; the "
                     f"factors are {sorted(factors)}.")
  checked = {name: _check_factor(name, values, kinds.get(name), len(logits))
             for name, values in factors.items()}
  return logits, np.unique(labels, return_inverse=True)[1].reshape(-1), checked



# Scores. Rows are held-out examples, so the bootstrap resamples them.

def _r2_columns(truth, prediction, baseline) -> np.ndarray:
  """1 - SSE / SS about `baseline`, per column; NaN where the latter is 0."""
  total = np.sum((truth - baseline) ** 2, axis=0)
  error = np.sum((truth - prediction) ** 2, axis=0)
  with np.errstate(divide="ignore", invalid="ignore"):
    return np.where(total > 1e-12, 1.0 - error / total, np.nan)


def _mean_or_nan(values: np.ndarray) -> float:
  finite = values[np.isfinite(values)]
  return float(finite.mean()) if finite.size else np.nan


def _held_out_r2(rows: np.ndarray) -> float:
  """rows [m, 2k]: truth, prediction; baseline the truth's mean."""
  truth, prediction = np.split(rows, 2, axis=1)
  return _mean_or_nan(_r2_columns(truth, prediction, truth.mean(axis=0)))


def _within_r2(rows: np.ndarray) -> float:
  """rows [m, 3k]: truth, prediction, class mean (the baseline)."""
  truth, prediction, baseline = np.split(rows, 3, axis=1)
  return _mean_or_nan(_r2_columns(truth, prediction, baseline))


def _accuracy_gain(rows: np.ndarray) -> float:
  """rows [m, 2]: probe correct, class majority correct (0/1)."""
  probe_errors, baseline_errors = 1.0 - rows.mean(axis=0)
  return 1.0 - probe_errors / baseline_errors if baseline_errors else np.nan


def _targets(kind: str, values: np.ndarray) -> np.ndarray:
  """[N, k] regression targets: the values, or a categorical's one-hot."""
  if kind == "continuous":
    return values
  return np.eye(values.max() + 1)[values]


def _class_means(targets, labels, num_classes) -> np.ndarray:
  """[num_classes, k] per-class means; a class absent: the overall mean."""
  sums = np.zeros((num_classes, targets.shape[1]))
  np.add.at(sums, labels, targets)
  counts = np.bincount(labels, minlength=num_classes)[:, None]
  return np.where(counts > 0, sums / np.maximum(counts, 1),
                  targets.mean(axis=0))


def class_share(kind: str, values: np.ndarray, labels: np.ndarray) -> float:
  """What the class alone explains of a factor, on all examples: the R² of
  the class means (continuous, averaged over columns) or 1 - errors of each
  class's majority / errors of the overall majority (categorical). In
  [0, 1]; values [N] or [N, k], labels [N] in [0, num_classes)."""
  targets = _targets(kind, values)
  means = _class_means(targets, labels, labels.max() + 1)[labels]
  if kind == "continuous":
    return _mean_or_nan(_r2_columns(targets, means, targets.mean(axis=0)))
  majority = np.max(np.bincount(values)) / len(values)
  class_majority = np.mean(means.argmax(axis=1) == values)
  return 1.0 - (1.0 - class_majority) / (1.0 - majority)


def _varies_within_class(kind, values, labels) -> bool:
  targets = _targets(kind, values)
  means = _class_means(targets, labels, labels.max() + 1)[labels]
  within = np.sum((targets - means) ** 2)
  return bool(within > 1e-12 * np.sum((targets - targets.mean(0)) ** 2))


@dataclasses.dataclass(frozen=True)
class _Split:
  """One random half split and its probe: `predict(targets [n_fit, k],
  key) -> [n_test, k]`, key a tuple that seeds an MLP."""
  fit: np.ndarray
  test: np.ndarray
  predict: object


def _make_split(logits, index, *, probe_kind, quadratic, alphas, folds,
                max_quadratic_components, mlp, seed) -> _Split:
  rng = np.random.default_rng([seed, index])
  order = rng.permutation(len(logits))
  fit, test = np.sort(order[:len(order) // 2]), np.sort(order[len(order) // 2:])
  if probe_kind == "mlp":
    def predict(targets, key):
      return fit_mlp(logits[fit], targets, logits[test], settings=mlp,
                     rng=np.random.default_rng([seed, index, *key]))
    return _Split(fit, test, predict)
  if quadratic:
    x_fit, x_test = quadratic_features(
        logits[fit], logits[test], max_components=max_quadratic_components)
  else:
    x_fit, x_test = standardise(logits[fit], logits[test])
  ridge = Ridge(x_fit, x_test, alphas=alphas, folds=folds, rng=rng)
  return _Split(fit, test, lambda targets, key: ridge.fit_predict(targets))


def _resampled(rows, statistic, resamples, rng):
  """(statistic on the held-out rows, [resamples] on bootstrap resamples)."""
  return statistic(rows), stats.bootstrap_samples(
      rows, statistic, resamples=resamples, rng=rng)


def _score_split(kind, values, labels, split: _Split, key, *, within: bool,
                 resamples: int, rng):
  """One split's scores [(point, samples) held out, (point, samples) within
  class if `within`] and the held-out R² per column (continuous)."""
  targets = _targets(kind, values)
  fit, test = split.fit, split.test
  truth = targets[test]
  overall = split.predict(targets[fit], (*key, 0))
  if kind == "continuous":
    per_column = _r2_columns(truth, overall, truth.mean(axis=0))
    rows, statistic = np.concatenate([truth, overall], 1), _held_out_r2
  else:
    per_column = np.zeros(0)
    rows = (overall.argmax(axis=1) == values[test]).astype(np.float64)
    statistic = np.mean
  scores = [_resampled(rows, statistic, resamples, rng)]
  if within:
    means = _class_means(targets[fit], labels[fit], labels.max() + 1)
    baseline = means[labels[test]]
    guess = baseline + split.predict(targets[fit] - means[labels[fit]],
                                     (*key, 1))
    if kind == "continuous":
      rows, statistic = np.concatenate([truth, guess, baseline], 1), _within_r2
    else:
      rows = np.stack([guess.argmax(axis=1) == values[test],
                       baseline.argmax(axis=1) == values[test]], 1)
      rows, statistic = rows.astype(np.float64), _accuracy_gain
    scores.append(_resampled(rows, statistic, resamples, rng))
  return scores, per_column


def _combine(scores, *, n: int, confidence: float) -> stats.Interval:
  """Splits' (point, samples) -> the mean point and the pooled interval."""
  point = _mean_or_nan(np.array([point for point, _ in scores], float))
  samples = np.concatenate([samples for _, samples in scores])
  return stats.percentile_interval(point, samples, n=n,
                                   confidence=confidence)


def _probe_factor(name, index, values, kind, labels, splits, *, resamples,
                  confidence, fixed_threshold, seed) -> FactorResult:
  share = class_share(kind, values, labels)
  varies = _varies_within_class(kind, values, labels)
  per_split = []
  for number, split in enumerate(splits):
    rng = np.random.default_rng([seed, number, index, 1])
    per_split.append(_score_split(
        kind, values, labels, split, (index,), within=varies,
        resamples=-(-resamples // len(splits)), rng=rng))
  n = len(labels)
  score = _combine([scores[0] for scores, _ in per_split], n=n,
                   confidence=confidence)
  nan = stats.Interval(np.nan, np.nan, np.nan, n, confidence)
  within = (_combine([scores[1] for scores, _ in per_split], n=n,
                     confidence=confidence) if varies else nan)
  note = ("" if np.isfinite(within.mean) else
          "undefined: does not vary within class" if not varies else
          "undefined on the held-out halves")
  per_column = np.mean([columns for _, columns in per_split], axis=0)
  chance = (float(np.max(np.bincount(values)) / n)
            if kind == "categorical" else None)
  return FactorResult(
      name=name, kind=kind,
      metric="r2" if kind == "continuous" else "accuracy", score=score,
      chance=chance, per_column=tuple(float(v) for v in per_column),
      class_share=float(share), fixed_by_class=bool(share >= fixed_threshold),
      within_class=within, within_class_note=note)


def _check_settings(probe_kind, splits, folds, resamples, alphas) -> None:
  if probe_kind not in PROBES:
    raise ValueError(f"Unknown probe {probe_kind!r}; probes are {PROBES}.")
  if splits < 1 or folds < 2 or resamples < 1:
    raise ValueError(f"Need splits >= 1, folds >= 2 and resamples >= 1, got "
                     f"{splits}, {folds} and {resamples}.")
  if not alphas or min(alphas) <= 0:
    raise ValueError(f"alphas must be positive, got {tuple(alphas)}.")


def probe(logits, factors: Mapping[str, np.ndarray], labels, *,
          kinds: Optional[Mapping[str, str]] = None, probe: str = "ridge",
          quadratic: bool = True, alphas=ALPHAS, folds: int = 3,
          splits: int = 4, resamples: int = 1000, confidence: float = 0.95,
          fixed_threshold: float = 0.9, max_quadratic_components: int = 32,
          mlp: MlpSettings = MlpSettings(), seed: int = 0) -> ProbeResult:
  """Held-out probes from logits to each factor (see the module docstring).

  Args:
    logits: [N, n_c] finite floats, N >= 20.
    factors: name -> [N] or [N, k] (more dimensions are flattened to k).
    labels: [N] integer classes.
    kinds: name -> 'continuous' or 'categorical'; a factor not named is
      categorical if it is [N] integers (or bools), else continuous.
    probe: 'ridge' or 'mlp'.
    quadratic: ridge on logits and their pairwise products (else linear).
    alphas: ridge penalties tried by `folds`-fold CV within the fit half.
    splits: random half splits; resamples: bootstrap resamples in all.
    confidence: the intervals' coverage; fixed_threshold: the class_share
      at or above which a factor is `fixed_by_class`.
    max_quadratic_components: products of at most this many principal
      components of the logits; mlp: the MLP probe's settings.
    seed: seeds the splits, the inner folds, the MLPs and the bootstrap.

  Returns:
    A ProbeResult with one FactorResult per factor, in the given order.

  Raises:
    ValueError naming the factor or input at fault: shapes that disagree,
    NaN or inf, an unknown kind or probe, a factor with a single value.
  """
  _check_settings(probe, splits, folds, resamples, alphas)
  logits, labels, checked = _check_inputs(logits, factors, labels, kinds)
  made = [_make_split(logits, index, probe_kind=probe, quadratic=quadratic,
                      alphas=alphas, folds=folds, mlp=mlp, seed=seed,
                      max_quadratic_components=max_quadratic_components)
          for index in range(splits)]
  results = {
      name: _probe_factor(name, index, values, kind, labels, made,
                          resamples=resamples, confidence=confidence,
                          fixed_threshold=fixed_threshold, seed=seed)
      for index, (name, (values, kind)) in enumerate(checked.items())}
  settings = {
      "probe": probe, "quadratic": bool(quadratic) and probe == "ridge",
      "alphas": [float(a) for a in alphas], "folds": folds, "splits": splits,
      "resamples": resamples, "confidence": confidence,
      "fixed_threshold": fixed_threshold,
      "max_quadratic_components": max_quadratic_components,
      "mlp": dataclasses.asdict(mlp) if probe == "mlp" else None,
      "seed": seed, "num_examples": int(len(logits)),
      "num_logits": int(logits.shape[1]),
      "num_classes": int(labels.max() + 1)}
  return ProbeResult(results, settings)
