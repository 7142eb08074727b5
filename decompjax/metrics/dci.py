"""Disentanglement, Completeness, Informativeness (DCI).

Eastwood & Williams, "A Framework for the Quantitative Evaluation of Disentangled Representations", ICLR 2018.
Default estimator as in disentanglement_lib `evaluation/metrics/dci.py` (one GradientBoostingClassifier per
factor, importances -> D/C, informativeness = accuracy; fitted by `gbt.py`, factors in parallel);
`importance='lasso'|'random_forest'` follow the regressors of ubisoft-laforge-disentanglement-metrics
`src/metrics/dci.py` (the copy used by SynTone).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import scipy.stats
import threadpoolctl
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import Lasso
from sklearn.model_selection import KFold, cross_val_score

from decompjax.metrics import gbt, utils

LASSO_ALPHAS = (0.0001, 0.001, 0.01, 0.1, 0.2, 0.4, 0.8, 1.0)
RF_MAX_DEPTH = (8, 16, 32, 64, 128)
RF_MAX_FEATURES = (0.2, 0.4, 0.8, 1.0)


def disentanglement_per_code(importance: np.ndarray) -> np.ndarray:
  """D_i = 1 - H_K(P_i.), P_ij = R_ij / sum_j R_ij (+1e-11 as dlib), entropy base K = #factors. `[D]`.

  With a single factor the entropy is over one outcome, so D_i = 1 (dlib would divide by log 1 = 0).
  """
  if importance.shape[1] == 1:
    return np.ones(importance.shape[0])
  return 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])


def completeness_per_factor(importance: np.ndarray) -> np.ndarray:
  """C_j = 1 - H_D(P.j), P_ij = R_ij / sum_i R_ij (+1e-11), entropy base D = #codes. `[K]` (1 if D == 1)."""
  if importance.shape[0] == 1:
    return np.ones(importance.shape[1])
  return 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])


def disentanglement(importance: np.ndarray) -> float:
  """D = sum_i rho_i D_i, rho_i = sum_j R_ij / sum R (uniform weights for an all-zero R, as dlib)."""
  importance = np.asarray(importance, dtype=np.float64)
  per_code = disentanglement_per_code(importance)
  weights = importance if importance.sum() != 0.0 else np.ones_like(importance)
  rho = weights.sum(axis=1) / weights.sum()
  return float(np.sum(per_code * rho))


def completeness(importance: np.ndarray) -> float:
  """C = sum_j rho_j C_j, rho_j = sum_i R_ij / sum R (uniform weights for an all-zero R, as dlib)."""
  importance = np.asarray(importance, dtype=np.float64)
  per_factor = completeness_per_factor(importance)
  weights = importance if importance.sum() != 0.0 else np.ones_like(importance)
  rho = weights.sum(axis=0) / weights.sum()
  return float(np.sum(per_factor * rho))


def _largest_first(y_train: np.ndarray) -> list[int]:
  """Factor indices by decreasing class count: a multiclass fit costs one tree per class, so starting the
  biggest first balances the pool."""
  sizes = [np.unique(y_train[:, j]).size for j in range(y_train.shape[1])]
  return sorted(range(len(sizes)), key=lambda j: -sizes[j])


