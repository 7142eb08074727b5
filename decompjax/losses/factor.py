"""FactorVAE (Kim & Mnih 2018) loss pieces: per-dimension permutation, the density-ratio TC estimate and the
discriminator's cross-entropy.

The discriminator outputs two logits, [real (q(z)), permuted (prod_d q(z_d))]. With softmax probabilities,
log(p_real / p_perm) = logit_real - logit_perm, so TC ~= mean(logits[:, 0] - logits[:, 1]) (disentangling-vae,
disentanglement_lib). Batch statistics: `permute_dims` permutes the rows it is given; under `jax.jit` on a
('data',) mesh that is the *global* (half-)batch, so a permuted code mixes clips held by different devices and
the result equals a single-device run (tests/test_tc_factor_losses.py).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def permute_dims(rng: jax.Array, z: jax.Array) -> jax.Array:
  """Shuffles every latent dimension independently across the batch: [B, D] -> [B, D].

  Each column is a permutation of the same column of `z`, so per-dimension marginals are kept while the
  dependence between dimensions is destroyed (samples of prod_d q(z_d)).
  """
  b, d = z.shape
  perms = jax.vmap(lambda k: jax.random.permutation(k, b))(jax.random.split(rng, d))  # [D, B]
  return jnp.take_along_axis(z, perms.T, axis=0)


def tc_estimate(logits_real: jax.Array) -> jax.Array:
  """Density-ratio TC estimate from the discriminator's logits on codes of q(z): mean(logit_0 - logit_1)."""
  return jnp.mean(logits_real[:, 0] - logits_real[:, 1])


def discriminator_loss(logits_real: jax.Array, logits_perm: jax.Array) -> jax.Array:
  """0.5 * [CE(D(z), class 0) + CE(D(z_perm), class 1)], each a batch mean (the original `d_tc_loss`)."""
  real = optax.softmax_cross_entropy_with_integer_labels(logits_real, jnp.zeros(logits_real.shape[0], jnp.int32))
  perm = optax.softmax_cross_entropy_with_integer_labels(logits_perm, jnp.ones(logits_perm.shape[0], jnp.int32))
  return 0.5 * (jnp.mean(real) + jnp.mean(perm))


def discriminator_accuracy(logits_real: jax.Array, logits_perm: jax.Array) -> jax.Array:
  """Fraction of real and permuted codes the discriminator labels correctly (0.5 = chance)."""
  return 0.5 * (jnp.mean(jnp.argmax(logits_real, -1) == 0) + jnp.mean(jnp.argmax(logits_perm, -1) == 1))
