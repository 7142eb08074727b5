"""EWT: the empirical wavelet transform of Gilles (2013), as ewtpy.EWT1D with the DecVAE settings, for all frames.

Per frame: one-sided |FFT| -> regularised (Gaussian kernel, 'same' convolution) -> the N-1 largest local maxima ->
boundaries at the mid-points between consecutive maxima (the first between 0 and the first maximum) -> a Meyer
filter bank (scaling function + N-1 wavelets) applied to the mirror-extended frame in the FFT domain.
N = noc + 1 and the lowest mode (the scaling function's) is dropped, kept as the remainder so the modes still sum
to the frame. Everything is numpy over the frame axis; only the top-k of maxima is a per-row argsort.

Differences from ewtpy 0.2, deliberate: a frame with fewer than N-1 local maxima is completed by splitting the top
band equally (ewtpy's LocalMax then picks non-maxima, and its completion helper returns None); the transition
ratio gamma is kept > 0 so equal boundaries cannot give NaN.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage


@functools.lru_cache(maxsize=None)
def _reg_kernel(reg: str, length: int, sigma: float) -> np.ndarray | None:
  if reg == "average":
    return np.ones(length) / length
  if reg == "gaussian":
    delta = np.zeros(length)
    delta[length // 2] = 1.0
    return ndimage.gaussian_filter1d(delta, sigma)  # a sampled, reflect-truncated Gaussian (as ewtpy)
  return None


def _conv_same(x: np.ndarray, h: np.ndarray) -> np.ndarray:
  """np.convolve(row, h, 'same') for every row of x [F, n] (n >= len(h))."""
  m, n = len(h), x.shape[1]
  full = np.zeros((x.shape[0], n + m - 1))
  for j, hj in enumerate(h):
    full[:, j:j + n] += hj * x
  start = (m - 1) // 2
  return full[:, start:start + n]


def boundaries(x: np.ndarray, n_modes: int, cfg) -> np.ndarray:
  """[F, D] -> [F, n_modes-1] boundaries in radians (0, pi), ascending."""
  spec = np.abs(np.fft.fft(x, axis=-1))[:, :int(np.ceil(x.shape[1] / 2))]
  if cfg.ewt.log:
    spec = np.log(np.maximum(spec, 1e-30))
  h = _reg_kernel(cfg.ewt.reg, int(cfg.ewt.length_filter), float(cfg.ewt.sigma_filter))
  pre = spec if h is None else _conv_same(spec, h)
  n = pre.shape[1]
  is_max = np.zeros_like(pre, bool)
  is_max[:, 1:-1] = (pre[:, :-2] < pre[:, 1:-1]) & (pre[:, 1:-1] > pre[:, 2:])
  k = n_modes - 1
  score = np.where(is_max, pre, -np.inf)
  top = np.sort(np.argsort(-score, axis=1, kind="stable")[:, :k], axis=1)
  found = np.take_along_axis(is_max, top, axis=1)  # False where a frame has fewer than k maxima
  out = np.zeros((x.shape[0], k))
  for f in range(x.shape[0]):
    idx = np.sort(top[f][found[f]])
    prev = np.concatenate([[0], idx[:-1]])
    b = ((prev + idx) / 2 + 1) * np.pi / n  # ewtpy's index convention (+1), then to radians
    if len(b) < k:  # completion: split the band above the last boundary equally
      last = b[-1] if len(b) else 0.0
      b = np.concatenate([b, last + (np.pi - last) / (k - len(b) + 1) * np.arange(1, k - len(b) + 1)])
    out[f] = b
  return out


@functools.lru_cache(maxsize=16)
def _abs_omega(nsig: int) -> np.ndarray:
  """|w| of every FFT bin (natural order), w in [-pi, pi), as ewtpy builds it before its ifftshift."""
  w = np.fft.fftshift(np.linspace(0, 2 * np.pi - 2 * np.pi / nsig, num=nsig))
  w[:nsig // 2] -= 2 * np.pi
  return np.fft.ifftshift(np.abs(w))


def _beta(x):
  x = np.clip(x, 0.0, 1.0)
  return x ** 4 * (35.0 + x * (-84.0 + x * (70.0 - 20.0 * x)))


def meyer_filter_bank(bounds: np.ndarray, nsig: int) -> np.ndarray:
  """bounds [F, K] (radians, ascending) -> [F, K+1, nsig//2+1] Fourier-domain filters (scaling function first)
  on the non-negative frequencies (the filters are real and even, so rfft/irfft use just this half).

  A boundary's rising (sin) and falling (cos) transitions share one beta() argument, so beta is evaluated once
  per boundary (pi included, for the top wavelet's falling edge); the region tests are ewtpy's, in its order.
  """
  f = bounds.shape[0]
  ratios = np.concatenate([(bounds[:, 1:] - bounds[:, :-1]) / (bounds[:, 1:] + bounds[:, :-1]),
                           (np.pi - bounds[:, -1:]) / (np.pi + bounds[:, -1:]), np.ones((f, 1))], axis=1)
  gamma = np.maximum((1 - 1 / nsig) * ratios.min(axis=1), 1e-6)[:, None, None]
  aw = _abs_omega(nsig)[None, None, :nsig // 2 + 1]
  edges = np.concatenate([bounds, np.full((f, 1), np.pi)], axis=1)[:, :, None]  # [F, K+1, 1]
  lo, hi = (1 - gamma) * edges, (1 + gamma) * edges
  phase = np.pi / 2 * _beta((aw - lo) / (2 * gamma * edges))  # [F, K+1, H]
  up, down = np.sin(phase), np.cos(phase)
  scale = np.where(aw <= lo[:, :1], 1.0, np.where(aw <= hi[:, :1], down[:, :1], 0.0))
  lo_n, hi_n, lo_m, hi_m = lo[:, :-1], hi[:, :-1], lo[:, 1:], hi[:, 1:]
  wav = np.where((aw >= hi_n) & (aw <= lo_m), 1.0,
                 np.where((aw >= lo_m) & (aw <= hi_m), down[:, 1:],
                          np.where((aw >= lo_n) & (aw <= hi_n), up[:, :-1], 0.0)))
  return np.concatenate([scale, wav], axis=1)


def ewt_modes(x: np.ndarray, n_modes: int, cfg) -> tuple[np.ndarray, np.ndarray]:
  """[F, D] -> (modes [F, n_modes, D] low -> high, boundaries [F, n_modes-1] radians)."""
  x = np.asarray(x, np.float64)
  d = x.shape[1]
  bounds = boundaries(x, n_modes, cfg)
  half = int(np.ceil(d / 2))
  mirrored = np.concatenate([x[:, :half - 1][:, ::-1], x, x[:, d - half - 1:d - 1][:, ::-1]], axis=1)
  nsig = mirrored.shape[1]
  bank = meyer_filter_bank(bounds, nsig)
  modes = np.fft.irfft(bank * np.fft.rfft(mirrored, axis=-1)[:, None, :], n=nsig, axis=-1)
  return modes[:, :, half - 1:half - 1 + d], bounds


def ewt(x: np.ndarray, cfg, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """[F, D] -> (components [F, C, D], valid [F, C], remainder [F, D] = the dropped lowest mode)."""
  modes, _ = ewt_modes(x, n_components + 1, cfg)
  return modes[:, 1:], np.ones(modes[:, 1:, 0].shape, bool), modes[:, 0]
