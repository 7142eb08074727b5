"""beta-TCVAE (Chen et al. 2018): the ELBO's KL split into index-code MI, total correlation and dimension-wise KL,
estimated on the minibatch.

With z_i ~ q(z|x_i) one sample per clip, the aggregate posterior q(z) = 1/N sum_n q(z|x_n) is estimated from the
[B, B, D] matrix log q(z_i,d | x_j) (`matrix_log_density_gaussian`) in one of two ways:

  'mss' minibatch-stratified sampling exactly as the SynTone original (= disentangling-vae) computes it:
        log q(z_i) = logsumexp_j sum_d (M[i,j,d] + log W[i,j]) and log q(z_i,d) = logsumexp_j (M[i,j,d] + log W[i,j])
        with `log_importance_weight_matrix`'s original layout (stride quirk included). Two departures from the
        paper: the joint gets D * log W instead of log W, and W's stratum weights sit in columns 0/1;
  'mss_paper' the paper's estimator: W[i, i] = 1/N, W[i, i+1] = (N-M)/(NM), each joint weighted once;
  'mws' minibatch-weighted sampling: log q(z_i) = logsumexp_j sum_d M[i,j,d] - log(B*N), and likewise per dimension.
        The -log(B*N) constants are kept (Chen et al.'s code); disentanglement_lib's `total_correlation` and
        disentangling-vae drop them, which shifts TC by (D-1)*log(B*N) and changes no gradient.

N is the training-set size (the family derives it from the grid's train split; the beta-TCVAE objective that
weighs these terms is in decompjax/families/syntone_vae/loss.py). Every term is a mean over the
batch. Under `jax.jit` on a ('data',) mesh the batch axis is global, so the [B, B, D] matrix couples clips held by
different devices: the estimator uses the *global* batch, identical to a single-device run (tests/test_tc_factor_losses).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

ESTIMATORS = ("mss", "mss_paper", "mws")
_LOG_2PI = math.log(2.0 * math.pi)


def log_density_gaussian(x: jax.Array, mu: jax.Array, logvar: jax.Array) -> jax.Array:
  """Elementwise log N(x; mu, exp(logvar)) (broadcasting)."""
  return -0.5 * (_LOG_2PI + logvar + jnp.square(x - mu) * jnp.exp(-logvar))


def matrix_log_density_gaussian(z: jax.Array, mu: jax.Array, logvar: jax.Array) -> jax.Array:
  """[B, D] samples and posteriors -> [B, B, D] with M[i, j, d] = log q(z_i,d | x_j)."""
  return log_density_gaussian(z[:, None, :], mu[None, :, :], logvar[None, :, :])


def log_importance_weight_matrix(batch_size: int, dataset_size: int, layout: str = "original") -> jax.Array:
  """log W [B, B] for minibatch-stratified sampling; row i weighs the posteriors q(z_i | x_j) of the batch.

  With M = B - 1 and N the dataset size, Chen et al. (Appendix C) give the clip's own posterior weight 1/N, one other
  clip (N - M)/(N M) and the remaining M - 1 clips 1/M each (a row sums to 1).

  layout='original': the code every implementation shares (rtqichen/beta-tcvae, disentangling-vae, SynTone): fill
    the flattened matrix with 1/N at stride M + 1 = B and (N - M)/(N M) at stride B from 1, then W[M-1, 0] likewise.
    Stride B walks down a *column*, so column 0 gets 1/N and column 1 the stratum weight for every row (the
    diagonal is 1/M); rtqichen/beta-tcvae PR #1 reports it. Kept as the default because the SynTone numbers use it.
  layout='paper': the weights as the paper writes them: W[i, i] = 1/N, W[i, (i+1) mod B] = (N - M)/(N M).
  Needs B >= 2 and N > B - 1.
  """
  if batch_size < 2:
    raise ValueError(f"minibatch-stratified sampling needs a batch of at least 2, got {batch_size}")
  if dataset_size <= batch_size - 1:
    raise ValueError(f"dataset_size={dataset_size} must exceed batch_size - 1 = {batch_size - 1} for "
                     "minibatch-stratified sampling")
  n, m = float(dataset_size), float(batch_size - 1)
  strat = (n - m) / (n * m)
  if layout == "original":
    flat = jnp.full((batch_size * batch_size,), 1.0 / m)
    flat = flat.at[::batch_size].set(1.0 / n).at[1::batch_size].set(strat)
    w = flat.reshape(batch_size, batch_size).at[batch_size - 2, 0].set(strat)
  elif layout == "paper":
    eye = jnp.eye(batch_size)
    nxt = jnp.roll(eye, 1, axis=1)
    w = eye / n + nxt * strat + (1.0 - eye - nxt) / m
  else:
    raise ValueError(f"unknown importance-weight layout {layout!r}; expected 'original' or 'paper'")
  return jnp.log(w)


def log_densities(z, mu, logvar, dataset_size: int, estimator: str = "mss"):
  """-> (log p(z), log q(z), log prod_d q(z_d), log q(z|x)), each [B]."""
  if estimator not in ESTIMATORS:
    raise ValueError(f"unknown TC estimator {estimator!r}; expected one of {ESTIMATORS}")
  if dataset_size < 1:
    raise ValueError(f"dataset_size must be positive, got {dataset_size}")
  b = z.shape[0]
  log_qz_x = jnp.sum(log_density_gaussian(z, mu, logvar), axis=1)
  log_pz = jnp.sum(log_density_gaussian(z, 0.0, 0.0), axis=1)
  mat = matrix_log_density_gaussian(z, mu, logvar)
  if estimator == "mws":
    const = math.log(b * dataset_size)
    log_qz = jax.nn.logsumexp(jnp.sum(mat, axis=2), axis=1) - const
    log_prod_qzi = jnp.sum(jax.nn.logsumexp(mat, axis=1) - const, axis=1)
  else:
    log_w = log_importance_weight_matrix(b, dataset_size, "original" if estimator == "mss" else "paper")
    # The original adds log W to every dimension's density and then sums over dimensions, so the joint carries
    # D * log W; the paper weighs each mixture component once.
    joint_w = log_w * (z.shape[1] if estimator == "mss" else 1)
    log_qz = jax.nn.logsumexp(jnp.sum(mat, axis=2) + joint_w, axis=1)
    log_prod_qzi = jnp.sum(jax.nn.logsumexp(mat + log_w[:, :, None], axis=1), axis=1)
  return log_pz, log_qz, log_prod_qzi, log_qz_x


def tc_decomposition(z, mu, logvar, dataset_size: int, estimator: str = "mss") -> dict[str, jax.Array]:
  """Batch means of {'mi': log q(z|x) - log q(z), 'tc': log q(z) - log prod q(z_d), 'dwkl': log prod q(z_d) - log p(z)}.

  The three telescope: mi + tc + dwkl = mean(log q(z|x) - log p(z)), a one-sample estimate of the usual KL term.
  """
  log_pz, log_qz, log_prod_qzi, log_qz_x = log_densities(z, mu, logvar, dataset_size, estimator)
  return {"mi": jnp.mean(log_qz_x - log_qz), "tc": jnp.mean(log_qz - log_prod_qzi),
          "dwkl": jnp.mean(log_prod_qzi - log_pz)}
