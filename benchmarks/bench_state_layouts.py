"""Per-device state memory and train-step time of the state layouts (train.make_state_shardings): replicated
(data parallel), ZeRO-1 (`mesh.shard_opt_state`: optimizer state split over 'data'), FSDP (`mesh.shard_params`:
parameters too) and tensor parallelism on a 2-D ('data', 'model') mesh (`mesh.model_parallel` = 2 and 4: the
leaves of >= 2^16 elements split over 'model'; alone and with FSDP), side by side on the same devices, batches
and models.

Models: the SynTone beta-VAE (1.1 M parameters, batch 64) and the Barlow VQ-VAE with the original's 4096-wide
projector (34 M parameters, L = 140, batch 32). On a CPU host the mesh is 8 JAX devices of one machine, so the
memory column is what each device would hold, and the time column measures the layouts' extra collectives on
CPU, not a GPU's: the speed of FSDP on real accelerators is not measured here. Layouts are timed alternately,
ROUNDS rounds; ratios to replicated are min / median / max over rounds.
Run: python -m benchmarks.bench_state_layouts [model substring] [layout name ...]  (default: all of both; the
replicated layout, the ratios' reference, always runs)
"""
from __future__ import annotations

import statistics
import sys
import time

CPU_DEVICES = 8
ROUNDS = 3
STEPS_PER_ROUND = 5
LAYOUTS = {"replicated": (), "ZeRO-1": (("mesh.shard_opt_state", "true"),),
           "FSDP": (("mesh.shard_params", "true"),),
           "2-D 4x2": (("mesh.model_parallel", "2"),), "2-D 2x4": (("mesh.model_parallel", "4"),),
           "2-D 4x2 + FSDP": (("mesh.model_parallel", "2"), ("mesh.shard_params", "true"))}
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


def run(models=None, layouts=None) -> list[dict]:
  """models: substrings of MODELS' names (None: all); layouts: names of LAYOUTS (None: all; replicated always)."""
  import jax
  rows = []
  chosen = [n for n in LAYOUTS if n == "replicated" or layouts is None or n in layouts]
  for model, (preset, base) in MODELS.items():
    if models is not None and not any(m in model for m in models):
      continue
    runs = {name: _setup(preset, base + LAYOUTS[name]) for name in chosen}
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
  args = sys.argv[1:]
  for r in run([args[0]] if args else None, args[1:] or None):
    print(r)
