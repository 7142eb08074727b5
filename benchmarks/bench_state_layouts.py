"""Per-device state memory and train-step time of the three state layouts (train.make_state_shardings):
replicated (data parallel), ZeRO-1 (`mesh.shard_opt_state`: optimizer state split over 'data') and FSDP
(`mesh.shard_params`: parameters too), side by side on the same mesh, batches and models.

Models: the SynTone beta-VAE (1.1 M parameters, batch 64) and the Barlow VQ-VAE with the original's 4096-wide
projector (34 M parameters, L = 140, batch 32). On a CPU host the mesh is 8 JAX devices of one machine, so the
memory column is what each device would hold, and the time column measures the layouts' extra collectives on
CPU, not a GPU's: the speed of FSDP on real accelerators is not measured here. Layouts are timed alternately,
ROUNDS rounds; ratios to replicated are min / median / max over rounds.
Run: python -m benchmarks.bench_state_layouts
"""
from __future__ import annotations

import statistics
import time

CPU_DEVICES = 8
ROUNDS = 3
STEPS_PER_ROUND = 5
LAYOUTS = {"replicated": (), "ZeRO-1": (("mesh.shard_opt_state", "true"),),
           "FSDP": (("mesh.shard_params", "true"),)}
MODELS = {
    "SynTone beta-VAE b64": ("configs/syntone_beta_vae.py:demo", (("train.batch_size", "64"),)),
    "Barlow VQ-VAE p4096 b32": ("configs/barlow_vqvae_ucr.py", (("train.batch_size", "32"), ("data.length", "140"),
                                                                ("data.channels", "1"))),
}


def _batch(family, config):
  import numpy as np
  rng = np.random.default_rng(0)
  out = {}
  for key, spec in family.input_spec(config).items():
    shape = (config.train.batch_size,) + tuple(spec.shape[1:])
    out[key] = (rng.standard_normal(shape) if np.issubdtype(spec.dtype, np.floating)
                else rng.integers(0, 2, shape)).astype(spec.dtype)
  return out


def _setup(preset, overrides):
  import jax

  from benchmarks import timing
  from decompjax import config_utils, registry
  config = config_utils.build_config(preset, list(overrides))
  family = registry.get_family(config.model.family)
  state, step, batch = timing.train_step_on_mesh(family, config, _batch(family, config))
  per_device = sum(leaf.addressable_shards[0].data.nbytes for leaf in jax.tree.leaves(state))
  return {"state": state, "step": step, "batch": batch, "bytes": per_device}


def _time(run) -> float:
  import jax
  start = time.perf_counter()
  for i in range(STEPS_PER_ROUND):
    run["state"], metrics = run["step"](run["state"], run["batch"], jax.random.key(i))
  jax.block_until_ready(metrics)
  return (time.perf_counter() - start) / STEPS_PER_ROUND


def run() -> list[dict]:
  import jax
  rows = []
  for model, (preset, base) in MODELS.items():
    runs = {name: _setup(preset, base + extra) for name, extra in LAYOUTS.items()}
    for r in runs.values():
      _time(r)  # compile and warm up
    times = {name: [] for name in runs}
    for _ in range(ROUNDS):
      for name, r in runs.items():
        times[name].append(_time(r))
    for name, r in runs.items():
      ratios = sorted(t / ref for t, ref in zip(times[name], times["replicated"]))
      rows.append({"name": f"{model}, {name}: state per device", "value": r["bytes"] / 2**20, "unit": "MiB"})
      rows.append({"name": f"{model}, {name}: step time (median of {ROUNDS})",
                   "value": 1e3 * statistics.median(times[name]), "unit": "ms"})
      if name != "replicated":
        rows.append({"name": f"{model}, {name}: step time / replicated (min / median / max)",
                     "value": f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f}", "unit": "x"})
    del runs
  rows.append({"name": "devices", "value": jax.device_count(), "unit": jax.devices()[0].platform})
  return rows


if __name__ == "__main__":
  from decompjax import cpu_devices
  cpu_devices.configure(CPU_DEVICES)
  for r in run():
    print(r)
