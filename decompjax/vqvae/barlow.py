"""Barlow Twins head of the BT-VQ-VAE ([BT] models/barlowtwins.py, models/BarlowTwinsVQVAE.py).

Projector: global max-pool of the pre-quantisation latent -> Linear -> BN -> ReLU -> Linear -> BN -> ReLU
-> Linear (width `projector_width`; 4096 in the original). Loss: per-feature batch standardisation with the
unbiased std, C = z1^T z2 / B, sum_i (1 - C_ii)^2 + lambda * sum_{i!=j} C_ij^2, divided by the projector
width (the original's `loss_scaled`), weighted by gamma.

Global-batch statistics: the standardisation means/stds, C and the projector BatchNorm are plain reductions
over the batch axis. The trainer jits the step with the batch sharded over the ('data',) mesh, so XLA
computes them over the *global* batch (inserting the cross-device reductions); no per-device statistics
appear anywhere (tests/test_vqvae_barlow.py checks that an 8-device sharded step equals the 1-device step).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from decompjax.vqvae.model import VQVAE

_DENSE_INIT = nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")  # torch nn.Linear default


class Projector(nn.Module):
  width: int = 4096

  @nn.compact
  def __call__(self, h, train: bool):
    for _ in range(2):
      h = nn.Dense(self.width, kernel_init=_DENSE_INIT)(h)
      h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(h))
    return nn.Dense(self.width, kernel_init=_DENSE_INIT)(h)


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


class BarlowVQVAE(nn.Module):
  """Siamese (weight-shared) VQ-VAE over two views + projector. Params: {'vqvae': ..., 'projector': ...}."""
  vqvae: VQVAE
  projector_width: int = 4096

  def setup(self):
    self.projector = Projector(self.projector_width)

  def embed(self, z, train: bool):
    return self.projector(jnp.max(z, axis=(1, 2)), train)  # global max-pool over (F, T')

  def __call__(self, x1, x2, pick_first, train: bool = True):
    """Both views go through the encoder as one 2B batch (so BN and the EMA codebook see both views in a
    single update; the original ran the encoder and updated the codebook once per view). The projector
    runs per view, like the original, so its BatchNorm normalises each view separately. `pick_first`
    (bool scalar) selects the view whose quantised latent is decoded and which is the recon target."""
    b = x1.shape[0]
    # Interleave the views (series i -> rows 2i, 2i+1) rather than concatenating them: with the batch
    # sharded on 'data', each device then keeps both views of its own series (no resharding).
    both = jnp.stack([x1, x2], axis=1).reshape(2 * b, *x1.shape[1:])
    u, z = self.vqvae.encode(both, train)
    z_q, q, idx = self.vqvae.quantize(z, train)
    view = lambda a, i: a.reshape(b, 2, *a.shape[1:])[:, i]
    e1, e2 = self.embed(view(z, 0), train), self.embed(view(z, 1), train)
    sel = lambda a: jnp.where(pick_first, view(a, 0), view(a, 1))
    u_hat, x_hat = self.vqvae.decode(sel(z_q), train)
    return dict(u=sel(u), z=sel(z), q=sel(q), idx=sel(idx), u_hat=u_hat, x_hat=x_hat, e1=e1, e2=e2)

  def eval_outputs(self, x):
    return self.vqvae(x, train=False)
