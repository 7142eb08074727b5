"""ConVAE-BSS networks (Flax Linen) and separation with them: spectrogram in, two masked sources out.

The report's design (specs/convae_bss.md §1): a conv encoder on the mixture spectrogram with FOUR conv heads
(mu_1, logvar_1, mu_2, logvar_2) giving spatial latent maps, and two decoders with separate weights, each
upsampling its latent back to the spectrogram size. What we add (§3, each in docs/convae_bss.md):

- Input: the log-magnitude STFT of the mixture, standardised per example (the model is scale-free).
- Output: decoder k gives d_k; its linear-magnitude estimate is |S_k| = |X| * r_k with r_k = softplus(d_k) + 1e-6
  (a non-negative gain on the mixture magnitude). Separation uses soft masks M_k = r_k^p / sum_j r_j^p (= |S_k|^p /
  sum_j |S_j|^p, which sum to 1), applied to the complex mixture STFT and inverted with the mixture phase.
- ONE log-variance convention: the heads output logvar = log sigma^2 and z = mu + exp(0.5 logvar) * eps. (The
  report wrote z = mean + eps * exp(var), i.e. its `var` was a log-std; we do not reproduce that.) Separation and
  validation use z = mu.
- `skip` (config.model.skip): the decoders' last convs also see the encoder input (the standardised log-magnitude
  mixture), so masks can follow harmonics finer than the latent grid. The `compat` preset turns it off.
- The report's AdaptiveAvgPool2d to the input size is a bilinear resize to (F, T) here (same job: any input size).

Source 0 is the voice, source 1 the music (the objective decides whether that order is learned; see loss.py).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from decompjax import precision, sharding
from decompjax.audio import stft as stft_lib

MAG_EPS = 1e-3     # floor inside the log of the input spectrogram
GAIN_FLOOR = 1e-6  # keeps every mask denominator > 0
SOURCES = ("voice", "music")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  channels: tuple[int, ...] = (16, 32)
  latent_channels: int = 8
  skip: bool = True
  mask_power: float = 1.0
  n_fft: int = 512
  hop: int = 128
  window: str = "hann"

  @classmethod
  def from_config(cls, config) -> "ModelSpec":
    m, a = config.model, config.audio
    return cls(channels=tuple(int(c) for c in m.channels), latent_channels=int(m.latent_channels),
               skip=bool(m.skip), mask_power=float(m.mask_power), n_fft=int(a.n_fft), hop=int(a.hop),
               window=str(a.window))


def sample_latent(mu, logvar, rng):
  """The one convention: logvar = log sigma^2, z = mu + exp(0.5 * logvar) * eps, eps ~ N(0, 1)."""
  return mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape, mu.dtype)


class ConvEncoder(nn.Module):
  channels: Sequence[int]
  latent_channels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    for i, ch in enumerate(self.channels):  # stride 2: smaller maps, more channels
      x = nn.relu(nn.Conv(ch, (3, 3), strides=(2, 2), padding="SAME", dtype=self.dtype, name=f"down_{i}")(x))
    # Four separate heads, as the report: (mu, logvar) per branch, spatial latent maps.
    return tuple(nn.Conv(self.latent_channels, (3, 3), padding="SAME", dtype=self.dtype, name=name)(x)
                 for name in ("mu_0", "logvar_0", "mu_1", "logvar_1"))


class ConvDecoder(nn.Module):
  channels: Sequence[int]
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z, out_hw: tuple[int, int], side=None):
    x = z.astype(self.dtype)
    for i, ch in enumerate(reversed(self.channels)):
      x = nn.relu(nn.ConvTranspose(ch, (3, 3), strides=(2, 2), padding="SAME", dtype=self.dtype, name=f"up_{i}")(x))
    x = jax.image.resize(x, (x.shape[0], *out_hw, x.shape[-1]), "linear")  # to the input size
    if side is not None:
      x = jnp.concatenate([x, side.astype(self.dtype)], axis=-1)
    x = nn.relu(nn.Conv(self.channels[0], (3, 3), padding="SAME", dtype=self.dtype, name="post_0")(x))
    return nn.Conv(1, (3, 3), padding="SAME", dtype=self.dtype, name="post_1")(x)[..., 0]


class ConVAE(nn.Module):
  """[B, F, T] standardised log-magnitude -> (d [B, 2, F, T], (mu_0, logvar_0, mu_1, logvar_1)), all float32;
  the convolutions compute in `dtype` (decompjax/precision.py), the latent sampling in float32."""
  spec: ModelSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, rng=None):
    img = x[..., None].astype(self.dtype)
    heads = ConvEncoder(self.spec.channels, self.spec.latent_channels, self.dtype, name="encoder")(img)
    mu0, lv0, mu1, lv1 = precision.to_float32(heads)
    side = img if self.spec.skip else None
    outs = []
    for k, (mu, lv) in enumerate(((mu0, lv0), (mu1, lv1))):
      z = mu if rng is None else sample_latent(mu, lv, jax.random.fold_in(rng, k))
      outs.append(ConvDecoder(self.spec.channels, self.dtype, name=f"decoder_{k}")(z, x.shape[1:3], side))
    return precision.to_float32(jnp.stack(outs, axis=1)), (mu0, lv0, mu1, lv1)


def make_model(config) -> ConVAE:
  return ConVAE(ModelSpec.from_config(config), precision.compute_dtype(config))


# --- spectrogram helpers ---------------------------------------------------------------------------------------

def complex_stft(config, waves: jax.Array) -> jax.Array:
  """[B, ..., L] -> [B, ..., F, T] complex (decompjax.audio.stft), per device under the trainer's mesh."""
  s = ModelSpec.from_config(config)
  return sharding.map_batch_shards(lambda w: stft_lib.stft_complex(w, s.n_fft, s.hop, s.window), waves)


