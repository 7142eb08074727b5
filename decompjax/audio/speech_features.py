"""Mel front end for speech (Autodecompose's inputs): 16 kHz, n_fft = hop = 256, 80 mels, 64-frame crops.

Two presets (specs/autodecompose.md §2, §7.1):
  'notebook'  what the original notebook runs: 5th-order zero-phase Butterworth high-pass at 30 Hz, dither
              (wav*0.96 + U(-.5,.5)*1e-6, seeded here), librosa mel power spectrogram with fmin 0 / fmax 8000,
              power_to_db(ref=1, top_db=80), then (dB + 100) / 200.
  'paper'     the paper's 90-7600 Hz band. The paper does not state its dB scaling; its band limits, 30 Hz
              high-pass and `min_level` are AutoVC's, so this preset uses AutoVC's scaling: magnitude mel,
              20*log10(max(1e-5, m)) - 16, then clip((dB + 100) / 100, 0, 1). No dither.
Crops follow the notebook: starts 0, 64, ... < T - 64 (no overlap, the last partial crop is dropped).
"""
from __future__ import annotations

import dataclasses
import functools

import librosa
import numpy as np
from scipy import signal

SAMPLE_RATE = 16_000
CROP_FRAMES = 64


@dataclasses.dataclass(frozen=True)
class MelFeatures:
  sample_rate: int = SAMPLE_RATE
  n_fft: int = 256
  hop: int = 256
  n_mels: int = 80
  fmin: float = 0.0
  fmax: float = 8000.0
  highpass_hz: float = 30.0      # 0 = off
  highpass_order: int = 5
  dither: bool = True
  db_mode: str = "power_ref1"    # 'power_ref1' (notebook) or 'autovc' (paper)
  crop_frames: int = CROP_FRAMES

  def __post_init__(self):
    if self.db_mode not in ("power_ref1", "autovc"):
      raise ValueError(f"db_mode={self.db_mode!r} is not 'power_ref1' or 'autovc'")

  @property
  def min_samples(self) -> int:
    """Shortest waveform that still yields one crop (T = 1 + n // hop frames must exceed crop_frames)."""
    return self.crop_frames * self.hop


PRESETS = {
    "notebook": MelFeatures(),
    "paper": MelFeatures(fmin=90.0, fmax=7600.0, dither=False, db_mode="autovc"),
}


def from_preset(name: str) -> MelFeatures:
  if name not in PRESETS:
    raise ValueError(f"unknown feature preset {name!r}; valid: {', '.join(PRESETS)}")
  return PRESETS[name]


@functools.lru_cache(maxsize=None)
def _highpass(order: int, cutoff: float, sr: int):
  return signal.butter(order, cutoff / (sr / 2), btype="high")


def mel_spectrogram(wav: np.ndarray, feats: MelFeatures, rng: np.random.Generator | None = None) -> np.ndarray:
  """[n] float waveform at feats.sample_rate -> [T, n_mels] float32 scaled mel (T = 1 + n // hop)."""
  y = np.asarray(wav, np.float64)
  if feats.highpass_hz > 0:
    b, a = _highpass(feats.highpass_order, feats.highpass_hz, feats.sample_rate)
    y = signal.filtfilt(b, a, y)
  if feats.dither:
    rng = rng if rng is not None else np.random.default_rng(0)
    y = y * 0.96 + (rng.random(y.shape[0]) - 0.5) * 1e-6
  power = 2.0 if feats.db_mode == "power_ref1" else 1.0
  m = librosa.feature.melspectrogram(y=y, sr=feats.sample_rate, n_fft=feats.n_fft, hop_length=feats.hop,
                                     n_mels=feats.n_mels, fmin=feats.fmin, fmax=feats.fmax, power=power).T
  if feats.db_mode == "power_ref1":
    out = (librosa.power_to_db(m, ref=1.0, top_db=80.0) + 100.0) / 200.0
  else:
    db = 20.0 * np.log10(np.maximum(1e-5, m)) - 16.0
    out = np.clip((db + 100.0) / 100.0, 0.0, 1.0)
  return out.astype(np.float32)


def crop(mel: np.ndarray, crop_frames: int = CROP_FRAMES) -> np.ndarray:
  """[T, F] -> [N, crop_frames, F] non-overlapping crops starting at 0, crop, ... < T - crop (notebook rule)."""
  starts = range(0, mel.shape[0] - crop_frames, crop_frames)
  if not len(starts):
    return np.zeros((0, crop_frames, mel.shape[1]), np.float32)
  return np.stack([mel[s:s + crop_frames] for s in starts]).astype(np.float32)


def wav_to_crops(wav: np.ndarray, feats: MelFeatures, rng: np.random.Generator | None = None) -> np.ndarray:
  return crop(mel_spectrogram(wav, feats, rng), feats.crop_frames)
