"""BetaVAE disentanglement score.

Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework", ICLR 2017;
estimator as in disentanglement_lib `evaluation/metrics/beta_vae.py` (`compute_beta_vae_sklearn`).
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from decompjax.metrics import utils
from decompjax.metrics.sampling import FactorSampler


def _points(sampler: FactorSampler, rng, num_points: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Features mean_b |z(x1_b) - z(x2_b)| for pairs sharing factor k (label k). Returns ([P, D], [P])."""
  k = rng.integers(0, sampler.num_factors, size=num_points)
  f1 = sampler.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, -1)
  f2 = sampler.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, -1)
  rows = np.arange(num_points)
  f2[rows, :, k] = f1[rows, :, k]  # each pair agrees on factor k only (by construction)
  both = np.concatenate([f1, f2], axis=1).reshape(2 * num_points * batch_size, -1)
  z = sampler.codes_for(both, rng).reshape(num_points, 2 * batch_size, -1)
  return np.mean(np.abs(z[:, :batch_size] - z[:, batch_size:]), axis=1), k


def beta_vae_score(sampler: FactorSampler, *, seed: utils.SeedLike = 0, batch_size: int = 64,
                   num_train: int = 10000, num_eval: int = 5000) -> dict:
  """Accuracy of LogisticRegression (sklearn defaults, seeded) predicting the shared factor from |z1 - z2| means.

  Per point: factor k uniform; two batches of `batch_size` factor rows that agree pairwise on factor k; feature =
  mean over the batch of |z1 - z2|. Fitted on `num_train` points, evaluated on `num_eval` fresh points.

  Returns {'train_accuracy', 'eval_accuracy'} (floats).
  """
  rng = utils.as_rng(seed)
  x_train, y_train = _points(sampler, rng, num_train, batch_size)
  model = LogisticRegression(random_state=utils.sklearn_seed(rng)).fit(x_train, y_train)
  train_acc = float(np.mean(model.predict(x_train) == y_train))
  x_eval, y_eval = _points(sampler, rng, num_eval, batch_size)
  return {"train_accuracy": train_acc, "eval_accuracy": float(model.score(x_eval, y_eval))}
