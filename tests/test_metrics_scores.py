"""Supervised scores: analytic golden values, dlib formulas transcribed as oracles, behaviour on toy codes."""
import numpy as np
import pytest
from sklearn import svm
from sklearn.metrics import mutual_info_score

from decompjax import metrics as M
from decompjax.metrics.sap import sap_score_matrix_continuous, sap_score_matrix_discrete

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST_GBT = {"n_estimators": 20}


def _toy(n=400, k=3, values=5, noise=0.05, seed=0):
  """Discrete factors [n, k] and an 'identity' code (factor + small noise) [n, k]."""
  rng = np.random.default_rng(seed)
  f = rng.integers(0, values, size=(n, k))
  return f + noise * rng.standard_normal((n, k)), f, rng


# ---- oracles: dlib formulas, written as the straightforward per-pair loops on dlib's [dims, N] layout ----

def _dlib_discretize(target):
  out = np.zeros_like(target)
  for i in range(target.shape[0]):
    out[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], 20)[1][:-1])
  return out


def _dlib_mi(mus, ys):
  m = np.zeros([mus.shape[0], ys.shape[0]])
  for i in range(mus.shape[0]):
    for j in range(ys.shape[0]):
      m[i, j] = mutual_info_score(ys[j, :], mus[i, :])
  return m


def _dlib_mig(mus, ys):
  m = _dlib_mi(_dlib_discretize(mus), ys)
  entropy = np.array([mutual_info_score(ys[j], ys[j]) for j in range(ys.shape[0])])
  sorted_m = np.sort(m, axis=0)[::-1]
  return np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy[:]))


def _dlib_modularity(mi):
  squared_mi = np.square(mi)
  max_squared_mi = np.max(squared_mi, axis=1)
  numerator = np.sum(squared_mi, axis=1) - max_squared_mi
  denominator = max_squared_mi * (squared_mi.shape[1] - 1.)
  with np.errstate(divide="ignore", invalid="ignore"):
    score = 1. - numerator / denominator
  score[max_squared_mi == 0.] = 0.
  return np.mean(score)


def _dlib_irs(gen_factors, latents, diff_quantile=0.99):
  num_gen, num_lat = gen_factors.shape[1], latents.shape[1]
  max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
  cum_deviations = np.zeros([num_lat, num_gen])
  for i in range(num_gen):
    unique_factors = np.unique(gen_factors[:, i], axis=0)
    for k in range(unique_factors.shape[0]):
      match = gen_factors[:, i] == unique_factors[k]
      e_loc = np.mean(latents[match, :], axis=0)
      cum_deviations[:, i] += np.quantile(np.abs(latents[match, :] - e_loc), q=diff_quantile, axis=0)
    cum_deviations[:, i] /= unique_factors.shape[0]
  irs_matrix = 1.0 - cum_deviations / max_deviations[:, np.newaxis]
  return np.average(irs_matrix.max(axis=1), weights=max_deviations)


def _dlib_sap_matrix(mus, ys, mus_test, ys_test, continuous):
  s = np.zeros([mus.shape[0], ys.shape[0]])
  for i in range(mus.shape[0]):
    for j in range(ys.shape[0]):
      if continuous:
        c = np.cov(mus[i, :], ys[j, :], ddof=1)
        s[i, j] = c[0, 1]**2 / (c[0, 0] * c[1, 1]) if c[0, 0] > 1e-12 else 0.
      else:
        clf = svm.LinearSVC(C=0.01, class_weight="balanced", random_state=0)
        clf.fit(mus[i, :][:, np.newaxis], ys[j, :])
        s[i, j] = np.mean(clf.predict(mus_test[i, :][:, np.newaxis]) == ys_test[j, :])
  return s


def _random_case(seed, n=350, d=6, k=3):
  rng = np.random.default_rng(seed)
  f = np.stack([rng.integers(0, v, n) for v in (3, 6, 10)[:k]], axis=1)
  mix = rng.standard_normal((k, d))
  z = f @ mix + rng.standard_normal((n, d)) * rng.uniform(0.2, 3.0, d)
  return z, f


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mig_modularity_irs_match_dlib_transcription(seed):
  z, f = _random_case(seed)
  np.testing.assert_allclose(M.mig(z, f)["mig"], _dlib_mig(z.T, f.T), rtol=1e-10)
  mi = _dlib_mi(_dlib_discretize(z.T), f.T)
  np.testing.assert_allclose(M.modularity(z, f)["modularity"], _dlib_modularity(mi), rtol=1e-10)
  np.testing.assert_allclose(M.mig(z, f)["mutual_info_matrix"], mi, atol=1e-12)
  ys_disc = _dlib_discretize(f.T.astype(np.float64)).T
  np.testing.assert_allclose(M.irs(z, f)["irs"], _dlib_irs(ys_disc, z), rtol=1e-10)


