"""Training metrics to `<workdir>/metrics.jsonl` and TensorBoard event files; only process 0 writes.

The workdir may be local or an object store (gs://). Locally each record is appended and flushed at once (a
killed run loses at most a torn last line). An object store has no append: the whole file is uploaded again,
at most every `upload_every` seconds and at close, and TensorBoard writes into a local folder that is copied
up at the same moments, so a remote workdir needs nothing beyond `decompjax.fileio`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

from decompjax import distributed, errors, fileio

METRICS_FILE = "metrics.jsonl"


class MetricWriter:
  def __init__(self, workdir: str, *, resume_step: int = 0, tensorboard: bool = True, upload_every: float = 30.0):
    """resume_step: the checkpoint step this run starts from; lines of later steps are dropped.
    upload_every: seconds between uploads of a remote workdir's files (local files are written at once)."""
    self.enabled = distributed.is_writer()
    self._tb = None
    self._jsonl = None
    self._remote = fileio.is_remote(workdir)
    self._lines: list[str] = []  # remote: the whole file, uploaded again on each flush
    self._tb_local = self._tb_remote = None
    self._upload_every, self._uploaded_at = upload_every, time.monotonic()
    if not self.enabled:
      return
    self._path = fileio.join(workdir, METRICS_FILE)
    try:  # a read-only or full disk is the user's to fix: one line naming the file
      fileio.makedirs(workdir)
      self._lines = drop_lines_after(self._path, resume_step)
      if not self._remote:
        self._jsonl = fileio.open(self._path, "a")
    except OSError as e:
      raise errors.write_error(self._path, e) from e
    if tensorboard:
      import tensorflow as tf  # TF is a dependency already (tf.data); its summary writer is the TB format.
      tb_dir = fileio.join(workdir, "tensorboard")
      if self._remote:
        self._tb_local, self._tb_remote = tempfile.mkdtemp(prefix="decompjax-tb-"), tb_dir
        tb_dir = self._tb_local
      self._tb = tf.summary.create_file_writer(tb_dir)

  def write(self, step: int, scalars: dict[str, float], prefix: str = "train") -> None:
    if not self.enabled:
      return
    record = {"step": int(step), **{f"{prefix}/{k}": float(v) for k, v in scalars.items()}}
    line = json.dumps(record) + "\n"
    if self._remote:
      self._lines.append(line)
    else:
      self._jsonl.write(line)
      self._jsonl.flush()
    if self._tb is not None:
      import tensorflow as tf
      with self._tb.as_default(step=int(step)):
        for k, v in scalars.items():
          tf.summary.scalar(f"{prefix}/{k}", float(v))
    if self._remote and time.monotonic() - self._uploaded_at >= self._upload_every:
      self._upload()

  def _upload(self) -> None:
    """A remote workdir: metrics.jsonl whole, and every local TensorBoard file copied up."""
    self._uploaded_at = time.monotonic()
    try:
      fileio.write_text_atomic(self._path, "".join(self._lines))
      if self._tb is not None:
        self._tb.flush()
        for root, _, files in os.walk(self._tb_local):
          for name in files:
            local = os.path.join(root, name)
            rel = os.path.relpath(local, self._tb_local)
            with open(local, "rb") as f:
              fileio.write_bytes_atomic(fileio.join(self._tb_remote, rel), f.read())
    except OSError as e:
      raise errors.write_error(self._path, e) from e

  def close(self) -> None:
    if not self.enabled:
      return
    if self._jsonl:
      self._jsonl.close()
      self._jsonl = None
    if self._remote:
      self._upload()
    if self._tb is not None:
      self._tb.flush()
      self._tb.close()
      self._tb = None
    if self._tb_local is not None:
      shutil.rmtree(self._tb_local, ignore_errors=True)
      self._tb_local = None
    self.enabled = False  # closed: a second close writes nothing


def read_metrics(workdir: str) -> list[dict]:
  path = fileio.join(workdir, METRICS_FILE)
  if not fileio.isfile(path):
    return []
  records = []
  for line in fileio.read_text(path).splitlines():
    try:
      records.append(json.loads(line))
    except json.JSONDecodeError:  # blank, or torn by a killed run (the next resume drops it)
      continue
  return records


def drop_lines_after(path: str, step: int) -> list[str]:
  """Removes records with step > `step` (atomically: a rename over the old file, or one upload); returns the
  lines kept.

  A run stopped after logging steps its last checkpoint does not hold; the resumed run recomputes those steps,
  so only the resumed run's lines describe the parameters that exist. A torn last line (a killed writer) goes too.
  """
  if not fileio.isfile(path):
    return []
  lines = fileio.read_text(path).splitlines(keepends=True)
  kept = []
  for line in lines:
    try:
      record = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(record, dict) and record.get("step", 0) <= step:
      kept.append(json.dumps(record) + "\n")
  if kept != lines:
    fileio.write_text_atomic(path, "".join(kept))
  return kept
