"""VMD: variational mode decomposition (Dragomiretskiy & Zosso 2014), its ADMM loop in JAX over many frames at once.

The algorithm is vmdpy.VMD's (Zosso's MATLAB code): mirror-extend the frame, keep the positive half-spectrum, then
Gauss-Seidel updates of each mode's spectrum (a Wiener filter around its centre frequency) and centre frequency,
and a dual ascent step (tau). The negative-frequency half stays exactly zero in that algorithm, so only the
positive half is iterated. The updates run in a jitted `jax.lax.while_loop` on [frames, bins, K] arrays, in
chunks of CHUNK iterations; each frame keeps its own iteration count and freezes once its update norm falls to
`tol` (so it ends where vmdpy's per-frame loop would), and frames that have converged are dropped between chunks
(batch padded to a power of 2, so few shapes compile). Modes come back sorted by their final centre frequency
(low -> high).

The loop runs in float64 inside a scoped `jax.enable_x64` (thread-local; nothing global): vmdpy's tol 1e-8 is
absolute, and float32 spectra of a unit-variance frame cannot get their update norm that low, so every frame would
run to max_iter. `init=2` (random centre frequencies) draws from np.random.default_rng(seed): same seed, same result.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

CHUNK = 8       # iterations between refills of the batch
MAX_SLOTS = 64  # frames iterated together


@functools.partial(jax.jit, static_argnames=("k", "dc", "steps"))
def _admm_chunk(state, f_re, f_im, freqs, alpha, tau, tol, limit, *, k: int, dc: bool, steps: int):
  """Up to `steps` ADMM iterations. state = (n [F], u [2, K, F, B], omega [F, K], lam [2, F, B],
  sum_uk [2, F, B], active [F]); complex values are (real, imag) pairs and each mode is contiguous (XLA
  vectorises that best). f_re/f_im [F, B] is the positive half-spectrum, freqs [B] its frequencies."""
  def body(carry):
    i, (n, u, omega, lam, sum_uk, active) = carry
    (ur, ui), (lr, li) = u, lam
    sr, si = sum_uk
    new_r, new_i = [], []
    for j in range(k):  # Gauss-Seidel over the modes; each uses the old centre frequencies
      pr, pi = (ur[k - 1], ui[k - 1]) if j == 0 else (new_r[j - 1], new_i[j - 1])
      sr, si = pr + sr - ur[j], pi + si - ui[j]  # the sum of the other modes' latest spectra
      gain = 1.0 / (1.0 + alpha * (freqs[None, :] - omega[:, j:j + 1]) ** 2)
      new_r.append((f_re - sr - lr / 2) * gain)
      new_i.append((f_im - si - li / 2) * gain)
    nr, ni = jnp.stack(new_r), jnp.stack(new_i)  # [K, F, B]
    p = nr * nr + ni * ni
    den = p.sum(axis=-1)
    centre = jnp.where(den > 0, (p @ freqs) / jnp.where(den > 0, den, 1.0), omega.T).T  # all-zero mode: keep
    new_omega = centre.at[:, 0].set(omega[:, 0]) if dc else centre
    nlr, nli = lr + tau * (nr.sum(axis=0) - f_re), li + tau * (ni.sum(axis=0) - f_im)
    dr, di = nr - ur, ni - ui
    # vmdpy sums over all 2B bins of the mirrored spectrum; the other half is zero
    diff = jnp.finfo(jnp.float64).eps + (dr * dr + di * di).sum(axis=(0, 2)) / (2 * f_re.shape[1])
    a = active[None, :, None]
    # A finished frame keeps its modes and centre frequencies; its lam / sum_uk are never read again (it leaves
    # the batch), so they are not frozen.
    return i + 1, (n + active, jnp.stack([jnp.where(a, nr, ur), jnp.where(a, ni, ui)]),
                   jnp.where(active[:, None], new_omega, omega), jnp.stack([nlr, nli]), jnp.stack([sr, si]),
                   active & (diff > tol) & (n + 1 < limit))

  def cond(carry):
    return (carry[0] < steps) & jnp.any(carry[1][5])

  return jax.lax.while_loop(cond, body, (0, state))[1]


def initial_omega(n_frames: int, k: int, length: int, init: int, dc: bool, seed: int) -> np.ndarray:
  """[F, K] starting centre frequencies (cycles/sample): 0, uniform (0.5/K)*k, or sorted log-uniform random."""
  if init == 1:
    omega = np.tile((0.5 / k) * np.arange(k), (n_frames, 1))
  elif init == 2:
    fs = 1.0 / length
    r = np.random.default_rng(seed).random((n_frames, k))
    omega = np.sort(np.exp(np.log(fs) + (np.log(0.5) - np.log(fs)) * r), axis=1)
  else:
    omega = np.zeros((n_frames, k))
  if dc:
    omega[:, 0] = 0.0
  return omega


def _slots(n_frames: int) -> int:
  """Batch size of the ADMM loop: n_frames below 8 (a sequence runs alone), else a power of 2 up to MAX_SLOTS
  (one compiled shape per size)."""
  return n_frames if n_frames < 8 else min(MAX_SLOTS, 1 << (n_frames - 1).bit_length())


def admm(f_hat: np.ndarray, omega0: np.ndarray, v, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """f_hat [F, B] positive half-spectrum -> (u_hat [F, B, K], omega [F, K], iterations [F]).

  Continuous batching: a fixed number of slots iterate CHUNK steps at a time; after each chunk, frames that have
  converged (or hit max_iter) are written out and their slots refilled with waiting frames, so one shape is
  compiled per batch size, and little work is spent on finished frames; once no frame waits, the batch shrinks
  (powers of 2, >= 8) to the frames still running.
  """
  f, b = f_hat.shape
  freqs = np.arange(b) / (2 * b)  # vmdpy's freqs[T/2:] (= i/T), T = 2B
  limit = int(v.max_iter) - 1  # vmdpy: while n < Niter - 1
  u_out, omega_out, n_out = np.zeros((f, b, k), np.complex128), np.asarray(omega0, np.float64).copy(), \
      np.zeros(f, np.int64)
  if limit <= 0:
    return u_out, omega_out, n_out
  size = _slots(f)
  frame_of = np.full(size, -1)  # which frame each slot holds (-1 = empty)
  n, omega, active = np.zeros(size, np.int64), np.zeros((size, k)), np.zeros(size, bool)
  u, lam, sum_uk = np.zeros((2, k, size, b)), np.zeros((2, size, b)), np.zeros((2, size, b))
  f_re, f_im = np.zeros((size, b)), np.zeros((size, b))
  waiting = 0
  with jax.enable_x64(True):
    while True:
      for slot in np.flatnonzero(frame_of < 0):  # refill empty slots with fresh frames
        if waiting == f:
          break
        frame_of[slot], n[slot], omega[slot], active[slot] = waiting, 0, omega_out[waiting], True
        u[:, :, slot], lam[:, slot], sum_uk[:, slot] = 0.0, 0.0, 0.0
        f_re[slot], f_im[slot] = f_hat[waiting].real, f_hat[waiting].imag
        waiting += 1
      if not active.any():
        break
      if waiting == f and size > 8 and active.sum() <= size // 2:  # the tail: shrink to the frames left
        keep = np.flatnonzero(active)
        size = max(8, _slots(len(keep)))
        sel = np.concatenate([keep, np.full(size - len(keep), keep[0])])
        pad = np.arange(size) >= len(keep)
        frame_of, n, omega, active = frame_of[sel], n[sel], omega[sel], active[sel] & ~pad
        frame_of[pad] = -1
        u, lam, sum_uk, f_re, f_im = u[:, :, sel], lam[:, sel], sum_uk[:, sel], f_re[sel], f_im[sel]
      out = _admm_chunk((n, u, omega, lam, sum_uk, active), f_re, f_im, freqs, float(v.alpha), float(v.tau),
                        float(v.tol), limit, k=k, dc=bool(v.dc), steps=CHUNK)
      n, u, omega, lam, sum_uk, active = (np.array(a) for a in out)
      done = (frame_of >= 0) & ~active
      rows = frame_of[done]
      u_out[rows] = np.moveaxis(u[0][:, done] + 1j * u[1][:, done], 0, -1)
      omega_out[rows], n_out[rows] = omega[done], n[done]
      frame_of[done] = -1
  return u_out, omega_out, n_out


def vmd(x: np.ndarray, cfg, n_components: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                       np.ndarray]:
  """[F, D] -> (modes [F, K, D] sorted by centre frequency, valid [F, K], remainder [F, D] zeros (VMD's own
  misfit is left to the NRMSE), omega [F, K] in cycles/sample). An odd D loses its last sample (as vmdpy)."""
  x = np.asarray(x, np.float64)
  d = x.shape[1] - x.shape[1] % 2
  xs, half = x[:, :d], d // 2
  mirrored = np.concatenate([xs[:, :half][:, ::-1], xs, xs[:, -half:][:, ::-1]], axis=1)
  t = mirrored.shape[1]
  f_hat = np.fft.fftshift(np.fft.fft(mirrored, axis=-1), axes=-1)[:, t // 2:]
  omega0 = initial_omega(x.shape[0], n_components, d, int(cfg.vmd.init), bool(cfg.vmd.dc), seed)
  u_pos, omega, _ = admm(f_hat, omega0, cfg.vmd, n_components)
  # Hermitian completion of the one-sided spectrum, back to time, un-mirror (vmdpy's index conventions).
  u_hat = np.zeros((x.shape[0], t, n_components), np.complex128)
  u_hat[:, t // 2:] = u_pos
  u_hat[:, np.arange(t // 2, 0, -1)] = np.conj(u_pos)
  u_hat[:, 0] = np.conj(u_hat[:, -1])
  u = np.fft.ifft(np.fft.ifftshift(u_hat, axes=1), axis=1).real[:, t // 4:3 * t // 4]  # [F, d, K]
  order = np.argsort(omega, axis=1, kind="stable")
  modes = np.take_along_axis(np.moveaxis(u, 2, 1), order[:, :, None], axis=1)
  omega = np.take_along_axis(omega, order, axis=1)
  full = np.zeros((x.shape[0], n_components, x.shape[1]))
  full[:, :, :d] = modes
  return full, np.ones(full.shape[:2], bool), np.zeros_like(x), omega
