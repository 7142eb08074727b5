"""Cluster start-up (decompjax.distributed): the env contract, SLURM device choice, and hard errors instead of a
node quietly training alone."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import jax
import pytest

from decompjax import distributed, local_cluster
from decompjax.distributed import ClusterStartError
from decompjax.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTRACT = {"DECOMPJAX_COORDINATOR_ADDRESS": "10.0.0.1:8476", "DECOMPJAX_NUM_PROCESSES": "4",
            "DECOMPJAX_PROCESS_ID": "3"}


def test_explicit_contract_gives_every_argument_and_turns_detection_off():
  settings = distributed.explicit_settings({**CONTRACT, "DECOMPJAX_LOCAL_DEVICE_IDS": "0,1", "SLURM_NTASKS": "8"})
  assert settings == {"coordinator_address": "10.0.0.1:8476", "num_processes": 4, "process_id": 3,
                      "local_device_ids": [0, 1], "cluster_detection_method": "deactivate"}
  assert distributed.explicit_settings({"SLURM_NTASKS": "8"}) is None


@pytest.mark.parametrize("env, words", [
    ({"DECOMPJAX_NUM_PROCESSES": "2"}, "missing DECOMPJAX_COORDINATOR_ADDRESS, DECOMPJAX_PROCESS_ID"),
    ({**CONTRACT, "DECOMPJAX_PROCESS_ID": "4"}, "process ids run 0..3"),
    ({**CONTRACT, "DECOMPJAX_COORDINATOR_ADDRESS": "10.0.0.1"}, "must be host:port"),
    ({**CONTRACT, "DECOMPJAX_NUM_PROCESSES": "two"}, "DECOMPJAX_NUM_PROCESSES='two'"),
    ({**CONTRACT, "DECOMPJAX_LOCAL_DEVICE_IDS": "a"}, "comma-separated device indices"),
])
def test_bad_or_partial_contract_is_a_user_error_naming_the_settings(env, words):
  with pytest.raises(ClusterStartError, match=words.replace("(", r"\(").replace(".", r"\.")) as info:
    distributed.maybe_initialize(env)
  assert isinstance(info.value, UserError)
  assert not jax.distributed.is_initialized()


def test_timeouts_default_and_env():
  assert distributed.timeouts({}) == {"initialization_timeout": 300, "heartbeat_timeout_seconds": 60,
                                      "shutdown_timeout_seconds": 60}
  got = distributed.timeouts({"DECOMPJAX_HEARTBEAT_TIMEOUT": "7", "DECOMPJAX_INIT_TIMEOUT": "9"})
  assert got["heartbeat_timeout_seconds"] == 7 and got["initialization_timeout"] == 9
  with pytest.raises(ClusterStartError, match="DECOMPJAX_SHUTDOWN_TIMEOUT"):
    distributed.timeouts({"DECOMPJAX_SHUTDOWN_TIMEOUT": "0"})


def test_single_host_is_a_no_op():
  distributed.maybe_initialize({"SLURM_NTASKS": "1", "TPU_WORKER_HOSTNAMES": "localhost"})
  assert not jax.distributed.is_initialized() and distributed.is_writer()
  distributed.barrier("nothing to wait for")


@pytest.mark.parametrize("env, ids", [
    # The case: one task per node and 8 GPUs. JAX alone would drive GPU 0 only.
    ({"SLURM_TASKS_PER_NODE": "1(x2)", "SLURM_NODEID": "1", "SLURM_LOCALID": "0",
      "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}, list(range(8))),
    # One task per GPU, every GPU visible to every task (launch/slurm_gpu.sbatch): GPU number SLURM_LOCALID.
    ({"SLURM_STEP_TASKS_PER_NODE": "8(x2)", "SLURM_NODEID": "1", "SLURM_LOCALID": "5", "SLURM_GPUS_ON_NODE": "8"},
     [5]),
    # GPUs bound per task by the site: the one visible GPU, whatever SLURM_LOCALID is.
    ({"SLURM_STEP_TASKS_PER_NODE": "8", "SLURM_LOCALID": "3", "CUDA_VISIBLE_DEVICES": "3"}, [0]),
    # Two tasks sharing 8 GPUs: 4 each.
    ({"SLURM_TASKS_PER_NODE": "2,2", "SLURM_NODEID": "0", "SLURM_LOCALID": "1", "SLURM_GPUS_ON_NODE": "8"},
     [4, 5, 6, 7]),
    ({"SLURM_TASKS_PER_NODE": "4", "SLURM_LOCALID": "1"}, None),  # no GPUs: JAX decides (CPU)
    ({"DECOMPJAX_LOCAL_DEVICE_IDS": "2", "SLURM_LOCALID": "1", "SLURM_GPUS_ON_NODE": "8"}, [2]),
])
def test_slurm_local_device_ids(env, ids):
  assert distributed.slurm_local_device_ids(env) == ids


def test_slurm_tasks_that_do_not_divide_the_gpus_is_an_error():
  with pytest.raises(ClusterStartError, match="--ntasks-per-node=8"):
    distributed.slurm_local_device_ids({"SLURM_TASKS_PER_NODE": "3", "SLURM_LOCALID": "0",
                                        "SLURM_GPUS_ON_NODE": "8"})


def _child_env(**extra: str) -> dict[str, str]:
  env = local_cluster.child_env(os.environ, port=1, num_processes=1, process_id=0)
  for k in distributed.EXPLICIT_ENV:
    env.pop(k)
  env.update(extra)
  return env


def _run(args: list[str], env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "decompjax.cli", *args], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=timeout)


def test_forced_cluster_without_settings_fails_before_training_writes_anything(tmp_path):
  """Before: the failed initialize() was logged and every node trained alone into the same workdir."""
  result = _run(["train", "--config=configs/syntone_vae.py:smoke", f"--workdir={tmp_path}/run", "--cpu_devices=1"],
                _child_env(DECOMPJAX_DISTRIBUTED="1"))
  assert result.returncode == 2, result.stderr[-3000:]
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith("decompjax train: error: could not start the JAX cluster"), line
  assert "DECOMPJAX_DISTRIBUTED=1" in line and "DECOMPJAX_COORDINATOR_ADDRESS" in line
  assert not (tmp_path / "run").exists()


def test_unreachable_coordinator_is_one_error_within_the_init_timeout():
  start = time.monotonic()
  result = _run(["launch", "check"], _child_env(
      DECOMPJAX_COORDINATOR_ADDRESS=f"localhost:{local_cluster.free_port()}", DECOMPJAX_NUM_PROCESSES="2",
      DECOMPJAX_PROCESS_ID="1", DECOMPJAX_INIT_TIMEOUT="3"))
  assert result.returncode == 2, result.stderr[-3000:]
  assert "could not reach the cluster coordinator at localhost:" in result.stderr
  assert "DECOMPJAX_INIT_TIMEOUT" in result.stderr
  assert time.monotonic() - start < 60


def test_one_process_contract_starts_a_one_process_cluster():
  result = _run(["launch", "check"], _child_env(
      DECOMPJAX_COORDINATOR_ADDRESS=f"localhost:{local_cluster.free_port()}", DECOMPJAX_NUM_PROCESSES="1",
      DECOMPJAX_PROCESS_ID="0"))
  assert result.returncode == 0, result.stderr[-3000:]
  assert "process 0/1: 2 local / 2 global devices (cpu), sum 0 (expected 0)" in result.stdout


def test_jax_alone_gives_a_one_task_per_node_slurm_job_one_gpu(monkeypatch):
  """The issue's bug, reproduced on JAX's own SLURM detection: 8 GPUs on the node, one task, local_device_ids=[0]."""
  from jax._src import clusters
  env = {"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "node[001-002]", "SLURM_NTASKS": "2", "SLURM_PROCID": "1",
         "SLURM_LOCALID": "0", "SLURM_NODEID": "1", "SLURM_TASKS_PER_NODE": "1(x2)",
         "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}
  for k, v in env.items():
    monkeypatch.setenv(k, v)
  _, count, pid, ids = clusters.ClusterEnv.auto_detect_unset_distributed_params(None, None, None, None, None, 10)
  assert (count, pid, ids) == (2, 1, [0])
  assert distributed.slurm_local_device_ids(env) == list(range(8))
