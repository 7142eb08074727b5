"""The training stream's position at step k is computed, not replayed: a stream started at k yields exactly the
uninterrupted stream's batch k onwards, and the records it reads to get there do not grow with k."""
import jax
import numpy as np
import pytest

from decompjax import config_utils, input_pipeline, registry, train
from decompjax.errors import DataError

N, BATCH = 22, 4  # 5 batches an epoch, 2 examples left over (a different 2 each epoch)


class CountingSource:
  """A dataset of N examples {'i': id} that counts the records its readers pull."""

  def __init__(self, n=N, known_size=True):
    self.n, self.reads = n, 0
    tf = input_pipeline.tf_on_cpu_only()

    def records():
      for i in range(self.n):
        self.reads += 1
        yield {"i": np.int64(i), "x": np.full(3, i, np.float32)}

    sig = {"i": tf.TensorSpec((), tf.int64), "x": tf.TensorSpec((3,), tf.float32)}
    self.ds = tf.data.Dataset.from_generator(records, output_signature=sig)
    if known_size:
      self.ds = self.ds.apply(tf.data.experimental.assert_cardinality(self.n))


def _ids(it, k):
  return [next(it)["i"].tolist() for _ in range(k)]


def _stream(source, start_step=0, cache=False, seed=7, buffer=100):
  return input_pipeline.batched_numpy(source.ds, BATCH, seed=seed, shuffle_buffer=buffer, cache=cache,
                                      start_step=start_step)


@pytest.mark.parametrize("cache", [False, True])
def test_a_stream_started_at_k_is_the_uninterrupted_stream_from_k(cache):
  full = _ids(_stream(CountingSource(), cache=cache), 23)
  for k in (1, 5, 7, 12, 20):
    assert _ids(_stream(CountingSource(), k, cache=cache), 3) == full[k:k + 3], k
  epochs = [sum(full[e * 5:(e + 1) * 5], []) for e in range(4)]
  for ids in epochs:  # each epoch: 20 distinct examples of the 22
    assert len(set(ids)) == 20 and set(ids) <= set(range(N))
  assert len({tuple(ids) for ids in epochs}) == 4  # reshuffled every epoch


def test_in_memory_and_streamed_give_the_same_batches():
  # The order is computed on indices, so gathering from memory equals shuffling the records themselves,
  # also with a shuffle buffer smaller than the data.
  for buffer in (100, 5, 0):
    streamed = _ids(_stream(CountingSource(), 3, cache=False, buffer=buffer), 12)
    gathered = _ids(_stream(CountingSource(), 3, cache=True, buffer=buffer), 12)
    assert streamed == gathered, buffer


def test_the_first_epoch_is_a_plain_seeded_shuffle():
  # What runs recorded before epochs were seeded one by one saw first (tests/golden).
  plain = [b["i"].tolist() for b in CountingSource().ds.shuffle(100, seed=7).batch(BATCH).take(5)
           .as_numpy_iterator()]
  assert _ids(_stream(CountingSource()), 5) == plain


def test_in_memory_reads_each_record_once_whatever_k():
  for k in (0, 3, 5 * 1000 + 3):
    src = CountingSource()
    it = _stream(src, k, cache=True)
    _ids(it, 6)  # across an epoch boundary
    assert src.reads == N, (k, src.reads)


@pytest.mark.parametrize("known_size", [True, False])
def test_streamed_skips_at_most_one_epoch_whatever_k(known_size):
  reads = {}
  for k in (3, 5 * 1000 + 3):  # replaying would read 20,000 records for the second
    src = CountingSource(known_size=known_size)
    it = _stream(src, k)
    assert _ids(it, 1) == _ids(_stream(CountingSource(), k, cache=True), 1)
    reads[k] = src.reads
  # Counting the size (unknown to tf.data) reads one epoch; the shuffle buffer and prefetch read ahead at most
  # one more; never anything proportional to k.
  bound = (2 if known_size else 3) * N
  assert all(r <= bound for r in reads.values()), reads


def test_position_arithmetic_and_too_little_data():
  assert input_pipeline.stream_position(0, N, BATCH) == (0, 0)
  assert input_pipeline.stream_position(12, N, BATCH) == (2, 2)
  with pytest.raises(DataError, match="3 example.*batch of 4"):
    input_pipeline.stream_position(0, 3, BATCH)
  assert input_pipeline.dataset_size(CountingSource(known_size=False).ds) == N


def test_training_resumed_across_an_epoch_boundary_is_bit_identical(tmp_path):
  # The toy family streams (no data.cache): 512 examples, batch 32 -> 16 steps an epoch; stop at 9, resume to 20.
  registry.register("toy", "tests.toy_family:TOY")

  def config(steps):
    return config_utils.build_config("tests/toy_family.py", [
        ("train.steps", str(steps)), ("train.ckpt_every", "1000"), ("train.progress", "false"),
        ("train.eval_at_end", "false"), ("data.shuffle_buffer", "64")])

  straight = train.train_and_evaluate(config(20), str(tmp_path / "straight"))
  train.train_and_evaluate(config(9), str(tmp_path / "resumed"))
  resumed = train.train_and_evaluate(config(20), str(tmp_path / "resumed"))
  assert int(resumed.step) == 20
  pairs = zip(jax.tree.leaves(jax.device_get(straight.params)), jax.tree.leaves(jax.device_get(resumed.params)))
  for a, b in pairs:
    np.testing.assert_array_equal(a, b)
