"""Autodecompose augmentations as pure JAX functions of (key, mel[T, F]), vmapped over the batch in the step.

  base  (notebook only, `manipulate_content_main`): 0 or 1 circular roll, 2 time masks, 0-4 "duplicate one
        frame, drop another" micro time-warps. It is also the reconstruction target.
  A_s   keeps voice, destroys content (`manipulate_content`): time scrambling + time masking.
  A_c   keeps content, destroys voice (`manipulate_voice`): frequency stretch/shrink + frequency masking above
        the lowest 10 bins.

Presets (specs/autodecompose.md §3, §7):
  'notebook'  the code's behaviour. Its "scrambling" is 5-19 swaps of the two segments around a pivot, and each
              swap is a circular roll by -p, so the whole thing is one roll by the sum of the pivots (implemented
              literally as that sum). Time masks 2 x 1-5 frames; stretch |r| in [6 %, 21 %) with linear
              interpolation; always 15 frequency masks of 1-5 bins.
  'paper'     the paper's description: no base augmentation (the target is the input); true multi-pivot
              scrambling (5-20 random cut points, the segments put in a random order, each kept intact);
              2 time masks of 2 frames; |r| in [2 %, 15 %] with a natural cubic spline; 1-15 frequency masks.
Frequency warp (both presets, as in the code): output bin j <- input position j * (F - 1) / int((1 + r) F);
for a shrink the top F - int((1 + r) F) bins are zero.
Every random quantity is drawn with fixed shapes (masked loops), so the functions jit and vmap.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  # base (notebook `manipulate_content_main`)
  base: bool = True
  base_max_rolls: int = 1          # randint(2) rolls
  base_pivot_offset: int = 1       # p = int(l/2) + U{0..T-l-1}, l = 3
  base_pivot_margin: int = 3
  base_max_warps: int = 4          # randint(5) duplicate/drop steps
  # A_s
  scramble: str = "rolls"          # 'rolls' (notebook) or 'segments' (paper)
  scramble_min: int = 5
  scramble_max: int = 19
  pivot_offset: int = 5            # notebook: p = 5 + U{0..T-11}
  pivot_margin: int = 10
  time_masks: int = 2
  time_mask_min: int = 1
  time_mask_max: int = 5
  # A_c
  stretch_min: float = 0.06
  stretch_max: float = 0.21
  interpolation: str = "linear"    # 'linear' (notebook) or 'cubic' (paper, natural spline)
  freq_masks_min: int = 15
  freq_masks_max: int = 15
  freq_mask_min: int = 1
  freq_mask_max: int = 5
  freq_mask_floor: int = 10        # the lowest bins are never masked

  def __post_init__(self):
    if self.scramble not in ("rolls", "segments"):
      raise ValueError(f"scramble={self.scramble!r} is not 'rolls' or 'segments'")
    if self.interpolation not in ("linear", "cubic"):
      raise ValueError(f"interpolation={self.interpolation!r} is not 'linear' or 'cubic'")


PRESETS = {
    "notebook": AugmentConfig(),
    "paper": AugmentConfig(base=False, scramble="segments", scramble_min=5, scramble_max=20, time_mask_min=2,
                           time_mask_max=2, stretch_min=0.02, stretch_max=0.15, interpolation="cubic",
                           freq_masks_min=1, freq_masks_max=15),
}


def from_preset(name: str) -> AugmentConfig:
  if name not in PRESETS:
    raise ValueError(f"unknown augmentation preset {name!r}; valid: {', '.join(PRESETS)}")
  return PRESETS[name]


def from_config(config) -> AugmentConfig:
  """The augmentations a run uses (`config.augment.preset`)."""
  return from_preset(config.augment.preset)


# ----------------------------------------------------------------------------------------------- primitives
def mask_along(key, x, axis: int, n_min: int, n_max: int, len_min: int, len_max: int, start_lo: int,
               start_range: int):
  """Zeroes n ~ U{n_min..n_max} runs of U{len_min..len_max} entries along `axis`, each starting at
  start_lo + U{0..start_range-1}; runs past the end are truncated (notebook `cut_along`)."""
  size = x.shape[axis]
  kn, kl, ks = jax.random.split(key, 3)
  n = jax.random.randint(kn, (), n_min, n_max + 1)
  lengths = jax.random.randint(kl, (n_max,), len_min, len_max + 1)
  starts = start_lo + jax.random.randint(ks, (n_max,), 0, max(start_range, 1))
  pos = jnp.arange(size)[:, None]
  hit = (pos >= starts) & (pos < starts + lengths) & (jnp.arange(n_max) < n)
  keep = 1.0 - jnp.any(hit, axis=1).astype(x.dtype)
  shape = [1] * x.ndim
  shape[axis] = size
  return x * keep.reshape(shape)


def roll_time(x, shift):
  """Circular roll along time by -shift: frames [shift:] then [:shift] (the notebook's segment swap)."""
  t = x.shape[0]
  return x[(jnp.arange(t) + shift) % t]


def scramble_rolls(key, x, n_min: int, n_max: int, offset: int, margin: int):
  """Notebook scrambling: n ~ U{n_min..n_max} segment swaps at pivots offset + U{0..T-margin-1}; composes to
  one roll by the sum of the pivots."""
  t = x.shape[0]
  kn, kp = jax.random.split(key)
  n = jax.random.randint(kn, (), n_min, n_max + 1)
  pivots = offset + jax.random.randint(kp, (n_max,), 0, t - margin)
  return roll_time(x, jnp.sum(jnp.where(jnp.arange(n_max) < n, pivots, 0)) % t)


def scramble_segments(key, x, n_min: int, n_max: int):
  """Paper scrambling: cut time at n ~ U{n_min..n_max} distinct random points and put the n+1 segments in a
  random order (frames inside a segment keep their order)."""
  t = x.shape[0]
  kn, kp, ko = jax.random.split(key, 3)
  n = jax.random.randint(kn, (), n_min, n_max + 1)
  cut_rank = jnp.argsort(jax.random.uniform(kp, (t - 1,)))   # frame t' in 1..T-1 is a cut if its rank < n
  is_cut = jnp.concatenate([jnp.zeros((1,), bool), jnp.argsort(cut_rank) < n])
  seg = jnp.cumsum(is_cut)                                    # segment id per frame, 0..n
  seg_rank = jnp.argsort(jnp.argsort(jax.random.uniform(ko, (n_max + 1,))))
  return x[jnp.argsort(seg_rank[seg] * t + jnp.arange(t))]


def dup_drop(key, x, max_steps: int):
  """Notebook `stretch`: U{0..max_steps} times duplicate frame d (inserted after itself) and remove the first
  occurrence of frame r (r, d uniform). Keeps the length."""
  t = x.shape[0]
  kn, kr, kd = jax.random.split(key, 3)
  n = jax.random.randint(kn, (), 0, max_steps + 1)
  rs = jax.random.randint(kr, (max_steps,), 0, t)
  ds = jax.random.randint(kd, (max_steps,), 0, t)
  k = jnp.arange(t + 1)

  def step(idx, inp):
    i, r, d = inp
    ins = k - (k > d)                       # positions 0..T of the list with d inserted after itself
    pos = r + (r > d)                       # where the first occurrence of value r sits
    new = idx[ins[jnp.arange(t) + (jnp.arange(t) >= pos)]]
    return jnp.where(i < n, new, idx), None

  idx, _ = jax.lax.scan(step, jnp.arange(t), (jnp.arange(max_steps), rs, ds))
  return x[idx]


@functools.lru_cache(maxsize=None)
def _natural_spline_matrix(n: int) -> np.ndarray:
  """K with M = K @ y: second derivatives of the natural cubic spline through (i, y_i), i = 0..n-1."""
  a = np.zeros((n, n))
  d = np.zeros((n, n))
  a[0, 0] = a[-1, -1] = 1.0
  for i in range(1, n - 1):
    a[i, i - 1:i + 2] = (1.0, 4.0, 1.0)
    d[i, i - 1:i + 2] = (6.0, -12.0, 6.0)
  return np.linalg.solve(a, d).astype(np.float32)


def freq_warp(x, rate, interpolation: str = "linear"):
  """Stretch (rate > 1) or shrink (rate < 1) the mel axis (last axis) as the notebook's `manipulate_voice`."""
  f = x.shape[-1]
  new_range = jnp.floor(rate * f).astype(jnp.int32)
  j = jnp.arange(f)
  src = j * (f - 1) / new_range.astype(jnp.float32)
  i0 = jnp.clip(jnp.floor(src).astype(jnp.int32), 0, f - 2)
  u = src - i0
  y0, y1 = x[..., i0], x[..., i0 + 1]
  out = (1 - u) * y0 + u * y1
  if interpolation == "cubic":
    m = x @ jnp.asarray(_natural_spline_matrix(f)).T
    out = out + ((1 - u) ** 3 - (1 - u)) * m[..., i0] / 6 + (u ** 3 - u) * m[..., i0 + 1] / 6
  return jnp.where(j < new_range, out, 0.0).astype(x.dtype)


# ------------------------------------------------------------------------------------------ augmentations
def base_augment(key, mel, cfg: AugmentConfig):
  """The notebook's 'augmented base' (identity under the paper preset)."""
  if not cfg.base:
    return mel
  t = mel.shape[0]
  kr, km, kw = jax.random.split(key, 3)
  x = scramble_rolls(kr, mel, 0, cfg.base_max_rolls, cfg.base_pivot_offset, cfg.base_pivot_margin)
  x = mask_along(km, x, 0, 2, 2, 1, 5, 0, t - 5)
  return dup_drop(kw, x, cfg.base_max_warps)


def voice_augment(key, mel, cfg: AugmentConfig):
  """A_s: keeps the voice (long-term spectrum), destroys the content (time alignment)."""
  t = mel.shape[0]
  ks, km = jax.random.split(key)
  if cfg.scramble == "rolls":
    x = scramble_rolls(ks, mel, cfg.scramble_min, cfg.scramble_max, cfg.pivot_offset, cfg.pivot_margin)
  else:
    x = scramble_segments(ks, mel, cfg.scramble_min, cfg.scramble_max)
  return mask_along(km, x, 0, cfg.time_masks, cfg.time_masks, cfg.time_mask_min, cfg.time_mask_max, 0,
                    t - cfg.time_mask_max)


def content_augment(key, mel, cfg: AugmentConfig):
  """A_c: keeps the content (time envelope), destroys the voice (spectral envelope position)."""
  f = mel.shape[-1]
  kr, ks, km = jax.random.split(key, 3)
  mag = cfg.stretch_min + (cfg.stretch_max - cfg.stretch_min) * jax.random.uniform(kr)
  rate = 1.0 + jnp.where(jax.random.bernoulli(ks), -mag, mag)
  x = freq_warp(mel, rate, cfg.interpolation)
  return mask_along(km, x, 1, cfg.freq_masks_min, cfg.freq_masks_max, cfg.freq_mask_min, cfg.freq_mask_max,
                    cfg.freq_mask_floor, f - cfg.freq_mask_max)


def augment_triplet(key, mel, cfg: AugmentConfig):
  """(key, mel[T, F]) -> (base, a_s, a_c); both branches start from the base, which is the target."""
  kb, ks, kc = jax.random.split(key, 3)
  base = base_augment(kb, mel, cfg)
  return base, voice_augment(ks, base, cfg), content_augment(kc, base, cfg)


def augment_batch(key, mels, cfg: AugmentConfig):
  """[B, T, F] -> (base, a_s, a_c), each [B, T, F]. One key per example (split from `key`), so the result does
  not depend on how the batch is sharded."""
  keys = jax.random.split(key, mels.shape[0])
  return jax.vmap(lambda k, m: augment_triplet(k, m, cfg))(keys, mels)
