"""launch/ scripts, run with --dry-run (fake TPU / SLURM env, no gcloud or sbatch needed): the commands each prints,
in order. The parts that can run here run for real: the tracked-files packing and the GPU check."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = os.path.join(REPO, "launch")
PY = os.path.join(REPO, ".venv", "bin", "python")


def _script(name: str, *args: str, env: dict | None = None, cwd: str = REPO) -> subprocess.CompletedProcess:
  full = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "TPU_"))}
  full.update(env or {})
  return subprocess.run(["bash", os.path.join(cwd, "launch", name), *args], cwd=cwd, env=full, capture_output=True,
                        text=True, timeout=120)


def _commands(stdout: str) -> list[list[str]]:
  """The printed commands ('+ ...' lines) as argv lists; a pipeline stays one shell string."""
  out = []
  for line in stdout.splitlines():
    if line.startswith("+ "):
      out.append([line[2:]] if "|" in line and "--command" not in line else shlex.split(line[2:]))
  return out


@pytest.fixture()
def checkout(tmp_path):
  """A git checkout holding launch/ and a tracked file, plus what must never be copied: .venv/, runs/, an
  untracked file."""
  root = tmp_path / "repo"
  shutil.copytree(LAUNCH, root / "launch")
  (root / "decompjax").mkdir()
  (root / "decompjax" / "mod.py").write_text("x = 1\n")
  (root / ".gitignore").write_text(".venv/\nruns/\n")
  git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
  subprocess.run(git + ["init", "-q"], cwd=root, check=True)
  subprocess.run(git + ["add", "."], cwd=root, check=True)
  subprocess.run(git + ["commit", "-qm", "x"], cwd=root, check=True)
  for junk in (".venv/bin/python", "runs/old/checkpoints/1/state", "notes.txt"):
    (root / junk).parent.mkdir(parents=True, exist_ok=True)
    (root / junk).write_text("junk")
  return root


TPU = {"TPU_NAME": "pod-a", "ZONE": "us-central2-b"}


def test_tpu_pod_copies_tracked_files_into_a_fresh_directory_then_runs_everywhere(checkout, tmp_path):
  result = _script("tpu_pod.sh", "--dry-run", "--", "train", "--config=configs/x.py", "--workdir=gs://b/run",
                   "--config.model.beta=it's 8", env={**TPU, "TMPDIR": str(tmp_path)}, cwd=str(checkout))
  assert result.returncode == 0, result.stderr
  pack, scp, rm, mkdir, start = _commands(result.stdout)
  # Packing: git ls-files into a tarball. Run it for real: tracked files only (no .venv/, runs/, untracked files).
  assert "git ls-files -z | tar" in pack[0]
  subprocess.run(["bash", "-c", pack[0]], check=True)
  tarball = scp[5]
  with tarfile.open(tarball) as tar:
    assert sorted(tar.getnames()) == [".gitignore", "decompjax/mod.py", "launch/README.md", "launch/check_gpu.py",
                                      "launch/check_gpu.sh", "launch/dry_run.sh", "launch/gpu_single.sh", "launch/run_tpu.sh",
                                      "launch/slurm_gpu.sbatch", "launch/tpu_pod.sh"]
  assert scp[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "scp"] and scp[6].startswith("pod-a:/tmp/")
  assert "--worker=all" in scp and ["--zone", "us-central2-b"] == scp[7:9] and rm[:2] == ["rm", "-f"]
  # A fresh directory per run: `mkdir` (no -p) of the run's own folder fails rather than nesting into an old copy.
  remote = mkdir[-1]
  run_dir = remote.split("&& mkdir ")[1].split(" ")[0]
  assert run_dir.startswith("decompjax-runs/") and f"tar -xzf /tmp/{os.path.basename(tarball)} -C {run_dir}" in remote
  assert "--worker=all" in mkdir and "mkdir -p decompjax-runs &&" in remote
  # The run: every worker, from the fresh copy, logging to logs/<hostname>.log, the arguments intact.
  command = start[start.index("--command") + 1]
  assert "--worker=all" in start and command.startswith(f"set -o pipefail; cd {run_dir} && bash launch/run_tpu.sh ")
  assert "| tee logs/$(hostname).log" in command
  assert shlex.split(command.split("run_tpu.sh ")[1].split(" 2>&1")[0]) == [
      "train", "--config=configs/x.py", "--workdir=gs://b/run", "--config.model.beta=it's 8"]
  # A second launch gets another directory.
  again = _commands(_script("tpu_pod.sh", "--dry-run", "train", "--workdir=gs://b/run", env=TPU,
                            cwd=str(checkout)).stdout)
  assert again[3][-1].split("&& mkdir ")[1].split(" ")[0] != run_dir


def test_tpu_pod_queued_resource_and_detach(checkout):
  env = {**TPU, "ACCELERATOR_TYPE": "v4-32", "SPOT": "1", "PROJECT": "proj", "RUN_ID": "r1"}
  result = _script("tpu_pod.sh", "--dry-run", "--queued", "--detach", "launch", "check", env=env, cwd=str(checkout))
  assert result.returncode == 0, result.stderr
  create, describe, _, scp, _, _, start = _commands(result.stdout)
  assert create == ["gcloud", "compute", "tpus", "queued-resources", "create", "pod-a", "--node-id", "pod-a", "--zone",
                    "us-central2-b", "--project", "proj", "--accelerator-type", "v4-32", "--runtime-version",
                    "tpu-ubuntu2204-base", "--spot"]
  assert describe[:5] == ["gcloud", "compute", "tpus", "queued-resources", "describe"]
  assert "--format=value(state.state)" in describe and "until the state is ACTIVE" in result.stdout
  assert "--project" in scp
  command = start[start.index("--command") + 1]
  assert command.startswith("cd decompjax-runs/r1 && (nohup bash launch/run_tpu.sh launch check")
  assert "> logs/$(hostname).log 2>&1 < /dev/null &)" in command


@pytest.mark.parametrize("env, args, words", [
    ({"ZONE": "z"}, ["train", "--workdir=gs://b/r"], "set TPU_NAME"),
    (TPU, ["train", "--workdir=runs/x"], "--workdir must be gs://... or an absolute path"),
    (TPU, ["train", "--workdir", "runs/x"], "--workdir must be gs://... or an absolute path"),
    (TPU, ["--queued", "train"], "ACCELERATOR_TYPE"),
    (TPU, [], "give the decompjax command"),
])
def test_tpu_pod_refuses_bad_settings_before_any_command(checkout, env, args, words):
  result = _script("tpu_pod.sh", "--dry-run", *args, env=env, cwd=str(checkout))
  assert result.returncode == 2 and words in result.stderr and "+ " not in result.stdout


def test_run_tpu_installs_what_is_missing_kills_stale_processes_and_forces_the_cluster(tmp_path):
  venv = str(tmp_path / "venv")
  result = _script("run_tpu.sh", "--dry-run", "train", "--workdir=gs://b/r",
                   env={"PYTHON": PY, "DECOMPJAX_VENV": venv})
  assert result.returncode == 0, result.stderr
  commands = _commands(result.stdout)
  assert commands[1] == [PY, "-m", "venv", venv] and commands[3] == [f"{venv}/bin/pip", "install", "-q", "-e", ".[tpu]"]
  assert "pkill -9 -f '[b]in/decompjax '" in commands[4][0] and "lsof -t /dev/accel*" in commands[5][0]
  assert commands[-1] == ["exec", "env", "DECOMPJAX_DISTRIBUTED=1", f"{venv}/bin/decompjax", "train",
                          "--workdir=gs://b/r"]
  # An existing venv is kept; pip still adds whatever is missing.
  existing = _commands(_script("run_tpu.sh", "--dry-run", "eval", env={"PYTHON": PY, "DECOMPJAX_VENV":
                                                                        os.path.join(REPO, ".venv")}).stdout)
  assert [c[0] for c in existing[:1]] == [os.path.join(REPO, ".venv", "bin", "pip")]


def test_run_tpu_installs_python_when_only_an_old_one_is_there(tmp_path):
  fake_bin = tmp_path / "bin"
  fake_bin.mkdir()
  for name in ("python3", "python3.11", "python3.12", "python3.13"):  # each says "too old"
    (fake_bin / name).write_text("#!/bin/sh\nexit 1\n")
    (fake_bin / name).chmod(0o755)
  result = _script("run_tpu.sh", "--dry-run", "train", env={"PATH": f"{fake_bin}:{os.environ['PATH']}",
                                                            "DECOMPJAX_VENV": str(tmp_path / "venv")})
  assert result.returncode == 0, result.stderr
  commands = _commands(result.stdout)
  assert commands[0] == ["sudo", "add-apt-repository", "-y", "ppa:deadsnakes/ppa"]
  assert commands[1] == ["sudo", "apt-get", "install", "-y", "-q", "python3.11", "python3.11-venv"]
  assert commands[3][:3] == ["python3.11", "-m", "venv"] and "no Python >= 3.11" in result.stderr
  old = _script("run_tpu.sh", "--dry-run", "train", env={"PYTHON": str(fake_bin / "python3")})
  assert old.returncode == 2 and "is not Python >= 3.11" in old.stderr


def test_slurm_runs_one_task_per_gpu_with_the_cluster_forced_on():
  header = open(os.path.join(LAUNCH, "slurm_gpu.sbatch")).read()
  assert "#SBATCH --ntasks-per-node=8" in header and "#SBATCH --gpus-per-node=8" in header
  assert "#SBATCH --signal=TERM@" in header  # SIGTERM before the time limit: a coordinated checkpoint
  env = {"SLURM_JOB_ID": "77", "SLURM_JOB_NUM_NODES": "2", "SLURM_SUBMIT_DIR": REPO}
  result = _script("slurm_gpu.sbatch", "--dry-run", "train", "--config=configs/x.py", "--workdir=/shared/run",
                   env=env)
  assert result.returncode == 0, result.stderr
  mkdir, check, srun = _commands(result.stdout)
  assert mkdir == ["mkdir", "-p", "logs/slurm-77"]
  assert check == ["srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "bash", "launch/check_gpu.sh",
                   ".venv/bin/python"]
  assert srun == ["srun", "--kill-on-bad-exit=1", "--gpu-bind=none", "--export=ALL,DECOMPJAX_DISTRIBUTED=1",
                  "--output=logs/slurm-77/%t.log", ".venv/bin/decompjax", "train", "--config=configs/x.py",
                  "--workdir=/shared/run"]
  outside = _script("slurm_gpu.sbatch", "--dry-run", "train", env={})
  assert outside.returncode != 0 and "SLURM_JOB_ID" in outside.stderr


def test_gpu_single_dry_run_installs_cuda_checks_the_gpu_then_runs(tmp_path):
  venv = str(tmp_path / "venv")
  result = _script("gpu_single.sh", "--dry-run", "train", "--workdir=runs/x", env={"VENV": venv})
  assert result.returncode == 0, result.stderr
  commands = _commands(result.stdout)
  assert [c[:3] for c in commands[:4]] == [["python3.11", "-c", commands[0][2]], ["python3.11", "-m", "venv"],
                                           [f"{venv}/bin/pip", "install", "-q"], [f"{venv}/bin/pip", "install", "-q"]]
  assert commands[3][-1] == ".[cuda]" and commands[4] == ["touch", f"{venv}/.installed-cuda"]
  assert commands[5] == [f"{venv}/bin/python", os.path.join(REPO, "launch", "check_gpu.py")]
  assert commands[6] == ["exec", "env", "JAX_PLATFORMS=cuda,cpu", f"{venv}/bin/decompjax", "train", "--workdir=runs/x"]


def test_gpu_single_stops_loudly_when_jax_sees_no_gpu(tmp_path):
  """The issue's bullet: a CPU-only venv on a 'GPU host' used to train on the CPU. Here (no GPU) it must stop."""
  venv = tmp_path / "venv"
  (venv / "bin").mkdir(parents=True)
  (venv / "bin" / "python").symlink_to(PY)
  (venv / ".installed-cuda").write_text("")
  ran = tmp_path / "decompjax-ran"
  (venv / "bin" / "decompjax").write_text(f"#!/bin/sh\ntouch {ran}\n")
  (venv / "bin" / "decompjax").chmod(0o755)
  result = _script("gpu_single.sh", "train", "--workdir=runs/x", env={"VENV": str(venv)})
  assert result.returncode == 3, result.stderr
  assert "check_gpu: JAX sees no GPU" in result.stderr and "would train on the CPU" in result.stderr
  assert not ran.exists()


def test_make_install_cuda_installs_the_extra_then_checks_the_gpu(tmp_path):
  venv = str(tmp_path / "venv")
  # Under `make test` this is a nested make: without its parent's variables it prints no "Entering directory".
  env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
  result = subprocess.run(["make", "-n", "--no-print-directory", "install-cuda", f"VENV={venv}", "PYTHON=python3.11"],
                          cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  cuda = lines.index(f'{venv}/bin/python -m pip install -q -e ".[cuda]"')
  assert lines[cuda + 1:] == [f"bash launch/check_gpu.sh {venv}/bin/python", f"touch {venv}/.installed-cuda"]
  assert lines[0] == f"python3.11 -m venv {venv}"


def test_check_gpu_fails_here_and_its_dry_run_runs_nothing():
  real = subprocess.run(["bash", "launch/check_gpu.sh", PY], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert real.returncode == 3 and "JAX sees no GPU" in real.stderr
  dry = subprocess.run(["bash", "launch/check_gpu.sh", "--dry-run", "/nowhere/python"], cwd=REPO,
                       capture_output=True, text=True)
  assert dry.returncode == 0 and dry.stdout == f"+ /nowhere/python {LAUNCH}/check_gpu.py\n"
