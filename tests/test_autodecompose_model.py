"""Autodecompose networks and train step: parameter counts, BatchNorm state, data-parallel equivalence."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import autodecompose as cfg_mod
from decompjax import sharding
from decompjax.families.autodecompose import family as fam
from decompjax.families.autodecompose import model as ad_model
from decompjax.families.autodecompose.model import Autodecompose, ModelSpec


def _count(tree):
  return int(sum(np.prod(a.shape) for a in jax.tree.leaves(tree)))


@pytest.mark.parametrize("arch,total,voice_enc,bn_stats", [
    ("large", 15_612_240, 4_701_824, 8_192),   # notebook summary (specs/autodecompose.md §4)
    ("dense", 561_488, 108_160, 2_048),
    ("conv", 7_803_216, 2_896_512, 8_192),
    ("lstm", 6_572_368, 1_428_608, 0),
])
def test_parameter_counts(arch, total, voice_enc, bn_stats):
  x = jnp.zeros((2, 64, 80))
  v = jax.eval_shape(lambda: Autodecompose(ModelSpec(arch=arch)).init(jax.random.key(0), x, x))
  assert _count(v["params"]) == total
  assert _count(v["params"]["voice_encoder"]) == voice_enc
  assert _count(v["params"]["content_encoder"]) == voice_enc
  assert _count(v.get("batch_stats", {})) == bn_stats


def test_bad_arch_is_one_clear_error():
  with pytest.raises(ValueError, match="arch"):
    ModelSpec(arch="transformer")


def _config(arch="conv"):
  c = cfg_mod.get_config(f"smoke,arch={arch}")
  return c


def _batch(n=8, seed=0):
  rng = np.random.default_rng(seed)
  return {"mel": rng.random((n, 64, 80)).astype(np.float32), "speaker": np.arange(n, dtype=np.int32) % 3}


@pytest.fixture(scope="module")
def conv_run():
  # SGD, because Adam's first step is ~lr*sign(g), which turns float-summation-order noise in near-zero
  # gradients into lr-sized differences (the sharded-equivalence test compares one step exactly).
  config = _config("conv")
  config.optim.name, config.optim.lr = "sgd", 0.1
  batch = _batch()
  state = fam.AUTODECOMPOSE.init_state(config, jax.random.key(0), batch)
  step = jax.jit(fam.AUTODECOMPOSE.make_train_step(config))
  return config, batch, state, step


def test_train_step_learns_and_updates_batch_stats(conv_run):
  config, batch, state, step = conv_run
  s, losses = state, []
  for i in range(6):
    s, m = step(s, batch, jax.random.key(100))   # fixed augmentation key: a pure fitting problem
    losses.append(float(m["loss"]))
  assert np.isfinite(losses).all() and losses[-1] < losses[0]
  assert int(s.step) == 6
  before = jax.tree.leaves(state.model_state["batch_stats"])
  after = jax.tree.leaves(s.model_state["batch_stats"])
  assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_eval_uses_running_stats(conv_run):
  """In eval mode an example's embedding does not depend on the rest of the batch."""
  config, batch, state, step = conv_run
  s, _ = step(state, batch, jax.random.key(1))
  full = ad_model.encode(config, s, batch["mel"], "voice", batch_size=8)
  alone = ad_model.encode(config, s, batch["mel"][:3], "voice", batch_size=3)
  np.testing.assert_allclose(full[:3], alone, atol=1e-5)


def test_sharded_step_equals_single_device(conv_run):
  """8-device ('data',) mesh, batch sharded, state replicated: same params and BatchNorm stats as 1 device
  (BatchNorm means under jit are global-batch means)."""
  config, batch, state, step = conv_run
  single, m1 = step(state, batch, jax.random.key(7))
  mesh = sharding.make_mesh(8)
  rep = sharding.replicated(mesh)
  sharded_step = jax.jit(fam.AUTODECOMPOSE.make_train_step(config),
                         in_shardings=(jax.tree.map(lambda _: rep, state), sharding.data_sharded(mesh), rep),
                         out_shardings=(jax.tree.map(lambda _: rep, state), rep))
  multi, m8 = sharded_step(sharding.replicate_tree(state, mesh), sharding.to_global_batch(batch, mesh),
                           jax.random.key(7))
  np.testing.assert_allclose(float(m1["loss"]), float(m8["loss"]), rtol=1e-5)
  for a, b in zip(jax.tree.leaves(single.params), jax.tree.leaves(multi.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
  for a, b in zip(jax.tree.leaves(single.model_state), jax.tree.leaves(multi.model_state)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_lstm_arch_has_no_model_state():
  config = _config("lstm")
  state = jax.eval_shape(lambda r: fam.AUTODECOMPOSE.init_state(config, r, _batch()), jax.random.key(0))
  assert state.model_state == {}


def test_input_spec_alone_gives_the_state_layout_and_checks_n_mels():
  from decompjax.errors import ConfigError
  config = _config("conv")
  spec = fam.AUTODECOMPOSE.input_spec(config)
  assert (spec["mel"].shape, spec["mel"].dtype) == ((1, 64, 80), np.float32)
  assert (spec["speaker"].shape, spec["speaker"].dtype) == ((1,), np.int32)

  def abstract_state(example):
    return jax.eval_shape(lambda r: fam.AUTODECOMPOSE.init_state(config, r, example), jax.random.key(0))

  assert abstract_state(fam.AUTODECOMPOSE.example_batch(config)) == abstract_state(_batch())
  config.model.n_mels = 40  # the generator would emit 40 bands for crops of 80
  with pytest.raises(ConfigError, match="'model.n_mels' = 40: must equal the 80 mel bands"):
    fam.AUTODECOMPOSE.input_spec(config)
