"""Mixed precision: the compute dtype of the networks (`config.train.dtype`), one policy for every family.

float32 (default) or bfloat16. With bfloat16:
  - parameters and optimiser state stay float32 (`param_dtype`), so updates accumulate at full precision; every
    Dense / Conv / normalisation layer is built with `dtype=compute_dtype(config)` and computes in bfloat16;
  - front ends that need the range or the precision (FFT, STFT, mel, log) run in float32 and hand the network
    `cast(x, dtype)`;
  - what reaches a loss, a metric or numpy leaves the network through `to_float32`, so reductions (sums over
    frames, KL, JS, codebook distances) and the gradients' start run in float32.
BatchNorm statistics are computed in float32 by Flax whatever the layer's dtype, so running averages are float32.
No loss scaling: bfloat16 has float32's exponent range.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from decompjax.errors import ConfigError

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(config) -> Any:
  """The networks' compute dtype named by config.train.dtype (float32 for configs without the field)."""
  name = config.train.get("dtype", "float32")   # config.json of runs older than the field: float32
  if name not in DTYPES:
    raise ConfigError(f"config field 'train.dtype' = {name!r}: must be one of {', '.join(map(repr, DTYPES))}")
  return DTYPES[name]


def cast(x, dtype):
  """Floating leaves of x in dtype (integer / boolean leaves untouched)."""
  return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else a, x)


def to_float32(x):
  """Floating leaves of x in float32: what leaves a network for a loss, a metric or numpy."""
  return cast(x, jnp.float32)
