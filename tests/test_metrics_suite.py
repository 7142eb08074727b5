"""evaluate_all, sampler-based scores (FactorVAE / BetaVAE), the SynTone compat protocol and the heatmap plots."""
import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mutual_info_score, r2_score
from sklearn.preprocessing import minmax_scale

from decompjax import metrics as M
from decompjax.metrics import plots, syntone_compat

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _grid(values=(3, 4), reps=4, noise=0.05, seed=0):
  """Every factor combination `reps` times; identity codes plus one pure-noise dim."""
  rng = np.random.default_rng(seed)
  grid = np.stack(np.meshgrid(*[np.arange(v) for v in values], indexing="ij"), -1).reshape(-1, len(values))
  f = np.repeat(grid, reps, axis=0)
  z = np.hstack([f + noise * rng.standard_normal(f.shape), rng.standard_normal((f.shape[0], 1))])
  return z, f, rng


def test_evaluate_all_keys_skip_flags_and_determinism():
  z, f, _ = _grid(reps=20)
  kw = dict(num_train=150, num_test=90, gbt_kwargs={"n_estimators": 10}, seed=3)
  out = M.evaluate_all(z, f, **kw)
  expected = {"mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness_train",
              "dci_informativeness_test", "irs", "irs_num_active_dims", "modularity", "explicitness_train",
              "explicitness_test", "jemmig", "dcimig", "gaussian_total_correlation", "gaussian_total_correlation_norm",
              "gaussian_wasserstein_correlation", "gaussian_wasserstein_correlation_norm", "mutual_info_score",
              "factor_vae_train_accuracy", "factor_vae_eval_accuracy", "factor_vae_num_active_dims",
              "factor_vae_skipped", "beta_vae_train_accuracy", "beta_vae_eval_accuracy", "beta_vae_skipped",
              "num_train", "num_test"}
  assert set(out) == expected
  assert all(type(v) is float for v in out.values())
  assert out["factor_vae_skipped"] == 1.0 and out["beta_vae_skipped"] == 1.0
  assert math.isnan(out["factor_vae_eval_accuracy"]) and math.isnan(out["beta_vae_eval_accuracy"])
  assert out["mig"] > 0.8 and out["dci_disentanglement"] > 0.8
  assert (out["num_train"], out["num_test"]) == (150.0, 90.0)
  again = M.evaluate_all(z, f, **kw)
  assert again == pytest.approx(out, nan_ok=True)
  subset = M.evaluate_all(z, f, metrics=["sap", "mig"], **kw)
  assert set(subset) == {"sap", "mig", "num_train", "num_test"}
  assert subset["sap"] == out["sap"]  # per-metric seeds do not depend on the subset


def test_evaluate_all_with_sampler_and_timings():
  z, f, _ = _grid(reps=3)
  sampler = M.grid_sampler(z, f)
  out = M.evaluate_all(z, f, metrics=["factor_vae", "beta_vae"], sampler=sampler, sampler_num_train=150,
                       sampler_num_eval=80, sampler_batch_size=16, timings=True)
  assert out["factor_vae_skipped"] == 0.0 and out["beta_vae_skipped"] == 0.0
  assert out["factor_vae_eval_accuracy"] > 0.9 and out["beta_vae_eval_accuracy"] > 0.9
  assert out["time_factor_vae_s"] >= 0.0


def test_grid_sampler_lookup_and_coverage_error():
  z, f, rng = _grid(reps=2)
  sampler = M.grid_sampler(z, f)
  assert sampler.factor_sizes == (3, 4)
  rows = sampler.sample_factors(50, rng)
  codes = sampler.codes_for(rows, rng)
  np.testing.assert_allclose(codes[:, :2], rows, atol=0.3)  # identity codes of the requested factors
  with pytest.raises(ValueError, match="does not cover the factor grid"):
    keep = ~((f[:, 0] == 0) & (f[:, 1] == 0))  # every value still occurs, but the (0, 0) cell is empty
    M.grid_sampler(z[keep], f[keep])


