"""On-device mel spectrograms (JAX, jittable, vmappable) matching librosa 0.11, and the SynTone model front ends.

Recipe (specs/jax_practice.md §4): the Hann window and the Slaney mel filterbank are built once on the host with
librosa (numpy constants closed over by the traced function); framing + window + rfft + |.|^power + filterbank matmul
run on device. The filterbank matmul uses precision=HIGHEST because TPU's default matmul precision is a bf16 pass.

`spec` must be static under jit: close over it, or `jax.jit(mel_spectrogram, static_argnames='spec')` (MelSpec is a
frozen, hashable dataclass).
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

FRONTEND_MODES = ("syntone", "log_mel")
_PAD_MODES = ("constant", "reflect", "edge", "symmetric")


@dataclasses.dataclass(frozen=True)
class MelSpec:
  """librosa.feature.melspectrogram arguments (librosa 0.11 defaults except sr, n_mels and fmax, as in SynTone).

  log_db_min / log_db_max: the fixed dB range the 'log_mel' front end maps to [0, 1] (see `log_mel`).
  """
  sample_rate: int = 16000
  n_fft: int = 2048
  hop_length: int = 512
  n_mels: int = 128
  fmin: float = 0.0
  fmax: float | None = 8000.0  # None -> sample_rate / 2
  power: float = 2.0
  center: bool = True
  pad_mode: str = "constant"  # librosa 0.11 default (older librosa used 'reflect')
  window: str = "hann"
  log_db_min: float = -100.0
  log_db_max: float = 0.0

  def __post_init__(self):
    if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
      raise ValueError(f"MelSpec sample_rate, n_fft, hop_length and n_mels must be > 0, got {self}")
    fmax = self.resolved_fmax
    if not 0 <= self.fmin < fmax <= self.sample_rate / 2:
      raise ValueError(f"MelSpec needs 0 <= fmin < fmax <= sample_rate/2 = {self.sample_rate / 2}, "
                       f"got fmin={self.fmin}, fmax={fmax}")
    if self.power <= 0:
      raise ValueError(f"MelSpec power must be > 0, got {self.power}")
    if self.pad_mode not in _PAD_MODES:
      raise ValueError(f"MelSpec pad_mode must be one of {_PAD_MODES}, got {self.pad_mode!r}")
    if not self.log_db_min < self.log_db_max:
      raise ValueError(f"MelSpec needs log_db_min < log_db_max, got {self.log_db_min}, {self.log_db_max}")

  @property
  def resolved_fmax(self) -> float:
    return float(self.sample_rate / 2 if self.fmax is None else self.fmax)

  def num_frames(self, num_samples: int) -> int:
    if self.center:
      return 1 + num_samples // self.hop_length
    if num_samples < self.n_fft:
      raise ValueError(f"with center=False a signal needs >= n_fft={self.n_fft} samples, got {num_samples}")
    return 1 + (num_samples - self.n_fft) // self.hop_length

  def output_shape(self, num_samples: int) -> tuple[int, int]:
    return (self.n_mels, self.num_frames(num_samples))

  @property
  def reference_power(self) -> float:
    """STFT power of a full-scale (amplitude 1) sinusoid at a bin centre: (sum(window) / 2) ** power."""
    return float((window(self).sum() / 2) ** self.power)


@functools.lru_cache(maxsize=32)
def _window(spec: MelSpec) -> np.ndarray:
  import librosa
  return librosa.filters.get_window(spec.window, spec.n_fft, fftbins=True).astype(np.float32)


def window(spec: MelSpec) -> np.ndarray:
  """The periodic analysis window librosa.stft uses, float32 [n_fft]."""
  return _window(spec).copy()


@functools.lru_cache(maxsize=32)
def _filterbank(spec: MelSpec) -> np.ndarray:
  import librosa
  return librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin,
                             fmax=spec.resolved_fmax, htk=False, norm="slaney").astype(np.float32)


def mel_filterbank(spec: MelSpec) -> np.ndarray:
  """Slaney-scale, Slaney-normalised mel filterbank (librosa.filters.mel), float32 [n_mels, n_fft//2 + 1]."""
  return _filterbank(spec).copy()


def _frames(x: jax.Array, spec: MelSpec) -> jax.Array:
  """[..., T] -> [..., frames, n_fft], librosa framing (centre padding of n_fft//2 each side when center)."""
  if spec.center:
    pad = [(0, 0)] * (x.ndim - 1) + [(spec.n_fft // 2, spec.n_fft // 2)]
    x = jnp.pad(x, pad, mode=spec.pad_mode)
  n_frames = 1 + (x.shape[-1] - spec.n_fft) // spec.hop_length
  hop, ratio = spec.hop_length, spec.n_fft // spec.hop_length
  if spec.n_fft % hop == 0:
    # Reshape path (no gather): split into hop-sized blocks; frame j = blocks j .. j+ratio-1 concatenated.
    n_blocks = n_frames + ratio - 1
    blocks = x[..., :n_blocks * hop].reshape(*x.shape[:-1], n_blocks, hop)
    return jnp.concatenate([blocks[..., k:k + n_frames, :] for k in range(ratio)], axis=-1)
  idx = np.arange(n_frames)[:, None] * hop + np.arange(spec.n_fft)[None, :]
  return x[..., idx]


def power_spectrogram(waveforms: jax.Array, spec: MelSpec) -> jax.Array:
  """|STFT|^power, [..., T] -> [..., n_fft//2 + 1, frames] (librosa.stft layout)."""
  x = jnp.asarray(waveforms, jnp.float32)
  spec.num_frames(x.shape[-1])  # validates the length
  frames = _frames(x, spec) * jnp.asarray(_window(spec))
  stft = jnp.fft.rfft(frames, n=spec.n_fft, axis=-1)
  if spec.power == 2.0:
    mag = jnp.real(stft) ** 2 + jnp.imag(stft) ** 2  # avoids sqrt then square
  else:
    mag = jnp.abs(stft) ** spec.power
  return jnp.swapaxes(mag, -1, -2)


def mel_spectrogram(waveforms: jax.Array, spec: MelSpec = MelSpec()) -> jax.Array:
  """librosa.feature.melspectrogram equivalent: [..., T] float -> [..., n_mels, frames] float32."""
  mag = power_spectrogram(waveforms, spec)
  return jnp.einsum("mf,...ft->...mt", jnp.asarray(_filterbank(spec)), mag, precision=jax.lax.Precision.HIGHEST)


def normalize_frames(mel: jax.Array) -> jax.Array:
  """librosa.util.normalize(S) defaults (norm=inf, axis=0 of a [n_mels, frames] matrix): every time frame divided by
  its max |value|; frames whose max is below the float32 `tiny` are left unscaled (librosa's fill=None)."""
  length = jnp.max(jnp.abs(mel), axis=-2, keepdims=True)
  tiny = jnp.finfo(mel.dtype).tiny
  return mel / jnp.where(length < tiny, 1.0, length)


def log_mel(mel: jax.Array, spec: MelSpec = MelSpec()) -> jax.Array:
  """Fixed global affine map of the log mel to [0, 1] that keeps absolute level (amplitude) visible.

  db = 10*log10(mel / reference_power + 10**(log_db_min/10)), where reference_power = (sum(window)/2)**power is the STFT
  power of a full-scale sinusoid, then (db - log_db_min) / (log_db_max - log_db_min), clipped to [0, 1]. No per-clip
  max reference and no top_db, so the same input level always maps to the same value. Defaults -100..0 dB, measured
  on the SynTone grid with the default MelSpec (Slaney filters weigh a bin by ~2/bandwidth in Hz): peaks range from
  -10.9 dB (amplitude-1 square at 440 Hz) to -56.6 dB (amplitude-0.1 sine at 7962 Hz), unit-variance white noise
  peaks at -27.5 dB; the -100 dB floor keeps harmonics and aliases ~60 dB below the peak visible. A 20 dB amplitude
  step (0.1 -> 1) moves every non-floor value by 0.2.
  """
  eps = 10.0 ** (spec.log_db_min / 10.0)
  db = 10.0 * jnp.log10(mel / spec.reference_power + eps)
  return jnp.clip((db - spec.log_db_min) / (spec.log_db_max - spec.log_db_min), 0.0, 1.0)


def frontend(waveforms: jax.Array, spec: MelSpec = MelSpec(), mode: str = "syntone") -> jax.Array:
  """Model input in [0, 1] (the VAE decoder ends in a sigmoid), [..., T] -> [..., n_mels, frames].

  'syntone': the original's input, mel power normalised per time frame (amplitude-invariant: SynTone defect 1).
  'log_mel': fixed-range log mel (`log_mel`), amplitude stays recoverable (the `--no-frame-normalize` option).
  """
  if mode not in FRONTEND_MODES:
    raise ValueError(f"unknown mel front-end mode {mode!r}; expected one of {FRONTEND_MODES}")
  mel = mel_spectrogram(waveforms, spec)
  return normalize_frames(mel) if mode == "syntone" else log_mel(mel, spec)
