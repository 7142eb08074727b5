"""STFT / inverse STFT in jnp with torch.stft / torch.istft semantics (center=True, reflect padding, onesided).

Signals are channels-last: x (..., L, C). Spectrograms are NHWC images (..., F, T, 2C) with F = n_fft//2+1
frequency rows, T = 1 + L//hop frames and [real, imag] of input channel c at channels 2c, 2c+1 (the
original's layout). Framing and overlap-add are done with reshapes of hop-sized blocks instead of
gathers/scatters, which keeps the backward pass cheap on CPU; this needs hop to divide n_fft.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from decompjax import sharding


def window_array(kind: str, n_fft: int) -> np.ndarray:
  """torch defaults: no window = rectangular; 'hann' = torch.hann_window (periodic)."""
  if kind in ("rect", "rectangular", "none", ""):
    return np.ones(n_fft, np.float32)
  if kind == "hann":
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
  raise ValueError(f"unknown STFT window {kind!r}; use 'rect' or 'hann'")


def _check(n_fft: int, hop: int, length: int) -> int:
  if n_fft % hop:
    raise ValueError(f"hop {hop} must divide n_fft {n_fft}")
  if length <= n_fft // 2:
    raise ValueError(f"series length {length} is too short for reflect padding with n_fft={n_fft} "
                     f"(needs length > {n_fft // 2})")
  return n_fft // hop


def num_frames(length: int, n_fft: int, hop: int) -> int:
  return 1 + length // hop  # torch: 1 + (L + 2*(n_fft//2) - n_fft) // hop for even n_fft


def frames_of(x: jnp.ndarray, n_fft: int, hop: int) -> jnp.ndarray:
  """(..., L) -> reflect-padded frames (..., T, n_fft)."""
  length = x.shape[-1]
  r = _check(n_fft, hop, length)
  t = num_frames(length, n_fft, hop)
  pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
  xp = jnp.pad(x, pad, mode="reflect")[..., :hop * (t + r - 1)]
  blocks = xp.reshape(*x.shape[:-1], t + r - 1, hop)
  # frame t = blocks t .. t+r-1
  return jnp.concatenate([blocks[..., j:j + t, :] for j in range(r)], axis=-1)


def overlap_add(frames: jnp.ndarray, hop: int) -> jnp.ndarray:
  """(..., T, n_fft) -> (..., hop*(T-1) + n_fft): inverse of `frames_of` before trimming."""
  t, n_fft = frames.shape[-2:]
  r = n_fft // hop
  parts = frames.reshape(*frames.shape[:-1], r, hop)
  nd = frames.ndim
  out = 0.
  for j in range(r):
    pad = [(0, 0)] * (nd - 2) + [(j, r - 1 - j), (0, 0)]
    out = out + jnp.pad(parts[..., j, :], pad)
  return out.reshape(*frames.shape[:-2], (t + r - 1) * hop)


def stft_complex(x: jnp.ndarray, n_fft: int, hop: int, window: str = "rect") -> jnp.ndarray:
  """(..., L) real -> (..., F, T) complex, exactly torch.stft(center=True, pad_mode='reflect', onesided)."""
  fr = frames_of(x, n_fft, hop) * window_array(window, n_fft)
  return jnp.swapaxes(jnp.fft.rfft(fr, axis=-1), -1, -2)


def istft_complex(spec: jnp.ndarray, length: int, n_fft: int, hop: int, window: str = "rect") -> jnp.ndarray:
  """(..., F, T) complex -> (..., length) real: irfft, window, overlap-add, / window envelope, trim.

  Unlike torch.istft without `length` (which returns hop*(T-1) samples, i.e. L-1 for odd L, and the
  original then zero-pads), this keeps every sample the frames cover, so odd lengths round-trip exactly.
  """
  w = window_array(window, n_fft)
  t = spec.shape[-1]
  fr = jnp.fft.irfft(jnp.swapaxes(spec, -1, -2), n=n_fft, axis=-1) * w
  y = overlap_add(fr, hop)
  env = np.zeros(hop * (t - 1) + n_fft, np.float64)  # numpy: a constant, also under jit
  for i in range(t):
    env[i * hop:i * hop + n_fft] += w * w
  start = n_fft // 2
  if start + length > y.shape[-1]:
    raise ValueError(f"{t} frames cannot produce {length} samples")
  env = env[start:start + length]
  if np.any(env < 1e-11):
    raise ValueError("window envelope vanishes inside the signal (NOLA violated)")
  return y[..., start:start + length] / env


def stft(x: jnp.ndarray, n_fft: int = 8, hop: int | None = None, window: str = "rect") -> jnp.ndarray:
  """(B, L, C) -> (B, F, T, 2C) with [re, im] interleaved per channel (the original's channel layout).
  Per device under the trainer's mesh (sharding.map_batch_shards: XLA would gather the batch for the FFT)."""
  return sharding.map_batch_shards(lambda v: _stft(v, n_fft, hop or n_fft // 4, window), x)


def _stft(x, n_fft, hop, window):
  s = stft_complex(jnp.moveaxis(x, -1, -2), n_fft, hop, window)  # (B, C, F, T)
  out = jnp.stack([s.real, s.imag], axis=2)  # (B, C, 2, F, T)
  b, c, _, f, t = out.shape
  return jnp.moveaxis(out.reshape(b, 2 * c, f, t), 1, -1)


def istft(u: jnp.ndarray, length: int, n_fft: int = 8, hop: int | None = None, window: str = "rect",
          drop_odd_last: bool = False) -> jnp.ndarray:
  """(B, F, T, 2C) -> (B, L, C). `drop_odd_last` reproduces the original (samples past hop*(L//hop), i.e. the last one for odd L, = 0).
  Per device under the trainer's mesh, as `stft`."""
  return sharding.map_batch_shards(lambda v: _istft(v, length, n_fft, hop or n_fft // 4, window, drop_odd_last), u)


def _istft(u, length, n_fft, hop, window, drop_odd_last):
  b, f, t, c2 = u.shape
  v = jnp.moveaxis(u, -1, 1).reshape(b, c2 // 2, 2, f, t)
  x = istft_complex(v[:, :, 0] + 1j * v[:, :, 1], length, n_fft, hop, window)  # (B, C, L)
  keep = hop * (length // hop)  # what torch.istft returns without `length`
  if drop_odd_last and keep < length:
    x = x.at[..., keep:].set(0.)
  return jnp.moveaxis(x, -2, -1)
