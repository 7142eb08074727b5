"""DCI's fast GBT path: same values as sklearn / dlib's formula on a given split, one fit per factor, parallel
fits that do not change results, the named hist_gbt alternative, and the `split=` option of the suite."""
import importlib

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from decompjax import metrics as M
from decompjax.metrics import gbt

dci_mod = importlib.import_module("decompjax.metrics.dci")  # the package exports the function under that name

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.skipif(not gbt.available(), reason="numba missing: DCI falls back to sklearn")]


# min_samples_leaf=10 keeps nodes large: no two codes split a node equally well. Where they do (small pure nodes;
# common with sklearn's defaults), sklearn's choice depends on its random feature order and summation order, and
# so does disentanglement_lib's DCI (which passes no random_state): then values agree only to ~1e-3.
TIE_FREE = {"n_estimators": 10, "min_samples_leaf": 10}


def _overlapping(n=300, seed=2):
  """Codes [n, 3] (continuous, noisy) and factors [n, 2] (binary, 3 classes) that overlap."""
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((n, 3))
  f0 = (x[:, 0] + 0.7 * x[:, 1] + rng.standard_normal(n) > 0).astype(int)
  f1 = np.digitize(x[:, 2] - 0.5 * x[:, 0] + rng.standard_normal(n), [-0.5, 0.5])
  return x, np.stack([f0, f1], 1)


def _dlib_dci(x_train, y_train, x_test, y_test, gbt_kwargs):
  """dlib's `_compute_dci` transcribed (its [D, N] layout), with sklearn's GBT as the oracle model."""
  mus_train, ys_train, mus_test, ys_test = x_train.T, y_train.T, x_test.T, y_test.T
  r = np.zeros((mus_train.shape[0], ys_train.shape[0]))
  acc_train, acc_test = [], []
  for i in range(ys_train.shape[0]):
    model = GradientBoostingClassifier(random_state=0, **gbt_kwargs).fit(mus_train.T, ys_train[i])
    r[:, i] = np.abs(model.feature_importances_)
    acc_train.append(np.mean(model.predict(mus_train.T) == ys_train[i]))
    acc_test.append(np.mean(model.predict(mus_test.T) == ys_test[i]))
  import scipy.stats
  def weighted(per, axis):
    w = r if r.sum() != 0 else np.ones_like(r)
    return np.sum(per * w.sum(axis=axis) / w.sum())
  d = weighted(1. - scipy.stats.entropy(r.T + 1e-11, base=r.shape[1]), 1)
  c = weighted(1. - scipy.stats.entropy(r + 1e-11, base=r.shape[0]), 0)
  return {"disentanglement": d, "completeness": c, "informativeness_train": np.mean(acc_train),
          "informativeness_test": np.mean(acc_test)}


@pytest.mark.parametrize("factor", [0, 1])
def test_presorted_gbt_is_sklearns_model(factor):
  x, f = _overlapping()
  fits = [GradientBoostingClassifier(random_state=r, **TIE_FREE).fit(x[:200], f[:200, factor]) for r in (0, 1)]
  ours = [gbt.fit_predict(x[:200], f[:200, factor], x[200:], seed=s, **TIE_FREE) for s in (0, 1)]
  # no ties: neither sklearn's nor our tie-breaking seed matters (else the comparison below would be luck)
  np.testing.assert_allclose(fits[0].feature_importances_, fits[1].feature_importances_, rtol=1e-12, atol=1e-14)
  np.testing.assert_array_equal(ours[0][0], ours[1][0])
  fi, p_train, p_test = ours[0]
  np.testing.assert_allclose(fi, fits[0].feature_importances_, rtol=1e-9, atol=1e-12)
  np.testing.assert_array_equal(p_train, fits[0].predict(x[:200]))
  np.testing.assert_array_equal(p_test, fits[0].predict(x[200:]))


def test_dci_on_a_given_split_equals_dlib_formula():
  x, f = _overlapping()
  tr, te = np.arange(200), np.arange(200, 300)  # the rows checked tie-free above
  ref = _dlib_dci(x[tr], f[tr], x[te], f[te], TIE_FREE)
  for impl in ("presorted", "sklearn"):
    ours = M.dci(x, f, split=(tr, te), gbt_kwargs=TIE_FREE, gbt_impl=impl)
    for key, value in ref.items():
      np.testing.assert_allclose(ours[key], value, rtol=1e-9, atol=1e-12, err_msg=f"{impl} {key}")


