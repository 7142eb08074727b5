"""Training metrics to `<workdir>/metrics.jsonl` and TensorBoard event files; only process 0 writes."""
from __future__ import annotations

import json
import os

import jax

from decompjax import errors


class MetricWriter:
  def __init__(self, workdir: str, *, resume_step: int = 0, tensorboard: bool = True):
    """resume_step: the checkpoint step this run starts from; lines of later steps are dropped."""
    self.enabled = jax.process_index() == 0
    self._tb = None
    self._jsonl = None
    if not self.enabled:
      return
    path = os.path.join(workdir, "metrics.jsonl")
    try:  # a read-only or full disk is the user's to fix: one line naming the file
      os.makedirs(workdir, exist_ok=True)
      drop_lines_after(path, resume_step)
      self._jsonl = open(path, "a", buffering=1)
    except OSError as e:
      raise errors.write_error(path, e) from e
    if tensorboard:
      import tensorflow as tf  # TF is a dependency already (tf.data); its summary writer is the TB format.
      self._tb = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, scalars: dict[str, float], prefix: str = "train") -> None:
    if not self.enabled:
      return
    record = {"step": int(step), **{f"{prefix}/{k}": float(v) for k, v in scalars.items()}}
    self._jsonl.write(json.dumps(record) + "\n")
    if self._tb is not None:
      import tensorflow as tf
      with self._tb.as_default(step=int(step)):
        for k, v in scalars.items():
          tf.summary.scalar(f"{prefix}/{k}", float(v))

  def close(self) -> None:
    if self._jsonl:
      self._jsonl.close()
    if self._tb is not None:
      self._tb.flush()
      self._tb.close()


def read_metrics(workdir: str) -> list[dict]:
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.isfile(path):
    return []
  records = []
  with open(path) as f:
    for line in f:
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError:  # blank, or torn by a killed run (the next resume drops it)
        continue
  return records


def drop_lines_after(path: str, step: int) -> None:
  """Removes records with step > `step` (atomically: a rename over the old file).

  A run stopped after logging steps its last checkpoint does not hold; the resumed run recomputes those steps,
  so only the resumed run's lines describe the parameters that exist. A torn last line (a killed writer) goes too.
  """
  if not os.path.isfile(path):
    return
  with open(path) as f:
    lines = f.readlines()
  kept = []
  for line in lines:
    try:
      record = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(record, dict) and record.get("step", 0) <= step:
      kept.append(json.dumps(record) + "\n")
  if kept == lines:
    return
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.writelines(kept)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
