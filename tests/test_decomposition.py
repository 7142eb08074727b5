"""decompjax.decomposition on signals with known components (tones, a chirp), edge cases, grouping and quality.

Bounds stated per method, for 400-sample frames at 16 kHz with three components and 1% noise:
  centre frequency within 5% + 20 Hz of the true one, components ordered low -> high;
  NRMSE of (components + remainder) vs the frame: EWT < 0.05 (Meyer filters are a tight frame, not a partition
  of unity, so the modes incl. the dropped one sum to the frame only approximately), VMD < 0.05, EMD ~ 0 (exact
  by construction), FD < 0.2 (band-pass edges and the out-of-band part).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from decompjax import decomposition as D
from decompjax.decomposition import ewt, fd, grouping, peaks, quality
from decompjax.errors import ConfigError, DataError

SR = 16_000
T = np.arange(400) / SR
METHODS = ("fd", "ewt", "vmd", "emd")
NRMSE_BOUND = {"fd": 0.2, "ewt": 0.05, "vmd": 0.05, "emd": 1e-6}


def tones(freqs, amps=(1.0, 0.7, 0.5), noise=0.01, seed=0):
  rng = np.random.default_rng(seed)
  x = sum(a * np.sin(2 * np.pi * f * T + i) for i, (f, a) in enumerate(zip(freqs, amps)))
  return x + noise * rng.standard_normal(len(T))


def cfg_for(method, **kw):
  cfg = D.default_config()
  cfg.method = method
  cfg.vmd.init = 1  # deterministic uniform start; random starts can merge two tones (the original's "correction")
  for k, v in kw.items():
    setattr(cfg, k, v)
  return cfg


def near(found, true):
  return abs(found - true) < 0.05 * true + 20.0


@pytest.mark.parametrize("method", METHODS)
def test_tones_and_chirp_recovered_low_to_high(method):
  chirp = signal.chirp(T, 200, T[-1], 600) + 0.7 * np.sin(2 * np.pi * 1800 * T) + 0.5 * np.sin(2 * np.pi * 3500 * T + 1)
  frames = np.stack([tones((300, 1200, 3000)), tones((400, 1600, 3500), seed=1), chirp])
  dec = D.decompose_frames(frames, cfg_for(method))
  assert dec.components.shape == (3, 3, 400) and dec.components.dtype == np.float32
  assert dec.component_mask.all() and dec.frame_ok.all()
  for row, truth in zip(dec.centre_freqs, [(300, 1200, 3000), (400, 1600, 3500), (400, 1800, 3500)]):
    assert np.all(np.diff(row) > 0), row
    assert all(near(f, t) for f, t in zip(row, truth)), (row, truth)
  assert 200 <= dec.centre_freqs[2, 0] <= 620  # the chirp's sweep
  q = D.frame_quality(frames, dec)
  assert q["nrmse"]["max"] < NRMSE_BOUND[method], q["nrmse"]
  if method == "ewt":  # the dropped lowest mode is needed to explain the frame
    assert q["nrmse_components"]["max"] > q["nrmse"]["max"]


@pytest.mark.parametrize("method", METHODS)
def test_silent_frame_unusable_without_nan(method):
  frames = np.stack([tones((300, 1200, 3000)), np.zeros(400)])
  dec = D.decompose_frames(frames, cfg_for(method))
  assert dec.frame_ok.tolist() == [True, False]
  assert not dec.component_mask[1].any()
  for a in (dec.components, dec.remainder):
    assert np.isfinite(a).all()
  assert np.isnan(dec.centre_freqs[1]).all()
  assert np.all(dec.components[1] == 0)


@pytest.mark.parametrize("method", ("fd", "ewt"))
def test_nan_frame_is_a_data_error_naming_it(method):
  frames = np.stack([tones((300, 1200, 3000))] * 3)
  frames[1, 17] = np.nan
  with pytest.raises(DataError, match="frame index 1"):
    D.decompose_frames(frames, cfg_for(method))
  with pytest.raises(DataError, match="sample index 17"):
    D.decompose_sequence(frames[1], cfg_for(method))
  with pytest.raises(DataError, match=r"\[F, D\]"):
    D.decompose_frames(frames[0], cfg_for(method))


def test_fewer_components_zero_filled_in_matching_slots():
  x = tones((2500,), amps=(1.0,))  # one tone -> one FD band; equal slot bands 0-1667-3333-5000 Hz
  dec = D.decompose_frames(x[None], cfg_for("fd"))
  assert dec.component_mask.tolist() == [[False, True, False]]
  assert np.all(dec.components[0, [0, 2]] == 0) and np.abs(dec.components[0, 1]).max() > 0.5
  assert near(dec.centre_freqs[0, 1], 2500) and np.isnan(dec.centre_freqs[0, [0, 2]]).all()
  cfg = cfg_for("fd", freq_groups=(0.0, 3000.0, 4000.0, 8000.0))  # explicit slot bands move it to OC1
  assert D.decompose_frames(x[None], cfg).component_mask.tolist() == [[True, False, False]]


def test_more_components_are_grouped():
  x = tones((300, 900, 1700, 2600, 3600), amps=(1, .9, .8, .7, .6))
  cfg = cfg_for("fd")
  raw, valid, _ = fd.fd(x[None], cfg, SR)
  assert valid.sum() == 5
  for how, sizes in (("equally_distribute", [2, 2, 1]), ("high_freqs_first", [3, 1, 1]),
                     ("low_freqs_first", [1, 1, 3])):
    cfg.grouping = how
    dec = D.decompose_frames(x[None], cfg)
    assert dec.component_mask.all()
    bounds = np.cumsum([0] + sizes)
    want = np.stack([raw[0, a:b].sum(0) for a, b in zip(bounds[:-1], bounds[1:])])
    np.testing.assert_allclose(dec.components[0], want, atol=1e-5)


def test_merge_groups_rules():
  assert grouping.merge_groups(4, 3, "equally_distribute") == [[0], [1], [2, 3]]
  assert grouping.merge_groups(7, 3, "equally_distribute") == [[0, 1], [2, 3], [4, 5, 6]]
  assert grouping.merge_groups(8, 5, "equally_distribute") == [[0], [1], [2], [3], [4, 5, 6, 7]]  # clamped
  assert grouping.merge_groups(5, 3, "high_freqs_first") == [[0, 1, 2], [3], [4]]
  assert grouping.merge_groups(5, 3, "low_freqs_first") == [[0], [1], [2, 3, 4]]
  for n in range(2, 14):
    for c in range(1, n):
      for how in ("equally_distribute", "high_freqs_first", "low_freqs_first"):
        groups = grouping.merge_groups(n, c, how)
        assert len(groups) == c and sum(groups, []) == list(range(n)), (n, c, how)


def test_vmd_random_init_is_seeded():
  frames = np.stack([tones((300, 1200, 3000)), tones((500, 2000, 3300), seed=2)])
  cfg = cfg_for("vmd")
  cfg.vmd.init = 2
  a = D.decompose_frames(frames, cfg, seed=3)
  b = D.decompose_frames(frames, cfg, seed=3)
  np.testing.assert_array_equal(a.components, b.components)
  assert np.all(np.diff(a.centre_freqs, axis=1) > 0)


def test_emd_components_plus_remainder_are_the_frame():
  x = tones((300, 1200, 3000)) + 0.3  # an offset: the mean goes to the remainder
  dec = D.decompose_frames(x[None], cfg_for("emd"))
  np.testing.assert_allclose(dec.components[0].sum(0) + dec.remainder[0], x, atol=1e-5)


def test_sequence_and_utterance_levels():
  from decompjax.data import simvowels
  audio = simvowels.generate("train", 1, simvowels.SimVowelsSpec(seconds=0.2))["audio"][0]
  cfg = cfg_for("ewt", noc_seq=4)
  frames, fdec, sdec = D.decompose_utterance(audio, cfg)
  assert frames.shape == (9, 400) and fdec.components.shape == (9, 3, 400) and fdec.frame_ok.all()
  assert sdec.components.shape == (4, 3200) and sdec.component_mask.shape == (4,) and sdec.ok
  cfg.frame_level = False
  assert D.decompose_utterance(audio, cfg)[1] is None


def test_frame_signal_and_notch():
  x = np.arange(64000, dtype=np.float32)
  frames = D.frame_signal(x)
  assert frames.shape == (199, 400) and frames[1, 0] == 320 and frames[-1, -1] == 198 * 320 + 399
  with pytest.raises(DataError, match="shorter than one frame"):
    D.frame_signal(np.zeros(100))
  t = np.arange(16000) / SR
  hum, tone = np.sin(2 * np.pi * 62 * t), np.sin(2 * np.pi * 1000 * t)
  out = D.notch(hum + tone, SR)[2000:-2000]
  assert np.std(out - tone[2000:-2000]) < 0.05 * np.std(hum)  # the hum is gone (> 26 dB down)


def test_config_check_names_the_field():
  cfg = D.default_config()
  cfg.method = "wavelet"
  with pytest.raises(ConfigError, match="decomp.method='wavelet'"):
    D.decompose_frames(np.ones((1, 400)), cfg)
  cfg = D.default_config()
  cfg.vmd.init = 5
  with pytest.raises(ConfigError, match="decomp.vmd.init=5"):
    D.decompose_frames(np.ones((1, 400)), cfg)
  assert D.timit_config().noc == 4


def test_batched_filters_match_scipy():
  rng = np.random.default_rng(0)
  x = rng.standard_normal((3, 400))
  sos, zi = fd._design(300.0, 500.0, 2, SR)
  got = fd.sosfiltfilt_rows(np.repeat(sos[None], 3, 0), np.repeat(zi[None], 3, 0), x)
  np.testing.assert_allclose(got, signal.sosfiltfilt(sos, x, axis=-1), atol=1e-6)
  h = ewt._reg_kernel("gaussian", 10, 2.0)
  np.testing.assert_allclose(ewt._conv_same(x, h)[1], np.convolve(x[1], h, mode="same"), atol=1e-12)


def test_peak_intervals_and_bands():
  cfg = D.default_config()
  edges = peaks.interval_edges(cfg)
  assert edges[0] == cfg.lower_speech_freq and edges[-1] == cfg.higher_speech_freq and np.all(np.diff(edges) > 0)
  bands = peaks.peak_bands(np.array([1000.0, 1150.0, 3000.0]), 200.0, SR)
  np.testing.assert_allclose(bands, [[900.0, 1250.0], [2900.0, 3100.0]])  # the two close peaks merged


def test_quality_summary_and_figures(tmp_path):
  frames = np.stack([tones((300, 1200, 3000)), tones((400, 1600, 3500), seed=1), np.zeros(400)])
  dec = D.decompose_frames(frames, cfg_for("ewt"))
  q = D.frame_quality(frames, dec)
  json.dumps(q)
  assert q["frames"] == 3 and q["frames_ok"] == 2
  corr = np.array(q["abs_corr"], float)
  np.testing.assert_allclose(np.diag(corr), 1.0, atol=1e-6)
  assert q["abs_corr_offdiag_mean"] < 0.3  # separated tones are nearly uncorrelated
  assert abs(q["centre_freq_hz"]["OC2"]["mean"] - 1400) < 100
  paths = D.write_quality(str(tmp_path), frames, dec, "ewt")
  assert [p.rsplit("/", 1)[1] for p in paths] == ["ewt_quality.json", "ewt_correlogram.png",
                                                 "ewt_centre_freqs.png", "ewt_example_frame.png"]
  assert json.load(open(paths[0]))["frames_ok"] == 2
  assert quality.correlogram(dec.components, dec.component_mask).shape == (3, 3)
