"""JEMMIG: Joint-Entropy-Minus-Mutual-Information Gap.

Do & Tran, "Theory and Evaluation Metrics for Learning Disentangled Representations", ICLR 2020; normalised,
higher-is-better form as in ubisoft-laforge-disentanglement-metrics `src/metrics/jemmig.py` (used by SynTone).
"""
from __future__ import annotations

import numpy as np

from decompjax.metrics import utils


def jemmig(codes, factors, *, num_bins: int = 20, discrete_factors: bool = True) -> dict:
  """JEMMIG score = mean_k [1 - (H(z_i*, y_k) - I(z_i*; y_k) + I(z_j; y_k)) / (H(y_k) + log num_bins)].

  z_i* / z_j are the codes with the largest / second-largest MI with factor y_k; codes are histogram-discretised
  into `num_bins` bins (so H(z) <= log num_bins and the bracket lies in [0, 1]); continuous factors are discretised
  too. Higher is better. Deterministic (no seed); the value is independent of the log base.

  Returns {'jemmig': float, 'jemmig_per_factor': [K], 'jemmig_unnormalized': [K] (nats),
           'mutual_info_matrix': [D, K], 'joint_entropy_matrix': [D, K]}.
  """
  codes, factors = utils.check_inputs(codes, factors, num_bins=num_bins)
  if codes.shape[1] < 2:
    raise ValueError(f"JEMMIG needs at least 2 code dimensions, got {codes.shape[1]}")
  ys = utils.prepare_factors(factors, discrete_factors, num_bins)
  disc = utils.histogram_discretize(codes, num_bins)
  mi = utils.discrete_mutual_info(disc, ys)
  h_z = utils.discrete_entropy(disc)
  h_y = utils.discrete_entropy(ys)
  je = h_z[:, None] + h_y[None, :] - mi
  k_idx = np.arange(mi.shape[1])
  best = np.argmax(mi, axis=0)
  raw = je[best, k_idx] - mi[best, k_idx] + np.sort(mi, axis=0)[-2]
  per_factor = 1.0 - raw / (h_y + np.log(num_bins))
  return {"jemmig": float(np.mean(per_factor)), "jemmig_per_factor": per_factor, "jemmig_unnormalized": raw,
          "mutual_info_matrix": mi, "joint_entropy_matrix": je}