def test_factor_vae_and_beta_vae_scores():
  z, f, rng = _grid(reps=3)
  z_good = np.hstack([z, np.full((z.shape[0], 1), 7.0)])  # a collapsed dim is pruned
  good = M.factor_vae_score(M.grid_sampler(z_good, f), num_train=200, num_eval=100, num_variance_estimate=300,
                            batch_size=16, seed=0)
  assert good["eval_accuracy"] > 0.95 and good["num_active_dims"] == 3.0
  compat = M.factor_vae_score(M.grid_sampler(z_good, f), num_train=200, num_eval=100, num_variance_estimate=300,
                              batch_size=16, seed=0, dlib_compat=True)
  assert compat["num_active_dims"] == 4.0  # dlib reports the mask length
  assert compat["eval_accuracy"] == good["eval_accuracy"]  # subset-position votes give the same accuracy
  noise = M.factor_vae_score(M.grid_sampler(rng.standard_normal(z.shape), f), num_train=200, num_eval=100,
                             num_variance_estimate=300, batch_size=16, seed=0)
  assert noise["eval_accuracy"] < 0.75
  b_good = M.beta_vae_score(M.grid_sampler(z, f), num_train=200, num_eval=100, batch_size=16, seed=0)
  b_noise = M.beta_vae_score(M.grid_sampler(rng.standard_normal(z.shape), f), num_train=200, num_eval=100,
                             batch_size=16, seed=0)
  assert b_good["eval_accuracy"] > 0.95 and b_noise["eval_accuracy"] < 0.75
  assert M.beta_vae_score(M.grid_sampler(z, f), num_train=200, num_eval=100, batch_size=16, seed=0) == b_good


def test_sampler_shape_check():
  bad = M.FactorSampler((2, 3), lambda fac, rng: np.zeros((fac.shape[0] + 1, 2)))
  with pytest.raises(ValueError, match="returned shape"):
    M.factor_vae_score(bad, num_train=5, num_eval=5, num_variance_estimate=10)
  with pytest.raises(ValueError, match="factor_sizes"):
    M.FactorSampler((1,), lambda fac, rng: fac)


# ---- SynTone compat: the original (ubisoft) code transcribed with pyitlib replaced by its plug-in formulas ----

def _bits_mi(x, y):
  return mutual_info_score(x, y) / math.log(2)


def _bits_h(x):
  return mutual_info_score(x, x) / math.log(2)


def _bits_joint_h(x, y):
  _, counts = np.unique(np.stack([x, y], 1), axis=0, return_counts=True)
  p = counts / counts.sum()
  return float(-np.sum(p * np.log2(p)))


def _bin(x, nb=10):
  return np.digitize(minmax_scale(x), np.linspace(0, 1, nb + 1)[:-1], right=False).astype(int)


def _orig_mig(factors, codes):
  f, c = _bin(factors), _bin(codes)
  m = np.array([[_bits_mi(f[:, i], c[:, j]) / _bits_h(c[:, j]) for j in range(c.shape[1])]
                for i in range(f.shape[1])])
  return np.mean([np.sort(m[i])[-1] - np.sort(m[i])[-2] for i in range(m.shape[0])])


def _orig_jemmig(factors, codes):
  f, c = _bin(factors), _bin(codes)
  total = 0
  for i in range(f.shape[1]):
    mi = np.array([_bits_mi(f[:, i], c[:, j]) for j in range(c.shape[1])])
    je = np.array([_bits_joint_h(f[:, i], c[:, j]) for j in range(c.shape[1])])
    idx = np.argsort(mi)[-1]
    total += 1 - (je[idx] - np.sort(mi)[-1] + np.sort(mi)[-2]) / (_bits_h(f[:, i]) + np.log2(10))
  return total / f.shape[1]


def _orig_dcimig(factors, codes):
  f, c = _bin(factors), _bin(codes)
  m = np.array([[_bits_mi(f[:, i], c[:, j]) for j in range(c.shape[1])] for i in range(f.shape[1])])
  for j in range(c.shape[1]):
    s, mx = np.sort(m[:, j]), np.argmax(m[:, j])
    m[:, j] = 0
    m[mx, j] = s[-1] - s[-2]
  return sum(np.max(m[i]) for i in range(f.shape[1])) / sum(_bits_h(f[:, i]) for i in range(f.shape[1]))


def _orig_modularity(factors, codes):
  f, c = _bin(factors), _bin(codes)
  m = np.array([[_bits_mi(f[:, i], c[:, j]) for j in range(c.shape[1])] for i in range(f.shape[1])])
  total = 0
  for j in range(c.shape[1]):
    k = np.argmax(m[:, j])
    num = sum(m[i, j]**2 for i in range(f.shape[1]) if i != k)
    total += 1 - num / (m[k, j]**2 * (f.shape[1] - 1))
  return total / c.shape[1]


def _orig_sap(factors, codes):
  s = np.zeros((factors.shape[1], codes.shape[1]))
  for i in range(factors.shape[1]):
    for j in range(codes.shape[1]):
      reg = LinearRegression().fit(codes[:, j:j + 1], factors[:, i:i + 1])
      s[i, j] = max(0, r2_score(factors[:, i], reg.predict(codes[:, j:j + 1])))
  return np.mean([np.sort(s[i])[-1] - np.sort(s[i])[-2] for i in range(s.shape[0])])


