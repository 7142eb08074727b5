"""Exception types the CLI reports as one message with a non-zero exit (no traceback)."""
from __future__ import annotations


class UsageError(ValueError):
  """Bad command-line flags."""


class ConfigError(ValueError):
  """A config file, preset argument, override or field value that cannot be used (also config_utils.ConfigError)."""


class NonFiniteLossError(RuntimeError):
  """Training produced NaN/Inf; the run stopped and the last good checkpoint is kept."""


# ValueError covers ConfigError, UsageError, checkpoint mismatches, bad data and grids.
# OSError (a read-only or full disk, no permission, a missing file): its text names the errno and the path.
USER_ERRORS = (ValueError, OSError, NonFiniteLossError)
