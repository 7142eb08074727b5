"""Host-side mel -> audio inversion (Griffin-Lim via librosa) for evaluation figures and WAVs (written by audio.wav).

The original plots invert with librosa.feature.inverse.mel_to_audio (n_iter 512); 64 iterations are enough for
listening/figures and ~8x faster. The Griffin-Lim initial phase is drawn from `seed`, so output is deterministic.
A 'syntone' (per-frame normalised) mel has lost each frame's level, so its inversion has a flat envelope; that is
inherent to the original front end.
"""
from __future__ import annotations

import numpy as np

from decompjax.audio.mel import FRONTEND_MODES, MelSpec


def frontend_to_mel(features: np.ndarray, spec: MelSpec, mode: str) -> np.ndarray:
  """Undo the front end as far as possible: 'log_mel' -> mel power (inverse of mel.log_mel); 'syntone' is returned
  as is (the per-frame scale is unrecoverable)."""
  if mode not in FRONTEND_MODES:
    raise ValueError(f"unknown mel front-end mode {mode!r}; expected one of {FRONTEND_MODES}")
  feats = np.asarray(features, dtype=np.float64)
  if mode == "syntone":
    return np.maximum(feats, 0.0)
  db = spec.log_db_min + np.clip(feats, 0.0, 1.0) * (spec.log_db_max - spec.log_db_min)
  eps = 10.0 ** (spec.log_db_min / 10.0)
  return np.maximum(10.0 ** (db / 10.0) - eps, 0.0) * spec.reference_power


def mel_to_audio(features: np.ndarray, spec: MelSpec = MelSpec(), mode: str = "syntone", *, n_iter: int = 64,
                 length: int | None = None, seed: int = 0) -> np.ndarray:
  """Front-end features [..., n_mels, frames] -> float32 audio [..., samples] with the spec's STFT settings."""
  import librosa

  feats = np.asarray(features)
  if feats.ndim < 2 or feats.shape[-2] != spec.n_mels:
    raise ValueError(f"expected features [..., n_mels={spec.n_mels}, frames], got shape {feats.shape}")
  if n_iter < 1:
    raise ValueError(f"n_iter must be >= 1, got {n_iter}")
  mel = frontend_to_mel(feats, spec, mode)
  # The NNLS inside mel_to_stft is linear in its target but its L-BFGS tolerance is absolute: solving at unit scale
  # and rescaling is ~10x faster on large-valued (log_mel) inputs.
  scale = mel.max(axis=(-2, -1), keepdims=True)
  scale = np.where(scale > 0, scale, 1.0)
  stft_mag = librosa.feature.inverse.mel_to_stft((mel / scale).astype(np.float32), sr=spec.sample_rate,
                                                 n_fft=spec.n_fft, power=spec.power, fmin=spec.fmin,
                                                 fmax=spec.resolved_fmax, htk=False, norm="slaney")
  stft_mag = stft_mag * (scale ** (1.0 / spec.power)).astype(np.float32)
  audio = librosa.griffinlim(stft_mag, n_iter=n_iter, hop_length=spec.hop_length, n_fft=spec.n_fft,
                             window=spec.window, center=spec.center, pad_mode=spec.pad_mode, length=length,
                             random_state=np.random.default_rng(seed))
  return audio.astype(np.float32)
