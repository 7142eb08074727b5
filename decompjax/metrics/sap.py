"""Separated Attribute Predictability (SAP).

Kumar, Sattigeri, Balakrishnan, "Variational Inference of Disentangled Latent Concepts from Unlabeled
Observations", ICLR 2018, Sec. 3; estimator as in disentanglement_lib `evaluation/metrics/sap_score.py`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from sklearn import svm

from decompjax.metrics import utils


def sap_score_matrix_continuous(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
  """S_ij = cov(z_i, y_j)^2 / (var z_i var y_j) (ddof=1), 0 where var z_i <= 1e-12. All pairs at once -> `[D, K]`."""
  n = codes.shape[0]
  zc = codes - codes.mean(0)
  yc = factors - factors.mean(0)
  cov = zc.T @ yc / (n - 1)
  var_z = np.sum(zc * zc, 0) / (n - 1)
  var_y = np.sum(yc * yc, 0) / (n - 1)
  with np.errstate(divide="ignore", invalid="ignore"):
    s = cov**2 / (var_z[:, None] * var_y[None, :])
  return np.where(var_z[:, None] > 1e-12, s, 0.0)


def sap_score_matrix_discrete(z_train, y_train, z_test, y_test, rng: np.random.Generator,
                              n_jobs: Optional[int] = None) -> np.ndarray:
  """S_ij = test accuracy of LinearSVC(C=0.01, class_weight='balanced') predicting y_j from the single code z_i.

  One fitted classifier per pair, as in dlib; the D x K fits run on `n_jobs` threads (None: all cores; liblinear
  releases the GIL). Seeds are drawn up front in pair order, so the result does not depend on n_jobs.
  """
  d, k = z_train.shape[1], y_train.shape[1]
  pairs = [(i, j) for i in range(d) for j in range(k)]
  seeds = [utils.sklearn_seed(rng) for _ in pairs]

  def fit(q):
    i, j = pairs[q]
    clf = svm.LinearSVC(C=0.01, class_weight="balanced", random_state=seeds[q])
    clf.fit(z_train[:, i:i + 1], y_train[:, j])
    return np.mean(clf.predict(z_test[:, i:i + 1]) == y_test[:, j])

  return np.array(utils.parallel_map(fit, range(len(pairs)), n_jobs)).reshape(d, k)


def sap(codes, factors, *, discrete_factors: bool = True, num_train: Optional[int] = 10000,
        num_test: Optional[int] = 5000, seed: utils.SeedLike = 0, split: utils.SplitLike = None,
        n_jobs: Optional[int] = None) -> dict:
  """SAP = mean_k (S_(1)k - S_(2)k), the gap between the two most predictive codes per factor.

  Discrete factors (dlib study setting `continuous_factors=False`): S_ik is the test accuracy of a linear SVM
  (LinearSVC(C=0.01, class_weight='balanced')) fitted on code i alone, on a seeded random train/test split of
  `num_train` / `num_test` samples (shrunk proportionally if N is smaller). Continuous factors: S_ik is the squared
  correlation cov^2/(var_z var_y) on all N samples (no fit, no seed used). `split=(train_idx, test_idx)` replaces
  the random split; `n_jobs` threads fit the SVMs (see `sap_score_matrix_discrete`).

  Returns:
    {'sap': float, 'sap_score_matrix': [D, K]}.
  """
  codes, factors = utils.check_inputs(codes, factors)
  if codes.shape[1] < 2:
    raise ValueError(f"SAP needs at least 2 code dimensions, got {codes.shape[1]}")
  if discrete_factors:
    rng = utils.as_rng(seed)
    tr, te = utils.resolve_split(codes.shape[0], num_train, num_test, rng, split)
    s = sap_score_matrix_discrete(codes[tr], factors[tr], codes[te], factors[te], rng, n_jobs)
  else:
    s = sap_score_matrix_continuous(codes, factors)
  return {"sap": float(np.mean(utils.top_two_gap(s, axis=0))), "sap_score_matrix": s}
