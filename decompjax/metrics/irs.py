"""Interventional Robustness Score (IRS).

Suter, Miladinovic, Schoelkopf, Bauer, "Robustly Disentangled Causal Mechanisms: Validating Deep Representations
for Interventional Robustness", ICML 2019 (arXiv:1811.00007); estimator as in disentanglement_lib
`evaluation/metrics/irs.py` (`scalable_disentanglement_score`), including its default diff_quantile=0.99 (the paper
uses 1.0).
"""
from __future__ import annotations

import numpy as np

from decompjax.metrics import utils


def scalable_disentanglement_score(gen_factors: np.ndarray, latents: np.ndarray, diff_quantile: float = 0.99) -> dict:
  """IRS of latents `[N, L]` w.r.t. discrete factors `[N, K]` (dlib formula, vectorised over latents).

  For factor k and each of its values v: e = E[z | y_k = v], dev = quantile_q(|z - e|) over that group; the mean of
  dev over values, divided by max|z - mean z|, gives the normalised deviation; IRS matrix = 1 - that `[L, K]`.
  Per-latent score = max over factors; IRS = average of per-latent scores weighted by max|z - mean z|.
  """
  num_gen = gen_factors.shape[1]
  max_dev = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
  cum = np.zeros((latents.shape[1], num_gen))
  for k in range(num_gen):  # loops over factors and their values; every latent at once
    values = np.unique(gen_factors[:, k])
    for v in values:
      group = latents[gen_factors[:, k] == v]
      cum[:, k] += np.quantile(np.abs(group - group.mean(axis=0)), q=diff_quantile, axis=0)
    cum[:, k] /= values.size
  irs_matrix = 1.0 - cum / max_dev[:, None]
  scores = irs_matrix.max(axis=1)
  avg = np.average(scores, weights=max_dev) if np.sum(max_dev) > 0.0 else np.mean(scores)
  return {"avg_score": float(avg), "disentanglement_scores": scores, "parents": irs_matrix.argmax(axis=1),
          "IRS_matrix": irs_matrix, "max_deviations": max_dev}


def irs(codes, factors, *, diff_quantile: float = 0.99, num_bins: int = 20, dlib_compat: bool = False) -> dict:
  """IRS on codes `[N, D]` with factors `[N, K]`.

  As dlib: factors are always histogram-discretised (`num_bins`, even if already discrete) and code dims with zero
  variance are dropped before scoring; no active dim -> IRS 0. Deterministic (no seed).

  `num_active_dims` is the number of non-constant code dims. With `dlib_compat=True` it reproduces dlib's quirk
  `np.sum(active_mus)`: the sum of the *values* of the active codes (an arbitrary, usually non-integer number).

  Returns:
    {'irs': float, 'num_active_dims': float, 'irs_matrix': [A, K], 'irs_per_code': [A], 'active_dims': [A] indices}.
  """
  codes, factors = utils.check_inputs(codes, factors, num_bins=num_bins)
  ys = utils.histogram_discretize(factors, num_bins)
  active = np.nonzero(codes.var(axis=0) > 0.0)[0]
  active_codes = codes[:, active]
  n_active = float(np.sum(active_codes)) if dlib_compat else float(active.size)
  if active.size == 0:
    return {"irs": 0.0, "num_active_dims": n_active, "irs_matrix": np.zeros((0, factors.shape[1])),
            "irs_per_code": np.zeros(0), "active_dims": active}
  res = scalable_disentanglement_score(ys, active_codes, diff_quantile)
  return {"irs": res["avg_score"], "num_active_dims": n_active, "irs_matrix": res["IRS_matrix"],
          "irs_per_code": res["disentanglement_scores"], "active_dims": active}
