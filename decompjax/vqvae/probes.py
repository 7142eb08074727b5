"""Frozen-latent probes of [BT] experiments/tests.py on flattened quantised latents.

Features are min-max scaled to [-1, 1] with train statistics (as the original); then linear SVC (C=1),
kNN (k = 1, 5, 10, Euclidean), the number of PCA components reaching 95% explained variance and the mean
/ std silhouette of repeated KMeans(n_clusters = #classes, n_init=10) on train+test.
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC


def intrinsic_dimension(features: np.ndarray, threshold: float = 0.95) -> int:
  ratios = np.cumsum(PCA().fit(features).explained_variance_ratio_)
  return int(np.searchsorted(ratios, threshold) + 1)


def kmeans_silhouette(features: np.ndarray, n_clusters: int, repeats: int, seed: int = 0) -> tuple[float, float]:
  if not 2 <= n_clusters < len(features) or repeats < 1:
    return float("nan"), float("nan")
  scores = []
  for r in range(repeats):
    pred = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed + r).fit_predict(features)
    scores.append(silhouette_score(features, pred) if len(np.unique(pred)) > 1 else np.nan)
  return float(np.nanmean(scores)), float(np.nanstd(scores))


def probe_metrics(f_train, y_train, f_test, y_test, *, n_classes: int, kmeans_repeats: int = 15,
                  seed: int = 0) -> dict[str, float]:
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
