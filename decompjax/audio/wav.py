"""Audio files: reading any file libsndfile knows as mono at a given rate, reading mono/stereo files as stored,
writing mono WAV clips (peak-normalised) and unscaled mono/multichannel WAVs."""
from __future__ import annotations

import io
import os

import numpy as np

from decompjax import fileio
from decompjax.errors import DataError, MissingInputError


def _write_wav_file(path, audio: np.ndarray, sample_rate: int, subtype: str) -> str:
  """Encodes in memory, then one atomic write through decompjax.fileio: a local or gs:// destination alike,
  creating its folder, and never half a file."""
  import soundfile

  buf = io.BytesIO()
  soundfile.write(buf, audio, int(sample_rate), subtype=subtype, format="WAV")
  path = os.fspath(path)
  fileio.makedirs(os.path.dirname(fileio.absolute(path)))
  return fileio.write_bytes_atomic(path, buf.getvalue())


def write_wav(path, audio: np.ndarray, sample_rate: int, *, peak: float = 0.99) -> str:
  """Writes mono 16-bit PCM, scaled so that max |sample| = peak (avoids clipping; silence stays silence)."""
  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim != 1:
    raise ValueError(f"write_wav expects mono audio of shape [samples], got {audio.shape}")
  if not np.all(np.isfinite(audio)):
    raise ValueError("write_wav: audio contains NaN or inf")
  top = np.max(np.abs(audio)) if audio.size else 0.0
  if top > 0:
    audio = audio * (peak / top)
  return _write_wav_file(path, audio, sample_rate, "PCM_16")


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


def read_audio_channels(path) -> tuple[np.ndarray, int]:
  """(audio float32 [T, channels], sample_rate) of a mono or stereo file, exactly as stored (no down-mix, no
  resampling). MissingInputError for a missing file; DataError naming the file for a 0-byte, unreadable, empty
  or non-finite file or one with more than two channels."""
  import soundfile as sf

  path = str(path)
  if os.path.isdir(path):
    raise DataError(f"{path} is a folder, not an audio file")
  if not os.path.isfile(path):
    raise MissingInputError(f"audio file not found: {path}")
  if os.path.getsize(path) == 0:
    raise DataError(f"audio file {path} is empty (0 bytes)")
  try:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
  except Exception as e:  # libsndfile raises several types for corrupt or mislabelled files
    raise DataError(f"cannot read audio file {path}: {type(e).__name__}: {e}") from None
  if audio.shape[1] > 2:
    raise DataError(f"audio file {path} has {audio.shape[1]} channels; only mono or stereo is supported")
  if audio.shape[0] == 0:
    raise DataError(f"audio file {path} holds no samples")
  if not np.all(np.isfinite(audio)):
    raise DataError(f"audio file {path} contains NaN or inf samples")
  return audio, int(sr)


def write_audio(path, audio: np.ndarray, sample_rate: int, *, subtype: str = "FLOAT") -> str:
  """Writes [T] (mono) or [T, channels] audio as WAV without any rescaling (levels kept, so separated stems
  still add up to the mixture). subtype 'FLOAT' (exact) or a PCM subtype ('PCM_16': values outside [-1, 1]
  are an error, never silently clipped)."""
  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim not in (1, 2):
    raise ValueError(f"write_audio expects [samples] or [samples, channels], got shape {audio.shape}")
  if not np.all(np.isfinite(audio)):
    raise ValueError("write_audio: audio contains NaN or inf")
  if subtype.startswith("PCM") and audio.size and np.max(np.abs(audio)) > 1.0:
    raise ValueError(f"write_audio: peak {np.max(np.abs(audio)):.3f} > 1 would clip in {subtype}; "
                     "scale it or write subtype='FLOAT'")
  return _write_wav_file(path, audio, sample_rate, subtype)
