"""BSS Eval (SDR/SIR/SAR + permutation), SI-SDR and NSDR against mir_eval and fast_bss_eval (test-only oracles)."""
from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest
from scipy import signal

from decompjax.data import simvowels
from decompjax.errors import ConfigError, DataError
from decompjax.metrics import bss_eval
from decompjax.metrics.bss_eval import bss_eval_sources, bss_eval_sources_framewise, gnsdr, nsdr
from decompjax.metrics.si_sdr import si_sdr

fast_bss_eval = pytest.importorskip("fast_bss_eval")
mir_sep = pytest.importorskip("mir_eval.separation")

SR = 16_000
TOL_DB = 0.01


def _mir(ref, est, compute_permutation=True):
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # mir_eval.separation is deprecated upstream
    return mir_sep.bss_eval_sources(ref, est, compute_permutation=compute_permutation)


def _max_diff(ours: dict, theirs) -> float:
  return max(float(np.max(np.abs(ours[k] - np.asarray(theirs[i])))) for i, k in enumerate(("sdr", "sir", "sar")))


def _music(rng, num: int) -> np.ndarray:
  """SynTone-style music: a 3-note chord of decaying harmonic tones plus noise-burst drums."""
  t = np.arange(num) / SR
  out = np.zeros(num)
  for f0 in rng.choice([196.0, 246.9, 293.7, 392.0, 493.9], 3, replace=False):
    env = np.exp(-2.0 * t) * np.minimum(1.0, t * 50)
    out += sum(env * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 6))
  for hit in rng.integers(0, num - 800, 4):
    out[hit:hit + 800] += 0.5 * rng.standard_normal(800) * np.exp(-np.arange(800) / 150)
  return out


def _voice(seed: int, num: int) -> np.ndarray:
  """A SimVowels utterance (glottal pulses through vowel formants, 15 dB noise) as the 'voice'."""
  spec = simvowels.SimVowelsSpec(seconds=num / SR, seed=seed)
  return simvowels.generate("test", 1, spec)["audio"][0].astype(np.float64)


def _separation(seed: int, seconds: float = 1.0):
  """Realistic-looking 2-source case: references (voice, music) and estimates that are filtered / delayed references
  with leakage and artifacts, returned in swapped order (estimate 0 = music)."""
  rng = np.random.default_rng(seed)
  num = int(seconds * SR)
  voice, music = _voice(seed, num), _music(rng, num)
  lowpass = signal.firwin(31, 5000, fs=SR)
  est_voice = np.roll(signal.lfilter(lowpass, 1.0, voice), 7) + 0.15 * music + 0.02 * rng.standard_normal(num)
  est_music = 0.9 * music + 0.1 * signal.lfilter([1.0, -0.5], 1.0, voice) + 0.01 * rng.standard_normal(num)
  return np.stack([voice, music]), np.stack([est_music, est_voice])


# --------------------------------------------------------------------------------------------- against the oracles
# Every jitted shape/option compiles once per process (seconds each), so the tests share a few: 2 tracks x 2 sources x
# 1 s (TRACKS) is the common one.
def _tracks():
  """Track 0: noise references with filtered leakage; track 1: voice/music with swapped estimates."""
  rng = np.random.default_rng(0)
  ref = rng.standard_normal((2, SR))
  est = np.stack([ref[1] + 0.3 * signal.lfilter(rng.standard_normal(20) * 0.2, 1.0, ref[0]),
                  ref[0] + 0.5 * ref[1]]) + 0.1 * rng.standard_normal((2, SR))
  ref2, est2 = _separation(1)
  return np.stack([ref, ref2]), np.stack([est, est2])


def _tones_track():
  """Pure stationary sines: a numerically singular Gram (eigenvalues ~1e-13 of the largest)."""
  rng = np.random.default_rng(3)
  t = np.arange(SR) / SR
  tones = lambda fs: sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in fs) * np.minimum(1, t * 20)
  ref = np.stack([tones([220, 330, 440]), tones([523, 659])])
  est = np.stack([ref[0] + 0.3 * ref[1] + 0.01 * rng.standard_normal(SR), 0.8 * np.roll(ref[1], 3) + 0.2 * ref[0]])
  return ref, est


