"""BSS Eval v3 source metrics (SDR / SIR / SAR with permutation matching), NSDR and GNSDR in JAX, batched over tracks.

Definitions (Vincent et al. 2006; `mir_eval.separation.bss_eval_sources` semantics, distortion filters of length L=512):
for an estimate e and references r_1..r_S (all zero-padded by L-1 samples), P_j e is the least-squares projection of e
on the L delayed copies of r_j and P e the projection on the S*L delayed copies of every reference. Then
  SDR = |P_j e|^2 / |e - P_j e|^2,   SIR = |P_j e|^2 / |P e - P_j e|^2,   SAR = |P e|^2 / |e - P e|^2   (in dB).
Because the projections are orthogonal, with e and r normalised to unit energy each ratio depends only on two
"coherences": c_j = b_j^T G_jj^-1 b_j = |P_j e|^2 and c = b^T G^-1 b = |P e|^2, where G is the (block-)Toeplitz Gram
matrix of the delayed references and b their correlations with e. So instead of mir_eval's S^2 full projections
(each a dense (S*L)^2 solve plus filtering in time), one track costs S rFFTs, S^2 cross-spectra, ONE (S*L)^2 solve with
S right-hand sides (all estimates at once) and S L^2 solves. The same closed form is used by fast_bss_eval; this is
our own derivation and code.

Precision: the Gram matrices of tonal (narrow-band) references are very ill-conditioned, and SDRs of 20-40 dB need
1 - c to many digits, so the numpy front end `bss_eval_sources` runs the whole jitted computation in float64 inside a
scoped `jax.enable_x64(True)` (thread-local; the library never switches x64 on globally). `precision="float32"`
keeps device-native float32 (faster on accelerators without fast float64): SDR stays within ~1e-3 dB, but SAR of
20-30 dB can be off by ~1 dB (1 - c at c ~ 1), see docs/convae_bss_metrics.md; report float64 numbers.
`bss_eval_sources_jax` is the pure jnp core for callers that are already inside a jit.

Solver: G is symmetric positive definite and (block-)Toeplitz, so the block Levinson recursion solves it in
O(L^2 S^3) instead of a dense O((L S)^3) LU; one step of iterative refinement recovers the accuracy Levinson loses
on ill-conditioned G, and a track whose relative residual stays above LEVINSON_MAX_RESIDUAL is redone densely.

Permutation: like mir_eval, every permutation of the estimates is scored by its mean SIR and the best is kept (first
in `itertools.permutations` order on ties); perm[j] is the estimate matched to reference j.
"""
from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

from decompjax.errors import ConfigError, DataError

FILTER_LENGTH = 512
MAX_PERMUTED_SOURCES = 7  # 7! = 5040 permutations; beyond that brute force is not sensible
_PRECISIONS = ("float64", "float32")
# Relative residual above which a Levinson solve is not trusted and the track is redone with the dense LU.
LEVINSON_MAX_RESIDUAL = {"float64": 1e-9, "float32": 1e-3}


# ----------------------------------------------------------------------------------------------------------- checks
def check_sources(reference, estimate, *, what: str = "bss_eval") -> tuple[np.ndarray, np.ndarray]:
  """Validates references/estimates `[..., S, T]` (a 1-D `[T]` is one source): same shape, finite, no silent source.
  Returns both as float64 numpy arrays with at least 2 dims. Raises DataError naming the problem and the index."""
  ref, est = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
  if ref.shape != est.shape:
    raise DataError(f"{what}: reference shape {ref.shape} and estimate shape {est.shape} differ "
                    "(both must be [..., sources, samples])")
  if ref.ndim == 1:
    ref, est = ref[None], est[None]
  if ref.shape[-1] < 2 or ref.shape[-2] < 1:
    raise DataError(f"{what}: need [..., sources, samples] with >= 1 source and >= 2 samples, got {ref.shape}")
  for name, arr in (("reference", ref), ("estimate", est)):
    if not np.all(np.isfinite(arr)):
      raise DataError(f"{what}: the {name} contains NaN or Inf")
    silent = ~np.any(arr != 0, axis=-1)
    if np.any(silent):
      idx = tuple(int(i) for i in np.argwhere(silent)[0])
      raise DataError(f"{what}: {name} source at index {idx} (leading axes..., source) is silent (all zeros); "
                      f"{what} is undefined for a silent source")
  return ref, est


