"""DecVAE's per-frame mel patch (decompjax.audio.mel_patch) against librosa 0.11."""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from decompjax.audio import mel_patch as mp


def _librosa_patch(frame, n_fft=1600, hop=100):
  s = librosa.feature.melspectrogram(y=frame, sr=16000, n_fft=n_fft, hop_length=hop, n_mels=80, window="hann",
                                     center=True)
  return librosa.power_to_db(s, ref=np.max).reshape(-1)


@pytest.mark.filterwarnings("ignore:n_fft=")
def test_matches_librosa_on_noise_tones_and_float32():
  rng = np.random.default_rng(0)
  t = np.arange(400) / 16000
  frames = np.stack([rng.standard_normal(400), np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3100 * t),
                     1e-3 * rng.standard_normal(400)])
  ours = mp.mel_patch(frames)
  assert ours.shape == (3, 400) and ours.dtype == np.float32
  for f, o in zip(frames, ours):
    np.testing.assert_allclose(o, _librosa_patch(f), atol=1e-4)
  f32 = frames[0].astype(np.float32)
  np.testing.assert_allclose(mp.mel_patch(f32), _librosa_patch(f32), atol=2e-2)
  np.testing.assert_allclose(mp.mel_filterbank(16000, 1600, 80), librosa.filters.mel(sr=16000, n_fft=1600, n_mels=80),
                             atol=1e-7)


@pytest.mark.filterwarnings("ignore:n_fft=")
def test_other_mel_hops_and_shapes():
  spec = mp.PatchSpec(mel_hops=3)
  assert (spec.n_fft, spec.hop, spec.time_steps, spec.size) == (1200, 133, 4, 320)
  x = np.random.default_rng(1).standard_normal((2, 3, 400))
  out = mp.mel_patch(x, spec)
  assert out.shape == (2, 3, 320)
  np.testing.assert_allclose(out[1, 2], _librosa_patch(x[1, 2], 1200, 133), atol=1e-4)
  with pytest.raises(ValueError, match="400 samples"):
    mp.mel_patch(np.zeros((2, 399)))


def test_zero_frame_gives_zero_patch_and_sequence_is_chunkwise():
  assert np.all(mp.mel_patch(np.zeros(400)) == 0)
  x = np.random.default_rng(2).standard_normal((2, 1300))
  seq = mp.mel_sequence(x)
  assert seq.shape == (2, 1200) and mp.sequence_length(1300) == 1200
  np.testing.assert_array_equal(seq[1, 400:800], mp.mel_patch(x[1, 400:800]))
