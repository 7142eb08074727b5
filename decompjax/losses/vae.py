"""VAE loss terms as pure functions of batched arrays.

Conventions: reconstruction error is summed over every non-batch axis; KL is summed over latents. The
reduction over the batch is where the SynTone original differs (`reconstruction_term`; the objectives that combine
these terms are in decompjax/families/syntone_vae/loss.py).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

REDUCTIONS = ("per_sample", "syntone")


def gaussian_kl(mu: jax.Array, logvar: jax.Array) -> jax.Array:
  """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latents: [B, D] -> [B]."""
  return -0.5 * jnp.sum(1.0 + logvar - mu**2 - jnp.exp(logvar), axis=-1)


def squared_error(x_hat: jax.Array, x: jax.Array) -> jax.Array:
  """Per-sample summed squared error: [B, ...] -> [B]."""
  return jnp.sum(jnp.square(x_hat - x).reshape(x.shape[0], -1), axis=-1)


def reconstruction_term(rec: jax.Array, reduction: str) -> jax.Array:
  """Per-sample errors [B] -> the loss's reconstruction term: batch mean ('per_sample') or batch sum ('syntone',
  the original's MSE reduction='sum', which makes every batch-mean regulariser weigh 1/B per clip)."""
  if reduction == "per_sample":
    return jnp.mean(rec)
  if reduction == "syntone":
    return jnp.sum(rec)
  raise ValueError(f"model.reduction={reduction!r} is not one of {REDUCTIONS}")
