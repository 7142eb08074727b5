"""map_batches: fixed-size padded batches, padding dropped, pytree outputs, one compiled shape."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax.evaluation.batching import map_batches


def test_map_batches_matches_unbatched_and_compiles_one_shape():
  shapes = []

  def fn(b):
    shapes.append(b.shape)
    return {"sum": jnp.sum(b, axis=1), "twice": (2 * b,)}

  x = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
  out = map_batches(jax.jit(fn), x, batch_size=5)
  np.testing.assert_array_equal(out["sum"], x.sum(1))
  np.testing.assert_array_equal(out["twice"][0], 2 * x)
  assert set(shapes) == {(5, 3)}  # traced once: the last batch of 3 was padded to 5


def test_map_batches_small_input_and_empty():
  out = map_batches(lambda b: b + 1, np.zeros((2, 4), np.float32), batch_size=64)
  assert out.shape == (2, 4) and np.all(out == 1)
  with pytest.raises(ValueError, match="empty"):
    map_batches(lambda b: b, np.zeros((0, 4)), 8)