def _syntone_like(seed=0, n=400):
  """8 sampled latents and 3 GT factors (waveform 4, frequency 40, amplitude 5) with some latent structure."""
  rng = np.random.default_rng(seed)
  gt = np.stack([rng.integers(0, 4, n), rng.choice(np.linspace(440, 8000, 40), n),
                 rng.choice(np.linspace(0.1, 1.0, 5), n)], axis=1)
  mix = rng.standard_normal((3, 8)) * (rng.uniform(size=(3, 8)) > 0.6)
  z = minmax_scale(gt) @ mix + 0.3 * rng.standard_normal((n, 8))
  return z, gt


@pytest.mark.parametrize("seed", [0, 1])
def test_syntone_compat_matches_original_transcription(seed):
  z, gt = _syntone_like(seed)
  for a, b in [(z, gt), (gt, z)]:  # the swapped (original) and the correct orientation
    np.testing.assert_allclose(syntone_compat.mig(a, b), _orig_mig(a, b), rtol=1e-9)
    np.testing.assert_allclose(syntone_compat.jemmig(a, b), _orig_jemmig(a, b), rtol=1e-9)
    np.testing.assert_allclose(syntone_compat.dcimig(a, b), _orig_dcimig(a, b), rtol=1e-9)
    np.testing.assert_allclose(syntone_compat.modularity(a, b), _orig_modularity(a, b), rtol=1e-9)
    np.testing.assert_allclose(syntone_compat.sap(a, b), _orig_sap(a, b), rtol=1e-9, atol=1e-12)


def test_syntone_compat_suite_swaps_arguments():
  z, gt = _syntone_like(2)
  out = syntone_compat.syntone_compat_suite(z, gt)
  assert set(out) == {"mig", "sap", "dcimig", "jemmig", "modularity"}
  assert out["mig"] == syntone_compat.mig(z, gt)  # factors := latents, codes := GT, as the original evaluator
  assert out["dcimig"] == syntone_compat.dcimig(z, gt)
  assert out["modularity"] == syntone_compat.modularity(z, gt)
  # dividing by the latents' summed entropies is what made the published DCIMIG tiny
  assert out["dcimig"] < syntone_compat.dcimig(gt, z)
  z_sampled = syntone_compat.reparameterize(z, np.full_like(z, -2.0), seed=0)
  assert z_sampled.shape == z.shape and not np.allclose(z_sampled, z)
  with_dci = syntone_compat.syntone_compat_suite(z, gt, include_dci=True)
  assert 0.0 <= with_dci["dci_disentanglement"] <= 1.0


def test_syntone_dci_quirks():
  # factor x code importances; code 1 has zero importance -> the original stops there, code 2 never counts
  e = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
  d, c = syntone_compat.dci_from_importance(e)
  assert d == pytest.approx(1.0)  # only code 0 (fully disentangled) is weighted
  assert M.disentanglement(e.T) == pytest.approx(1.0 / 3.0, abs=1e-6)  # dlib weighting over all codes
  assert c == pytest.approx(np.mean([1 - math.log(2, 3) * 1.0, 1.0]))  # unweighted mean over factors
  rng = np.random.default_rng(0)
  f = rng.uniform(size=(200, 2))
  d, c, i = syntone_compat.dci(f, np.hstack([f, rng.uniform(size=(200, 1))]), cv_folds=3)
  assert d > 0.9 and i > 0.9
  with pytest.raises(ValueError, match="continuous"):
    syntone_compat.dci(f, f, continuous_factors=False)


def test_plots_write_pngs(tmp_path):
  z, f, _ = _grid(reps=3)
  res = M.mig(z, f)
  p1 = plots.plot_mi_matrix(res["mutual_info_matrix"], str(tmp_path / "sub" / "mi.png"), factor_names=["a", "b"])
  p2 = plots.plot_importance_matrix(np.abs(np.random.default_rng(0).standard_normal((3, 2))),
                                    str(tmp_path / "imp.png"))
  for p in (p1, p2):
    with open(p, "rb") as fh:
      assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
  with pytest.raises(ValueError, match="factor names"):
    plots.plot_mi_matrix(res["mutual_info_matrix"], str(tmp_path / "x.png"), factor_names=["a"])


def test_evaluate_all_continuous_factors():
  rng = np.random.default_rng(9)
  f = rng.uniform(size=(300, 2))
  z = np.hstack([f * [3.0, -1.0], rng.standard_normal((300, 2))])
  out = M.evaluate_all(z, f, discrete_factors=False, metrics=["mig", "sap", "dci", "dcimig"], num_train=200,
                       num_test=100, gbt_kwargs={"n_estimators": 5})
  assert out["mig"] > 0.6 and out["dcimig"] > 0.6
  # continuous SAP = squared correlation gap, deterministic
  assert out["sap"] == pytest.approx(M.sap(z, f, discrete_factors=False)["sap"])
  assert 0.0 <= out["dci_disentanglement"] <= 1.0
