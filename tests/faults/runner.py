"""Runs `decompjax train` in a subprocess (so it can be killed or signalled) and reads a workdir's result.

Every run of the fault suite uses the same forced device count and shares one persistent JAX compilation
cache, so an interrupted run and the uninterrupted one compile identical programs (and only the first compiles).
"""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import jax
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
PRESET = "configs/syntone_beta_vae.py:smoke"
DEVICES = 2  # few devices: compiles fast on a 2-core machine; identical for every run of a comparison
# The fault tests must not evaluate (slow) unless they ask to; progress bars off.
DEFAULTS = {"train.progress": "false", "train.eval_at_end": "false"}


def _jit_cache_dir() -> str:
  """The test session's cache (tests/conftest.py) or, run standalone, one shared tmp directory."""
  path = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(tempfile.gettempdir(),
                                                                     "decompjax_faults_jit_cache")
  os.makedirs(path, exist_ok=True)
  return path


def train_env(env: dict | None = None) -> dict:
  out = dict(os.environ)
  out.update({"XLA_FLAGS": f"--xla_force_host_platform_device_count={DEVICES}",
              "JAX_COMPILATION_CACHE_DIR": _jit_cache_dir(), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
              "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": "",
              "PYTHONUNBUFFERED": "1"})
  out.pop("DECOMPJAX_CPU_DEVICES", None)
  out.update(env or {})
  return out


def train_command(workdir, overrides=None, preset: str = PRESET) -> list[str]:
  """overrides: {'train.steps': 6, ...} (or a list of (key, value)); values are passed as text."""
  pairs = dict(DEFAULTS)
  pairs.update({k: str(v) for k, v in (overrides.items() if isinstance(overrides, dict) else overrides or ())})
  return ([sys.executable, "-m", "decompjax.cli", "train", f"--config={preset}", f"--workdir={workdir}"]
          + [f"--config.{k}={v}" for k, v in pairs.items()])


def run_train(workdir, overrides=None, env: dict | None = None, timeout: float = 300,
              preset: str = PRESET) -> subprocess.CompletedProcess:
  """Runs `decompjax train` to completion; returns the CompletedProcess (text stdout/stderr)."""
  return subprocess.run(train_command(workdir, overrides, preset), cwd=REPO, env=train_env(env),
                        capture_output=True, text=True, timeout=timeout)


def start_train(workdir, overrides=None, env: dict | None = None, preset: str = PRESET) -> subprocess.Popen:
  """Starts `decompjax train`; its stdout and stderr go to `proc.log_path` (<workdir>.log, appended), so a
  run that is never read from cannot block on a full pipe."""
  log_path = f"{workdir}.log"
  with open(log_path, "a") as log:
    proc = subprocess.Popen(train_command(workdir, overrides, preset), cwd=REPO, env=train_env(env),
                            stdout=log, stderr=subprocess.STDOUT, text=True)
  proc.log_path = log_path
  proc.log_offset = os.path.getsize(log_path)  # where this run's output starts
  return proc


def log_of(proc: subprocess.Popen) -> str:
  with open(proc.log_path) as f:
    f.seek(proc.log_offset)
    return f.read()


def finish(proc: subprocess.Popen, sig: int | None = None, timeout: float = 180) -> tuple[int, str]:
  """Optionally sends `sig`, then waits; returns (returncode, this run's output). Kills it on timeout."""
  if sig is not None:
    proc.send_signal(sig)
  try:
    proc.wait(timeout=timeout)
  except subprocess.TimeoutExpired:
    proc.kill()
    proc.wait()
    raise AssertionError(f"still running {timeout}s after signal {sig}; killed. Output:\n{log_of(proc)[-3000:]}")
  return proc.returncode, log_of(proc)


def checkpoint_entries(workdir) -> tuple[int | None, list[str]]:
  """(newest committed step on disk, names of unfinished saves) in <workdir>/checkpoints, read directly:
  orbax writes a step into '<step>.orbax-checkpoint-tmp-*' and renames it to '<step>' to commit."""
  try:
    names = os.listdir(os.path.join(str(workdir), "checkpoints"))
  except FileNotFoundError:
    return None, []
  steps = [int(n) for n in names if n.isdigit()]
  return (max(steps) if steps else None), [n for n in names if "tmp" in n]


def wait_until(proc: subprocess.Popen, predicate, what: str, timeout: float = 300, poll: float = 0.002) -> None:
  """Polls `predicate()` until true; fails (with the run's output) if the run exits first or time runs out."""
  deadline = time.monotonic() + timeout
  while not predicate():
    if proc.poll() is not None:
      raise AssertionError(f"run exited ({proc.returncode}) before {what}:\n{log_of(proc)[-3000:]}")
    if time.monotonic() > deadline:
      proc.kill()
      raise AssertionError(f"no {what} within {timeout}s:\n{log_of(proc)[-3000:]}")
    time.sleep(poll)


def checkpoint_steps(workdir) -> list[int]:
  """Committed checkpoint steps on disk (unfinished '<step>.orbax-checkpoint-tmp-*' folders are not steps)."""
  folder = os.path.join(str(workdir), "checkpoints")
  return sorted(int(n) for n in os.listdir(folder) if n.isdigit()) if os.path.isdir(folder) else []


def logged_losses(workdir) -> dict[int, float]:
  """{step: train/loss} from <workdir>/metrics.jsonl; fails if a step has more than one line."""
  from decompjax import metric_writer
  records = [r for r in metric_writer.read_metrics(str(workdir)) if "train/loss" in r]
  steps = [r["step"] for r in records]
  assert len(steps) == len(set(steps)), f"duplicate metrics lines: {steps}"
  return {r["step"]: r["train/loss"] for r in records}


def final_params(workdir, step: int | None = None) -> tuple[int, dict]:
  """(step, params as numpy) of the latest (or given) checkpoint, restored with the workdir's saved config."""
  from decompjax import config_utils, sharding, train
  config = config_utils.load_saved_config(os.path.join(str(workdir), "config.json"))
  state = train.restore_state(config, str(workdir), mesh=sharding.make_mesh(1), step=step)
  return int(state.step), jax.tree.map(np.asarray, jax.device_get(state.params))


def assert_same_params(a: dict, b: dict) -> None:
  la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
  assert [p for p, _ in la] == [p for p, _ in lb]
  for (path, x), (_, y) in zip(la, lb):
    np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(path))
