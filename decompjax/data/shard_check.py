"""Record checksums of prepared TFRecord datasets: checked once per file, remembered next to the data.

Why: a shard with flipped bytes keeps its size, so the cheap size check passes and TensorFlow fails in the
middle of a run with a DataLossError that names no file. Reading every record once (TFRecordDataset checks the
length and data CRC of each record) turns that into one clear error before anything is written. The result is
remembered in a stamp file beside the shards, keyed by each file's size and mtime, so a dataset costs one pass;
where the stamp cannot be written (a read-only data dir) the files are checked on every open.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib

import numpy as np

from decompjax.errors import DataError
from decompjax.input_pipeline import data_loss_detail, explain_damage, tf_on_cpu_only

STAMP_NAME = ".decompjax-verified.json"


class CorruptDataError(DataError):
  """A prepared dataset file fails its record checksums: delete the dataset and regenerate it."""


@dataclasses.dataclass(frozen=True)
class Shards:
  label: str                                   # e.g. "syntone/grid_3fe2c0d7f501"
  directory: pathlib.Path                      # holds the shards and the stamp
  files: tuple[tuple[pathlib.Path, int], ...]  # (shard file, number of records it must hold)


def of_builder(builder) -> Shards:
  """The shard files of every split of a prepared TFDS builder, with the record count each must hold."""
  files = []
  for info in builder.info.splits.values():
    files += [(pathlib.Path(str(f)), n) for f, n in zip(info.filepaths, info.shard_lengths)]
  return Shards(f"{builder.name}/{builder.builder_config.name}", pathlib.Path(builder.data_dir), tuple(files))


def _signature(path: pathlib.Path) -> list[int]:
  st = path.stat()
  return [st.st_size, st.st_mtime_ns]


def records_intact(path: pathlib.Path, expected: int) -> bool:
  """Whether every record of a TFRecord file passes its CRCs and the file holds `expected` records."""
  tf = tf_on_cpu_only()
  try:  # reduce runs inside TF: no Python work per record
    count = int(tf.data.TFRecordDataset(str(path)).reduce(np.int64(0), lambda n, _: n + 1))
  except tf.errors.OpError:
    return False
  return count == expected


def _read_stamp(directory: pathlib.Path) -> dict:
  try:
    with open(directory / STAMP_NAME, encoding="utf-8") as f:
      stamp = json.load(f)
  except (OSError, ValueError):
    return {}
  return stamp if isinstance(stamp, dict) else {}


def _write_stamp(directory: pathlib.Path, stamp: dict) -> None:
  tmp = directory / f"{STAMP_NAME}.{os.getpid()}.tmp"
  try:
    with open(tmp, "w", encoding="utf-8") as f:
      json.dump(stamp, f, indent=1, sort_keys=True)
    os.replace(tmp, directory / STAMP_NAME)  # atomic: hosts sharing the directory never read half a stamp
  except OSError:  # read-only data dir (or not a file): verify again on the next open
    try:
      tmp.unlink(missing_ok=True)
    except OSError:
      pass


def _error(shards: Shards, bad: list[str], what: str) -> CorruptDataError:
  return CorruptDataError(f"{shards.label}: shard file(s) {bad} in {shards.directory} {what}; the dataset is "
                          f"corrupt: delete {shards.directory} and regenerate it")


def verify(shards: Shards) -> None:
  """Raises CorruptDataError naming every shard whose records fail their checksums (or count) unless a stamp
  says this very file (same size and mtime) was checked before."""
  missing = [path.name for path, _ in shards.files if not path.is_file()]
  if missing:
    raise _error(shards, missing, "are missing")
  stamp = _read_stamp(shards.directory)
  todo = [(path, n) for path, n in shards.files if stamp.get(path.name) != _signature(path)]
  if not todo:
    return
  bad = [path.name for path, n in todo if not records_intact(path, n)]
  if bad:
    raise _error(shards, bad, "fail their record checksums (damaged or truncated)")
  stamp.update({path.name: _signature(path) for path, _ in todo})
  _write_stamp(shards.directory, stamp)


def remember(ds, shards: Shards):
  """Ties a dataset read from `shards` to them, so a failure while reading names the damaged file
  (corrupt_records_error); returns ds."""
  return explain_damage(ds, functools.partial(corrupt_records_error, shards))


def corrupt_records_error(shards: Shards, err: Exception) -> CorruptDataError:
  """The user error for a DataLossError met while reading a dataset of `shards` (a file damaged after it was
  verified)."""
  detail = data_loss_detail(err)
  bad = [path.name for path, n in shards.files if not records_intact(path, n)]
  stamp = _read_stamp(shards.directory)
  if any(stamp.pop(name, None) for name in bad):
    _write_stamp(shards.directory, stamp)  # the next open checks these files again and refuses up front
  return _error(shards, bad or [path.name for path, _ in shards.files],
                f"failed a record checksum while reading ({detail}), after they were verified")
