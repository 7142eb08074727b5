"""beta-TCVAE estimators (MSS, MWS) against a loop-by-loop numpy transcription, their telescoping identity and
known closed forms; FactorVAE permutation and discriminator losses; global (not per-device) batch statistics on
8 devices; the beta-TCVAE family trained through the generic trainer on 1 and 8 devices."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P
from scipy.special import logsumexp

from decompjax import config_utils, sharding, train
from decompjax.data import syntone
from decompjax.families.syntone_vae import data as sv_data, family as sv_family, loss as sv_loss
from decompjax.families.syntone_vae.model import Discriminator
from decompjax.losses import factor, tc


def _inputs(b=6, d=3, seed=0):
  rng = np.random.default_rng(seed)
  mu = rng.normal(size=(b, d)).astype(np.float32)
  logvar = rng.normal(scale=0.5, size=(b, d)).astype(np.float32)
  z = (mu + np.exp(0.5 * logvar) * rng.normal(size=(b, d))).astype(np.float32)
  return z, mu, logvar


def _np_weights(b, n, estimator):
  """The weight each row's sample gives each posterior in the batch, written out by hand."""
  m = b - 1
  strat = (n - m) / (n * m)
  if estimator == "mws":
    return np.full((b, b), 1.0 / (b * n))
  if estimator == "mss_paper":
    w = np.full((b, b), 1.0 / m)
    for i in range(b):
      w[i, i] = 1.0 / n
      w[i, (i + 1) % b] = strat
    return w
  # The original torch code, line for line (numpy views share torch's flat-view semantics).
  w = np.full((b, b), 1.0 / m)
  w.reshape(-1)[::m + 1] = 1.0 / n
  w.reshape(-1)[1::m + 1] = strat
  w[m - 1, 0] = strat
  return w


def _np_terms(z, mu, logvar, n, estimator):
  z, mu, logvar = (np.asarray(a, np.float64) for a in (z, mu, logvar))
  b, d = z.shape
  w = _np_weights(b, n, estimator)

  def logq(i, j, k):  # log q(z_ik | x_j)
    return -0.5 * (np.log(2 * np.pi) + logvar[j, k] + (z[i, k] - mu[j, k]) ** 2 / np.exp(logvar[j, k]))

  mi, tcs, dw = [], [], []
  for i in range(b):
    log_qzx = sum(logq(i, i, k) for k in range(d))
    log_pz = sum(-0.5 * (np.log(2 * np.pi) + z[i, k] ** 2) for k in range(d))
    # The original (mss) adds log W to each dimension before summing them: the joint carries D * log W.
    power = d if estimator == "mss" else 1
    log_qz = logsumexp([sum(logq(i, j, k) for k in range(d)) for j in range(b)], b=w[i] ** power)
    log_prod = sum(logsumexp([logq(i, j, k) for j in range(b)], b=w[i]) for k in range(d))
    mi.append(log_qzx - log_qz)
    tcs.append(log_qz - log_prod)
    dw.append(log_prod - log_pz)
  return {"mi": np.mean(mi), "tc": np.mean(tcs), "dwkl": np.mean(dw)}


@pytest.mark.parametrize("estimator", ["mss", "mss_paper", "mws"])
def test_estimators_match_numpy_transcription(estimator):
  z, mu, logvar = _inputs()
  got = tc.tc_decomposition(jnp.asarray(z), jnp.asarray(mu), jnp.asarray(logvar), 50, estimator)
  want = _np_terms(z, mu, logvar, 50, estimator)
  for k in ("mi", "tc", "dwkl"):
    np.testing.assert_allclose(float(got[k]), want[k], rtol=1e-4, atol=1e-4, err_msg=k)


def test_importance_weights_layouts():
  w_orig = np.exp(np.asarray(tc.log_importance_weight_matrix(5, 100, "original")))
  np.testing.assert_allclose(w_orig, _np_weights(5, 100, "mss"), rtol=1e-6)
  assert np.isclose(w_orig[0, 0], 1 / 100) and np.isclose(w_orig[3, 3], 1 / 4)  # the stride walks column 0
  w_paper = np.exp(np.asarray(tc.log_importance_weight_matrix(5, 100, "paper")))
  np.testing.assert_allclose(np.diag(w_paper), 1 / 100, rtol=1e-6)
  np.testing.assert_allclose(w_paper.sum(1), 1.0, rtol=1e-6)  # a proper mixture per row
  with pytest.raises(ValueError, match="at least 2"):
    tc.log_importance_weight_matrix(1, 100)
  with pytest.raises(ValueError, match="must exceed"):
    tc.log_importance_weight_matrix(8, 7)
  with pytest.raises(ValueError, match="estimator"):
    tc.tc_decomposition(*map(jnp.asarray, _inputs()), 50, "nope")


