"""Shared pieces of the metric suite: input checks, discretisers, vectorised discrete MI/entropy, splits.

Layout: every public metric takes batch-first arrays, codes `[N, D]` and factors `[N, K]`. disentanglement_lib
(dlib) stores them transposed (`[D, N]`, `[K, N]`); the formulas below are written for the batch-first layout.

Reference: google-research/disentanglement_lib, `evaluation/metrics/utils.py` (HEAD 86a644d).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Optional, Union

import numpy as np

SeedLike = Union[int, np.random.Generator, None]
SplitLike = Optional[tuple]  # (train indices, test indices) chosen by the caller

# Upper bound on int64 entries materialised at once by the blocked joint histogram (about 64 MiB).
_BLOCK_ENTRIES = 1 << 23


def as_rng(seed: SeedLike) -> np.random.Generator:
  """Returns a numpy Generator; an int seeds a fresh one, a Generator is used as is (and advanced)."""
  if isinstance(seed, np.random.Generator):
    return seed
  if seed is None:
    raise ValueError("seed must be an int or a numpy Generator (None would make the metric irreproducible)")
  return np.random.default_rng(int(seed))


def sklearn_seed(rng: np.random.Generator) -> int:
  """Draws an int seed for an sklearn estimator's `random_state` from `rng`."""
  return int(rng.integers(0, 2**31 - 1))


def check_codes(codes, name: str = "codes") -> np.ndarray:
  """Validates a `[N, D]` code matrix: 2-D, non-empty, finite. Returns it as float64."""
  arr = np.asarray(codes)
  if arr.ndim != 2:
    raise ValueError(f"{name} must be a 2-D array [num_samples, num_dims], got ndim={arr.ndim} shape={arr.shape}")
  if arr.shape[0] < 2 or arr.shape[1] < 1:
    raise ValueError(f"{name} needs at least 2 samples and 1 dimension, got shape {arr.shape}")
  if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
    raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
  arr = arr.astype(np.float64)
  bad = ~np.isfinite(arr)
  if bad.any():
    rows, cols = np.nonzero(bad)
    kind = "NaN" if np.isnan(arr[rows[0], cols[0]]) else "Inf"
    raise ValueError(f"{name} contains {int(bad.sum())} non-finite values ({kind} first at sample {rows[0]}, "
                     f"dim {cols[0]})")
  return arr


def check_factors(factors, name: str = "factors") -> np.ndarray:
  """Validates a `[N, K]` factor matrix: like `check_codes`, and no factor may be constant (its entropy is 0)."""
  arr = check_codes(factors, name)
  const = np.nonzero(np.all(arr == arr[:1], axis=0))[0]
  if const.size:
    raise ValueError(f"{name} column(s) {const.tolist()} are constant; a constant factor has zero entropy and "
                     "cannot be scored (drop it)")
  return arr