def _check_filter_length(filter_length, num_samples: int) -> int:
  if not isinstance(filter_length, (int, np.integer)) or filter_length < 1:
    raise ConfigError(f"bss_eval: filter_length must be a positive int, got {filter_length!r}")
  if filter_length > num_samples:
    raise DataError(f"bss_eval: filter_length={filter_length} is longer than the signals ({num_samples} samples)")
  return int(filter_length)


def _check_precision(precision: str) -> str:
  if precision not in _PRECISIONS:
    raise ConfigError(f"bss_eval: precision must be one of {_PRECISIONS}, got {precision!r}")
  return precision


# ----------------------------------------------------------------------------------------------------------- core
def _unit(x):
  return x / jnp.sqrt(jnp.sum(jnp.square(x), axis=-1, keepdims=True))


def _small_inv(m):
  """Inverse of a tiny [S, S] matrix; closed form for S <= 2 (a LAPACK call per Levinson step costs more)."""
  size = m.shape[-1]
  if size == 1:
    return 1.0 / m
  if size == 2:
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    return jnp.stack([jnp.stack([d, -b]), jnp.stack([-c, a])]) / (a * d - b * c)
  return jnp.linalg.inv(m)


def _tall(a, m):
  """[N, S] @ [S, K] as S fused multiply-adds: XLA CPU runs such tall-skinny dots several times slower."""
  out = a[:, :1] * m[:1]
  for j in range(1, a.shape[1]):
    out = out + a[:, j:j + 1] * m[j:j + 1]
  return out


def block_levinson(lags, rhs):
  """Solves the symmetric positive-definite block-Toeplitz system sum_b R(a-b) x_b = y_a, a, b = 0..L-1, in
  O(L^2 S^3) with the block Levinson recursion (forward/backward vectors, Whittle 1963; Wiggins & Robinson 1965).

  lags: [2L-1, S, S], lags[t + L - 1] = R(t) (R(-t) = R(t)^T); rhs y: [L, S, K]. Returns x [L, S, K].
  Step n extends the forward vector f (T_n f = e_first), backward vector b (T_n b = e_last) and solution x from n to
  n+1 blocks; each step is a few length-(L*S) contractions, so the whole solve is ~L^2 S^2 K flops instead of a dense
  (L S)^3 factorisation."""
  length, num, num_rhs = rhs.shape
  eye = jnp.eye(num, dtype=rhs.dtype)
  # Row-major [i, (m, j)] layouts make every contraction one 2-D dot.
  rev = jnp.transpose(lags[::-1], (1, 0, 2)).reshape(num, (2 * length - 1) * num)  # [i,(k,j)] = R(L-1-k)[i,j]
  rneg = jnp.concatenate([lags[:length - 1][::-1], jnp.zeros_like(lags[:1])])  # rneg[m] = R(-(m+1))
  rneg = jnp.transpose(rneg, (1, 0, 2)).reshape(num, length * num)
  y = rhs.reshape(length * num, num_rhs)
  inv0 = _small_inv(lags[length - 1])
  fwd = jnp.zeros((length * num, num), rhs.dtype).at[:num].set(inv0)
  sol = jnp.zeros((length * num, num_rhs), rhs.dtype).at[:num].set(inv0 @ rhs[0])

  def step(n, carry):
    fwd, bwd, sol = carry
    r_n = jax.lax.dynamic_slice_in_dim(rev, (length - 1 - n) * num, length * num, axis=1)  # [i,(m,j)] = R(n-m)
    err = r_n @ jnp.concatenate([fwd, sol], axis=1)  # last row of T_{n+1} times [f; 0] and [x; 0]
    err_f, err_x = err[:, :num], err[:, num:]
    err_b = rneg @ bwd  # first row of T_{n+1} times [0; b]
    alpha = _small_inv(eye - err_b @ err_f)
    delta = _small_inv(eye - err_f @ err_b)
    shifted = jnp.roll(bwd, num, axis=0)  # [0; b] (b's last block is still zero)
    fwd_new = _tall(fwd, alpha) - _tall(shifted, err_f @ alpha)
    bwd_new = _tall(shifted, delta) - _tall(fwd, err_b @ delta)
    y_n = jax.lax.dynamic_slice_in_dim(y, n * num, num, axis=0)
    return fwd_new, bwd_new, sol + _tall(bwd_new, y_n - err_x)

  sol = jax.lax.fori_loop(1, length, step, (fwd, fwd, sol))[2]
  return sol.reshape(length, num, num_rhs)


