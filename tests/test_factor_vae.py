"""FactorVAE family: who gets which gradient (stop_gradient vs the original's leak), both optimizers stepping with
their own settings in one jitted step, and 1 vs 8 devices through the generic trainer."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax import config_utils, train
from decompjax.families.syntone_vae import family as sv_family, loss as sv_loss

PRESET = "configs/syntone_factor_vae.py:smoke"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("syntone_data"))


def _config(data_dir, **overrides):
  pairs = [("data.dir", data_dir), ("train.progress", "false"), ("train.eval_at_end", "false")]
  pairs += [(k, str(v)) for k, v in overrides.items()]
  return config_utils.build_config(PRESET, pairs)


def _state_and_input(config, batch=8):
  example = {"waveform": np.zeros((1, 16000), np.float32)}
  state = sv_family.FACTOR_VAE.init_state(config, jax.random.key(0), example)
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(batch, 128, 32, 1)), jnp.float32)
  return state, x


def _gradients(config, params, x):
  """Gradient of the combined objective and of its two parts, separately."""
  def part(name):
    return lambda p: sv_loss.factor_vae_objective(config, p, x, jax.random.key(1))[1][name]

  @jax.jit
  def run(p):
    full = jax.grad(lambda q: sv_loss.factor_vae_objective(config, q, x, jax.random.key(1))[0])(p)
    return full, jax.grad(part("vae_loss"))(p), jax.grad(part("disc_loss"))(p)

  return jax.device_get(run(params))


def _norm(tree):
  return float(np.sqrt(sum(np.sum(np.square(a)) for a in jax.tree.leaves(tree))))


@pytest.mark.parametrize("leak", [False, True])
def test_gradient_routing(data_dir, leak):
  config = _config(data_dir, **{"compat.leak_disc_grad": leak})
  state, x = _state_and_input(config)
  full, g_vae_loss, g_disc_loss = _gradients(config, state.params, x)
  # The discriminator is trained by its own loss only: the VAE objective sees it through stop_gradient.
  assert _norm(g_vae_loss["disc"]) == 0.0
  for a, b in zip(jax.tree.leaves(full["disc"]), jax.tree.leaves(g_disc_loss["disc"])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  enc = lambda g: g["vae"]["encoder"]
  if not leak:
    assert _norm(g_disc_loss["vae"]) == 0.0  # no gradient from the discriminator loss into the encoder
    for a, b in zip(jax.tree.leaves(full["vae"]), jax.tree.leaves(g_vae_loss["vae"])):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  else:
    # The original's leak reaches the encoder only (z1 does not depend on the decoder) ...
    assert _norm(enc(g_disc_loss)) > 0.0
    assert _norm(g_disc_loss["vae"]["decoder"]) == 0.0
    leaked = jax.tree.map(lambda f, v: f - v, enc(full), enc(g_vae_loss))
    for a, b in zip(jax.tree.leaves(leaked), jax.tree.leaves(enc(g_disc_loss))):
      np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)
    # ... with weight 1 against the original's batch-summed reconstruction, i.e. 1/half against a per-sample one.
    summed = _config(data_dir, **{"compat.leak_disc_grad": True, "model.reduction": "syntone"})
    g_summed = jax.device_get(jax.jit(jax.grad(
        lambda p: sv_loss.factor_vae_objective(summed, p, x, jax.random.key(1))[1]["disc_loss"]))(state.params))
    for a, b in zip(jax.tree.leaves(enc(g_summed)), jax.tree.leaves(enc(g_disc_loss))):
      np.testing.assert_allclose(a, b * (x.shape[0] // 2), rtol=1e-4, atol=1e-7)


def test_one_step_updates_both_networks_with_their_own_adam(data_dir):
  config = _config(data_dir)
  state, x = _state_and_input(config)
  batch = {"waveform": jnp.asarray(np.random.default_rng(1).normal(size=(8, 16000)) * 0.5, jnp.float32)}
  new, metrics = jax.jit(sv_family.FACTOR_VAE.make_train_step(config))(state, batch, jax.random.key(2))
  assert set(new.opt_state) == {"vae", "disc"} and int(new.step) == 1
  for k in ("loss", "recon", "kl", "tc", "disc_loss", "disc_accuracy", "grad_norm", "disc_grad_norm"):
    assert np.isfinite(float(metrics[k])), k
  # Adam's first step moves each parameter by ~lr: 1e-3 for the VAE (config.optim), 5e-5 for the discriminator.
  moved = lambda a, b: max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
                           for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
  d_disc = moved(new.params["disc"], state.params["disc"])
  d_vae = moved(new.params["vae"], state.params["vae"])
  assert 0.5 * 5e-5 < d_disc <= 5e-5 * 1.001
  assert 0.5 * 1e-3 < d_vae <= 1e-3 * 1.001


def test_batch_must_split_in_halves(data_dir):
  config = _config(data_dir)
  state, x = _state_and_input(config, batch=8)
  with pytest.raises(ValueError, match="even"):
    sv_loss.factor_vae_objective(config, state.params, x[:5], jax.random.key(0))
  with pytest.raises(ValueError, match="even"):
    sv_family.FACTOR_VAE.make_train_step(_config(data_dir, **{"train.batch_size": 7}))


def test_factor_vae_trains_alike_on_one_and_eight_devices(data_dir, tmp_path):
  # The half-batch split and the per-dimension permutation run on the global batch under jit, so 8 devices
  # reproduce the single-device run (up to reduction order).
  states = [train.train_and_evaluate(_config(data_dir, **{"mesh.num_devices": n, "train.steps": 2}),
                                     str(tmp_path / f"d{n}")) for n in (1, 8)]
  one, eight = (jax.tree.map(np.asarray, jax.device_get(s.params)) for s in states)
  assert set(one) == {"vae", "disc"}
  assert len(jax.tree.leaves(states[1].params)[0].sharding.device_set) == 8
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(eight)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-4)
  # Both networks moved away from the trainer's initialisation (its init key is the first split of the seed).
  init = sv_family.FACTOR_VAE.init_state(_config(data_dir), jax.random.split(jax.random.key(0), 3)[0],
                               {"waveform": np.zeros((1, 16000), np.float32)})
  for part in ("vae", "disc"):
    start = jax.tree.leaves(jax.device_get(init.params[part]))
    assert any(not np.allclose(a, b) for a, b in zip(start, jax.tree.leaves(one[part]))), part
  logged = open(tmp_path / "d8" / "metrics.jsonl").read().splitlines()[-1]
  assert '"train/disc_loss"' in logged and '"train/tc"' in logged
