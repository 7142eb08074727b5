"""SimVowels generator (decvae.md §3.1) and its TFDS builder."""
import numpy as np
import pytest

from decompjax.data import simvowels as S


def test_speakers_are_20_discrete_and_disjoint_across_splits():
  ids = {split: set(S.split_speakers(split)) for split in ("train", "validation", "test")}
  assert [len(ids[s]) for s in ("train", "validation", "test")] == [10, 5, 5]
  assert not (ids["train"] & ids["validation"]) and not (ids["train"] & ids["test"])
  assert set().union(*ids.values()) == set(range(20))
  assert S.speaker_v(0) == pytest.approx(0.715) and S.speaker_v(19) == pytest.approx(1.275)
  with pytest.raises(ValueError, match="split"):
    S.split_speakers("dev")


def test_generate_is_seeded_and_labelled():
  spec = S.SimVowelsSpec(seconds=0.5, seed=3)
  a = S.generate("test", 10, spec)
  b = S.generate("test", 10, spec)
  c = S.generate("test", 10, S.SimVowelsSpec(seconds=0.5, seed=4))
  np.testing.assert_array_equal(a["audio"], b["audio"])
  assert not np.allclose(a["audio"], c["audio"])
  assert a["audio"].shape == (10, 8000) and a["vowel"].shape == (10, 5)
  assert set(a["speaker"]) == set(S.split_speakers("test"))          # balanced: 2 utterances each
  assert np.bincount(a["speaker"], minlength=20).max() == 2
  assert a["vowel"].min() >= 0 and a["vowel"].max() < 5
  np.testing.assert_allclose(a["v"], [S.speaker_v(s) for s in a["speaker"]])


def test_snr_is_exact():
  vowels = np.arange(10) % 5
  clean = S.synthesize_segments(np.random.default_rng(0), 1.0, vowels, S.SimVowelsSpec(snr_db=300.0))
  noisy = S.synthesize_segments(np.random.default_rng(0), 1.0, vowels, S.SimVowelsSpec(snr_db=15.0))
  noise = noisy.astype(np.float64) - clean
  snr = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2, 1) / np.mean(noise ** 2, 1))
  np.testing.assert_allclose(snr, 15.0, atol=0.01)


def _pitch_autocorr(excitation, v=1.0, n=12):
  y = S.synthesize_segments(np.random.default_rng(1), v, np.zeros(n, int),
                            S.SimVowelsSpec(excitation=excitation, snr_db=60.0))
  lag = int(round(S.SAMPLE_RATE / (120.0 / v)))
  y = y - y.mean(1, keepdims=True)
  return float(np.mean([np.dot(s[:-lag], s[lag:]) / np.dot(s, s) for s in y]))


def test_pulse_excitation_carries_f0_and_noise_compat_does_not():
  assert _pitch_autocorr("pulse") > 0.5
  assert abs(_pitch_autocorr("noise_compat")) < 0.2


def test_formants_scale_with_the_vocal_tract_factor():
  """The dominant spectral peak of vowel 'a' (F1 = 710 Hz) sits near 710 / v."""
  for v in (0.8, 1.2):
    y = S.synthesize_segments(np.random.default_rng(2), v, np.zeros(30, int),
                              S.SimVowelsSpec(excitation="noise_compat", snr_db=60.0))
    spec = np.mean(np.abs(np.fft.rfft(y, axis=1)) ** 2, 0)
    freqs = np.fft.rfftfreq(y.shape[1], 1 / S.SAMPLE_RATE)
    assert abs(freqs[np.argmax(spec)] - 710 / v) < 120


def test_bad_spec_is_one_clear_error():
  with pytest.raises(ValueError, match="excitation"):
    S.SimVowelsSpec(excitation="impulse")
  with pytest.raises(ValueError, match="multiple of 0.1"):
    S.SimVowelsSpec(seconds=0.25)


def test_tfds_builder_round_trip(tmp_path):
  from decompjax.data import simvowels_tfds
  cfg = simvowels_tfds.make_config(excitation="noise_compat", seconds=0.3, num_train=4, num_validation=2,
                                   num_test=3, seed=5)
  got = simvowels_tfds.load_numpy(cfg, str(tmp_path), "test")
  want = S.generate("test", 3, cfg.spec)
  order = np.argsort([int(np.flatnonzero((want["audio"] == a).all(1))[0]) for a in got["audio"]])
  for k in ("audio", "vowel", "speaker", "v"):
    np.testing.assert_array_equal(got[k][order], want[k])
  # a second config never reuses the first one's files
  other = simvowels_tfds.make_config(excitation="pulse", seconds=0.3, num_train=4, num_validation=2,
                                     num_test=3, seed=5)
  assert other.name != cfg.name
