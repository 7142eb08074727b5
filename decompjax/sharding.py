"""Device mesh and shardings for data parallelism: jax.jit over a ('data',) mesh, no pmap.

Parameters and optimizer state are replicated (P()); batches are sharded along their leading axis
(P('data')). The same code runs on 1 CPU, N local devices and a multi-host pod: each host feeds its local
slice of the global batch and `jax.make_array_from_process_local_data` assembles the global array.
"""
from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D ('data',) mesh over the first `num_devices` devices (all when None)."""
  devices = jax.devices()
  n = len(devices) if not num_devices else num_devices
  if n > len(devices):
    raise ValueError(f"asked for a mesh of {n} devices but only {len(devices)} are visible")
  return Mesh(np.asarray(devices[:n]), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_divisible(global_batch: int, mesh: Mesh) -> None:
  n = mesh.devices.size
  if global_batch % n:
    raise ValueError(f"global batch size {global_batch} is not divisible by the {n} devices of the mesh; "
                     f"choose a multiple of {n} (config.train.batch_size)")
  if global_batch % jax.process_count():
    raise ValueError(f"global batch size {global_batch} is not divisible by {jax.process_count()} hosts")


def to_global_batch(local_batch: dict, mesh: Mesh) -> dict:
  """Host-local numpy batch (this host's slice) -> global jax.Arrays sharded along 'data'."""
  sharding = data_sharded(mesh)
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)


def replicate_tree(tree, mesh: Mesh):
  """Places a host pytree replicated on every device of the mesh."""
  return jax.device_put(tree, replicated(mesh))
