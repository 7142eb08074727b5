"""Scale-invariant SDR (Le Roux et al. 2019, "SDR - half-baked or well done?") in JAX, batched over leading axes.

SI-SDR = 10 log10(|a s|^2 / |e - a s|^2) with a = <e, s> / |s|^2: the estimate e is compared with the best-scaled
reference s, so gain does not matter but any filtering does (unlike BSS Eval's 512-tap SDR). A scaled copy of the
reference has zero error energy; the ratio is capped at `max_db` instead of returning inf or NaN. No permutation
matching: pass estimates already ordered (e.g. by `bss_eval_sources`' perm).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from decompjax.metrics.bss_eval import check_sources

MAX_DB = 100.0


def si_sdr_jax(reference, estimate, *, zero_mean: bool = False, max_db: float = MAX_DB):
  """Pure jnp SI-SDR in dB: reference/estimate `[..., T]` -> `[...]`, in the inputs' dtype (no checks)."""
  ref, est = jnp.asarray(reference), jnp.asarray(estimate)
  if zero_mean:
    ref = ref - jnp.mean(ref, axis=-1, keepdims=True)
    est = est - jnp.mean(est, axis=-1, keepdims=True)
  scale = jnp.sum(est * ref, axis=-1, keepdims=True) / jnp.sum(ref * ref, axis=-1, keepdims=True)
  target = scale * ref
  signal = jnp.sum(jnp.square(target), axis=-1)
  noise = jnp.sum(jnp.square(est - target), axis=-1)
  # Cap at max_db: a scaled copy (noise ~ 0) gives max_db, not inf/NaN.
  noise = jnp.maximum(noise, signal * 10.0 ** (-max_db / 10.0))
  return 10.0 * (jnp.log10(signal) - jnp.log10(noise))


_si_sdr_jit = jax.jit(si_sdr_jax, static_argnames=("zero_mean", "max_db"))


def si_sdr(reference, estimate, *, zero_mean: bool = False, max_db: float = MAX_DB) -> np.ndarray:
  """SI-SDR (dB) per source: reference/estimate `[..., S, T]` (or `[T]`) -> float64 `[..., S]` (computed in float64).

  zero_mean subtracts each signal's mean first (Le Roux's recommendation; off by default as in most toolkits).
  An estimate exactly orthogonal to its reference gives -inf. Raises DataError for mismatched shapes, non-finite
  values or a silent reference/estimate."""
  ref, est = check_sources(reference, estimate, what="si_sdr")
  with jax.enable_x64(True):
    out = _si_sdr_jit(ref, est, zero_mean=bool(zero_mean), max_db=float(max_db))
    out = np.asarray(jax.device_get(out), np.float64)
  return out if np.ndim(reference) > 1 else out[0]
