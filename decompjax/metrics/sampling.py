"""Factor-conditioned samplers for the intervention-based scores (FactorVAE score, BetaVAE score).

dlib draws factor vectors from a GroundTruthData and encodes the matching observations. Here that pair is one
object: `FactorSampler(factor_sizes, represent)`, where `represent(factors [B, K] int, rng) -> codes [B, D]` returns
the representation of an observation generated from each factor row (e.g. synthesise + encode, or look it up).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from decompjax.metrics import utils

RepresentFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclasses.dataclass(frozen=True)
class FactorSampler:
  """Discrete factors k = 0..K-1 with values 0..factor_sizes[k]-1, and their representation.

  Attributes:
    factor_sizes: number of values of each factor.
    represent: maps integer factor rows `[B, K]` to codes `[B, D]`; may be stochastic through `rng` only.
    max_batch: at most this many rows are passed to `represent` per call (bounds encoder memory).
  """
  factor_sizes: Sequence[int]
  represent: RepresentFn
  max_batch: int = 4096

  def __post_init__(self):
    sizes = [int(s) for s in self.factor_sizes]
    if not sizes or min(sizes) < 2:
      raise ValueError(f"factor_sizes must list >= 1 factors with >= 2 values each, got {list(self.factor_sizes)}")
    object.__setattr__(self, "factor_sizes", tuple(sizes))

  @property
  def num_factors(self) -> int:
    return len(self.factor_sizes)

  def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
    """n factor rows, each factor uniform over its values (dlib's sample_factors). int64 `[n, K]`."""
    return np.stack([rng.integers(0, s, size=n) for s in self.factor_sizes], axis=1)

  def codes_for(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Representation of every factor row, in chunks of `max_batch`; checks the shape and finiteness."""
    chunks = [np.asarray(self.represent(factors[i:i + self.max_batch], rng), dtype=np.float64)
              for i in range(0, factors.shape[0], self.max_batch)]
    codes = np.concatenate(chunks, axis=0)
    if codes.ndim != 2 or codes.shape[0] != factors.shape[0]:
      raise ValueError(f"sampler.represent returned shape {codes.shape} for {factors.shape[0]} factor rows; "
                       "expected [rows, num_dims]")
    return utils.check_codes(codes, "sampler codes")


def grid_sampler(codes, factors, *, max_batch: int = 4096) -> FactorSampler:
  """A FactorSampler that looks codes up in a dataset covering the whole factor grid.

  Factor values are relabelled per column to 0..size_k-1 (sorted). `represent` returns, for each requested factor
  row, the codes of a uniformly chosen dataset sample with exactly those factors (e.g. SynTone's Cartesian grid).
  Raises ValueError if some grid cell has no sample.
  """
  codes = utils.check_codes(codes)
  factors = utils.check_factors(factors)
  if codes.shape[0] != factors.shape[0]:
    raise ValueError(f"codes and factors have different numbers of samples: {codes.shape[0]} vs {factors.shape[0]}")
  labels, sizes = utils.relabel(factors)
  cells = np.ravel_multi_index(tuple(labels.T), tuple(sizes))
  num_cells = int(np.prod(sizes))
  order = np.argsort(cells, kind="stable")
  counts = np.bincount(cells, minlength=num_cells)
  empty = int(np.sum(counts == 0))
  if empty:
    raise ValueError(f"the dataset does not cover the factor grid {tuple(sizes.tolist())}: {empty} of {num_cells} "
                     "factor combinations have no sample")
  starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

  def represent(f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cell = np.ravel_multi_index(tuple(np.asarray(f, dtype=np.int64).T), tuple(sizes))
    pick = starts[cell] + np.floor(rng.random(cell.shape[0]) * counts[cell]).astype(np.int64)
    return codes[order[pick]]

  return FactorSampler(tuple(sizes.tolist()), represent, max_batch)
