"""Audio files: reading any file libsndfile knows as mono at a given rate, writing mono WAV clips."""
from __future__ import annotations

import os
import pathlib

import numpy as np


def write_wav(path, audio: np.ndarray, sample_rate: int, *, peak: float = 0.99) -> str:
  """Writes mono 16-bit PCM, scaled so that max |sample| = peak (avoids clipping; silence stays silence)."""
  import soundfile

  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim != 1:
    raise ValueError(f"write_wav expects mono audio of shape [samples], got {audio.shape}")
  if not np.all(np.isfinite(audio)):
    raise ValueError("write_wav: audio contains NaN or inf")
  top = np.max(np.abs(audio)) if audio.size else 0.0
  if top > 0:
    audio = audio * (peak / top)
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  soundfile.write(str(path), audio, int(sample_rate), subtype="PCM_16")
  return str(path)


class UnusableAudio(Exception):
  """A file that cannot be used as audio; `reason` is 'unreadable', 'empty' or 'too_short' (the corpus reader
  counts files by reason)."""

  def __init__(self, reason: str):
    super().__init__(reason)
    self.reason = reason


def read_audio(path: str, sample_rate: int, min_samples: int = 0) -> np.ndarray:
  """Mono float32 at `sample_rate` (channels averaged, resampled); raises UnusableAudio(reason) for an empty,
  unreadable (corrupt, mislabelled, non-finite) or too short (< min_samples after resampling) file."""
  import soundfile as sf
  if os.path.getsize(path) == 0:
    raise UnusableAudio("empty")
  try:
    wav, sr = sf.read(path, dtype="float32", always_2d=True)
  except Exception:  # libsndfile raises several types for corrupt or mislabelled files
    raise UnusableAudio("unreadable") from None
  if wav.shape[0] == 0:
    raise UnusableAudio("empty")
  wav = wav.mean(axis=1)
  if not np.all(np.isfinite(wav)):
    raise UnusableAudio("unreadable")
  if sr != sample_rate:
    import librosa
    wav = librosa.resample(wav, orig_sr=sr, target_sr=sample_rate)
  if wav.shape[0] < min_samples:
    raise UnusableAudio("too_short")
  return wav.astype(np.float32)
