"""SynMix: seeded, exact stems, SNR in range, durations, a harmonic voice at its F0, transient drums."""
from __future__ import annotations

import numpy as np
import pytest

from decompjax.data import synmix

SR = 16000
SPEC = synmix.SynMixSpec(min_seconds=1.0, max_seconds=1.5, snr_db_low=-5.0, snr_db_high=5.0, seed=3)


def _energy_db(voice, music):
  v, m = voice.astype(np.float64), music.astype(np.float64)
  return 10 * np.log10(np.sum(v ** 2) / np.sum(m ** 2))


def test_seeded_and_independent_of_how_many_are_made():
  a, b = synmix.clip(SPEC, "train", 4), synmix.clip(SPEC, "train", 4)
  for key in ("mixture", "voice", "music"):
    np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
  batch = synmix.generate(SPEC, "train", 2, start=3)
  np.testing.assert_array_equal(batch["mixture"][1, :batch["length"][1]], a.mixture)
  assert not np.array_equal(synmix.clip(SPEC, "train", 5).mixture[:SR], a.mixture[:SR])
  assert not np.array_equal(synmix.clip(SPEC, "test", 4).mixture[:SR], a.mixture[:SR])
  other_seed = synmix.SynMixSpec(min_seconds=1.0, max_seconds=1.5, seed=4)
  assert not np.array_equal(synmix.clip(other_seed, "train", 4).mixture[:SR], a.mixture[:SR])
  assert SPEC.fingerprint() != other_seed.fingerprint()


def test_exact_stems_durations_levels_and_snr_range():
  data = synmix.generate(SPEC, "validation", 6)
  assert data["mixture"].dtype == np.float32 and data["mixture"].shape == (6, SPEC.max_samples)
  np.testing.assert_array_equal(data["mixture"], data["voice"] + data["music"])  # exact, padding included
  assert np.all(data["length"] >= SR * 1.0) and np.all(data["length"] <= SR * 1.5)
  for i, n in enumerate(data["length"]):
    assert -5.0 - 1e-3 <= data["snr_db"][i] <= 5.0 + 1e-3
    assert _energy_db(data["voice"][i, :n], data["music"][i, :n]) == pytest.approx(data["snr_db"][i], abs=0.01)
    assert 0.5 - 1e-6 <= np.max(np.abs(data["mixture"][i])) <= 0.95 + 1e-6  # loud enough, never clipping
    assert not np.any(data["mixture"][i, n:])
  fixed = synmix.SynMixSpec(min_seconds=1.0, max_seconds=1.0, snr_db_low=3.0, snr_db_high=3.0)
  c = synmix.clip(fixed, "train", 0)
  assert c.mixture.size == SR and _energy_db(c.voice, c.music) == pytest.approx(3.0, abs=0.01)


def test_voice_is_harmonic_at_its_f0():
  parts = synmix.synth_voice(np.random.default_rng(0), 2 * SR, SR)
  assert np.sqrt(np.mean(parts.audio ** 2)) == pytest.approx(1.0, rel=1e-6)
  assert 80 < np.median(parts.f0) < 800
  assert parts.f0[0] == pytest.approx(parts.f0[100], rel=0.05)  # the contour starts on its first note
  frame, ratios = 1024, []
  window = np.hanning(frame)
  for start in range(0, 2 * SR - frame, frame):
    sl = slice(start, start + frame)
    if parts.voiced[sl].min() < 0.3:  # only frames that are voiced throughout
      continue
    f0 = np.median(parts.f0[sl])
    spec = np.abs(np.fft.rfft(parts.audio[sl] * window)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / SR)

    def band(f):
      return spec[np.abs(freqs - f) <= 0.15 * f0].sum()
    harm = sum(band(k * f0) for k in range(1, 7))
    between = sum(band((k + 0.5) * f0) for k in range(1, 7))
    ratios.append(10 * np.log10(harm / between))
  assert len(ratios) >= 5
  assert np.median(ratios) > 20.0  # energy sits on the harmonics of the F0 track, not between them


def test_drums_are_transient_on_the_beat_grid():
  parts = synmix.synth_music(np.random.default_rng(1), 3 * SR, SR)
  assert np.sqrt(np.mean(parts.audio ** 2)) == pytest.approx(1.0, rel=1e-6)
  np.testing.assert_allclose(parts.tones + parts.bass + parts.drums,
                             parts.audio * np.sqrt(np.mean((parts.tones + parts.bass + parts.drums) ** 2)))
  assert 80 <= parts.bpm <= 140
  eighth = 60 / parts.bpm / 2 * SR
  gaps = np.diff(parts.onsets)
  np.testing.assert_allclose(gaps / eighth, np.round(gaps / eighth), atol=2 / eighth)  # on the grid
  w = int(0.02 * SR)
  rises = [10 * np.log10(np.sum(parts.drums[p:p + w] ** 2) / (np.sum(parts.drums[p - w:p] ** 2) + 1e-12))
           for p in parts.onsets if w <= p <= parts.drums.size - w]
  assert len(rises) >= 8 and np.median(rises) > 20.0  # energy jumps at each hit


@pytest.mark.parametrize("fields, word", [
    (dict(min_seconds=3.0, max_seconds=2.0), "min_seconds"),
    (dict(snr_db_low=5.0, snr_db_high=-5.0), "snr_db_low"),
    (dict(seed=-1), "seed"),
    (dict(sample_rate=16000.0), "sample_rate"),
    (dict(snr_db_low=float("nan")), "snr_db_low"),
])
def test_bad_spec_names_the_field(fields, word):
  with pytest.raises(ValueError, match=word):
    synmix.SynMixSpec(**fields)


def test_unknown_split():
  with pytest.raises(ValueError, match="split"):
    synmix.clip(SPEC, "dev", 0)
