"""Synthetic DecVAE batches shaped like the data's input_spec, for the model / loss / step tests."""
from __future__ import annotations

import numpy as np

from decompjax.families.decvae import family


def synthetic_batch(config, batch_size: int, seed: int = 0) -> dict[str, np.ndarray]:
  """Random frames / sequences with some unusable frames and missing components, so the masks matter."""
  rng = np.random.default_rng(seed)
  spec = family.input_spec(config)
  f, c1 = spec["frames"].shape[1:3]
  frame_valid = (rng.random((batch_size, f)) > 0.15).astype(np.float32)
  component_mask = (rng.random((batch_size, f, c1 - 1)) > 0.2).astype(np.float32) * frame_valid[..., None]
  frames = rng.standard_normal((batch_size,) + spec["frames"].shape[1:]).astype(np.float32)
  frames[:, :, 1:] *= component_mask[..., None]
  out = {"frames": frames, "frame_valid": frame_valid, "component_mask": component_mask}
  if "seq" in spec:
    seq_mask = np.ones((batch_size,) + spec["seq_component_mask"].shape[1:], np.float32)
    seq_mask[0, -1] = 0.0
    seq = rng.standard_normal((batch_size,) + spec["seq"].shape[1:]).astype(np.float32)
    seq[:, 1:] *= seq_mask[..., None]
    out.update(seq=seq, seq_component_mask=seq_mask)
  return out
