"""Timing helper shared by the benchmarks."""
from __future__ import annotations

import time


def best_of(fn, repeats: int = 5) -> float:
  """Seconds of the fastest of `repeats` calls of fn() (the least disturbed by other load)."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best
