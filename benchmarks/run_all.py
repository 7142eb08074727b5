"""`make bench`: runs every benchmark module's `run()` and prints one table.

Each module in MODULES exposes `run() -> list[dict(name, value, unit)]`. Timings depend on the machine:
the header prints what ran them. `python -m benchmarks.run_all [substring ...]` runs a subset.
"""
from __future__ import annotations

import importlib
import os
import platform
import sys
import time

MODULES = [
    "benchmarks.bench_syntone_train",
    "benchmarks.bench_mel",
    "benchmarks.bench_metrics",
    "benchmarks.bench_vqvae",
    "benchmarks.bench_autodecompose",
]


def main(argv: list[str]) -> int:
  import jax
  wanted = [m for m in MODULES if not argv or any(a in m for a in argv)]
  print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"jax {jax.__version__} on {jax.devices()[0].platform} x{jax.device_count()}")
  failures = 0
  print(f"{'benchmark':<24} {'measurement':<52} {'value':>12}  unit")
  print("-" * 100)
  for name in wanted:
    try:
      module = importlib.import_module(name)
    except ModuleNotFoundError as e:
      if e.name == name:
        continue  # that family's benchmark is not in this checkout
      raise
    t0 = time.perf_counter()
    try:
      rows = module.run()
    except Exception as e:  # report and carry on: one broken benchmark should not hide the others
      print(f"{name.split('.')[-1]:<24} FAILED: {type(e).__name__}: {e}")
      failures += 1
      continue
    for r in rows:
      value = f"{r['value']:>12.3f}" if isinstance(r["value"], (int, float)) else f"{r['value']!s:>12}"
      print(f"{name.split('.')[-1]:<24} {r['name']:<52} {value}  {r['unit']}")
    print(f"{'':<24} {'(benchmark wall time)':<52} {time.perf_counter() - t0:>12.1f}  s")
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
