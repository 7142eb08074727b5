"""Benchmark: our metric suite side by side with disentanglement_lib (dlib) on identical arrays, values and times.

Data: `bench_metrics.make_data` (10,000 x 10 codes, 5 discrete factors with 2..6 values). One seeded permutation
gives the train rows (NUM_TRAIN) and the test rows (NUM_TEST) that both libraries' fitted estimators (DCI, SAP,
explicitness) get, as arrays for dlib (its `[D, N]` layout) and as `split=` indices for ours; MIG, modularity and
IRS get all 10,000 rows in both. dlib is called through its metric cores (`_compute_dci`, `_compute_mig`,
`_compute_sap`, `scalable_disentanglement_score`, `modularity`, `explicitness_per_factor`), i.e. what its
`compute_*` functions run after drawing samples, with gin bound to its study setting (20-bin histogram).

Rounds alternate which library runs first; per metric the table gives both values and |ours - dlib| (from the
first round), dlib's own spread over rounds (its GradientBoostingClassifier has no random_state, so its DCI varies
by exact feature ties), both median times and the ratio dlib / ours (min / median / max over rounds).

Needs the `bench` extra (`pip install .[bench]`: disentanglement-lib, gin-config); without it the benchmark
reports that it is skipped. dlib's metric modules `import gin.tf`, which loads TensorFlow and fails on
TensorFlow >= 2.16 (no tf.estimator); they only use `gin.configurable` / `gin.REQUIRED` from it, so `gin.tf` is
aliased to `gin`. dlib 1.5 passes `blacklist=` to gin.configurable, which gin-config 0.5 removed: hence
gin-config < 0.5 in the extra. Run: `python -m benchmarks.bench_metrics_vs_dlib [rounds]`.
"""
from __future__ import annotations

# pylint: disable=protected-access  (dlib's metric cores are its underscored functions)

import importlib
import os
import platform
import sys
import time
import types

import numpy as np

from benchmarks.bench_metrics import FACTOR_SIZES, N, NUM_TEST, NUM_TRAIN, make_data

ROUNDS = 3
METRICS = ("dci", "mig", "sap", "irs", "modularity", "explicitness")


def load_dlib():
  """dlib's metric modules (dict name -> module), or None if disentanglement_lib / gin are not installed."""
  try:
    import gin
  except ImportError:
    return None
  if "gin.tf" not in sys.modules:  # importing the real one loads TensorFlow (and fails on TF >= 2.16)
    shim = types.ModuleType("gin.tf")
    shim.__dict__.update({k: getattr(gin, k) for k in dir(gin) if not k.startswith("__")})
    sys.modules["gin.tf"] = shim
    gin.tf = shim
  try:
    mods = {name: importlib.import_module(f"disentanglement_lib.evaluation.metrics.{name}")
            for name in ("dci", "mig", "sap_score", "irs", "modularity_explicitness", "utils")}
  except ImportError:
    return None
  gin.clear_config()
  gin.bind_parameter("discretizer.discretizer_fn", mods["utils"]._histogram_discretize)
  gin.bind_parameter("discretizer.num_bins", 20)
  return mods


def dlib_metric(mods, name: str, codes, factors, tr, te):
  """One dlib metric on the bench arrays (dlib layout `[D, N]`); returns {key: value}."""
  ut = mods["utils"]
  if name == "dci":
    r = mods["dci"]._compute_dci(codes[tr].T, factors[tr].T, codes[te].T, factors[te].T)
    return {f"dci_{k}": r[k] for k in ("disentanglement", "completeness", "informativeness_train",
                                       "informativeness_test")}
  if name == "mig":
    return {"mig": mods["mig"]._compute_mig(codes.T, factors.T)["discrete_mig"]}
  if name == "sap":
    r = mods["sap_score"]._compute_sap(codes[tr].T, factors[tr].T, codes[te].T, factors[te].T, False)
    return {"sap": r["SAP_score"]}
  if name == "irs":
    ys = ut.make_discretizer(factors.T)
    active = mods["irs"]._drop_constant_dims(codes.T)
    return {"irs": mods["irs"].scalable_disentanglement_score(ys.T, active.T, 0.99)["avg_score"]}
  if name == "modularity":
    mi = ut.discrete_mutual_info(ut.make_discretizer(codes.T), factors.T)
    return {"modularity": mods["modularity_explicitness"].modularity(mi)}
  if name == "explicitness":
    me = mods["modularity_explicitness"]
    x_train, mean, std = ut.normalize_data(codes[tr].T)
    x_test, _, _ = ut.normalize_data(codes[te].T, mean, std)
    scores = np.array([me.explicitness_per_factor(x_train, factors[tr, k], x_test, factors[te, k])
                       for k in range(factors.shape[1])])
    return {"explicitness_train": scores[:, 0].mean(), "explicitness_test": scores[:, 1].mean()}
  raise ValueError(name)


def our_metric(name: str, codes, factors, tr, te, n_jobs=None):
  from decompjax.metrics import evaluate_all  # pylint: disable=g-import-not-at-top
  out = evaluate_all(codes, factors, metrics=[name], split=(tr, te), n_jobs=n_jobs)
  return {k: v for k, v in out.items() if k not in ("num_train", "num_test", "irs_num_active_dims")}


def _timed(fn):
  start = time.perf_counter()
  out = fn()
  return out, time.perf_counter() - start


