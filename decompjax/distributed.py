"""Multi-host start-up: `jax.distributed.initialize()` where a cluster launched us, a hard error when that fails.

Where the cluster settings come from, first match wins:
  1. the explicit contract (`decompjax launch local`, any hand-rolled launcher): DECOMPJAX_COORDINATOR_ADDRESS
     (host:port of process 0), DECOMPJAX_NUM_PROCESSES, DECOMPJAX_PROCESS_ID, optional DECOMPJAX_LOCAL_DEVICE_IDS
     (GPU indices this process drives, e.g. "0" or "0,1"). Set one and all three must be set.
  2. auto-detection by JAX: a Cloud TPU pod (TPU_WORKER_HOSTNAMES, metadata), SLURM (SLURM_NTASKS > 1),
     JAX_COORDINATOR_ADDRESS; DECOMPJAX_DISTRIBUTED=1 forces it (launch/run_tpu.sh and slurm_gpu.sbatch do).
  Otherwise a single host: nothing to start.

Timeouts (seconds; env vars, read at start-up): DECOMPJAX_INIT_TIMEOUT (300: how long to wait for every process to
join), DECOMPJAX_HEARTBEAT_TIMEOUT (60: a process silent that long is declared dead and every other process aborts,
so a dead peer never leaves the others hanging), DECOMPJAX_SHUTDOWN_TIMEOUT (60: how long a finished process waits
for the others at exit).

A cluster that cannot start is never "carried on alone" (every node would train into the same workdir): missing or
inconsistent settings raise ClusterStartError naming what was found and what is missing. A peer that never joins
makes JAX abort the process after DECOMPJAX_INIT_TIMEOUT (its C++ runtime exits with DEADLINE_EXCEEDED; the log
line before it names the settings used).
"""
from __future__ import annotations

import logging
import os
import socket
import time

from decompjax.errors import ConfigError

log = logging.getLogger(__name__)

COORDINATOR_ENV = "DECOMPJAX_COORDINATOR_ADDRESS"
NUM_PROCESSES_ENV = "DECOMPJAX_NUM_PROCESSES"
PROCESS_ID_ENV = "DECOMPJAX_PROCESS_ID"
LOCAL_DEVICE_IDS_ENV = "DECOMPJAX_LOCAL_DEVICE_IDS"
EXPLICIT_ENV = (COORDINATOR_ENV, NUM_PROCESSES_ENV, PROCESS_ID_ENV)
TIMEOUT_DEFAULTS = {"DECOMPJAX_INIT_TIMEOUT": 300, "DECOMPJAX_HEARTBEAT_TIMEOUT": 60,
                    "DECOMPJAX_SHUTDOWN_TIMEOUT": 60}
_CLUSTER_ENV = ("JAX_COORDINATOR_ADDRESS", "TPU_WORKER_HOSTNAMES", "MEGASCALE_COORDINATOR_ADDRESS")
_SLURM_ENV = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")
_initialized = False


class ClusterStartError(ConfigError):
  """The JAX cluster could not start: its settings are missing, inconsistent or unreachable."""


def _env(environ, name: str) -> str:
  return environ.get(name, "").strip()


def _launched_on_cluster(environ=os.environ) -> bool:
  if _env(environ, "DECOMPJAX_DISTRIBUTED") == "1":
    return True
  if any(_env(environ, k) for k in _CLUSTER_ENV):
    workers = _env(environ, "TPU_WORKER_HOSTNAMES")
    return "," in workers or bool(_env(environ, "JAX_COORDINATOR_ADDRESS"))
  try:
    return int(_env(environ, "SLURM_NTASKS") or 1) > 1
  except ValueError:
    return False


def _int_setting(environ, name: str, low: int) -> int:
  text = _env(environ, name)
  try:
    value = int(text)
  except ValueError:
    value = low - 1
  if value < low:
    raise ClusterStartError(f"{name}={text!r}: must be an integer >= {low}")
  return value


def _device_ids(text: str, name: str) -> list[int]:
  try:
    ids = [int(x) for x in text.split(",") if x.strip()]
  except ValueError:
    ids = [-1]
  if not ids or min(ids) < 0:
    raise ClusterStartError(f"{name}={text!r}: must be comma-separated device indices, e.g. '0' or '0,1'")
  return ids


