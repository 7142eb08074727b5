"""Running a model over a whole evaluation set in fixed-size batches, sharded over the state's mesh.

`map_batches` runs a host function batch by batch. `map_on_mesh` is what evaluation uses: a jitted apply
function (`mesh_jit`) with the parameters as arguments, each batch sharded along 'data' over the mesh the
state lives on (one device, all local devices, or every device of a pod), outputs replicated so that every
process holds the full result for the metric code. Parameters as arguments, not closed-over constants: a
constant is baked into the executable, which then recompiles for every checkpoint and copies the weights into
the program; `mesh_jit` caches the jitted function by a key, so a second checkpoint reuses the compilation.
"""
from __future__ import annotations

import collections
import json
from typing import Callable, Hashable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from decompjax import sharding

_MAX_CACHED = 32  # jitted apply functions kept (benchmarks evaluate many configs in one process)
_JITTED: collections.OrderedDict = collections.OrderedDict()


def config_key(config) -> str:
  """A hashable fingerprint of a config (what a cached apply function may depend on)."""
  to_dict = getattr(config, "to_dict", None)
  return json.dumps(to_dict() if to_dict else config, sort_keys=True, default=repr)


def mesh_jit(key: Hashable, build: Callable[[], Callable]) -> Callable:
  """jax.jit(build()) with every output replicated (P(): each process gets the whole result), made once per
  `key` and reused. The key must name everything the built function closes over (e.g. ("family.encode",
  config_key(config))); parameters and data are its arguments. Call it through `map_on_mesh` or `call_on_mesh`,
  which set the mesh."""
  if key in _JITTED:
    _JITTED.move_to_end(key)
    return _JITTED[key]
  jitted = jax.jit(build(), out_shardings=P())
  _JITTED[key] = jitted
  while len(_JITTED) > _MAX_CACHED:
    _JITTED.popitem(last=False)
  return jitted


def state_mesh(tree) -> Mesh:
  """The mesh a restored state (or any pytree of jax.Arrays) lives on. Host arrays: one device on one process;
  every device on several (a one-device mesh there would hold a device that most processes cannot address)."""
  for leaf in jax.tree.leaves(tree):
    s = getattr(leaf, "sharding", None)
    if isinstance(s, NamedSharding):
      return s.mesh
    if s is not None and len(s.device_set) == 1:
      return Mesh(np.asarray(list(s.device_set)), (sharding.DATA_AXIS,))
  return sharding.make_mesh(1 if jax.process_count() == 1 else None)


def replicate(tree, mesh: Mesh):
  """tree placed replicated on `mesh` (a no-op for arrays already there): the same placement on every call, so
  the jitted function sees the same input shardings and does not recompile."""
  return jax.device_put(tree, sharding.replicated(mesh))


def call_on_mesh(jitted: Callable, mesh: Mesh, *args):
  """jitted(*args) with `mesh` as the context mesh (what P() and `sharding.map_batch_shards` refer to)."""
  with jax.set_mesh(mesh):
    return jitted(*args)


def batch_size_for(batch_size: int, n: int, mesh: Mesh) -> int:
  """min(batch_size, n), rounded up to a multiple of the mesh's 'data' axis (padding rows make up the rest)."""
  d = sharding.data_size(mesh)
  b = max(1, min(batch_size, n))
  return -(-b // d) * d


def _rows(x) -> int:
  sizes = {len(leaf) for leaf in jax.tree.leaves(x)}
  if len(sizes) != 1:
    raise ValueError(f"batched inputs must share their leading size, got {sorted(sizes)}")
  return sizes.pop()


def fn_key(fn: Callable) -> str:
  """A stable name of a module-level function, for `mesh_jit` keys."""
  return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def _padded_chunk(x, start: int, b: int):
  """Rows [start, start + b) of every leaf as numpy; past the end, copies of the chunk's first row (a real
  example, so padding never feeds zeros to a normalisation)."""
  def take(leaf):
    chunk = np.asarray(leaf[start:start + b])
    if len(chunk) < b:
      chunk = np.concatenate([chunk, np.repeat(chunk[:1], b - len(chunk), axis=0)])
    return chunk
  return jax.tree.map(take, x)


def to_mesh(chunk, mesh: Mesh):
  """A host batch (pytree) that every process holds in full -> global arrays sharded along 'data' (each process
  places only its own devices' rows). The leading size must divide the mesh."""
  shard = sharding.data_sharded(mesh)
  return jax.tree.map(lambda a: jax.make_array_from_callback(a.shape, shard, lambda idx: a[idx]), chunk)


def map_on_mesh(jitted: Callable, args, x, batch_size: int, *, mesh: Mesh, masked: bool = False,
                exact: bool = False):
  """jitted(args, batch) (or jitted(args, batch, valid) when masked) over x (an array or a pytree of arrays
  sharing the leading axis; every process passes the same x) in batches of `batch_size_for` rows, each sharded
  along 'data' over `mesh`. args (the parameters) are placed replicated on the mesh once and passed to every
  call. The last batch is padded and the padding rows dropped; `valid` says which rows are real, for functions
  computing batch statistics. exact: batches of batch_size rows (rounded up to the mesh) even for a shorter x,
  so that inputs of any length share one compilation. -> the output pytree as numpy, batches concatenated."""
  n = _rows(x)
  if n == 0:
    raise ValueError("no examples to run: the input is empty")
  b = batch_size_for(batch_size, max(n, batch_size) if exact else n, mesh)
  args = replicate(args, mesh)
  parts = []
  for start in range(0, n, b):
    real = min(b, n - start)
    batch = to_mesh(_padded_chunk(x, start, b), mesh)
    extra = (to_mesh(np.arange(b) < real, mesh),) if masked else ()
    out = call_on_mesh(jitted, mesh, args, batch, *extra)
    parts.append(jax.tree.map(lambda v: np.asarray(v)[:real], out))
  return jax.tree.map(lambda *vs: np.concatenate(vs), *parts)


def map_batches(fn: Callable, x: np.ndarray, batch_size: int, *, masked: bool = False):
  """fn over x in batches of min(batch_size, len(x)) on this host (no mesh). The last batch is padded to full
  size, so one compilation serves every call; padding rows are dropped from the output. With masked=True fn is
  called as fn(batch, valid), valid[i] saying whether row i is real, so that a function computing statistics
  over its batch (a mean, a batch-statistics layer) can leave the padding out. Returns fn's output pytree as
  numpy, batches concatenated."""
  n = _rows(x)
  if n == 0:
    raise ValueError("no examples to run: the input is empty")
  b = max(1, min(batch_size, n))
  parts = []
  for start in range(0, n, b):
    real = min(b, n - start)
    chunk = _padded_chunk(x, start, b)
    out = fn(chunk, np.arange(b) < real) if masked else fn(chunk)
    parts.append(jax.tree.map(lambda v: np.asarray(v)[:real], jax.device_get(out)))
  return jax.tree.map(lambda *vs: np.concatenate(vs), *parts)
