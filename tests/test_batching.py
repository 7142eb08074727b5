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


def test_map_batches_masked_gives_the_valid_rows_to_batch_statistics():
  # A batch mean over the padded last batch would be pulled towards the zero padding; the mask keeps it out.
  def batch_mean(b, valid):
    w = valid.astype(b.dtype)[:, None]
    mean = jnp.sum(b * w, axis=0) / jnp.sum(w)
    return jnp.broadcast_to(mean, b.shape)

  x = np.arange(1, 8, dtype=np.float32).reshape(7, 1)
  out = map_batches(jax.jit(batch_mean), x, batch_size=4, masked=True)
  np.testing.assert_allclose(out[:4], np.full((4, 1), x[:4].mean()))
  np.testing.assert_allclose(out[4:], np.full((3, 1), x[4:].mean()))  # 6.0, not 4.5 as with the padding
