"""A full disk or a read-only filesystem under a training run: one `decompjax train: error:` line naming
the path and the OS error (no traceback), the earlier checkpoints kept, and once the disk is fixed the same
command resumes to the same parameters as a run that never failed.

The faults are real: the workdir is on a small tmpfs (ENOSPC), remounted read-only (EROFS). Mounting needs
root; elsewhere these tests skip.
"""
import os
import subprocess

import pytest

from . import runner

STEPS = {"train.steps": 4, "train.ckpt_every": 2}
# One checkpoint of the smoke model takes ~13 MB: step 2 fits in 20 MB, step 4 does not (orbax removes old
# steps only after a new one is complete).
SMALL = "20m"


def _mount(*args):
  return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def mount_tmpfs():
  """mount_tmpfs(path): a SMALL tmpfs at `path` (created), unmounted after the test."""
  mounted = []

  def mount(path):
    path.mkdir(parents=True)
    result = _mount("-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(path))
    if result.returncode != 0:
      pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    mounted.append(path)
    return path

  yield mount
  for path in mounted:
    subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path, options):
  result = _mount("-o", f"remount,{options}", str(path))
  assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("syntone_data"))


@pytest.fixture(scope="module")
def uninterrupted(data_dir, tmp_path_factory):
  work = tmp_path_factory.mktemp("straight") / "w"
  done = runner.run_train(work, {**STEPS, "data.dir": data_dir})
  assert done.returncode == 0, done.stderr[-3000:]
  return runner.final_params(work)


def the_error(stderr: str) -> str:
  """The one error line; fails on a traceback or on several error lines."""
  assert "Traceback" not in stderr, stderr[-5000:]
  errors = [line for line in stderr.splitlines() if "error" in line.lower()]
  assert len(errors) == 1, "\n".join(errors)
  assert errors[0].startswith("decompjax train: error: "), errors[0]
  return errors[0]


def snapshot(directory):
  out = {}
  for dirpath, _, filenames in os.walk(directory):
    for name in filenames:
      with open(os.path.join(dirpath, name), "rb") as f:
        out[os.path.relpath(os.path.join(dirpath, name), directory)] = f.read()
  return out


def test_disk_full_during_a_save(mount_tmpfs, tmp_path, data_dir, uninterrupted):
  tmpfs = mount_tmpfs(tmp_path / "fs")
  work = tmpfs / "w"
  failed = runner.run_train(work, {**STEPS, "data.dir": data_dir})
  assert failed.returncode == 2
  line = the_error(failed.stderr)
  assert "could not write the checkpoint of step 4" in line and str(work / "checkpoints") in line
  assert "No space left on device" in line and "steps [2]" in line
  assert runner.checkpoint_steps(work) == [2]

  remount(tmpfs, "size=200m")  # space freed: the same command resumes from step 2
  resumed = runner.run_train(work, {**STEPS, "data.dir": data_dir})
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  step, params = runner.final_params(work)
  assert step == 4
  runner.assert_same_params(params, uninterrupted[1])


def test_read_only_workdir(mount_tmpfs, tmp_path, data_dir, uninterrupted):
  tmpfs = mount_tmpfs(tmp_path / "fs")
  work = tmpfs / "w"
  remount(tmpfs, "size=200m")
  first = runner.run_train(work, {**STEPS, "train.steps": 2, "data.dir": data_dir})
  assert first.returncode == 0, first.stderr[-3000:]
  before = snapshot(work)

  remount(tmpfs, "ro")
  failed = runner.run_train(work, {**STEPS, "data.dir": data_dir})
  assert failed.returncode == 2
  line = the_error(failed.stderr)
  assert "Read-only file system" in line and str(work) in line
  assert snapshot(work) == before

  remount(tmpfs, "rw")
  resumed = runner.run_train(work, {**STEPS, "data.dir": data_dir})
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  step, params = runner.final_params(work)
  assert step == 4
  runner.assert_same_params(params, uninterrupted[1])


def test_read_only_checkpoint_folder(mount_tmpfs, tmp_path, data_dir, uninterrupted):
  """The workdir is writable, checkpoints/ is not: orbax fails to create the step's folder while its
  background threads wait for it (unchecked, a traceback and a 5-minute hang at exit)."""
  work = tmp_path / "w"
  checkpoints = mount_tmpfs(work / "checkpoints")
  remount(checkpoints, "size=200m")
  first = runner.run_train(work, {**STEPS, "train.steps": 2, "data.dir": data_dir})
  assert first.returncode == 0, first.stderr[-3000:]
  before = snapshot(checkpoints)

  remount(checkpoints, "ro")
  failed = runner.run_train(work, {**STEPS, "data.dir": data_dir}, timeout=120)
  assert failed.returncode == 2
  line = the_error(failed.stderr)
  assert "could not write the checkpoint of step 4" in line and str(checkpoints) in line
  assert "Read-only file system" in line and "steps [2]" in line
  assert snapshot(checkpoints) == before

  remount(checkpoints, "rw")
  resumed = runner.run_train(work, {**STEPS, "data.dir": data_dir})
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  step, params = runner.final_params(work)
  assert step == 4
  runner.assert_same_params(params, uninterrupted[1])
