"""The sharded state layouts across processes: the toy family (tests/toy_family.py) trained as 2 processes x 4
CPU devices on a 2-D (4, 2) mesh with ZeRO-1 (each process feeds its two 'data' rows; 'model' groups stay within
a process; both processes write the sharded parameters and optimizer state) ends at the parameters of the same
run trained replicated on this test process's 8 devices.

Same examples by construction: no shuffle, the toy dataset is `.shard(2, p)` (process p takes examples p, p+2,
...), so each global batch of 32 holds the 1-process batch's examples in another order, and the toy loss (a mean
over the batch) does not depend on the order beyond rounding."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from decompjax import config_utils, registry, train
from tests.multihost import harness

pytestmark = pytest.mark.multihost

PRESET = "tests/toy_family.py"
CONFIG = {"train.steps": 4, "train.ckpt_every": 4, "data.shuffle_buffer": 0, "train.eval_at_end": "false",
          "mesh.model_parallel_min_size": 0}
TIMEOUT = 300

if "toy" not in registry.names():
  registry.register("toy", "tests.toy_family:TOY")


def test_a_2d_zero1_run_on_two_processes_equals_a_replicated_run_on_one(tmp_path):
  two = harness.start("two", harness.train_args(PRESET, tmp_path / "two", {
      **CONFIG, "mesh.model_parallel": 2, "mesh.shard_opt_state": "true"}), tmp_path, devices=4,
      env={"DECOMPJAX_TEST_FAMILIES": "toy=tests.toy_family:TOY"})
  try:  # the reference trains here meanwhile: replicated on this process's 8 devices
    assert jax.device_count() == 8
    pairs = [("train.progress", "false")] + [(k, str(v)) for k, v in CONFIG.items()]
    one = train.train_and_evaluate(config_utils.build_config(PRESET, pairs), str(tmp_path / "one"))
    two.ok(TIMEOUT)
  finally:
    two.kill()
  assert "{'data': 4, 'model': 2} over 2 process(es)" in two.log(0), two.log(0)[-3000:]
  step, params = harness.final_params(tmp_path / "two")
  assert step == int(one.step) == 4
  harness.assert_close_params(params, jax.tree.map(np.asarray, jax.device_get(one.params)), atol=1e-6,
                              close=1e-6, fraction=0)