def check_inputs(codes, factors, *, num_bins: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
  """Validates a (codes `[N, D]`, factors `[N, K]`) pair.

  Raises ValueError for wrong ndim, NaN/Inf, a constant factor, different sample counts, or fewer samples than
  `num_bins` (when the metric discretises).
  """
  c = check_codes(codes, "codes")
  f = check_factors(factors, "factors")
  if c.shape[0] != f.shape[0]:
    raise ValueError(f"codes and factors have different numbers of samples: {c.shape[0]} vs {f.shape[0]}")
  if num_bins is not None:
    check_num_bins(c.shape[0], num_bins)
  return c, f


def check_num_bins(num_samples: int, num_bins: int) -> None:
  if int(num_bins) < 2:
    raise ValueError(f"num_bins must be >= 2, got {num_bins}")
  if num_samples < num_bins:
    raise ValueError(f"only {num_samples} samples for num_bins={num_bins}; need at least as many samples as bins")


def histogram_discretize(x: np.ndarray, num_bins: int = 20) -> np.ndarray:
  """dlib's `_histogram_discretize`, batch-first: per column, the index (1..num_bins) of its equal-width bin.

  bin = digitize(x[:, d], left edges of np.histogram(x[:, d], num_bins)); the maximum lands in bin num_bins and a
  constant column in the middle bin (np.histogram widens a zero range by +-0.5). Returns int64 `[N, D]`.
  """
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2:
    raise ValueError(f"histogram_discretize expects [N, D], got shape {x.shape}")
  out = np.empty(x.shape, dtype=np.int64)
  for d in range(x.shape[1]):  # a per-column loop over D (cheap); the edges must be np.histogram's exactly
    edges = np.histogram_bin_edges(x[:, d], num_bins)
    out[:, d] = np.digitize(x[:, d], edges[:-1])
  return out


def relabel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Maps every column of `x [N, D]` to consecutive labels 0..c_d-1. Returns (labels int64 [N, D], c [D])."""
  x = np.asarray(x)
  labels = np.empty(x.shape, dtype=np.int64)
  sizes = np.empty(x.shape[1], dtype=np.int64)
  for d in range(x.shape[1]):
    uniq, inv = np.unique(x[:, d], return_inverse=True)
    labels[:, d] = inv.reshape(-1)
    sizes[d] = uniq.size
  return labels, sizes


def _mi_from_counts(counts: np.ndarray, n: int) -> np.ndarray:
  """MI (nats) from joint counts `[..., Ca, Cb]` over n samples: sum p log(p / (pa pb)), 0 log 0 = 0."""
  counts = counts.astype(np.float64)
  row = counts.sum(-1, keepdims=True)
  col = counts.sum(-2, keepdims=True)
  nz = counts > 0
  ratio = np.where(nz, counts * n, 1.0) / np.where(nz, row * col, 1.0)
  mi = np.sum(np.where(nz, counts * np.log(ratio), 0.0), axis=(-1, -2)) / n
  return np.maximum(mi, 0.0)  # sklearn clips tiny negative round-off to 0 as well


def discrete_mutual_info(a: np.ndarray, b: np.ndarray, *, base: Optional[float] = None) -> np.ndarray:
  """Plug-in MI between every column of `a [N, Da]` and every column of `b [N, Db]` -> `[Da, Db]`.

  I(a_i; b_j) = sum_{u,v} p(u,v) log(p(u,v) / (p(u) p(v))), natural log (nats) unless `base` is given (2 -> bits).
  Equals sklearn.metrics.mutual_info_score(b[:, j], a[:, i]) (dlib's `discrete_mutual_info`, which loops over
  pairs) without the Python double loop: the joint histograms of a block of pairs come from one np.bincount over
  combined indices ((pair * Ca) + a) * Cb + b. Values are arbitrary discrete labels (relabelled per column).
  """
  a = np.asarray(a)
  b = np.asarray(b)
  if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
    raise ValueError(f"discrete_mutual_info expects [N, Da] and [N, Db] with the same N, got {a.shape}, {b.shape}")
  n = a.shape[0]
  la, sa = relabel(a)
  lb, sb = relabel(b)
  ca, cb = int(sa.max()), int(sb.max())
  da, db = la.shape[1], lb.shape[1]
  out = np.empty((da, db), dtype=np.float64)
  # rows of `a` per block: bounded both by the index array (n * block * db) and the counts (block * db * ca * cb).
  block = max(1, min(da, _BLOCK_ENTRIES // max(1, n * db), _BLOCK_ENTRIES // max(1, db * ca * cb)))
  lb_off = lb[:, None, :]  # [N, 1, Db]
  for start in range(0, da, block):
    stop = min(da, start + block)
    rows = stop - start
    pair = (np.arange(rows)[:, None] * db + np.arange(db)[None, :])  # [rows, Db]
    idx = (pair[None] * ca + la[:, start:stop, None]) * cb + lb_off  # [N, rows, Db]
    counts = np.bincount(idx.reshape(-1), minlength=rows * db * ca * cb).reshape(rows, db, ca, cb)
    out[start:stop] = _mi_from_counts(counts, n)
  if base is not None:
    out = out / np.log(base)
  return out


def discrete_entropy(x: np.ndarray, *, base: Optional[float] = None) -> np.ndarray:
  """Plug-in entropy H(x_d) = -sum p log p of every column of `x [N, D]` -> `[D]` (nats unless `base`).

  Equals dlib's `discrete_entropy` (mutual_info_score(y, y)).
  """
  x = np.asarray(x)
  labels, sizes = relabel(x)
  n = x.shape[0]
  h = np.empty(x.shape[1], dtype=np.float64)
  for d in range(x.shape[1]):
    p = np.bincount(labels[:, d], minlength=int(sizes[d])) / n
    p = p[p > 0]
    h[d] = -np.sum(p * np.log(p))
  h = np.maximum(h, 0.0)
  if base is not None:
    h = h / np.log(base)
  return h


def joint_entropy(a: np.ndarray, b: np.ndarray, *, base: Optional[float] = None) -> np.ndarray:
  """H(a_i, b_j) = H(a_i) + H(b_j) - I(a_i; b_j) for every pair -> `[Da, Db]` (nats unless `base`)."""
  mi = discrete_mutual_info(a, b)
  h = discrete_entropy(a)[:, None] + discrete_entropy(b)[None, :] - mi
  if base is not None:
    h = h / np.log(base)
  return h


def prepare_factors(factors: np.ndarray, discrete_factors: bool, num_bins: int) -> np.ndarray:
  """Factors as dlib feeds them to MI/classifiers: raw labels if discrete, else histogram-discretised."""
  if discrete_factors:
    return factors
  check_num_bins(factors.shape[0], num_bins)
  return histogram_discretize(factors, num_bins)


def split_sizes(n: int, num_train: Optional[int], num_test: Optional[int]) -> tuple[int, int]:
  """Train/test sizes for a fitted estimator on n available samples.

  `None` means "all that is left" (train) or 0.2 n (test). If num_train + num_test > n, both are shrunk
  proportionally to fill n (dlib samples fresh points instead; with a fixed array we cannot).
  """
  if num_test is None:
    num_test = max(1, int(round(0.2 * n)))
  if num_train is None:
    num_train = n - num_test
  num_train, num_test = int(num_train), int(num_test)
  if num_train < 1 or num_test < 1:
    raise ValueError(f"num_train and num_test must be >= 1, got {num_train}, {num_test}")
  if num_train + num_test > n:
    tr = int(np.floor(n * num_train / (num_train + num_test)))
    num_train, num_test = tr, n - tr
  if num_train < 2 or num_test < 1:
    raise ValueError(f"{n} samples are too few for a train/test split")
  return num_train, num_test


def train_test_indices(n: int, num_train: Optional[int], num_test: Optional[int],
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """Disjoint random train/test index sets of the sizes given by `split_sizes`."""
  num_train, num_test = split_sizes(n, num_train, num_test)
  perm = rng.permutation(n)
  return perm[:num_train], perm[num_train:num_train + num_test]


def parallel_map(fn: Callable, items: Iterable, n_jobs: Optional[int] = None) -> list:
  """[fn(i) for i in items] on a pool of n_jobs threads (None: every core), results in input order. For fits
  that release the GIL (numba kernels, sklearn's Cython trees, liblinear): no copies of the data to processes."""
  items = list(items)
  workers = min(len(items), (os.cpu_count() or 1) if n_jobs is None else int(n_jobs))
  if workers <= 1:
    return [fn(i) for i in items]
  with ThreadPoolExecutor(workers) as pool:
    return list(pool.map(fn, items))


def resolve_split(n: int, num_train: Optional[int], num_test: Optional[int], rng: np.random.Generator,
                  split: SplitLike = None) -> tuple[np.ndarray, np.ndarray]:
  """The caller's `split` = (train indices, test indices) if given (checked: 1-D integer arrays within [0, n),
  train >= 2 and test >= 1 rows; they may overlap), else `train_test_indices(n, num_train, num_test, rng)`."""
  if split is None:
    return train_test_indices(n, num_train, num_test, rng)
  if len(split) != 2:
    raise ValueError("split must be a pair (train_indices, test_indices)")
  out = []
  for name, idx, least in (("train", split[0], 2), ("test", split[1], 1)):
    idx = np.asarray(idx)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer) or idx.size < least:
      raise ValueError(f"split {name} indices must be a 1-D integer array of >= {least} entries, got {idx.shape} "
                       f"{idx.dtype}")
    if idx.min() < 0 or idx.max() >= n:
      raise ValueError(f"split {name} indices must lie in [0, {n}), got [{idx.min()}, {idx.max()}]")
    out.append(idx)
  return out[0], out[1]


def normalize_data(x: np.ndarray, mean: Optional[np.ndarray] = None, std: Optional[np.ndarray] = None):
  """Column z-scoring with given or own statistics (dlib `normalize_data`, batch-first).

  A zero std is replaced by 1 (dlib would divide by zero and produce NaN for a constant code).
  """
  if mean is None:
    mean = x.mean(axis=0)
  if std is None:
    std = x.std(axis=0)
  safe = np.where(std > 0, std, 1.0)
  return (x - mean) / safe, mean, std


def top_two_gap(matrix: np.ndarray, axis: int) -> np.ndarray:
  """Largest minus second-largest entry along `axis` (the MIG / SAP gap)."""
  if matrix.shape[axis] < 2:
    raise ValueError(f"a top-two gap needs at least 2 entries along axis {axis}, got shape {matrix.shape}")
  s = np.sort(matrix, axis=axis)
  return np.take(s, -1, axis=axis) - np.take(s, -2, axis=axis)