@pytest.mark.parametrize("estimator", ["mss", "mss_paper", "mws"])
def test_terms_telescope_to_the_sampled_kl(estimator):
  z, mu, logvar = map(jnp.asarray, _inputs(b=16, d=4, seed=1))
  parts = tc.tc_decomposition(z, mu, logvar, 1000, estimator)
  log_pz, _, _, log_qzx = tc.log_densities(z, mu, logvar, 1000, estimator)
  np.testing.assert_allclose(float(parts["mi"] + parts["tc"] + parts["dwkl"]), float(jnp.mean(log_qzx - log_pz)),
                             rtol=1e-5, atol=1e-5)


def test_sampled_kl_is_unbiased_for_the_analytic_kl():
  # E_z[log q(z|x) - log p(z)] = KL(q(z|x) || p(z)): the sum of the three terms estimates the usual KL term.
  z, mu, logvar = map(jnp.asarray, _inputs(b=20000, d=2, seed=2))
  sample = np.asarray(jnp.sum(tc.log_density_gaussian(z, mu, logvar) - tc.log_density_gaussian(z, 0.0, 0.0), axis=1))
  analytic = np.asarray(-0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar), axis=1))
  diff = sample - analytic
  assert abs(diff.mean()) < 4 * diff.std() / np.sqrt(len(diff))


def test_closed_forms_when_every_posterior_is_the_same():
  # q(z|x_j) identical for all j: the aggregate posterior is that Gaussian, so MI = TC = 0 for a proper mixture
  # (mss_paper); MWS's normalisation 1/(B N) gives its known biases MI = log N and TC = (D - 1) log N.
  b, d, n = 12, 3, 500
  rng = np.random.default_rng(3)
  mu = jnp.asarray(np.tile(rng.normal(size=(1, d)), (b, 1)), jnp.float32)
  logvar = jnp.asarray(np.tile(rng.normal(size=(1, d)), (b, 1)), jnp.float32)
  z = mu + jnp.exp(0.5 * logvar) * jnp.asarray(rng.normal(size=(b, d)), jnp.float32)
  paper = tc.tc_decomposition(z, mu, logvar, n, "mss_paper")
  assert abs(float(paper["mi"])) < 1e-4 and abs(float(paper["tc"])) < 1e-4
  mws = tc.tc_decomposition(z, mu, logvar, n, "mws")
  np.testing.assert_allclose(float(mws["mi"]), np.log(n), rtol=1e-5)
  np.testing.assert_allclose(float(mws["tc"]), (d - 1) * np.log(n), rtol=1e-5)


def test_one_latent_has_no_total_correlation():
  z, mu, logvar = map(jnp.asarray, _inputs(b=10, d=1, seed=4))
  for estimator in tc.ESTIMATORS:
    assert abs(float(tc.tc_decomposition(z, mu, logvar, 100, estimator)["tc"])) < 1e-5


def test_loss_weights_and_reductions():
  z, mu, logvar = map(jnp.asarray, _inputs(b=6, d=3, seed=5))
  x = jnp.asarray(np.random.default_rng(6).uniform(size=(6, 4, 4, 1)), jnp.float32)
  x_hat = jnp.clip(x + 0.1, 0, 1)
  parts = tc.tc_decomposition(z, mu, logvar, 50, "mss")
  rec = jnp.sum((x_hat - x) ** 2, axis=(1, 2, 3))
  loss, terms = sv_loss.beta_tcvae_loss(x_hat, x, z, mu, logvar, alpha=2.0, beta=5.0, gamma=0.5, dataset_size=50)
  np.testing.assert_allclose(float(loss), float(rec.mean() + 2 * parts["mi"] + 5 * parts["tc"] + 0.5 * parts["dwkl"]),
                             rtol=1e-5)
  loss_s, _ = sv_loss.beta_tcvae_loss(x_hat, x, z, mu, logvar, alpha=2.0, beta=5.0, gamma=0.5, dataset_size=50,
                                 reduction="syntone")
  np.testing.assert_allclose(float(loss_s - loss), float(rec.sum() - rec.mean()), rtol=1e-5)
  assert set(terms) >= {"recon", "kl", "mi", "tc", "dwkl"}
  with pytest.raises(ValueError, match="reduction"):
    sv_loss.beta_tcvae_loss(x_hat, x, z, mu, logvar, dataset_size=50, reduction="sum")


def _sharded(a, mesh):
  return jax.device_put(a, NamedSharding(mesh, P("data")))


def test_tc_estimator_uses_the_global_batch_on_eight_devices():
  mesh = sharding.make_mesh(8)
  z, mu, logvar = _inputs(b=32, d=4, seed=7)
  f = jax.jit(lambda z, m, l: tc.tc_decomposition(z, m, l, 1000, "mss"))
  one = f(*map(jnp.asarray, (z, mu, logvar)))
  eight = f(*(_sharded(a, mesh) for a in (z, mu, logvar)))
  for k in one:
    np.testing.assert_allclose(float(eight[k]), float(one[k]), rtol=1e-5, atol=1e-5)
  per_device = np.mean([float(tc.tc_decomposition(*map(jnp.asarray, (z[s:s + 4], mu[s:s + 4], logvar[s:s + 4])),
                                                  1000, "mss")["mi"]) for s in range(0, 32, 4)])
  assert abs(per_device - float(one["mi"])) > 1e-2  # a per-device estimator would give a different value


