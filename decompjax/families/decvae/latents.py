"""DecVAE latent analysis on mu (spec §4): aggregations, the stratified re-split, metrics and probes.

Pure numpy/sklearn on already-collected latents, so the trained model (`evaluate.py`), the FC-VAE baseline and
the PCA / ICA / raw-mel baselines (`baselines.py`) share one code path:
  * `aggregate` turns per-subspace mu {X, OC1..OCC, OCs_proj} into the analysed aggregations
    X / OC_k / OCs_joint (= [OC1..OCC]) / OCs_proj / all (= [X, OC1..OCC]);
  * `resplit` is the original's 80/20 StratifiedShuffleSplit on the speaker (seed 42): the dataset's own splits
    have disjoint speakers, so a speaker probe needs both halves to hold every speaker;
  * `analyse` runs the shared metric suite (DCI, IRS, modularity, explicitness, Gaussian TC, pairwise MI) on a
    seeded subsample and the probes (logistic regression, random forest, KMeans with a greedy cluster -> label
    map, chance) for every factor, one row per aggregation.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np

AGGREGATIONS = ("X", "OC_k", "OCs_joint", "OCs_proj", "all")
# Table columns in the layout of spec §5.1 (metric suite keys -> short names).
METRIC_COLUMNS = (("MI", "mutual_info_score"), ("GCN", "gaussian_total_correlation_norm"),
                  ("D", "dci_disentanglement"), ("C", "dci_completeness"), ("I", "dci_informativeness_test"),
                  ("Ex", "explicitness_test"), ("Mod", "modularity"), ("IRS", "irs"))
PROBES = ("lr", "rf", "kmeans")


@dataclasses.dataclass(frozen=True)
class AnalysisSettings:
  """What `analyse` reads (config.eval fields of the same names; `settings_from_config`)."""
  max_points: int = 2000        # seeded subsample for metrics and probes
  num_bins: int = 30            # discretisation of modularity / MI (the original's 30)
  dci_trees: int = 50           # GradientBoosting estimators per factor in DCI
  rf_trees: int = 100           # random-forest probe
  kmeans_init: int = 10         # KMeans restarts
  test_fraction: float = 0.2    # the probes' re-split (stratified on the speaker)
  resplit_seed: int = 42
  seed: int = 0
  metrics: bool = True          # the disentanglement suite (probes always run)
  sklearn_threads: int = 1      # OpenMP threads of sklearn (KMeans, forests); 0 = all cores


def settings_from_config(config) -> AnalysisSettings:
  e = config.eval
  fields = {f.name: e[f.name] for f in dataclasses.fields(AnalysisSettings) if f.name in e and f.name != "seed"}
  return AnalysisSettings(**fields, seed=int(config.seed))


def aggregate(subspaces: Mapping[str, np.ndarray], aggregations: Sequence[str] = AGGREGATIONS) -> dict:
  """{name: [N, D]} for each requested aggregation that the subspaces allow, in a stable order.

  subspaces: mu per subspace, keys 'X', 'OC1'..'OCC' (low -> high frequency) and optionally 'OCs_proj'.
  'OC_k' expands to one entry per component; an aggregation whose parts are absent is skipped.
  """
  unknown = sorted(set(aggregations) - set(AGGREGATIONS))
  if unknown:
    raise ValueError(f"unknown aggregation(s) {unknown}; choose from {list(AGGREGATIONS)}")
  ocs = sorted((k for k in subspaces if k.startswith("OC") and k[2:].isdigit()), key=lambda k: int(k[2:]))
  out: dict[str, np.ndarray] = {}
  for agg in aggregations:
    if agg == "X" and "X" in subspaces:
      out["X"] = np.asarray(subspaces["X"])
    elif agg == "OC_k":
      out.update({k: np.asarray(subspaces[k]) for k in ocs})
    elif agg == "OCs_joint" and ocs:
      out["OCs_joint"] = np.concatenate([subspaces[k] for k in ocs], axis=-1)
    elif agg == "OCs_proj" and "OCs_proj" in subspaces:
      out["OCs_proj"] = np.asarray(subspaces["OCs_proj"])
    elif agg == "all" and "X" in subspaces and ocs:
      out["all"] = np.concatenate([subspaces["X"]] + [subspaces[k] for k in ocs], axis=-1)
  return out


def subsample(n: int, max_points: int, seed: int) -> np.ndarray:
  """Sorted indices of a seeded subsample of at most max_points of n rows (all rows when n fits)."""
  if n <= max_points:
    return np.arange(n)
  return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def resplit(strata: np.ndarray, *, test_fraction: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
  """(train, test) row indices: StratifiedShuffleSplit on `strata` (the speaker), plain shuffle split when some
  stratum has a single row (sklearn cannot stratify it)."""
  from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
  strata = np.asarray(strata)
  idx = np.arange(len(strata))
  counts = np.unique(strata, return_counts=True)[1]
  n_test = max(1, int(round(test_fraction * len(strata))))
  if len(counts) > 1 and counts.min() >= 2 and n_test >= len(counts) and len(strata) - n_test >= len(counts):
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
    return next(splitter.split(idx, strata))
  return next(ShuffleSplit(n_splits=1, test_size=n_test, random_state=seed).split(idx))


def greedy_cluster_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
  """Accuracy of a greedy one-to-one cluster -> label map: repeatedly take the largest remaining entry of the
  contingency table, fix that pair, drop its row and column. Unmatched clusters count as wrong."""
  clusters, labels = np.asarray(clusters), np.asarray(labels)
  cu, ci = np.unique(clusters, return_inverse=True)
  lu, li = np.unique(labels, return_inverse=True)
  table = np.zeros((len(cu), len(lu)), np.int64)
  np.add.at(table, (ci, li), 1)
  hits = 0
  work = table.astype(np.float64)
  for _ in range(min(table.shape)):
    r, c = np.unravel_index(np.argmax(work), work.shape)
    if work[r, c] < 0:
      break
    hits += table[r, c]
    work[r, :] = -1
    work[:, c] = -1
  return float(hits / max(len(labels), 1))


def probe_factor(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                 s: AnalysisSettings) -> dict[str, float]:
  """Logistic regression and random forest (standardised with train statistics; train -> test accuracy),
  KMeans (#classes clusters, on all rows) with the greedy map, and the test split's majority-class chance."""
  from sklearn.cluster import KMeans
  from sklearn.ensemble import RandomForestClassifier
  from sklearn.linear_model import LogisticRegression
  from sklearn.preprocessing import StandardScaler
  nan = float("nan")
  out = {"lr": nan, "rf": nan, "kmeans": nan, "chance": nan}
  classes = np.unique(y)
  if len(classes) < 2:
    return out
  out["chance"] = float(np.max(np.unique(y[test], return_counts=True)[1]) / len(test))
  scaler = StandardScaler().fit(x[train])
  a, b = scaler.transform(x[train]), scaler.transform(x[test])
  if len(np.unique(y[train])) >= 2:
    out["lr"] = float(LogisticRegression(max_iter=1000).fit(a, y[train]).score(b, y[test]))
    rf = RandomForestClassifier(n_estimators=s.rf_trees, max_features="sqrt", random_state=s.seed, n_jobs=1)
    out["rf"] = float(rf.fit(a, y[train]).score(b, y[test]))
  if len(x) > len(classes):
    km = KMeans(n_clusters=len(classes), n_init=s.kmeans_init, random_state=s.seed)
    out["kmeans"] = greedy_cluster_accuracy(km.fit_predict(scaler.transform(x)), y)
  return out


def _metrics(x: np.ndarray, factors: np.ndarray, s: AnalysisSettings) -> dict[str, float]:
  """The metric suite on (x, non-constant factors); NaN for every column when nothing can be scored."""
  from decompjax.metrics import suite
  keep = [k for k in range(factors.shape[1]) if len(np.unique(factors[:, k])) > 1]
  names = ("dci", "irs", "modularity", "explicitness", "unsupervised")
  if not keep or len(x) < 4:
    return {key: float("nan") for _, key in METRIC_COLUMNS}
  n_train = max(2, int(len(x) * 0.8))
  return suite.evaluate_all(x, factors[:, keep], discrete_factors=True, metrics=names, seed=s.seed,
                            num_train=n_train, num_test=len(x) - n_train, num_bins=min(s.num_bins, len(x)),
                            gbt_kwargs={"n_estimators": s.dci_trees})


def analyse(latents: Mapping[str, np.ndarray], factors: Mapping[str, np.ndarray], *, branch: str,
            s: AnalysisSettings, strata: str | None = None) -> list[dict]:
  """One row per aggregation: {branch, aggregation, dim, n, MI..IRS, <factor>_{lr,rf,kmeans,chance}}.

  latents: {aggregation: [N, D]} (rows aligned with factors); factors: {name: [N] int}. The rows are subsampled
  once (seeded), so every aggregation is scored on the same points; the probes' split is stratified on
  `strata` (a factor name, the speaker) when given.
  """
  if not latents:
    return []
  from threadpoolctl import threadpool_limits
  # OpenMP spinning on a busy 2-core host made KMeans / t-SNE many times slower than one thread
  with threadpool_limits(limits=s.sklearn_threads or None):
    return _analyse(latents, factors, branch=branch, s=s, strata=strata)


def _analyse(latents, factors, *, branch: str, s: AnalysisSettings, strata: str | None) -> list[dict]:
  n = len(next(iter(latents.values())))
  for name, y in factors.items():
    if len(y) != n:
      raise ValueError(f"factor {name!r} has {len(y)} rows, latents have {n}")
  rows_idx = subsample(n, s.max_points, s.seed)
  fac = {k: np.asarray(v)[rows_idx].astype(np.int64) for k, v in factors.items()}
  strat = fac[strata] if strata in fac else np.zeros(len(rows_idx), np.int64)
  train, test = resplit(strat, test_fraction=s.test_fraction, seed=s.resplit_seed)
  fmat = np.stack([fac[k] for k in fac], axis=1) if fac else np.zeros((len(rows_idx), 0), np.int64)
  rows = []
  for agg, x in latents.items():
    x = np.asarray(x, np.float64)[rows_idx]
    row: dict = {"branch": branch, "aggregation": agg, "dim": int(x.shape[1]), "n": int(len(x))}
    if s.metrics:
      m = _metrics(x, fmat, s)
      row.update({col: float(m.get(key, math.nan)) for col, key in METRIC_COLUMNS})
    for name, y in fac.items():
      row.update({f"{name}_{k}": v for k, v in probe_factor(x, y, train, test, s).items()})
    rows.append(row)
  return rows