def importance_gbt(x_train, y_train, x_test, y_test, rng: np.random.Generator, gbt_kwargs: Optional[dict] = None,
                   n_jobs: Optional[int] = None, gbt_impl: str = "presorted"):
  """dlib `compute_importance_gbt`: R[:, j] = |feature_importances_| of GradientBoostingClassifier for factor j.

  One model per factor, fitted once: its importances, its train accuracy and its test accuracy all come from
  that fit. `gbt_impl='presorted'` (default) fits the same model with `gbt.fit_predict` (features sorted once;
  equal to sklearn's up to exact ties, see decompjax/metrics/gbt.py); 'sklearn' fits sklearn's own
  GradientBoostingClassifier(random_state=seed from rng). gbt_kwargs outside `gbt.SUPPORTED_KWARGS` (or no
  numba) use 'sklearn'. Factors are fitted in parallel on `n_jobs` threads (None: all cores).

  Returns (R [D, K], train accuracy, test accuracy), accuracies averaged over factors.
  """
  if gbt_impl not in ("presorted", "sklearn"):
    raise ValueError(f"gbt_impl must be 'presorted' or 'sklearn', got {gbt_impl!r}")
  kwargs = dict(gbt_kwargs or {})
  presorted = gbt_impl == "presorted" and gbt.available() and gbt.supports(kwargs)
  k = y_train.shape[1]
  seeds = [utils.sklearn_seed(rng) for _ in range(k)]  # drawn up front: the same whatever the thread order

  def fit(j):
    if presorted:
      fi, p_train, p_test = gbt.fit_predict(x_train, y_train[:, j], x_test, seed=seeds[j], **kwargs)
    else:
      model = GradientBoostingClassifier(random_state=seeds[j], **kwargs).fit(x_train, y_train[:, j])
      fi, p_train, p_test = model.feature_importances_, model.predict(x_train), model.predict(x_test)
    return j, np.abs(fi), np.mean(p_train == y_train[:, j]), np.mean(p_test == y_test[:, j])

  return _collect(utils.parallel_map(fit, _largest_first(y_train), n_jobs), x_train.shape[1], k)


def _collect(results, d: int, k: int):
  """(R [D, K], mean train accuracy, mean test accuracy) from per-factor (j, importances, acc_train, acc_test)."""
  importance = np.zeros((d, k))
  acc_train, acc_test = np.zeros(k), np.zeros(k)
  for j, fi, a_train, a_test in results:
    importance[:, j], acc_train[j], acc_test[j] = fi, a_train, a_test
  return importance, float(np.mean(acc_train)), float(np.mean(acc_test))


def _hist_gain_importance(model: HistGradientBoostingClassifier, d: int) -> np.ndarray:
  """Split-gain importances `[D]` of a fitted histogram GBT: per feature, the sum of the gains of the splits on
  it over all trees (the histogram analogue of impurity importances), normalised to sum 1. Read from sklearn's
  node tables (`_predictors[i][k].nodes`: 'feature_idx', 'gain', 'is_leaf'), which have no public accessor."""
  total = np.zeros(d)
  for stage in model._predictors:  # pylint: disable=protected-access
    for predictor in stage:
      nodes = predictor.nodes[~predictor.nodes["is_leaf"].astype(bool)]
      total += np.bincount(nodes["feature_idx"], np.maximum(nodes["gain"], 0.0), minlength=d)
  return total / total.sum() if total.sum() > 0 else total


def importance_hist_gbt(x_train, y_train, x_test, y_test, rng: np.random.Generator,
                        gbt_kwargs: Optional[dict] = None, n_jobs: Optional[int] = None):
  """Alternative (`importance='hist_gbt'`), **not** dlib's estimator: HistGradientBoostingClassifier.

  sklearn's histogram GBT (features binned into 255 quantile bins; early stopping off so every factor gets the
  full `max_iter` = 100 rounds; `gbt_kwargs` override) per factor; R[:, j] = its split-gain importances (see
  `_hist_gain_importance`; permutation importance, the public alternative, costs ~50 extra predictions per factor
  and made this estimator slower still). Offered as the histogram-GBT option; on a 2-core CPU at 5,000 points it
  is ~3x slower than 'gbt' with the presorted fit (README, Benchmarks). Informativeness is train / test
  accuracy as for 'gbt'. D and C are on a different scale than 'gbt': compare runs only within one estimator.
  Factors run on `n_jobs` threads.
  """
  k = y_train.shape[1]
  seeds = [utils.sklearn_seed(rng) for _ in range(k)]
  kwargs = {"early_stopping": False, **(gbt_kwargs or {})}

  def fit(j):
    model = HistGradientBoostingClassifier(random_state=seeds[j], **kwargs).fit(x_train, y_train[:, j])
    return (j, _hist_gain_importance(model, x_train.shape[1]), np.mean(model.predict(x_train) == y_train[:, j]),
            np.mean(model.predict(x_test) == y_test[:, j]))

  # factors in parallel on n_jobs threads, each fit single-threaded: sklearn's OpenMP threads per fit are slower
  # at these sizes (10x on a busy 2-core machine) and would oversubscribe the cores
  with threadpoolctl.threadpool_limits(1, user_api="openmp"):
    return _collect(utils.parallel_map(fit, _largest_first(y_train), n_jobs), x_train.shape[1], k)


