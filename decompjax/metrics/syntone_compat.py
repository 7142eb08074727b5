"""SynTone's original metric protocol (reproduction only; see specs/syntone.md Sec. 3).

SynTone (yusufbrima/SynTone, `Metrics/*.py` = copies of ubisoft-laforge-disentanglement-metrics) scores with:
  * signature `metric(factors, codes, continuous_factors=True, nb_bins=10)`, arrays `[N, n_factors]` / `[N, n_codes]`;
  * discretisation: sklearn `minmax_scale` per column, then the index (1..nb_bins) of the left edge of
    linspace(0, 1, nb_bins + 1) (`get_bin_index`); every factor treated as continuous;
  * MI in bits (pyitlib plug-in estimator); MIG normalises by H(code) (`norm_factor='Y'`), not H(factor).
The evaluator then called every metric as `metric(latent_samples, gt_factors)`: **swapped**, so the 8 sampled latents
play the factors and the 3 ground-truth factors play the codes. `syntone_compat_suite` does exactly that. The functions
below keep the original argument names and meaning, so calling them in the correct order gives the correct-orientation
version of the same estimators. pyitlib is not needed; MI/entropies are the same plug-in estimates, vectorised.

Deviations (only where the original produced NaN or crashed): a code column with zero entropy gets normalised MI 0
(pyitlib: 0/0 = NaN); modularity of a column whose max MI is 0 is 0 (original: division by zero); SAP regression
scores a constant column as 0; the SAP classification depth search falls back to depth 1 if no depth scores > 0.
"""
from __future__ import annotations

import math

import numpy as np
from sklearn import tree
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Lasso
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import minmax_scale

from decompjax.metrics import utils


def get_bin_index(x: np.ndarray, nb_bins: int) -> np.ndarray:
  """Bin index 1..nb_bins of values in [0, 1] against the left edges of linspace(0, 1, nb_bins + 1)."""
  bins = np.linspace(0, 1, nb_bins + 1)
  return np.digitize(x, bins[:-1], right=False).astype(int)


def minmax_discretize(x: np.ndarray, nb_bins: int = 10) -> np.ndarray:
  """`get_bin_index(minmax_scale(x), nb_bins)`: per-column equal-width bins on the observed range."""
  return get_bin_index(minmax_scale(np.asarray(x, dtype=np.float64)), nb_bins)


def _check(factors, codes) -> tuple[np.ndarray, np.ndarray]:
  f = utils.check_codes(factors, "factors")
  c = utils.check_codes(codes, "codes")
  if f.shape[0] != c.shape[0]:
    raise ValueError(f"factors and codes have different numbers of samples: {f.shape[0]} vs {c.shape[0]}")
  return f, c


def _discretize_pair(factors, codes, continuous_factors: bool, nb_bins: int):
  factors, codes = _check(factors, codes)
  utils.check_num_bins(codes.shape[0], nb_bins)
  f = minmax_discretize(factors, nb_bins) if continuous_factors else factors
  return f, minmax_discretize(codes, nb_bins)


def mutual_info_matrix(factors_d: np.ndarray, codes_d: np.ndarray, normalize: bool) -> np.ndarray:
  """`[n_factors, n_codes]` MI in bits; normalize=True divides by H(code) (pyitlib norm_factor='Y')."""
  mi = utils.discrete_mutual_info(factors_d, codes_d, base=2)
  if not normalize:
    return mi
  h_code = utils.discrete_entropy(codes_d, base=2)
  return np.where(h_code[None, :] > 0, mi / np.where(h_code > 0, h_code, 1.0)[None, :], 0.0)


def mig(factors, codes, continuous_factors: bool = True, nb_bins: int = 10) -> float:
  """Mean over factors of the top-two gap of I(f; c) / H(c) over codes (bits)."""
  f, c = _discretize_pair(factors, codes, continuous_factors, nb_bins)
  if c.shape[1] < 2:
    raise ValueError(f"mig needs at least 2 codes, got {c.shape[1]}")
  return float(np.mean(utils.top_two_gap(mutual_info_matrix(f, c, True), axis=1)))


def _r2_matrix(factors: np.ndarray, codes: np.ndarray) -> np.ndarray:
  """In-sample R^2 of a 1-D LinearRegression code_c -> factor_f = corr^2 (the original's max(0, r2)). `[F, C]`."""
  fc = factors - factors.mean(0)
  cc = codes - codes.mean(0)
  cov = fc.T @ cc
  vf, vc = np.sum(fc * fc, 0), np.sum(cc * cc, 0)
  denom = vf[:, None] * vc[None, :]
  return np.where(denom > 0, cov**2 / np.where(denom > 0, denom, 1.0), 0.0)