def timeouts(environ=os.environ) -> dict[str, int]:
  """{'initialization_timeout', 'heartbeat_timeout_seconds', 'shutdown_timeout_seconds'} from the env vars."""
  values = {name: (_int_setting(environ, name, 1) if _env(environ, name) else default)
            for name, default in TIMEOUT_DEFAULTS.items()}
  return {"initialization_timeout": values["DECOMPJAX_INIT_TIMEOUT"],
          "heartbeat_timeout_seconds": values["DECOMPJAX_HEARTBEAT_TIMEOUT"],
          "shutdown_timeout_seconds": values["DECOMPJAX_SHUTDOWN_TIMEOUT"]}


def explicit_settings(environ=os.environ) -> dict | None:
  """The explicit contract's initialize() arguments, None when none of its variables is set; ClusterStartError
  when it is set only in part or with bad values."""
  found = [k for k in EXPLICIT_ENV if _env(environ, k)]
  if not found:
    return None
  missing = [k for k in EXPLICIT_ENV if k not in found]
  if missing:
    raise ClusterStartError(f"incomplete cluster settings: found {', '.join(f'{k}={_env(environ, k)}' for k in found)}"
                            f"; missing {', '.join(missing)} (set all three, or none for a single host)")
  address = _env(environ, COORDINATOR_ENV)
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit():
    raise ClusterStartError(f"{COORDINATOR_ENV}={address!r}: must be host:port of process 0, e.g. 10.0.0.1:8476")
  num = _int_setting(environ, NUM_PROCESSES_ENV, 1)
  pid = _int_setting(environ, PROCESS_ID_ENV, 0)
  if pid >= num:
    raise ClusterStartError(f"{PROCESS_ID_ENV}={pid} with {NUM_PROCESSES_ENV}={num}: process ids run 0..{num - 1}")
  ids = _env(environ, LOCAL_DEVICE_IDS_ENV)
  return {"coordinator_address": address, "num_processes": num, "process_id": pid,
          "local_device_ids": _device_ids(ids, LOCAL_DEVICE_IDS_ENV) if ids else None,
          "cluster_detection_method": "deactivate"}  # never let a SLURM/TPU environment override what was set


