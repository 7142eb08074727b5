"""SynTone beta-VAE smoke run as 2 processes x 2 CPU devices, against the same run as 1 process x 4 devices.

The config makes both layouts train on identical global batches by construction: 5 x 2 x 4 = 40 clips split
32 train / 8 validation, no shuffle, and one global batch of 32 = the whole train split. TFDS's
split_for_jax_process gives process p the contiguous p-th half of the split, and the global batch stacks the
processes' halves in process order (process p owns devices 2p, 2p+1 of the ('data',) mesh), which is the
1-process order. The test of the examples checks that premise from the recorded ids before the parameters are
compared.
"""
from __future__ import annotations

import pathlib
import shutil
import types

import numpy as np
import pytest

from tests.multihost import harness

pytestmark = pytest.mark.multihost

PRESET = "configs/syntone_beta_vae.py:smoke"
STEPS, MORE = 4, 6
CONFIG = {"data.grid.num_freqs": 5, "train.batch_size": 32, "data.shuffle_buffer": 0, "train.steps": STEPS,
          "train.ckpt_every": 2, "eval.num_examples": 40, "train.eval_at_end": "false"}
TRAIN_EXAMPLES = 32
# Both layouts run the same float32 program except for how the gradient all-reduce is summed (gloo across
# processes vs XLA within one): the step-1 loss is bit-identical and later losses agree to ~1e-7 relative. Adam
# divides each gradient by its own running scale, so on a weight whose gradient is near zero a rounding-level
# difference becomes a visible one (measured after 4 steps: 462 of 1.1M weights differ by > 1e-5, at most 1.9e-4,
# against lr = 1e-3 per step). Hence: every weight within half an Adam step, all but 0.1 % within 1e-5, and the
# per-step losses within 1e-5 relative. Different batches or a lost part of the state move most weights by ~lr.
ATOL, CLOSE, FRACTION, LOSS_RTOL = 5e-4, 1e-5, 1e-3, 1e-5
TIMEOUT = 600


def _overrides(root: pathlib.Path, **more) -> dict:
  return {**CONFIG, "data.dir": root / "data", **more}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Trains the 2-process run (evaluating at the end, so eval's writes are judged too) and the 1-process
  x 4-device run of the same config."""
  root = tmp_path_factory.mktemp("mh_syntone")
  two = harness.start("two", harness.train_args(PRESET, root / "two", _overrides(root, **{
      "train.eval_at_end": "true"})), root)
  try:
    two.ok(TIMEOUT)
  finally:
    two.kill()
  one = harness.start("one", harness.train_args(PRESET, root / "one", _overrides(root)), root, processes=1,
                      devices=4)
  try:
    one.ok(TIMEOUT)
  finally:
    one.kill()
  return types.SimpleNamespace(root=root, two=two, one=one)


@pytest.fixture(scope="module")
def crossed(runs):
  """Each layout resumes the other's step-4 checkpoint to step 6: the 2-process checkpoint in 1 process x 4
  devices, the 1-process checkpoint in 2 processes x 2 devices."""
  root = runs.root
  shutil.copytree(root / "two", root / "two_then_one")
  shutil.copytree(root / "one", root / "one_then_two")
  more = {"train.steps": MORE}
  to_one = harness.start("two_then_one", harness.train_args(PRESET, root / "two_then_one", _overrides(root, **more)),
                         root, processes=1, devices=4)
  try:
    to_one.ok(TIMEOUT)
  finally:
    to_one.kill()
  to_two = harness.start("one_then_two", harness.train_args(PRESET, root / "one_then_two", _overrides(root, **more)),
                         root)
  try:
    to_two.ok(TIMEOUT)
  finally:
    to_two.kill()
  return types.SimpleNamespace(root=root, to_one=to_one, to_two=to_two)


def test_only_process_0_writes_files_outside_checkpoints(runs):
  """Config, metrics, eval outputs and the data folder: process 1 writes none of them (as seen by the audit hook:
  Python-level writes; TF's event files and TFRecords are written from C++ and not seen)."""
  workdir = runs.root / "two"
  writes = runs.two.writes()
  others = harness.outside_checkpoints(writes[1], workdir)
  assert not others, f"process 1 wrote {sorted(others)}"
  written = {pathlib.Path(p).relative_to(workdir).as_posix() for p in writes[0] if p.startswith(str(workdir) + "/")}
  for name in ("config.json", "metrics.jsonl", "eval/metrics.json"):  # the hook does see process 0's writes
    assert name in written, sorted(written)


def test_each_example_is_used_once_per_epoch_across_processes(runs):
  """Every step is one epoch here: its global batch holds each train example exactly once, split between the
  processes, and is the 1-process run's batch in the same order (the premise of the parameter comparison)."""
  two, one = runs.two.batches(), runs.one.batches()
  assert len(two[0]) == len(two[1]) == len(one[0]) == STEPS, (two, one)
  for step in range(STEPS):
    first, second = two[0][step], two[1][step]
    assert len(first) == len(second) == TRAIN_EXAMPLES // 2
    assert not set(first) & set(second), f"step {step}: both processes used {set(first) & set(second)}"
    assert len(set(first + second)) == TRAIN_EXAMPLES
    assert first + second == one[0][step], f"step {step}: the global batch differs from the 1-process run's"


def test_final_parameters_equal_one_process_four_devices(runs):
  step_two, two = harness.final_params(runs.root / "two")
  step_one, one = harness.final_params(runs.root / "one")
  assert step_two == step_one == STEPS
  harness.assert_close_params(two, one, atol=ATOL, close=CLOSE, fraction=FRACTION)
  losses_two, losses_one = harness.logged_losses(runs.root / "two"), harness.logged_losses(runs.root / "one")
  assert sorted(losses_two) == sorted(losses_one) == list(range(1, STEPS + 1))
  np.testing.assert_allclose([losses_two[s] for s in sorted(losses_two)], [losses_one[s] for s in sorted(losses_one)],
                             rtol=LOSS_RTOL)


def test_a_two_process_checkpoint_resumes_in_one_process(crossed):
  assert f"at step {STEPS}" in crossed.to_one.log(0) and "resumed from" in crossed.to_one.log(0), crossed.to_one.log(0)
  assert harness.checkpoint_steps(crossed.root / "two_then_one")[-1] == MORE


def test_a_one_process_checkpoint_resumes_in_two_processes(crossed):
  assert "resumed from" in crossed.to_two.log(0) and f"at step {STEPS}" in crossed.to_two.log(0), \
      crossed.to_two.all_logs()
  assert harness.checkpoint_steps(crossed.root / "one_then_two")[-1] == MORE
  others = harness.outside_checkpoints(crossed.to_two.writes()[1], crossed.root / "one_then_two")
  assert not others, f"process 1 wrote {sorted(others)}"
