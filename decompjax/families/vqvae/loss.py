"""Objectives of the VQ-VAE families, as `steps.gradient_step` loss functions, and the codebook-usage metrics.

VQ-VAE: time MSE + STFT MSE + commitment * mse(sg(q), z) (unweighted means, as the original).
Barlow VQ-VAE: the same on the decoded view + gamma * Barlow Twins loss / projector width (the original's
`loss_scaled`). The Barlow loss standardises each feature over the batch with the unbiased std, C = z1^T z2 / B,
sum_i (1 - C_ii)^2 + lambda * sum_{i!=j} C_ij^2: batch reductions, so global-batch statistics under the
trainer's sharded jit.
"""
from __future__ import annotations

import jax.numpy as jnp

from decompjax.families.vqvae import model as vq_model
from decompjax.families.vqvae import quantizer
from decompjax.steps import LossOut


def reconstruction_losses(x, out) -> dict:
  """time MSE + STFT MSE + commitment mse(sg(q), z) (unweighted means, as the original)."""
  return dict(recon_time=jnp.mean((x - out["x_hat"]) ** 2),
              recon_stft=jnp.mean((out["u"] - out["u_hat"]) ** 2),
              commit=quantizer.commitment(out["z"], out["q"]))


def barlow_twins_loss(z1: jnp.ndarray, z2: jnp.ndarray, lam: float = 0.005) -> jnp.ndarray:
  """Unscaled Barlow Twins loss of two (B, D) embeddings (statistics over the batch axis)."""
  b = z1.shape[0]

  def standardise(z):
    return (z - z.mean(0)) / jnp.std(z, axis=0, ddof=1)

  c = standardise(z1).T @ standardise(z2) / b
  diag = jnp.diagonal(c)
  on = jnp.sum((1 - diag) ** 2)
  off = jnp.sum(c ** 2) - jnp.sum(diag ** 2)
  return on + lam * off


def vq_metrics(config, idx) -> dict:
  """Codebook perplexity and usage entropy of a step's code indices (logged, outside the gradient)."""
  perplexity, entropy = quantizer.code_usage(idx, config.model.codebook_size)
  return {"perplexity": perplexity, "code_entropy": entropy}


def vqvae_objective(config, params, model_state, batch, rng):
  """-> (loss, LossOut(terms, updated batch_stats/vq, code indices)); rng is the VQ stream (k-means init,
  dead-code revival)."""
  x = batch["x"]
  model = vq_model.build_vqvae(config, x.shape[1], x.shape[2])
  out, new_ms = model.apply({"params": params, **model_state}, x, train=True, rngs={"vq": rng},
                            mutable=list(model_state))
  terms = reconstruction_losses(x, out)
  loss = terms["recon_time"] + terms["recon_stft"] + config.model.commitment * terms["commit"]
  return loss, LossOut(terms, new_ms, out["idx"])


def barlow_objective(config, params, model_state, x1, x2, pick_first, target, k_vq):
  """The inputs are augment.two_views' (made before the gradient): both views, the coin that picked the decoded
  view, that view (the reconstruction target) and the VQ key."""
  model = vq_model.build_barlow(config, x1.shape[1], x1.shape[2])
  out, new_ms = model.apply({"params": params, **model_state}, x1, x2, pick_first, train=True,
                            rngs={"vq": k_vq}, mutable=list(model_state))
  terms = reconstruction_losses(target, out)
  m = config.model
  terms["barlow_twins"] = barlow_twins_loss(out["e1"], out["e2"], m.bt_lambda) / m.projector_width
  loss = (terms["recon_time"] + terms["recon_stft"] + m.commitment * terms["commit"]
          + m.gamma * terms["barlow_twins"])
  return loss, LossOut(terms, new_ms, out["idx"])


def eval_losses(config, out, x) -> dict:
  """Validation metrics of eval-mode outputs: loss = time + STFT reconstruction (the commitment term is logged
  beside it, not added), and code usage."""
  terms = reconstruction_losses(x, out)
  return {"loss": terms["recon_time"] + terms["recon_stft"], **terms, **vq_metrics(config, out["idx"])}