def _tasks_on_this_node(environ) -> int:
  """SLURM tasks of this step on this node, from SLURM_STEP_TASKS_PER_NODE / SLURM_TASKS_PER_NODE ('8(x2),4')."""
  spec = _env(environ, "SLURM_STEP_TASKS_PER_NODE") or _env(environ, "SLURM_TASKS_PER_NODE")
  counts = []
  for part in filter(None, spec.split(",")):
    count, _, repeat = part.partition("(x")
    counts += [int(count)] * (int(repeat.rstrip(")")) if repeat else 1)
  node = int(_env(environ, "SLURM_NODEID") or 0)
  if node < len(counts):
    return counts[node]
  nodes = int(_env(environ, "SLURM_STEP_NUM_NODES") or _env(environ, "SLURM_NNODES") or 1)
  return max(1, int(_env(environ, "SLURM_NTASKS") or 1) // nodes)


def slurm_local_device_ids(environ=os.environ) -> list[int] | None:
  """The GPUs this SLURM task drives. JAX alone gives [SLURM_LOCALID]: with one task per node and 8 GPUs that is
  one GPU per node, and with GPUs bound per task (CUDA_VISIBLE_DEVICES=3 for task 3) an index that does not exist.
  So: DECOMPJAX_LOCAL_DEVICE_IDS if set; one visible GPU -> [0]; one task on the node -> every visible GPU;
  k tasks sharing n visible GPUs -> this task's n/k consecutive ones. None (JAX decides) without GPUs."""
  if _env(environ, LOCAL_DEVICE_IDS_ENV):
    return _device_ids(_env(environ, LOCAL_DEVICE_IDS_ENV), LOCAL_DEVICE_IDS_ENV)
  visible = [d for d in _env(environ, "CUDA_VISIBLE_DEVICES").split(",") if d.strip()]
  gpus = len(visible) if visible else int(_env(environ, "SLURM_GPUS_ON_NODE") or 0)
  if gpus == 0:
    return None
  if gpus == 1:
    return [0]
  tasks, local = _tasks_on_this_node(environ), int(_env(environ, "SLURM_LOCALID") or 0)
  if gpus % tasks:
    raise ClusterStartError(f"{tasks} SLURM tasks on this node share {gpus} visible GPUs, which does not divide; "
                            f"run one task per GPU (--ntasks-per-node={gpus}) or set {LOCAL_DEVICE_IDS_ENV}")
  per_task = gpus // tasks
  return list(range(local * per_task, (local + 1) * per_task))


def _describe(environ) -> str:
  """What the cluster settings look like here, for error messages."""
  names = EXPLICIT_ENV + (LOCAL_DEVICE_IDS_ENV, "DECOMPJAX_DISTRIBUTED") + _CLUSTER_ENV + _SLURM_ENV
  found = [f"{k}={_env(environ, k)}" for k in names if _env(environ, k)]
  return f"found {', '.join(found) if found else 'no cluster variables'}"


def _wait_for_coordinator(address: str, timeout_s: int) -> None:
  """A process other than 0 first checks that process 0's coordinator port answers, so that a wrong address or a
  coordinator that never started is one clear error instead of JAX aborting the process."""
  host, _, port = address.rpartition(":")
  deadline, last = time.monotonic() + timeout_s, None
  while time.monotonic() < deadline:
    try:
      with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
        return
    except OSError as e:
      last = e
      time.sleep(0.5)
  raise ClusterStartError(f"could not reach the cluster coordinator at {address} ({COORDINATOR_ENV}) within "
                          f"{timeout_s} s (DECOMPJAX_INIT_TIMEOUT): {last}. Is process 0 running, and is the "
                          "address reachable from this host?")


def maybe_initialize(environ=None) -> None:
  """Initialises the JAX distributed runtime when a cluster launched this process; a no-op on a single host.

  Must run before anything starts JAX's backends. Raises ClusterStartError instead of carrying on alone."""
  import jax  # here, not at the top: config_utils imports this module and `--help` must not start JAX
  global _initialized
  environ = os.environ if environ is None else environ
  if _initialized or jax.distributed.is_initialized():
    return
  kwargs = explicit_settings(environ)
  if kwargs is None and not _launched_on_cluster(environ):
    return
  limits = timeouts(environ)
  if kwargs is None:
    kwargs = {}
    if all(_env(environ, k) for k in _SLURM_ENV):
      kwargs["local_device_ids"] = slurm_local_device_ids(environ)
  elif kwargs["process_id"] != 0:
    _wait_for_coordinator(kwargs["coordinator_address"], limits["initialization_timeout"])
  kwargs.update(limits)
  if not _env(environ, "JAX_CPU_COLLECTIVES_IMPLEMENTATION"):
    # Cross-process collectives on the CPU backend (the local multi-process runs, CPU clusters) need gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  log.info("starting the JAX cluster (%s; %s)", _describe(environ),
           ", ".join(f"{k}={v}" for k, v in limits.items()))
  try:
    jax.distributed.initialize(**kwargs)
  except (ValueError, TypeError) as e:  # JAX's auto-detection found no cluster, or settings it refuses
    raise ClusterStartError(
        f"could not start the JAX cluster: {str(e).rstrip('.')}. {_describe(environ)}. On Cloud TPU and SLURM the "
        f"settings are detected; elsewhere set {', '.join(EXPLICIT_ENV)} (and unset DECOMPJAX_DISTRIBUTED for a "
        "single host)") from e
  except RuntimeError as e:
    if "before" in str(e):  # JAX computed before start-up: a programming error, not the user's
      raise RuntimeError(f"jax.distributed.initialize() must run before JAX starts its backends: {e}") from e
    raise ClusterStartError(f"could not start the JAX cluster: {str(e).rstrip('.')}. {_describe(environ)}") from e
  _initialized = True
  log.info("process %d/%d, %d local / %d global devices", jax.process_index(), jax.process_count(),
           jax.local_device_count(), jax.device_count())


def is_writer() -> bool:
  """True on the one process that writes shared files (config, logs, metrics, tables, figures): process 0."""
  import jax
  return jax.process_index() == 0


def barrier(name: str) -> None:
  """Waits until every process reaches the barrier `name`; a no-op on one process."""
  import jax
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)
