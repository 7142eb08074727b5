"""The CLI's two kinds of failure: the project's user errors are one `decompjax <cmd>: error:` line and exit 2;
anything else (a bare ValueError or OSError from inside JAX, numpy, orbax) is a bug and keeps its traceback."""
import subprocess
import sys

import pytest

from decompjax import checkpointing, config_utils, errors
from decompjax.data import shard_check

# Runs `decompjax eval` with the eval command's main replaced by one that raises `exc`.
_RAISING_COMMAND = """
import sys
from decompjax import cli
from decompjax.commands import eval as command
from decompjax import errors
def main(argv):
  raise {exc}
command.main = main
sys.exit(cli.main(["eval", "--workdir=unused"]))
"""


def _run(exc: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-c", _RAISING_COMMAND.format(exc=exc)], capture_output=True, text=True,
                        timeout=120)


@pytest.mark.parametrize("exc", ["ValueError('shapes (3,) and (4,) not aligned')",
                                 "OSError(5, 'Input/output error')"])
def test_a_programming_error_prints_its_traceback(exc):
  out = _run(exc)
  assert out.returncode == 1
  assert "Traceback (most recent call last)" in out.stderr and exc.split("(")[0] in out.stderr
  assert "decompjax eval: error:" not in out.stderr


@pytest.mark.parametrize("exc", ["errors.ConfigError('unknown config field x')",
                                 "errors.MissingInputError('no checkpoint in /w/checkpoints')",
                                 "errors.NonFiniteLossError('loss is nan at step 3')"])
def test_a_user_error_is_one_line_and_exit_2(exc):
  out = _run(exc)
  assert out.returncode == 2, out.stderr
  message = exc.split("'")[1]
  assert out.stderr.strip() == f"decompjax eval: error: {message}"


def test_every_user_error_type_derives_from_user_error_and_keeps_its_builtin_base():
  assert errors.USER_ERRORS == (errors.UserError,)
  for kind, builtin in [(errors.UsageError, ValueError), (errors.ConfigError, ValueError),
                        (errors.DataError, ValueError), (errors.MissingInputError, FileNotFoundError),
                        (errors.WriteError, OSError), (errors.NonFiniteLossError, RuntimeError),
                        (checkpointing.CheckpointMismatchError, ValueError),
                        (checkpointing.CheckpointCorruptError, ValueError),
                        (checkpointing.CheckpointWriteError, ValueError), (shard_check.CorruptDataError, ValueError)]:
    assert issubclass(kind, errors.UserError) and issubclass(kind, builtin), kind


def test_a_config_that_cannot_be_written_is_a_user_error_naming_the_path(tmp_path):
  blocker = tmp_path / "workdir"
  blocker.write_text("a file where the workdir should be")  # an OSError that also happens as root
  path = str(blocker / "config.json")
  config = config_utils.build_config("configs/syntone_beta_vae.py:smoke", [])
  with pytest.raises(errors.WriteError, match=f"could not write {path}: Not a directory"):
    config_utils.save_config(config, path)
