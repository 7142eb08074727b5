"""EMD: empirical mode decomposition by sifting (Huang et al. 1998), numpy, one frame at a time.

Follows PyEMD's EMD with the DecVAE settings: 'simple' extrema (sign changes of the slope, a plateau counts at its
middle), envelopes through the extrema extended at each end by NBSYM extrema mirrored about the end extremum or
the end sample (Rilling et al. 2003's boundary rule), pchip or cubic interpolation, the Huang/Cauchy stop tests
(scaled variance, std, energy ratio, and |#extrema - #zero crossings| < 2), MAX_ITERATION per IMF, and the range /
total-power end tests; at most max_imf = noc IMFs of (frame - mean). IMFs come out high -> low and are reversed to
low -> high. The residue (the trend after the last IMF) and the frame mean are not components: they form the
remainder, so components + remainder = frame. The pchip envelope is our own numpy Fritsch-Carlson (scipy's
interpolator object costs more to build than the whole sift step). Sifting is sequential with ragged extrema, so
frames are looped.
"""
from __future__ import annotations

import numpy as np
from scipy import interpolate

NBSYM = 2


def extrema(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
  """(max positions, min positions, number of zero crossings) of a 1-D signal."""
  d = np.diff(s)
  turn = d[:-1] * d[1:] < 0
  imax = np.flatnonzero(turn & (d[:-1] > 0)) + 1
  imin = np.flatnonzero(turn & (d[:-1] < 0)) + 1
  if np.any(d == 0):  # plateaus inside the signal: an extremum at their middle
    edges = np.diff(np.concatenate([[0], (d == 0).astype(np.int8), [0]]))
    start, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    inner = (start > 0) & (stop < len(d))
    start, stop = start[inner], stop[inner]
    before, after = d[start - 1], d[stop]
    mid = np.round((start + stop) / 2.0).astype(np.intp)
    imax = np.sort(np.concatenate([imax, mid[(before > 0) & (after < 0)]]))
    imin = np.sort(np.concatenate([imin, mid[(before < 0) & (after > 0)]]))
  zc = int(np.count_nonzero(s[:-1] * s[1:] < 0))
  zero = np.flatnonzero(s == 0)
  if zero.size:  # a run of exact zeros counts once
    zc += int(np.count_nonzero(np.diff(np.concatenate([[-2], zero])) > 1))
  return imax, imin, zc


def _left(s: np.ndarray, imax: np.ndarray, imin: np.ndarray):
  """Mirrored extrema past the left end: (t_max, v_max, t_min, v_min), t ascending (negative or 0)."""
  if imax[0] < imin[0]:  # first extremum is a maximum
    if s[0] > s[imin[0]]:  # mirror about that maximum
      lmax, lmin, sym = imax[1:NBSYM + 1][::-1], imin[:NBSYM][::-1], imax[0]
    else:  # mirror about the end sample, which acts as a minimum
      lmax, lmin, sym = imax[:NBSYM][::-1], np.append(imin[:NBSYM - 1][::-1], 0), 0
  else:
    if s[0] < s[imax[0]]:
      lmax, lmin, sym = imax[:NBSYM][::-1], imin[1:NBSYM + 1][::-1], imin[0]
    else:
      lmax, lmin, sym = np.append(imax[:NBSYM - 1][::-1], 0), imin[:NBSYM][::-1], 0
  lmax = lmax if lmax.size else imax
  lmin = lmin if lmin.size else imin
  if sym != 0 and (2 * sym - lmin[0] > 0 or 2 * sym - lmax[0] > 0):  # does not reach past the end: use the end
    if sym == imax[0]:
      lmax = imax[:NBSYM][::-1]
    else:
      lmin = imin[:NBSYM][::-1]
    sym = 0
  return 2 * sym - lmax, s[lmax], 2 * sym - lmin, s[lmin]


def _points(s: np.ndarray, imax: np.ndarray, imin: np.ndarray):
  """The maxima's and minima's (t, v) incl. both mirrored ends, t strictly increasing."""
  n = len(s)
  ltmax, lvmax, ltmin, lvmin = _left(s, imax, imin)
  r = s[::-1]
  rtmax, rvmax, rtmin, rvmin = _left(r, (n - 1 - imax)[::-1], (n - 1 - imin)[::-1])
  out = []
  for lt, lv, idx, rt, rv in ((ltmax, lvmax, imax, rtmax, rvmax), (ltmin, lvmin, imin, rtmin, rvmin)):
    t = np.concatenate([lt, idx, (n - 1 - rt)[::-1]]).astype(np.float64)
    v = np.concatenate([lv, s[idx], rv[::-1]])
    keep = np.concatenate([[True], np.diff(t) != 0])  # an end sample used twice
    out += [t[keep], v[keep]]
  return out


def pchip(t: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
  """Monotone piecewise-cubic Hermite interpolant through (t, v) (t increasing), evaluated at 0..n-1."""
  h = np.diff(t)
  m = np.diff(v) / h
  if len(t) == 2:
    d = np.array([m[0], m[0]])
  else:
    d = np.zeros(len(t))
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    same = (m[:-1] * m[1:]) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
      d[1:-1] = np.where(same, (w1 + w2) / (w1 / m[:-1] + w2 / m[1:]), 0.0)
    for i, (h0, h1, m0, m1) in ((0, (h[0], h[1], m[0], m[1])), (-1, (h[-1], h[-2], m[-1], m[-2]))):
      e = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)  # the one-sided three-point end slope
      if np.sign(e) != np.sign(m0):
        e = 0.0
      elif np.sign(m0) != np.sign(m1) and abs(e) > 3 * abs(m0):
        e = 3 * m0
      d[i] = e
  x = np.arange(n, dtype=np.float64)
  k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 2)
  hk = h[k]
  u = (x - t[k]) / hk
  u2, u3 = u * u, u * u * u
  return ((2 * u3 - 3 * u2 + 1) * v[k] + (u3 - 2 * u2 + u) * hk * d[k] + (-2 * u3 + 3 * u2) * v[k + 1]
          + (u3 - u2) * hk * d[k + 1])


