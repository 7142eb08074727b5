"""Where generated datasets live, and how several hosts share them.

A config that does not say (`config.data.dir` / `config.data.cache_dir` == '') gets the per-user default, which
is host-local: fine on one machine, invisible to the other hosts of a pod. On several processes the data is
therefore made once by process 0 into the configured location, the others wait for it, and then every process
checks that it can see the finished data; one that cannot fails naming the path, its process index and what to
set, instead of a FileNotFoundError deep inside TFDS.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

import jax
import numpy as np

from decompjax import distributed, fileio
from decompjax.errors import DataError, MissingInputError

SHARED_STORAGE = "storage every host can read, e.g. a shared filesystem or gs://bucket/data"


def default_data_dir() -> str:
  """$DECOMPJAX_DATA_DIR, else ~/.cache/decompjax/data. Generated data never goes into the repository."""
  return os.path.expanduser(os.environ.get("DECOMPJAX_DATA_DIR", "~/.cache/decompjax/data"))


def resolve_data_dir(configured: str) -> str:
  """The configured folder (a gs:// URL is kept as it is), else the default."""
  if not configured:
    return default_data_dir()
  return configured if fileio.is_remote(configured) else os.path.expanduser(configured)


def only_process() -> bool:
  """True when this is the run's only process."""
  return jax.process_count() == 1


def may_generate(process_count: int) -> bool:
  """Whether a reader may generate missing data where it reads it: only when it is the run's only reader. A
  process of several (the `process_count` it reads a share for, or the cluster's) never does: process 0 prepares
  and the others would race it."""
  return process_count == 1 and only_process()


class DataNotVisible(DataError, MissingInputError):
  """A process of several cannot see the data it should read (not prepared there, or on a host-local disk)."""


def not_visible(what: str, location: str, field: str, process_index: int | None = None,
                process_count: int | None = None) -> DataNotVisible:
  """The error of a process that cannot see data process 0 prepared (or that nobody prepared)."""
  if process_count is None or process_count == 1:  # reading a whole split: name this process of the cluster
    process_index, process_count = jax.process_index(), jax.process_count()
  i, n = process_index, process_count
  return DataNotVisible(
      f"process {i} of {n} cannot see {what} at {location} (not prepared there): process 0 prepares it and every "
      f"host reads it. Set config.{field} to {SHARED_STORAGE}, or prepare it there beforehand with "
      "`decompjax data prepare --config=...`")


def _writer_succeeded(ok: bool, name: str) -> bool:
  """Waits for every process (the barrier after process 0 prepared) and returns process 0's `ok`, so that a
  failed preparation stops the other hosts at once instead of leaving them at the barrier."""
  from jax.experimental import multihost_utils
  del name  # the broadcast is the barrier; the name is for a patched barrier in tests
  return bool(multihost_utils.broadcast_one_to_all(np.asarray(ok, np.int32)))


def prepare_shared(what: str, location: str, field: str, configured: str, build: Callable[[], None],
                   ready: Callable[[], bool], barrier: str) -> None:
  """Process 0 runs `build` (idempotent) while the others wait at the barrier `barrier`; then every process
  checks `ready()` (the finished data is visible here) and raises `not_visible` if not. One process: build.
  `configured` is config.<field> as given (empty: the host-local default, warned about on several processes)."""
  warn_if_host_local(configured, field)
  if only_process():
    build()
    return
  if distributed.is_writer():
    try:
      build()
    except BaseException:
      _writer_succeeded(False, barrier)  # release the others before failing here
      raise
  if not _writer_succeeded(True, barrier):
    raise DataError(f"process 0 failed to prepare {what} in {location} (its log says why); process "
                    f"{jax.process_index()} stops too")
  if not ready():
    raise not_visible(what, location, field)


def warn_if_host_local(configured: str, field: str) -> None:
  """On several processes, data under ~/.cache (no config.<field>, no $DECOMPJAX_DATA_DIR) is host-local: a host
  that does not see it fails after the barrier; this says why up front."""
  if not only_process() and not configured and not os.environ.get("DECOMPJAX_DATA_DIR"):
    logging.warning("config.%s is empty, so the data goes to %s, which is local to each host; on several hosts "
                    "set config.%s to %s", field, default_data_dir(), field, SHARED_STORAGE)
