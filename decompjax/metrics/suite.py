"""`evaluate_all`: the whole metric suite on one (codes, factors) dataset -> flat dict of floats."""
from __future__ import annotations

import time
from typing import Iterable, Optional

from decompjax.metrics import utils
from decompjax.metrics.beta_vae_score import beta_vae_score
from decompjax.metrics.dci import dci
from decompjax.metrics.dcimig import dcimig
from decompjax.metrics.factor_vae_score import factor_vae_score
from decompjax.metrics.irs import irs
from decompjax.metrics.jemmig import jemmig
from decompjax.metrics.mig import mig
from decompjax.metrics.modularity import explicitness, modularity
from decompjax.metrics.sampling import FactorSampler
from decompjax.metrics.sap import sap
from decompjax.metrics.unsupervised import unsupervised_metrics

ALL_METRICS = ("mig", "sap", "dci", "irs", "modularity", "explicitness", "jemmig", "dcimig", "unsupervised",
               "factor_vae", "beta_vae")
_SAMPLER_KEYS = {"factor_vae": ("factor_vae_train_accuracy", "factor_vae_eval_accuracy", "factor_vae_num_active_dims"),
                 "beta_vae": ("beta_vae_train_accuracy", "beta_vae_eval_accuracy")}


def evaluate_all(codes, factors, *, discrete_factors: bool = True, sampler: Optional[FactorSampler] = None,
                 num_train: Optional[int] = 10000, num_test: Optional[int] = 5000, seed: int = 0,
                 metrics: Optional[Iterable[str]] = None, num_bins: int = 20, dci_importance: str = "gbt",
                 gbt_kwargs: Optional[dict] = None, dlib_compat: bool = False, sampler_num_train: int = 10000,
                 sampler_num_eval: int = 5000, sampler_batch_size: int = 64, timings: bool = False,
                 matrices: Optional[dict] = None, split: utils.SplitLike = None, n_jobs: Optional[int] = None,
                 gbt_impl: str = "presorted") -> dict:
  """Runs the selected metrics (default: all) with disentanglement_lib's estimators and returns flat float keys.

  Keys: mig; sap; dci_disentanglement, dci_completeness, dci_informativeness_train, dci_informativeness_test;
  irs, irs_num_active_dims; modularity; explicitness_train, explicitness_test; jemmig; dcimig;
  gaussian_total_correlation(_norm), gaussian_wasserstein_correlation(_norm), mutual_info_score;
  factor_vae_train_accuracy, factor_vae_eval_accuracy, factor_vae_num_active_dims, beta_vae_train_accuracy,
  beta_vae_eval_accuracy; num_train, num_test (split sizes actually used by the fitted estimators).

  Sampler-based scores (FactorVAE, BetaVAE) need `sampler` (see `sampling.FactorSampler` / `grid_sampler`). Without
  one they are **not computed**: their keys are NaN and `factor_vae_skipped` / `beta_vae_skipped` are 1.0 (0.0 when
  computed). With `timings=True`, `time_<metric>_s` keys give the seconds per metric. Pass a dict as `matrices`
  to receive the `[D, K]` 'mutual_info_matrix' (MIG) and 'dci_importance_matrix' (DCI) for heatmaps.

  Fitted estimators (DCI, SAP with discrete factors, explicitness) use a seeded train/test split of `num_train` /
  `num_test` points (shrunk proportionally if N is smaller); MI-based metrics, IRS and unsupervised scores use all
  N points. Every stochastic metric gets its own seed derived from `seed`, so a subset gives the same values.
  `split=(train_indices, test_indices)` makes DCI, SAP and explicitness use exactly those rows (e.g. dlib's
  separately drawn train and test sets, concatenated); num_train / num_test then report the given sizes.
  `n_jobs` threads (None: all cores) fit DCI's per-factor GBTs, SAP's SVMs and explicitness' regressions;
  `gbt_impl` picks DCI's GBT implementation ('presorted' or 'sklearn', the same model; see `dci.importance_gbt`).
  """
  selected = tuple(ALL_METRICS if metrics is None else metrics)
  unknown = sorted(set(selected) - set(ALL_METRICS))
  if unknown:
    raise ValueError(f"unknown metric(s) {unknown}; choose from {list(ALL_METRICS)}")
  codes, factors = utils.check_inputs(codes, factors, num_bins=num_bins)
  if split is not None:
    utils.resolve_split(codes.shape[0], None, None, None, split)  # validates it before any metric runs
    n_train, n_test = len(split[0]), len(split[1])
  else:
    n_train, n_test = utils.split_sizes(codes.shape[0], num_train, num_test)
  out: dict[str, float] = {"num_train": float(n_train), "num_test": float(n_test)}
  seeds = {name: seed * 1000 + i for i, name in enumerate(ALL_METRICS)}  # fixed per metric, independent of subset
  fit = dict(num_train=num_train, num_test=num_test, split=split)

  def run(name: str):
    if name == "mig":
      r = mig(codes, factors, num_bins=num_bins, discrete_factors=discrete_factors)
      if matrices is not None:
        matrices["mutual_info_matrix"] = r["mutual_info_matrix"]
      return {"mig": r["mig"]}
    if name == "sap":
      return {"sap": sap(codes, factors, discrete_factors=discrete_factors, seed=seeds[name], n_jobs=n_jobs,
                         **fit)["sap"]}
    if name == "dci":
      r = dci(codes, factors, importance=dci_importance, discrete_factors=discrete_factors, seed=seeds[name],
              num_bins=num_bins, gbt_kwargs=gbt_kwargs, n_jobs=n_jobs, gbt_impl=gbt_impl, **fit)
      if matrices is not None:
        matrices["dci_importance_matrix"] = r["importance_matrix"]
      return {f"dci_{k}": r[k] for k in ("disentanglement", "completeness", "informativeness_train",
                                         "informativeness_test")}
    if name == "irs":
      r = irs(codes, factors, num_bins=num_bins, dlib_compat=dlib_compat)
      return {"irs": r["irs"], "irs_num_active_dims": r["num_active_dims"]}
    if name == "modularity":
      return {"modularity": modularity(codes, factors, num_bins=num_bins, discrete_factors=discrete_factors)[
          "modularity"]}
    if name == "explicitness":
      r = explicitness(codes, factors, discrete_factors=discrete_factors, seed=seeds[name], num_bins=num_bins,
                       n_jobs=n_jobs, **fit)
      return {"explicitness_train": r["explicitness_train"], "explicitness_test": r["explicitness_test"]}
    if name == "jemmig":
      return {"jemmig": jemmig(codes, factors, num_bins=num_bins, discrete_factors=discrete_factors)["jemmig"]}
    if name == "dcimig":
      return {"dcimig": dcimig(codes, factors, num_bins=num_bins, discrete_factors=discrete_factors)["dcimig"]}
    if name == "unsupervised":
      r = unsupervised_metrics(codes, num_bins=num_bins)
      return {k: v for k, v in r.items() if isinstance(v, float) and k != "num_active_dims"}
    if sampler is None:
      return {**{k: float("nan") for k in _SAMPLER_KEYS[name]}, f"{name}_skipped": 1.0}
    if name == "factor_vae":
      r = factor_vae_score(sampler, seed=seeds[name], batch_size=sampler_batch_size, num_train=sampler_num_train,
                           num_eval=sampler_num_eval, dlib_compat=dlib_compat)
    else:
      r = beta_vae_score(sampler, seed=seeds[name], batch_size=sampler_batch_size, num_train=sampler_num_train,
                         num_eval=sampler_num_eval)
    return {**{f"{name}_{k}": float(v) for k, v in r.items()}, f"{name}_skipped": 0.0}

  for name in selected:
    start = time.perf_counter()
    out.update(run(name))
    if timings:
      out[f"time_{name}_s"] = time.perf_counter() - start
  return {k: float(v) for k, v in out.items()}