def _envelopes(s: np.ndarray, imax: np.ndarray, imin: np.ndarray, kind: str):
  tmax, vmax, tmin, vmin = _points(s, imax, imin)
  if kind == "pchip":
    return pchip(tmax, vmax, len(s)), pchip(tmin, vmin, len(s)), vmax, vmin
  x = np.arange(len(s))
  return interpolate.CubicSpline(tmax, vmax)(x), interpolate.CubicSpline(tmin, vmin)(x), vmax, vmin


def _is_imf(new: np.ndarray, old: np.ndarray, vmax: np.ndarray, vmin: np.ndarray, e) -> bool:
  if np.any(vmax < 0) or np.any(vmin > 0) or np.sum(new ** 2) < 1e-10:
    return False
  diff2 = np.sum((new - old) ** 2)
  span = old.max() - old.min()
  if span > 0 and diff2 / span < e.svar_thr:
    return True
  with np.errstate(divide="ignore", invalid="ignore"):
    if np.sum(((new - old) / new) ** 2) < e.std_thr:
      return True
  return diff2 / max(np.sum(old ** 2), 1e-300) < e.energy_ratio_thr


def emd_1d(s: np.ndarray, max_imf: int, e) -> tuple[np.ndarray, np.ndarray]:
  """1-D signal -> (IMFs [n, L] high -> low, residue [L]); n <= max_imf."""
  s = np.asarray(s, np.float64)
  imfs: list[np.ndarray] = []
  while len(imfs) < max_imf:
    imf = s - np.sum(imfs, axis=0) if imfs else s.copy()
    mx, mn, _ = extrema(imf)
    if len(mx) + len(mn) <= 2 or len(mx) == 0 or len(mn) == 0:
      break  # a trend: no more oscillation to sift
    for _ in range(int(e.max_iteration) - 1):
      upper, lower, vmax, vmin = _envelopes(imf, mx, mn, e.spline_kind)
      old = imf
      imf = imf - 0.5 * (upper + lower)
      mx, mn, zc = extrema(imf)
      if len(mx) == 0 or len(mn) == 0 or len(mx) + len(mn) <= 2:
        break
      if _is_imf(imf, old, vmax, vmin, e) and abs(len(mx) + len(mn) - zc) < 2:
        break
    imfs.append(imf)
    rest = s - np.sum(imfs, axis=0)
    if rest.max() - rest.min() < e.range_thr or np.sum(np.abs(rest)) < e.total_power_thr:
      break
  stack = np.asarray(imfs) if imfs else np.zeros((0, len(s)))
  return stack, s - stack.sum(axis=0)


def emd(x: np.ndarray, cfg, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """[F, D] -> (IMFs [F, C, D] low -> high, valid [F, C], remainder [F, D] = residue + frame mean)."""
  x = np.asarray(x, np.float64)
  comps = np.zeros((x.shape[0], n_components, x.shape[1]))
  valid = np.zeros((x.shape[0], n_components), bool)
  remainder = np.zeros_like(x)
  for f, row in enumerate(x):
    mean = row.mean()
    imfs, residue = emd_1d(row - mean, n_components, cfg.emd)
    n = len(imfs)
    comps[f, :n], valid[f, :n] = imfs[::-1], True  # low -> high, packed first
    remainder[f] = residue + mean
  return comps, valid, remainder