def _dense_solve(lags, rhs):
  """Same system as block_levinson by a dense LU solve of the (L S)^2 matrix (the cross-check; slow)."""
  length, num, num_rhs = rhs.shape
  toep = np.arange(length)[:, None] - np.arange(length)[None, :] + length - 1
  gram = jnp.transpose(lags[toep], (0, 2, 1, 3)).reshape(length * num, length * num)  # [(a,i),(b,j)] = R(a-b)[i,j]
  return jnp.linalg.solve(gram, rhs.reshape(length * num, num_rhs)).reshape(length, num, num_rhs)




def _toeplitz_matvec(lags, x):
  """(T x)_a = sum_b R(a-b) x_b for lags [2L-1, S, S] and x [L, S, K], by FFT convolution (no dense matrix)."""
  length = x.shape[0]
  n_fft = 1 << math.ceil(math.log2(3 * length - 2))
  conv = jnp.fft.irfft(jnp.einsum("fij,fjk->fik", jnp.fft.rfft(lags, n=n_fft, axis=0),
                                  jnp.fft.rfft(x, n=n_fft, axis=0)), n=n_fft, axis=0)
  return conv[length - 1:2 * length - 1]


def _refined_levinson(lags, rhs):
  """block_levinson plus one step of iterative refinement (Levinson is only weakly stable on ill-conditioned T)."""
  sol = block_levinson(lags, rhs)
  return sol + block_levinson(lags, rhs - _toeplitz_matvec(lags, sol))


_SOLVERS = {"levinson": _refined_levinson, "dense": _dense_solve}


def _coherence(lags, rhs, solve):
  """(y^T T^-1 y per right-hand side [K], max relative residual |T x - y| / |y|) at the solver's x.

  The coherence is evaluated as max_x 2 y^T x - x^T T x: an error d in x costs only d^T T d, which stays small along
  the near-null directions of an ill-conditioned T where the solve is least accurate (y^T x is off by y^T d)."""
  sol = solve(lags, rhs)
  t_sol = _toeplitz_matvec(lags, sol)
  coh = jnp.sum(2.0 * rhs * sol - sol * t_sol, axis=(0, 1))
  resid = jnp.max(jnp.abs(t_sol - rhs)) / jnp.max(jnp.abs(rhs))
  return coh, resid


def _track_coherences(ref, est, filter_length: int, solver: str):
  """One track, ref/est [S, T] -> (coh_src [S_est, S_ref] = |P_j e_k|^2, coh_all [S_est] = |P e_k|^2, the largest
  relative residual of the solves) for unit-energy signals.
  R(t)[i, j] = sum_u r_i(u) r_j(u+t); y[d, j, k] = sum_u r_j(u) e_k(u+d)."""
  num_src, num_samples = ref.shape
  length = filter_length
  n_fft = 1 << math.ceil(math.log2(num_samples + length - 1))  # no circular wrap for lags |t| < L
  ref, est = _unit(ref), _unit(est)
  spec_r = jnp.fft.rfft(ref, n=n_fft)
  spec_e = jnp.fft.rfft(est, n=n_fft)
  lag_idx = np.concatenate([np.arange(n_fft - length + 1, n_fft), np.arange(length)])  # t = -(L-1)..(L-1)
  xc_rr = jnp.fft.irfft(jnp.conj(spec_r)[:, None] * spec_r[None], n=n_fft)[..., lag_idx]  # [S, S, 2L-1]
  xc_re = jnp.fft.irfft(jnp.conj(spec_r)[:, None] * spec_e[None], n=n_fft)[..., :length]  # [S_ref, S_est, L]
  solve = _SOLVERS[solver]
  lags = jnp.transpose(xc_rr, (2, 0, 1))  # [2L-1, S, S]
  rhs = jnp.transpose(xc_re, (2, 0, 1))  # [L, S_ref, S_est]
  # Projection on all references: one block system, every estimate a right-hand side.
  coh_all, resid_all = _coherence(lags, rhs, solve)  # [S_est]
  # Per-reference projections: S scalar Toeplitz systems.
  own_lags = xc_rr[np.arange(num_src), np.arange(num_src)].T[:, None, None, :]  # [2L-1, 1, 1, S_ref]
  own_rhs = jnp.transpose(xc_re, (2, 1, 0))[:, None]  # [L, 1, S_est, S_ref]
  coh_src, resid_src = jax.vmap(functools.partial(_coherence, solve=solve), in_axes=(-1, -1), out_axes=-1)(
      own_lags, own_rhs)  # [S_est, S_ref]
  return coh_src, coh_all, jnp.maximum(resid_all, jnp.max(resid_src))


