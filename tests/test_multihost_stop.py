"""A real 2-process x 2-CPU-device training (jax.distributed on localhost, gloo): a signal to ONE process stops
both at the same step boundary with one checkpoint of that step, saved by both together.

SIGTERM (a preempted VM, a scheduler) is JAX's preemption notifier's; SIGINT is re-sent as SIGTERM by the
process that got it, so it also reaches the other one. Processes: tests/multihost_runner.py.
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from decompjax import registry, stop_signals, train

REPO = pathlib.Path(__file__).resolve().parents[1]
PRESET = "tests/toy_family.py"
PROCESSES = 2


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _env() -> dict:
  env = dict(os.environ)
  env.update({"XLA_FLAGS": "", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"})
  return env


def _start(workdir: pathlib.Path, overrides: dict) -> list[subprocess.Popen]:
  port, procs = _free_port(), []
  for i in range(PROCESSES):
    log = open(f"{workdir}.p{i}.log", "w")
    cmd = [sys.executable, "-m", "tests.multihost_runner", str(i), str(PROCESSES), str(port), str(workdir), PRESET]
    procs.append(subprocess.Popen(cmd + [f"{k}={v}" for k, v in overrides.items()], cwd=REPO, env=_env(),
                                  stdout=log, stderr=subprocess.STDOUT))
    procs[-1].log_path = log.name
  return procs


def _log(proc) -> str:
  return pathlib.Path(proc.log_path).read_text()


def _logged_steps(workdir: pathlib.Path) -> list[int]:
  path = workdir / "metrics.jsonl"
  if not path.is_file():
    return []
  return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


def _wait_for_training(procs, workdir, timeout=240):
  deadline = time.monotonic() + timeout
  while len(_logged_steps(workdir)) < 3:
    for p in procs:
      if p.poll() is not None:
        raise AssertionError(f"a process exited ({p.returncode}) before training:\n{_log(p)[-3000:]}")
    if time.monotonic() > deadline:
      raise AssertionError("no training within the time limit:\n" + "\n".join(_log(p)[-2000:] for p in procs))
    time.sleep(0.1)


def _finish(procs, timeout=120) -> list[int]:
  deadline = time.monotonic() + timeout
  try:
    return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
  except subprocess.TimeoutExpired:
    raise AssertionError("still running after the signal:\n" + "\n".join(_log(p)[-3000:] for p in procs))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()


def _saved_step(out: str, why: str) -> int:
  said = [line for line in out.splitlines() if f"{why}: saved a checkpoint at step" in line]
  assert len(said) == 1, out[-3000:]
  return int(said[0].split("saved a checkpoint at step ")[1].split()[0])


def test_one_process_keeps_its_own_handlers_and_coordinated_leaves_sigterm_to_jax():
  assert not stop_signals.coordination_available()  # one process: nothing to coordinate
  before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
  with stop_signals.deferred(coordinated=True) as stop:
    assert stop.coordinated
    assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]  # JAX's notifier keeps SIGTERM
    assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]  # ours: re-sent as SIGTERM
  assert {s: signal.getsignal(s) for s in before} == before
  with stop_signals.deferred() as stop:
    assert not stop.coordinated and signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]


@pytest.mark.multihost
@pytest.mark.parametrize("sig, codes", [(signal.SIGTERM, [143, 143]), (signal.SIGINT, [143, 130])])
def test_a_signal_to_one_process_gives_one_coordinated_checkpoint(tmp_path, sig, codes):
  work = tmp_path / "w"
  # Never reaches train.steps; no periodic checkpoint: the only one is the stop's. Log every step.
  procs = _start(work, {"train.steps": 10**6, "train.ckpt_every": 10**6, "train.log_every": 1,
                        "train.progress": "false", "train.eval_at_end": "false"})
  t0 = time.monotonic()
  try:
    _wait_for_training(procs, work)
    procs[1].send_signal(sig)  # not the writer: the notice must travel to process 0
    signalled = time.monotonic()
    rcs = _finish(procs)
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  outs = [_log(p) for p in procs]
  assert rcs == codes, "\n".join(o[-3000:] for o in outs)
  assert all("Traceback" not in o for o in outs), "\n".join(o[-3000:] for o in outs)
  steps = [_saved_step(o, "stopped by SIGTERM" if rc == 143 else "stopped by SIGINT") for o, rc in zip(outs, rcs)]
  assert steps[0] == steps[1], steps  # the same step boundary on both processes
  names = os.listdir(work / "checkpoints")
  assert names == [str(steps[0])], names  # one committed checkpoint, nothing half-written
  assert max(_logged_steps(work)) == steps[0]  # process 0's metrics end at the saved step
  registry.register("toy", "tests.toy_family:TOY")
  from decompjax import config_utils, sharding
  config = config_utils.load_saved_config(str(work / "config.json"))
  assert int(train.restore_state(config, str(work), mesh=sharding.make_mesh(1)).step) == steps[0]
  print(f"signal {sig.name}: start-up {signalled - t0:.1f} s, stopped {time.monotonic() - signalled:.1f} s later")
