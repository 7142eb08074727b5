"""Benchmark: Autodecompose augmentation throughput and train-step throughput.

1. Augmentations (base + A_s + A_c, notebook preset) on a batch of 32 random 64 x 80 crops: `jax.jit` of the
   vmapped `augment_batch` (compile excluded, best of REPEATS) vs a per-sample numpy/scipy port of the notebook's
   functions (`manipulate_content_main`, `manipulate_content`, `manipulate_voice` with `interp1d`), which is
   what the original runs per sample through `tf.py_function`. Target: >= 10x.
2. Train examples/s at batch 32 (augmentations included in the step) for Dense, Conv-128 (emb 32, the spec's
   CPU reference config) and Large (paper widths, 15.6 M params). Reference on a 2-core CPU: Dense ~240,
   Conv-128 ~220, Large ~10 crops/s. The step runs over the mesh of all devices, as `decompjax train` does.

Run: `python -m benchmarks.bench_autodecompose`; `run()` returns rows {name, value, unit}.
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.interpolate import interp1d

from decompjax.families.autodecompose import augment

from benchmarks.timing import best_of, train_step_on_mesh

BATCH = 32
REPEATS = 5  # best_of default




# ------------------------------------------------------- per-sample numpy port of the notebook (cell 11)
def _cut_along(rng, y, n=2, len_of_cut=5, axis=0, shift=10):
  for _ in range(n):
    p = 1 + rng.integers(0, len_of_cut)
    ind = shift + rng.integers(0, y.shape[axis] - len_of_cut)
    if axis == 1:
      y[:, ind:ind + p] = 0
    else:
      y[ind:ind + p, :] = 0
  return y


def _stretch(rng, x, num_s=5):
  for _ in range(rng.integers(num_s)):
    r, d = rng.integers(0, x.shape[0]), rng.integers(0, x.shape[0])
    idx = list(range(x.shape[0]))
    idx[d:d] = [d]
    idx.remove(r)
    x = x[idx, :]
  return x


def _rolls(rng, c, n, l):
  for _ in range(n):
    p = l // 2 + rng.integers(0, c.shape[0] - l)
    c = np.concatenate((c[p:], c[:p]))
  return c


def _manipulate_voice(rng, x):
  r = 0.15 * rng.random() + 0.06
  r = -r if rng.random() < 0.5 else r
  new_range = np.int32((1 + r) * x.shape[1])
  f = interp1d(np.linspace(0, new_range, x.shape[1]), x, axis=1)
  y = np.zeros(x.shape)
  if r >= 0:
    y = f(list(range(x.shape[1])))
  else:
    y[:, :new_range] = f(list(range(new_range)))
  return _cut_along(rng, y, n=15, len_of_cut=5, axis=1, shift=10)


def numpy_triplet(rng, mel):
  base = _stretch(rng, _cut_along(rng, _rolls(rng, np.copy(mel), rng.integers(2), 3), axis=0, shift=0))
  a_s = _cut_along(rng, _rolls(rng, np.copy(base), rng.integers(15) + 5, 10), axis=0, shift=0)
  return base, a_s, _manipulate_voice(rng, base)


def _train_rate(arch_args: str, steps: int) -> float:
  from configs import autodecompose as cfg_mod
  from decompjax.families.autodecompose import family as fam
  c = cfg_mod.get_config(arch_args)
  c.train.batch_size = BATCH
  batch = {"mel": np.random.default_rng(0).random((BATCH, 64, 80)).astype(np.float32),
           "speaker": np.zeros(BATCH, np.int32)}
  state, step, batch = train_step_on_mesh(fam.AUTODECOMPOSE, c, batch)
  state, m = step(state, batch, jax.random.key(0))   # compile
  jax.block_until_ready(m)
  start = time.perf_counter()
  for i in range(steps):
    state, m = step(state, batch, jax.random.key(i + 1))
  jax.block_until_ready(m)
  return steps * BATCH / (time.perf_counter() - start)


def run() -> list[dict]:
  mels = np.random.default_rng(0).random((BATCH, 64, 80)).astype(np.float32)
  cfg = augment.from_preset("notebook")
  fn = jax.jit(lambda k, m: augment.augment_batch(k, m, cfg))
  x = jnp.asarray(mels)
  start = time.perf_counter()
  jax.block_until_ready(fn(jax.random.key(0), x))
  compile_s = time.perf_counter() - start
  jax_s = best_of(lambda: jax.block_until_ready(fn(jax.random.key(1), x)), repeats=20)
  rng = np.random.default_rng(0)
  np_s = best_of(lambda: [numpy_triplet(rng, m) for m in mels], REPEATS)
  rows = [
      {"name": "autodecompose/augment_jax_compile", "value": round(compile_s, 2), "unit": "s"},
      {"name": f"autodecompose/augment_jax_jit_vmap_b{BATCH}", "value": round(BATCH / jax_s, 1), "unit": "crops/s"},
      {"name": "autodecompose/augment_numpy_per_sample", "value": round(BATCH / np_s, 1), "unit": "crops/s"},
      {"name": "autodecompose/augment_speedup", "value": round(np_s / jax_s, 1), "unit": "x"},
  ]
  arch_args = {
      "dense": ("arch=dense", 20),
      "conv128_emb32": ("demo", 20),          # demo = Conv-128, 32-d embeddings
      "large": ("arch=large", 3),
  }
  for name, (arg, steps) in arch_args.items():
    rows.append({"name": f"autodecompose/train_{name}_b{BATCH}", "value": round(_train_rate(arg, steps), 1),
                 "unit": "crops/s"})
  return rows


def main() -> None:
  for row in run():
    print(f"{row['name']:<44} {row['value']!s:>12} {row['unit']}")


if __name__ == "__main__":
  main()
