"""PyTorch transcriptions of the original models, written here from the specs (shared/specs/syntone.md,
vqvae_barlow.md), for benchmarks/bench_vs_torch.py only: never imported by decompjax (torch is the optional
`bench` extra). Threading: `configure_threads()` sets torch's intra-op threads to the core count, as a
PyTorch user on this machine would run them.
"""
from __future__ import annotations

import os


def configure_threads() -> str:
  """torch.set_num_threads(cores); returns 'torch <version>, <n> threads' for the benchmark's header."""
  import torch
  torch.set_num_threads(os.cpu_count() or 1)
  return f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads"
