"""NaN at a checkpoint step: the learning rate warms up from 0 to 1e30 over 2 steps, so step 1 changes nothing
and step 2 throws the parameters to ~1e29 (finite, but the loss at them is NaN). With a checkpoint every step,
step 2 must not be kept as "good": the run stops with one error line, the newest checkpoint is step 1, and a
resume from it with a sane learning rate trains on."""
import jax
import numpy as np
import pytest

from tests.faults import runner

pytestmark = pytest.mark.faults


def test_divergence_at_a_checkpoint_step_keeps_the_last_finite_state(reference, tmp_path):
  work = tmp_path / "w"
  diverging = {"data.dir": reference.data_dir, "train.steps": 10, "train.ckpt_every": 1, "optim.lr": 1e30,
               "optim.warmup_steps": 2}
  out = runner.run_train(work, diverging)
  assert out.returncode == 2, out.stderr[-3000:]
  assert "decompjax train: error: training went non-finite" in out.stderr and "Traceback" not in out.stderr
  assert runner.checkpoint_steps(work) == [1]
  step, params = runner.final_params(work)
  assert step == 1 and all(np.isfinite(x).all() for x in jax.tree.leaves(params))
  sane = dict(diverging, **{"optim.lr": 1e-3, "train.steps": 3})  # same schedule shape (warm-up), sane lr
  resumed = runner.run_train(work, sane)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert runner.final_params(work)[0] == 3
  assert sorted(runner.logged_losses(work)) == [1, 2, 3]

