"""The project's user-error types: the CLI prints these as one `decompjax <cmd>: error: ...` line (exit 2).

Anything else that escapes a command (a ValueError from inside JAX or numpy, an OSError from a library) is a
programming error and prints its traceback. Every error the user can fix derives from UserError; most also
derive from ValueError (or FileNotFoundError, OSError) so callers and tests that catch the builtin keep working.
"""
from __future__ import annotations


class UserError(Exception):
  """Base of every error the user can fix (bad flags, config, data, workdir, disk)."""


class UsageError(UserError, ValueError):
  """Bad command-line flags."""


class ConfigError(UserError, ValueError):
  """A config file, preset argument, override or field value that cannot be used (also config_utils.ConfigError)."""


class DataError(UserError, ValueError):
  """A dataset that cannot be used: missing or inconsistent files, wrong shapes, too few examples."""


class MissingInputError(UserError, FileNotFoundError):
  """A file or folder the user named (or the config points at) does not exist."""


class WriteError(UserError, OSError):
  """An output file could not be written (read-only or full disk, no permission); the message names the path."""


class NonFiniteLossError(UserError, RuntimeError):
  """Training produced NaN/Inf; the run stopped and the last good checkpoint is kept."""


def write_error(path: str, err: OSError) -> WriteError:
  """The WriteError for an OSError raised while writing `path` (its text keeps the errno's words)."""
  return WriteError(f"could not write {path}: {err.strerror or err}")


USER_ERRORS = (UserError,)
