"""tf.data stream: seeded determinism, resume by skipping, empty-dataset error, global batch assembly."""
import jax
import numpy as np
import pytest

from decompjax import input_pipeline, sharding


def _ds(n=20):
  tf = input_pipeline.tf_on_cpu_only()
  return tf.data.Dataset.from_tensor_slices({"x": np.arange(n, dtype=np.float32), "i": np.arange(n)})


def _take(it, k):
  return [next(it)["i"].tolist() for _ in range(k)]


def test_same_seed_same_stream_and_reshuffled_epochs():
  a = _take(input_pipeline.batched_numpy(_ds(), 4, seed=3, shuffle_buffer=100, cache=True), 10)
  b = _take(input_pipeline.batched_numpy(_ds(), 4, seed=3, shuffle_buffer=100, cache=True), 10)
  c = _take(input_pipeline.batched_numpy(_ds(), 4, seed=4, shuffle_buffer=100, cache=True), 10)
  assert a == b and a != c
  epoch1, epoch2 = sum(a[:5], []), sum(a[5:10], [])
  assert sorted(epoch1) == list(range(20)) and epoch1 != epoch2  # every example once per epoch, new order


def test_start_step_resumes_the_same_stream():
  full = _take(input_pipeline.batched_numpy(_ds(), 4, seed=1, shuffle_buffer=100, cache=False), 12)
  resumed = _take(input_pipeline.batched_numpy(_ds(), 4, seed=1, shuffle_buffer=100, cache=False, start_step=7), 5)
  assert resumed == full[7:12]


def test_empty_dataset_is_a_clear_error():
  with pytest.raises(ValueError, match="empty"):
    input_pipeline.first_example_batch(_ds(0), 1)
  with pytest.raises(ValueError, match="empty"):
    input_pipeline.all_examples(_ds(0))


def test_global_batch_is_sharded_over_the_mesh():
  mesh = sharding.make_mesh(8)
  batch = sharding.to_global_batch({"x": np.arange(16, dtype=np.float32).reshape(16, 1)}, mesh)
  assert batch["x"].shape == (16, 1) and len(batch["x"].sharding.device_set) == 8
  np.testing.assert_array_equal(np.asarray(batch["x"])[:, 0], np.arange(16))
  with pytest.raises(ValueError, match="not divisible"):
    sharding.check_batch_divisible(12, mesh)
  with pytest.raises(ValueError, match="only 8"):
    sharding.make_mesh(9)
  assert jax.device_count() == 8
