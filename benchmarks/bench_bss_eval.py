"""Benchmark: BSS Eval v3 throughput (tracks/s), decompjax (JAX, block Levinson, float64) vs mir_eval vs fast_bss_eval.

Tracks: 2 sources (a SimVowels voice and a chord of decaying harmonic tones), SECONDS long at 16 kHz, estimates =
delayed low-passed sources with leakage and noise, in swapped order (so the permutation search matters). All three
tools score the same tracks with 512-tap filters and permutation matching. Rounds alternate the tools (ours on the
whole batch, jitted; the others track by track) so load changes hit all of them alike; tracks/s is reported as
min / median / max over rounds, plus the largest |difference| in dB of ours and fast_bss_eval vs mir_eval. Our
compile time (first call) is reported apart.

Run: `python -m benchmarks.bench_bss_eval [--tracks N] [--seconds S] [--rounds R]`; `run()` returns rows
{name, value, unit} for `make bench`.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from scipy import signal

from decompjax.data import simvowels
from decompjax.metrics.bss_eval import bss_eval_sources

SR = 16_000
TRACKS, SECONDS, ROUNDS, MIR_TRACKS = 8, 2.0, 3, 2


def make_tracks(num_tracks: int, seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """[N, 2, T] references (voice, music) and swapped, distorted estimates."""
  rng = np.random.default_rng(seed)
  num = int(seconds * SR)
  t = np.arange(num) / SR
  voices = simvowels.generate("test", num_tracks, simvowels.SimVowelsSpec(seconds=seconds, seed=seed))["audio"]
  refs, ests = [], []
  for voice in voices.astype(np.float64):
    f0s = rng.choice([196.0, 246.9, 293.7, 392.0, 493.9], 3, replace=False)
    music = sum(np.exp(-t) * np.sin(2 * np.pi * k * f0 * t) / k for f0 in f0s for k in range(1, 6))
    est_voice = np.roll(signal.lfilter(signal.firwin(31, 5000, fs=SR), 1.0, voice), 5) + 0.2 * music
    est_music = music + 0.1 * voice
    refs.append([voice, music])
    ests.append([est_music, est_voice] + 0.02 * rng.standard_normal((2, num)))
  return np.asarray(refs), np.asarray(ests)


def _timed(fn):
  start = time.perf_counter()
  out = fn()
  return time.perf_counter() - start, out


def run(num_tracks: int = TRACKS, seconds: float = SECONDS, rounds: int = ROUNDS,
        mir_tracks: int = MIR_TRACKS) -> list[dict]:
  import fast_bss_eval  # pylint: disable=g-import-not-at-top  (benchmark-only oracles)
  import mir_eval.separation  # pylint: disable=g-import-not-at-top
  warnings.filterwarnings("ignore", category=FutureWarning)  # mir_eval.separation is deprecated upstream
  warnings.filterwarnings("ignore", category=DeprecationWarning)
  refs, ests = make_tracks(num_tracks, seconds)
  compile_s, _ = _timed(lambda: bss_eval_sources(refs, ests, batch_size=num_tracks))
  rates = {"decompjax": [], "fast_bss_eval": [], "mir_eval": []}
  results = {}
  for _ in range(rounds):
    dt, results["decompjax"] = _timed(lambda: bss_eval_sources(refs, ests, batch_size=num_tracks))
    rates["decompjax"].append(num_tracks / dt)
    dt, results["fast_bss_eval"] = _timed(lambda: [fast_bss_eval.bss_eval_sources(r, e) for r, e in zip(refs, ests)])
    rates["fast_bss_eval"].append(num_tracks / dt)
    # mir_eval is ~1 s per track: time it on the first mir_tracks only.
    dt, results["mir_eval"] = _timed(lambda: [mir_eval.separation.bss_eval_sources(r, e)
                                              for r, e in zip(refs[:mir_tracks], ests[:mir_tracks])])
    rates["mir_eval"].append(mir_tracks / dt)
  mir = np.asarray([m[:3] for m in results["mir_eval"]])  # [n, 3, S]
  ours = np.stack([results["decompjax"][k][:mir_tracks] for k in ("sdr", "sir", "sar")], 1)
  fast = np.asarray([f[:3] for f in results["fast_bss_eval"][:mir_tracks]])
  rows = [{"name": "bss_eval/config", "value": f"tracks={num_tracks} sources=2 seconds={seconds} sr={SR} filter=512 "
                                              f"rounds={rounds} mir_eval_tracks={mir_tracks}", "unit": ""},
          {"name": "bss_eval/cpu_count", "value": os.cpu_count(), "unit": "cores"},
          {"name": "bss_eval/platform", "value": platform.processor() or platform.machine(), "unit": ""},
          {"name": "bss_eval/decompjax_compile", "value": round(compile_s, 2), "unit": "s"}]
  for tool, vals in rates.items():
    for stat, fn in (("min", np.min), ("median", np.median), ("max", np.max)):
      rows.append({"name": f"bss_eval/{tool}_{stat}", "value": round(float(fn(vals)), 3), "unit": "tracks/s"})
  med = {tool: float(np.median(vals)) for tool, vals in rates.items()}
  rows.append({"name": "bss_eval/speedup_vs_mir_eval", "value": round(med["decompjax"] / med["mir_eval"], 1),
               "unit": "x"})
  rows.append({"name": "bss_eval/speedup_vs_fast_bss_eval", "value": round(med["decompjax"] / med["fast_bss_eval"], 1),
               "unit": "x"})
  rows.append({"name": "bss_eval/max_abs_diff_vs_mir_eval", "value": float(f"{np.max(np.abs(ours - mir)):.2e}"),
               "unit": "dB"})
  rows.append({"name": "bss_eval/fast_bss_eval_max_abs_diff_vs_mir_eval",
               "value": float(f"{np.max(np.abs(fast - mir)):.2e}"), "unit": "dB"})
  perms_equal = all(np.array_equal(results["decompjax"]["perm"][i], results["mir_eval"][i][3])
                    for i in range(mir_tracks))
  rows.append({"name": "bss_eval/perm_equal_to_mir_eval", "value": perms_equal, "unit": ""})
  return rows


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tracks", type=int, default=TRACKS)
  parser.add_argument("--seconds", type=float, default=SECONDS)
  parser.add_argument("--rounds", type=int, default=ROUNDS)
  parser.add_argument("--mir_tracks", type=int, default=MIR_TRACKS)
  args = parser.parse_args()
  results = run(args.tracks, args.seconds, args.rounds, min(args.mir_tracks, args.tracks))
  width = max(len(r["name"]) for r in results)
  print(f"{'name':<{width}}  {'value':>14}  unit")
  for r in results:
    print(f"{r['name']:<{width}}  {str(r['value']):>14}  {r['unit']}")


if __name__ == "__main__":
  main()
