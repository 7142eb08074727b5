"""Modularity and explicitness.

Ridgeway & Mozer, "Learning Deep Disentangled Embeddings With the F-Statistic Loss", NeurIPS 2018; estimators as
in disentanglement_lib `evaluation/metrics/modularity_explicitness.py`. Options from DecVAE
(`disentanglement_eval`): adjusted MI for modularity and the rescaled (AUC - 0.5) / 0.5 explicitness.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_mutual_info_score, roc_auc_score

from decompjax.metrics import utils


def modularity_from_mi(mi: np.ndarray) -> tuple[float, np.ndarray]:
  """dlib `modularity`: per code i, 1 - (sum_k m_ik^2 - max_k m_ik^2) / (max_k m_ik^2 (K - 1)); 0 if max is 0.

  `mi` is `[D, K]`. Returns (mean over codes, per-code scores). A single factor gives 1 for every informative code.
  """
  mi = np.asarray(mi, dtype=np.float64)
  sq = np.square(mi)
  mx = sq.max(axis=1)
  if sq.shape[1] == 1:
    per_code = (mx > 0).astype(np.float64)
  else:
    num = sq.sum(axis=1) - mx
    safe = np.where(mx > 0, mx * (sq.shape[1] - 1.0), 1.0)
    per_code = np.where(mx > 0, 1.0 - num / safe, 0.0)
  return float(np.mean(per_code)), per_code


def modularity(codes, factors, *, num_bins: int = 20, discrete_factors: bool = True, adjusted: bool = False) -> dict:
  """Modularity of codes `[N, D]` w.r.t. factors `[N, K]` from the MI matrix of `num_bins`-discretised codes.

  `adjusted=True` uses sklearn adjusted_mutual_info_score per pair (DecVAE's variant, with num_bins=30 there);
  that path loops over pairs and is slower. Deterministic (no seed).

  Returns {'modularity': float, 'modularity_per_code': [D], 'mutual_info_matrix': [D, K]}.
  """
  codes, factors = utils.check_inputs(codes, factors, num_bins=num_bins)
  ys = utils.prepare_factors(factors, discrete_factors, num_bins)
  disc = utils.histogram_discretize(codes, num_bins)
  if adjusted:
    mi = np.array([[adjusted_mutual_info_score(ys[:, k], disc[:, i]) for k in range(ys.shape[1])]
                   for i in range(disc.shape[1])])
  else:
    mi = utils.discrete_mutual_info(disc, ys)
  score, per_code = modularity_from_mi(mi)
  return {"modularity": score, "modularity_per_code": per_code, "mutual_info_matrix": mi}


def _macro_auc(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
  """Macro one-vs-rest ROC-AUC over the classifier's classes that have both positives and negatives in y_true.

  dlib one-hot encodes y with a MultiLabelBinarizer fitted on the evaluated labels, which crashes when a class is
  missing from that split; skipping such columns gives the same value whenever dlib's works.
  """
  onehot = (y_true[:, None] == classes[None, :]).astype(int)
  keep = (onehot.sum(0) > 0) & (onehot.sum(0) < onehot.shape[0])
  if not keep.any():
    return float("nan")
  return float(roc_auc_score(onehot[:, keep], proba[:, keep], average="macro"))


def explicitness(codes, factors, *, discrete_factors: bool = True, num_train: Optional[int] = 10000,
                 num_test: Optional[int] = 5000, seed: utils.SeedLike = 0, num_bins: int = 20,
                 rescale: bool = False, split: utils.SplitLike = None, n_jobs: Optional[int] = None) -> dict:
  """Explicitness: mean over factors of the macro ROC-AUC of LogisticRegression() predicting the factor.

  Codes are z-scored with train statistics; one LogisticRegression (sklearn defaults, seeded) per factor on a
  seeded train split; AUC one-vs-rest on predict_proba. Continuous factors are histogram-discretised.
  `rescale=True` reports (AUC - 0.5) / 0.5 (DecVAE). `split=(train_idx, test_idx)` replaces the random split;
  the per-factor fits run on `n_jobs` threads (None: all cores).

  Returns {'explicitness_train', 'explicitness_test': floats, 'explicitness_per_factor_test': [K]}.
  """
  codes, factors = utils.check_inputs(codes, factors)
  ys = utils.prepare_factors(factors, discrete_factors, num_bins)
  rng = utils.as_rng(seed)
  tr, te = utils.resolve_split(codes.shape[0], num_train, num_test, rng, split)
  x_train, mean, std = utils.normalize_data(codes[tr])
  x_test, _, _ = utils.normalize_data(codes[te], mean, std)
  seeds = [utils.sklearn_seed(rng) for _ in range(ys.shape[1])]  # up front: the same for any n_jobs

  def fit(k):
    clf = LogisticRegression(random_state=seeds[k]).fit(x_train, ys[tr, k])
    return (_macro_auc(ys[tr, k], clf.predict_proba(x_train), clf.classes_),
            _macro_auc(ys[te, k], clf.predict_proba(x_test), clf.classes_))

  per_train, per_test = np.array(utils.parallel_map(fit, range(ys.shape[1]), n_jobs)).T
  if rescale:
    per_train, per_test = (per_train - 0.5) / 0.5, (per_test - 0.5) / 0.5
  return {"explicitness_train": float(np.nanmean(per_train)), "explicitness_test": float(np.nanmean(per_test)),
          "explicitness_per_factor_test": per_test}
