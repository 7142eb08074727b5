"""Where generated datasets live when a config does not say (`config.data.dir == ''`)."""
from __future__ import annotations

import os


def default_data_dir() -> str:
  """$DECOMPJAX_DATA_DIR, else ~/.cache/decompjax/data. Generated data never goes into the repository."""
  return os.path.expanduser(os.environ.get("DECOMPJAX_DATA_DIR", "~/.cache/decompjax/data"))


def resolve_data_dir(configured: str) -> str:
  return os.path.expanduser(configured) if configured else default_data_dir()