def _minmax(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Scales columns to [0, 1] with the train min/max (a constant column maps to 0, like sklearn minmax_scale)."""
  lo, hi = x_train.min(0), x_train.max(0)
  span = np.where(hi > lo, hi - lo, 1.0)
  return (x_train - lo) / span, (x_test - lo) / span


def _informativeness(pred: np.ndarray, target: np.ndarray) -> float:
  """max(1 - 12 MSE, 0): 1/12 is the variance of a uniform factor on [0, 1] (ubisoft/SynTone DCI)."""
  return max(1.0 - 12.0 * float(np.mean((pred - target) ** 2)), 0.0)


def importance_regression(x_train, y_train, x_test, y_test, rng: np.random.Generator, model: str,
                          cv_folds: int = 10, lasso_alphas: Sequence[float] = LASSO_ALPHAS,
                          rf_max_depth: Sequence[int] = RF_MAX_DEPTH,
                          rf_max_features: Sequence[float] = RF_MAX_FEATURES):
  """Importances from per-factor regressors on [0, 1]-scaled codes and factors (SynTone / ubisoft DCI).

  'lasso': Lasso(alpha, max_iter=5000) with alpha chosen by `cv_folds`-fold CV MSE over `lasso_alphas`, refit
  Lasso(best alpha); R = |coef|. 'random_forest': RandomForestRegressor(10 trees) with (max_depth, max_features)
  chosen by CV over the grid; R = feature_importances_. Informativeness = max(1 - 12 MSE, 0) on train and test.
  Returns (R [D, K], informativeness_train, informativeness_test).
  """
  x_train, x_test = _minmax(x_train, x_test)
  y_train, y_test = _minmax(y_train, y_test)
  d, k = x_train.shape[1], y_train.shape[1]
  importance = np.zeros((d, k))
  inf_train, inf_test = [], []
  folds = KFold(n_splits=cv_folds)  # unshuffled, as cross_val_score(cv=int) does for regressors
  for j in range(k):
    y = y_train[:, j]
    if model == "lasso":
      candidates = [dict(alpha=a) for a in lasso_alphas]
      make = lambda p, final: Lasso(alpha=p["alpha"], **({} if final else {"max_iter": 5000}))
    elif model == "random_forest":
      seed = utils.sklearn_seed(rng)
      candidates = [dict(max_depth=md, max_features=mf) for md in rf_max_depth for mf in rf_max_features]
      make = lambda p, final, seed=seed: RandomForestRegressor(n_estimators=10, random_state=seed, **p)
    else:
      raise ValueError(f"importance_regression model must be 'lasso' or 'random_forest', got {model!r}")
    best, best_mse = candidates[0], np.inf
    for params in candidates:
      mse = -np.mean(cross_val_score(make(params, False), x_train, y, cv=folds, scoring="neg_mean_squared_error"))
      if mse < best_mse:
        best, best_mse = params, mse
    reg = make(best, True).fit(x_train, y)
    importance[:, j] = np.abs(np.ravel(reg.coef_)) if model == "lasso" else reg.feature_importances_
    inf_train.append(_informativeness(reg.predict(x_train), y))
    inf_test.append(_informativeness(reg.predict(x_test), y_test[:, j]))
  return importance, float(np.mean(inf_train)), float(np.mean(inf_test))


def dci(codes, factors, *, importance: str = "gbt", discrete_factors: bool = True,
        num_train: Optional[int] = 10000, num_test: Optional[int] = 5000, seed: utils.SeedLike = 0,
        num_bins: int = 20, gbt_kwargs: Optional[dict] = None, cv_folds: int = 10,
        lasso_alphas: Sequence[float] = LASSO_ALPHAS, rf_max_depth: Sequence[int] = RF_MAX_DEPTH,
        rf_max_features: Sequence[float] = RF_MAX_FEATURES, split: utils.SplitLike = None,
        n_jobs: Optional[int] = None, gbt_impl: str = "presorted") -> dict:
  """DCI from an importance matrix R `[D, K]` fitted on a seeded train split.

  D = sum_i rho_i (1 - H_K(P_i.)), C = sum_j rho_j (1 - H_D(P_.j)) (see `disentanglement`, `completeness`).

  importance='gbt' (dlib default): GradientBoostingClassifier() per factor (sklearn defaults; `gbt_kwargs` may
  override, e.g. n_estimators for speed), fitted once per factor, factors in parallel on `n_jobs` threads (None:
  all cores), by `gbt_impl` 'presorted' (default, same model, ~10x faster) or 'sklearn' (see `importance_gbt`);
  informativeness = classification **accuracy** (dlib names it so), train and test. Continuous factors
  (`discrete_factors=False`) are histogram-discretised to `num_bins` classes.
  importance='hist_gbt': a different estimator (histogram GBT, split-gain importances, see
  `importance_hist_gbt`); its D/C are not comparable with 'gbt'.
  importance='lasso' | 'random_forest': SynTone/ubisoft regressors (see `importance_regression`);
  informativeness = max(1 - 12 MSE, 0), computed on train and on the held-out test split (the original used the
  train set only). Factors are regressed on as numbers, so discrete labels are treated as ordinal.

  `split=(train_indices, test_indices)` uses exactly those rows instead of a seeded random split (e.g. to score
  dlib's separately drawn train and test sets: concatenate them and pass the two index ranges).

  Returns:
    {'disentanglement', 'completeness', 'informativeness_train', 'informativeness_test': floats,
     'importance_matrix': [D, K], 'disentanglement_per_code': [D], 'completeness_per_factor': [K]}.
  """
  codes, factors = utils.check_inputs(codes, factors)
  rng = utils.as_rng(seed)
  tr, te = utils.resolve_split(codes.shape[0], num_train, num_test, rng, split)
  if importance in ("gbt", "hist_gbt"):
    ys = utils.prepare_factors(factors, discrete_factors, num_bins)
    if importance == "gbt":
      r, i_train, i_test = importance_gbt(codes[tr], ys[tr], codes[te], ys[te], rng, gbt_kwargs, n_jobs, gbt_impl)
    else:
      r, i_train, i_test = importance_hist_gbt(codes[tr], ys[tr], codes[te], ys[te], rng, gbt_kwargs, n_jobs)
  elif importance in ("lasso", "random_forest"):
    r, i_train, i_test = importance_regression(codes[tr], factors[tr], codes[te], factors[te], rng, importance,
                                               cv_folds, lasso_alphas, rf_max_depth, rf_max_features)
  else:
    raise ValueError(f"importance must be 'gbt', 'hist_gbt', 'lasso' or 'random_forest', got {importance!r}")
  return {"disentanglement": disentanglement(r), "completeness": completeness(r),
          "informativeness_train": i_train, "informativeness_test": i_test, "importance_matrix": r,
          "disentanglement_per_code": disentanglement_per_code(r), "completeness_per_factor": completeness_per_factor(r)}