def _tree_accuracy(code: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> float:
  """Depth 1..9 DecisionTreeClassifier chosen by 10-fold CV accuracy, refit, train accuracy (original `sap`)."""
  best_score, best_depth = 0.0, 0
  x = code.reshape(-1, 1)
  for depth in range(1, 10):
    score = cross_val_score(tree.DecisionTreeClassifier(max_depth=depth, random_state=utils.sklearn_seed(rng)),
                            x, target, cv=10).mean()
    if score > best_score:
      best_score, best_depth = score, depth
  clf = tree.DecisionTreeClassifier(max_depth=max(best_depth, 1), random_state=utils.sklearn_seed(rng)).fit(x, target)
  return float(accuracy_score(clf.predict(x), target))


def sap(factors, codes, continuous_factors: bool = True, nb_bins: int = 10, regression: bool = True,
        seed: utils.SeedLike = 0) -> float:
  """Mean over factors of the top-two gap over codes of max(0, R^2) (regression) or tree accuracy (classification).

  Regression (default) uses the raw, unscaled values; classification bins continuous factors and min-max scales
  codes. `seed` only seeds the decision trees (unseeded in the original).
  """
  factors, codes = _check(factors, codes)
  if codes.shape[1] < 2:
    raise ValueError(f"sap needs at least 2 codes, got {codes.shape[1]}")
  if regression:
    if not continuous_factors:
      raise ValueError("Cannot perform SAP regression with discrete factors (original assertion)")
    s = _r2_matrix(factors, codes)
  else:
    f = minmax_discretize(factors, nb_bins) if continuous_factors else factors
    c = minmax_scale(codes)
    rng = utils.as_rng(seed)
    s = np.array([[_tree_accuracy(c[:, j], f[:, i], rng) for j in range(c.shape[1])] for i in range(f.shape[1])])
  return float(np.mean(utils.top_two_gap(s, axis=1)))


def jemmig(factors, codes, continuous_factors: bool = True, nb_bins: int = 10) -> float:
  """Mean over factors of 1 - (H(f, c*) - I(f; c*) + I(f; c_2)) / (H(f) + log2 nb_bins), bits; higher is better."""
  f, c = _discretize_pair(factors, codes, continuous_factors, nb_bins)
  if c.shape[1] < 2:
    raise ValueError(f"jemmig needs at least 2 codes, got {c.shape[1]}")
  mi = mutual_info_matrix(f, c, False)
  h_f = utils.discrete_entropy(f, base=2)
  je = h_f[:, None] + utils.discrete_entropy(c, base=2)[None, :] - mi
  rows = np.arange(mi.shape[0])
  best = np.argsort(mi, axis=1)[:, -1]
  raw = je[rows, best] - mi[rows, best] + np.sort(mi, axis=1)[:, -2]
  return float(np.mean(1.0 - raw / (h_f + np.log2(nb_bins))))


def dcimig(factors, codes, continuous_factors: bool = True, nb_bins: int = 10) -> float:
  """Per code, top-two factor gap credited to its argmax factor; per factor the max credit; sum / sum_f H(f)."""
  f, c = _discretize_pair(factors, codes, continuous_factors, nb_bins)
  if f.shape[1] < 2:
    raise ValueError(f"dcimig needs at least 2 factors, got {f.shape[1]}")
  mi = mutual_info_matrix(f, c, False)
  credited = np.zeros_like(mi)
  credited[np.argmax(mi, axis=0), np.arange(mi.shape[1])] = utils.top_two_gap(mi, axis=0)
  return float(credited.max(axis=1).sum() / utils.discrete_entropy(f, base=2).sum())


def modularity(factors, codes, continuous_factors: bool = True, nb_bins: int = 10) -> float:
  """Mean over codes of 1 - sum_{f != argmax} I(f; c)^2 / (max_f I(f; c)^2 (n_factors - 1)) (bits)."""
  f, c = _discretize_pair(factors, codes, continuous_factors, nb_bins)
  if f.shape[1] < 2:
    raise ValueError(f"modularity needs at least 2 factors, got {f.shape[1]}")
  sq = mutual_info_matrix(f, c, False) ** 2
  mx = sq.max(axis=0)
  num = sq.sum(axis=0) - mx
  per_code = np.where(mx > 0, 1.0 - num / np.where(mx > 0, mx * (f.shape[1] - 1), 1.0), 0.0)
  return float(np.mean(per_code))


def dci(factors, codes, continuous_factors: bool = True, model: str = "lasso", seed: utils.SeedLike = 0,
        cv_folds: int = 10) -> tuple[float, float, float]:
  """The original (disentanglement, completeness, informativeness), quirks included.

  Both arrays min-max scaled on all data; per factor a CV-tuned Lasso (|coef|) or RandomForestRegressor
  (feature_importances_); informativeness = max(1 - 12 MSE, 0) on the fitting data. Per-code D = 1 - entropy
  (base n_factors) of its normalised importances, **and the loop stops at the first code with zero total importance**
  (later codes keep D = 0 and weight 0); D = rho-weighted sum; C = *unweighted* mean of per-factor 1 - entropy
  (base n_codes). Only continuous factors are supported (original assertion).
  """
  from decompjax.metrics.dci import LASSO_ALPHAS, RF_MAX_DEPTH, RF_MAX_FEATURES  # pylint: disable=g-import-not-at-top
  if not continuous_factors:
    raise ValueError("Only continuous factors are supported (original assertion)")
  factors, codes = _check(factors, codes)
  factors, codes = minmax_scale(factors), minmax_scale(codes)
  rng = utils.as_rng(seed)
  nf, nc = factors.shape[1], codes.shape[1]
  e = np.zeros((nf, nc))
  info = np.zeros(nf)
  for f in range(nf):
    y = factors[:, f]
    if model == "lasso":
      best_a, best_mse = 0, 10e10
      for a in LASSO_ALPHAS:
        mse = -cross_val_score(Lasso(alpha=a, max_iter=5000), codes, y, cv=cv_folds,
                               scoring="neg_mean_squared_error").mean()
        if mse < best_mse:
          best_mse, best_a = mse, a
      reg = Lasso(alpha=best_a).fit(codes, y)
      weights = np.ravel(np.abs(reg.coef_))
    elif model == "random_forest":
      best, best_mse = (RF_MAX_DEPTH[0], RF_MAX_FEATURES[0]), 10e10
      seed_f = utils.sklearn_seed(rng)
      for md in RF_MAX_DEPTH:
        for mf in RF_MAX_FEATURES:
          reg = RandomForestRegressor(n_estimators=10, max_depth=md, max_features=mf, random_state=seed_f)
          mse = -cross_val_score(reg, codes, y, cv=cv_folds, scoring="neg_mean_squared_error").mean()
          if mse < best_mse:
            best_mse, best = mse, (md, mf)
      reg = RandomForestRegressor(n_estimators=10, max_depth=best[0], max_features=best[1],
                                  random_state=seed_f).fit(codes, y)
      weights = reg.feature_importances_
    else:
      raise ValueError("Regressor must be lasso or random_forest")
    info[f] = max(1 - 12 * mean_squared_error(reg.predict(codes), y), 0)
    e[f] = weights

  d, c = dci_from_importance(e)
  return d, c, float(np.mean(info))


def dci_from_importance(e_matrix: np.ndarray) -> tuple[float, float]:
  """The original's (disentanglement, completeness) from an importance matrix `[n_factors, n_codes]`.

  Keeps its quirks: the per-code loop **stops at the first code with zero total importance** (that and all later
  codes keep D = 0 and weight 0), and completeness is the unweighted mean over factors.
  """
  e = np.asarray(e_matrix, dtype=np.float64)
  nf, nc = e.shape

  def _entropy(prob) -> float:
    return -sum(p * math.log(p, len(prob)) for p in prob if p)

  rho = np.zeros(nc)
  dis = np.zeros(nc)
  for c in range(nc):
    rho[c] = np.sum(e[:, c])
    if rho[c] == 0:
      break  # the original's early exit, kept on purpose
    dis[c] = 1 - _entropy(e[:, c] / rho[c])
  rho = rho / np.sum(rho) if np.sum(rho) else rho * 0
  comp = np.zeros(nf)
  for f in range(nf):
    prob = e[f] / np.sum(e[f]) if np.sum(e[f]) != 0 else np.ones(nc) / nc
    comp[f] = 1 - _entropy(prob)
  return float(np.dot(dis, rho)), float(np.mean(comp))


def reparameterize(mu, logvar, seed: utils.SeedLike = 0) -> np.ndarray:
  """z = mu + exp(logvar / 2) * eps: the *sampled* latents the SynTone evaluator scored (not mu)."""
  mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
  return mu + np.exp(0.5 * logvar) * utils.as_rng(seed).standard_normal(mu.shape)


def syntone_compat_suite(latent_samples, gt_factors, *, nb_bins: int = 10, include_dci: bool = False,
                         seed: utils.SeedLike = 0) -> dict:
  """SynTone's `evaluator.compute_metrics`, argument swap included: each metric is called as
  `metric(latent_samples, gt_factors)`, so `factors` := the latents and `codes` := the ground-truth factors.

  Consequences (numbers comparable only to the original's): MIG is a per-latent gap over GT factors normalised by
  H(GT factor); DCIMIG is divided by the summed entropies of the latents (hence ~0.005); modularity is computed per
  GT factor across latents (a compactness score). DCI was imported but never called by the original; pass
  `include_dci=True` to add it (same swapped order, Lasso).

  Args:
    latent_samples: `[N, n_latents]`, sampled z as in the original (see `reparameterize`).
    gt_factors: `[N, n_gt]`, e.g. [waveform_idx, frequency, amplitude].

  Returns {'mig', 'sap', 'dcimig', 'jemmig', 'modularity'} (+ 'dci_*') as floats.
  """
  z, y = _check(latent_samples, gt_factors)
  out = {"mig": mig(z, y, True, nb_bins), "sap": sap(z, y, True, nb_bins),
         "dcimig": dcimig(z, y, True, nb_bins), "jemmig": jemmig(z, y, True, nb_bins),
         "modularity": modularity(z, y, True, nb_bins)}
  if include_dci:
    d, c, i = dci(z, y, True, "lasso", seed=seed)
    out.update({"dci_disentanglement": d, "dci_completeness": c, "dci_informativeness": i})
  return out
