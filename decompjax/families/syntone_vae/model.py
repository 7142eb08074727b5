"""The SynTone VAE families' networks and their input: the mel front end (run on device, inside the jitted step),
VAEDeep (yusufbrima/SynTone `Models/vae.py`) and the FactorVAE discriminator (`Models/discriminator.py`).

Batches from the pipeline hold raw waveforms; `model_input` turns them into [B, n_mels, frames, 1] images, so the
host only decodes TFRecords. Flax class and attribute names are the parameter-tree keys checkpoints use.
"""
from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from decompjax import precision, sharding
from decompjax.audio import mel as mel_lib
from decompjax.errors import ConfigError
from decompjax.families.syntone_vae.data import grid_from_config
from decompjax.models.layers import Conv3x3, ConvTranspose3x3s2, max_pool_2x2


# --- front end ----------------------------------------------------------------------------------------------------

def mel_spec(config: ml_collections.ConfigDict) -> mel_lib.MelSpec:
  a = config.audio
  return mel_lib.MelSpec(sample_rate=config.data.grid.sample_rate, n_fft=a.n_fft, hop_length=a.hop, n_mels=a.n_mels,
                         fmin=a.fmin, fmax=a.fmax if a.fmax > 0 else None)


def model_input(config, waveforms: jax.Array) -> jax.Array:
  """[B, T] waveforms -> [B, n_mels, frames, 1] model input in [0, 1] (front end chosen by config.audio.frontend)."""
  spec, mode = mel_spec(config), config.audio.frontend
  # Per device under the trainer's mesh: XLA would otherwise gather the batch for the FFT (sharding.py).
  return sharding.map_batch_shards(lambda w: mel_lib.frontend(w, spec, mode)[..., None], waveforms)


def input_shape(config) -> tuple[int, int, int]:
  return mel_spec(config).output_shape(grid_from_config(config).num_samples) + (1,)


# --- VAEDeep ------------------------------------------------------------------------------------------------------
# Layout is NHWC: input [B, n_mels=128, frames=32, 1]. Layer for layer as the original (LeakyReLU 0.01, three
# conv+maxpool levels, FC 4096->128->64->(mu, logvar), mirrored decoder with stride-2 transposed convs and a
# sigmoid). 1,117,521 parameters for a 128x32 input and 8 latents, as in the original.

def _act(x):
  return nn.leaky_relu(x, negative_slope=0.01)


class Encoder(nn.Module):
  latent_dim: int = 8
  channels: Sequence[int] = (16, 32, 64)
  hidden: Sequence[int] = (128, 64)
  dtype: Any = jnp.float32   # compute dtype (decompjax/precision.py); parameters stay float32

  @nn.compact
  def __call__(self, x):
    x = x.astype(self.dtype)   # Conv3x3 computes in its input's dtype
    for i, ch in enumerate(self.channels):
      # Named as nn.Conv would be, so parameter trees (and checkpoints) are unchanged.
      x = max_pool_2x2(_act(Conv3x3(ch, name=f"Conv_{i}")(x)))
    x = x.reshape(x.shape[0], -1)
    for h in self.hidden:
      x = _act(nn.Dense(h, dtype=self.dtype)(x))
    return nn.Dense(self.latent_dim, dtype=self.dtype, name="mu")(x), nn.Dense(self.latent_dim, dtype=self.dtype,
                                                                              name="logvar")(x)


class Decoder(nn.Module):
  out_shape: Sequence[int] = (128, 32, 1)
  channels: Sequence[int] = (64, 32, 16)
  hidden: Sequence[int] = (64, 128)
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z):
    levels = len(self.channels)
    h0, w0 = self.out_shape[0] // 2**levels, self.out_shape[1] // 2**levels
    x = z
    for h in self.hidden:
      x = _act(nn.Dense(h, dtype=self.dtype)(x))
    x = _act(nn.Dense(h0 * w0 * self.channels[0], dtype=self.dtype)(x))
    x = x.reshape(z.shape[0], h0, w0, self.channels[0])
    outs = list(self.channels[1:]) + [self.out_shape[-1]]
    for i, ch in enumerate(outs):
      # torch ConvTranspose2d(k=3, s=2, p=1, output_padding=1), computed sub-pixel style (same values).
      x = ConvTranspose3x3s2(ch)(x)
      x = _act(x) if i < len(outs) - 1 else nn.sigmoid(x)
    return x


class VAEDeep(nn.Module):
  """encode / decode / __call__ take and return float32 whatever `dtype` the layers compute in."""
  latent_dim: int = 8
  input_shape: Sequence[int] = (128, 32, 1)
  dtype: Any = jnp.float32

  def setup(self):
    if self.input_shape[0] % 8 or self.input_shape[1] % 8:
      raise ConfigError(f"VAEDeep needs input height and width divisible by 8, got {tuple(self.input_shape)} "
                        "(mel bins x frames: audio.n_mels, and the clip length over audio.hop)")
    self.encoder = Encoder(self.latent_dim, dtype=self.dtype)
    self.decoder = Decoder(tuple(self.input_shape), dtype=self.dtype)

  def encode(self, x):
    return precision.to_float32(self.encoder(x))

  def decode(self, z):
    return precision.to_float32(self.decoder(z))

  def __call__(self, x, rng):
    """Returns (reconstruction, mu, logvar, z) with z = mu + exp(logvar/2) * eps."""
    mu, logvar = self.encode(x)
    z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape, mu.dtype)
    return self.decode(z), mu, logvar, z


def make_model(config) -> VAEDeep:
  return VAEDeep(latent_dim=config.model.latent_dim, input_shape=input_shape(config),
                 dtype=precision.compute_dtype(config))


def init_vae_params(config, rng):
  """VAEDeep's parameters (from the config's shapes; the sampling key passed to init is unused by it)."""
  model = make_model(config)
  x = jnp.zeros((1,) + input_shape(config), jnp.float32)
  return model.init(rng, x, jax.random.key(0))["params"]


# --- FactorVAE discriminator ----------------------------------------------------------------------------------------
# Kim & Mnih 2018, from disentangling-vae: six Linear layers (z -> 1000, four 1000 -> 1000, 1000 -> 2 logits) with
# LeakyReLU(0.2) between them. Init as the original's `weights_init`: kaiming-uniform weights for ReLU gain
# (variance 2/fan_in) and PyTorch's default Linear bias, uniform(+-1/sqrt(fan_in)). 4,015,002 parameters for 8
# latents.

def _torch_bias_init(fan_in: int):
  bound = 1.0 / fan_in**0.5

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class Discriminator(nn.Module):
  hidden_units: int = 1000
  num_layers: int = 6
  negative_slope: float = 0.2
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    """[B, D] codes -> [B, 2] float32 logits (class 0: sample of q(z), class 1: permuted)."""
    x = z
    for i in range(self.num_layers):
      out = 2 if i == self.num_layers - 1 else self.hidden_units
      x = nn.Dense(out, kernel_init=nn.initializers.variance_scaling(2.0, "fan_in", "uniform"),
                   bias_init=_torch_bias_init(x.shape[-1]), dtype=self.dtype, name=f"lin{i + 1}")(x)
      if i < self.num_layers - 1:
        x = nn.leaky_relu(x, negative_slope=self.negative_slope)
    return x.astype(jnp.float32)


def make_discriminator(config) -> Discriminator:
  return Discriminator(hidden_units=config.model.disc_hidden, num_layers=config.model.disc_layers,
                       dtype=precision.compute_dtype(config))


def init_discriminator_params(config, rng):
  return make_discriminator(config).init(rng, jnp.zeros((1, config.model.latent_dim), jnp.float32))["params"]
