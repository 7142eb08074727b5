"""SIGINT and SIGTERM arriving while a checkpoint is being written: the run saves the step it reached (once,
after the in-flight save), says so only once it is on disk, exits 130 / 143, and the workdir resumes to the
uninterrupted run's exact final state."""
import signal

import pytest

from tests.faults import runner

pytestmark = pytest.mark.faults


def _signal_during_a_save(reference, work, sig):
  proc = runner.start_train(work, reference.overrides(**{"train.ckpt_every": 1}))
  # After two committed steps (training is under way), wait for the next save's unfinished folder.
  runner.wait_until(proc, lambda: (runner.checkpoint_entries(work)[0] or 0) >= 2, "a second checkpoint")
  runner.wait_until(proc, lambda: runner.checkpoint_entries(work)[1], "a save in progress")
  return runner.finish(proc, sig)


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "stopped by SIGINT"),
                                             (signal.SIGTERM, 143, "stopped by SIGTERM")])
def test_signal_during_a_save_saves_once_then_resumes_exactly(reference, tmp_path, sig, code, said):
  work = tmp_path / "w"
  rc, out = _signal_during_a_save(reference, work, sig)
  assert rc == code, out[-3000:]
  assert "Traceback" not in out, out[-3000:]
  saved = [line for line in out.splitlines() if "saved a checkpoint at step" in line]
  assert len(saved) == 1 and said in saved[0], out[-3000:]
  step = int(saved[0].split("saved a checkpoint at step ")[1].split()[0])
  assert runner.checkpoint_steps(work)[-1] == step  # the step it named is the newest on disk ...
  assert not runner.checkpoint_entries(work)[1]     # ... and no save was left half-written
  if sig == signal.SIGTERM:
    assert "terminated by SIGTERM" in out and "run the same command again to resume" in out
  resumed = runner.run_train(work, reference.overrides(**{"train.ckpt_every": 1}))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f"resumed from {work / 'checkpoints'} at step {step}" in resumed.stderr
  reference.assert_matches(work)
