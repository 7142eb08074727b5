"""View augmentations of [BT] preprocessing/augmentations.py as pure per-series functions of (key, x).

x is one series (L, C). `augment(key, x, names, p)` applies the selected ones in the original's fixed
order AmpR -> flip -> slope -> STFT (phase jitter) -> jitter -> slice, whatever order `names` lists them.
`augment_batch` vmaps it over the batch (one key per series); `two_views` is the Barlow step's `prepare`
(run before the gradient: the augmentations' randomness is not differentiated). Settings: config.augment.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from decompjax import sharding
from decompjax.audio import stft as stft_lib

ORDER = ("AmpR", "flip", "slope", "STFT", "jitter", "slice")


@dataclasses.dataclass(frozen=True)
class AugParams:
  """Defaults of the original `Augmentations` class and `time_slicing`."""
  amp_rate: float = 0.1
  flip_p: float = 0.5
  slope_rate: float = 0.01
  phase_max_change: float = float(np.pi / 4)
  jitter_std: float = 0.1
  slice_rate: float = 0.2
  slice_p: float = 0.3


def amp_resize(key, x, p: AugParams):
  """x * (1 + eps), eps ~ N(0, amp_rate) per channel."""
  return x * (1 + p.amp_rate * jax.random.normal(key, (1, x.shape[-1])))


def flip(key, x, p: AugParams):
  """Time reversal with probability flip_p."""
  return jnp.where(jax.random.uniform(key) < p.flip_p, x[::-1], x)


def slope(key, x, p: AugParams):
  """x + a t, t = 0..L-1, a ~ U(-slope_rate, slope_rate) per channel."""
  a = jax.random.uniform(key, (1, x.shape[-1]), minval=-p.slope_rate, maxval=p.slope_rate)
  return x + a * jnp.arange(x.shape[0], dtype=x.dtype)[:, None]


def phase_n_fft(length: int) -> int:
  return 1 << max(1, int(np.ceil(np.log2(length))))


def stft_phase(key, x, p: AugParams):
  """Random phase shift U(-max, max) per STFT bin, magnitude kept (n_fft = next pow2 >= L, hop n_fft/4,
  rectangular window). The original's two-sided torch.istft with real output reads only bins
  0..n_fft/2, so a onesided transform with iid phase noise per kept bin is the same distribution."""
  length = x.shape[0]
  n_fft = phase_n_fft(length)
  spec = stft_lib.stft_complex(x.T, n_fft, n_fft // 4)  # (C, F, T)
  dphi = jax.random.uniform(key, spec.shape, minval=-p.phase_max_change, maxval=p.phase_max_change)
  out = stft_lib.istft_complex(jnp.abs(spec) * jnp.exp(1j * (jnp.angle(spec) + dphi)), length, n_fft, n_fft // 4)
  return out.T.astype(x.dtype)


def jitter(key, x, p: AugParams):
  return x + p.jitter_std * jax.random.normal(key, x.shape, x.dtype)


def time_slice(key, x, p: AugParams):
  """With probability slice_p keep a random window of int(slice_rate*L) samples, zero-padded on the right."""
  length = x.shape[0]
  w = max(1, int(length * p.slice_rate))
  k1, k2 = jax.random.split(key)
  start = jax.random.randint(k1, (), 0, length - w + 1)
  window = jnp.take(x, jnp.clip(start + jnp.arange(length), 0, length - 1), axis=0)
  sliced = jnp.where((jnp.arange(length) < w)[:, None], window, 0.)
  return jnp.where(jax.random.uniform(k2) < p.slice_p, sliced, x)


_FNS = {"AmpR": amp_resize, "flip": flip, "slope": slope, "STFT": stft_phase, "jitter": jitter,
        "slice": time_slice}


def parse_names(names) -> tuple[str, ...]:
  """'AmpR,STFT' or a sequence -> validated tuple (order irrelevant: ORDER is applied)."""
  if isinstance(names, str):
    names = [n.strip() for n in names.split(",") if n.strip()]
  unknown = [n for n in names if n not in _FNS]
  if unknown:
    raise ValueError(f"unknown augmentation(s) {unknown}; choose from {list(ORDER)}")
  return tuple(names)


def augment(key, x, names, p: AugParams = AugParams()):
  """One view of one series (L, C)."""
  names = parse_names(names)
  keys = jax.random.split(key, len(ORDER))
  for k, name in zip(keys, ORDER):
    if name in names:
      x = _FNS[name](k, x, p)
  return x


def augment_batch(key, x, names, p: AugParams = AugParams()):
  """(B, L, C) -> (B, L, C), an independent draw per series. Keys are split for the global batch, so the draws
  do not depend on the device count; the work runs per device (sharding.map_batch_shards: the STFT aug's FFT)."""
  keys = jax.random.split(key, x.shape[0])
  return sharding.map_batch_shards(jax.vmap(lambda k, xi: augment(k, xi, names, p)), keys, x)


def params_from_config(config) -> AugParams:
  a = config.augment
  return AugParams(amp_rate=a.amp_rate, flip_p=a.flip_p, slope_rate=a.slope_rate,
                   phase_max_change=a.phase_max_change, jitter_std=a.jitter_std, slice_rate=a.slice_rate,
                   slice_p=a.slice_p)


def two_views(config):
  """-> prepare(batch, rng) = (x1, x2, pick_first, target, k_vq): two independent augmentation draws of the
  batch, the fair coin that picks the view to decode, that view, and the key of the VQ stream."""
  names = parse_names(config.augment.names)
  p = params_from_config(config)

  def prepare(batch, rng):
    x = batch["x"]
    k1, k2, k_pick, k_vq = jax.random.split(rng, 4)
    x1, x2 = augment_batch(k1, x, names, p), augment_batch(k2, x, names, p)
    pick_first = jax.random.bernoulli(k_pick)
    target = jnp.where(pick_first, x1, x2)
    return x1, x2, pick_first, target, k_vq

  return prepare