def test_permute_dims_keeps_marginals_and_breaks_rows():
  z = jnp.asarray(np.random.default_rng(8).normal(size=(64, 5)), jnp.float32)
  out = factor.permute_dims(jax.random.key(0), z)
  np.testing.assert_array_equal(np.sort(np.asarray(out), 0), np.sort(np.asarray(z), 0))
  rows_kept = np.mean(np.all(np.asarray(out) == np.asarray(z), axis=1))
  assert rows_kept < 0.1
  cols_same = [np.array_equal(np.argsort(np.asarray(out)[:, 0]), np.argsort(np.asarray(out)[:, k])) for k in (1, 2)]
  assert not any(cols_same)  # each dimension gets its own permutation
  np.testing.assert_array_equal(np.asarray(factor.permute_dims(jax.random.key(0), z)), np.asarray(out))


def test_permutation_is_global_on_eight_devices():
  mesh = sharding.make_mesh(8)
  z = np.arange(64 * 3, dtype=np.float32).reshape(64, 3)  # value // 3 = source row
  f = jax.jit(factor.permute_dims)
  one = np.asarray(f(jax.random.key(1), jnp.asarray(z)))
  eight = f(jax.random.key(1), _sharded(z, mesh))
  np.testing.assert_array_equal(np.asarray(eight), one)
  src_rows = one[:8] // 3  # rows that device 0 holds after the shuffle
  assert (src_rows >= 8).any()  # came from other devices' shards


def test_discriminator_losses_and_architecture():
  logits_real = jnp.asarray([[2.0, -1.0], [0.5, 0.5], [-1.0, 1.0]])
  logits_perm = jnp.asarray([[0.0, 3.0], [1.0, 0.0], [0.2, 0.1]])
  np.testing.assert_allclose(float(factor.tc_estimate(logits_real)), np.mean([3.0, 0.0, -2.0]), rtol=1e-6)

  def ce(l, y):
    l = np.asarray(l, np.float64)
    return np.mean(logsumexp(l, axis=1) - l[np.arange(len(l)), y])

  want = 0.5 * (ce(logits_real, 0) + ce(logits_perm, 1))
  np.testing.assert_allclose(float(factor.discriminator_loss(logits_real, logits_perm)), want, rtol=1e-6)
  # argmax: real rows -> 0, 0 (tie), 1; permuted rows -> 1, 0, 0
  np.testing.assert_allclose(float(factor.discriminator_accuracy(logits_real, logits_perm)), 0.5 * (2 / 3 + 1 / 3))

  shapes = jax.eval_shape(lambda: Discriminator().init(jax.random.key(0), jnp.zeros((1, 8))))["params"]
  assert sum(np.prod(s.shape) for s in jax.tree.leaves(shapes)) == 4_015_002
  assert len(shapes) == 6 and shapes["lin6"]["kernel"].shape == (1000, 2)
  params = Discriminator(hidden_units=1000).init(jax.random.key(0), jnp.zeros((1, 8)))["params"]
  w = np.asarray(params["lin2"]["kernel"])
  assert np.abs(w).max() <= np.sqrt(6 / 1000) + 1e-6 and np.abs(w).max() > 0.9 * np.sqrt(6 / 1000)  # kaiming-uniform
  b = np.asarray(params["lin2"]["bias"])
  assert np.abs(b).max() <= 1 / np.sqrt(1000) and b.std() > 0  # torch's default Linear bias


# --- the beta-TCVAE family through the generic trainer -------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("syntone_data"))


def _config(data_dir, **overrides):
  pairs = [("data.dir", data_dir), ("train.progress", "false"), ("train.eval_at_end", "false")]
  pairs += [(k, str(v)) for k, v in overrides.items()]
  return config_utils.build_config("configs/syntone_beta_tcvae.py:smoke", pairs)


def test_dataset_size_comes_from_the_grid(data_dir):
  config = _config(data_dir)
  train_idx, _ = syntone.split_indices(48)
  assert sv_data.dataset_size(config) == len(train_idx) == 38
  assert sv_data.dataset_size(_config(data_dir, **{"model.tc_dataset_size": 25600})) == 25600
  with pytest.raises(ValueError, match="estimator"):
    sv_family.BETA_TCVAE.make_train_step(_config(data_dir, **{"model.tc_estimator": "exact"}))


def test_beta_tcvae_trains_alike_on_one_and_eight_devices(data_dir, tmp_path):
  states = [train.train_and_evaluate(_config(data_dir, **{"mesh.num_devices": n, "train.steps": 2}),
                                     str(tmp_path / f"d{n}")) for n in (1, 8)]
  one, eight = (jax.tree.map(np.asarray, jax.device_get(s.params)) for s in states)
  assert len(jax.tree.leaves(states[1].params)[0].sharding.device_set) == 8
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(eight)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-4)
  assert not np.allclose(one["decoder"]["Dense_0"]["bias"], 0.0)
  logged = [l for l in open(tmp_path / "d8" / "metrics.jsonl")]
  assert '"train/tc"' in logged[-1] and '"train/mi"' in logged[-1]
