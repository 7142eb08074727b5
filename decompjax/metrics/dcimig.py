"""DCIMIG.

Sepliarskaia, Kiseleva, de Rijke, "How to Not Measure Disentanglement" / "Evaluating Disentangled
Representations", arXiv:1910.05587; as in ubisoft-laforge-disentanglement-metrics `src/metrics/dcimig.py`.
"""
from __future__ import annotations

import numpy as np

from decompjax.metrics import utils


def dcimig(codes, factors, *, num_bins: int = 20, discrete_factors: bool = True) -> dict:
  """DCIMIG = sum_k max_{i: argmax_k' I(z_i; y_k') = k} G_i / sum_k H(y_k).

  For each code z_i the gap G_i = I(z_i; y_(1)) - I(z_i; y_(2)) between its two most informative factors is
  credited to its top factor; each factor keeps its best credited gap (0 if none). Codes histogram-discretised
  into `num_bins` bins, continuous factors too. Needs K >= 2. Deterministic (no seed).

  Returns {'dcimig': float, 'dcimig_per_factor': [K] (best gaps, nats), 'mutual_info_matrix': [D, K]}.
  """
  codes, factors = utils.check_inputs(codes, factors, num_bins=num_bins)
  if factors.shape[1] < 2:
    raise ValueError(f"DCIMIG needs at least 2 factors, got {factors.shape[1]}")
  ys = utils.prepare_factors(factors, discrete_factors, num_bins)
  mi = utils.discrete_mutual_info(utils.histogram_discretize(codes, num_bins), ys)
  gaps = utils.top_two_gap(mi, axis=1)
  credited = np.zeros_like(mi)
  credited[np.arange(mi.shape[0]), np.argmax(mi, axis=1)] = gaps
  per_factor = credited.max(axis=0)
  return {"dcimig": float(per_factor.sum() / utils.discrete_entropy(ys).sum()), "dcimig_per_factor": per_factor,
          "mutual_info_matrix": mi}
