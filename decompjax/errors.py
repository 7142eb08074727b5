"""Exception types the CLI reports as one message with a non-zero exit (no traceback)."""
from __future__ import annotations


class UsageError(ValueError):
  """Bad command-line flags."""


class NonFiniteLossError(RuntimeError):
  """Training produced NaN/Inf; the run stopped and the last good checkpoint is kept."""


# ValueError covers config errors (config_utils.ConfigError), checkpoint mismatches, bad data and grids.
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, NonFiniteLossError)
