"""VAEDeep, the SynTone convolutional VAE (yusufbrima/SynTone `Models/vae.py`), in Flax Linen.

Layout is NHWC: input [B, n_mels=128, frames=32, 1]. Layer for layer as the original (LeakyReLU 0.01, three
conv+maxpool levels, FC 4096->128->64->(mu, logvar), mirrored decoder with stride-2 transposed convs and a
sigmoid). 1,117,521 parameters for a 128x32 input and 8 latents, as in the original.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from decompjax.models.layers import Conv3x3, ConvTranspose3x3s2, max_pool_2x2


def _act(x):
  return nn.leaky_relu(x, negative_slope=0.01)


class Encoder(nn.Module):
  latent_dim: int = 8
  channels: Sequence[int] = (16, 32, 64)
  hidden: Sequence[int] = (128, 64)

  @nn.compact
  def __call__(self, x):
    for i, ch in enumerate(self.channels):
      # Named as nn.Conv would be, so parameter trees (and checkpoints) are unchanged.
      x = max_pool_2x2(_act(Conv3x3(ch, name=f"Conv_{i}")(x)))
    x = x.reshape(x.shape[0], -1)
    for h in self.hidden:
      x = _act(nn.Dense(h)(x))
    return nn.Dense(self.latent_dim, name="mu")(x), nn.Dense(self.latent_dim, name="logvar")(x)


class Decoder(nn.Module):
  out_shape: Sequence[int] = (128, 32, 1)
  channels: Sequence[int] = (64, 32, 16)
  hidden: Sequence[int] = (64, 128)

  @nn.compact
  def __call__(self, z):
    levels = len(self.channels)
    h0, w0 = self.out_shape[0] // 2**levels, self.out_shape[1] // 2**levels
    x = z
    for h in self.hidden:
      x = _act(nn.Dense(h)(x))
    x = _act(nn.Dense(h0 * w0 * self.channels[0])(x))
    x = x.reshape(z.shape[0], h0, w0, self.channels[0])
    outs = list(self.channels[1:]) + [self.out_shape[-1]]
    for i, ch in enumerate(outs):
      # torch ConvTranspose2d(k=3, s=2, p=1, output_padding=1), computed sub-pixel style (same values).
      x = ConvTranspose3x3s2(ch)(x)
      x = _act(x) if i < len(outs) - 1 else nn.sigmoid(x)
    return x


class VAEDeep(nn.Module):
  latent_dim: int = 8
  input_shape: Sequence[int] = (128, 32, 1)

  def setup(self):
    if self.input_shape[0] % 8 or self.input_shape[1] % 8:
      raise ValueError(f"VAEDeep needs input height and width divisible by 8, got {tuple(self.input_shape)}")
    self.encoder = Encoder(self.latent_dim)
    self.decoder = Decoder(tuple(self.input_shape))

  def encode(self, x):
    return self.encoder(x)

  def decode(self, z):
    return self.decoder(z)

  def __call__(self, x, rng):
    """Returns (reconstruction, mu, logvar, z) with z = mu + exp(logvar/2) * eps."""
    mu, logvar = self.encode(x)
    z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape, mu.dtype)
    return self.decode(z), mu, logvar, z
