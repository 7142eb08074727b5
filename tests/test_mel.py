"""On-device mel front end vs librosa, the two SynTone front ends, and Griffin-Lim / WAV export."""
import dataclasses

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import soundfile

from decompjax.audio import griffin_lim, mel, wav
from decompjax.audio.mel import MelSpec
from decompjax.data import syntone

SPEC = MelSpec()
GRID = syntone.SynToneGrid()


def _librosa_mel(x, spec):
  return librosa.feature.melspectrogram(y=x, sr=spec.sample_rate, n_fft=spec.n_fft, hop_length=spec.hop_length,
                                        n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax, power=spec.power,
                                        center=spec.center, pad_mode=spec.pad_mode, window=spec.window)


def _rel_err(a, b):
  a, b = np.asarray(a), np.asarray(b)
  return np.abs(a - b).max(axis=(-2, -1)) / np.abs(b).max(axis=(-2, -1))


def _tones():
  idx = [syntone.flat_index(GRID, w, f, a) for w in range(4) for f in (0, 201, 399) for a in (0, 19)]
  return syntone.synthesize(GRID, idx)


def test_defaults_and_shape():
  assert (SPEC.sample_rate, SPEC.n_fft, SPEC.hop_length, SPEC.n_mels) == (16000, 2048, 512, 128)
  assert (SPEC.fmax, SPEC.power, SPEC.center, SPEC.pad_mode, SPEC.window) == (8000.0, 2.0, True, "constant", "hann")
  assert SPEC.output_shape(16000) == (128, 32)
  fb = mel.mel_filterbank(SPEC)
  assert fb.shape == (128, 1025) and fb.dtype == np.float32
  np.testing.assert_array_equal(fb, librosa.filters.mel(sr=16000, n_fft=2048, n_mels=128, fmax=8000))


def test_parity_with_librosa_random_and_tones():
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2, 16000)).astype(np.float32)
  out = mel.mel_spectrogram(x, SPEC)
  assert out.shape == (2, 128, 32) and out.dtype == jnp.float32
  assert _rel_err(out, _librosa_mel(x, SPEC)).max() <= 1e-5
  tones = _tones()
  assert _rel_err(mel.mel_spectrogram(tones, SPEC), _librosa_mel(tones, SPEC)).max() <= 1e-5


@pytest.mark.parametrize("changes", [
    dict(n_fft=512, hop_length=160, n_mels=64),  # hop does not divide n_fft: gather framing
    dict(pad_mode="reflect", power=1.0, fmin=50.0, fmax=None),
    dict(center=False, n_fft=400, hop_length=100, n_mels=40),
])
def test_parity_other_settings(changes):
  spec = dataclasses.replace(SPEC, **changes)
  x = np.random.default_rng(1).standard_normal((2, 8000)).astype(np.float32)
  out = mel.mel_spectrogram(x, spec)
  ref = _librosa_mel(x, spec)
  assert out.shape == ref.shape == (2, *spec.output_shape(8000))
  assert _rel_err(out, ref).max() <= 1e-5


def test_frame_normalisation_matches_librosa_normalize():
  tones = _tones()
  ref = np.stack([librosa.util.normalize(m) for m in _librosa_mel(tones, SPEC)])
  out = np.asarray(mel.frontend(tones, SPEC, "syntone"))
  np.testing.assert_allclose(out, ref, atol=2e-5)
  np.testing.assert_allclose(out.max(axis=-2), 1.0, rtol=1e-6)  # every frame peaks at exactly 1
  # An all-zero frame is left at zero (librosa fill=None), not turned into NaN.
  silent = np.asarray(mel.normalize_frames(jnp.zeros((4, 3))))
  assert np.all(silent == 0)


def test_syntone_mode_is_amplitude_invariant_log_mel_is_not():
  quiet = [syntone.flat_index(GRID, w, 100, 0) for w in range(4)]
  loud = [syntone.flat_index(GRID, w, 100, 19) for w in range(4)]
  assert GRID.amps[0] == pytest.approx(0.1) and GRID.amps[19] == pytest.approx(1.0)
  xq, xl = syntone.synthesize(GRID, quiet), syntone.synthesize(GRID, loud)
  norm_q, norm_l = mel.frontend(xq, SPEC, "syntone"), mel.frontend(xl, SPEC, "syntone")
  assert float(jnp.abs(norm_q - norm_l).max()) < 1e-5
  log_q, log_l = np.asarray(mel.frontend(xq, SPEC, "log_mel")), np.asarray(mel.frontend(xl, SPEC, "log_mel"))
  # 20 dB louder = +0.2 on the fixed -100..0 dB scale wherever the signal is above the floor.
  peak = log_l >= log_l.max(axis=(-2, -1), keepdims=True) - 0.05
  np.testing.assert_allclose((log_l - log_q)[peak], 0.2, atol=0.01)
  for f in (norm_q, norm_l, log_q, log_l):
    assert float(jnp.min(f)) >= 0.0 and float(jnp.max(f)) <= 1.0


