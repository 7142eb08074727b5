"""From a method's raw components to exactly C slots (specs/decvae.md §1.2 "Post-processing, all methods").

1. A component whose Welch PSD max is below `tol` (spec_amp_tol) is dropped (added to the remainder).
2. More than C kept -> merged into C by summing contiguous groups (components are low -> high):
   'equally_distribute': groups of size round(n/C) (clamped so every group gets one), the last takes the rest;
   'high_freqs_first': the C-1 highest stay separate, the lowest n-C+1 are summed into OC1;
   'low_freqs_first': the C-1 lowest stay separate, the highest n-C+1 are summed into OCC.
3. Fewer than C -> each goes to a slot, order kept, choosing the slots whose band (freq_groups edges, default C
   equal bands up to higher_speech_freq) best match the components' centre frequencies; the other slots are zero
   with mask False.
4. No component -> the frame is unusable (frame_ok False).
All frames are combined with one [F, C, M] weight matrix (einsum), built per frame from small integer rules.
"""
from __future__ import annotations

import itertools

import numpy as np

from decompjax.decomposition import peaks


def centre_frequencies(x: np.ndarray, sample_rate: int) -> np.ndarray:
  """Spectral centroid (Hz) of the power spectrum along the last axis; NaN for an all-zero signal."""
  p = np.abs(np.fft.rfft(x, axis=-1)) ** 2
  f = np.fft.rfftfreq(x.shape[-1], 1.0 / sample_rate)
  den = p.sum(axis=-1)
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(den > 0, (p @ f) / den, np.nan)


def merge_groups(n: int, c: int, how: str) -> list[list[int]]:
  """Indices (low -> high) of the n components summed into each of c slots, n > c."""
  if how == "high_freqs_first":
    return [list(range(n - c + 1))] + [[i] for i in range(n - c + 1, n)]
  if how == "low_freqs_first":
    return [[i] for i in range(c - 1)] + [list(range(c - 1, n))]
  size = max(1, int(round(n / c)))
  if c > 1:
    size = min(size, (n - 1) // (c - 1))  # every slot keeps at least one component
  return [list(range(i * size, (i + 1) * size)) for i in range(c - 1)] + [list(range((c - 1) * size, n))]


def slot_bands(c: int, cfg) -> np.ndarray:
  edges = np.asarray(cfg.freq_groups, np.float64) if len(cfg.freq_groups) else \
      np.linspace(0.0, float(cfg.higher_speech_freq), c + 1)
  return np.stack([edges[:-1], edges[1:]], axis=1)


def assign_slots(freqs: np.ndarray, c: int, bands: np.ndarray) -> tuple[int, ...]:
  """Order-keeping slots for m < c components: the choice minimising the squared distance of each centre
  frequency to its slot's band (0 inside the band)."""
  best, best_cost = tuple(range(len(freqs))), np.inf
  for slots in itertools.combinations(range(c), len(freqs)):
    lo, hi = bands[list(slots), 0], bands[list(slots), 1]
    f = np.nan_to_num(freqs, nan=0.0)
    cost = float(np.sum(np.maximum(lo - f, 0) ** 2 + np.maximum(f - hi, 0) ** 2))
    if cost < best_cost:
      best, best_cost = slots, cost
  return best


def group(comps: np.ndarray, valid: np.ndarray, remainder: np.ndarray, c: int, cfg, tol: float,
          sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """comps [F, M, D] (valid ones low -> high), valid [F, M] -> (components [F, C, D], mask [F, C],
  frame_ok [F], remainder [F, D] incl. what was dropped)."""
  comps = np.asarray(comps, np.float64)
  _, psd = peaks.welch_psd(comps, sample_rate)
  keep = valid & (psd.max(axis=-1) >= tol)
  remainder = remainder + np.where((valid & ~keep)[:, :, None], comps, 0.0).sum(axis=1)
  f, m = keep.shape
  weights = np.zeros((f, c, m))
  mask = np.zeros((f, c), bool)
  bands = slot_bands(c, cfg)
  cf = centre_frequencies(comps, sample_rate)
  for i in range(f):
    idx = np.flatnonzero(keep[i])
    n = len(idx)
    if n >= c:
      groups = [[j] for j in range(c)] if n == c else merge_groups(n, c, cfg.grouping)
      for slot, members in enumerate(groups):
        weights[i, slot, idx[members]] = 1.0
      mask[i] = True
    elif n > 0:
      for slot, j in zip(assign_slots(cf[i, idx], c, bands), idx):
        weights[i, slot, j] = 1.0
        mask[i, slot] = True
  out = np.einsum("fcm,fmd->fcd", weights, comps)
  return out, mask, mask.any(axis=1), remainder
