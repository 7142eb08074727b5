"""kill -9 at seeded random moments, most of them while a checkpoint is being written, then resume: the run
must end bit-identical to the uninterrupted reference (parameters and every step's logged loss).

Each run is killed in one of three ways: during start-up (after a random delay: reading the workdir,
truncating metrics.jsonl, restoring), as soon as a save's unfinished folder appears once the run has committed
a new step, or a random fraction of a second after such a commit. A kill that leaves an unfinished folder
behind counted as one during a save; runs are started until there were KILLS kills, DURING_SAVE of them
during a save.
"""
import random
import signal
import time

import pytest

from tests.faults import runner

pytestmark = pytest.mark.faults

KILLS = 6
DURING_SAVE = 3
MAX_RUNS = 16


def test_kill_9_at_random_moments_then_resume_is_bit_exact(reference, tmp_path):
  rng = random.Random(20261201)
  work = tmp_path / "w"
  overrides = reference.overrides(**{"train.ckpt_every": 1})
  kills, during_save, history = 0, 0, []
  for _ in range(MAX_RUNS):
    if kills >= KILLS and during_save >= DURING_SAVE:
      break
    proc = runner.start_train(work, overrides)
    before = runner.checkpoint_entries(work)[0] or 0
    mode = rng.choices(["start-up", "save", "after a commit"], weights=[2, 5, 3])[0]
    if mode == "start-up":
      time.sleep(rng.uniform(1.0, 10.0))
    else:
      runner.wait_until(proc, lambda: (runner.checkpoint_entries(work)[0] or 0) > before, "a new checkpoint")
      if mode == "save":
        runner.wait_until(proc, lambda: runner.checkpoint_entries(work)[1], "a save in progress")
      else:
        time.sleep(rng.uniform(0.0, 0.5))
    if proc.poll() is not None:  # it finished (or failed) before the kill
      assert proc.returncode == 0, runner.log_of(proc)[-3000:]
      break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kills += 1
    step, unfinished = runner.checkpoint_entries(work)
    during_save += bool(unfinished)
    history.append((mode, step, bool(unfinished)))
  assert kills >= KILLS and during_save >= DURING_SAVE, history
  finished = runner.run_train(work, overrides)
  assert finished.returncode == 0, finished.stderr[-3000:]
  reference.assert_matches(work)
