"""Benchmark: decomposition throughput (frames/s) per method, ours vs the reference package on the same frames.

Frames: a SimVowels 4 s clip (normalised, notched) cut into 25 ms frames (400 samples, hop 320), NoC 3, the
SimVowels defaults of decompjax.decomposition.config. Ours = `decompose_frames` on all frames at once (the whole
API: decomposition + grouping + masks). Reference, per frame, raw decomposition only:
  fd   a per-frame scipy transcription of the original (Welch, find_peaks per interval, butter + sosfiltfilt per
       band, no caching) -- no package implements FD;
  ewt  ewtpy.EWT1D (N = NoC+1, gaussian reg, locmax, completion);
  vmd  vmdpy.VMD (alpha 1500, tau 0, K 3, init 1 on both sides so both do the same iterations, tol 1e-8);
  emd  PyEMD.EMD (pchip, simple extrema, DecVAE thresholds, max_imf 3).
Ours and the reference alternate, REPEATS rounds; the table gives min / median / max frames/s of each and the
ratio of medians. JAX's VMD compile is excluded (one warm-up call), and reported on its own row.

Run: `python -m benchmarks.bench_decomposition` (prints a table); `run()` returns rows {name, value, unit}.
"""
from __future__ import annotations

import time

import numpy as np

from decompjax import decomposition as D
from decompjax.decomposition import peaks

REPEATS = 3
FRAMES = {"fd": 199, "ewt": 199, "vmd": 199, "emd": 49}  # 199 = one 4 s utterance (the prepare unit)


def _frames(n: int) -> np.ndarray:
  """The first n frames of SimVowels 4 s clips (199 frames each), normalised and notched as prepare does."""
  from decompjax.data import simvowels
  clips = -(-n // 199)
  audio = simvowels.generate("train", clips, simvowels.SimVowelsSpec(seconds=4.0))["audio"].astype(np.float64)
  audio = (audio - audio.mean(1, keepdims=True)) / audio.std(1, keepdims=True)
  return np.concatenate([D.frame_signal(D.notch(a).astype(np.float64)) for a in audio])[:n]


def _fd_reference(frames: np.ndarray, cfg) -> None:
  from scipy import signal
  edges = peaks.interval_edges(cfg)
  for x in frames:
    freqs, psd = signal.welch(x - x.mean(), fs=16_000, window="hann", nperseg=132, noverlap=10, nfft=512)
    psd = psd / psd.max()
    found = []
    for lo, hi in zip(edges[:-1], edges[1:]):
      idx = np.flatnonzero((freqs >= lo) & (freqs < hi))
      seg = psd[idx]
      if seg.size < 3 or seg.max() < cfg.global_thres:
        continue
      pk, _ = signal.find_peaks(seg, distance=5, prominence=cfg.prom_thres * seg.max())
      found.extend(freqs[idx[pk[np.argsort(seg[pk])[::-1][:cfg.n_peaks]]]])
    for lo, hi in peaks.peak_bands(np.sort(np.asarray(found)), cfg.peak_bandwidth, 16_000):
      sos = signal.butter(cfg.buttord, [lo, hi], btype="bandpass", fs=16_000, output="sos")
      signal.sosfiltfilt(sos, x)


def _reference(method: str, cfg):
  if method == "fd":
    return lambda frames: _fd_reference(frames, cfg)
  if method == "ewt":
    import ewtpy
    return lambda frames: [ewtpy.EWT1D(x, N=cfg.noc + 1, log=0, detect="locmax", completion=1, reg="gaussian",
                                       lengthFilter=10, sigmaFilter=2)[0][:, 1:] for x in frames]
  if method == "vmd":
    import vmdpy
    return lambda frames: [vmdpy.VMD(x, cfg.vmd.alpha, cfg.vmd.tau, cfg.noc, False, 1, cfg.vmd.tol) for x in frames]
  import PyEMD
  e = cfg.emd
  emd = PyEMD.EMD(spline_kind="pchip", MAX_ITERATION=e.max_iteration, energy_ratio_thr=e.energy_ratio_thr,
                  std_thr=e.std_thr, svar_thr=e.svar_thr, total_power_thr=e.total_power_thr, range_thr=e.range_thr,
                  extrema_detection="simple")
  return lambda frames: [emd.emd(x - x.mean(), max_imf=cfg.noc) for x in frames]


def _rate(fn, frames) -> float:
  start = time.perf_counter()
  fn(frames)
  return len(frames) / (time.perf_counter() - start)


def run(methods=("fd", "ewt", "vmd", "emd")) -> list[dict]:
  import os
  import platform
  rows = [{"name": "decomp/config", "value": "SimVowels 400-sample frames, NoC 3, SimVowels defaults", "unit": ""},
          {"name": "decomp/cpu", "value": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
           "unit": ""}]
  for method in methods:
    cfg = D.default_config()
    cfg.method = method
    cfg.vmd.init = 1
    frames = _frames(FRAMES[method])
    ours = lambda f, cfg=cfg: D.decompose_frames(f, cfg)  # noqa: E731
    ref = _reference(method, cfg)
    start = time.perf_counter()
    ours(frames)  # warm-up: JAX compile (VMD), filter-design caches
    warm = time.perf_counter() - start
    a, b = [], []
    for _ in range(REPEATS):  # alternate, so both see the same machine load
      a.append(_rate(ours, frames))
      b.append(_rate(ref, frames))
    rows += [{"name": f"decomp/{method}/frames", "value": len(frames), "unit": "frames"},
             {"name": f"decomp/{method}/ours_first_call", "value": round(warm, 3), "unit": "s"},
             {"name": f"decomp/{method}/ours", "value": "/".join(f"{v:.0f}" for v in (min(a), np.median(a), max(a))),
              "unit": "frames/s min/med/max"},
             {"name": f"decomp/{method}/reference", "value": "/".join(f"{v:.1f}" for v in (min(b), np.median(b),
                                                                                            max(b))),
              "unit": "frames/s min/med/max"},
             {"name": f"decomp/{method}/speedup", "value": round(float(np.median(a) / np.median(b)), 1),
              "unit": "x (median)"}]
  return rows


def main() -> None:
  import sys
  rows = run(tuple(sys.argv[1:]) or ("fd", "ewt", "vmd", "emd"))
  for row in rows:
    print(f"{row['name']:<32} {row['value']!s:>40} {row['unit']}")


if __name__ == "__main__":
  main()
