"""Running a jitted function over a whole array in fixed-size batches."""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np


def map_batches(fn: Callable, x: np.ndarray, batch_size: int, *, masked: bool = False):
  """fn over x in batches of min(batch_size, len(x)). The last batch is padded to full size, so one compilation
  serves every call; padding rows are dropped from the output. With masked=True fn is called as fn(batch, valid),
  valid[i] saying whether row i is real, so that a function computing statistics over its batch (a mean, a
  batch-statistics layer) can leave the padding out. Returns fn's output pytree as numpy, batches concatenated."""
  n = len(x)
  if n == 0:
    raise ValueError("no examples to run: the input is empty")
  b = max(1, min(batch_size, n))
  parts = []
  for start in range(0, n, b):
    chunk = np.asarray(x[start:start + b])
    real = len(chunk)
    if real < b:
      chunk = np.concatenate([chunk, np.zeros((b - real,) + chunk.shape[1:], chunk.dtype)])
    out = fn(chunk, np.arange(b) < real) if masked else fn(chunk)
    parts.append(jax.tree.map(lambda v: np.asarray(v)[:real], jax.device_get(out)))
  return jax.tree.map(lambda *vs: np.concatenate(vs), *parts)