def test_sap_matches_dlib_transcription():
  z, f = _random_case(3, n=240, d=4)
  ours = sap_score_matrix_continuous(z, f.astype(float))
  np.testing.assert_allclose(ours, _dlib_sap_matrix(z.T, f.T, None, None, True), atol=1e-12)
  np.testing.assert_allclose(M.sap(z, f, discrete_factors=False)["sap"],
                             np.mean(np.diff(np.sort(ours, axis=0)[-2:], axis=0)), atol=1e-12)
  tr, te = slice(0, 160), slice(160, 240)
  ours = sap_score_matrix_discrete(z[tr], f[tr], z[te], f[te], np.random.default_rng(0))
  np.testing.assert_allclose(ours, _dlib_sap_matrix(z[tr].T, f[tr].T, z[te].T, f[te].T, False), atol=1e-12)


def test_irs_active_dims_and_dlib_quirk():
  z, f = _random_case(4)
  z = np.hstack([z, np.full((z.shape[0], 1), 2.5)])  # a constant code dim is dropped
  res = M.irs(z, f)
  assert res["num_active_dims"] == 6.0
  assert res["irs_matrix"].shape == (6, 3)
  compat = M.irs(z, f, dlib_compat=True)
  np.testing.assert_allclose(compat["num_active_dims"], np.sum(z[:, :6]))  # dlib sums values, not dims
  assert compat["irs"] == res["irs"]
  assert M.irs(np.full_like(z, 1.0), f)["irs"] == 0.0


# ---- analytic golden values (specs/jax_practice.md Sec. 1.4 and dlib's unit tests) ----

def test_dci_golden_values():
  eye = np.diag(5. * np.ones(5))
  two = np.hstack([eye, eye])
  np.testing.assert_allclose(M.disentanglement(two), 1. - np.log(2) / np.log(10))
  np.testing.assert_allclose(M.completeness(two), 1.0)
  np.testing.assert_allclose(M.disentanglement(eye), 1.0)
  np.testing.assert_allclose(M.completeness(np.vstack([eye, eye])), 1. - np.log(2) / np.log(10))
  np.testing.assert_allclose(M.disentanglement(np.array([[1., 0.], [0., 1.], [0., 0.]])), 1.0)
  np.testing.assert_allclose(M.disentanglement(np.zeros((10, 10))), 0.0, atol=1e-7)
  np.testing.assert_allclose(M.completeness(np.zeros((10, 10))), 0.0, atol=1e-7)


def test_modularity_golden_values():
  eye = np.diag(5. * np.ones(5))
  np.testing.assert_allclose(M.modularity_from_mi(np.array([[1., 0.], [0., 1.], [0., 0.]]))[0], 2. / 3.)
  np.testing.assert_allclose(M.modularity_from_mi(np.hstack([eye, eye]))[0], 1. - 1. / 9)
  np.testing.assert_allclose(M.modularity_from_mi(eye)[0], 1.0)
  np.testing.assert_allclose(M.modularity_from_mi(np.zeros((10, 10)))[0], 0.0)
  np.testing.assert_allclose(M.modularity_from_mi(np.vstack([eye, eye]))[0], 1.0)


# ---- behaviour on identity / duplicated / mixed codes ----

def test_identity_vs_duplicated_vs_mixed():
  z, f, rng = _toy(n=600)
  ident = M.mig(z, f)["mig"]
  dup = M.mig(np.hstack([z, z]), f)["mig"]
  mixed = M.mig(z @ rng.standard_normal((3, 3)), f)["mig"]
  assert ident > 0.9 and dup < 0.05 and mixed < ident - 0.3
  assert M.modularity(z, f)["modularity"] > 0.95
  assert M.modularity(np.hstack([z, z]), f)["modularity"] > 0.95  # modularity ignores redundancy
  assert M.jemmig(z, f)["jemmig"] > M.jemmig(np.hstack([z, z]), f)["jemmig"]
  assert M.dcimig(z, f)["dcimig"] > 0.9
  assert M.irs(z, f)["irs"] > 0.9
  assert M.sap(z, f, discrete_factors=False)["sap"] > 0.9
  assert M.sap(np.hstack([z, z]), f, discrete_factors=False)["sap"] < 0.05


def test_invariance_to_permutation_and_positive_scaling():
  z, f = _random_case(5)
  perm = np.array([3, 0, 5, 1, 4, 2])
  scale = np.array([4.0, 0.5, 2.0, 8.0, 0.25, 1.0])  # powers of two: bin edges scale exactly
  for fn, key in [(M.mig, "mig"), (M.modularity, "modularity"), (M.jemmig, "jemmig"), (M.dcimig, "dcimig"),
                  (M.irs, "irs"), (lambda c, y: M.sap(c, y, discrete_factors=False), "sap")]:
    base = fn(z, f)[key]
    np.testing.assert_allclose(fn(z[:, perm], f)[key], base, rtol=1e-10, err_msg=key)
    # IRS weights latents by their spread, so it is only invariant to one common scale
    s = 4.0 if key == "irs" else scale
    np.testing.assert_allclose(fn(z * s, f)[key], base, rtol=1e-10, err_msg=key)
  tc = M.unsupervised_metrics(z)["gaussian_total_correlation"]
  np.testing.assert_allclose(M.unsupervised_metrics(z[:, perm] * scale)["gaussian_total_correlation"], tc, rtol=1e-9)
  np.testing.assert_allclose(M.mean_pairwise_mutual_info(z * scale)["mutual_info_score"],
                             M.mean_pairwise_mutual_info(z)["mutual_info_score"], rtol=1e-10)


