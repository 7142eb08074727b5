"""Device mesh and shardings: jax.jit over a ('data',) mesh, or a 2-D ('data', 'model') one, no pmap.

Batches are sharded along their leading axis over 'data' (P('data'); on a 2-D mesh replicated over 'model').
The state is replicated (P()) unless the config asks for a layout (`leaf_sharding`: ZeRO-1 / FSDP over 'data',
tensor parallelism over 'model'; train.make_state_shardings applies it). The same code runs on 1 CPU, N local
devices and a multi-host pod: each host feeds its local slice of the global batch and
`jax.make_array_from_process_local_data` assembles the global array.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from decompjax.errors import ConfigError

DATA_AXIS = "data"
MODEL_AXIS = "model"


def make_mesh(num_devices: int | None = None, model_parallel: int = 1) -> Mesh:
  """A 1-D ('data',) mesh over the first `num_devices` devices (all when None or 0); with model_parallel = m > 1
  a 2-D ('data', 'model') mesh of shape (devices / m, m), each group of m consecutive devices one row along
  'model'. On several hosts a row must lie within one host: each host then feeds whole rows of the data axis
  (its share of the batch) and the tensor-parallel collectives stay on the host's own interconnect."""
  devices = jax.devices()
  n = len(devices) if not num_devices else num_devices
  if n > len(devices):
    raise ConfigError(f"asked for a mesh of {n} devices but only {len(devices)} are visible")
  m = model_parallel or 1
  if m == 1:
    return Mesh(np.asarray(devices[:n]), (DATA_AXIS,))
  if n % m:
    raise ConfigError(f"config field 'mesh.model_parallel' = {m}: must divide the {n} devices of the mesh "
                      f"(choose a divisor of {n})")
  grid = np.asarray(devices[:n]).reshape(n // m, m)
  if any(len({d.process_index for d in row}) > 1 for row in grid):
    raise ConfigError(f"config field 'mesh.model_parallel' = {m}: must divide the {jax.local_device_count()} "
                      "devices of each host (a 'model' group may not span hosts)")
  return Mesh(grid, (DATA_AXIS, MODEL_AXIS))


def config_mesh(config) -> Mesh:
  """The mesh a config trains on: config.mesh.num_devices devices, config.mesh.model_parallel along 'model'."""
  return make_mesh(config.mesh.num_devices, config.mesh.get("model_parallel", 1))


def data_size(mesh: Mesh) -> int:
  """How many ways a batch is split: the size of the mesh's 'data' axis (the device count on a 1-D mesh)."""
  return mesh.shape.get(DATA_AXIS, 1)


def model_size(mesh: Mesh) -> int:
  return mesh.shape.get(MODEL_AXIS, 1)


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def leaf_sharding(shape: tuple[int, ...], mesh: Mesh, *, over_data: bool,
                  model_min_size: int | None = None) -> NamedSharding:
  """The layout of one state leaf, decided from its shape alone (so a parameter and its Adam moments agree).
  Tensor parallelism, on a mesh with a 'model' axis of size m > 1 and model_min_size not None: a leaf of >= 2
  axes and >= model_min_size elements is split over 'model' along its last axis (a Dense kernel's outputs, a
  convolution's output channels) when m divides it, else along the one before (the inputs). over_data (ZeRO-1,
  FSDP): then over 'data' along its largest remaining axis that the data axis divides (ties: the first). A leaf
  split along no axis (scalars such as Adam's count, small or odd-sized leaves) is replicated. XLA (GSPMD)
  inserts the gathers and reductions the computation needs inside the jitted step."""
  spec: list[str | None] = [None] * len(shape)
  m = model_size(mesh)
  if m > 1 and model_min_size is not None and len(shape) >= 2 and math.prod(shape) >= model_min_size:
    for axis in (len(shape) - 1, len(shape) - 2):
      if shape[axis] >= m and shape[axis] % m == 0:
        spec[axis] = MODEL_AXIS
        break
  n = data_size(mesh)
  axes = [i for i, d in enumerate(shape) if spec[i] is None and d >= n and d % n == 0]
  if over_data and n > 1 and axes:
    spec[max(axes, key=lambda i: (shape[i], -i))] = DATA_AXIS
  return NamedSharding(mesh, P(*spec) if any(spec) else P())


def zero1(shape: tuple[int, ...], mesh: Mesh) -> NamedSharding:
  """ZeRO-1 layout of one optimizer-state leaf: split over 'data' along its largest axis that the data axis
  divides (ties: the first), replicated when no axis does (scalars such as Adam's count, odd-sized biases). Each
  device then keeps 1/N of the moments; XLA gathers what the parameter update needs inside the jitted step."""
  return leaf_sharding(shape, mesh, over_data=True)


def check_batch_divisible(global_batch: int, mesh: Mesh) -> None:
  n = data_size(mesh)
  if global_batch % n:
    hint = " or fewer CPU devices (--cpu_devices)" if mesh.devices.flat[0].platform == "cpu" else ""
    where = (f"the {n} devices of the mesh" if n == mesh.devices.size else
             f"the {n} rows of the mesh's 'data' axis ({mesh.devices.size} devices / mesh.model_parallel="
             f"{model_size(mesh)})")
    raise ConfigError(f"global batch size {global_batch} is not divisible by {where}; "
                      f"choose a multiple of {n} (config.train.batch_size){hint}")
  if global_batch % jax.process_count():
    raise ConfigError(f"global batch size {global_batch} is not divisible by {jax.process_count()} hosts")


def to_global_batch(local_batch: dict, mesh: Mesh) -> dict:
  """Host-local numpy batch (this host's slice) -> global jax.Arrays sharded along 'data' (replicated along
  'model' on a 2-D mesh)."""
  sharding = data_sharded(mesh)
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)


def replicate_tree(tree, mesh: Mesh):
  """Places a host pytree replicated on every device of the mesh."""
  return jax.device_put(tree, replicated(mesh))


def jit_on_mesh(fn: Callable, mesh: Mesh, **jit_kwargs) -> Callable:
  """jax.jit(fn, **jit_kwargs), always called (and `.lower`ed) with `mesh` as the context mesh (jax.set_mesh),
  so that code inside can run per-device pieces with `map_batch_shards`."""
  jitted = jax.jit(fn, **jit_kwargs)

  @functools.wraps(fn)
  def call(*args, **kwargs):
    with jax.set_mesh(mesh):
      return jitted(*args, **kwargs)

  def lower(*args, **kwargs):
    with jax.set_mesh(mesh):
      return jitted.lower(*args, **kwargs)

  call.lower = lower
  return call


def map_batch_shards(fn: Callable, *args):
  """fn(*args) for a fn that works example by example on batch-leading arrays (args and outputs share the
  leading batch axis). Traced under a context mesh with a 'data' axis (steps built by `jit_on_mesh`), fn runs
  on each device's slice of the batch through shard_map. Why: XLA's partitioner does not split FFTs along
  batch dimensions; it all-gathers the batch and repeats the whole FFT on every device (jax-ml/jax#15680),
  which made the on-device mel of a 4-device step 2.6x slower than on one device. On a 2-D mesh the devices
  of one 'model' row share a slice and compute the same result. Without such a mesh, or when the batch does
  not divide over it, this is plain fn(*args)."""
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty or DATA_AXIS not in mesh.axis_names or mesh.shape[DATA_AXIS] == 1:
    return fn(*args)
  if any(jax.numpy.shape(a)[0] % mesh.shape[DATA_AXIS] for a in jax.tree.leaves(args)):
    return fn(*args)
  spec = P(DATA_AXIS)
  return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec)(*args)