def _ratio_db(num, den):
  """10 log10(num / den) with num, den >= 0: den == 0 gives +inf (as mir_eval's _safe_db)."""
  return 10.0 * (jnp.log10(num) - jnp.log10(den))


def _pair_metrics(coh_src, coh_all):
  """Coherences -> SDR, SIR, SAR for every (estimate, reference) pair, each [..., S_est, S_ref] (SAR broadcast).
  Clipping keeps 0 <= c_j <= c <= 1, which rounding can break in ill-conditioned systems."""
  coh_all = jnp.clip(coh_all, 0.0, 1.0)[..., :, None]
  coh_src = jnp.clip(coh_src, 0.0, coh_all)
  sdr = _ratio_db(coh_src, 1.0 - coh_src)
  sir = _ratio_db(coh_src, coh_all - coh_src)
  sar = jnp.broadcast_to(_ratio_db(coh_all, 1.0 - coh_all), sdr.shape)
  return sdr, sir, sar


@functools.lru_cache(maxsize=None)
def _permutations(num_src: int) -> np.ndarray:
  return np.array(list(itertools.permutations(range(num_src))), np.int32)  # [P, S], itertools order


def _match(sdr, sir, sar, compute_permutation: bool):
  """[..., S_est, S_ref] pair metrics -> per-reference metrics [..., S] and perm [..., S] (estimate of reference j)."""
  num_src = sdr.shape[-1]
  ref_idx = np.arange(num_src)
  if not compute_permutation:
    perm = jnp.broadcast_to(jnp.asarray(ref_idx, jnp.int32), sdr.shape[:-1])
  else:
    perms = _permutations(num_src)  # [P, S]
    mean_sir = jnp.mean(sir[..., perms, ref_idx], axis=-1)  # [..., P]
    perm = jnp.asarray(perms)[jnp.argmax(mean_sir, axis=-1)]  # argmax: first best, as mir_eval
  pick = lambda m: jnp.take_along_axis(m, perm[..., None, :], axis=-2)[..., 0, :]
  return pick(sdr), pick(sir), pick(sar), perm


def bss_eval_sources_jax(reference, estimate, *, filter_length: int = FILTER_LENGTH,
                         compute_permutation: bool = True, solver: str = "levinson") -> dict:
  """Pure jnp BSS Eval v3: reference/estimate `[..., S, T]` -> {sdr, sir, sar, perm} each `[..., S]` (dB; perm int)
  and 'residual' `[...]`, the largest relative residual |T x - y| / |y| of the track's linear solves (large = the
  Gram matrix is too ill-conditioned for the solver; `bss_eval_sources` then redoes the track with 'dense').

  No input checks (it can be traced): silent sources give NaN/inf. Runs in the inputs' dtype; wrap it in jit. Use
  `bss_eval_sources` for checked numpy in / numpy out in float64."""
  ref, est = jnp.asarray(reference), jnp.asarray(estimate)
  lead, (num_src, num_samples) = ref.shape[:-2], ref.shape[-2:]
  flat = lambda x: x.reshape((-1, num_src, num_samples))
  track = functools.partial(_track_coherences, filter_length=filter_length, solver=solver)
  coh_src, coh_all, resid = jax.vmap(track)(flat(ref), flat(est))
  sdr, sir, sar, perm = _match(*_pair_metrics(coh_src, coh_all), compute_permutation)
  unflat = lambda x: x.reshape(lead + (num_src,))
  return {"sdr": unflat(sdr), "sir": unflat(sir), "sar": unflat(sar), "perm": unflat(perm),
          "residual": resid.reshape(lead)}


@functools.partial(jax.jit, static_argnames=("filter_length", "compute_permutation", "solver"))
def _bss_eval_jit(reference, estimate, filter_length, compute_permutation, solver):
  return bss_eval_sources_jax(reference, estimate, filter_length=filter_length,
                              compute_permutation=compute_permutation, solver=solver)