def test_matches_mir_eval_and_recovers_the_permutation():
  refs, ests = _tracks()
  ours = bss_eval_sources(refs, ests)
  for i in range(2):
    theirs = _mir(refs[i], ests[i])
    track = {k: v[i] for k, v in ours.items()}
    assert _max_diff(track, theirs) < TOL_DB, (track, theirs)
    np.testing.assert_array_equal(track["perm"], theirs[3])
  np.testing.assert_array_equal(ours["perm"], [[1, 0], [1, 0]])  # both tracks' estimates come swapped
  # The same voice/music track with the estimates in reference order: identity perm, identical metrics.
  again = bss_eval_sources(np.stack([refs[1], refs[1]]), np.stack([ests[1], ests[1, ::-1]]))
  np.testing.assert_array_equal(again["perm"], [[1, 0], [0, 1]])
  for k in ("sdr", "sir", "sar"):
    np.testing.assert_allclose(again[k][1], ours[k][1], atol=1e-9)


def test_matches_fast_bss_eval_with_three_sources():
  rng = np.random.default_rng(2)
  ref = rng.standard_normal((3, 3, 4000))
  mix = np.eye(3) + 0.3 * rng.standard_normal((3, 3, 3))
  est = np.einsum("bij,bjt->bit", mix, ref) + 0.05 * rng.standard_normal(ref.shape)
  est = est[:, [2, 0, 1]]
  ours = bss_eval_sources(ref, est, batch_size=2)  # 3 tracks: the second chunk is padded
  sdr, sir, sar, perm = fast_bss_eval.bss_eval_sources(ref, est)
  assert _max_diff(ours, (sdr, sir, sar)) < TOL_DB
  np.testing.assert_array_equal(ours["perm"], np.broadcast_to([1, 2, 0], (3, 3)))
  np.testing.assert_array_equal(perm, ours["perm"])  # fast_bss_eval's perm has the same meaning here


def test_ill_conditioned_track_falls_back_to_dense_and_dense_equals_levinson():
  """The Levinson residual check sends the tones track to the dense LU, which matches mir_eval-equivalent
  fast_bss_eval; on the well-conditioned voice/music track both solvers agree to 1e-6 dB."""
  (refs, ests), (tone_ref, tone_est) = _tracks(), _tones_track()
  refs, ests = np.stack([tone_ref, refs[1]]), np.stack([tone_est, ests[1]])
  with jax.enable_x64(True):
    raw = bss_eval._bss_eval_jit(refs, ests, filter_length=512, compute_permutation=True, solver="levinson")
  residual = np.asarray(raw["residual"])
  assert residual[0] > bss_eval.LEVINSON_MAX_RESIDUAL["float64"] > residual[1]
  ours = bss_eval_sources(refs, ests)
  sdr, sir, sar, _ = fast_bss_eval.bss_eval_sources(tone_ref, tone_est)
  assert _max_diff({k: v[0] for k, v in ours.items()}, (sdr, sir, sar)) < TOL_DB
  dense = bss_eval_sources(refs[1], ests[1], solver="dense", batch_size=1)
  assert _max_diff({k: v[1] for k, v in ours.items()}, [dense[k] for k in ("sdr", "sir", "sar")]) < 1e-6


def test_float32_is_within_its_documented_bound():
  refs, ests = _tracks()
  f64, f32 = bss_eval_sources(refs, ests), bss_eval_sources(refs, ests, precision="float32")
  # SDR needs 1 - c_j, fine in float32; SAR needs 1 - c at c ~ 1 (SAR 20-30 dB), where float32 loses digits.
  for key, bound in (("sdr", 0.01), ("sir", 0.1), ("sar", 1.0)):
    assert np.max(np.abs(f32[key] - f64[key])) < bound, key
  np.testing.assert_array_equal(f32["perm"], f64["perm"])


def test_jax_core_is_jittable_and_batched_over_leading_axes():
  rng = np.random.default_rng(4)
  ref = rng.standard_normal((2, 2, 2, 1500))
  est = ref[..., ::-1, :] + 0.2 * ref + 0.1 * rng.standard_normal(ref.shape)
  fn = jax.jit(lambda r, e: bss_eval.bss_eval_sources_jax(r, e, filter_length=64))
  out = jax.device_get(fn(ref.astype(np.float32), est.astype(np.float32)))
  assert out["sdr"].shape == (2, 2, 2) and out["sdr"].dtype == np.float32
  sdr, sir, sar, perm = fast_bss_eval.bss_eval_sources(ref, est, filter_length=64)
  assert _max_diff(out, (sdr, sir, sar)) < 0.05  # float32
  np.testing.assert_array_equal(out["perm"], perm)
  np.testing.assert_array_equal(out["perm"], np.broadcast_to([1, 0], (2, 2, 2)))