def test_dci_gbt_identity_duplicated_and_shapes():
  z, f, rng = _toy(n=300)
  res = M.dci(z, f, num_train=200, num_test=100, gbt_kwargs=FAST_GBT, seed=0)
  assert res["importance_matrix"].shape == (3, 3)
  assert res["disentanglement"] > 0.9 and res["completeness"] > 0.9
  assert res["informativeness_test"] > 0.9  # an accuracy
  dup = M.dci(np.hstack([z, z + 0.01 * rng.standard_normal(z.shape)]), f, num_train=200, num_test=100,
              gbt_kwargs=FAST_GBT, seed=0)
  assert dup["disentanglement"] > 0.9
  assert abs(dup["completeness"] - (1 - np.log(2) / np.log(6))) < 0.2
  again = M.dci(z, f, num_train=200, num_test=100, gbt_kwargs=FAST_GBT, seed=0)
  assert again["disentanglement"] == res["disentanglement"]  # same seed, same result


def test_dci_regression_importances():
  rng = np.random.default_rng(6)
  f = rng.uniform(size=(240, 2))
  z = np.hstack([f * [2.0, -3.0], 0.1 * rng.standard_normal((240, 1))])
  lasso = M.dci(z, f, importance="lasso", num_train=160, num_test=80, cv_folds=3)
  assert lasso["importance_matrix"].shape == (3, 2)
  assert lasso["disentanglement"] > 0.9 and lasso["informativeness_test"] > 0.9
  rf = M.dci(z, f, importance="random_forest", num_train=160, num_test=80, cv_folds=3, rf_max_depth=(4,),
             rf_max_features=(1.0,))
  assert rf["disentanglement"] > 0.5 and rf["informativeness_train"] > 0.8


def test_explicitness():
  z, f, rng = _toy(n=400)
  good = M.explicitness(z, f, num_train=250, num_test=150)
  bad = M.explicitness(rng.standard_normal(z.shape), f, num_train=250, num_test=150)
  assert good["explicitness_test"] > 0.9 and abs(bad["explicitness_test"] - 0.5) < 0.1
  resc = M.explicitness(z, f, num_train=250, num_test=150, rescale=True)
  np.testing.assert_allclose(resc["explicitness_test"], (good["explicitness_test"] - 0.5) / 0.5)


def test_discrete_sap_identity_beats_noise():
  z, f, rng = _toy(n=400, values=2)
  good = M.sap(z, f, num_train=250, num_test=150)
  noise = M.sap(rng.standard_normal(z.shape), f, num_train=250, num_test=150)["sap"]
  np.testing.assert_allclose(np.diag(good["sap_score_matrix"]), 1.0)
  # the balanced binary classifier on an unrelated code scores ~0.5, so the identity gap is ~0.5
  assert good["sap"] > 0.4 and noise < 0.15


def test_continuous_factors_are_discretised():
  rng = np.random.default_rng(7)
  f = rng.uniform(size=(500, 2))
  z = np.hstack([f, rng.standard_normal((500, 1))])
  assert M.mig(z, f, discrete_factors=False)["mig"] > 0.7
  assert M.dcimig(z, f, discrete_factors=False)["dcimig"] > 0.7


def test_unsupervised_scores():
  rho = 0.6
  cov = np.array([[1.0, rho], [rho, 1.0]])
  np.testing.assert_allclose(M.gaussian_total_correlation(cov), -0.5 * np.log(1 - rho**2))
  cov4 = 4.0 * cov
  np.testing.assert_allclose(M.gaussian_total_correlation_normalized(cov4),
                             -0.5 * np.log(1 - rho**2) / (2 * abs(np.log(4.0 + 1e-8))))
  rng = np.random.default_rng(8)
  x = rng.standard_normal((2000, 3))
  ind = M.unsupervised_metrics(x)
  dup = M.unsupervised_metrics(np.hstack([x, x[:, :1] + 0.05 * rng.standard_normal((2000, 1))]))
  assert ind["gaussian_total_correlation"] < 0.01 and dup["gaussian_total_correlation"] > 1.0
  assert dup["mutual_info_score"] > 2 * ind["mutual_info_score"]
  assert ind["mutual_info_matrix"].shape == (3, 3) and np.all(np.diag(ind["mutual_info_matrix"]) == 0)
  with_const = M.unsupervised_metrics(np.hstack([x, np.ones((2000, 1))]))
  assert with_const["num_active_dims"] == 3.0 and np.isfinite(with_const["gaussian_total_correlation"])
