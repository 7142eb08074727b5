"""View augmentations: shapes, the defining property of each, fixed order, independent vmapped draws."""
import jax
import numpy as np
import pytest

from decompjax.families.vqvae import augment
from decompjax.families.vqvae.augment import AugParams

X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
KEY = jax.random.key(7)


@pytest.mark.parametrize("name", augment.ORDER)
def test_each_preserves_shape_and_dtype(name):
  y = augment.augment(KEY, X, [name])
  assert y.shape == X.shape and y.dtype == X.dtype and np.all(np.isfinite(np.asarray(y)))


def test_flip_amp_slope_jitter_slice_properties():
  np.testing.assert_array_equal(np.asarray(augment.flip(KEY, X, AugParams(flip_p=1.0))), X[::-1])
  np.testing.assert_array_equal(np.asarray(augment.flip(KEY, X, AugParams(flip_p=0.0))), X)
  ratio = np.asarray(augment.amp_resize(KEY, X, AugParams())) / X
  assert np.allclose(ratio, ratio[0], atol=1e-5) and not np.allclose(ratio[0, 0], ratio[0, 1])  # per channel
  d = np.asarray(augment.slope(KEY, X, AugParams())) - X
  np.testing.assert_allclose(np.diff(d, axis=0), np.broadcast_to(d[1] - d[0], (49, 2)), atol=1e-5)
  assert np.all(np.abs(d[1] - d[0]) <= 0.01) and np.all(d[0] == 0)
  big = np.zeros((20000, 1), np.float32)
  assert abs(float(np.asarray(augment.jitter(KEY, big, AugParams())).std()) - 0.1) < 0.005
  s = np.asarray(augment.time_slice(KEY, X, AugParams(slice_p=1.0)))
  w = int(50 * 0.2)
  assert np.all(s[w:] == 0)
  starts = [i for i in range(41) if np.allclose(X[i:i + w], s[:w])]
  assert starts  # a contiguous window of the input


def test_stft_phase_keeps_signal_at_zero_jitter_and_changes_it_otherwise():
  x = np.random.default_rng(1).normal(size=(140, 1)).astype(np.float32)
  assert augment.phase_n_fft(140) == 256
  same = np.asarray(augment.stft_phase(KEY, x, AugParams(phase_max_change=0.0)))
  np.testing.assert_allclose(same, x, atol=1e-4)
  y = np.asarray(augment.stft_phase(KEY, x, AugParams()))
  rel = np.linalg.norm(y - x) / np.linalg.norm(x)
  assert 0.05 < rel < 0.8  # spec: relative L2 change ~0.28 for L=140


def test_order_is_fixed_and_batch_draws_are_independent():
  a = augment.augment(KEY, X, ["flip", "AmpR"])
  b = augment.augment(KEY, X, "AmpR,flip")
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  batch = np.repeat(X[None], 4, axis=0)
  out = np.asarray(jax.jit(lambda k, x: augment.augment_batch(k, x, ("AmpR", "jitter")))(KEY, batch))
  assert out.shape == batch.shape and not np.allclose(out[0], out[1])
  with pytest.raises(ValueError, match="unknown augmentation"):
    augment.parse_names("AmpR,warp")
