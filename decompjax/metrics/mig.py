"""Mutual Information Gap (MIG).

Chen, Li, Grosse, Duvenaud, "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018; estimator as in
disentanglement_lib `evaluation/metrics/mig.py` (`_compute_mig`).
"""
from __future__ import annotations

import numpy as np

from decompjax.metrics import utils


def mig(codes, factors, *, num_bins: int = 20, discrete_factors: bool = True) -> dict:
  """MIG = mean_k (I(z_(1); y_k) - I(z_(2); y_k)) / H(y_k).

  z_(1), z_(2) are the codes with the largest and second-largest mutual information with factor y_k. Codes are
  discretised with the 20-bin equal-width histogram discretiser; discrete factors are used as raw labels
  (dlib), continuous ones (`discrete_factors=False`) are histogram-discretised with the same `num_bins`. MI and
  entropy in nats (the ratio is base-free). Deterministic (no seed).

  Args:
    codes: `[N, D]` representation (D >= 2).
    factors: `[N, K]` ground-truth factors.

  Returns:
    {'mig': float, 'mig_per_factor': [K], 'mutual_info_matrix': [D, K] (nats), 'factor_entropy': [K]}.
  """
  codes, factors = utils.check_inputs(codes, factors, num_bins=num_bins)
  if codes.shape[1] < 2:
    raise ValueError(f"MIG needs at least 2 code dimensions, got {codes.shape[1]}")
  ys = utils.prepare_factors(factors, discrete_factors, num_bins)
  mi = utils.discrete_mutual_info(utils.histogram_discretize(codes, num_bins), ys)
  h = utils.discrete_entropy(ys)
  per_factor = utils.top_two_gap(mi, axis=0) / h
  return {"mig": float(np.mean(per_factor)), "mig_per_factor": per_factor, "mutual_info_matrix": mi,
          "factor_entropy": h}