def _run_chunks(fn, arrays, batch_size: int, precision: str) -> dict:
  """Runs fn on chunks of `batch_size` tracks (the last one padded by repetition, so one compiled shape) and
  concatenates; float64 runs inside a scoped enable_x64."""
  num = arrays[0].shape[0]
  dtype = np.float64 if precision == "float64" else np.float32
  outs = []
  with jax.enable_x64(precision == "float64"):
    for start in range(0, num, batch_size):
      chunk = [a[start:start + batch_size].astype(dtype) for a in arrays]
      pad = batch_size - chunk[0].shape[0] if num > batch_size else 0
      if pad:
        chunk = [np.concatenate([c, np.repeat(c[-1:], pad, axis=0)]) for c in chunk]
      out = jax.device_get(fn(*chunk))
      outs.append({k: np.asarray(v)[:batch_size - pad] for k, v in out.items()})
  return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def bss_eval_sources(reference, estimate, *, filter_length: int = FILTER_LENGTH, compute_permutation: bool = True,
                     precision: str = "float64", solver: str = "levinson",
                     batch_size: int = 8) -> dict[str, np.ndarray]:
  """BSS Eval v3 `bss_eval_sources` on numpy tracks, batched and jitted.

  reference, estimate: `[..., S, T]` (or `[T]`); leading axes are tracks. Returns {'sdr', 'sir', 'sar': float64
  `[..., S]` in dB, 'perm': int `[..., S]`} where perm[j] is the estimate matched to reference j (identity when
  compute_permutation=False) and the metrics are those of that pair. precision: 'float64' (default; matches
  mir_eval to ~1e-6 dB on well-conditioned tracks) or 'float32'. solver: 'levinson' (refined block Levinson; a track
  whose relative solve residual exceeds LEVINSON_MAX_RESIDUAL, or that gives NaN, is redone with 'dense') or 'dense'
  (LU of the (S L)^2 Gram matrix, as mir_eval; slow). batch_size tracks are evaluated per jitted call.
  Raises DataError for mismatched shapes, non-finite values or a silent reference/estimate (as mir_eval does)."""
  ref, est = check_sources(reference, estimate, what="bss_eval_sources")
  _check_precision(precision)
  length = _check_filter_length(filter_length, ref.shape[-1])
  num_src = ref.shape[-2]
  if compute_permutation and num_src > MAX_PERMUTED_SOURCES:
    raise DataError(f"bss_eval_sources: {num_src} sources is too many for the brute-force permutation search "
                    f"(max {MAX_PERMUTED_SOURCES}); pass compute_permutation=False")
  lead = ref.shape[:-2]
  flat = lambda x: x.reshape((-1,) + x.shape[-2:])
  if solver not in _SOLVERS:
    raise ConfigError(f"bss_eval_sources: solver must be one of {tuple(_SOLVERS)}, got {solver!r}")
  ref, est = flat(ref), flat(est)
  fn = functools.partial(_bss_eval_jit, filter_length=length, compute_permutation=bool(compute_permutation))
  out = _run_chunks(functools.partial(fn, solver=solver), [ref, est], max(1, int(batch_size)), precision)
  broke = np.any(np.isnan(out["sdr"]) | np.isnan(out["sir"]) | np.isnan(out["sar"]), axis=-1)
  broke |= ~(out.pop("residual") <= LEVINSON_MAX_RESIDUAL[precision])
  if solver == "levinson" and np.any(broke):  # ill-conditioned Gram: redo those tracks with the dense LU
    redo = _run_chunks(functools.partial(fn, solver="dense"), [ref[broke], est[broke]], 1, precision)
    for k in out:
      out[k][broke] = redo[k]
  out.pop("residual", None)
  return {k: (v.astype(np.float64) if k != "perm" else v.astype(np.int64)).reshape(lead + (num_src,))
          for k, v in out.items()}


