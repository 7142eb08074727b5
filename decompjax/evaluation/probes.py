"""Linear read-out of each ground-truth factor from the codes (a supervised probe, not a disentanglement score)."""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


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
