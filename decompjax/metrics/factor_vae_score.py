"""FactorVAE disentanglement score.

Kim & Mnih, "Disentangling by Factorising", ICML 2018; estimator as in disentanglement_lib
`evaluation/metrics/factor_vae.py` (study settings: batch 64, 10000 train / 5000 eval votes, 10000 points for the
global variances, prune threshold 0.05).
"""
from __future__ import annotations

import numpy as np

from decompjax.metrics import utils
from decompjax.metrics.sampling import FactorSampler


def _votes(sampler: FactorSampler, rng, num_points: int, batch_size: int, global_var: np.ndarray,
           active: np.ndarray, dlib_compat: bool) -> np.ndarray:
  """[K, D] vote counts: per point, factor k fixed across a batch -> dim with least normalised local variance."""
  k = rng.integers(0, sampler.num_factors, size=num_points)
  f = sampler.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, -1)
  rows = np.arange(num_points)
  f[rows, :, k] = f[rows, 0, k][:, None]  # copy the first sample's value of factor k to the whole batch
  z = sampler.codes_for(f.reshape(num_points * batch_size, -1), rng).reshape(num_points, batch_size, -1)
  local_var = np.var(z, axis=1, ddof=1)
  active_idx = np.nonzero(active)[0]
  pick = np.argmin(local_var[:, active_idx] / global_var[active_idx], axis=1)
  # dlib writes the position inside the active subset into full-width vote columns; we map it back to the dim.
  dims = pick if dlib_compat else active_idx[pick]
  votes = np.zeros((sampler.num_factors, global_var.shape[0]), dtype=np.int64)
  np.add.at(votes, (k, dims), 1)
  return votes


def factor_vae_score(sampler: FactorSampler, *, seed: utils.SeedLike = 0, batch_size: int = 64,
                     num_train: int = 10000, num_eval: int = 5000, num_variance_estimate: int = 10000,
                     prune_threshold: float = 0.05, dlib_compat: bool = False) -> dict:
  """Majority-vote accuracy of predicting the fixed factor from argmin_d Var_batch(z_d) / Var_global(z_d).

  Global variances (ddof=1) from `num_variance_estimate` random samples; dims with sqrt(var) < `prune_threshold`
  are ignored. Each vote: factor k uniform, `batch_size` factor rows sharing the first row's value of k, local
  variances (ddof=1) -> argmin over active dims. Classifier = argmax_k votes per dim; accuracy = correctly voted /
  all votes, on the train votes and on fresh eval votes.

  `num_active_dims` counts the active dims; `dlib_compat=True` reproduces dlib, which reports the length of the
  boolean mask (always the total dim count) and stores subset positions as vote columns (accuracy unchanged).

  Returns {'train_accuracy', 'eval_accuracy', 'num_active_dims'} (floats).
  """
  rng = utils.as_rng(seed)
  if batch_size < 2:
    raise ValueError(f"batch_size must be >= 2 for a variance, got {batch_size}")
  z = sampler.codes_for(sampler.sample_factors(num_variance_estimate, rng), rng)
  global_var = np.var(z, axis=0, ddof=1)
  active = np.sqrt(global_var) >= prune_threshold
  n_active = float(active.size if dlib_compat else active.sum())
  if not active.any():
    return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
  train_votes = _votes(sampler, rng, num_train, batch_size, global_var, active, dlib_compat)
  classifier = np.argmax(train_votes, axis=0)
  cols = np.arange(train_votes.shape[1])
  train_acc = train_votes[classifier, cols].sum() / train_votes.sum()
  eval_votes = _votes(sampler, rng, num_eval, batch_size, global_var, active, dlib_compat)
  eval_acc = eval_votes[classifier, cols].sum() / eval_votes.sum()
  return {"train_accuracy": float(train_acc), "eval_accuracy": float(eval_acc), "num_active_dims": n_active}
