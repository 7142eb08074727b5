"""Each process's share of a dataset: disjoint, together the whole split, and the same size on every process.

Equal sizes matter on several hosts: every host must run the same number of steps per epoch, or the collective
train step waits forever for the host that ran out. So a split of n examples over P processes gives each a
contiguous block of n // P and drops the last n % P (at most P - 1). Contiguous blocks (not every P-th example)
also let a source whose items hold several examples (an utterance cut into crops, a shard file) read only the
items its block touches.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def block(n: int, process_index: int, process_count: int) -> tuple[int, int]:
  """[start, stop) of this process's examples among n."""
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index {process_index} must be in [0, process_count={process_count})")
  size = n // process_count
  return process_index * size, (process_index + 1) * size


def indices(n: int, process_index: int, process_count: int) -> np.ndarray:
  """The example indices of this process's share of n examples."""
  return np.arange(*block(n, process_index, process_count))


def item_ranges(counts: Sequence[int], process_index: int,
                process_count: int) -> list[tuple[int, int, int]]:
  """Items holding counts[i] examples each, in order: -> [(item, start, stop)] of the examples of each item that
  fall in this process's block (items outside it are absent: they need not be read)."""
  lo, hi = block(int(sum(counts)), process_index, process_count)
  out, start = [], 0
  for item, count in enumerate(counts):
    a, b = max(lo, start), min(hi, start + int(count))
    if a < b:
      out.append((item, a - start, b - start))
    start += int(count)
  return out
