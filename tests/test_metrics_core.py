"""Metric building blocks: discretiser, vectorised MI/entropy against sklearn, input validation."""
import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from decompjax import metrics as M
from decompjax.metrics import syntone_compat, utils


def _dlib_histogram_discretize(target_dn, num_bins):
  """dlib utils._histogram_discretize on the [D, N] layout (the oracle)."""
  out = np.zeros_like(target_dn)
  for i in range(target_dn.shape[0]):
    out[i, :] = np.digitize(target_dn[i, :], np.histogram(target_dn[i, :], num_bins)[1][:-1])
  return out


def test_histogram_discretize_matches_dlib():
  rng = np.random.default_rng(0)
  x = np.hstack([rng.standard_normal((257, 3)), rng.exponential(size=(257, 1)), np.full((257, 1), 3.0)])
  ours = M.histogram_discretize(x, 20)
  ref = _dlib_histogram_discretize(x.T.copy(), 20).T
  np.testing.assert_array_equal(ours, ref)
  assert ours.min() >= 1 and ours.max() <= 20
  assert np.all(ours[:, -1] == 11)  # np.histogram widens a zero range by +-0.5: the middle bin


@pytest.mark.filterwarnings("ignore:Clustering metrics expects discrete values")
@pytest.mark.parametrize("block_entries", [None, 64])
def test_vectorised_mi_equals_sklearn_per_pair(monkeypatch, block_entries):
  if block_entries is not None:  # force the blocked path (several bincount blocks)
    monkeypatch.setattr(utils, "_BLOCK_ENTRIES", block_entries)
  rng = np.random.default_rng(1)
  n = 301
  a = np.stack([rng.integers(0, c, n) for c in (2, 7, 20, 13)], axis=1)
  a[:, 3] = a[:, 1] * 3 + 5  # a relabelled copy (MI = H)
  b = np.stack([rng.integers(0, c, n) * 0.5 - 1.0 for c in (3, 11, 1)], axis=1)  # non-integer labels, one constant
  ours = M.discrete_mutual_info(a, b)
  ref = np.array([[mutual_info_score(b[:, j], a[:, i]) for j in range(b.shape[1])] for i in range(a.shape[1])])
  np.testing.assert_allclose(ours, ref, atol=1e-12)
  np.testing.assert_allclose(ours[:, 2], 0.0, atol=0)
  bits = M.discrete_mutual_info(a, b, base=2)
  np.testing.assert_allclose(bits, ref / np.log(2), atol=1e-12)


def test_entropy_and_joint_entropy():
  rng = np.random.default_rng(2)
  x = rng.integers(0, 6, size=(400, 3))
  h = M.discrete_entropy(x)
  ref = [mutual_info_score(x[:, d], x[:, d]) for d in range(3)]
  np.testing.assert_allclose(h, ref, atol=1e-12)
  uniform = np.repeat(np.arange(8), 50)[:, None]
  np.testing.assert_allclose(M.discrete_entropy(uniform, base=2), [3.0], atol=1e-12)
  je = utils.joint_entropy(x, x[:, :1])
  # H(x0, x0) = H(x0); H(x1, x0) >= max(H(x1), H(x0)) for independent columns
  np.testing.assert_allclose(je[0, 0], h[0], atol=1e-12)
  assert je[1, 0] >= max(h[0], h[1]) - 1e-12


def test_self_mi_matrix_diagonal_is_entropy():
  rng = np.random.default_rng(3)
  x = M.histogram_discretize(rng.standard_normal((500, 4)), 20)
  mi = M.discrete_mutual_info(x, x)
  np.testing.assert_allclose(np.diag(mi), M.discrete_entropy(x), atol=1e-12)
  np.testing.assert_allclose(mi, mi.T, atol=1e-12)


def test_syntone_bin_index_matches_original_formula():
  rng = np.random.default_rng(4)
  x = rng.uniform(-3, 5, size=(200, 2))
  from sklearn.preprocessing import minmax_scale
  ref = np.digitize(minmax_scale(x), np.linspace(0, 1, 11)[:-1], right=False).astype(int)
  np.testing.assert_array_equal(syntone_compat.minmax_discretize(x, 10), ref)
  assert set(np.unique(syntone_compat.minmax_discretize(np.array([[0.], [1.], [2.], [3.]]), 10))) == {1, 4, 7, 10}


def _good(n=60):
  rng = np.random.default_rng(5)
  return rng.standard_normal((n, 4)), rng.integers(0, 3, size=(n, 2))


@pytest.mark.parametrize("mutate,match", [
    (lambda c, f: (np.where(np.arange(c.size).reshape(c.shape) == 7, np.nan, c), f), "non-finite.*NaN"),
    (lambda c, f: (np.where(np.arange(c.size).reshape(c.shape) == 3, np.inf, c), f), "non-finite.*Inf"),
    (lambda c, f: (c, np.hstack([f, np.ones((f.shape[0], 1))])), r"column\(s\) \[2\] are constant"),
    (lambda c, f: (c[:10], f[:10]), "only 10 samples for num_bins=20"),
    (lambda c, f: (c[:-1], f), "different numbers of samples: 59 vs 60"),
    (lambda c, f: (c[:, 0], f), "codes must be a 2-D array.*ndim=1"),
    (lambda c, f: (c, f[:, :, None]), "factors must be a 2-D array.*ndim=3"),
])
@pytest.mark.parametrize("fn", [
    lambda c, f: M.mig(c, f),
    lambda c, f: M.modularity(c, f),
    lambda c, f: M.irs(c, f),
    lambda c, f: M.jemmig(c, f),
    lambda c, f: M.evaluate_all(c, f, metrics=["mig"]),
])
def test_bad_inputs_raise_clear_value_errors(mutate, match, fn):
  codes, factors = mutate(*_good())
  with pytest.raises(ValueError, match=match):
    fn(codes, factors)


def test_other_validation_paths():
  codes, factors = _good()
  with pytest.raises(ValueError, match="at least 2 code dimensions"):
    M.mig(codes[:, :1], factors)
  with pytest.raises(ValueError, match="unknown metric"):
    M.evaluate_all(codes, factors, metrics=["mig", "nope"])
  with pytest.raises(ValueError, match="importance must be"):
    M.dci(codes, factors, importance="svm")
  with pytest.raises(ValueError, match="seed must be"):
    M.sap(codes, factors, seed=None)
  with pytest.raises(ValueError, match="non-finite"):
    syntone_compat.mig(np.full((30, 2), np.nan), factors[:30])
  with pytest.raises(ValueError, match="pairwise MI needs at least 2"):
    M.mean_pairwise_mutual_info(codes[:, :1])


def test_split_sizes():
  assert utils.split_sizes(20000, 10000, 5000) == (10000, 5000)
  assert utils.split_sizes(300, 10000, 5000) == (200, 100)  # shrunk proportionally
  assert utils.split_sizes(100, None, None) == (80, 20)
  tr, te = utils.train_test_indices(50, 30, 20, np.random.default_rng(0))
  assert len(set(tr) | set(te)) == 50 and not set(tr) & set(te)
