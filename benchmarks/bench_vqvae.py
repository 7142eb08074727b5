"""Train-step time of the STFT VQ-VAE (L=140, batch 128) and the Barlow VQ-VAE (projector 512 / 4096).

Reference: the original PyTorch modules on a 2-core CPU, ~190 / 300 / 1600 ms per step (spec §10).
Synthetic N(0,1) series of ECG5000's shape (L=140); full-size models (dim 64, 4 ResBlocks, 32 codes). The step
runs over the mesh of all devices, as `decompjax train` does (CPU: the --cpu_devices split).
`run() -> list[dict]`; `python -m benchmarks.bench_vqvae` prints the rows.
"""
from __future__ import annotations

import time

import jax
import numpy as np

from benchmarks.timing import train_step_on_mesh

REFERENCE_MS = {"vqvae": 190.0, "barlow_vqvae_p512": 300.0, "barlow_vqvae_p4096": 1600.0}

CPU_DEVICES = 0  # configs/vqvae_ucr.py and barlow_vqvae_ucr.py:cpu (projector 512): auto


def _time_step(family, config, batch, iters: int) -> tuple[float, float]:
  state, step, batch = train_step_on_mesh(family, config, batch)
  t0 = time.perf_counter()
  state, m = step(state, batch, jax.random.key(0))
  jax.block_until_ready(m)
  compile_s = time.perf_counter() - t0
  times = []
  for i in range(iters):
    t = time.perf_counter()
    state, m = step(state, batch, jax.random.key(i + 1))
    jax.block_until_ready(m)
    times.append(time.perf_counter() - t)
  return float(np.median(times)) * 1e3, compile_s


def run(iters: int = 5, length: int = 140, batch_size: int = 128, plain: bool = True,
        projector_widths: tuple[int, ...] = (512,)) -> list[dict]:
  """The plain VQ-VAE and the Barlow VQ-VAE with the given projector widths (4096: bench_barlow_wide)."""
  from configs import barlow_vqvae_ucr, vqvae_ucr
  from decompjax.families.vqvae import family as vq_family
  x = np.random.default_rng(0).normal(size=(batch_size, length, 1)).astype(np.float32)
  batch = {"x": x, "label": np.zeros(batch_size, np.int32)}
  cases = [("vqvae", vq_family.VQVAE, vqvae_ucr.get_config(), None)] if plain else []
  for width in projector_widths:
    cases.append((f"barlow_vqvae_p{width}", vq_family.BARLOW_VQVAE, barlow_vqvae_ucr.get_config(), width))
  rows = []
  for name, fam, config, width in cases:
    if width:
      config.model.projector_width = width
    ms, compile_s = _time_step(fam, config, batch, iters)
    ref = REFERENCE_MS[name]
    label = f"{name} L{length} B{batch_size} train step"
    rows.append({"name": f"{label} (torch 2-core {ref:.0f} ms)", "value": ms, "unit": "ms/step",
                 "reference_ms": ref, "speedup_vs_reference": ref / ms, "compile_s": compile_s})
    rows.append({"name": f"{label} rate", "value": 1e3 / ms, "unit": "steps/s"})
  return rows


if __name__ == "__main__":
  from decompjax import cpu_devices
  cpu_devices.configure(CPU_DEVICES)
  for r in run():
    print(r)
