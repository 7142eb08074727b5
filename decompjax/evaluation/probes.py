"""Probes of frozen representations.

`logistic_probe`: linear read-out of each ground-truth factor from the codes (a supervised probe, not a
disentanglement score). `probe_metrics` ([BT] experiments/tests.py, on flattened latents): features min-max scaled
to [-1, 1] with train statistics (as the original); then linear SVC (C=1), kNN (k = 1, 5, 10, Euclidean), the
number of PCA components reaching 95% explained variance and the mean / std silhouette of repeated
KMeans(n_clusters = #classes, n_init=10) on train+test. `code_usage`: how evenly a codebook is used.
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC


def logistic_probe(codes: np.ndarray, factors: np.ndarray, names, *, train_fraction: float = 0.8,
                   max_train: int | None = None, seed: int = 0) -> dict[str, float]:
  """Per factor: logistic-regression accuracy on held-out codes, with the chance level beside it.

  codes [N, D] float, factors [N, K] integer classes. Codes are standardised with train statistics.
  """
  codes, factors = np.asarray(codes, np.float64), np.asarray(factors)
  if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
    raise ValueError(f"probe needs codes [N, D] and factors [N, K] of equal N, got {codes.shape}, {factors.shape}")
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(codes))
  n_train = int(len(codes) * train_fraction)
  tr, te = order[:n_train], order[n_train:]
  if max_train:
    tr = tr[:max_train]
  scaler = StandardScaler().fit(codes[tr])
  x_tr, x_te = scaler.transform(codes[tr]), scaler.transform(codes[te])
  out = {}
  for k, name in enumerate(names):
    y_tr, y_te = factors[tr, k], factors[te, k]
    if len(np.unique(y_tr)) < 2:
      out[f"probe_{name}_accuracy"] = float("nan")
      continue
    clf = LogisticRegression(max_iter=500).fit(x_tr, y_tr)
    out[f"probe_{name}_accuracy"] = float(clf.score(x_te, y_te))
    out[f"probe_{name}_chance"] = float(np.max(np.bincount(y_te)) / len(y_te)) if len(y_te) else float("nan")
  return out


def intrinsic_dimension(features: np.ndarray, threshold: float = 0.95) -> int:
  """The number of PCA components that explain `threshold` of the variance."""
  ratios = np.cumsum(PCA().fit(features).explained_variance_ratio_)
  return int(np.searchsorted(ratios, threshold) + 1)


def kmeans_silhouette(features: np.ndarray, n_clusters: int, repeats: int, seed: int = 0) -> tuple[float, float]:
  """Mean and std of the silhouette of `repeats` KMeans fits (NaN when n_clusters does not fit the data)."""
  if not 2 <= n_clusters < len(features) or repeats < 1:
    return float("nan"), float("nan")
  scores = []
  for r in range(repeats):
    pred = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed + r).fit_predict(features)
    scores.append(silhouette_score(features, pred) if len(np.unique(pred)) > 1 else np.nan)
  return float(np.nanmean(scores)), float(np.nanstd(scores))


def probe_metrics(f_train, y_train, f_test, y_test, *, n_classes: int, kmeans_repeats: int = 15,
                  seed: int = 0) -> dict[str, float]:
  """Classification probes (train -> test) and cluster structure (train + test) of features [N, D]."""
  f_train, f_test = np.asarray(f_train, np.float64), np.asarray(f_test, np.float64)
  scaler = MinMaxScaler(feature_range=(-1, 1)).fit(f_train)
  a, b = scaler.transform(f_train), scaler.transform(f_test)
  out = {}
  if len(np.unique(y_train)) > 1:
    out["svm_acc"] = float(SVC(kernel="linear", C=1.0).fit(a, y_train).score(b, y_test))
  for k in (1, 5, 10):
    if k <= len(a):
      out[f"knn{k}_acc"] = float(KNeighborsClassifier(n_neighbors=k).fit(a, y_train).score(b, y_test))
  both = np.concatenate([a, b])
  out["pca95_components"] = intrinsic_dimension(both)
  out["silhouette_mean"], out["silhouette_std"] = kmeans_silhouette(both, n_classes, kmeans_repeats, seed)
  return out


def code_usage(indices: np.ndarray, k: int) -> dict[str, float]:
  """Perplexity exp(H) and entropy H (nats) of code usage over all tokens, and the number of codes used."""
  counts = np.bincount(np.asarray(indices).reshape(-1), minlength=k).astype(np.float64)
  p = counts / counts.sum()
  ent = float(-np.sum(p[p > 0] * np.log(p[p > 0])))
  return {"perplexity": float(np.exp(ent)), "code_entropy": ent, "codes_used": int(np.sum(counts > 0))}
