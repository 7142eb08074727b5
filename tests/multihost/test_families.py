"""Every family's smoke preset as 2 processes x 2 CPU devices: it trains, process 1 writes nothing outside the
checkpoint folders, the processes' example streams are disjoint and together use each example of the train split
at most once per epoch (exactly once where the epoch divides into batches), and the checkpoint the two wrote
resumes in 1 process x 4 devices.

(SynTone has the fuller set - parameters equal to a 1-process run, both restore directions - in test_syntone.py;
signals and a killed peer: tests/test_multihost_stop.py and tests/test_launch_local.py.)"""
from __future__ import annotations

import os
import pathlib
import shutil
import types

import pytest

from tests.multihost import harness

pytestmark = pytest.mark.multihost

STEPS = 6
TIMEOUT = 600
# preset -> overrides: generated data into the test's folder; no evaluation at the end (evaluation from several
# processes is judged on SynTone); a checkpoint at the last step only.
FAMILIES = {
    "autodecompose": ("configs/autodecompose.py:smoke", {"data.cache_dir": "{data}"}),
    "vqvae": ("configs/vqvae_ucr.py:smoke", {}),
    "barlow_vqvae": ("configs/barlow_vqvae_ucr.py:smoke", {}),
    "decvae": ("configs/decvae_simvowels.py:smoke", {"data.cache_dir": "{data}"}),
    "convae_bss": ("configs/convae_bss_synmix.py:smoke", {"data.cache_dir": "{data}"}),
}


def _overrides(root: pathlib.Path, extra: dict, **more) -> dict:
  filled = {k: v.format(data=root / "data") for k, v in extra.items()}
  return {"train.steps": STEPS, "train.ckpt_every": STEPS, "train.eval_at_end": "false", **filled, **more}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def run(request, tmp_path_factory):
  name = request.param
  preset, extra = FAMILIES[name]
  root = tmp_path_factory.mktemp(f"mh_{name}")
  two = harness.start("two", harness.train_args(preset, root / "two", _overrides(root, extra)), root)
  try:
    two.ok(TIMEOUT)
  finally:
    two.kill()
  return types.SimpleNamespace(name=name, preset=preset, extra=extra, root=root, two=two)


def _train_split_ids(workdir: pathlib.Path) -> list:
  """Ids (as the child records them) of every example of the 1-process train split, read in this process."""
  from decompjax import config_utils, input_pipeline, registry
  from tests.multihost.child import _example_ids
  config = config_utils.load_saved_config(os.path.join(str(workdir), "config.json"))
  family = registry.get_family(config.model.family)
  return _example_ids(input_pipeline.all_examples(family.make_dataset(config, "train")))


def test_only_process_0_writes_files_outside_checkpoints(run):
  writes = run.two.writes()
  others = harness.outside_checkpoints(writes[1], run.root / "two")
  assert not others, f"process 1 wrote {sorted(others)}"
  assert str(run.root / "two" / "config.json") in writes[0]  # the hook sees process 0's writes


def test_processes_use_disjoint_shares_and_each_example_once_per_epoch(run):
  batches = run.two.batches()
  assert [len(batches[i]) for i in range(2)] == [STEPS, STEPS], (
      "the train batches were not recorded (tests/multihost/child.py wraps input_pipeline.batched_numpy)")
  split = _train_split_ids(run.root / "two")
  assert len(set(split)) == len(split), "examples of the split are not distinguishable by their ids"
  used = [[i for batch in batches[p] for i in batch] for p in range(2)]
  both = set(used[0]) & set(used[1])
  assert not both, f"{len(both)} examples used by both processes"
  assert set(used[0]) | set(used[1]) <= set(split), "a process trained on an example outside the train split"
  local_batch = len(batches[0][0])
  per_epoch = (len(split) // 2) // local_batch  # batches per epoch of each process's (balanced) share
  within = min(per_epoch, STEPS)
  for p in range(2):
    first_epoch = used[p][:within * local_batch]
    assert len(set(first_epoch)) == len(first_epoch), f"process {p} repeated an example within an epoch"
  if per_epoch <= STEPS and (len(split) // 2) % local_batch == 0:  # the epoch is whole batches: exactly once
    assert sorted(set(used[0][:within * local_batch]) | set(used[1][:within * local_batch])) == sorted(split)


def test_the_two_process_checkpoint_resumes_in_one_process(run):
  work = run.root / "two_then_one"
  shutil.copytree(run.root / "two", work)
  one = harness.start("two_then_one", harness.train_args(run.preset, work, _overrides(
      run.root, run.extra, **{"train.steps": STEPS + 1, "train.ckpt_every": STEPS + 1})), run.root, processes=1,
      devices=4)
  try:
    one.ok(TIMEOUT)
  finally:
    one.kill()
  assert "resumed from" in one.log(0) and f"at step {STEPS}" in one.log(0), one.log(0)[-3000:]
  assert harness.checkpoint_steps(work)[-1] == STEPS + 1