def test_frontend_range_on_extremes_and_bad_mode():
  rng = np.random.default_rng(2)
  x = np.concatenate([np.zeros((1, 16000)), 100 * rng.standard_normal((1, 16000)),
                      syntone.synthesize(GRID, [GRID.num_examples - 1])], 0).astype(np.float32)
  for mode in mel.FRONTEND_MODES:
    f = np.asarray(mel.frontend(x, SPEC, mode))
    assert f.shape == (3, 128, 32) and np.all(np.isfinite(f)) and f.min() >= 0 and f.max() <= 1
  with pytest.raises(ValueError, match="unknown mel front-end mode"):
    mel.frontend(x, SPEC, "db")


def test_jit_vmap_and_batch_shapes():
  x = np.random.default_rng(3).standard_normal((2, 3, 16000)).astype(np.float32)
  eager = np.asarray(mel.frontend(x, SPEC, "log_mel"))
  assert eager.shape == (2, 3, 128, 32)
  jitted = jax.jit(mel.frontend, static_argnames=("spec", "mode"))(x, spec=SPEC, mode="log_mel")
  vmapped = jax.jit(jax.vmap(lambda w: mel.frontend(w, SPEC, "log_mel")))(x.reshape(6, 16000))
  np.testing.assert_allclose(jitted, eager, atol=1e-6)
  np.testing.assert_allclose(np.asarray(vmapped).reshape(eager.shape), eager, atol=1e-6)
  assert mel.mel_spectrogram(x[0, 0], SPEC).shape == (128, 32)


def test_data_sharded_batch_matches_single_device():
  from decompjax import sharding
  mesh = sharding.make_mesh()
  n = mesh.devices.size
  x = np.random.default_rng(4).standard_normal((n, 16000)).astype(np.float32)
  fn = jax.jit(lambda w: mel.frontend(w, SPEC, "syntone"), out_shardings=sharding.data_sharded(mesh))
  out = fn(jax.device_put(x, sharding.data_sharded(mesh)))
  assert out.sharding.spec == sharding.data_sharded(mesh).spec
  np.testing.assert_allclose(np.asarray(out), np.asarray(mel.frontend(x, SPEC, "syntone")), atol=1e-6)


def test_bad_spec_errors():
  with pytest.raises(ValueError, match="fmax"):
    MelSpec(fmax=9000.0)
  with pytest.raises(ValueError, match="pad_mode"):
    MelSpec(pad_mode="wrap")
  with pytest.raises(ValueError, match="n_fft"):
    dataclasses.replace(SPEC, center=False).num_frames(1000)


@pytest.mark.parametrize("mode", mel.FRONTEND_MODES)
def test_griffin_lim_recovers_pitch(mode):
  i = syntone.flat_index(GRID, 0, 30, 19)  # 1008 Hz sine
  x = syntone.synthesize(GRID, [i])[0]
  feats = np.asarray(mel.frontend(x, SPEC, mode))
  audio = griffin_lim.mel_to_audio(feats, SPEC, mode, n_iter=8, length=16000)
  assert audio.shape == (16000,) and audio.dtype == np.float32
  np.testing.assert_array_equal(audio, griffin_lim.mel_to_audio(feats, SPEC, mode, n_iter=8, length=16000))
  spectrum = np.abs(np.fft.rfft(audio))
  peak_hz = np.fft.rfftfreq(16000, 1 / 16000)[spectrum.argmax()]
  assert abs(peak_hz - GRID.freqs[30]) < 60  # within one mel band
  if mode == "log_mel":  # the absolute level survives the log front end
    assert np.sqrt(np.mean(audio[2000:-2000] ** 2)) == pytest.approx(np.sqrt(0.5), rel=0.3)


def test_write_wav_peak_normalised(tmp_path):
  audio = 3.0 * np.sin(np.linspace(0, 200, 8000))
  path = wav.write_wav(tmp_path / "out" / "a.wav", audio, 16000)
  data, sr = soundfile.read(path)
  assert sr == 16000 and data.shape == (8000,)
  assert np.abs(data).max() == pytest.approx(0.99, abs=1e-3)
  np.testing.assert_allclose(data, audio * 0.99 / np.abs(audio).max(), atol=1e-4)
  silent = wav.write_wav(tmp_path / "s.wav", np.zeros(100), 8000)
  assert np.all(soundfile.read(silent)[0] == 0)
  with pytest.raises(ValueError, match="NaN"):
    wav.write_wav(tmp_path / "bad.wav", np.array([0.0, np.nan]), 8000)