def compare(rounds: int = ROUNDS, metrics=METRICS, n_jobs=None, log=print) -> dict | None:
  """Per metric: {'ours': {key: value}, 'dlib': {...}, 'dlib_spread': {...}, 't_ours': [s], 't_dlib': [s]}."""
  mods = load_dlib()
  if mods is None:
    return None
  codes, factors = make_data()
  perm = np.random.default_rng(0).permutation(N)
  tr, te = perm[:NUM_TRAIN], perm[NUM_TRAIN:NUM_TRAIN + NUM_TEST]
  from decompjax.metrics import gbt  # pylint: disable=g-import-not-at-top
  if gbt.available():  # compile (or load the cached) GBT kernel outside the timed calls
    gbt.fit_predict(codes[:50], factors[:50, 0], codes[:5], n_estimators=1)
  res = {m: {"ours": None, "dlib": None, "dlib_all": [], "t_ours": [], "t_dlib": []} for m in metrics}
  for r in range(rounds):
    for m in metrics:
      runs = [("dlib", lambda m=m: dlib_metric(mods, m, codes, factors, tr, te)),
              ("ours", lambda m=m: our_metric(m, codes, factors, tr, te, n_jobs))]
      for who, fn in (runs if r % 2 == 0 else runs[::-1]):
        out, sec = _timed(fn)
        res[m][f"t_{who}"].append(sec)
        if who == "dlib":
          res[m]["dlib_all"].append(out)
        if res[m][who] is None:
          res[m][who] = out
      log(f"round {r + 1}/{rounds} {m}: dlib {res[m]['t_dlib'][-1]:.2f} s, ours {res[m]['t_ours'][-1]:.2f} s")
  for m in metrics:
    keys = res[m]["dlib"].keys()
    res[m]["dlib_spread"] = {k: float(np.ptp([o[k] for o in res[m]["dlib_all"]])) for k in keys}
  return res


def _ratios(t_dlib, t_ours):
  q = np.array(t_dlib) / np.array(t_ours)
  return float(q.min()), float(np.median(q)), float(q.max())


def run(rounds: int = ROUNDS) -> list[dict]:
  res = compare(rounds)
  if res is None:
    return [{"name": "metrics_vs_dlib/skipped", "value": "disentanglement_lib not installed (pip install .[bench])",
             "unit": ""}]
  rows = [{"name": "metrics_vs_dlib/config", "value": f"N={N} K={len(FACTOR_SIZES)} train={NUM_TRAIN} "
           f"test={NUM_TEST} rounds={rounds}", "unit": ""},
          {"name": "metrics_vs_dlib/cpu_count", "value": os.cpu_count(), "unit": "cores"}]
  total_d = np.sum([res[m]["t_dlib"] for m in res], axis=0)
  total_o = np.sum([res[m]["t_ours"] for m in res], axis=0)
  for m, r in res.items():
    lo, med, hi = _ratios(r["t_dlib"], r["t_ours"])
    name = f"metrics_vs_dlib/{m}"
    rows.append({"name": f"{name}_speedup_median", "value": round(med, 2), "unit": "x"})
    rows.append({"name": f"{name}_speedup_min", "value": round(lo, 2), "unit": "x"})
    rows.append({"name": f"{name}_time_ours", "value": round(float(np.median(r["t_ours"])), 3), "unit": "s"})
    rows.append({"name": f"{name}_time_dlib", "value": round(float(np.median(r["t_dlib"])), 3), "unit": "s"})
    for k in r["dlib"]:
      diff = float(abs(r["ours"][k] - r["dlib"][k]))
      rows.append({"name": f"metrics_vs_dlib/{k}_absdiff", "value": diff, "unit": ""})
  rows.append({"name": "metrics_vs_dlib/total_speedup_median", "value": round(_ratios(total_d, total_o)[1], 2),
               "unit": "x"})
  return rows


def main(argv: list[str]) -> int:
  rounds = int(argv[0]) if argv else ROUNDS
  print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; N={N}, "
        f"K={len(FACTOR_SIZES)}, train/test {NUM_TRAIN}/{NUM_TEST}, {rounds} alternating rounds")
  res = compare(rounds, log=lambda s: print(s, flush=True))
  if res is None:
    print("SKIPPED: disentanglement_lib is not installed (pip install .[bench], or "
          "pip install --no-deps disentanglement-lib 'gin-config<0.5')")
    return 0
  print(f"\n{'metric':<26} {'ours':>10} {'dlib':>10} {'|diff|':>9} {'dlib spread':>11} {'t ours':>8} "
        f"{'t dlib':>8}  dlib/ours min/med/max")
  total_d = np.sum([res[m]["t_dlib"] for m in res], axis=0)
  total_o = np.sum([res[m]["t_ours"] for m in res], axis=0)
  for m, r in res.items():
    ratio = "/".join(f"{x:.1f}" for x in _ratios(r["t_dlib"], r["t_ours"]))
    for i, k in enumerate(r["dlib"]):
      times = (f"{np.median(r['t_ours']):>7.2f}s {np.median(r['t_dlib']):>7.2f}s  {ratio}" if i == 0 else "")
      print(f"{k:<26} {r['ours'][k]:>10.6f} {r['dlib'][k]:>10.6f} {abs(r['ours'][k] - r['dlib'][k]):>9.1e} "
            f"{r['dlib_spread'][k]:>11.1e} {times}")
  ratio = "/".join(f"{x:.1f}" for x in _ratios(total_d, total_o))
  print(f"{'all six':<26} {'':>10} {'':>10} {'':>9} {'':>11} {np.median(total_o):>7.2f}s "
        f"{np.median(total_d):>7.2f}s  {ratio}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
