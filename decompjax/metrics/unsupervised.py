"""Unsupervised scores from the code covariance and from pairwise discrete MI between code dimensions.

disentanglement_lib `evaluation/metrics/unsupervised_metrics.py`; the normalised Gaussian total correlation is
DecVAE's (`disentanglement_utils/unsupervised_metrics.py`, "gaussian_total_correlation_norm", GCN in its figures).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from decompjax.metrics import utils


def gaussian_total_correlation(cov: np.ndarray) -> float:
  """TC of N(0, cov) = KL(N(0, cov) || N(0, diag cov)) = 1/2 (sum_i log cov_ii - log det cov) (nats)."""
  return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_total_correlation_normalized(cov: np.ndarray) -> float:
  """DecVAE's dimension-normalised TC: TC / (D |log(mean_i cov_ii + 1e-8)|).

  Undefined (inf) when the mean variance is exactly 1; meant for comparing representations of different D.
  """
  denom = cov.shape[0] * np.abs(np.log(np.mean(np.diag(cov)) + 1e-8))
  tc = gaussian_total_correlation(cov)
  return float(tc / denom) if denom > 0 else float("inf")


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
  """dlib: 2 tr(cov) - 2 tr(sqrtm(cov * diag(cov)[:, None])) (elementwise product, as written in dlib)."""
  sqrtm = scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))
  return float(np.real(2 * np.trace(cov) - 2 * np.trace(sqrtm)))


def mean_pairwise_mutual_info(codes, *, num_bins: int = 20) -> dict:
  """Mean off-diagonal discrete MI between code dimensions: sum_{i != j} I(z_i; z_j) / (D^2 - D) (nats).

  Codes discretised with the `num_bins` histogram discretiser (dlib uses 20, DecVAE 30). Lower means more
  independent dimensions. Returns {'mutual_info_score': float, 'mutual_info_matrix': [D, D] (zero diagonal)}.
  """
  codes = utils.check_codes(codes)
  utils.check_num_bins(codes.shape[0], num_bins)
  d = codes.shape[1]
  if d < 2:
    raise ValueError(f"pairwise MI needs at least 2 code dimensions, got {d}")
  disc = utils.histogram_discretize(codes, num_bins)
  mi = utils.discrete_mutual_info(disc, disc)
  np.fill_diagonal(mi, 0.0)
  return {"mutual_info_score": float(mi.sum() / (d * d - d)), "mutual_info_matrix": mi}


def unsupervised_metrics(codes, *, num_bins: int = 20) -> dict:
  """Gaussian TC (raw and DecVAE-normalised), Gaussian Wasserstein correlation (raw and / tr cov), mean pairwise MI.

  cov = np.cov(codes.T) (ddof=1) over the non-constant code dims: a zero-variance dim makes log det undefined
  (dlib returns NaN), so such dims are dropped and counted in 'num_active_dims'. Deterministic (no seed).
  """
  codes = utils.check_codes(codes)
  active = codes.var(axis=0) > 0
  out = {"num_active_dims": float(active.sum())}
  if active.sum() >= 1:
    cov = np.atleast_2d(np.cov(codes[:, active].T))
    out["gaussian_total_correlation"] = gaussian_total_correlation(cov)
    out["gaussian_total_correlation_norm"] = gaussian_total_correlation_normalized(cov)
    wc = gaussian_wasserstein_correlation(cov)
    out["gaussian_wasserstein_correlation"] = wc
    out["gaussian_wasserstein_correlation_norm"] = float(wc / np.trace(cov))
  else:
    for key in ("gaussian_total_correlation", "gaussian_total_correlation_norm", "gaussian_wasserstein_correlation",
                "gaussian_wasserstein_correlation_norm"):
      out[key] = 0.0
  out.update(mean_pairwise_mutual_info(codes, num_bins=num_bins))
  return out
