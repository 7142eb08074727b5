"""decompjax.audio.stft: perfect reconstruction (hann 512/128 as ConVAE-BSS uses it, and rect), odd lengths, batches,
against numpy's FFT; the VQ-VAE and ConVAE-BSS call this same module."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from decompjax.audio import stft


@pytest.mark.parametrize("window,n_fft,hop,length", [("hann", 512, 128, 2001), ("hann", 512, 128, 2048),
                                                     ("rect", 512, 128, 2001), ("rect", 8, 2, 37)])  # odd, even
def test_istft_of_stft_is_the_signal(window, n_fft, hop, length):
  x = np.random.default_rng(length + n_fft).normal(size=(3, 2, length)).astype(np.float32)  # batch of [2, L]
  spec = jax.jit(lambda v: stft.stft_complex(v, n_fft, hop, window))(x)
  assert spec.shape == (3, 2, n_fft // 2 + 1, 1 + length // hop)
  y = np.asarray(jax.jit(lambda u: stft.istft_complex(u, length, n_fft, hop, window))(spec))
  np.testing.assert_allclose(y, x, atol=2e-5 * np.abs(x).max())  # every sample, the last of odd lengths too


def test_stft_frames_are_numpy_rfft_of_reflect_padded_windows():
  n_fft, hop, length = 512, 128, 1500
  x = np.random.default_rng(0).normal(size=length)
  w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic hann
  xp = np.pad(x, n_fft // 2, mode="reflect")
  ref = np.stack([np.fft.rfft(xp[t * hop:t * hop + n_fft] * w) for t in range(1 + length // hop)], axis=-1)
  got = np.asarray(jax.jit(lambda v: stft.stft_complex(v, n_fft, hop, "hann"))(x.astype(np.float32)))
  np.testing.assert_allclose(got, ref, atol=1e-3 * np.abs(ref).max())


def test_jitted_batched_equals_per_example():
  x = np.random.default_rng(1).normal(size=(4, 777)).astype(np.float32)
  f = jax.jit(lambda v: stft.istft_complex(stft.stft_complex(v, 64, 16, "hann") * 0.5, 777, 64, 16, "hann"))
  batched = np.asarray(f(x))
  for b in range(4):  # the same function on one unbatched signal
    np.testing.assert_allclose(batched[b], np.asarray(f(x[b])), atol=1e-5)
  np.testing.assert_allclose(batched, 0.5 * x, atol=1e-5)


def test_bad_hop_and_short_signals_are_refused():
  with pytest.raises(ValueError, match="must divide n_fft"):
    stft.stft_complex(np.zeros(1000, np.float32), 512, 100, "hann")
  with pytest.raises(ValueError, match="too short"):
    stft.stft_complex(np.zeros(200, np.float32), 512, 128, "hann")
  with pytest.raises(ValueError, match="unknown STFT window"):
    stft.window_array("hamming", 512)


def test_the_models_share_this_stft():
  from decompjax.families.convae_bss import model as convae
  from decompjax.families.vqvae import model as vqvae
  assert vqvae.stft is stft and convae.stft_lib is stft
