"""Starts N local processes of the decompjax CLI as one JAX cluster (the DECOMPJAX_* contract of
decompjax/distributed.py: coordinator on a fresh localhost port, gloo collectives, 2 CPU devices each), keeps a
log per process, kills the whole group past a hard timeout (showing the logs), and reads back what each process
recorded (tests/multihost/child.py): the files it wrote and the example ids of the batches it trained on.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import jax
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
DEVICES_PER_PROCESS = 2
# Evaluation, progress bars and TensorBoard-free defaults of every run; each test adds its own overrides.
DEFAULTS = {"train.progress": "false"}


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _jit_cache_dir() -> str:
  """One compilation cache for every child of the session (outside any watched folder)."""
  path = os.environ.get("DECOMPJAX_MULTIHOST_JIT_CACHE") or os.path.join(tempfile.gettempdir(),
                                                                         "decompjax_multihost_jit_cache")
  os.makedirs(path, exist_ok=True)
  return path


def child_env(record: pathlib.Path, watch: pathlib.Path, process_id: int, num_processes: int,
              port: int | None) -> dict:
  env = dict(os.environ)
  for key in ("XLA_FLAGS", "DECOMPJAX_CPU_DEVICES", "JAX_COORDINATOR_ADDRESS", "DECOMPJAX_DISTRIBUTED",
              "DECOMPJAX_COORDINATOR_ADDRESS", "DECOMPJAX_NUM_PROCESSES", "DECOMPJAX_PROCESS_ID",
              "DECOMPJAX_LOCAL_DEVICE_IDS", "SLURM_NTASKS", "SLURM_JOB_ID"):
    env.pop(key, None)  # the test session forces 8 devices through XLA_FLAGS: children choose their own
  env.update({"JAX_COMPILATION_CACHE_DIR": _jit_cache_dir(), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
              "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu",
              "PYTHONUNBUFFERED": "1", "DECOMPJAX_TEST_RECORD": str(record), "DECOMPJAX_TEST_WATCH": str(watch)})
  if port is not None:
    env.update({"DECOMPJAX_COORDINATOR_ADDRESS": f"localhost:{port}", "DECOMPJAX_NUM_PROCESSES": str(num_processes),
                "DECOMPJAX_PROCESS_ID": str(process_id)})
  return env


@dataclasses.dataclass
class Group:
  """N processes of one command; `record` holds their recordings, `logs` one log file each."""
  name: str
  procs: list
  logs: list
  record: pathlib.Path
  started: float

  def log(self, i: int) -> str:
    return pathlib.Path(self.logs[i]).read_text(errors="replace")

  def all_logs(self, tail: int = 4000) -> str:
    return "\n".join(f"----- {self.name} process {i} ({p.returncode}) -----\n{self.log(i)[-tail:]}"
                     for i, p in enumerate(self.procs))

  def kill(self) -> None:
    for p in self.procs:
      if p.poll() is None:
        p.kill()
    for p in self.procs:
      p.wait()

  def wait(self, timeout: float) -> list[int]:
    """Exit codes once every process ended; past `timeout` s (from the start) kills the group and fails."""
    deadline = self.started + timeout
    for p in self.procs:
      try:
        p.wait(timeout=max(0.1, deadline - time.monotonic()))
      except subprocess.TimeoutExpired:
        self.kill()
        raise AssertionError(f"{self.name}: still running after {timeout:.0f} s; killed.\n{self.all_logs()}")
    return [p.returncode for p in self.procs]

  def ok(self, timeout: float) -> "Group":
    """Waits; fails with every log unless each process exited 0."""
    codes = self.wait(timeout)
    assert codes == [0] * len(codes), f"{self.name}: exit codes {codes}\n{self.all_logs()}"
    return self

  def writes(self) -> dict[int, set[str]]:
    """{process: paths it wrote (opened for writing, created, renamed onto, removed)} under the watched root."""
    return {i: {json.loads(line)["path"] for line in _lines(self.record / f"writes.{i}.jsonl")}
            for i in range(len(self.procs))}

  def batches(self) -> dict[int, list[list]]:
    """{process: [example ids of each train batch it took, in order]}."""
    out = {}
    for i in range(len(self.procs)):
      items = [json.loads(line) for line in _lines(self.record / f"batches.{i}.jsonl")]
      out[i] = [item["ids"] for item in sorted(items, key=lambda item: item["step"])]
    return out


def _lines(path: pathlib.Path) -> list[str]:
  return path.read_text().splitlines() if path.is_file() else []


def start(name: str, args: list[str], root: pathlib.Path, *, processes: int = 2,
          devices: int = DEVICES_PER_PROCESS, env: dict | None = None) -> Group:
  """Starts `decompjax <args>` as `processes` cluster processes (1: a plain single process) with `devices` CPU
  devices each (and `env` added to their environment). Files under `root` are watched; logs and recordings go
  to root/_<name>/."""
  record = root / f"_{name}"
  record.mkdir(parents=True, exist_ok=False)
  port = free_port() if processes > 1 else None
  command = [sys.executable, "-m", "tests.multihost.child", *args[:1], f"--cpu_devices={devices}", *args[1:]]
  procs, logs = [], []
  for i in range(processes):
    log_path = record / f"log.{i}.txt"
    with open(log_path, "w") as log:
      procs.append(subprocess.Popen(command, cwd=REPO, env={**child_env(record, root, i, processes, port), **(env or {})},
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    logs.append(log_path)
  return Group(name, procs, logs, record, time.monotonic())


def train_args(preset: str, workdir, overrides: dict) -> list[str]:
  pairs = {**DEFAULTS, **{k: str(v) for k, v in overrides.items()}}
  return ["train", f"--config={preset}", f"--workdir={workdir}"] + [f"--config.{k}={v}" for k, v in pairs.items()]


def wait_for(group: Group, predicate, what: str, timeout: float) -> None:
  """Polls `predicate()` until true; fails (killing the group, with its logs) if a process exits first or time
  runs out."""
  deadline = time.monotonic() + timeout
  while not predicate():
    if any(p.poll() is not None for p in group.procs):
      group.kill()
      raise AssertionError(f"{group.name}: a process exited before {what}\n{group.all_logs()}")
    if time.monotonic() > deadline:
      group.kill()
      raise AssertionError(f"{group.name}: no {what} within {timeout:.0f} s\n{group.all_logs()}")
    time.sleep(0.1)


def signal_one(group: Group, i: int, sig: int) -> None:
  os.kill(group.procs[i].pid, sig)


def checkpoint_steps(workdir) -> list[int]:
  folder = pathlib.Path(workdir) / "checkpoints"
  return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []


def logged_steps(workdir) -> list[int]:
  return sorted(logged_losses(workdir))


def outside_checkpoints(paths: set[str], workdir) -> set[str]:
  """The paths not inside a checkpoint folder of `workdir` (orbax writes those from every process by design)."""
  roots = [os.path.realpath(os.path.join(str(workdir), d)) for d in ("checkpoints", "checkpoints_best")]
  return {p for p in paths if not any(p == r or p.startswith(r + os.sep) for r in roots)}


def final_params(workdir, step: int | None = None) -> tuple[int, dict]:
  """(step, params as numpy) of the latest (or given) checkpoint, restored in this (test) process on one
  device with the workdir's saved config."""
  from decompjax import config_utils, sharding, train
  config = config_utils.load_saved_config(os.path.join(str(workdir), "config.json"))
  state = train.restore_state(config, str(workdir), mesh=sharding.make_mesh(1), step=step)
  return int(state.step), jax.tree.map(np.asarray, jax.device_get(state.params))


def assert_close_params(a: dict, b: dict, *, atol: float, close: float, fraction: float) -> None:
  """Every entry within `atol`, and all but `fraction` of them within `close`, leaf by leaf named on failure."""
  la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
  assert [p for p, _ in la] == [p for p, _ in lb]
  total = apart = 0
  for (path, x), (_, y) in zip(la, lb):
    np.testing.assert_allclose(x, y, rtol=0, atol=atol, err_msg=jax.tree_util.keystr(path))
    total, apart = total + x.size, apart + int((np.abs(x - y) > close).sum())
  assert apart <= fraction * total, f"{apart} of {total} parameters differ by more than {close}"


def logged_losses(workdir) -> dict[int, float]:
  path = pathlib.Path(workdir) / "metrics.jsonl"
  return {r["step"]: r["train/loss"] for r in map(json.loads, _lines(path)) if "train/loss" in r}
