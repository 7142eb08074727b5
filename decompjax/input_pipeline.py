"""tf.data -> host-local numpy batches -> global device arrays on the mesh.

Determinism and resume: the per-host stream is a sequence of epochs; epoch e is the family's dataset shuffled
with a seed derived from (seed, e) (epoch 0 uses `seed` itself) and cut into floor(examples / batch) batches
(the remainder of each epoch is dropped; it differs from epoch to epoch). Step k is therefore batch k % L of
epoch k // L, computed rather than replayed, and a resumed run sees exactly the batches an uninterrupted run
would have seen. A shuffle's order depends only on positions, so the order of an epoch is computed on indices
(`tf.data.Dataset.range(n)` shuffled the same way) and:
- in memory (config.data.cache: SynTone), the host's examples are read once into numpy arrays and each batch
  is gathered by index: resuming decodes no skipped example, whatever k is;
- otherwise (UCR and Autodecompose's in-memory tensor slices, SynMix records, DecVAE's cache shards) the
  dataset is streamed and resuming skips at most one epoch of records (slices of in-memory arrays for the
  tensor-slice families; records read and decoded for SynMix and DecVAE). A source whose size tf.data does
  not know (DecVAE's generator) is counted once, only when resuming.
A record that fails its checksum while reading (a file damaged after it was verified) is a user error (a
DataError; naming the file when the dataset's loader tied it to its files with `explain_damage`, see
decompjax/data/shard_check.py), not a TensorFlow DataLossError.
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
  except Exception as e:  # not `except tf.errors...`: evaluated on a GeneratorExit at interpreter exit, when
    errors = getattr(tf, "errors", None)  # TensorFlow's lazy modules are already torn down (None)
    if errors is None or not isinstance(e, errors.DataLossError):
      raise
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
  """Shuffled (seeded), repeated, batched stream of numpy dicts, starting at batch `start_step` of the stream
  (its position computed, see the module docstring). repeat=False: one shuffled pass, the last batch possibly
  short."""
  tf = tf_on_cpu_only()
  if not repeat:
    source = ds
    if shuffle_buffer > 1:
      ds = ds.shuffle(shuffle_buffer, seed=seed)
    return _numpy_batches(_deterministic(ds.batch(batch_size)), source)
  if cache:
    arrays = all_examples(ds)
    n = len(next(iter(arrays.values())))
    epoch, offset = stream_position(start_step, n, batch_size)
    indices = _epoch_stream(tf.data.Dataset.range(n), batch_size, seed, shuffle_buffer, epoch, offset)
    return _gathered(indices, arrays)
  epoch, offset = (0, 0) if not start_step else stream_position(start_step, dataset_size(ds), batch_size)
  return _numpy_batches(_epoch_stream(ds, batch_size, seed, shuffle_buffer, epoch, offset), ds)


def stream_position(step: int, num_examples: int, batch_size: int) -> tuple[int, int]:
  """(epoch, batch within it) of batch `step` of a stream of floor(num_examples / batch_size) batches an epoch."""
  per_epoch = num_examples // batch_size
  if per_epoch < 1:
    raise DataError(f"this host's share of the data has {num_examples} example(s), fewer than its batch of "
                    f"{batch_size}: use a smaller train.batch_size or more data (the share is the data divided by "
                    "the number of processes)")
  return divmod(step, per_epoch)


def dataset_size(ds) -> int:
  """Examples in `ds`: tf.data's cardinality when it knows it, else counted (one read of the data)."""
  tf = tf_on_cpu_only()
  n = int(ds.cardinality())
  if n == tf.data.INFINITE_CARDINALITY:
    raise DataError("the training dataset is infinite; the trainer repeats it itself: give a finite dataset")
  if n >= 0:
    return n
  with _damaged_records_are_user_errors(ds):
    return int(ds.reduce(np.int64(0), lambda count, _: count + 1))


def epoch_seed(seed: int, epoch):
  """The shuffle seed of `epoch` (a tf int64 scalar): `seed` itself for epoch 0, so a run's first epoch is the
  order a plain seeded shuffle gives; then a stateless hash of (seed, epoch)."""
  tf = tf_on_cpu_only()
  seed_t = tf.constant(seed, tf.int64)
  derived = tf.random.stateless_uniform([], seed=tf.stack([seed_t, epoch]), minval=0, maxval=2**62,
                                        dtype=tf.int64)
  return tf.where(epoch == 0, seed_t, derived)


def _epoch_stream(ds, batch_size: int, seed: int, shuffle_buffer: int, first_epoch: int, skip_batches: int):
  """Epochs first_epoch, first_epoch + 1, ... of `ds`, each shuffled by epoch_seed and batched (remainder
  dropped), without the first `skip_batches` batches."""
  tf = tf_on_cpu_only()

  def epoch_batches(epoch):
    one = ds.shuffle(shuffle_buffer, seed=epoch_seed(seed, epoch)) if shuffle_buffer > 1 else ds
    return one.batch(batch_size, drop_remainder=True)

  stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_batches)
  if skip_batches:
    stream = stream.skip(skip_batches)
  return _deterministic(stream)


def _deterministic(ds):
  tf = tf_on_cpu_only()
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _gathered(indices, arrays: dict) -> Iterator[dict]:
  for idx in indices.as_numpy_iterator():
    yield {k: v[idx] for k, v in arrays.items()}


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