def bss_eval_sources_framewise(reference, estimate, *, window: int, hop: int, filter_length: int = FILTER_LENGTH,
                               compute_permutation: bool = True, precision: str = "float64",
                               solver: str = "levinson", batch_size: int = 8) -> dict[str, np.ndarray]:
  """BSS Eval v3 on frames (mir_eval `bss_eval_sources_framewise` semantics): reference/estimate `[S, T]` ->
  {sdr, sir, sar, perm} each `[S, num_frames]` with num_frames = floor((T - window + hop) / hop); a frame where any
  reference or estimate is silent is NaN (perm -1). Fewer than 2 frames: the whole-track result, one column."""
  ref, est = check_sources(reference, estimate, what="bss_eval_sources_framewise")
  if ref.ndim != 2:
    raise DataError(f"bss_eval_sources_framewise: expects one track [sources, samples], got {ref.shape}")
  if not (isinstance(window, (int, np.integer)) and isinstance(hop, (int, np.integer)) and window > 0 and hop > 0):
    raise ConfigError(f"bss_eval_sources_framewise: window and hop must be positive ints, got {window!r}, {hop!r}")
  num_frames = (ref.shape[1] - window + hop) // hop
  if num_frames < 2:
    out = bss_eval_sources(ref, est, filter_length=filter_length, compute_permutation=compute_permutation,
                           precision=precision, solver=solver, batch_size=batch_size)
    return {k: v[:, None] for k, v in out.items()}
  starts = np.arange(num_frames) * hop
  frames = lambda x: np.stack([x[:, s:s + window] for s in starts])  # [F, S, window]
  ref_f, est_f = frames(ref), frames(est)
  silent = np.any(~np.any(ref_f != 0, -1) | ~np.any(est_f != 0, -1), axis=-1)  # [F]
  num_src = ref.shape[0]
  result = {k: np.full((num_frames, num_src), np.nan) for k in ("sdr", "sir", "sar")}
  result["perm"] = np.full((num_frames, num_src), -1, np.int64)
  if np.any(~silent):
    out = bss_eval_sources(ref_f[~silent], est_f[~silent], filter_length=filter_length,
                           compute_permutation=compute_permutation, precision=precision, solver=solver,
                           batch_size=batch_size)
    for k, v in out.items():
      result[k][~silent] = v
  return {k: v.T for k, v in result.items()}


# ------------------------------------------------------------------------------------------------------ baselines
def nsdr(reference, estimate, mixture, *, filter_length: int = FILTER_LENGTH, precision: str = "float64",
         batch_size: int = 8) -> dict[str, np.ndarray]:
  """Normalised SDR: SDR(estimate) - SDR(mixture as the estimate of every source), per source.

  reference, estimate `[..., S, T]`, mixture `[..., T]`. The estimate's SDR is permutation-matched (its order is
  `perm`, reported); the mixture baseline needs no matching. Returns {'nsdr', 'sdr', 'sdr_mixture', 'perm'}
  each `[..., S]`."""
  ref, est = check_sources(reference, estimate, what="nsdr")
  mix = np.asarray(mixture, np.float64)
  if mix.shape != ref.shape[:-2] + ref.shape[-1:]:
    raise DataError(f"nsdr: mixture shape {mix.shape} must be the reference shape {ref.shape} without the source "
                    f"axis, i.e. {ref.shape[:-2] + ref.shape[-1:]}")
  mix_est = np.broadcast_to(mix[..., None, :], ref.shape)
  kw = dict(filter_length=filter_length, precision=precision, batch_size=batch_size)
  out = bss_eval_sources(ref, est, compute_permutation=True, **kw)
  # Every "estimate" is the mixture, so each reference's metrics do not depend on the matching; keeping the search on
  # reuses the estimate's compiled program.
  base = bss_eval_sources(ref, mix_est, compute_permutation=True, **kw)
  return {"nsdr": out["sdr"] - base["sdr"], "sdr": out["sdr"], "sdr_mixture": base["sdr"], "perm": out["perm"]}


def gnsdr(nsdr_values, lengths) -> np.ndarray:
  """Global NSDR (MIR-1K convention): the mean of per-track NSDR `[N, S]` weighted by track length `[N]` -> `[S]`."""
  values, weights = np.asarray(nsdr_values, np.float64), np.asarray(lengths, np.float64)
  if values.ndim != 2 or weights.shape != values.shape[:1]:
    raise DataError(f"gnsdr: need nsdr [tracks, sources] and lengths [tracks], got {values.shape} and {weights.shape}")
  if np.any(weights <= 0):
    raise DataError("gnsdr: every track length must be positive")
  return np.sum(values * weights[:, None], axis=0) / np.sum(weights)
