"""DecVAE's per-frame mel patch: a 400-sample frame -> an 80 x 5 log-mel patch flattened to 400 values (numpy).

Why a patch: the mel input keeps the conv stack's 400-vector per frame (specs/decvae.md §1.1 step 4). Equivalent
to librosa 0.11 `melspectrogram(y=frame, sr=16000, n_fft=mel_hops*400, hop_length=int(401/mel_hops),
n_mels=80, window='hann', center=True, pad_mode='constant')` then `power_to_db(ref=np.max)` (amin 1e-10,
top_db 80) and a row-major flatten (mel band major, time minor). Written here in numpy (Slaney mel scale and
normalisation, periodic Hann) so the data pipeline needs no librosa at run time; tests compare against librosa.
An all-zero frame (a zero-filled missing component) gives an all-zero patch, as power_to_db does.
The sequence form cuts a signal into non-overlapping 400-sample chunks and concatenates their patches.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

_CHUNK = 2048  # frames per FFT batch: bounds memory on long clips


@dataclasses.dataclass(frozen=True)
class PatchSpec:
  sample_rate: int = 16_000
  frame: int = 400
  n_mels: int = 80
  mel_hops: int = 4
  amin: float = 1e-10
  top_db: float = 80.0

  @property
  def n_fft(self) -> int:
    return self.mel_hops * self.frame

  @property
  def hop(self) -> int:
    return int((self.frame + 1) / self.mel_hops)  # upstream: int(401 / mel_hops)

  @property
  def time_steps(self) -> int:
    return 1 + self.frame // self.hop  # centre padding

  @property
  def size(self) -> int:
    """Values per flattened patch (80 x 5 = 400 with the defaults)."""
    return self.n_mels * self.time_steps


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
  f = np.asarray(f, np.float64)
  mel = f / (200.0 / 3)
  log_part = 15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) / (np.log(6.4) / 27.0)
  return np.where(f >= 1000.0, log_part, mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
  m = np.asarray(m, np.float64)
  return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3) * m)


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
  """Slaney-scale, Slaney-normalised triangular filters, fmin 0 / fmax sr/2: [n_mels, n_fft//2 + 1] float64."""
  fft_hz = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
  mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
  width = np.diff(mel_hz)
  ramps = mel_hz[:, None] - fft_hz[None, :]
  lower = -ramps[:-2] / width[:-1, None]
  upper = ramps[2:] / width[1:, None]
  weights = np.maximum(0.0, np.minimum(lower, upper))
  return weights * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
  return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic (fftbins=True)


def _patches(frames: np.ndarray, spec: PatchSpec) -> np.ndarray:
  """[n, frame] -> [n, n_mels * time_steps] float32."""
  pad, win = spec.n_fft // 2, _hann(spec.n_fft)
  offsets = pad - np.arange(spec.time_steps) * spec.hop      # where the frame sits in each centred window
  x = frames.astype(np.float64)
  if offsets.min() >= 0 and offsets.max() + spec.frame <= spec.n_fft:
    # The windows are zero outside the frame: place the windowed frame instead of gathering padded copies.
    windows = np.zeros((len(x), spec.time_steps, spec.n_fft))
    for t, o in enumerate(offsets):
      windows[:, t, o:o + spec.frame] = x * win[o:o + spec.frame]
  else:
    idx = np.arange(spec.time_steps)[:, None] * spec.hop + np.arange(spec.n_fft)[None, :]
    windows = np.pad(x, ((0, 0), (pad, pad)))[:, idx] * win
  power = np.abs(np.fft.rfft(windows, axis=-1)) ** 2                   # [n, T, bins]
  mel = np.swapaxes(power @ mel_filterbank(spec.sample_rate, spec.n_fft, spec.n_mels).T, 1, 2)  # [n, mels, T]
  ref = np.max(mel, axis=(1, 2), keepdims=True)
  db = 10.0 * np.log10(np.maximum(spec.amin, mel)) - 10.0 * np.log10(np.maximum(spec.amin, ref))
  db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - spec.top_db)
  return db.reshape(len(frames), -1).astype(np.float32)


def mel_patch(frames: np.ndarray, spec: PatchSpec = PatchSpec()) -> np.ndarray:
  """[..., 400] frames -> [..., spec.size] flattened log-mel patches (float32)."""
  frames = np.asarray(frames)
  if frames.shape[-1] != spec.frame:
    raise ValueError(f"mel_patch expects frames of {spec.frame} samples, got shape {frames.shape}")
  flat = frames.reshape(-1, spec.frame)
  out = np.empty((len(flat), spec.size), np.float32)
  for i in range(0, len(flat), _CHUNK):
    out[i:i + _CHUNK] = _patches(flat[i:i + _CHUNK], spec)
  return out.reshape(*frames.shape[:-1], spec.size)


def sequence_length(num_samples: int, spec: PatchSpec = PatchSpec()) -> int:
  """Length of the mel form of a num_samples-long sequence (whole 400-sample chunks only)."""
  return (num_samples // spec.frame) * spec.size


def mel_sequence(x: np.ndarray, spec: PatchSpec = PatchSpec()) -> np.ndarray:
  """[..., L] -> [..., (L // 400) * spec.size]: non-overlapping 400-sample chunks, one patch each (a trailing
  partial chunk is dropped)."""
  x = np.asarray(x)
  n = x.shape[-1] // spec.frame
  chunks = x[..., :n * spec.frame].reshape(*x.shape[:-1], n, spec.frame)
  return mel_patch(chunks, spec).reshape(*x.shape[:-1], n * spec.size)
