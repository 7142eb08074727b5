"""N processes of one decompjax command on this machine, joined into one JAX cluster (`decompjax launch local`).

Each process gets distributed.py's explicit contract (DECOMPJAX_COORDINATOR_ADDRESS=localhost:PORT,
DECOMPJAX_NUM_PROCESSES, DECOMPJAX_PROCESS_ID) and its own CPU split (`--cpu_devices=K`); a forced device count in
XLA_FLAGS (the test suite's) is removed, since it would win over K. Every output line is prefixed `[pI] `.
The supervisor never lets a run hang: when one process fails, the others get `grace` seconds to fail on their own
(JAX's heartbeat or a broken collective), then SIGTERM, then SIGKILL. SIGINT (Ctrl-C) or SIGTERM sent to the
launcher reaches every process as SIGTERM (the coordinated-save path); a second one kills them.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

_FORCED_COUNT = re.compile(r"--xla_force_host_platform_device_count=\S*")
KILL_AFTER_TERM_S = 10.0


def free_port() -> int:
  """A TCP port nothing listens on now (bound to port 0, then released)."""
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def child_env(base: dict[str, str], *, port: int, num_processes: int, process_id: int) -> dict[str, str]:
  """`base` plus the cluster contract, without a forced CPU device count, with unbuffered Python output."""
  env = dict(base)
  flags = _FORCED_COUNT.sub("", env.get("XLA_FLAGS", "")).strip()
  if flags:
    env["XLA_FLAGS"] = flags
  else:
    env.pop("XLA_FLAGS", None)
  env.update({"DECOMPJAX_COORDINATOR_ADDRESS": f"localhost:{port}", "DECOMPJAX_NUM_PROCESSES": str(num_processes),
              "DECOMPJAX_PROCESS_ID": str(process_id), "PYTHONUNBUFFERED": "1"})
  return env


def child_command(command: list[str], cpu_devices: int) -> list[str]:
  """The decompjax command line one process runs (this interpreter, so the same installation)."""
  return [sys.executable, "-m", "decompjax.cli", *command, f"--cpu_devices={cpu_devices}"]


def describe(command: list[str], env: dict[str, str], base: dict[str, str]) -> str:
  """One shell line: the variables that differ from `base`, then the command (what --dry-run prints)."""
  changed = [f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()) if base.get(k) != v]
  removed = [f"-u {k}" for k in sorted(base) if k not in env]
  prefix = " ".join(["env", *removed, *changed]) if removed else " ".join(changed)
  return f"{prefix} {shlex.join(command)}".strip()


@dataclass
class Plan:
  """What a local launch runs: one (command, env) per process."""
  commands: list[list[str]]
  envs: list[dict[str, str]]
  port: int
  lines: list[str] = field(default_factory=list)


def plan(command: list[str], *, processes: int, cpu_devices: int, port: int | None = None,
         base: dict[str, str] | None = None) -> Plan:
  base = dict(os.environ if base is None else base)
  port = port or free_port()
  envs = [child_env(base, port=port, num_processes=processes, process_id=i) for i in range(processes)]
  commands = [child_command(command, cpu_devices) for _ in range(processes)]
  return Plan(commands, envs, port, [describe(c, e, base) for c, e in zip(commands, envs)])


def _pump(stream, prefix: str, out, lock: threading.Lock) -> None:
  for line in iter(stream.readline, b""):
    with lock:
      out.write(prefix + line.decode(errors="replace"))
      out.flush()
  stream.close()


def _exit_code(rc: int) -> int:
  return 128 - rc if rc < 0 else rc  # killed by signal N -> 128 + N, as a shell reports it


def _signal_all(procs, sig) -> None:
  for p in procs:
    if p.poll() is None:
      try:
        os.killpg(p.pid, sig)  # its own session: the process and anything it started
      except ProcessLookupError:
        pass


def run(the_plan: Plan, *, grace_s: float = 10.0, timeout_s: float = 0.0, out=None) -> int:
  """Starts every process, streams their prefixed output to `out`, returns 0 if all exit 0, else the exit code of
  the first that failed (124 when `timeout_s` ran out). Nothing is left running when it returns."""
  out = out or sys.stdout
  lock = threading.Lock()
  procs, pumps = [], []
  forwarded: list[int] = []

  def forward(signum, _frame):
    forwarded.append(signum)
    # SIGTERM, whatever came: JAX's preemption notifier (installed by jax.distributed.initialize) handles it, so
    # every process saves at the same step; SIGINTs reaching processes at different steps would not.
    _signal_all(procs, signal.SIGKILL if len(forwarded) > 1 else signal.SIGTERM)

  in_main = threading.current_thread() is threading.main_thread()
  old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
  try:
    for i, (command, env) in enumerate(zip(the_plan.commands, the_plan.envs)):
      p = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, start_new_session=True)
      procs.append(p)
      t = threading.Thread(target=_pump, args=(p.stdout, f"[p{i}] ", out, lock), daemon=True)
      t.start()
      pumps.append(t)
    return _supervise(procs, grace_s=grace_s, timeout_s=timeout_s, out=out, lock=lock)
  finally:
    _signal_all(procs, signal.SIGKILL)
    for p in procs:
      p.wait()
    for t in pumps:
      t.join(timeout=5)
    for s, handler in old.items():
      signal.signal(s, handler)


def _supervise(procs, *, grace_s: float, timeout_s: float, out, lock) -> int:
  start = time.monotonic()
  failed_at, failed_rc, termed_at = None, 0, None
  while True:
    codes = [p.poll() for p in procs]
    if all(c is not None for c in codes):
      return failed_rc or next((_exit_code(c) for c in codes if c), 0)
    now = time.monotonic()
    if failed_at is None:
      bad = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
      if bad:
        failed_at, failed_rc = now, _exit_code(bad[0][1])
        with lock:
          out.write(f"[launch] process {bad[0][0]} exited with status {failed_rc}; stopping the others if they "
                    f"have not stopped within {grace_s:g} s\n")
          out.flush()
      elif timeout_s and now - start > timeout_s:
        failed_at, failed_rc = now - grace_s, 124
        with lock:
          out.write(f"[launch] --timeout={timeout_s:g} s reached; stopping every process\n")
          out.flush()
    if failed_at is not None and termed_at is None and now - failed_at >= grace_s:
      _signal_all(procs, signal.SIGTERM)
      termed_at = now
    if termed_at is not None and now - termed_at >= KILL_AFTER_TERM_S:
      _signal_all(procs, signal.SIGKILL)
    time.sleep(0.1)
