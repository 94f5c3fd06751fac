"""Confidence intervals shared by the analyses: percentile bootstrap of a
statistic over examples, and of a paired difference; Wilson's score
interval of a proportion (the 2AFC preferences, two_afc.py).

Every interval is an `Interval`: the statistic on the data as given (`mean`,
also when the statistic is not a mean), the percentile interval of the
statistic over bootstrap resamples (`low`, `high`) and the number of
examples `n`. Resamples are drawn from `np.random.default_rng(seed)`, so the
same call gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import math
import statistics

import numpy as np

Statistic = Callable[[np.ndarray], float]


@dataclasses.dataclass(frozen=True)
class Interval:
  """A point estimate with its confidence interval.

  Attributes:
    mean: the statistic on all examples (NaN when undefined).
    low, high: the interval's ends (NaN when undefined).
    n: the number of examples it is computed from.
    confidence: the interval's nominal coverage, in (0, 1).
  """
  mean: float
  low: float
  high: float
  n: int
  confidence: float = 0.95

  def to_dict(self) -> dict:
    """JSON-ready: floats (NaN as None), n, confidence."""
    def number(value):
      return None if not np.isfinite(value) else float(value)
    return {"mean": number(self.mean), "low": number(self.low),
            "high": number(self.high), "n": int(self.n),
            "confidence": float(self.confidence)}

  def contains(self, value: float) -> bool:
    return bool(self.low <= value <= self.high)

  def __str__(self) -> str:
    return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _check_confidence(confidence: float, resamples: int) -> None:
  if not 0 < confidence < 1:
    raise ValueError(f"confidence must be in (0, 1), not {confidence!r}.")
  if resamples < 1:
    raise ValueError(f"resamples must be >= 1, not {resamples!r}.")


def percentile_interval(point: float, samples: np.ndarray, *, n: int,
                        confidence: float = 0.95) -> Interval:
  """The percentile interval of resampled statistics `samples` [R] around
  `point`; NaN samples (undefined on a resample) are left out, and an
  interval with none left is NaN."""
  samples = np.asarray(samples, dtype=np.float64).ravel()
  samples = samples[np.isfinite(samples)]
  if not samples.size:
    return Interval(float(point), np.nan, np.nan, int(n), confidence)
  tail = 100 * (1 - confidence) / 2
  low, high = np.percentile(samples, [tail, 100 - tail])
  return Interval(float(point), float(low), float(high), int(n), confidence)


# Elements gathered at once by the vectorised mean of resamples.
_BLOCK_ELEMENTS = 1 << 22


def bootstrap_samples(values: np.ndarray, statistic: Statistic, *,
                      resamples: int, rng: np.random.Generator) -> np.ndarray:
  """`statistic` [R] on `resamples` resamples, with replacement, of the rows
  of `values` [n, ...] (rows are examples; a statistic of several columns,
  e.g. an R² of [target, prediction] pairs, resamples them together).
  np.mean, the usual statistic, is computed for blocks of resamples at
  once (the same numbers as one call per resample, without the loop)."""
  values = np.asarray(values)
  n = len(values)
  indices = rng.integers(0, n, size=(resamples, n))
  if statistic is np.mean:
    return resampled_means(values, indices)
  return np.array([statistic(values[rows]) for rows in indices],
                  dtype=np.float64)


def resampled_means(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
  """[R]: np.mean(values[rows]) for each row `rows` of indices [R, n]."""
  flat = np.asarray(values).reshape(len(values), -1)
  block = max(1, _BLOCK_ELEMENTS // max(1, indices.shape[1] * flat.shape[1]))
  return np.concatenate([
      flat[indices[start:start + block]].reshape(
          len(indices[start:start + block]), -1).mean(axis=1)
      for start in range(0, len(indices), block)]).astype(np.float64)


def bootstrap_ci(values, statistic: Statistic = np.mean, *,
                 confidence: float = 0.95, resamples: int = 1000,
                 seed: int = 0) -> Interval:
  """Percentile-bootstrap interval of `statistic` over the rows of `values`.

  Args:
    values: [n] or [n, ...] array of per-example values (rows resampled).
    statistic: rows [m, ...] -> a float; np.mean by default.
    confidence: nominal coverage in (0, 1).
    resamples: number of bootstrap resamples (>= 1).
    seed: seeds the resampling.

  Returns:
    Interval(statistic(values), low, high, n).
  """
  _check_confidence(confidence, resamples)
  values = np.asarray(values)
  if values.ndim == 0 or len(values) == 0:
    raise ValueError("bootstrap_ci needs at least one value, got "
                     f"an array of shape {values.shape}.")
  samples = bootstrap_samples(values, statistic, resamples=resamples,
                              rng=np.random.default_rng(seed))
  return percentile_interval(statistic(values), samples, n=len(values),
                             confidence=confidence)


def paired_difference_ci(a, b, statistic: Statistic = np.mean, *,
                         confidence: float = 0.95, resamples: int = 1000,
                         seed: int = 0) -> Interval:
  """Interval of statistic(a) - statistic(b) for paired examples: each
  resample draws the same examples from both (e.g. two models scored on the
  same images), so what the examples share cancels.

  Args:
    a, b: [n] or [n, ...] arrays whose rows are the same n examples.
  """
  a, b = np.asarray(a), np.asarray(b)
  if a.shape[:1] != b.shape[:1] or a.ndim == 0:
    raise ValueError("paired_difference_ci needs a and b with the same "
                     f"number of examples, got shapes {a.shape} and "
                     f"{b.shape}.")
  count = len(a)

  def difference(rows):
    return statistic(a[rows]) - statistic(b[rows])
  _check_confidence(confidence, resamples)
  if count == 0:
    raise ValueError("paired_difference_ci needs at least one example.")
  rows = np.arange(count)
  rng = np.random.default_rng(seed)
  if statistic is np.mean:  # Vectorised, as bootstrap_samples.
    indices = rng.integers(0, count, size=(resamples, count))
    samples = resampled_means(a, indices) - resampled_means(b, indices)
  else:
    samples = bootstrap_samples(rows, difference, resamples=resamples,
                                rng=rng)
  return percentile_interval(difference(rows), samples, n=count,
                             confidence=confidence)


def difference_ci(a, b, statistic: Statistic = np.mean, *,
                  confidence: float = 0.95, resamples: int = 1000,
                  seed: int = 0) -> Interval:
  """Interval of statistic(a) - statistic(b) for two independent groups
  (e.g. the images a classifier gets right and those it gets wrong): each
  resample draws from a and from b separately. Interval.n is len(a) +
  len(b); NaN when either group is empty."""
  _check_confidence(confidence, resamples)
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if not len(a) or not len(b):
    return Interval(np.nan, np.nan, np.nan, len(a) + len(b), confidence)
  rng = np.random.default_rng(seed)
  samples = (bootstrap_samples(a, statistic, resamples=resamples, rng=rng)
             - bootstrap_samples(b, statistic, resamples=resamples, rng=rng))
  return percentile_interval(statistic(a) - statistic(b), samples,
                             n=len(a) + len(b), confidence=confidence)


def wilson_interval(successes: int, trials: int, *,
                    confidence: float = 0.95) -> Interval:
  """Wilson's score interval of a binomial proportion (Wilson 1927;
  Newcombe 1998's method 3, without continuity correction): the p whose
  score test |p̂ - p| / sqrt(p (1 - p) / n) does not reject at
  `confidence`. Unlike p̂ ± z·se it stays inside [0, 1] and is not empty at
  0 or n successes.

  Args:
    successes: k, 0 <= k <= trials.
    trials: n >= 1.
    confidence: nominal coverage in (0, 1).

  Returns:
    Interval(k / n, low, high, n), low and high in [0, 1].
  """
  if not 0 < confidence < 1:
    raise ValueError(f"confidence must be in (0, 1), not {confidence!r}.")
  if trials < 1 or not 0 <= successes <= trials:
    raise ValueError("wilson_interval needs 0 <= successes <= trials and "
                     f"trials >= 1, not {successes} of {trials}.")
  z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
  share = successes / trials
  shrink = 1 + z * z / trials
  centre = (share + z * z / (2 * trials)) / shrink
  half = z / shrink * math.sqrt(share * (1 - share) / trials
                                + z * z / (4 * trials * trials))
  return Interval(share, max(0.0, centre - half), min(1.0, centre + half),
                  int(trials), confidence)
