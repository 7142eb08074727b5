"""DecVAE training: the two optimiser groups and their schedules, the same step on 1 and 8 devices, and a few
smoke-preset steps through the generic trainer (real data pipeline: SimVowels -> FD decomposition -> cache)."""
import jax
import numpy as np
import optax
import pytest

from decompjax import config_utils, sharding, train
from decompjax.families.decvae import family, model

import decvae_synthetic

SMOKE = "configs/decvae_simvowels.py:smoke"


def test_two_optimisers_with_their_own_schedules():
  config = config_utils.build_config(SMOKE, [("optim.warmup_steps", "10"), ("optim.s.warmup_steps", "4"),
                                             ("optim.lr", "0.1"), ("optim.s.lr", "0.2"), ("train.steps", "20")])
  z = family.schedule(config.optim, 20)
  s = family.schedule(config.optim.s, 20)
  np.testing.assert_allclose([z(0), z(5), z(10), z(19)], [0.0, 0.05, 0.1, 0.1], rtol=1e-6)   # constant_with_warmup
  np.testing.assert_allclose([s(0), s(2), s(4), s(12), s(20)], [0.0, 0.1, 0.2, 0.1, 0.0], rtol=1e-6, atol=1e-9)
  labels = family.param_labels({"z_branch": {"a": 1, "b": {"c": 2}}, "s_branch": {"d": 3}})
  assert labels == {"z_branch": {"a": "z", "b": {"c": "z"}}, "s_branch": {"d": "s"}}
  # Only the S group moves when only the S group has a learning rate; the clip sees both groups.
  frozen_z = config_utils.build_config(SMOKE, [("optim.lr", "0.0"), ("optim.s.warmup_steps", "0"),
                                               ("optim.s.schedule", "constant")])
  params = {"z_branch": {"w": np.ones(3, np.float32)}, "s_branch": {"pool": {"q": np.ones(2, np.float32)}}}
  grads = {"z_branch": {"w": np.full(3, 100.0, np.float32)}, "s_branch": {"pool": {"q": np.ones(2, np.float32)}}}
  tx = family.make_tx(frozen_z)
  updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
  np.testing.assert_array_equal(updates["z_branch"]["w"], 0.0)
  assert np.all(np.asarray(updates["s_branch"]["pool"]["q"]) < 0)


def test_one_and_eight_devices_take_the_same_step():
  assert jax.device_count() == 8, "conftest must force 8 CPU devices"
  # Batch statistics cross devices in the Z branch; the S branch (per-example LayerNorm) is left out to halve
  # the two compiles. The smoke preset's full model trains through the trainer in test_decvae_ablation.
  config = config_utils.build_config(SMOKE, [("model.norm", "batch_compat"), ("model.branches", "z")])
  batch = decvae_synthetic.synthetic_batch(config, 8)
  # Clipped SGD: the comparison measures the sharded gradients, not Adam's sign-like first step (the global
  # norm, ~1e4 with gamma_s = 400, is itself computed across devices).
  tx = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.05))
  fam = family.DECVAE
  abstract = train.abstract_state(fam, config, batch, tx)
  results = []
  init = jax.device_get(jax.jit(lambda r: fam.init_state(config, r, batch, tx))(jax.random.key(0)))
  for n in (1, 8):
    mesh = sharding.make_mesh(n)
    shardings = train.make_state_shardings(abstract, mesh)
    state = jax.device_put(init, shardings)
    step = train.compile_train_step(fam, config, mesh, shardings, tx)
    for i in range(2):
      state, metrics = step(state, sharding.to_global_batch(batch, mesh), jax.random.key(i))
    results.append((jax.device_get(state.params), {k: float(v) for k, v in metrics.items()}))
  (p1, m1), (p8, m8) = results
  for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p8)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  assert m1["z/frames"] == m8["z/frames"]        # the same frames were sampled
  np.testing.assert_allclose(m1["loss"], m8["loss"], rtol=1e-5)
