"""The three SynTone VAE objectives, as pure functions of (config, params, inputs, rng) -> (loss, logged terms).

Shared terms (KL, squared error, reductions, the TC estimators, the FactorVAE discriminator pieces) live in
`decompjax.losses`; this module combines them with the weights of config.model. Every objective's terms are
per-sample batch means for logging, whatever `model.reduction` says about the differentiated loss.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from decompjax.errors import ConfigError
from decompjax.families.syntone_vae import data, model as model_lib
from decompjax.losses import factor
from decompjax.losses.tc import ESTIMATORS, tc_decomposition
from decompjax.losses.vae import gaussian_kl, reconstruction_term, squared_error


# --- loss terms of batched arrays -----------------------------------------------------------------------------------

def beta_vae_loss(x_hat, x, mu, logvar, beta: float, reduction: str = "per_sample"):
  """beta-VAE objective. Returns (loss, {'recon', 'kl'}) with per-sample means for logging.

  reduction='per_sample': mean over the batch of (recon_i + beta * KL_i) — beta means what it says.
  reduction='syntone'   : the original `BetaVAELoss`: MSE summed over batch *and* pixels plus beta times the
                          batch-*mean* KL, i.e. an effective per-sample beta of beta/B (kept for reproduction).
  """
  rec = squared_error(x_hat, x)
  kl = gaussian_kl(mu, logvar)
  loss = reconstruction_term(rec, reduction) + beta * jnp.mean(kl)
  return loss, {"recon": jnp.mean(rec), "kl": jnp.mean(kl)}


def beta_tcvae_loss(x_hat, x, z, mu, logvar, *, alpha: float = 1.0, beta: float = 4.0, gamma: float = 1.0,
                    dataset_size: int, estimator: str = "mss", reduction: str = "per_sample"):
  """rec + alpha*MI + beta*TC + gamma*dimension-wise KL (Chen et al. 2018). Returns (loss, terms).

  reduction='per_sample': rec is the batch mean of the per-clip squared error (weights mean what they say);
  reduction='syntone'   : the original `BTCVAELoss`: rec summed over batch and pixels, the other terms batch means,
                          so the regularisers weigh 1/B as much per clip (kept for reproduction).
  """
  rec = squared_error(x_hat, x)
  rec_term = reconstruction_term(rec, reduction)
  parts = tc_decomposition(z, mu, logvar, dataset_size, estimator)
  loss = rec_term + alpha * parts["mi"] + beta * parts["tc"] + gamma * parts["dwkl"]
  return loss, {"recon": jnp.mean(rec), "kl": jnp.mean(gaussian_kl(mu, logvar)), **parts}


def factor_vae_loss(x_hat, x, mu, logvar, logits_real, gamma: float, reduction: str = "per_sample",
                    kl_weight: float = 1.0):
  """FactorVAE's VAE objective: rec + kl_weight * KL + gamma * TC (density-ratio estimate). Returns (loss, terms).

  reduction='per_sample': batch means throughout; 'syntone': the original's rec summed over (half-)batch and pixels
  with batch-mean KL and TC (so its KL and TC weigh 1/B per clip; kept for reproduction).
  """
  rec = squared_error(x_hat, x)
  kl = jnp.mean(gaussian_kl(mu, logvar))
  tc = factor.tc_estimate(logits_real)
  rec_term = reconstruction_term(rec, reduction)
  return rec_term + kl_weight * kl + gamma * tc, {"recon": jnp.mean(rec), "kl": kl, "tc": tc}


# --- objectives of the families ------------------------------------------------------------------------------------
# The mel front end of beta-VAE and beta-TCVAE runs inside the objective (inside the gradient); FactorVAE's runs
# before it (family.py). Keep each where it is: moving work across value_and_grad changes the compiled program.

def beta_vae_objective(config, params, batch, rng):
  x = model_lib.model_input(config, batch["waveform"])
  x_hat, mu, logvar, _ = model_lib.make_model(config).apply({"params": params}, x, rng)
  return beta_vae_loss(x_hat, x, mu, logvar, config.model.beta, config.model.reduction)


def check_estimator(config) -> int:
  """Validates model.tc_estimator; returns N of the estimators (data.dataset_size)."""
  if config.model.tc_estimator not in ESTIMATORS:
    raise ConfigError(f"model.tc_estimator={config.model.tc_estimator!r} is not one of {ESTIMATORS}")
  return data.dataset_size(config)


def beta_tcvae_objective(config, n_data: int, params, batch, rng):
  """n_data: N of the MI / TC estimators (check_estimator(config)). The estimator runs on the global batch (see
  decompjax.losses.tc), so 1 and N devices agree."""
  x = model_lib.model_input(config, batch["waveform"])
  x_hat, mu, logvar, z = model_lib.make_model(config).apply({"params": params}, x, rng)
  m = config.model
  return beta_tcvae_loss(x_hat, x, z, mu, logvar, alpha=m.alpha, beta=m.beta, gamma=m.gamma, dataset_size=n_data,
                         estimator=m.tc_estimator, reduction=m.reduction)


def _sample_latent(model, vae_params, x, rng):
  mu, logvar = model.apply({"params": vae_params}, x, method=model.encode)
  return mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape, mu.dtype)


def factor_vae_objective(config, params, x, rng):
  """One FactorVAE step's objective (the original `FactorKLoss.forward`) on model inputs x [B, ...].

  The batch is split in halves: half 1 trains the VAE on rec + kl_weight * KL + gamma * TC(D(z1)); half 2 is
  encoded, sampled and permuted per dimension (detached), and the discriminator learns
  0.5 [CE(D(z1), real) + CE(D(z_perm), permuted)]. Returns (vae_loss + disc_loss, terms): its gradient w.r.t.
  params['vae'] is that of the VAE objective (plus the discriminator loss's if compat.leak_disc_grad), w.r.t.
  params['disc'] that of the discriminator loss only. terms['vae_loss'] is the VAE objective.

  Gradients: the VAE objective sees the discriminator through `stop_gradient` (the discriminator is not trained
  to raise TC), and the discriminator loss sees z1 through `stop_gradient` (it does not train the encoder). The
  original does not detach z1 there, so its discriminator loss also pushes gradients into the encoder;
  compat.leak_disc_grad=True reproduces that (with the original's weight relative to the reconstruction).
  Batch statistics (the halves, the permutation) are global under jit on the ('data',) mesh: they span every
  device and equal a single-device run.
  """
  if x.shape[0] < 2 or x.shape[0] % 2:
    raise ValueError(f"FactorVAE splits each batch in halves: the batch size must be even and >= 2, got {x.shape[0]}")
  model, disc = model_lib.make_model(config), model_lib.make_discriminator(config)
  m = config.model
  half = x.shape[0] // 2
  x1, x2 = x[:half], x[half:]
  r_vae, r_z2, r_perm = jax.random.split(rng, 3)
  sg = jax.lax.stop_gradient
  z_perm = sg(factor.permute_dims(r_perm, _sample_latent(model, params["vae"], x2, r_z2)))

  x_hat, mu, logvar, z1 = model.apply({"params": params["vae"]}, x1, r_vae)
  logits_vae = disc.apply({"params": sg(params["disc"])}, z1)
  vae_loss, terms = factor_vae_loss(x_hat, x1, mu, logvar, logits_vae, m.gamma, m.reduction, m.kl_weight)
  if config.compat.leak_disc_grad:
    # The original adds the discriminator loss's gradient to a VAE loss summed over the half batch; against a
    # per-sample VAE loss the same relative weight is 1/half (Adam is invariant to the overall scale only).
    scale = 1.0 if m.reduction == "syntone" else 1.0 / half
    z1_disc = sg(z1) + scale * (z1 - sg(z1))  # value z1, gradient scaled
  else:
    z1_disc = sg(z1)
  logits = disc.apply({"params": params["disc"]}, jnp.concatenate([z1_disc, z_perm]))
  logits_real, logits_perm = logits[:half], logits[half:]
  disc_loss = factor.discriminator_loss(logits_real, logits_perm)
  aux = {"vae_loss": vae_loss, **terms, "disc_loss": disc_loss,
         "disc_accuracy": factor.discriminator_accuracy(logits_real, logits_perm)}
  return vae_loss + disc_loss, aux
