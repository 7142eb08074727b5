"""Framing and the mains-hum notch: the two signal steps before any decomposition (specs/decvae.md §1.1)."""
from __future__ import annotations

import functools

import numpy as np
from scipy import signal

from decompjax.errors import DataError

FRAME = 400  # 25 ms at 16 kHz (the wav2vec2 receptive field)
HOP = 320    # 20 ms


def frame_signal(x: np.ndarray, frame: int = FRAME, hop: int = HOP) -> np.ndarray:
  """[L] -> [F, frame] with F = 1 + (L - frame) // hop (a 4 s clip gives 199 frames); no padding."""
  x = np.asarray(x)
  if x.ndim != 1:
    raise DataError(f"frame_signal: expected a 1-D signal, got shape {x.shape}")
  if len(x) < frame:
    raise DataError(f"frame_signal: signal of {len(x)} samples is shorter than one frame ({frame})")
  n = 1 + (len(x) - frame) // hop
  return np.lib.stride_tricks.sliding_window_view(x, frame)[::hop][:n].copy()


@functools.lru_cache(maxsize=None)
def _notch_sos(sample_rate: int) -> np.ndarray:
  # scipy's N=4 band-stop, as the original's butter(4, [55, 70], 'bandstop').
  return signal.butter(4, [55.0, 70.0], btype="bandstop", fs=sample_rate, output="sos")


def notch(x: np.ndarray, sample_rate: int = 16_000) -> np.ndarray:
  """55-70 Hz Butterworth band-stop, zero-phase (sosfiltfilt) along the last axis; float32 out."""
  x = np.asarray(x, np.float64)
  return signal.sosfiltfilt(_notch_sos(int(sample_rate)), x, axis=-1).astype(np.float32)
