"""Benchmark: SynTone model-input throughput, jitted batched JAX mel front end vs per-clip librosa.

Input: 64 one-second 16 kHz SynTone clips (a fixed random subset of the default 32k grid), default MelSpec
(n_fft 2048, hop 512, 128 mels -> 128 x 32). JAX: `jax.jit(frontend)` on the whole [64, 16000] batch on the default
backend, compile excluded (one warm-up call), best of REPEATS timed calls with block_until_ready. librosa: the
original's per-clip path (melspectrogram + util.normalize), best of REPEATS passes over the 64 clips. Also reports the
numpy generator's synthesis rate.

Run: `python -m benchmarks.bench_mel` (prints a table); `run()` returns rows {name, value, unit}.
"""
from __future__ import annotations

import os
import platform
import time

import jax
import numpy as np

from decompjax.audio import mel
from decompjax.data import syntone

from benchmarks.timing import best_of

BATCH = 64
REPEATS = 5  # best_of default




def run() -> list[dict]:
  grid, spec = syntone.SynToneGrid(), mel.MelSpec()
  idx = np.random.default_rng(0).choice(grid.num_examples, BATCH, replace=False)
  synth_s = best_of(lambda: syntone.synthesize(grid, idx), repeats=2)
  clips = syntone.synthesize(grid, idx)
  rows = [{"name": "mel/config", "value": f"batch={BATCH} T={grid.num_samples} n_fft={spec.n_fft} "
                                          f"hop={spec.hop_length} n_mels={spec.n_mels}", "unit": ""},
          {"name": "mel/backend", "value": f"{jax.default_backend()} ({jax.devices()[0].device_kind})", "unit": ""},
          {"name": "mel/cpu_count", "value": os.cpu_count(), "unit": "cores"},
          {"name": "mel/platform", "value": platform.processor() or platform.machine(), "unit": ""},
          {"name": "syntone/synthesize_numpy", "value": round(BATCH / synth_s, 1), "unit": "clips/s"}]

  device_clips = jax.device_put(clips)
  for mode in mel.FRONTEND_MODES:
    fn = jax.jit(lambda x, mode=mode: mel.frontend(x, spec, mode))
    start = time.perf_counter()
    fn(device_clips).block_until_ready()
    compile_s = time.perf_counter() - start
    run_s = best_of(lambda: fn(device_clips).block_until_ready(), REPEATS)
    rows.append({"name": f"mel/jax_jit_{mode}_compile", "value": round(compile_s, 3), "unit": "s"})
    rows.append({"name": f"mel/jax_jit_{mode}_b{BATCH}", "value": round(BATCH / run_s, 1), "unit": "clips/s"})

  import librosa

  def librosa_pass():
    for x in clips:
      librosa.util.normalize(librosa.feature.melspectrogram(y=x, sr=spec.sample_rate, n_fft=spec.n_fft,
                                                            hop_length=spec.hop_length, n_mels=spec.n_mels,
                                                            fmax=spec.fmax))

  librosa_pass()  # warm librosa's filterbank cache
  librosa_s = best_of(librosa_pass, repeats=3)
  rows.append({"name": "mel/librosa_per_clip_syntone", "value": round(BATCH / librosa_s, 1), "unit": "clips/s"})
  jax_rate = next(r["value"] for r in rows if r["name"] == f"mel/jax_jit_syntone_b{BATCH}")
  rows.append({"name": "mel/speedup_jax_vs_librosa", "value": round(jax_rate / rows[-1]["value"], 2), "unit": "x"})
  return rows


def main() -> None:
  for row in run():
    print(f"{row['name']:<36} {row['value']!s:>44} {row['unit']}")


if __name__ == "__main__":
  main()
