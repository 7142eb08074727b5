"""tf.data -> host-local numpy batches -> global device arrays on the mesh.

Determinism: the per-host stream is a seeded shuffle of the family's dataset, repeated and batched; resuming
at step k skips k batches of that same stream, so a resumed run sees exactly the batches an uninterrupted
run would have seen. A record that fails its checksum while reading (a file damaged after it was verified)
is a user error (a DataError; naming the file when the dataset's loader tied it to its files with
`explain_damage`, see decompjax/data/shard_check.py), not a TensorFlow DataLossError.
"""
from __future__ import annotations

import contextlib
import functools
import re
import weakref
from typing import Callable, Iterator

import jax
import numpy as np

from decompjax.errors import DataError, UserError


@functools.cache
def tf_on_cpu_only():
  """Imports TensorFlow with accelerators hidden: tf.data must not grab GPU/TPU memory JAX needs."""
  import tensorflow as tf
  try:
    tf.config.set_visible_devices([], "GPU")
    tf.config.set_visible_devices([], "TPU")
  except (RuntimeError, ValueError):  # already initialised, or no such device type: nothing to hide
    pass
  return tf


# Datasets whose loader knows which files a damaged record can come from: ds -> explain(DataLossError) -> UserError.
# Registered from below (data/ imports this module, never the other way round).
_EXPLAIN_DAMAGE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def explain_damage(ds, explain: Callable[[Exception], UserError]):
  """Ties `ds` to `explain`, which turns a record that fails its checksum while reading into the user error
  naming the damaged files; returns ds."""
  _EXPLAIN_DAMAGE[ds] = explain
  return ds


def data_loss_detail(err: Exception) -> str:
  """The words of a TensorFlow DataLossError without its op and graph annotations."""
  return re.sub(r"\{\{.*?\}\}|\[Op:.*", "", str(getattr(err, "message", err))).strip()


@contextlib.contextmanager
def _damaged_records_are_user_errors(source_ds):
  tf = tf_on_cpu_only()
  try:
    yield
  except tf.errors.DataLossError as e:
    explain = _EXPLAIN_DAMAGE.get(source_ds)
    if explain is not None:
      raise explain(e) from e
    raise DataError(f"a data record failed its checksum while reading ({data_loss_detail(e)}): a dataset file is "
                    "corrupt; delete the dataset's directory and regenerate it") from e


def _numpy_batches(ds, source_ds) -> Iterator[dict]:
  with _damaged_records_are_user_errors(source_ds):
    for b in ds.as_numpy_iterator():
      yield dict(b)


def local_batch_size(global_batch: int) -> int:
  return global_batch // jax.process_count()


def batched_numpy(ds, batch_size: int, *, seed: int, shuffle_buffer: int, cache: bool, start_step: int = 0,
                  repeat: bool = True) -> Iterator[dict]:
  """Shuffled (seeded), repeated, batched stream of numpy dicts, starting at batch `start_step`."""
  tf = tf_on_cpu_only()
  source = ds
  if cache:
    ds = ds.cache()
  if shuffle_buffer > 1:
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
  if repeat:
    ds = ds.repeat()
  ds = ds.batch(batch_size, drop_remainder=repeat)
  if start_step:
    ds = ds.skip(start_step)
  options = tf.data.Options()
  options.deterministic = True
  ds = ds.with_options(options).prefetch(tf.data.AUTOTUNE)
  return _numpy_batches(ds, source)


def first_example_batch(ds, batch_size: int) -> dict:
  """One batch with the dataset's shapes, for initialisation (no shuffle)."""
  for b in _numpy_batches(ds.take(batch_size).batch(batch_size), ds):
    return b
  raise DataError("the dataset is empty: no example could be read")


def all_examples(ds, limit: int | None = None) -> dict:
  """Reads up to `limit` examples (in dataset order) into stacked numpy arrays (for evaluation)."""
  parts = list(_numpy_batches((ds.take(limit) if limit else ds).batch(1024), ds))
  if not parts:
    raise DataError("the dataset is empty: no example could be read")
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
