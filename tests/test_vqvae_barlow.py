"""Barlow VQ-VAE: loss formula, gamma really weights it, trained vs frozen projector, global-batch stats."""
import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from configs import barlow_vqvae_ucr
from decompjax import sharding
from decompjax.families.vqvae import data as vq_data
from decompjax.families.vqvae.family import BARLOW_VQVAE as family
from decompjax.families.vqvae.loss import barlow_twins_loss


def test_barlow_loss_matches_numpy():
  rng = np.random.default_rng(0)
  z1, z2 = rng.normal(size=(12, 5)), rng.normal(size=(12, 5))
  n1 = (z1 - z1.mean(0)) / z1.std(0, ddof=1)
  n2 = (z2 - z2.mean(0)) / z2.std(0, ddof=1)
  c = n1.T @ n2 / 12
  want = np.sum((1 - np.diag(c)) ** 2) + 0.005 * (np.sum(c ** 2) - np.sum(np.diag(c) ** 2))
  np.testing.assert_allclose(float(barlow_twins_loss(z1, z2, 0.005)), want, rtol=1e-5)


@pytest.fixture(scope="module")
def setup(ucr_dir):
  c = barlow_vqvae_ucr.get_config("smoke")
  c.data.ucr_dir, c.data.name = str(ucr_dir), "ItalyPowerDemand"
  # The STFT-phase augmentation is tested in test_vqvae_augment; leaving it out halves compile time here.
  c.augment.names = "AmpR,flip,slope,jitter"
  d = vq_data.load_data(c)
  batch = {"x": d.train_x[:16], "label": d.train_y[:16]}
  return c, batch


def _step(c, batch, rng=1):
  state = family.init_state(c, jax.random.key(0), batch)
  return state, jax.jit(family.make_train_step(c))(state, batch, jax.random.key(rng))


def test_gamma_changes_the_loss_and_projector_trains_unless_frozen(setup):
  """Run A: gamma 2, trained projector; run B: gamma 0, frozen projector (one compile each). The first
  step's loss is computed before any update, so A - B isolates gamma * Barlow loss."""
  c, batch = setup
  runs = {}
  for gamma, frozen in ((2.0, False), (0.0, True)):
    c2 = c.copy_and_resolve_references()
    c2.model.gamma, c2.compat.frozen_projector = gamma, frozen
    runs[frozen] = _step(c2, batch)
  bt = float(runs[False][1][1]["barlow_twins"])
  assert bt > 0
  np.testing.assert_allclose(float(runs[False][1][1]["loss"]) - float(runs[True][1][1]["loss"]), 2 * bt, rtol=1e-4)
  for frozen, (state, (new, _)) in runs.items():
    same = jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), state.params["projector"], new.params["projector"])
    assert all(jax.tree.leaves(same)) == frozen
    enc_same = jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), state.params["vqvae"]["encoder"],
                            new.params["vqvae"]["encoder"])
    assert not all(jax.tree.leaves(enc_same))  # the encoder trains either way
    bn_same = np.array_equal(state.model_state["batch_stats"]["projector"]["BatchNorm_0"]["mean"],
                             new.model_state["batch_stats"]["projector"]["BatchNorm_0"]["mean"])
    assert not bn_same  # projector BN statistics update even when frozen (as the original)


def test_sharded_step_equals_single_device_step(setup):
  """8 devices, batch sharded on 'data': same result as 1 device, so the Barlow cross-correlation,
  BatchNorm and EMA statistics are global-batch statistics, not per-device ones."""
  c, batch = setup
  c = c.copy_and_resolve_references()
  c.optim.name, c.optim.lr = "sgd", 0.1  # Adam's first step is ~lr*sign(g): it would hide gradient differences
  assert jax.device_count() == 8
  step = family.make_train_step(c)
  state = family.init_state(c, jax.random.key(0), batch)
  single = jax.jit(step)(state, batch, jax.random.key(3))
  mesh = sharding.make_mesh(8)
  rep = sharding.replicated(mesh)
  sharded_step = jax.jit(step, in_shardings=(rep, sharding.data_sharded(mesh), rep), out_shardings=(rep, rep))
  gbatch = sharding.to_global_batch(batch, mesh)
  assert gbatch["x"].sharding == NamedSharding(mesh, P("data"))
  multi = sharded_step(sharding.replicate_tree(state, mesh), gbatch, jax.random.key(3))
  for k in ("loss", "barlow_twins", "recon_time", "commit", "grad_norm"):
    np.testing.assert_allclose(float(multi[1][k]), float(single[1][k]), rtol=2e-4, atol=1e-6)
  flat_s = jax.tree.leaves(single[0].params)
  flat_m = jax.tree.leaves(multi[0].params)
  for a, b in zip(flat_s, flat_m):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-5)
  np.testing.assert_allclose(np.asarray(multi[0].model_state["vq"]["vqvae"]["vq"]["embed"]),
                             np.asarray(single[0].model_state["vq"]["vqvae"]["vq"]["embed"]), rtol=1e-3, atol=1e-4)
