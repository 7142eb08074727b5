"""Benchmark: wall time of the whole metric suite (`evaluate_all`) on 10,000 x 10 codes with 5 discrete factors.

Data: the full factor grid 2 x 3 x 4 x 5 x 6 (720 cells) tiled to 10,000 samples; codes = 5 noisy, mildly mixed
functions of the factors + 5 pure-noise dims. Fitted estimators (DCI-GBT, SAP LinearSVCs, explicitness) use
NUM_TRAIN / NUM_TEST sub-samples; MI-based metrics, IRS and unsupervised scores use all 10,000 points; FactorVAE and
BetaVAE scores use a grid look-up sampler with dlib's study sizes (batch 64, 10,000 train / 5,000 eval votes).

Run: `python -m benchmarks.bench_metrics` (prints a table); `run()` returns rows {name, value, unit}.
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np

from decompjax.metrics import ALL_METRICS, discrete_mutual_info, evaluate_all, grid_sampler, histogram_discretize

from benchmarks.timing import best_of

N, D = 10_000, 10
FACTOR_SIZES = (2, 3, 4, 5, 6)
NUM_TRAIN, NUM_TEST = 5000, 2500  # sub-sample sizes for the fitted estimators (dlib's study: 10000 / 5000)


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  rng = np.random.default_rng(seed)
  grid = np.stack(np.meshgrid(*[np.arange(s) for s in FACTOR_SIZES], indexing="ij"), -1).reshape(-1, len(FACTOR_SIZES))
  reps = N // grid.shape[0]
  extra = grid[rng.integers(0, grid.shape[0], N - reps * grid.shape[0])]
  factors = np.concatenate([np.tile(grid, (reps, 1)), extra])[rng.permutation(N)]
  scaled = factors / (np.array(FACTOR_SIZES) - 1.0)
  mix = np.eye(5) + 0.2 * rng.standard_normal((5, 5))
  codes = np.hstack([np.tanh(2 * scaled - 1) @ mix + 0.1 * rng.standard_normal((N, 5)),
                     rng.standard_normal((N, D - 5))])
  return codes, factors




def run() -> list[dict]:
  codes, factors = make_data()
  sampler = grid_sampler(codes, factors)
  rows = [{"name": "metrics/config", "value": f"N={N} D={D} K={len(FACTOR_SIZES)} train={NUM_TRAIN} test={NUM_TEST}",
           "unit": ""},
          {"name": "metrics/cpu_count", "value": os.cpu_count(), "unit": "cores"},
          {"name": "metrics/platform", "value": platform.processor() or platform.machine(), "unit": ""}]
  start = time.perf_counter()
  out = evaluate_all(codes, factors, sampler=sampler, num_train=NUM_TRAIN, num_test=NUM_TEST, seed=0, timings=True)
  total = time.perf_counter() - start
  rows.append({"name": "metrics/evaluate_all_total", "value": round(total, 3), "unit": "s"})
  for name in ALL_METRICS:
    rows.append({"name": f"metrics/time_{name}", "value": round(out[f"time_{name}_s"], 4), "unit": "s"})
  disc = histogram_discretize(codes, 20)
  rows.append({"name": "metrics/discrete_mi_10x5_vectorised",
               "value": round(1e3 * best_of(lambda: discrete_mutual_info(disc, factors), 5), 3), "unit": "ms"})
  rows.append({"name": "metrics/discrete_mi_10x10_codes_vectorised",
               "value": round(1e3 * best_of(lambda: discrete_mutual_info(disc, disc), 5), 3), "unit": "ms"})

  def sklearn_loop():
    from sklearn.metrics import mutual_info_score  # pylint: disable=g-import-not-at-top
    return [[mutual_info_score(factors[:, j], disc[:, i]) for j in range(factors.shape[1])] for i in range(D)]
  rows.append({"name": "metrics/discrete_mi_10x5_sklearn_loop", "value": round(1e3 * best_of(sklearn_loop, 3), 3),
               "unit": "ms"})
  for key in ("mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness_test", "irs",
              "modularity", "explicitness_test", "jemmig", "dcimig", "gaussian_total_correlation_norm",
              "mutual_info_score", "factor_vae_eval_accuracy", "beta_vae_eval_accuracy"):
    rows.append({"name": f"metrics/value_{key}", "value": round(out[key], 4), "unit": ""})
  return rows


if __name__ == "__main__":
  results = run()
  width = max(len(r["name"]) for r in results)
  print(f"{'name':<{width}}  {'value':>14}  unit")
  for r in results:
    print(f"{r['name']:<{width}}  {str(r['value']):>14}  {r['unit']}")
