"""Multi-host start-up: `jax.distributed.initialize()` only where a cluster launched us."""
from __future__ import annotations

import logging
import os

import jax

log = logging.getLogger(__name__)

_CLUSTER_ENV = ("JAX_COORDINATOR_ADDRESS", "TPU_WORKER_HOSTNAMES", "MEGASCALE_COORDINATOR_ADDRESS")
_initialized = False


def _launched_on_cluster() -> bool:
  if os.environ.get("DECOMPJAX_DISTRIBUTED", "") == "1":
    return True
  if any(os.environ.get(k) for k in _CLUSTER_ENV):
    workers = os.environ.get("TPU_WORKER_HOSTNAMES", "")
    return "," in workers or bool(os.environ.get("JAX_COORDINATOR_ADDRESS"))
  return int(os.environ.get("SLURM_NTASKS", "1")) > 1


def maybe_initialize() -> None:
  """Initialises the JAX distributed runtime on pods / multi-node clusters; a no-op on a single host.

  Auto-detection covers Cloud TPU pods and SLURM; set DECOMPJAX_DISTRIBUTED=1 to force it (launch/ does).
  """
  global _initialized
  if _initialized or not _launched_on_cluster():
    return
  try:
    jax.distributed.initialize()
  except ValueError as e:  # single-host environment that looked like a cluster: carry on locally
    log.warning("jax.distributed.initialize() skipped: %s", e)
  _initialized = True
  log.info("process %d/%d, %d local / %d global devices", jax.process_index(), jax.process_count(),
               jax.local_device_count(), jax.device_count())
