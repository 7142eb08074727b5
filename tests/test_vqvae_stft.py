"""STFT/iSTFT against a direct numpy transcription of torch.stft/istft semantics (center, reflect, rect)."""
import jax
import numpy as np
import pytest

from decompjax.audio import stft
from decompjax.families.vqvae.model import _interp_matrix, resize_bilinear_align_corners


def ref_torch_stft(x, n_fft=8, hop=2, window=None):
  """torch.stft(x, n_fft, hop, window, center=True, pad_mode='reflect', onesided=True), as a DFT sum."""
  w = np.ones(n_fft) if window is None else window
  xp = np.pad(x, n_fft // 2, mode="reflect")
  n_frames = 1 + (len(xp) - n_fft) // hop
  n = np.arange(n_fft)
  out = np.zeros((n_fft // 2 + 1, n_frames), complex)
  for t in range(n_frames):
    frame = xp[t * hop:t * hop + n_fft] * w
    for f in range(n_fft // 2 + 1):
      out[f, t] = np.sum(frame * np.exp(-2j * np.pi * f * n / n_fft))
  return out


def ref_torch_istft(spec, n_fft=8, hop=2, window=None):
  """torch.istft(spec, n_fft, hop, window, center=True) without `length`: hop*(T-1) samples."""
  w = np.ones(n_fft) if window is None else window
  n_frames = spec.shape[1]
  y = np.zeros(n_fft + hop * (n_frames - 1))
  env = np.zeros_like(y)
  for t in range(n_frames):
    y[t * hop:t * hop + n_fft] += np.fft.irfft(spec[:, t], n=n_fft) * w
    env[t * hop:t * hop + n_fft] += w * w
  start = n_fft // 2
  end = len(y) - n_fft // 2
  return y[start:end] / env[start:end]


@pytest.mark.parametrize("length", [24, 37])
def test_stft_matches_torch_semantics(length):
  rng = np.random.default_rng(length)
  x = rng.normal(size=(3, length, 2)).astype(np.float32)
  u = np.asarray(stft.stft(x, n_fft=8))
  n_frames = 1 + length // 2
  assert u.shape == (3, 5, n_frames, 4)
  for b in range(3):
    for c in range(2):
      ref = ref_torch_stft(x[b, :, c].astype(np.float64))
      np.testing.assert_allclose(u[b, :, :, 2 * c], ref.real, atol=2e-5)
      np.testing.assert_allclose(u[b, :, :, 2 * c + 1], ref.imag, atol=2e-5)


@pytest.mark.parametrize("length", [96, 275])  # even; odd (Trace)
def test_istft_round_trip_and_odd_length(length):
  rng = np.random.default_rng(1)
  x = rng.normal(size=(2, length, 1)).astype(np.float32)
  u = stft.stft(x)
  y = np.asarray(stft.istft(u, length))
  np.testing.assert_allclose(y, x, atol=1e-5)  # every sample, the last one of odd L included
  ref = ref_torch_istft(ref_torch_stft(x[0, :, 0].astype(np.float64)))
  assert len(ref) == 2 * (length // 2)  # torch drops the last sample of odd lengths
  np.testing.assert_allclose(y[0, :len(ref), 0], ref, atol=1e-5)
  y_compat = np.asarray(stft.istft(u, length, drop_odd_last=True))
  if length % 2:
    assert np.all(y_compat[:, -1] == 0) and np.allclose(y_compat[:, :-1], x[:, :-1], atol=1e-5)
  else:
    np.testing.assert_allclose(y_compat, y)


def test_hann_window_round_trip_and_bad_inputs():
  x = np.random.default_rng(2).normal(size=(1, 64, 1)).astype(np.float32)
  w = stft.window_array("hann", 8)
  ref = ref_torch_stft(x[0, :, 0].astype(np.float64), window=w)
  u = np.asarray(stft.stft(x, window="hann"))
  np.testing.assert_allclose(u[0, :, :, 0], ref.real, atol=2e-5)
  np.testing.assert_allclose(np.asarray(stft.istft(u, 64, window="hann")), x, atol=1e-4)
  with pytest.raises(ValueError, match="too short"):
    stft.stft(np.zeros((1, 4, 1), np.float32))
  with pytest.raises(ValueError, match="window"):
    stft.window_array("kaiser", 8)


def test_stft_is_differentiable_under_jit():
  x = np.random.default_rng(3).normal(size=(2, 30, 1)).astype(np.float32)
  g = jax.jit(jax.grad(lambda x: (stft.istft(stft.stft(x), 30) ** 2).sum()))(x)
  np.testing.assert_allclose(np.asarray(g), 2 * x, rtol=1e-4, atol=1e-4)


def test_bilinear_align_corners_matches_formula():
  x = np.random.default_rng(4).normal(size=(1, 5, 16, 3)).astype(np.float32)
  y = np.asarray(resize_bilinear_align_corners(x, (5, 13)))
  # torch align_corners=True: src = dst * (in-1)/(out-1); corners map onto corners.
  np.testing.assert_allclose(y[:, :, 0], x[:, :, 0], atol=1e-6)
  np.testing.assert_allclose(y[:, :, -1], x[:, :, -1], atol=1e-6)
  src = 5 * 15 / 12
  lo = int(np.floor(src))
  np.testing.assert_allclose(y[0, 2, 5], x[0, 2, lo] * (lo + 1 - src) + x[0, 2, lo + 1] * (src - lo), atol=1e-5)
  np.testing.assert_allclose(_interp_matrix(7, 7), np.eye(7), atol=1e-7)
