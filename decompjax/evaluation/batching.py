"""Running a jitted function over a whole array in fixed-size batches."""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np


def map_batches(fn: Callable, x: np.ndarray, batch_size: int):
  """fn(batch) over x in batches of min(batch_size, len(x)); the last batch is zero-padded so one compilation
  serves every call. Returns fn's output pytree as numpy, padding rows dropped, batches concatenated."""
  n = len(x)
  if n == 0:
    raise ValueError("no examples to run: the input is empty")
  b = max(1, min(batch_size, n))
  parts = []
  for start in range(0, n, b):
    chunk = np.asarray(x[start:start + b])
    pad = b - len(chunk)
    if pad:
      chunk = np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], chunk.dtype)])
    parts.append(jax.tree.map(lambda v: np.asarray(v)[:b - pad], jax.device_get(fn(chunk))))
  return jax.tree.map(lambda *vs: np.concatenate(vs), *parts)
