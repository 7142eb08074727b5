"""Shared by the fault tests: the SynTone smoke grid and one uninterrupted reference run, made once per test
session even when pytest-xdist runs these files in different workers (a lock file in the shared temp dir)."""
import dataclasses
import fcntl
import os
import pathlib

import pytest

from tests.faults import runner

STEPS = 40  # long enough for >= 10 kills that each let the run commit a step or two


@dataclasses.dataclass(frozen=True)
class Reference:
  data_dir: str
  workdir: pathlib.Path
  params: dict
  losses: dict  # {step: train/loss}

  def overrides(self, **more) -> dict:
    """The reference's config (data, steps) plus `more` (checkpoint cadence, ...)."""
    return {"data.dir": self.data_dir, "train.steps": STEPS, **more}

  def assert_matches(self, workdir) -> None:
    """`workdir` ends where the uninterrupted run ended: same step, bit-identical parameters, and one metrics
    line per step with bit-identical losses (the replayed steps recomputed exactly)."""
    step, params = runner.final_params(workdir)
    assert step == STEPS
    runner.assert_same_params(params, self.params)
    assert runner.logged_losses(workdir) == self.losses


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
  base = tmp_path_factory.getbasetemp()
  root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "faults_shared"
  root.mkdir(exist_ok=True)
  data_dir, work = str(root / "data"), root / "reference"
  with open(root / "lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker trains (and generates the data); others wait
    if not (root / "done").exists():
      out = runner.run_train(work, {"data.dir": data_dir, "train.steps": STEPS, "train.ckpt_every": 1000})
      assert out.returncode == 0, out.stderr[-3000:]
      (root / "done").touch()
  step, params = runner.final_params(work)
  assert step == STEPS
  return Reference(data_dir, work, params, runner.logged_losses(work))
