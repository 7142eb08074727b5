"""decompjax launch local --processes=N [--cpu_devices=K] [--port=P] [--timeout=S] [--grace=S] [--dry-run] -- <command>

Runs N processes of `decompjax <command> ...` on this machine as one JAX cluster (jax.distributed over localhost,
gloo collectives on CPU): what a TPU pod or a multi-node GPU job does, on a laptop. Each process gets K CPU devices
(--cpu_devices, default 2) and the cluster variables DECOMPJAX_COORDINATOR_ADDRESS / DECOMPJAX_NUM_PROCESSES /
DECOMPJAX_PROCESS_ID; its output lines are prefixed [p0], [p1], ... Exit status: 0 when every process succeeded,
else the first failure's (124 after --timeout). When one process fails the others are stopped after --grace
seconds, so nothing hangs. Ctrl-C / SIGTERM reach every process as SIGTERM (one coordinated checkpoint, then exit);
a second one kills them.
--dry-run prints each process's command line with its environment and runs nothing.
  decompjax launch local --processes=2 -- train --config=configs/syntone_vae.py:smoke --workdir=/tmp/run2

decompjax launch check [--hold=S]: the first thing to run on a new pod or cluster (and in every process of a local
launch): starts the cluster exactly as `train` does, sums each device's process index over the global mesh and
prints `process I/N: L local / G global devices (PLATFORM), sum S (expected E), pid P`; exit 1 if a sum is wrong.
--hold=S keeps exchanging such sums for S seconds (to watch a cluster stay healthy, or a dead peer be detected);
SIGTERM to any process stops every process at the same round (exit 143), as training's coordinated save does.
"""
from __future__ import annotations

import os
import sys
import time

from decompjax import cpu_devices
from decompjax.commands import parsing
from decompjax.errors import UsageError

SUBJECTS = {"local": "N processes of one command on this machine as one JAX cluster (CPU: gloo collectives)",
            "check": "start the cluster as train does, sum over every device, print this process's view of it"}
DEFAULT_CPU_DEVICES = 2


class _LaunchDefaults:
  """Stands in for a config in cpu_devices.requested(): the command line's --cpu_devices (which the CLI took out
  of argv) if given, else DEFAULT_CPU_DEVICES per process."""
  mesh = {"cpu_devices": DEFAULT_CPU_DEVICES}


def _parser() -> parsing.Parser:
  p = parsing.Parser("decompjax launch local", __doc__)
  p.add_argument("--processes", type=int, required=True, help="number of processes (>= 1)")
  p.add_argument("--port", type=int, default=0, help="coordinator port on localhost (default: a free one)")
  p.add_argument("--timeout", type=float, default=0.0, help="stop every process after S seconds (0: no limit)")
  p.add_argument("--grace", type=float, default=10.0,
                 help="seconds the others get to stop on their own after one fails (default 10)")
  p.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true",
                 help="print the command lines and their environment; run nothing")
  return p


def main(argv: list[str]) -> int:
  if not argv or argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax launch", "target", SUBJECTS))
    return 0 if argv else 2
  if argv[0] not in SUBJECTS:
    raise UsageError(f"unknown launch target {argv[0]!r}; known: {', '.join(SUBJECTS)}")
  if argv[0] == "check":
    return check(argv[1:])
  flags, command = (argv[1:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv[1:], [])
  args = _parser().parse_args(flags)
  if not command:
    raise UsageError("give the decompjax command to run after `--`, e.g. "
                     "decompjax launch local --processes=2 -- train --config=... --workdir=...")
  if command[0] == "launch" and command[1:2] != ["check"]:
    raise UsageError("`launch` can launch `launch check`, not itself")
  if args.processes < 1:
    raise UsageError(f"--processes={args.processes}: must be >= 1")
  if args.port < 0 or args.port > 65535 or args.timeout < 0 or args.grace < 0:
    raise UsageError("--port must be 0..65535 and --timeout, --grace >= 0")
  from decompjax import local_cluster
  the_plan = local_cluster.plan(command, processes=args.processes, port=args.port or None,
                                cpu_devices=cpu_devices.requested(_LaunchDefaults))
  if args.dry_run:
    print("\n".join(the_plan.lines))
    return 0
  print(f"[launch] {args.processes} processes, coordinator localhost:{the_plan.port}", flush=True)
  rc = local_cluster.run(the_plan, grace_s=args.grace, timeout_s=args.timeout)
  print(f"[launch] {'all processes succeeded' if rc == 0 else f'failed with status {rc}'}", file=sys.stderr)
  return rc


def check(argv: list[str]) -> int:
  p = parsing.Parser("decompjax launch check", __doc__)
  p.add_argument("--hold", type=float, default=0.0, help="keep summing over every device for S seconds")
  args = p.parse_args(argv)
  cpu_devices.configure(cpu_devices.requested(_LaunchDefaults))
  import jax
  import numpy as np

  from jax.experimental import multihost_utils

  from decompjax import distributed, sharding
  distributed.maybe_initialize()
  mesh = sharding.make_mesh()
  total = jax.jit(lambda x: x.sum(), out_shardings=sharding.replicated(mesh))
  local = np.full((jax.local_device_count(),), jax.process_index(), np.int32)
  expected = jax.local_device_count() * sum(range(jax.process_count()))  # every host has as many devices
  got = int(total(sharding.to_global_batch({"x": local}, mesh)["x"]))
  print(f"process {jax.process_index()}/{jax.process_count()}: {jax.local_device_count()} local / "
        f"{jax.device_count()} global devices ({jax.devices()[0].platform}), sum {got} (expected {expected}), "
        f"pid {os.getpid()}", flush=True)
  deadline, rounds = time.monotonic() + args.hold, 1
  while got == expected and time.monotonic() < deadline:
    time.sleep(0.2)
    got = int(total(sharding.to_global_batch({"x": local}, mesh)["x"]))
    rounds += 1
    if jax.distributed.is_initialized() and multihost_utils.reached_preemption_sync_point(rounds):
      # SIGTERM reached some process: JAX's notifier tells every process at the same round.
      print(f"process {jax.process_index()}: SIGTERM noticed, every process stops at round {rounds}", flush=True)
      return 143
  if args.hold:
    print(f"process {jax.process_index()}: {rounds} sums over {args.hold:g} s, last {got}", flush=True)
  return 0 if got == expected else 1
