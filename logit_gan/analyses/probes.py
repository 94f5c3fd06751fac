"""The probes of `logit_probe`: from features (a classifier's logits) [n, d]
fitted on one half of the examples to targets [n, k], predicting the other.

Probes (`probe=`):
  ridge  closed-form ridge on standardised logits (standardised on the fit
         half), plus, with `quadratic`, all pairwise products and squares.
         Above `max_quadratic_components` (32) logits the products are taken
         of the top principal components of the standardised logits (the
         linear part keeps every logit): n_c = 100 would give 5,050 products,
         32 components give 528, and the leading components carry most of
         the logits' variance. Every feature is standardised on the fit half.
         The penalty (objective: mean squared error + alpha |w|²) is
         chosen per target column from `alphas` by `folds`-fold
         cross-validation inside the fit half (the features' standardisation
         is the fit half's).
  mlp    one hidden layer (64 ReLU) on the standardised logits, squared
         error on standardised targets, full-batch Adam for `steps` steps;
         early stopping keeps the weights of the step with the lowest loss
         on a fifth of the fit half held out from its training. numpy only;
         deterministic given the seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class MlpSettings:
  """The MLP probe: `hidden` ReLU units, Adam at `learning_rate` for
  `steps` full-batch steps, L2 `weight_decay`, early stopping on a
  `validation_fraction` of the fit half."""
  hidden: int = 64
  steps: int = 400
  learning_rate: float = 0.01
  weight_decay: float = 1e-4
  validation_fraction: float = 0.2


def standardise(fit: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
  """[fit, *others], each [n_i, d], centred and scaled by the fit rows'
  per-column mean and standard deviation (a constant column: scale 1)."""
  mean, scale = fit.mean(axis=0), fit.std(axis=0)
  scale = np.where(scale > 1e-12, scale, 1.0)
  return [(x - mean) / scale for x in (fit, *others)]


def pairwise_products(x: np.ndarray) -> np.ndarray:
  """[n, d] -> [n, d (d + 1) / 2]: x_i x_j for i <= j (squares included)."""
  upper = np.triu_indices(x.shape[1])
  return x[:, upper[0]] * x[:, upper[1]]


def quadratic_features(fit_logits: np.ndarray, test_logits: np.ndarray, *,
                       max_components: int = 32):
  """The ridge probe's features of the fit and test halves: standardised
  logits [n, n_c] and the pairwise products (with squares) of them, or of
  their top `max_components` principal components when n_c is larger, all
  standardised on the fit half. Returns ([n_fit, p], [n_test, p])."""
  fit, test = standardise(fit_logits, test_logits)
  basis_fit, basis_test = fit, test
  if fit.shape[1] > max_components:
    # Eigenvectors of the covariance [n_c, n_c], largest eigenvalues first.
    components = np.linalg.eigh(fit.T @ fit)[1][:, ::-1][:, :max_components]
    basis_fit, basis_test = fit @ components, test @ components
  fit = np.concatenate([fit, pairwise_products(basis_fit)], axis=1)
  test = np.concatenate([test, pairwise_products(basis_test)], axis=1)
  return tuple(standardise(fit, test))


class Ridge:
  """Ridge from fixed fit features [n, p] to any targets, predicting fixed
  test features [m, p], the penalty chosen by inner CV. Eigendecompositions
  and rotated features are computed once and shared by every target."""

  def __init__(self, features: np.ndarray, test: np.ndarray, *, alphas,
               folds: int, rng: np.random.Generator):
    self._x = features
    self._alphas = np.asarray(alphas, dtype=np.float64)
    fold_of = rng.permutation(len(features)) % folds
    self._folds = [self._solver(np.flatnonzero(fold_of != k),
                                features[fold_of == k])
                   for k in range(folds)]
    self._held = [np.flatnonzero(fold_of == k) for k in range(folds)]
    self._full = self._solver(np.arange(len(features)), test)

  def _solver(self, rows, evaluated):
    x = self._x[rows]
    mean = x.mean(axis=0)
    spectrum, vectors = np.linalg.eigh((x - mean).T @ (x - mean))
    return (rows, (x - mean) @ vectors, np.maximum(spectrum, 0.0),
            (evaluated - mean) @ vectors)

  @staticmethod
  def _predict(solver, targets, alphas):
    """Predictions [len(alphas), m, k] of the solver's evaluated rows."""
    rows, rotated_fit, spectrum, rotated = solver
    y = targets[rows]
    y_mean = y.mean(axis=0)
    projected = rotated_fit.T @ (y - y_mean)
    return np.stack([
        (rotated / (spectrum + len(rows) * alpha)) @ projected + y_mean
        for alpha in alphas])

  def fit_predict(self, targets: np.ndarray) -> np.ndarray:
    """Targets [n_fit, k] -> test predictions [n_test, k], each column at
    the penalty with the lowest inner-CV squared error."""
    errors = np.zeros((len(self._alphas), targets.shape[1]))
    for solver, held in zip(self._folds, self._held):
      guess = self._predict(solver, targets, self._alphas)
      errors += np.sum((guess - targets[held]) ** 2, axis=1)
    best = np.argmin(errors, axis=0)
    predictions = self._predict(self._full, targets, self._alphas)
    return np.take_along_axis(predictions, best[None, None, :], axis=0)[0]


def _mlp_forward(params, x):
  hidden = np.maximum(x @ params[0] + params[1], 0.0)
  return hidden, hidden @ params[2] + params[3]


def _mlp_gradients(params, x, y, weight_decay):
  hidden, output = _mlp_forward(params, x)
  delta = 2.0 * (output - y) / y.size
  back = (delta @ params[2].T) * (hidden > 0)
  return [x.T @ back + weight_decay * params[0], back.sum(axis=0),
          hidden.T @ delta + weight_decay * params[2], delta.sum(axis=0)]


def fit_mlp(x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, *,
            settings: MlpSettings = MlpSettings(),
            rng: np.random.Generator) -> np.ndarray:
  """One-hidden-layer ReLU regression [n, d] -> [n, k], trained with Adam
  on squared error with early stopping; returns predictions [m, k]."""
  x_fit, x_test = standardise(x_fit, x_test)
  y_mean = y_fit.mean(axis=0)
  y_scale = np.where(y_fit.std(axis=0) > 1e-12, y_fit.std(axis=0), 1.0)
  y = (y_fit - y_mean) / y_scale
  order = rng.permutation(len(x_fit))
  held = max(1, int(settings.validation_fraction * len(x_fit)))
  train, valid = order[held:], order[:held]
  d, k, h = x_fit.shape[1], y.shape[1], settings.hidden
  params = [rng.normal(0, np.sqrt(2 / d), (d, h)), np.zeros(h),
            rng.normal(0, np.sqrt(1 / h), (h, k)), np.zeros(k)]
  moments = [[np.zeros_like(p) for p in params] for _ in range(2)]
  best, best_loss = [p.copy() for p in params], np.inf
  for step in range(1, settings.steps + 1):
    grads = _mlp_gradients(params, x_fit[train], y[train],
                           settings.weight_decay)
    for p, g, m, v in zip(params, grads, *moments):
      m[...] = 0.9 * m + 0.1 * g
      v[...] = 0.999 * v + 0.001 * g * g
      p -= settings.learning_rate * (m / (1 - 0.9**step)) / (
          np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    loss = np.mean((_mlp_forward(params, x_fit[valid])[1] - y[valid]) ** 2)
    if loss < best_loss:
      best, best_loss = [p.copy() for p in params], loss
  return _mlp_forward(best, x_test)[1] * y_scale + y_mean
