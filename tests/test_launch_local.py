"""`decompjax launch local`: real N-process jax.distributed runs on localhost (gloo), the env contract, failures."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from decompjax import local_cluster

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "decompjax.cli", "launch", *args], cwd=REPO, capture_output=True,
                        text=True, timeout=timeout)


def _start_holding(hold_s: float = 120, startup_s: float = 120):
  """Starts `launch local` of 2 processes that keep summing over the mesh (`launch check --hold`); returns once
  both printed their pid. Returns (launcher Popen, [pid of process 0, pid of process 1], lines read so far)."""
  proc = subprocess.Popen([sys.executable, "-m", "decompjax.cli", "launch", "local", "--processes=2", "--grace=5",
                           "--", "launch", "check", f"--hold={hold_s:g}"], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
  watchdog = threading.Timer(startup_s, proc.kill)  # a start-up that never prints its pids must not hang the test
  watchdog.start()
  seen, pids = [], {}
  try:
    for line in proc.stdout:
      seen.append(line)
      m = re.match(r"^\[p(\d)\] process \d/2: .* pid (\d+)$", line.rstrip())
      if m:
        pids[int(m.group(1))] = int(m.group(2))
      if len(pids) == 2:
        break
  finally:
    watchdog.cancel()
  return proc, [pids[i] for i in sorted(pids)], seen


def test_plan_gives_each_process_the_contract_and_drops_the_forced_device_count():
  base = {"XLA_FLAGS": "--xla_force_host_platform_device_count=8 --xla_dump_to=/tmp/d", "HOME": "/h"}
  the_plan = local_cluster.plan(["train", "--workdir=/w"], processes=3, cpu_devices=2, port=4321, base=base)
  assert [e["DECOMPJAX_PROCESS_ID"] for e in the_plan.envs] == ["0", "1", "2"]
  for env, command in zip(the_plan.envs, the_plan.commands):
    assert env["DECOMPJAX_COORDINATOR_ADDRESS"] == "localhost:4321" and env["DECOMPJAX_NUM_PROCESSES"] == "3"
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/d" and env["HOME"] == "/h"
    assert command[-3:] == ["train", "--workdir=/w", "--cpu_devices=2"]
  only_forced = local_cluster.plan(["eval"], processes=1, cpu_devices=1, port=1,
                                   base={"XLA_FLAGS": "--xla_force_host_platform_device_count=8"})
  assert "XLA_FLAGS" not in only_forced.envs[0] and "env -u XLA_FLAGS" in only_forced.lines[0]


def test_dry_run_prints_one_line_per_process_and_runs_nothing(tmp_path):
  result = _launch("local", "--processes=2", "--port=5555", "--cpu_devices=1", "--dry-run", "--",
                   "train", "--config=configs/syntone_vae.py:smoke", f"--workdir={tmp_path}/w")
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  assert len(lines) == 2
  for i, line in enumerate(lines):
    assert f"DECOMPJAX_PROCESS_ID={i}" in line and "DECOMPJAX_COORDINATOR_ADDRESS=localhost:5555" in line
    assert "DECOMPJAX_NUM_PROCESSES=2" in line and line.endswith(f"--workdir={tmp_path}/w --cpu_devices=1")
    assert "-m decompjax.cli train --config=configs/syntone_vae.py:smoke" in line
  assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("args, words", [
    (["local", "--processes=2"], "after `--`"),
    (["local", "--processes=0", "--", "train"], "--processes=0"),
    (["local", "--processes=2", "--", "launch", "local"], "not itself"),
    (["remote"], "unknown launch target"),
])
def test_bad_usage_is_one_error_line(args, words):
  result = _launch(*args)
  assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_two_processes_form_one_cluster():
  start = time.monotonic()
  result = _launch("local", "--processes=2", "--", "launch", "check")
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
  for i in range(2):
    assert re.search(rf"^\[p{i}\] process {i}/2: 2 local / 4 global devices \(cpu\), sum 2 \(expected 2\)",
                     result.stdout, re.M), result.stdout[-3000:]
  assert time.monotonic() - start < 90


def test_a_killed_process_stops_the_launch_in_bounded_time():
  """SIGKILL one process mid-run: the other must not hang; launch exits non-zero within grace + kill time."""
  proc, pids, seen = _start_holding()
  try:
    assert len(pids) == 2, "".join(seen[-40:])
    os.kill(pids[1], signal.SIGKILL)
    killed_at = time.monotonic()
    rest, _ = proc.communicate(timeout=60)
    elapsed = time.monotonic() - killed_at
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait()
  assert proc.returncode != 0, rest[-2000:]
  assert re.search(r"^\[launch\] process [01] exited with status [1-9]", rest, re.M), rest[-2000:]
  assert elapsed < 5 + local_cluster.KILL_AFTER_TERM_S + 10, elapsed


def test_a_process_that_fails_fails_the_launch():
  """Every process refuses a bad flag at once: launch reports the failure status, quickly."""
  start = time.monotonic()
  result = _launch("local", "--processes=2", "--", "train", "--config=configs/syntone_vae.py:smoke",
                   "--workdir=/tmp/x", "--config.train.stepz=3")
  assert result.returncode == 2, result.stdout[-2000:]
  assert "[p0] decompjax train: error:" in result.stdout and "[p1] decompjax train: error:" in result.stdout
  assert time.monotonic() - start < 60


@pytest.mark.parametrize("target", ["one process", "the launcher"])
def test_sigterm_stops_every_process_at_the_same_round(target):
  """SIGTERM to one process (a preempted host), or Ctrl-C to the launcher: every process stops at one round."""
  proc, pids, seen = _start_holding()
  try:
    assert len(pids) == 2, "".join(seen[-40:])
    time.sleep(1)
    if target == "one process":
      os.kill(pids[1], signal.SIGTERM)
    else:
      proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=90)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait()
  rounds = {int(m.group(1)): int(m.group(2)) for m in
            re.finditer(r"^\[p(\d)\] process \d: SIGTERM noticed, every process stops at round (\d+)", rest, re.M)}
  assert set(rounds) == {0, 1} and rounds[0] == rounds[1], rest[-3000:]
  assert proc.returncode == 143, rest[-2000:]
