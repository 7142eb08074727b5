"""Our EWT / VMD / EMD against the reference packages (test-only oracles) on real SimVowels frames.

Tolerances, and why they are not exact zero:
  EWT vs ewtpy.EWT1D (N = noc+1, gaussian reg 10/2, locmax, completion): boundaries to 1e-12 rad, all N modes to
    1e-8 (same arithmetic, different summation order).
  VMD vs vmdpy.VMD (alpha 1500, tau 0, K 3, DC off, init 1 = the deterministic start, tol 1e-8): modes to 1e-4 of
    the frame's range and centre frequencies to 1e-5 cycles/sample (we iterate only the positive half-spectrum,
    in XLA's float64, and sort the modes by frequency; vmdpy does not sort).
  EMD vs PyEMD.EMD (pchip, simple extrema, DecVAE thresholds, max_imf = noc): IMFs to 1e-8; PyEMD's residue row
    equals our remainder minus the frame mean.
  FD has no package: its batched filter is checked against scipy.signal.sosfiltfilt per (frame, band).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from decompjax import decomposition as D
from decompjax.decomposition import emd, ewt, fd, peaks, vmd


@pytest.fixture(scope="module")
def frames():
  from decompjax.data import simvowels
  audio = simvowels.generate("train", 2, simvowels.SimVowelsSpec(seconds=0.1))["audio"].astype(np.float64)
  audio = (audio - audio.mean(1, keepdims=True)) / audio.std(1, keepdims=True)  # the pipeline's normalisation
  return np.concatenate([D.frame_signal(D.notch(a).astype(np.float64)) for a in audio])  # [8, 400]


def test_ewt_matches_ewtpy(frames):
  ewtpy = pytest.importorskip("ewtpy")
  cfg = D.default_config()
  modes, bounds = ewt.ewt_modes(frames, cfg.noc + 1, cfg)
  for f, x in enumerate(frames):
    ref, _, ref_bounds = ewtpy.EWT1D(x, N=cfg.noc + 1, log=0, detect="locmax", completion=1, reg="gaussian",
                                     lengthFilter=10, sigmaFilter=2)
    np.testing.assert_allclose(bounds[f], ref_bounds, atol=1e-12)
    np.testing.assert_allclose(modes[f], ref.T, atol=1e-8)
  # The API keeps modes 1..N-1 (a mode under spec_amp_tol is dropped into the remainder, the others keep their
  # order) and the lowest mode as remainder.
  dec = D.decompose_frames(frames, cfg)
  _, psd = peaks.welch_psd(modes[:, 1:], 16_000)
  kept = psd.max(-1) >= cfg.spec_amp_tol
  assert (~kept).any() and kept.any(axis=1).all()  # these frames exercise the drop
  for f in range(len(frames)):
    np.testing.assert_allclose(dec.components[f][dec.component_mask[f]], modes[f, 1:][kept[f]], atol=1e-5)
    np.testing.assert_allclose(dec.remainder[f], modes[f, 0] + modes[f, 1:][~kept[f]].sum(0), atol=1e-5)


def test_vmd_matches_vmdpy(frames):
  vmdpy = pytest.importorskip("vmdpy")
  cfg = D.default_config()
  cfg.vmd.init = 1
  x = frames[:3]
  modes, _, _, omega = vmd.vmd(x, cfg, 3)
  for f in range(len(x)):
    u, _, om = vmdpy.VMD(x[f], 1500.0, 0.0, 3, False, 1, 1e-8)
    order = np.argsort(om[-1])
    np.testing.assert_allclose(omega[f], om[-1][order], atol=1e-5)
    np.testing.assert_allclose(modes[f], u[order], atol=1e-4 * np.ptp(x[f]))


def test_emd_matches_pyemd(frames):
  pyemd = pytest.importorskip("PyEMD")
  cfg = D.default_config()
  e = cfg.emd
  ref_emd = pyemd.EMD(spline_kind="pchip", MAX_ITERATION=e.max_iteration, energy_ratio_thr=e.energy_ratio_thr,
                      std_thr=e.std_thr, svar_thr=e.svar_thr, total_power_thr=e.total_power_thr,
                      range_thr=e.range_thr, extrema_detection="simple")
  x = frames[:4]
  comps, valid, remainder = emd.emd(x, cfg, cfg.noc)
  for f in range(len(x)):
    ref = ref_emd.emd(x[f] - x[f].mean(), max_imf=cfg.noc)
    n = int(valid[f].sum())
    np.testing.assert_allclose(comps[f, :n][::-1], ref[:n], atol=1e-8)
    np.testing.assert_allclose(remainder[f] - x[f].mean(), ref[n] if len(ref) > n else 0.0, atol=1e-8)


def test_fd_filters_match_scipy_per_band(frames):
  cfg = D.default_config()
  comps, valid, _ = fd.fd(frames, cfg)
  for f, bands in enumerate(peaks.frame_bands(frames, cfg, 16_000)):
    assert valid[f].sum() == len(bands) > 0
    for k, (lo, hi) in enumerate(bands):
      sos = signal.butter(cfg.buttord, [lo, hi], btype="bandpass", fs=16_000, output="sos")
      np.testing.assert_allclose(comps[f, k], signal.sosfiltfilt(sos, frames[f]), atol=1e-6)
