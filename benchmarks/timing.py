"""Timing helper shared by the benchmarks."""
from __future__ import annotations

import time


def best_of(fn, repeats: int = 5) -> float:
  """Seconds of the fastest of `repeats` calls of fn() (the least disturbed by other load)."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def train_step_on_mesh(family, config, host_batch: dict):
  """What `decompjax train` runs: the family's step jitted over the mesh of every device (on a CPU host, the
  --cpu_devices split; 2-D with config.mesh.model_parallel), state in the config's layout (replicated unless
  config.mesh.shard_opt_state / shard_params / model_parallel), batch sharded. Returns (state, step, device
  batch)."""
  import jax

  from decompjax import sharding, train
  mesh = sharding.make_mesh(None, config.mesh.get("model_parallel", 1))
  state = family.init_state(config, jax.random.key(0), host_batch)
  shardings = train.make_state_shardings(state, mesh, config)
  step = train.compile_train_step(family, config, mesh, shardings)
  return jax.device_put(state, shardings), step, sharding.to_global_batch(host_batch, mesh)