# ----------------------------------------------------------------------------------------------------- baselines
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # fast_bss_eval's SAR of the mixture is inf
def test_nsdr_is_zero_for_the_mixture_and_matches_the_oracle_baseline():
  refs, ests = _tracks()
  mixtures = refs.sum(1)
  out = nsdr(refs, ests, mixtures)
  for i in range(2):
    mix_est = np.stack([mixtures[i], mixtures[i]])
    np.testing.assert_allclose(out["sdr_mixture"][i], fast_bss_eval.bss_eval_sources(refs[i], mix_est)[0],
                               atol=TOL_DB)
  np.testing.assert_allclose(out["nsdr"], out["sdr"] - out["sdr_mixture"])
  assert np.all(out["nsdr"] > 0)  # the estimates beat the mixture
  same = nsdr(refs, np.stack([refs.sum(1)] * 2, axis=1), mixtures)
  np.testing.assert_allclose(same["nsdr"], 0.0, atol=1e-9)
  np.testing.assert_allclose(gnsdr([[1.0, 2.0], [3.0, 6.0]], [1, 3]), [2.5, 5.0])


def test_framewise_matches_per_frame_and_marks_silent_frames():
  ref, est = _separation(6, seconds=2.0)
  ref[1, SR:] = 0.0  # music silent in the last frame; the two others run as one [2, 2, 1 s] batch (shared compile)
  out = bss_eval_sources_framewise(ref, est, window=SR, hop=SR // 2, batch_size=2)
  assert out["sdr"].shape == (2, 3)
  for frame in (0, 1):
    sl = slice(frame * SR // 2, frame * SR // 2 + SR)
    sdr, sir, sar, perm = fast_bss_eval.bss_eval_sources(ref[:, sl], est[:, sl])
    assert _max_diff({k: v[:, frame] for k, v in out.items()}, (sdr, sir, sar)) < TOL_DB
    np.testing.assert_array_equal(out["perm"][:, frame], perm)
  assert np.all(np.isnan(out["sdr"][:, 2])) and np.all(out["perm"][:, 2] == -1)


# ------------------------------------------------------------------------------------------------------- SI-SDR
def test_si_sdr_analytic_cases():
  rng = np.random.default_rng(7)
  ref = rng.standard_normal((2, 8000))
  assert np.allclose(si_sdr(ref, 3.0 * ref), 100.0)  # a scaled copy hits the cap, not inf/NaN
  noise = rng.standard_normal((2, 8000))
  noise -= (np.sum(noise * ref, -1, keepdims=True) / np.sum(ref * ref, -1, keepdims=True)) * ref  # orthogonal
  for snr in (-5.0, 0.0, 12.5):
    scale = np.sqrt(np.sum(ref ** 2, -1) / np.sum(noise ** 2, -1) / 10 ** (snr / 10))[:, None]
    est = ref + scale * noise
    np.testing.assert_allclose(si_sdr(ref, est), snr, atol=1e-9)
    np.testing.assert_allclose(si_sdr(ref, -0.1 * est), snr, atol=1e-9)  # gain does not matter
  assert si_sdr(ref[0], ref[0] + 1.0, zero_mean=True) == pytest.approx(100.0)  # an offset is ignored with zero_mean
  assert si_sdr(ref[0], ref[0] + 1.0) < 10.0
  assert si_sdr(ref[0], noise[0]) < -200.0  # orthogonal estimate: no target component (-inf if exact)


# ------------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("fn", [bss_eval_sources, si_sdr])
def test_bad_inputs_raise_data_errors(fn):
  rng = np.random.default_rng(8)
  ref = rng.standard_normal((2, 1000))
  with pytest.raises(DataError, match="shape"):
    fn(ref, ref[:, :999])
  silent = ref.copy()
  silent[1] = 0.0
  with pytest.raises(DataError, match="reference source at index \\(1,\\)"):
    fn(silent, ref)
  with pytest.raises(DataError, match="estimate source at index \\(1,\\)"):
    fn(ref, silent)
  bad = ref.copy()
  bad[0, 3] = np.nan
  with pytest.raises(DataError, match="NaN"):
    fn(ref, bad)


def test_bad_options_raise():
  ref = np.random.default_rng(9).standard_normal((2, 600))
  with pytest.raises(DataError, match="filter_length=1024 is longer"):
    bss_eval_sources(ref, ref, filter_length=1024)
  with pytest.raises(ConfigError, match="precision"):
    bss_eval_sources(ref, ref, precision="float16")
  with pytest.raises(ConfigError, match="solver"):
    bss_eval_sources(ref, ref, solver="cg")
  with pytest.raises(DataError, match="mixture shape"):
    nsdr(ref, ref, ref)
