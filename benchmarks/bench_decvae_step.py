"""Benchmark: the DecVAE train step, examples/s for the CPU (demo) and paper SimVowels presets, compile apart,
and the achieved FLOP/s against a stated peak.

The step is what `decompjax train` runs (the family's step jitted over the mesh of every device, state
replicated, batch sharded) on a synthetic batch of the preset's input_spec (the data pipeline is not timed).
FLOPs per step come from XLA's cost analysis of the compiled step (forward + backward + update). The CPU peak is
stated, not measured: PEAK_GFLOPS = cores x 2.5 GHz x 32 fp32 FLOP/cycle (two AVX2 FMA units), 160 GFLOP/s on
this 2-core machine. The paper preset runs at batch PAPER_BATCH on a CPU (the original's 16 needs ~5 TFLOP per
step, spec §6); on a GPU it runs at 16.

Run: `python -m benchmarks.bench_decvae_step`; `run()` returns rows {name, value, unit}.
"""
from __future__ import annotations

import os
import sys
import time

import jax
import numpy as np

from benchmarks.timing import train_step_on_mesh

CPU_GHZ, FLOP_PER_CYCLE = 2.5, 32
PAPER_BATCH = 2


def peak_gflops() -> float:
  return (os.cpu_count() or 1) * CPU_GHZ * FLOP_PER_CYCLE


def _batch(config, batch_size: int) -> dict:
  from decompjax.families.decvae import family
  rng = np.random.default_rng(0)
  out = {}
  for k, s in family.input_spec(config).items():
    shape = (batch_size,) + tuple(s.shape[1:])
    out[k] = (rng.standard_normal(shape) if s.dtype == np.float32 else np.zeros(shape)).astype(s.dtype)
  for k in ("frame_valid", "component_mask", "seq_component_mask"):
    out[k] = np.ones_like(out[k])
  return out


def measure(arg: str, batch_size: int, steps: int) -> dict:
  from configs import decvae_simvowels
  from decompjax.families.decvae import family
  config = decvae_simvowels.get_config(arg)
  config.train.batch_size = batch_size
  state, step, batch = train_step_on_mesh(family.DECVAE, config, _batch(config, batch_size))
  start = time.perf_counter()
  compiled = step.lower(state, batch, jax.random.key(0)).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get("flops", 0.0)) if cost else 0.0
  state, m = step(state, batch, jax.random.key(0))
  jax.block_until_ready(m)
  compile_s = time.perf_counter() - start
  times = []
  for i in range(steps):
    t = time.perf_counter()
    state, m = step(state, batch, jax.random.key(i + 1))
    jax.block_until_ready(m)
    times.append(time.perf_counter() - t)
  best = min(times)
  return {"compile_s": compile_s, "step_s": best, "examples_per_s": batch_size / best, "gflop_per_step": flops / 1e9,
          "gflops": flops / 1e9 / best}


def run(presets=(("demo", "demo", 8, 5), ("paper", "", PAPER_BATCH, 2))) -> list[dict]:
  rows = []
  on_gpu = jax.default_backend() == "gpu"
  for name, arg, batch, steps in presets:
    if name == "paper" and on_gpu:
      batch = 16
    r = measure(arg, batch, steps)
    tag = f"decvae/{name}_b{batch}"
    rows += [{"name": f"{tag}_compile", "value": round(r["compile_s"], 1), "unit": "s"},
             {"name": f"{tag}_step", "value": round(r["step_s"], 3), "unit": "s"},
             {"name": f"{tag}_train", "value": round(r["examples_per_s"], 2), "unit": "examples/s"},
             {"name": f"{tag}_flop_per_step", "value": round(r["gflop_per_step"], 1), "unit": "GFLOP"},
             {"name": f"{tag}_achieved", "value": round(r["gflops"], 1), "unit": "GFLOP/s"}]
    if not on_gpu:
      rows.append({"name": f"{tag}_of_peak", "value": round(100 * r["gflops"] / peak_gflops(), 1),
                   "unit": f"% of {peak_gflops():.0f} GFLOP/s"})
  return rows


if __name__ == "__main__":
  which = sys.argv[1:] or ["demo", "paper"]
  table = run(tuple(p for p in (("demo", "demo", 8, 5), ("paper", "", PAPER_BATCH, 2)) if p[0] in which))
  print(f"{'benchmark':40s} {'value':>10s}  unit")
  for row in table:
    print(f"{row['name']:40s} {row['value']:>10}  {row['unit']}")
