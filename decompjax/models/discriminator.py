"""The FactorVAE discriminator (Kim & Mnih 2018; SynTone `Models/discriminator.py`, from disentangling-vae).

Six Linear layers (z -> 1000, four 1000 -> 1000, 1000 -> 2 logits) with LeakyReLU(0.2) between them. Init as the
original's `weights_init`: kaiming-uniform weights for ReLU gain (variance 2/fan_in) and PyTorch's default
Linear bias, uniform(+-1/sqrt(fan_in)). 4,015,002 parameters for 8 latents.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def _torch_bias_init(fan_in: int):
  bound = 1.0 / fan_in**0.5

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class Discriminator(nn.Module):
  hidden_units: int = 1000
  num_layers: int = 6
  negative_slope: float = 0.2

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    """[B, D] codes -> [B, 2] logits (class 0: sample of q(z), class 1: permuted)."""
    x = z
    for i in range(self.num_layers):
      out = 2 if i == self.num_layers - 1 else self.hidden_units
      x = nn.Dense(out, kernel_init=nn.initializers.variance_scaling(2.0, "fan_in", "uniform"),
                   bias_init=_torch_bias_init(x.shape[-1]), name=f"lin{i + 1}")(x)
      if i < self.num_layers - 1:
        x = nn.leaky_relu(x, negative_slope=self.negative_slope)
    return x