def test_dci_agrees_with_disentanglement_lib_within_its_own_spread():
  bench = pytest.importorskip("benchmarks.bench_metrics_vs_dlib")
  mods = bench.load_dlib()
  if mods is None:
    pytest.skip("disentanglement_lib not installed (pip install .[bench])")
  x, f = _overlapping()
  tr, te = np.arange(200), np.arange(200, 300)
  keys = ("disentanglement", "completeness", "informativeness_train", "informativeness_test")
  runs = []
  for s in range(3):  # dlib's GradientBoostingClassifier() draws its tie-breaking from numpy's global RNG
    np.random.seed(s)
    r = mods["dci"]._compute_dci(x[tr].T, f[tr].T, x[te].T, f[te].T)
    runs.append([r[k] for k in keys])
  runs = np.array(runs)
  ours = M.dci(x, f, split=(tr, te))
  for i, key in enumerate(keys):
    spread = np.ptp(runs[:, i])
    assert abs(ours[key] - runs[:, i].mean()) <= 2 * spread + 1e-9, (key, ours[key], runs[:, i])


@pytest.mark.parametrize("impl", ["presorted", "sklearn"])
def test_n_jobs_does_not_change_values(impl):
  x, f = _overlapping(n=240)
  one = M.dci(x, f, num_train=160, num_test=80, gbt_kwargs={"n_estimators": 8}, n_jobs=1, gbt_impl=impl, seed=3)
  two = M.dci(x, f, num_train=160, num_test=80, gbt_kwargs={"n_estimators": 8}, n_jobs=2, gbt_impl=impl, seed=3)
  np.testing.assert_array_equal(one["importance_matrix"], two["importance_matrix"])
  assert (one["informativeness_train"], one["informativeness_test"]) == (two["informativeness_train"],
                                                                         two["informativeness_test"])
  s1 = M.sap(x, f, num_train=160, num_test=80, n_jobs=1, seed=3)["sap_score_matrix"]
  np.testing.assert_array_equal(s1, M.sap(x, f, num_train=160, num_test=80, n_jobs=2, seed=3)["sap_score_matrix"])


def test_train_and_test_informativeness_come_from_one_fit(monkeypatch):
  x, f = _overlapping(n=240)
  calls = []
  real = gbt.fit_predict

  def counting(*args, **kwargs):
    calls.append(1)
    return real(*args, **kwargs)

  monkeypatch.setattr(gbt, "fit_predict", counting)
  M.dci(x, f, num_train=160, num_test=80, gbt_kwargs={"n_estimators": 5}, n_jobs=1)
  assert len(calls) == f.shape[1]

  fits = []

  class Counting(GradientBoostingClassifier):
    def fit(self, *args, **kwargs):
      fits.append(1)
      return super().fit(*args, **kwargs)

  monkeypatch.setattr(dci_mod, "GradientBoostingClassifier", Counting)
  M.dci(x, f, num_train=160, num_test=80, gbt_kwargs={"n_estimators": 5}, n_jobs=1, gbt_impl="sklearn")
  # kwargs the presorted code does not follow go to sklearn's model, still one fit per factor
  M.dci(x, f, num_train=160, num_test=80, gbt_kwargs={"n_estimators": 5, "subsample": 0.5}, n_jobs=1)
  assert len(fits) == 2 * f.shape[1]


def test_hist_gbt_is_a_named_alternative():
  rng = np.random.default_rng(0)
  f = rng.integers(0, 4, size=(300, 2))
  z = np.hstack([f + 0.05 * rng.standard_normal(f.shape), rng.standard_normal((300, 2))])
  # seed 2: the seed evaluate_all(seed=0) gives DCI
  res = M.dci(z, f, importance="hist_gbt", num_train=200, num_test=100, gbt_kwargs={"max_iter": 10}, seed=2)
  r = res["importance_matrix"]
  assert r.shape == (4, 2) and (r >= 0).all()
  assert r[0, 0] > 0.3 and r[1, 1] > 0.3 and r[2:].max() < 0.05  # each factor read from its own code
  assert res["disentanglement"] > 0.8 and res["informativeness_test"] > 0.9
  out = M.evaluate_all(z, f, metrics=["dci"], dci_importance="hist_gbt", num_train=200, num_test=100,
                       gbt_kwargs={"max_iter": 10})
  assert out["dci_disentanglement"] == pytest.approx(res["disentanglement"], abs=1e-12)
  with pytest.raises(ValueError, match="hist_gbt"):
    M.dci(z, f, importance="hist")
  with pytest.raises(ValueError, match="gbt_impl"):
    M.dci(z, f, gbt_impl="fast")


def test_suite_split_option():
  x, f = _overlapping(n=200)
  tr, te = np.arange(0, 200, 2), np.arange(1, 200, 2)
  out = M.evaluate_all(x, f, metrics=["sap", "explicitness"], split=(tr, te))
  assert (out["num_train"], out["num_test"]) == (100.0, 100.0)
  ref = M.sap(np.vstack([x[tr], x[te]]), np.vstack([f[tr], f[te]]), split=(np.arange(100), np.arange(100, 200)),
              seed=1)  # the suite's SAP seed is seed * 1000 + 1
  assert out["sap"] == ref["sap"]
  with pytest.raises(ValueError, match="train indices"):
    M.evaluate_all(x, f, metrics=["dci"], split=(np.arange(200, 300), te))
  with pytest.raises(ValueError, match="pair"):
    M.dci(x, f, split=(tr,))