def inverse_stft(config, spec: jax.Array, length: int) -> jax.Array:
  s = ModelSpec.from_config(config)
  return sharding.map_batch_shards(lambda u: stft_lib.istft_complex(u, length, s.n_fft, s.hop, s.window), spec)


def model_input(mixture_mag: jax.Array) -> jax.Array:
  """Log-magnitude, standardised per example over (F, T): the network never sees the absolute level."""
  logm = jnp.log(mixture_mag + MAG_EPS)
  mean = jnp.mean(logm, axis=(-2, -1), keepdims=True)
  std = jnp.std(logm, axis=(-2, -1), keepdims=True)
  return (logm - mean) / (std + 1e-5)


def gains(d: jax.Array) -> jax.Array:
  """Decoder outputs -> non-negative gains r_k; |S_k| estimate = |X| * r_k."""
  return jax.nn.softplus(d) + GAIN_FLOOR


def soft_masks(r: jax.Array, power: float) -> jax.Array:
  """[B, 2, F, T] gains -> masks r_k^p / sum_j r_j^p (sum to 1 over the source axis)."""
  w = r ** power
  return w / jnp.sum(w, axis=1, keepdims=True)


# --- the model API ---------------------------------------------------------------------------------------------

def init_variables(config, rng, example):
  """-> (params, {}): no mutable collections. Shapes from the example's mixture [B, L].

  Kernels are LeCun-normal (N(0, 1/fan_in), not truncated), biases zero, drawn with ONE random call for the
  whole tree: Flax's per-layer truncated-normal initialisers each compile their own random-bits program, which
  made the init of this small net cost ~20 s of CPU under jit (measured), more than its train step."""
  mag = jax.eval_shape(lambda w: jnp.abs(complex_stft(config, w)), example["mixture"])
  shapes = jax.eval_shape(lambda: make_model(config).init({"params": jax.random.key(0)},
                                                           jnp.zeros(mag.shape, jnp.float32)))["params"]
  leaves, treedef = jax.tree.flatten(shapes)
  sizes = [leaf.size for leaf in leaves]
  noise = jax.random.normal(rng, (sum(sizes),), jnp.float32)
  out, start = [], 0
  for leaf, size in zip(leaves, sizes):
    if leaf.ndim > 1:  # a conv kernel [kh, kw, in, out]
      fan_in = size // leaf.shape[-1]
      out.append(noise[start:start + size].reshape(leaf.shape) / jnp.sqrt(float(fan_in)))
    else:
      out.append(jnp.zeros(leaf.shape, leaf.dtype))
    start += size
  return jax.tree.unflatten(treedef, out), {}


def forward(config, params, mixture_mag: jax.Array, rng=None):
  """[B, F, T] linear mixture magnitude -> (gains r [B, 2, F, T], latents). rng=None: z = mu."""
  d, latents = make_model(config).apply({"params": params}, model_input(mixture_mag), rng)
  return gains(d), latents


def separate_magnitudes(config, params, model_state, mixture_mag):
  """[B, F, T] -> (est_mags [B, 2, F, T] = masks * |X|, masks [B, 2, F, T]); source 0 voice, 1 music."""
  del model_state  # none
  r, _ = forward(config, params, mixture_mag)
  masks = soft_masks(r, ModelSpec.from_config(config).mask_power)
  return masks * mixture_mag[:, None], masks


def separate_waveforms(config, params, model_state, mixture):
  """[B, L] mixture -> [B, 2, L] (voice, music): masks on the complex mixture STFT, ISTFT with its phase.
  The two outputs sum to the mixture (up to float error): the masks sum to 1 and the STFT is invertible."""
  spec = complex_stft(config, mixture)
  _, masks = separate_magnitudes(config, params, model_state, jnp.abs(spec))
  return masked_waveforms(config, spec, masks, mixture.shape[-1])


def masked_waveforms(config, mixture_spec, masks, length: int):
  """Complex mixture STFT [B, F, T] and masks [B, S, F, T] -> [B, S, length]: ISTFT of each masked STFT (the
  mixture phase). Also the oracle-mask path (the IRM ceiling)."""
  return inverse_stft(config, masks * mixture_spec[:, None], length)
