"""WAV files: writing mono clips (evaluation audio, separated sources)."""
from __future__ import annotations

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
